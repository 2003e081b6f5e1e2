// Text normalizers as declared in tokenizer.json ("normalizer"), applied to each piece of text
// between added tokens: Unicode normal forms, Replace (string or regex), Prepend, Strip, and
// Sequence of these. Other types are rejected when loading, by name.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hearth/status.h"
#include "tokenizer/regex.h"
#include "tokenizer/unicode_props.h"

namespace hearth {

struct NormalizerStep {
  enum class Kind { kNormalForm, kReplace, kPrepend, kStrip };
  Kind kind = Kind::kNormalForm;
  unicode::NormalForm form = unicode::NormalForm::kNfc;
  std::string pattern;                 // Replace: literal pattern (when regex is null)
  std::shared_ptr<const Regex> regex;  // Replace with a Regex pattern
  std::string content;                 // Replace: replacement; Prepend: prefix
  bool strip_left = false;             // Strip
  bool strip_right = false;
};

class Normalizer {
 public:
  // From a tokenizer.json "normalizer" value (null means none).
  static Expected<Normalizer> from_json(const nlohmann::json& spec);

  void add_step(NormalizerStep step) { steps_.push_back(std::move(step)); }
  bool empty() const { return steps_.empty(); }

  // `text` (valid UTF-8) normalized; returns false and leaves `out` untouched when no step
  // changes anything, so callers can keep using the original view.
  bool apply(std::string_view text, std::string& out) const;

 private:
  Status add_from_json(const nlohmann::json& spec, int depth);
  std::vector<NormalizerStep> steps_;
};

}  // namespace hearth
