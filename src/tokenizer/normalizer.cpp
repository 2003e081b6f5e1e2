#include "tokenizer/normalizer.h"

#include <nlohmann/json.hpp>

#include "tokenizer/json_util.h"
#include "tokenizer/utf8.h"

namespace hearth {
namespace {

void replace_literal(std::string_view text, std::string_view pattern, std::string_view content,
                     std::string& out) {
  out.clear();
  size_t pos = 0;
  while (true) {
    const size_t hit = text.find(pattern, pos);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(pos, hit - pos)).append(content);
    pos = hit + pattern.size();
  }
  out.append(text.substr(pos));
}

void replace_regex(std::string_view text, const Regex& regex, std::string_view content,
                   std::string& out) {
  out.clear();
  size_t pos = 0;
  regex.for_each_match(text, [&](size_t begin, size_t end) {
    out.append(text.substr(pos, begin - pos)).append(content);
    pos = end;
  });
  out.append(text.substr(pos));
}

void strip_white_space(std::string_view text, bool left, bool right, std::string& out) {
  size_t begin = 0;
  size_t end = text.size();
  if (left) {
    while (begin < end) {
      size_t pos = begin;
      if (!unicode::is_white_space(utf8::decode_at(text, pos))) break;
      begin = pos;
    }
  }
  if (right) {
    while (end > begin) {
      size_t start = end - 1;
      while (start > begin && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) --start;
      size_t pos = start;
      if (!unicode::is_white_space(utf8::decode_at(text, pos))) break;
      end = start;
    }
  }
  out.assign(text.substr(begin, end - begin));
}

}  // namespace

Expected<Normalizer> Normalizer::from_json(const nlohmann::json& spec) {
  Normalizer normalizer;
  if (!spec.is_null()) HEARTH_RETURN_IF_ERROR(normalizer.add_from_json(spec, 0));
  return normalizer;
}

Status Normalizer::add_from_json(const nlohmann::json& spec, int depth) {
  if (depth > 8) return unsupported("normalizer Sequence nested deeper than 8 levels");
  HEARTH_ASSIGN_OR_RETURN(const std::string type, json_string(spec, "type", "normalizer"));
  NormalizerStep step;
  if (type == "Sequence") {
    HEARTH_ASSIGN_OR_RETURN(const nlohmann::json* list,
                            json_array(spec, "normalizers", "normalizer Sequence"));
    for (const auto& item : *list) HEARTH_RETURN_IF_ERROR(add_from_json(item, depth + 1));
    return {};
  }
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    step.kind = NormalizerStep::Kind::kNormalForm;
    step.form = type == "NFC"    ? unicode::NormalForm::kNfc
                : type == "NFD"  ? unicode::NormalForm::kNfd
                : type == "NFKC" ? unicode::NormalForm::kNfkc
                                 : unicode::NormalForm::kNfkd;
  } else if (type == "Replace") {
    step.kind = NormalizerStep::Kind::kReplace;
    HEARTH_ASSIGN_OR_RETURN(PatternSpec pattern, json_pattern(spec, "normalizer Replace"));
    HEARTH_ASSIGN_OR_RETURN(step.content, json_string(spec, "content", "normalizer Replace"));
    if (pattern.is_regex) {
      HEARTH_ASSIGN_OR_RETURN(Regex regex, Regex::compile(pattern.text));
      step.regex = std::make_shared<const Regex>(std::move(regex));
    } else if (pattern.text.empty()) {
      return unsupported("normalizer Replace with an empty pattern");
    }
    step.pattern = std::move(pattern.text);
  } else if (type == "Prepend") {
    step.kind = NormalizerStep::Kind::kPrepend;
    HEARTH_ASSIGN_OR_RETURN(step.content, json_string(spec, "prepend", "normalizer Prepend"));
  } else if (type == "Strip") {
    step.kind = NormalizerStep::Kind::kStrip;
    HEARTH_ASSIGN_OR_RETURN(step.strip_left,
                            json_bool(spec, "strip_left", false, "normalizer Strip"));
    HEARTH_ASSIGN_OR_RETURN(step.strip_right,
                            json_bool(spec, "strip_right", false, "normalizer Strip"));
  } else {
    return unsupported("tokenizer.json normalizer type '" + type +
                       "' is not supported (supported: NFC, NFD, NFKC, NFKD, Replace, Prepend, "
                       "Strip, Sequence)");
  }
  steps_.push_back(std::move(step));
  return {};
}

bool Normalizer::apply(std::string_view text, std::string& out) const {
  bool changed = false;
  std::string current;
  std::string next;
  for (const NormalizerStep& step : steps_) {
    const std::string_view input = changed ? std::string_view(current) : text;
    switch (step.kind) {
      case NormalizerStep::Kind::kNormalForm: {
        auto normalized = unicode::normalize(input, step.form);
        // Normalization only fails on ICU-internal errors; keep the text rather than drop it.
        if (!normalized.ok() || *normalized == input) continue;
        next = std::move(normalized).value();
        break;
      }
      case NormalizerStep::Kind::kReplace:
        if (step.regex) {
          replace_regex(input, *step.regex, step.content, next);
        } else {
          if (input.find(step.pattern) == std::string_view::npos) continue;
          replace_literal(input, step.pattern, step.content, next);
        }
        break;
      case NormalizerStep::Kind::kPrepend:
        if (input.empty()) continue;  // Hugging Face prepends to non-empty text only
        next.assign(step.content).append(input);
        break;
      case NormalizerStep::Kind::kStrip:
        strip_white_space(input, step.strip_left, step.strip_right, next);
        break;
    }
    current.swap(next);
    changed = true;
  }
  if (changed) out = std::move(current);
  return changed;
}

}  // namespace hearth
