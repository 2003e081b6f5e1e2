#include "runtime/sampler/logit_math.h"

#include <algorithm>
#include <array>
#include <limits>

namespace hearth {
namespace {
constexpr size_t kReduceLanes = 8;
}  // namespace

float max_of(std::span<const float> values) {
  std::array<float, kReduceLanes> lanes;
  lanes.fill(-std::numeric_limits<float>::infinity());
  size_t i = 0;
  for (; i + kReduceLanes <= values.size(); i += kReduceLanes) {
    for (size_t j = 0; j < kReduceLanes; ++j) {
      lanes[j] = values[i + j] > lanes[j] ? values[i + j] : lanes[j];
    }
  }
  float best = lanes[0];
  for (float lane : lanes) best = std::max(best, lane);
  for (; i < values.size(); ++i) best = std::max(best, values[i]);
  return best;
}

double sum_of(std::span<const float> values) {
  std::array<double, kReduceLanes> lanes{};
  size_t i = 0;
  for (; i + kReduceLanes <= values.size(); i += kReduceLanes) {
    for (size_t j = 0; j < kReduceLanes; ++j) lanes[j] += values[i + j];
  }
  double total = 0.0;
  for (; i < values.size(); ++i) total += values[i];
  for (double lane : lanes) total += lane;
  return total;
}

bool has_nan_or_pos_inf(std::span<const float> values) {
  constexpr float kMax = std::numeric_limits<float>::max();
  std::array<uint32_t, kReduceLanes> lanes{};
  size_t i = 0;
  for (; i + kReduceLanes <= values.size(); i += kReduceLanes) {
    for (size_t j = 0; j < kReduceLanes; ++j) lanes[j] |= !(values[i + j] <= kMax);
  }
  uint32_t bad = 0;
  for (uint32_t lane : lanes) bad |= lane;
  for (; i < values.size(); ++i) bad |= !(values[i] <= kMax);
  return bad != 0;
}

}  // namespace hearth
