// Format-independent access to a model's weights: name -> zero-copy TensorView, with the mapped
// files kept alive. GGUF files and (sharded) safetensors both load into a WeightStore, so model
// code never depends on the container format.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"
#include "hearth/status.h"

namespace hearth {

class WeightStore {
 public:
  struct Entry {
    std::string name;
    TensorView view;
  };

  // Keeps `owner` (a mapped file, a parsed container) alive as long as the store.
  void add_owner(std::shared_ptr<const void> owner) { owners_.push_back(std::move(owner)); }
  // InvalidArgument on a duplicate name.
  Status add(std::string name, TensorView view);

  const TensorView* find(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name) != nullptr; }
  // The named tensor, or NotFound naming it; InvalidArgument when its shape differs from
  // `expected` (numpy order), naming both shapes.
  Expected<TensorView> require(std::string_view name, const Shape& expected) const;
  Expected<TensorView> require(std::string_view name) const;

  const std::vector<Entry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  uint64_t total_bytes() const;

 private:
  std::vector<std::shared_ptr<const void>> owners_;
  std::vector<Entry> entries_;
  std::map<std::string, size_t, std::less<>> index_;
};

}  // namespace hearth
