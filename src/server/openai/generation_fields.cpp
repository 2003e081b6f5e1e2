#include "server/openai/generation_fields.h"

#include <fmt/core.h>

#include <charconv>
#include <cmath>
#include <limits>

namespace hearth::server {
namespace {

constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
constexpr size_t kMaxModelNameBytes = 256;

std::vector<std::string> read_stop(FieldReader& reader) {
  std::vector<std::string> stop;
  const nlohmann::ordered_json* v = reader.value("stop");
  if (!reader.ok() || !v) return stop;
  if (v->is_string()) {
    stop.push_back(v->get<std::string>());
  } else if (v->is_array()) {
    if (v->size() > kMaxStopStrings) {
      reader.fail("stop", fmt::format("'stop' has {} entries; at most {} are allowed", v->size(),
                                      kMaxStopStrings));
      return {};
    }
    for (size_t i = 0; i < v->size(); ++i) {
      const auto& s = (*v)[i];
      if (!s.is_string()) {
        reader.fail(fmt::format("stop[{}]", i),
                    fmt::format("'stop[{}]' must be a string, got {}", i, json_type_name(s)),
                    "invalid_type");
        return {};
      }
      stop.push_back(s.get<std::string>());
    }
  } else {
    reader.fail("stop", "'stop' must be a string or an array of strings, got " + json_type_name(*v),
                "invalid_type");
    return {};
  }
  for (const auto& s : stop) {
    if (s.empty()) {
      reader.fail("stop", "'stop' strings must not be empty");
      return {};
    }
    if (s.size() > kMaxStopStringBytes) {
      reader.fail("stop", fmt::format("a 'stop' string is {} bytes long; the limit is {}", s.size(),
                                      kMaxStopStringBytes));
      return {};
    }
  }
  return stop;
}

void read_logit_bias(FieldReader& reader, const RequestLimits& limits, SamplingParams& sampling) {
  const nlohmann::ordered_json* bias = reader.object("logit_bias");
  if (!bias) return;
  if (bias->size() > kMaxLogitBiasEntries) {
    reader.fail("logit_bias", fmt::format("'logit_bias' has {} entries; at most {} are allowed",
                                          bias->size(), kMaxLogitBiasEntries));
    return;
  }
  for (const auto& [key, value] : bias->items()) {
    const std::string param = "logit_bias." + key;
    const auto token = parse_token_id(key);
    if (!token || *token < 0 || *token >= limits.vocab_size) {
      reader.fail(
          param,
          fmt::format("'logit_bias' key '{}' is not a token id in [0, {})", key, limits.vocab_size),
          "invalid_value");
      return;
    }
    if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() < -100 ||
        value.get<double>() > 100) {
      reader.fail(param, fmt::format("'logit_bias' values must be numbers between -100 and 100, "
                                     "got {} for token {}",
                                     json_preview(value), key));
      return;
    }
    sampling.logit_bias.emplace_back(static_cast<int32_t>(*token), value.get<float>());
  }
}

void read_max_tokens(FieldReader& reader, const RequestLimits& limits,
                     std::initializer_list<std::string_view> keys, GenerationFields& out) {
  const int64_t limit = limits.context_size > 0 ? limits.context_size : kInt32Max;
  for (const auto key : keys) {
    const auto v = reader.integer(key, 1, limit);
    if (!v) continue;
    if (out.max_tokens && *out.max_tokens != *v) {
      reader.fail(key, fmt::format("'{}' ({}) disagrees with another max-token field ({}); "
                                   "set only one",
                                   key, *v, *out.max_tokens));
      return;
    }
    out.max_tokens = v;
    out.max_tokens_explicit = true;
  }
}

}  // namespace

std::optional<int64_t> parse_token_id(const std::string& key) {
  int64_t value = 0;
  const char* end = key.data() + key.size();
  const auto [ptr, ec] = std::from_chars(key.data(), end, value);
  if (ec != std::errc() || ptr != end || key.empty()) return std::nullopt;
  return value;
}

GenerationFields read_generation_fields(FieldReader& reader, const RequestLimits& limits,
                                        std::initializer_list<std::string_view> max_token_keys) {
  GenerationFields out;
  if (auto model = reader.string("model", kMaxModelNameBytes)) out.model = std::move(*model);

  SamplingParams& s = out.sampling;
  if (auto v = reader.number("temperature", 0.0, 2.0)) s.temperature = static_cast<float>(*v);
  if (auto v = reader.number("top_p", 0.0, 1.0)) s.top_p = static_cast<float>(*v);
  // -1 means "off" in vLLM; 0 is hearth's and llama.cpp's "off".
  if (auto v = reader.integer("top_k", -1, kInt32Max))
    s.top_k = static_cast<int32_t>(*v < 0 ? 0 : *v);
  if (auto v = reader.number("min_p", 0.0, 1.0)) s.min_p = static_cast<float>(*v);
  if (auto v = reader.number("presence_penalty", -2.0, 2.0)) {
    s.presence_penalty = static_cast<float>(*v);
  }
  if (auto v = reader.number("frequency_penalty", -2.0, 2.0)) {
    s.frequency_penalty = static_cast<float>(*v);
  }
  if (auto v = reader.number("repetition_penalty", 0.0, 10.0)) {
    if (*v <= 0.0) {
      reader.fail("repetition_penalty", "'repetition_penalty' must be greater than 0");
    } else {
      s.repetition_penalty = static_cast<float>(*v);
    }
  }
  read_logit_bias(reader, limits, s);
  if (const nlohmann::ordered_json* seed = reader.value("seed"); seed && reader.ok()) {
    if (seed->is_number_unsigned()) {
      s.seed = seed->get<uint64_t>();
    } else if (seed->is_number_integer()) {
      s.seed = static_cast<uint64_t>(seed->get<int64_t>());  // two's complement, like numpy
    } else {
      reader.fail("seed", "'seed' must be an integer, got " + json_type_name(*seed),
                  "invalid_type");
    }
  }
  out.stop = read_stop(reader);
  read_max_tokens(reader, limits, max_token_keys, out);

  if (auto n = reader.integer("n", 1, kInt32Max); n && *n != 1) {
    reader.fail("n",
                fmt::format("'n' = {} is not supported: hearth returns one choice per "
                            "request; send parallel requests instead",
                            *n),
                "unsupported_parameter");
  }
  (void)reader.string("user", 256);  // an end-user id for abuse tracking: accepted, not used
  if (auto v = reader.boolean("stream")) out.stream = *v;
  if (const nlohmann::ordered_json* opts = reader.object("stream_options")) {
    if (!out.stream) {
      reader.fail("stream_options", "'stream_options' is only allowed when 'stream' is true");
    } else {
      FieldReader opt_reader(*opts, "stream_options");
      if (auto v = opt_reader.boolean("include_usage")) out.include_usage = *v;
      (void)opt_reader.boolean("include_obfuscation");  // nothing to obfuscate
      opt_reader.reject_unknown({"include_usage", "include_obfuscation"});
      if (!opt_reader.ok()) reader.fail(opt_reader.error());
    }
  }
  if (auto v = reader.boolean("ignore_eos")) out.ignore_eos = *v;
  if (auto v = reader.boolean("skip_special_tokens")) out.skip_special_tokens = *v;
  return out;
}

}  // namespace hearth::server
