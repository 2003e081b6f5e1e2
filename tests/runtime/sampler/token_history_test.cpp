#include "runtime/sampler/token_history.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

namespace hearth {
namespace {

// Against a brute-force recount of the last `window` tokens after every accept.
TEST(TokenHistory, CountsMatchABruteForceWindow) {
  std::mt19937 rng(7);
  for (int32_t window : {-1, 0, 1, 3, 64}) {
    TokenHistory history(window);
    std::vector<int32_t> all;
    for (int step = 0; step < 500; ++step) {
      const auto token = static_cast<int32_t>(rng() % 20);
      history.accept(token);
      all.push_back(token);
      std::map<int32_t, int32_t> expected;
      const size_t n = window < 0 ? all.size() : std::min(all.size(), size_t(window));
      for (size_t i = all.size() - n; i < all.size(); ++i) ++expected[all[i]];
      std::map<int32_t, int32_t> got;
      int32_t previous = -1;
      for (const auto& c : history.counts()) {
        EXPECT_GT(c.token, previous) << "counts not sorted by token";
        previous = c.token;
        got[c.token] = c.count;
      }
      ASSERT_EQ(got, expected) << "window " << window << " step " << step;
    }
  }
}

}  // namespace
}  // namespace hearth
