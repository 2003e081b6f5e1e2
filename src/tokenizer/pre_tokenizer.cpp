#include "tokenizer/pre_tokenizer.h"

#include <nlohmann/json.hpp>

#include "tokenizer/json_util.h"
#include "tokenizer/unicode_props.h"
#include "tokenizer/utf8.h"

namespace hearth {
namespace {

struct Span {
  size_t begin;
  size_t end;
  bool is_match;
};

// Matches plus the gaps between them, covering the whole text (Hugging Face's find_matches).
void add_match(std::vector<Span>& spans, size_t& prev, size_t begin, size_t end) {
  if (prev != begin) spans.push_back({prev, begin, false});
  spans.push_back({begin, end, true});
  prev = end;
}

std::vector<Span> find_spans(std::string_view text, const PreTokenizerStep& step) {
  std::vector<Span> spans;
  size_t prev = 0;
  switch (step.kind) {
    case PreTokenizerStep::Kind::kSplit:
    case PreTokenizerStep::Kind::kByteLevel:  // its regex (or none, without use_regex)
      if (step.regex) {
        step.regex->for_each_match(text, [&](size_t b, size_t e) { add_match(spans, prev, b, e); });
      } else {
        size_t pos = 0;
        while (!step.literal.empty()) {
          const size_t hit = text.find(step.literal, pos);
          if (hit == std::string_view::npos) break;
          add_match(spans, prev, hit, hit + step.literal.size());
          pos = hit + step.literal.size();
        }
      }
      break;
    case PreTokenizerStep::Kind::kDigits:
    case PreTokenizerStep::Kind::kMetaspace: {
      // Character patterns: every matching code point is its own match.
      size_t pos = 0;
      while (pos < text.size()) {
        const size_t begin = pos;
        const char32_t cp = utf8::decode_at(text, pos);
        const bool hit = step.kind == PreTokenizerStep::Kind::kDigits
                             ? unicode::is_numeric(cp)
                             : text.substr(begin, pos - begin) == step.replacement;
        if (hit) add_match(spans, prev, begin, pos);
      }
      break;
    }
  }
  if (prev != text.size()) spans.push_back({prev, text.size(), false});
  return spans;
}

// Applies a SplitDelimiterBehavior; the result's is_match means "remove".
std::vector<Span> apply_behavior(std::vector<Span> spans, SplitBehavior behavior) {
  std::vector<Span> out;
  out.reserve(spans.size());
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kRemoved:
      return spans;
    case SplitBehavior::kIsolated:
      for (Span& s : spans) s.is_match = false;
      return spans;
    case SplitBehavior::kMergedWithPrevious:
      for (const Span& s : spans) {
        if (s.is_match && !previous_match && !out.empty()) {
          out.back().end = s.end;
        } else {
          out.push_back({s.begin, s.end, false});
        }
        previous_match = s.is_match;
      }
      return out;
    case SplitBehavior::kMergedWithNext:
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !out.empty()) {
          out.back().begin = it->begin;
        } else {
          out.push_back({it->begin, it->end, false});
        }
        previous_match = it->is_match;
      }
      return {out.rbegin(), out.rend()};
    case SplitBehavior::kContiguous:
      for (const Span& s : spans) {
        if (s.is_match == previous_match && !out.empty()) {
          out.back().end = s.end;
        } else {
          out.push_back({s.begin, s.end, false});
        }
        previous_match = s.is_match;
      }
      return out;
  }
  return spans;
}

void split_piece(const PreToken& piece, const PreTokenizerStep& step, SplitBehavior behavior,
                 bool invert, std::vector<PreToken>& out) {
  std::vector<Span> spans = find_spans(piece.text, step);
  if (invert) {
    for (Span& s : spans) s.is_match = !s.is_match;
  }
  for (const Span& s : apply_behavior(std::move(spans), behavior)) {
    if (s.is_match || s.end == s.begin) continue;
    out.push_back({piece.text.substr(s.begin, s.end - s.begin), piece.at_origin && s.begin == 0});
  }
}

void replace_spaces(std::string_view text, std::string_view replacement, std::string& out) {
  for (char c : text) {
    if (c == ' ') {
      out.append(replacement);
    } else {
      out.push_back(c);
    }
  }
}

Expected<SplitBehavior> parse_behavior(const std::string& name) {
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  return unsupported("pre_tokenizer Split behavior '" + name + "' is not supported");
}

}  // namespace

const char* PreTokenizer::gpt2_pattern() {
  return R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
}

Expected<PreTokenizer> PreTokenizer::from_json(const nlohmann::json& spec) {
  PreTokenizer pre;
  if (!spec.is_null()) HEARTH_RETURN_IF_ERROR(pre.add_from_json(spec, 0));
  return pre;
}

bool PreTokenizer::byte_level() const {
  return !steps_.empty() && steps_.back().kind == PreTokenizerStep::Kind::kByteLevel;
}

Status PreTokenizer::add_step(PreTokenizerStep step) {
  if (byte_level()) {
    return unsupported("a pre_tokenizer after ByteLevel is not supported (ByteLevel must be last)");
  }
  if (step.kind == PreTokenizerStep::Kind::kByteLevel && step.use_regex && !step.regex) {
    HEARTH_ASSIGN_OR_RETURN(Regex regex, Regex::compile(gpt2_pattern()));
    step.regex = std::make_shared<const Regex>(std::move(regex));
  }
  steps_.push_back(std::move(step));
  return {};
}

Status PreTokenizer::add_from_json(const nlohmann::json& spec, int depth) {
  if (depth > 8) return unsupported("pre_tokenizer Sequence nested deeper than 8 levels");
  HEARTH_ASSIGN_OR_RETURN(const std::string type, json_string(spec, "type", "pre_tokenizer"));
  PreTokenizerStep step;
  if (type == "Sequence") {
    HEARTH_ASSIGN_OR_RETURN(const nlohmann::json* list,
                            json_array(spec, "pretokenizers", "pre_tokenizer Sequence"));
    for (const auto& item : *list) HEARTH_RETURN_IF_ERROR(add_from_json(item, depth + 1));
    return {};
  }
  if (type == "Split") {
    step.kind = PreTokenizerStep::Kind::kSplit;
    HEARTH_ASSIGN_OR_RETURN(PatternSpec pattern, json_pattern(spec, "pre_tokenizer Split"));
    if (pattern.is_regex) {
      HEARTH_ASSIGN_OR_RETURN(Regex regex, Regex::compile(pattern.text));
      step.regex = std::make_shared<const Regex>(std::move(regex));
    } else {
      step.literal = std::move(pattern.text);
    }
    HEARTH_ASSIGN_OR_RETURN(const std::string behavior,
                            json_string(spec, "behavior", "pre_tokenizer Split"));
    HEARTH_ASSIGN_OR_RETURN(step.behavior, parse_behavior(behavior));
    HEARTH_ASSIGN_OR_RETURN(step.invert, json_bool(spec, "invert", false, "pre_tokenizer Split"));
  } else if (type == "ByteLevel") {
    step.kind = PreTokenizerStep::Kind::kByteLevel;
    HEARTH_ASSIGN_OR_RETURN(step.add_prefix_space,
                            json_bool(spec, "add_prefix_space", true, "pre_tokenizer ByteLevel"));
    HEARTH_ASSIGN_OR_RETURN(step.use_regex,
                            json_bool(spec, "use_regex", true, "pre_tokenizer ByteLevel"));
  } else if (type == "Digits") {
    step.kind = PreTokenizerStep::Kind::kDigits;
    HEARTH_ASSIGN_OR_RETURN(step.individual_digits,
                            json_bool(spec, "individual_digits", false, "pre_tokenizer Digits"));
  } else if (type == "Metaspace") {
    step.kind = PreTokenizerStep::Kind::kMetaspace;
    HEARTH_ASSIGN_OR_RETURN(step.replacement,
                            json_char(spec, "replacement", "pre_tokenizer Metaspace"));
    HEARTH_ASSIGN_OR_RETURN(step.split, json_bool(spec, "split", true, "pre_tokenizer Metaspace"));
    // Older files say add_prefix_space instead of prepend_scheme.
    HEARTH_ASSIGN_OR_RETURN(const bool add_prefix,
                            json_bool(spec, "add_prefix_space", true, "pre_tokenizer Metaspace"));
    step.prepend_scheme = add_prefix ? PrependScheme::kAlways : PrependScheme::kNever;
    if (spec.contains("prepend_scheme") && !spec["prepend_scheme"].is_null()) {
      HEARTH_ASSIGN_OR_RETURN(const std::string scheme,
                              json_string(spec, "prepend_scheme", "pre_tokenizer Metaspace"));
      if (scheme == "always") {
        step.prepend_scheme = PrependScheme::kAlways;
      } else if (scheme == "first") {
        step.prepend_scheme = PrependScheme::kFirst;
      } else if (scheme == "never") {
        step.prepend_scheme = PrependScheme::kNever;
      } else {
        return unsupported("pre_tokenizer Metaspace prepend_scheme '" + scheme +
                           "' is not supported");
      }
    }
  } else {
    return unsupported("tokenizer.json pre_tokenizer type '" + type +
                       "' is not supported (supported: Split, ByteLevel, Digits, Metaspace, "
                       "Sequence)");
  }
  return add_step(std::move(step));
}

void PreTokenizer::run(std::string_view text, bool at_origin, std::vector<PreToken>& out,
                       PreTokenArena& arena) const {
  if (text.empty()) return;
  std::vector<PreToken> current{{text, at_origin}};
  std::vector<PreToken> next;
  for (const PreTokenizerStep& step : steps_) {
    next.clear();
    for (const PreToken& piece : current) {
      switch (step.kind) {
        case PreTokenizerStep::Kind::kSplit:
          split_piece(piece, step, step.behavior, step.invert, next);
          break;
        case PreTokenizerStep::Kind::kDigits:
          split_piece(
              piece, step,
              step.individual_digits ? SplitBehavior::kIsolated : SplitBehavior::kContiguous, false,
              next);
          break;
        case PreTokenizerStep::Kind::kMetaspace: {
          const bool has_space = piece.text.find(' ') != std::string_view::npos;
          const bool starts = piece.text.substr(0, step.replacement.size()) == step.replacement &&
                              !piece.text.empty();
          bool prepend = false;
          if (step.prepend_scheme == PrependScheme::kAlways) prepend = true;
          if (step.prepend_scheme == PrependScheme::kFirst) prepend = piece.at_origin;
          // The check is on the text after spaces became the replacement.
          prepend = prepend && !(starts || (!piece.text.empty() && piece.text[0] == ' '));
          PreToken replaced = piece;
          if (has_space || prepend) {
            std::string& s = arena.emplace_back();
            if (prepend) s = step.replacement;
            replace_spaces(piece.text, step.replacement, s);
            replaced.text = s;
          }
          if (step.split) {
            split_piece(replaced, step, SplitBehavior::kMergedWithNext, false, next);
          } else if (!replaced.text.empty()) {
            next.push_back(replaced);
          }
          break;
        }
        case PreTokenizerStep::Kind::kByteLevel: {
          PreToken prefixed = piece;
          if (step.add_prefix_space && (piece.text.empty() || piece.text[0] != ' ')) {
            std::string& s = arena.emplace_back(" ");
            s.append(piece.text);
            prefixed.text = s;
          }
          if (step.use_regex) {
            split_piece(prefixed, step, SplitBehavior::kIsolated, false, next);
          } else if (!prefixed.text.empty()) {
            next.push_back(prefixed);
          }
          break;
        }
      }
    }
    current.swap(next);
  }
  for (const PreToken& piece : current) {
    if (!piece.text.empty()) out.push_back(piece);
  }
}

}  // namespace hearth
