// The top-k / top-p / min-p filters and temperature, over one position's processed logits.
//
// Semantics (matched against a numpy reference in tests/fixtures/sampler/): candidates are the
// tokens with a finite logit, ranked most likely first with ties to the lower id. top-k keeps
// the first k; top-p keeps the shortest prefix of those whose probability mass (normalised over
// the top-k set) reaches top_p; min-p then drops tokens with p < min_p * p_max. The survivors
// get weights exp((logit - max) / temperature).
//
// Cost: ranking a 150k vocabulary by full sort per token is what we avoid. A small top-k
// (<= kHeapTopK, the usual case) is selected with a k-entry heap in one pass, then only those k
// are sorted. Otherwise candidates are counting-sorted into buckets of logit distance from the
// maximum, and top-k / top-p only order the one bucket their cut falls in. With no ranking
// filter, weights are computed over the logits in place. All buffers are sized once.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace hearth {

struct FilterSettings {
  int32_t top_k = 0;  // 0 = off
  float top_p = 1.0f;
  float min_p = 0.0f;
  float temperature = 1.0f;  // > 0
};

class CandidateFilter {
 public:
  explicit CandidateFilter(int32_t vocab_size);

  // logits: [vocab_size], finite or -inf. Returns false when every logit is -inf.
  bool run(std::span<const float> logits, const FilterSettings& settings);

  // The survivors of the last run(), in no particular order, with unnormalised weights
  // (the most likely survivor has weight 1).
  size_t size() const { return size_; }
  int32_t token(size_t i) const { return all_tokens_ ? static_cast<int32_t>(i) : token_[i]; }
  float weight(size_t i) const { return weight_[i]; }
  double total_weight() const { return total_weight_; }

  // Index i with sum(weights[0..i)) <= u * total < sum(weights[0..i]), for u in [0, 1).
  size_t pick(double u) const;

 private:
  static constexpr size_t kHeapTopK = 1024;
  struct Entry {
    float logit;
    int32_t token;
  };
  static bool more_likely(const Entry& a, const Entry& b);

  void gather_all_finite(std::span<const float> logits, float threshold);
  // Leaves the k most likely tokens, sorted most likely first, in logit_/token_[0, k).
  void heap_top_k(std::span<const float> logits, size_t k);
  void bucket_sort(std::span<const float> logits);
  // Sorts [first, last) of logit_/token_ most likely first.
  void sort_range(size_t first, size_t last);
  size_t bucket_of_position(size_t position) const;
  size_t top_p_cut(size_t n, float top_p);
  // top-p on logit_[0, n) already sorted most likely first.
  size_t top_p_cut_sorted(size_t n, float top_p);
  void temper(size_t n, float temperature);

  float max_logit_ = 0.0f;
  bool all_tokens_ = false;  // candidates are every token, weights indexed by token id
  size_t size_ = 0;
  double total_weight_ = 0.0;
  std::vector<float> logit_;            // [vocab] candidate logits (bucket order, then filtered)
  std::vector<int32_t> token_;          // [vocab] candidate token ids, parallel to logit_
  std::vector<float> weight_;           // [vocab] weights of the candidates
  std::vector<uint16_t> bucket_;        // [vocab] bucket of each token (counting sort)
  std::vector<uint32_t> bucket_start_;  // [kBuckets + 1] first position of each bucket
  std::vector<Entry> scratch_;          // [vocab] for sorting one bucket
};

}  // namespace hearth
