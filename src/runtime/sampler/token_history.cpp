#include "runtime/sampler/token_history.h"

#include <algorithm>

namespace hearth {
namespace {

bool token_less(const TokenHistory::Count& c, int32_t token) {
  return c.token < token;
}

}  // namespace

TokenHistory::TokenHistory(int32_t window) : window_(window) {
  if (window_ > 0) {
    ring_.resize(static_cast<size_t>(window_));
    counts_.reserve(static_cast<size_t>(window_));
  }
}

void TokenHistory::accept(int32_t token) {
  if (window_ == 0) return;
  if (window_ < 0) {  // unbounded: no ring needed, only the counts
    add_count(token);
    ++size_;
    return;
  }
  if (size_ == ring_.size()) {
    remove_count(ring_[head_]);
    ring_[head_] = token;
    head_ = (head_ + 1) % ring_.size();
  } else {
    ring_[size_++] = token;
  }
  add_count(token);
}

void TokenHistory::clear() {
  head_ = 0;
  size_ = 0;
  counts_.clear();
}

void TokenHistory::add_count(int32_t token) {
  auto it = std::lower_bound(counts_.begin(), counts_.end(), token, token_less);
  if (it != counts_.end() && it->token == token) {
    ++it->count;
  } else {
    counts_.insert(it, Count{token, 1});
  }
}

void TokenHistory::remove_count(int32_t token) {
  auto it = std::lower_bound(counts_.begin(), counts_.end(), token, token_less);
  if (it == counts_.end() || it->token != token) return;
  if (--it->count == 0) counts_.erase(it);
}

}  // namespace hearth
