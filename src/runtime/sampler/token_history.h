// The recent tokens the repetition / presence / frequency penalties look at: a window over the
// last N accepted tokens, with a count per distinct token kept sorted by id. Accepting a token is
// O(log d + d) for d distinct tokens in the window and allocates nothing once the window is full.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace hearth {

class TokenHistory {
 public:
  struct Count {
    int32_t token;
    int32_t count;
  };

  // window: how many recent tokens count; -1 = every token ever accepted.
  explicit TokenHistory(int32_t window = 64);

  void accept(int32_t token);
  void clear();

  // Distinct tokens in the window with their occurrence counts, sorted by token id.
  std::span<const Count> counts() const { return counts_; }
  size_t size() const { return size_; }

 private:
  void add_count(int32_t token);
  void remove_count(int32_t token);

  int32_t window_;
  std::vector<int32_t> ring_;  // the window, oldest at head_ once full
  size_t head_ = 0;
  size_t size_ = 0;
  std::vector<Count> counts_;
};

}  // namespace hearth
