#include "formats/weight_store.h"

namespace hearth {

Status WeightStore::add(std::string name, TensorView view) {
  if (index_.count(name)) return invalid_argument("duplicate tensor '" + name + "'");
  index_.emplace(name, entries_.size());
  entries_.push_back({std::move(name), view});
  return {};
}

const TensorView* WeightStore::find(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second].view;
}

Expected<TensorView> WeightStore::require(std::string_view name) const {
  const TensorView* v = find(name);
  if (!v) return not_found("model has no tensor '" + std::string(name) + "'");
  return *v;
}

Expected<TensorView> WeightStore::require(std::string_view name, const Shape& expected) const {
  HEARTH_ASSIGN_OR_RETURN(TensorView v, require(name));
  if (!(v.shape() == expected)) {
    return invalid_argument("tensor '" + std::string(name) + "' has shape " +
                            v.shape().to_string() + ", expected " + expected.to_string());
  }
  return v;
}

uint64_t WeightStore::total_bytes() const {
  uint64_t n = 0;
  for (const Entry& e : entries_) n += e.view.nbytes();
  return n;
}

}  // namespace hearth
