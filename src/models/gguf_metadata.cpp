#include "models/gguf_metadata.h"

#include <cmath>

namespace hearth {

Expected<int64_t> ArchMetadata::count(std::string_view suffix, int64_t max) const {
  const std::string k = key(suffix);
  HEARTH_ASSIGN_OR_RETURN(const uint64_t v, file_.get_uint(k));
  if (v < 1 || v > static_cast<uint64_t>(max)) {
    return invalid_argument("metadata '" + k + "' is " + std::to_string(v) +
                            "; it must be between 1 and " + std::to_string(max));
  }
  return static_cast<int64_t>(v);
}

Expected<int64_t> ArchMetadata::count_or(std::string_view suffix, int64_t fallback,
                                         int64_t max) const {
  if (!has(suffix)) return fallback;
  return count(suffix, max);
}

Expected<double> ArchMetadata::positive_or(std::string_view suffix, double fallback) const {
  if (!has(suffix)) return fallback;
  const std::string k = key(suffix);
  HEARTH_ASSIGN_OR_RETURN(const double v, file_.get_float(k));
  if (!std::isfinite(v) || v <= 0) {
    return invalid_argument("metadata '" + k + "' is " + std::to_string(v) +
                            "; it must be a finite number above 0");
  }
  return v;
}

Expected<std::string> ArchMetadata::string_or(std::string_view suffix, std::string fallback) const {
  if (!has(suffix)) return fallback;
  return file_.get_string(key(suffix));
}

}  // namespace hearth
