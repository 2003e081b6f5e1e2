#include "runtime/sampler/candidate_filter.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "runtime/sampler/logit_math.h"

namespace hearth {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
// Bucket width 1/16 logit; the last bucket holds everything 64 or more below the maximum
// (a probability ratio below e^-64, far past any cut a user asks for).
constexpr size_t kBuckets = 1024;
constexpr float kBucketsPerLogit = 16.0f;

}  // namespace

// Strict weak order "a is more likely than b", ties to the lower token id.
bool CandidateFilter::more_likely(const Entry& a, const Entry& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.token < b.token);
}

CandidateFilter::CandidateFilter(int32_t vocab_size)
    : logit_(static_cast<size_t>(vocab_size)),
      token_(static_cast<size_t>(vocab_size)),
      weight_(static_cast<size_t>(vocab_size)),
      bucket_(static_cast<size_t>(vocab_size)),
      bucket_start_(kBuckets + 1),
      scratch_(static_cast<size_t>(vocab_size)) {}

bool CandidateFilter::run(std::span<const float> logits, const FilterSettings& settings) {
  const float max_logit = max_of(logits);
  if (max_logit == -kInf) return false;
  max_logit_ = max_logit;
  const size_t vocab = logits.size();
  const float min_p_threshold =
      settings.min_p > 0.0f ? max_logit + std::log(settings.min_p) : -kInf;
  const bool ranks =
      (settings.top_k > 0 && static_cast<size_t>(settings.top_k) < vocab) || settings.top_p < 1.0f;

  if (!ranks && settings.min_p <= 0.0f) {
    // Every token is a candidate: weights straight from the logits (-inf gives weight 0).
    all_tokens_ = true;
    size_ = vocab;
    const float inv_temp = 1.0f / settings.temperature;
    for (size_t i = 0; i < vocab; ++i) {
      weight_[i] = exp_nonpositive((logits[i] - max_logit) * inv_temp);
    }
    total_weight_ = sum_of({weight_.data(), vocab});
    return true;
  }
  all_tokens_ = false;
  size_t n = 0;
  const bool small_top_k = settings.top_k > 0 && static_cast<size_t>(settings.top_k) <= kHeapTopK;
  if (!ranks) {
    gather_all_finite(logits, min_p_threshold);
    n = size_;
  } else if (small_top_k) {
    heap_top_k(logits, static_cast<size_t>(settings.top_k));
    n = size_;
    if (settings.top_p < 1.0f) n = top_p_cut_sorted(n, settings.top_p);
  } else {
    bucket_sort(logits);
    n = bucket_start_[kBuckets];
    if (settings.top_k > 0 && static_cast<size_t>(settings.top_k) < n) {
      n = static_cast<size_t>(settings.top_k);
      const size_t bucket = bucket_of_position(n - 1);
      const size_t first = bucket_start_[bucket];
      const size_t last = bucket_start_[bucket + 1];
      for (size_t i = first; i < last; ++i) scratch_[i - first] = {logit_[i], token_[i]};
      std::nth_element(scratch_.begin(), scratch_.begin() + static_cast<ptrdiff_t>(n - 1 - first),
                       scratch_.begin() + static_cast<ptrdiff_t>(last - first), more_likely);
      for (size_t i = first; i < last; ++i) {
        logit_[i] = scratch_[i - first].logit;
        token_[i] = scratch_[i - first].token;
      }
    }
    if (settings.top_p < 1.0f) n = top_p_cut(n, settings.top_p);
  }
  if (ranks && settings.min_p > 0.0f) {
    // min-p keeps a most-likely-first prefix too; intersecting it with the top-k / top-p
    // prefix is one partition, whatever the order inside [0, n).
    size_t kept = 0;
    for (size_t i = 0; i < n; ++i) {
      if (logit_[i] >= min_p_threshold) {
        std::swap(logit_[kept], logit_[i]);
        std::swap(token_[kept], token_[i]);
        ++kept;
      }
    }
    n = kept;
  }
  temper(n, settings.temperature);
  return true;
}

void CandidateFilter::heap_top_k(std::span<const float> logits, size_t k) {
  // Min-heap (least likely on top) of the best k so far. Tokens arrive in increasing id, so a
  // newcomer that ties the top is less likely (higher id) and is skipped: only '>' admits.
  size_t size = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    const float l = logits[i];
    if (size == k && !(l > scratch_[0].logit)) continue;
    if (l == -kInf) continue;
    const Entry e{l, static_cast<int32_t>(i)};
    if (size < k) {
      scratch_[size++] = e;
      std::push_heap(scratch_.begin(), scratch_.begin() + static_cast<ptrdiff_t>(size),
                     more_likely);
    } else {
      std::pop_heap(scratch_.begin(), scratch_.begin() + static_cast<ptrdiff_t>(size), more_likely);
      scratch_[size - 1] = e;
      std::push_heap(scratch_.begin(), scratch_.begin() + static_cast<ptrdiff_t>(size),
                     more_likely);
    }
  }
  std::sort(scratch_.begin(), scratch_.begin() + static_cast<ptrdiff_t>(size), more_likely);
  for (size_t i = 0; i < size; ++i) {
    logit_[i] = scratch_[i].logit;
    token_[i] = scratch_[i].token;
  }
  size_ = size;
}

size_t CandidateFilter::top_p_cut_sorted(size_t n, float top_p) {
  for (size_t i = 0; i < n; ++i) weight_[i] = exp_nonpositive(logit_[i] - max_logit_);
  const double target = static_cast<double>(top_p) * sum_of({weight_.data(), n});
  double cumulative = 0.0;
  for (size_t i = 0; i < n; ++i) {
    cumulative += weight_[i];
    if (cumulative >= target) return i + 1;
  }
  return n;
}

void CandidateFilter::gather_all_finite(std::span<const float> logits, float threshold) {
  // Branch-free compaction: always write, advance only for a survivor.
  size_t n = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    const float l = logits[i];
    logit_[n] = l;
    token_[n] = static_cast<int32_t>(i);
    n += static_cast<size_t>(l >= threshold && l > -kInf);
  }
  size_ = n;
}

void CandidateFilter::bucket_sort(std::span<const float> logits) {
  constexpr uint16_t kNoBucket = 0xFFFF;
  std::array<uint32_t, kBuckets + 1> next{};
  for (size_t i = 0; i < logits.size(); ++i) {
    const float l = logits[i];
    const float distance = std::min((max_logit_ - l) * kBucketsPerLogit, float(kBuckets - 1));
    const auto bucket = static_cast<uint16_t>(l > -kInf ? distance : 0.0f);
    bucket_[i] = l > -kInf ? bucket : kNoBucket;
  }
  for (uint16_t bucket : bucket_) {
    if (bucket != kNoBucket) ++next[bucket + 1u];
  }
  for (size_t b = 1; b <= kBuckets; ++b) next[b] += next[b - 1];
  std::copy(next.begin(), next.end(), bucket_start_.begin());
  for (size_t i = 0; i < logits.size(); ++i) {
    const uint16_t bucket = bucket_[i];
    if (bucket == kNoBucket) continue;
    const uint32_t position = next[bucket]++;
    logit_[position] = logits[i];
    token_[position] = static_cast<int32_t>(i);
  }
}

size_t CandidateFilter::bucket_of_position(size_t position) const {
  const auto it =
      std::upper_bound(bucket_start_.begin(), bucket_start_.end(), static_cast<uint32_t>(position));
  return static_cast<size_t>(it - bucket_start_.begin()) - 1;
}

void CandidateFilter::sort_range(size_t first, size_t last) {
  for (size_t i = first; i < last; ++i) scratch_[i - first] = {logit_[i], token_[i]};
  std::sort(scratch_.begin(), scratch_.begin() + static_cast<ptrdiff_t>(last - first), more_likely);
  for (size_t i = first; i < last; ++i) {
    logit_[i] = scratch_[i - first].logit;
    token_[i] = scratch_[i - first].token;
  }
}

size_t CandidateFilter::top_p_cut(size_t n, float top_p) {
  for (size_t i = 0; i < n; ++i) weight_[i] = exp_nonpositive(logit_[i] - max_logit_);
  const double target = static_cast<double>(top_p) * sum_of({weight_.data(), n});
  double cumulative = 0.0;
  for (size_t b = 0; b < kBuckets; ++b) {
    const size_t first = bucket_start_[b];
    const size_t last = std::min<size_t>(bucket_start_[b + 1], n);
    if (first >= n) break;
    if (first == last) continue;
    const double mass = sum_of({weight_.data() + first, last - first});
    if (cumulative + mass < target) {
      cumulative += mass;
      continue;
    }
    // The cut is inside this bucket: order it and walk.
    sort_range(first, last);
    for (size_t i = first; i < last; ++i) {
      cumulative += exp_nonpositive(logit_[i] - max_logit_);
      if (cumulative >= target) return i + 1;
    }
    return last;
  }
  return n;
}

void CandidateFilter::temper(size_t n, float temperature) {
  const float inv_temp = 1.0f / temperature;
  for (size_t i = 0; i < n; ++i) {
    weight_[i] = exp_nonpositive((logit_[i] - max_logit_) * inv_temp);
  }
  size_ = n;
  total_weight_ = sum_of({weight_.data(), n});
}

size_t CandidateFilter::pick(double u) const {
  const double target = u * total_weight_;
  double cumulative = 0.0;
  size_t i = 0;
  constexpr size_t kBlock = 64;
  for (; i + kBlock <= size_; i += kBlock) {
    std::array<float, 8> lanes{};  // float lanes are exact enough to decide which block to walk
    for (size_t j = 0; j < kBlock; j += 8) {
      for (size_t k = 0; k < 8; ++k) lanes[k] += weight_[i + j + k];
    }
    double block = 0.0;
    for (float lane : lanes) block += lane;
    if (cumulative + block > target) break;
    cumulative += block;
  }
  for (; i < size_; ++i) {
    cumulative += weight_[i];
    if (target < cumulative) return i;
  }
  // Rounding left target at the very top: the last candidate with any weight.
  size_t last = size_ - 1;
  while (last > 0 && weight_[last] == 0.0f) --last;
  return last;
}

}  // namespace hearth
