// Methods of str, dict and list/tuple that templates call (`s.startswith(...)`,
// `d.items()`, `l.index(x)`). Mutating methods exist but are unsafe in the immutable sandbox,
// exactly as jinja2's ImmutableSandboxedEnvironment reports them.
#include <algorithm>

#include "chat/jinja/builtins.h"
#include "chat/jinja/error.h"
#include "chat/jinja/host_objects.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/operators.h"
#include "chat/jinja/python_format.h"
#include "chat/jinja/string_format.h"
#include "chat/jinja/unicode_text.h"

namespace hearth::jinja {
namespace {

Value text(Interpreter& interp, std::string s) {
  interp.budget().charge(s.size());
  return Value::string(std::move(s));
}

// Python's optional start/end arguments, as code point offsets clamped like slices.
std::pair<size_t, size_t> span_args(const ArgBinder& bind, size_t first, size_t length) {
  auto clamp = [length](const Value* v, size_t fallback) -> size_t {
    if (!v || v->is_none()) return fallback;
    int64_t i = arg_int(*v, "slice index");
    const auto n = static_cast<int64_t>(length);
    if (i < 0) i = std::max<int64_t>(i + n, 0);
    return static_cast<size_t>(std::min(i, n));
  };
  return {clamp(bind.get(first), 0), clamp(bind.get(first + 1), length)};
}

// Code point window of `s`, as bytes.
std::string_view window(const std::string& s, size_t begin_cp, size_t end_cp) {
  if (end_cp <= begin_cp) return {};
  const size_t begin = byte_offset_of_code_point(s, begin_cp);
  const size_t end = byte_offset_of_code_point(s, end_cp);
  return std::string_view(s).substr(begin, end - begin);
}

std::vector<std::string> string_options(const Value& v, const char* method) {
  if (v.is_string()) return {v.str()};
  if (v.is_list() && v.sequence_style() == SequenceStyle::kTuple) {
    std::vector<std::string> options;
    for (const Value& item : v.items()) {
      if (!item.is_string()) {
        throw_runtime(std::string("tuple for ") + method + " must only contain str, not " +
                      type_name(item));
      }
      options.push_back(item.str());
    }
    return options;
  }
  throw_runtime(std::string(method) + " first arg must be str or a tuple of str, not " +
                type_name(v));
}

Value affix_test(const Value& self, CallArgs& args, bool prefix) {
  const char* name = prefix ? "startswith" : "endswith";
  ArgBinder bind(name, args, {"prefix", "start", "end"});
  if (!bind.get(0)) throw_runtime(std::string(name) + "() takes at least 1 argument (0 given)");
  const std::string& s = self.str();
  const auto [begin, end] = span_args(bind, 1, count_code_points(s));
  const std::string_view w = window(s, begin, end);
  if (begin > end) return Value::boolean(false);
  for (const std::string& option : string_options(*bind.get(0), name)) {
    if (option.size() > w.size()) continue;
    if (prefix ? w.substr(0, option.size()) == option
               : w.substr(w.size() - option.size()) == option) {
      return Value::boolean(true);
    }
  }
  return Value::boolean(false);
}

Value m_startswith(Interpreter&, const Value& self, CallArgs& args) {
  return affix_test(self, args, true);
}
Value m_endswith(Interpreter&, const Value& self, CallArgs& args) {
  return affix_test(self, args, false);
}

Value strip_method(Interpreter& interp, const Value& self, CallArgs& args, StripSide side,
                   const char* name) {
  ArgBinder bind(name, args, {"chars"});
  const auto chars = arg_optional_string(bind.get(0), std::string(name) + "() chars");
  return text(interp, std::string(python_strip(self.str(), chars, side)));
}

Value m_strip(Interpreter& i, const Value& s, CallArgs& a) {
  return strip_method(i, s, a, StripSide::kBoth, "strip");
}
Value m_lstrip(Interpreter& i, const Value& s, CallArgs& a) {
  return strip_method(i, s, a, StripSide::kLeft, "lstrip");
}
Value m_rstrip(Interpreter& i, const Value& s, CallArgs& a) {
  return strip_method(i, s, a, StripSide::kRight, "rstrip");
}

Value split_method(Interpreter& interp, const Value& self, CallArgs& args, bool from_right) {
  ArgBinder bind(from_right ? "rsplit" : "split", args, {"sep", "maxsplit"});
  const auto sep = arg_optional_string(bind.get(0), "split() sep");
  if (sep && sep->empty()) throw_runtime("empty separator");
  const int64_t maxsplit = arg_int(bind.get_or(1, Value::integer(-1)), "split() maxsplit");
  std::vector<Value> parts;
  for (std::string& part : python_split(self.str(), sep, maxsplit, from_right)) {
    parts.push_back(Value::string(std::move(part)));
  }
  interp.budget().charge(self.str().size() + parts.size() * sizeof(Value));
  return Value::list(std::move(parts));
}

Value m_split(Interpreter& i, const Value& s, CallArgs& a) {
  return split_method(i, s, a, false);
}
Value m_rsplit(Interpreter& i, const Value& s, CallArgs& a) {
  return split_method(i, s, a, true);
}

Value m_splitlines(Interpreter& interp, const Value& self, CallArgs& args) {
  ArgBinder bind("splitlines", args, {"keepends"});
  std::vector<Value> lines;
  for (std::string& line :
       python_splitlines(self.str(), arg_bool(bind.get_or(0, Value::boolean(false))))) {
    lines.push_back(Value::string(std::move(line)));
  }
  interp.budget().charge(self.str().size() + lines.size() * sizeof(Value));
  return Value::list(std::move(lines));
}

Value m_upper(Interpreter& i, const Value& s, CallArgs& a) {
  ArgBinder("upper", a, {});
  return text(i, python_upper(s.str()));
}
Value m_lower(Interpreter& i, const Value& s, CallArgs& a) {
  ArgBinder("lower", a, {});
  return text(i, python_lower(s.str()));
}
Value m_title(Interpreter& i, const Value& s, CallArgs& a) {
  ArgBinder("title", a, {});
  return text(i, python_title(s.str()));
}
Value m_capitalize(Interpreter& i, const Value& s, CallArgs& a) {
  ArgBinder("capitalize", a, {});
  return text(i, python_capitalize(s.str()));
}
Value m_swapcase(Interpreter& i, const Value& s, CallArgs& a) {
  ArgBinder("swapcase", a, {});
  return text(i, python_swapcase(s.str()));
}

Value m_replace(Interpreter& interp, const Value& self, CallArgs& args) {
  ArgBinder bind("replace", args, {"old", "new", "count"});
  if (!bind.get(0) || !bind.get(1)) throw_runtime("replace expected at least 2 arguments");
  const std::string& old_text = arg_string(*bind.get(0), "replace() argument 1");
  const std::string& new_text = arg_string(*bind.get(1), "replace() argument 2");
  const int64_t count = arg_int(bind.get_or(2, Value::integer(-1)), "replace() count");
  if (old_text.empty() || new_text.size() > old_text.size()) {
    const size_t slots =
        old_text.empty() ? count_code_points(self.str()) + 1 : self.str().size() / old_text.size();
    interp.budget().charge(self.str().size() + slots * new_text.size());
  }
  return text(interp, python_replace(self.str(), old_text, new_text, count));
}

// find / rfind / index / rindex / count.
int64_t find_in(const Value& self, CallArgs& args, const char* name, bool from_right) {
  ArgBinder bind(name, args, {"sub", "start", "end"});
  if (!bind.get(0)) throw_runtime(std::string(name) + "() takes at least 1 argument (0 given)");
  const std::string& sub = arg_string(*bind.get(0), std::string(name) + "() argument");
  const std::string& s = self.str();
  const auto [begin, end] = span_args(bind, 1, count_code_points(s));
  if (begin > end) return -1;
  const std::string_view w = window(s, begin, end);
  const size_t hit = from_right ? w.rfind(sub) : w.find(sub);
  if (hit == std::string_view::npos) return -1;
  return static_cast<int64_t>(begin + count_code_points(w.substr(0, hit)));
}

Value m_find(Interpreter&, const Value& s, CallArgs& a) {
  return Value::integer(find_in(s, a, "find", false));
}
Value m_rfind(Interpreter&, const Value& s, CallArgs& a) {
  return Value::integer(find_in(s, a, "rfind", true));
}

Value m_str_index(Interpreter&, const Value& s, CallArgs& a) {
  const int64_t i = find_in(s, a, "index", false);
  if (i < 0) throw_runtime("substring not found");
  return Value::integer(i);
}

Value m_rindex(Interpreter&, const Value& s, CallArgs& a) {
  const int64_t i = find_in(s, a, "rindex", true);
  if (i < 0) throw_runtime("substring not found");
  return Value::integer(i);
}

Value m_str_count(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder bind("count", args, {"sub", "start", "end"});
  if (!bind.get(0)) throw_runtime("count() takes at least 1 argument (0 given)");
  const std::string& sub = arg_string(*bind.get(0), "count() argument");
  const std::string& s = self.str();
  const auto [begin, end] = span_args(bind, 1, count_code_points(s));
  if (begin > end) return Value::integer(0);
  const std::string_view w = window(s, begin, end);
  if (sub.empty()) return Value::integer(static_cast<int64_t>(count_code_points(w) + 1));
  int64_t n = 0;
  for (size_t pos = w.find(sub); pos != std::string_view::npos; pos = w.find(sub, pos + sub.size()))
    ++n;
  return Value::integer(n);
}

Value m_join(Interpreter& interp, const Value& self, CallArgs& args) {
  ArgBinder bind("join", args, {"iterable"});
  if (!bind.get(0)) throw_runtime("join() takes exactly one argument (0 given)");
  std::string out;
  size_t index = 0;
  for (const Value& item : interp.iterate(*bind.get(0))) {
    if (!item.is_string()) {
      throw_runtime("sequence item " + std::to_string(index) + ": expected str instance, " +
                    type_name(item) + " found");
    }
    if (index++) out += self.str();
    out += item.str();
    if (out.size() > interp.budget().limits().max_string_bytes) interp.budget().charge(out.size());
  }
  return text(interp, std::move(out));
}

Value m_format(Interpreter& interp, const Value& self, CallArgs& args) {
  return text(interp, str_format(interp, self.str(), args));
}

template <bool (*Pred)(char32_t)>
Value char_class(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder("is*", args, {});
  const std::string& s = self.str();
  if (s.empty()) return Value::boolean(false);
  size_t pos = 0;
  while (pos < s.size()) {
    if (!Pred(decode_utf8(s, pos))) return Value::boolean(false);
  }
  return Value::boolean(true);
}

bool alnum(char32_t c) {
  return is_alpha(c) || is_decimal_digit(c);
}

Value case_test(const Value& self, CallArgs& args, bool upper) {
  ArgBinder(upper ? "isupper" : "islower", args, {});
  bool cased = false;
  const std::string& s = self.str();
  size_t pos = 0;
  while (pos < s.size()) {
    const char32_t c = decode_utf8(s, pos);
    if (upper ? is_lower_letter(c) : is_upper_letter(c)) return Value::boolean(false);
    cased = cased || (upper ? is_upper_letter(c) : is_lower_letter(c));
  }
  return Value::boolean(cased);
}

Value m_isupper(Interpreter&, const Value& s, CallArgs& a) {
  return case_test(s, a, true);
}
Value m_islower(Interpreter&, const Value& s, CallArgs& a) {
  return case_test(s, a, false);
}

Value affix_remove(Interpreter& interp, const Value& self, CallArgs& args, bool prefix) {
  ArgBinder bind(prefix ? "removeprefix" : "removesuffix", args, {"affix"});
  if (!bind.get(0)) throw_runtime("removeprefix() takes exactly one argument (0 given)");
  const std::string& affix = arg_string(*bind.get(0), "removeprefix() argument");
  const std::string& s = self.str();
  if (prefix && s.compare(0, affix.size(), affix) == 0) return text(interp, s.substr(affix.size()));
  if (!prefix && s.size() >= affix.size() &&
      s.compare(s.size() - affix.size(), affix.size(), affix) == 0) {
    return text(interp, s.substr(0, s.size() - affix.size()));
  }
  return self;
}

Value m_removeprefix(Interpreter& i, const Value& s, CallArgs& a) {
  return affix_remove(i, s, a, true);
}
Value m_removesuffix(Interpreter& i, const Value& s, CallArgs& a) {
  return affix_remove(i, s, a, false);
}

// center / ljust / rjust / zfill.
Value pad_method(Interpreter& interp, const Value& self, CallArgs& args, char mode) {
  ArgBinder bind(mode == 'c'   ? "center"
                 : mode == 'l' ? "ljust"
                 : mode == 'r' ? "rjust"
                               : "zfill",
                 args, {"width", "fillchar"});
  if (!bind.get(0)) throw_runtime("padding methods take at least 1 argument (0 given)");
  const int64_t width = arg_int(*bind.get(0), "width");
  std::string fill = " ";
  if (const Value* f = bind.get(1)) {
    fill = arg_string(*f, "fillchar");
    if (count_code_points(fill) != 1) {
      throw_runtime("The fill character must be exactly one character long");
    }
  }
  const std::string& s = self.str();
  const auto len = static_cast<int64_t>(count_code_points(s));
  if (width <= len) return self;
  interp.budget().charge(static_cast<size_t>(width) * fill.size());
  const int64_t margin = width - len;
  int64_t left = 0;
  if (mode == 'c') {
    left = margin / 2 + (margin & width & 1);
  } else if (mode == 'r') {
    left = margin;
  } else if (mode == 'z') {
    std::string out = s;
    const size_t sign = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
    out.insert(sign, std::string(static_cast<size_t>(margin), '0'));
    return text(interp, std::move(out));
  }
  std::string out;
  for (int64_t i = 0; i < left; ++i) out += fill;
  out += s;
  for (int64_t i = 0; i < margin - left; ++i) out += fill;
  return text(interp, std::move(out));
}

Value m_center(Interpreter& i, const Value& s, CallArgs& a) {
  return pad_method(i, s, a, 'c');
}
Value m_ljust(Interpreter& i, const Value& s, CallArgs& a) {
  return pad_method(i, s, a, 'l');
}
Value m_rjust(Interpreter& i, const Value& s, CallArgs& a) {
  return pad_method(i, s, a, 'r');
}
Value m_zfill(Interpreter& i, const Value& s, CallArgs& a) {
  return pad_method(i, s, a, 'z');
}

Value partition_method(Interpreter&, const Value& self, CallArgs& args, bool from_right) {
  ArgBinder bind(from_right ? "rpartition" : "partition", args, {"sep"});
  if (!bind.get(0)) throw_runtime("partition() takes exactly one argument (0 given)");
  const std::string& sep = arg_string(*bind.get(0), "partition() argument");
  if (sep.empty()) throw_runtime("empty separator");
  const std::string& s = self.str();
  const size_t hit = from_right ? s.rfind(sep) : s.find(sep);
  if (hit == std::string::npos) {
    return from_right
               ? Value::list({Value::string(""), Value::string(""), self}, SequenceStyle::kTuple)
               : Value::list({self, Value::string(""), Value::string("")}, SequenceStyle::kTuple);
  }
  return Value::list({Value::string(s.substr(0, hit)), Value::string(sep),
                      Value::string(s.substr(hit + sep.size()))},
                     SequenceStyle::kTuple);
}

Value m_partition(Interpreter& i, const Value& s, CallArgs& a) {
  return partition_method(i, s, a, false);
}
Value m_rpartition(Interpreter& i, const Value& s, CallArgs& a) {
  return partition_method(i, s, a, true);
}

// --- dict -----------------------------------------------------------------------------------

Value dict_view(Interpreter& interp, const Value& self, CallArgs& args, SequenceStyle style) {
  ArgBinder("view", args, {});
  std::vector<Value> items;
  items.reserve(self.dict().size());
  for (const auto& [key, value] : self.dict().entries) {
    if (style == SequenceStyle::kDictItems) {
      items.push_back(Value::list({key, value}, SequenceStyle::kTuple));
    } else {
      items.push_back(style == SequenceStyle::kDictKeys ? key : value);
    }
  }
  interp.budget().charge(items.size() * sizeof(Value));
  return Value::list(std::move(items), style);
}

Value m_items(Interpreter& i, const Value& s, CallArgs& a) {
  return dict_view(i, s, a, SequenceStyle::kDictItems);
}
Value m_keys(Interpreter& i, const Value& s, CallArgs& a) {
  return dict_view(i, s, a, SequenceStyle::kDictKeys);
}
Value m_values(Interpreter& i, const Value& s, CallArgs& a) {
  return dict_view(i, s, a, SequenceStyle::kDictValues);
}

Value m_get(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder bind("get", args, {"key", "default"});
  if (!bind.get(0)) throw_runtime("get expected at least 1 argument, got 0");
  const Value& key = *bind.get(0);
  if (key.is_dict() || (key.is_list() && key.sequence_style() != SequenceStyle::kTuple)) {
    throw_runtime("unhashable type: '" + type_name(key) + "'");
  }
  if (const Value* v = self.dict().find(key)) return *v;
  return bind.get_or(1, Value::none());
}

Value m_copy(Interpreter&, const Value& self, CallArgs& args) {
  ArgBinder("copy", args, {});
  if (self.is_dict()) return Value::dict(self.dict());
  return Value::list(self.items(), self.sequence_style());
}

// --- list / tuple ---------------------------------------------------------------------------

Value m_list_index(Interpreter& interp, const Value& self, CallArgs& args) {
  ArgBinder bind("index", args, {"value", "start", "stop"});
  if (!bind.get(0)) throw_runtime("index expected at least 1 argument, got 0");
  const auto& items = self.items();
  const auto [begin, end] = span_args(bind, 1, items.size());
  for (size_t i = begin; i < end; ++i) {
    interp.budget().tick();
    if (python_equal(items[i], *bind.get(0))) return Value::integer(static_cast<int64_t>(i));
  }
  throw_runtime(python_repr(*bind.get(0)) + " is not in " + type_name(self));
}

Value m_list_count(Interpreter& interp, const Value& self, CallArgs& args) {
  ArgBinder bind("count", args, {"value"});
  if (!bind.get(0)) throw_runtime("count() takes exactly one argument (0 given)");
  int64_t n = 0;
  for (const Value& item : self.items()) {
    interp.budget().tick();
    if (python_equal(item, *bind.get(0))) ++n;
  }
  return Value::integer(n);
}

struct MethodEntry {
  std::string_view name;
  MethodFn fn;  // null: exists, but unsafe in the immutable sandbox
};

constexpr MethodEntry kStringMethods[] = {
    {"capitalize", &m_capitalize},
    {"casefold", &m_lower},
    {"center", &m_center},
    {"count", &m_str_count},
    {"endswith", &m_endswith},
    {"find", &m_find},
    {"format", &m_format},
    {"index", &m_str_index},
    {"isalnum", &char_class<alnum>},
    {"isalpha", &char_class<is_alpha>},
    {"isdecimal", &char_class<is_decimal_digit>},
    {"isdigit", &char_class<is_decimal_digit>},
    {"islower", &m_islower},
    {"isnumeric", &char_class<is_decimal_digit>},
    {"isspace", &char_class<is_python_space>},
    {"isupper", &m_isupper},
    {"join", &m_join},
    {"ljust", &m_ljust},
    {"lower", &m_lower},
    {"lstrip", &m_lstrip},
    {"partition", &m_partition},
    {"removeprefix", &m_removeprefix},
    {"removesuffix", &m_removesuffix},
    {"replace", &m_replace},
    {"rfind", &m_rfind},
    {"rindex", &m_rindex},
    {"rjust", &m_rjust},
    {"rpartition", &m_rpartition},
    {"rsplit", &m_rsplit},
    {"rstrip", &m_rstrip},
    {"split", &m_split},
    {"splitlines", &m_splitlines},
    {"startswith", &m_startswith},
    {"strip", &m_strip},
    {"swapcase", &m_swapcase},
    {"title", &m_title},
    {"upper", &m_upper},
    {"zfill", &m_zfill},
};

constexpr MethodEntry kDictMethods[] = {
    {"clear", nullptr},  {"copy", &m_copy},     {"get", &m_get},      {"items", &m_items},
    {"keys", &m_keys},   {"pop", nullptr},      {"popitem", nullptr}, {"setdefault", nullptr},
    {"update", nullptr}, {"values", &m_values},
};

constexpr MethodEntry kListMethods[] = {
    {"append", nullptr}, {"clear", nullptr},       {"copy", &m_copy},   {"count", &m_list_count},
    {"extend", nullptr}, {"index", &m_list_index}, {"insert", nullptr}, {"pop", nullptr},
    {"remove", nullptr}, {"reverse", nullptr},     {"sort", nullptr},
};

constexpr MethodEntry kTupleMethods[] = {{"count", &m_list_count}, {"index", &m_list_index}};

template <size_t N>
std::optional<Value> lookup(const MethodEntry (&table)[N], const Value& receiver,
                            std::string_view name, bool& unsafe) {
  for (const auto& entry : table) {
    if (entry.name != name) continue;
    if (!entry.fn) {
      unsafe = true;
      return std::nullopt;
    }
    return Value::object(std::make_shared<BoundMethod>(receiver, std::string(name), entry.fn));
  }
  return std::nullopt;
}

}  // namespace

std::optional<Value> find_method(const Value& receiver, std::string_view name, bool& unsafe) {
  unsafe = false;
  switch (receiver.kind()) {
    case ValueKind::kString:
      return lookup(kStringMethods, receiver, name, unsafe);
    case ValueKind::kDict:
      return lookup(kDictMethods, receiver, name, unsafe);
    case ValueKind::kList:
      switch (receiver.sequence_style()) {
        case SequenceStyle::kList:
          return lookup(kListMethods, receiver, name, unsafe);
        case SequenceStyle::kTuple:
          return lookup(kTupleMethods, receiver, name, unsafe);
        default:
          return std::nullopt;
      }
    default:
      return std::nullopt;
  }
}

}  // namespace hearth::jinja
