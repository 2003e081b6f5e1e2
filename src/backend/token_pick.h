// Choosing the next token from a row of logits: greedy, or temperature sampling restricted to
// the top-k logits and then to the top-p probability mass. Backends that can do this on their
// device (Backend::pick_token) return only the token id; this host version is the default and
// the reference the device versions are tested against.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "hearth/status.h"

namespace hearth {

struct TokenPick {
  float temperature = 0.0f;  // <= 0: greedy (the largest logit; the lowest id on ties)
  int32_t top_k = 0;         // keep the k largest logits (0: all)
  float top_p = 1.0f;        // then the most likely tokens until their probability reaches top_p
  float uniform = 0.0f;      // the random draw in [0, 1) that selects among the kept tokens
};

inline Status check_token_pick(const TokenPick& pick, size_t vocab) {
  if (vocab == 0) return invalid_argument("pick_token: empty logits");
  if (!std::isfinite(pick.temperature))
    return invalid_argument("pick_token: temperature is not finite");
  if (pick.top_k < 0)
    return invalid_argument("pick_token: top_k " + std::to_string(pick.top_k) + " is negative");
  if (!(pick.top_p > 0.0f && pick.top_p <= 1.0f)) {
    return invalid_argument("pick_token: top_p " + std::to_string(pick.top_p) +
                            " is outside (0, 1]");
  }
  if (!(pick.uniform >= 0.0f && pick.uniform < 1.0f)) {
    return invalid_argument("pick_token: uniform " + std::to_string(pick.uniform) +
                            " is outside [0, 1)");
  }
  return {};
}

// Kept tokens: those whose logit is >= the k-th largest, then of those the most likely until
// their probability reaches top_p of the kept mass; tokens tied with the last one kept at either
// cut are kept too, so the kept set is always {logit >= some threshold}. The draw walks the kept
// tokens in ascending id order.
inline Expected<int32_t> pick_token_on_host(std::span<const float> logits, const TokenPick& pick) {
  HEARTH_RETURN_IF_ERROR(check_token_pick(pick, logits.size()));
  const size_t n = logits.size();
  if (pick.temperature <= 0.0f) {
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  std::vector<int32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)];
  });
  size_t keep = n;
  if (pick.top_k > 0 && static_cast<size_t>(pick.top_k) < n) {
    const float cut = logits[static_cast<size_t>(order[static_cast<size_t>(pick.top_k) - 1])];
    keep = static_cast<size_t>(pick.top_k);
    while (keep < n && logits[static_cast<size_t>(order[keep])] >= cut) ++keep;
  }
  const double max_logit = logits[static_cast<size_t>(order[0])];
  std::vector<double> prob(keep);
  double total = 0;
  for (size_t i = 0; i < keep; ++i) {
    prob[i] = std::exp((logits[static_cast<size_t>(order[i])] - max_logit) / pick.temperature);
    total += prob[i];
  }
  if (pick.top_p < 1.0f) {
    double mass = 0;
    size_t i = 0;
    while (i < keep) {
      mass += prob[i++];
      if (mass >= pick.top_p * total) break;
    }
    while (i < keep &&
           logits[static_cast<size_t>(order[i])] == logits[static_cast<size_t>(order[i - 1])])
      ++i;
    keep = i;
  }
  std::vector<int32_t> kept(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep));
  std::vector<double> kept_prob(prob.begin(), prob.begin() + static_cast<std::ptrdiff_t>(keep));
  std::vector<size_t> by_id(keep);
  std::iota(by_id.begin(), by_id.end(), size_t{0});
  std::sort(by_id.begin(), by_id.end(), [&](size_t a, size_t b) { return kept[a] < kept[b]; });
  double kept_total = 0;
  for (double p : kept_prob) kept_total += p;
  const double target = static_cast<double>(pick.uniform) * kept_total;
  double run = 0;
  for (size_t j : by_id) {
    run += kept_prob[j];
    if (run > target) return kept[j];
  }
  return kept[by_id.back()];
}

}  // namespace hearth
