#include "chat/jinja/json_value.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "chat/jinja/error.h"
#include "chat/jinja/python_format.h"
#include "chat/jinja/unicode_text.h"

namespace hearth::jinja {
namespace {

std::string checked_utf8(const std::string& s, const std::string& path) {
  if (const auto bad = find_invalid_utf8(s)) {
    throw_runtime(path + ": string is not valid UTF-8 (byte " + std::to_string(*bad) + ")");
  }
  return s;
}

Value from_json_at(const nlohmann::ordered_json& json, const std::string& path, uint32_t depth) {
  if (depth > kMaxValueDepth) {
    throw_limit(path + ": JSON nested deeper than " + std::to_string(kMaxValueDepth) + " levels");
  }
  using Type = nlohmann::ordered_json::value_t;
  switch (json.type()) {
    case Type::null:
      return Value::none();
    case Type::boolean:
      return Value::boolean(json.get<bool>());
    case Type::number_integer:
      return Value::integer(json.get<int64_t>());
    case Type::number_unsigned: {
      const auto u = json.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        throw_runtime(path + ": integer " + std::to_string(u) + " is too large (max 2^63-1)");
      }
      return Value::integer(static_cast<int64_t>(u));
    }
    case Type::number_float:
      return Value::floating(json.get<double>());
    case Type::string:
      return Value::string(checked_utf8(json.get_ref<const std::string&>(), path));
    case Type::array: {
      std::vector<Value> items;
      items.reserve(json.size());
      size_t i = 0;
      for (const auto& element : json) {
        items.push_back(from_json_at(element, path + "[" + std::to_string(i++) + "]", depth + 1));
      }
      return Value::list(std::move(items));
    }
    case Type::object: {
      DictData dict;
      dict.entries.reserve(json.size());
      for (const auto& [key, element] : json.items()) {
        const std::string child = path.empty() ? key : path + "." + key;
        dict.set(Value::string(checked_utf8(key, child)), from_json_at(element, child, depth + 1));
      }
      return Value::dict(std::move(dict));
    }
    default:
      throw_runtime(path + ": unsupported JSON value (binary or discarded)");
  }
}

void append_json_string(std::string& out, std::string_view s, bool ensure_ascii) {
  out += '"';
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t start = pos;
    const char32_t cp = decode_utf8(s, pos);
    switch (cp) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      default:
        break;
    }
    char buf[16];
    if (cp < 0x20 || (ensure_ascii && cp >= 0x7F)) {
      if (cp >= 0x10000) {
        const char32_t v = cp - 0x10000;
        std::snprintf(buf, sizeof(buf), "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
      } else {
        std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(cp));
      }
      out += buf;
      continue;
    }
    out.append(s.substr(start, pos - start));
  }
  out += '"';
}

std::string json_float(double f) {
  if (std::isnan(f)) return "NaN";
  if (std::isinf(f)) return f > 0 ? "Infinity" : "-Infinity";
  return python_float_repr(f);
}

[[noreturn]] void throw_not_serializable(const Value& v) {
  throw_runtime("Object of type " + type_name(v) + " is not JSON serializable");
}

std::string json_key(const Value& key) {
  switch (key.kind()) {
    case ValueKind::kString:
      return key.str();
    case ValueKind::kBool:
      return key.bool_value() ? "true" : "false";
    case ValueKind::kNone:
      return "null";
    case ValueKind::kInt:
      return std::to_string(key.int_value());
    case ValueKind::kFloat:
      return json_float(key.float_value());
    default:
      throw_runtime("keys must be str, int, float, bool or None, not " + type_name(key));
  }
}

class JsonWriter {
 public:
  JsonWriter(std::string& out, const JsonDumpOptions& options) : out_(out), options_(options) {}

  void write(const Value& v, int level) {
    switch (v.kind()) {
      case ValueKind::kNone:
        out_ += "null";
        return;
      case ValueKind::kBool:
        out_ += v.bool_value() ? "true" : "false";
        return;
      case ValueKind::kInt:
        out_ += std::to_string(v.int_value());
        return;
      case ValueKind::kFloat:
        out_ += json_float(v.float_value());
        return;
      case ValueKind::kString:
        append_json_string(out_, v.str(), options_.ensure_ascii);
        return;
      case ValueKind::kList: {
        const auto style = v.sequence_style();
        if (style != SequenceStyle::kList && style != SequenceStyle::kTuple) {
          throw_not_serializable(v);
        }
        write_list(v.items(), level);
        return;
      }
      case ValueKind::kDict:
        write_dict(v.dict(), level);
        return;
      default:
        throw_not_serializable(v);
    }
  }

 private:
  void newline(int level) {
    out_ += '\n';
    for (int i = 0; i < level; ++i) out_ += *options_.indent;
  }

  void write_list(const std::vector<Value>& items, int level) {
    if (items.empty()) {
      out_ += "[]";
      return;
    }
    out_ += '[';
    if (options_.indent) newline(level + 1);
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) {
        out_ += options_.item_separator;
        if (options_.indent) newline(level + 1);
      }
      write(items[i], level + 1);
    }
    if (options_.indent) newline(level);
    out_ += ']';
  }

  void write_dict(const DictData& dict, int level) {
    if (dict.size() == 0) {
      out_ += "{}";
      return;
    }
    std::vector<const std::pair<Value, Value>*> entries;
    entries.reserve(dict.size());
    for (const auto& entry : dict.entries) entries.push_back(&entry);
    if (options_.sort_keys) {
      std::stable_sort(entries.begin(), entries.end(), [](const auto* a, const auto* b) {
        return python_compare(a->first, b->first) == -1;
      });
    }
    out_ += '{';
    if (options_.indent) newline(level + 1);
    bool first = true;
    for (const auto* entry : entries) {
      if (!first) {
        out_ += options_.item_separator;
        if (options_.indent) newline(level + 1);
      }
      first = false;
      append_json_string(out_, json_key(entry->first), options_.ensure_ascii);
      out_ += options_.key_separator;
      write(entry->second, level + 1);
    }
    if (options_.indent) newline(level);
    out_ += '}';
  }

  std::string& out_;
  const JsonDumpOptions& options_;
};

}  // namespace

Value value_from_json(const nlohmann::ordered_json& json, const std::string& path) {
  return from_json_at(json, path, 0);
}

std::string json_dumps(const Value& value, const JsonDumpOptions& options) {
  std::string out;
  JsonWriter(out, options).write(value, 0);
  return out;
}

}  // namespace hearth::jinja
