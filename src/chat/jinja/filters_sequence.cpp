// Sequence and mapping filters, following jinja2/filters.py (3.1). Filters that return Python
// generators in jinja2 return sequences marked kGenerator, so they print, measure (no len())
// and serialize (not JSON) the way the generator would.
#include <algorithm>

#include "chat/jinja/builtin_functions.h"
#include "chat/jinja/builtins.h"
#include "chat/jinja/error.h"
#include "chat/jinja/interpreter.h"
#include "chat/jinja/operators.h"
#include "chat/jinja/python_format.h"
#include "chat/jinja/unicode_text.h"

namespace hearth::jinja {
namespace {

Value generator(Interpreter& interp, std::vector<Value> items) {
  interp.budget().charge(items.size() * sizeof(Value));
  return Value::list(std::move(items), SequenceStyle::kGenerator);
}

Value plain_list(Interpreter& interp, std::vector<Value> items) {
  interp.budget().charge(items.size() * sizeof(Value));
  return Value::list(std::move(items));
}

Value lower_if_string(const Value& v) {
  return v.is_string() ? Value::string(python_lower(v.str())) : v;
}

// jinja2's make_attrgetter: "a.b.0" looks up item a, then b, then index 0.
class AttrGetter {
 public:
  AttrGetter(const Value* attribute, bool ignore_case, std::optional<Value> fallback = {})
      : ignore_case_(ignore_case), fallback_(std::move(fallback)) {
    if (!attribute || attribute->is_none()) return;
    has_attribute_ = true;
    if (!attribute->is_string()) {
      parts_.push_back(*attribute);
      return;
    }
    for (const std::string& part : python_split(attribute->str(), std::string("."), -1, false)) {
      const bool digits = !part.empty() && std::all_of(part.begin(), part.end(),
                                                       [](char c) { return c >= '0' && c <= '9'; });
      parts_.push_back(digits && part.size() < 18 ? Value::integer(std::stoll(part))
                                                  : Value::string(part));
    }
  }

  Value operator()(Interpreter& interp, Value item) const {
    for (const Value& part : parts_) {
      item = interp.getitem(item, part);
      if (fallback_ && item.is_undefined()) item = *fallback_;
    }
    return ignore_case_ ? lower_if_string(item) : item;
  }
  bool has_attribute() const { return has_attribute_; }

 private:
  std::vector<Value> parts_;
  bool has_attribute_ = false;
  bool ignore_case_;
  std::optional<Value> fallback_;
};

// Sort keys for "a,b" attributes: one getter per comma-separated name.
std::vector<AttrGetter> multi_getter(const Value* attribute, bool ignore_case) {
  std::vector<AttrGetter> getters;
  if (attribute && attribute->is_string()) {
    for (const std::string& part : python_split(attribute->str(), std::string(","), -1, false)) {
      const Value name = Value::string(part);
      getters.emplace_back(&name, ignore_case);
    }
  } else {
    getters.emplace_back(attribute, ignore_case);
  }
  return getters;
}

bool less_than(Interpreter& interp, const Value& a, const Value& b) {
  interp.budget().tick();
  return python_compare(a, b) == -1;
}

void python_sort(Interpreter& interp, std::vector<std::pair<Value, Value>>& keyed, bool reverse) {
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    return reverse ? less_than(interp, y.first, x.first) : less_than(interp, x.first, y.first);
  });
}

// select/reject/selectattr/rejectattr.
Value select_or_reject(Interpreter& interp, const Value& input, CallArgs& args, bool keep_when,
                       bool lookup_attr, const char* name) {
  if (!truthy(input)) return generator(interp, {});
  size_t offset = 0;
  std::optional<AttrGetter> getter;
  if (lookup_attr) {
    if (args.positional.empty())
      throw_runtime(std::string(name) + ": Missing parameter for attribute name");
    getter.emplace(&args.positional[0], false);
    offset = 1;
  }
  std::optional<std::string> test;
  CallArgs test_args;
  if (args.positional.size() > offset) {
    test = arg_string(args.positional[offset], std::string(name) + "() test name");
    test_args.positional.assign(args.positional.begin() + static_cast<long>(offset) + 1,
                                args.positional.end());
    test_args.keywords = args.keywords;
  }
  std::vector<Value> kept;
  for (const Value& item : interp.iterate(input)) {
    interp.budget().tick();
    const Value subject = getter ? (*getter)(interp, item) : item;
    const bool passed = test ? interp.call_test(*test, subject, test_args) : truthy(subject);
    if (passed == keep_when) kept.push_back(item);
  }
  return generator(interp, std::move(kept));
}

Value min_or_max(Interpreter& interp, const Value& input, CallArgs& args, bool want_max,
                 const char* name) {
  ArgBinder bind(name, args, {"case_sensitive", "attribute"});
  const bool case_sensitive = arg_bool(bind.get_or(0, Value::boolean(false)));
  const AttrGetter key(bind.get(1), !case_sensitive);
  const std::vector<Value> items = interp.iterate(input);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  size_t best = 0;
  Value best_key = key(interp, items[0]);
  for (size_t i = 1; i < items.size(); ++i) {
    Value k = key(interp, items[i]);
    if (want_max ? less_than(interp, best_key, k) : less_than(interp, k, best_key)) {
      best = i;
      best_key = std::move(k);
    }
  }
  return items[best];
}

}  // namespace

Value filter_attr(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder bind("attr", args, {"name"});
  if (!bind.get(0)) throw_runtime("attr() missing 1 required positional argument: 'name'");
  const std::string name = python_str(*bind.get(0));
  if (input.is_undefined()) throw_undefined(input);
  if (input.is_object()) {
    if (auto v = input.obj().get_attr(interp, name)) return *v;
  } else if (input.is_dict() || input.is_string() || input.is_list()) {
    if (name.rfind("__", 0) == 0) return interp.getattr(input, name);
    bool unsafe = false;
    if (auto method = find_method(input, name, unsafe)) return *method;
    if (unsafe) return interp.getattr(input, name);
  }
  return Value::undefined(cat({"'", object_type_repr(input), "' has no attribute '", name, "'"}));
}

Value filter_batch(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder bind("batch", args, {"linecount", "fill_with"});
  if (!bind.get(0)) throw_runtime("batch() missing 1 required positional argument: 'linecount'");
  const int64_t linecount = arg_int(*bind.get(0), "batch() linecount");
  const Value fill = bind.get_or(1, Value::none());
  std::vector<Value> batches;
  std::vector<Value> current;
  for (const Value& item : interp.iterate(input)) {
    if (static_cast<int64_t>(current.size()) == linecount) {
      batches.push_back(plain_list(interp, std::move(current)));
      current.clear();
    }
    current.push_back(item);
  }
  if (!current.empty()) {
    if (!fill.is_none() && static_cast<int64_t>(current.size()) < linecount) {
      const auto missing = static_cast<size_t>(linecount) - current.size();
      interp.budget().charge(missing * sizeof(Value));
      current.insert(current.end(), missing, fill);
    }
    batches.push_back(plain_list(interp, std::move(current)));
  }
  return generator(interp, std::move(batches));
}

Value filter_dictsort(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder bind("dictsort", args, {"case_sensitive", "by", "reverse"});
  const bool case_sensitive = arg_bool(bind.get_or(0, Value::boolean(false)));
  const std::string by = arg_string(bind.get_or(1, Value::string("key")), "dictsort() by");
  const bool reverse = arg_bool(bind.get_or(2, Value::boolean(false)));
  if (by != "key" && by != "value")
    throw_runtime("You can only sort by either \"key\" or \"value\"");
  if (input.is_undefined()) throw_undefined(input);
  if (!input.is_dict())
    throw_runtime(cat({"'", type_name(input), "' object has no attribute 'items'"}));
  std::vector<std::pair<Value, Value>> keyed;
  for (const auto& [key, value] : input.dict().entries) {
    const Value& sort_key = by == "key" ? key : value;
    keyed.emplace_back(case_sensitive ? sort_key : lower_if_string(sort_key),
                       Value::list({key, value}, SequenceStyle::kTuple));
  }
  python_sort(interp, keyed, reverse);
  std::vector<Value> items;
  for (auto& [k, item] : keyed) items.push_back(std::move(item));
  return plain_list(interp, std::move(items));
}

Value filter_first(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder("first", args, {});
  if (input.is_string()) {
    if (input.str().empty()) return Value::undefined("No first item, sequence was empty.");
    size_t pos = 0;
    decode_utf8(input.str(), pos);
    return Value::string(input.str().substr(0, pos), input.is_markup());
  }
  if (input.is_list()) {
    if (input.items().empty()) return Value::undefined("No first item, sequence was empty.");
    return input.items().front();
  }
  const std::vector<Value> items = interp.iterate(input);
  if (items.empty()) return Value::undefined("No first item, sequence was empty.");
  return items.front();
}

Value filter_items(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder("items", args, {});
  if (input.is_undefined()) return generator(interp, {});
  if (!input.is_dict()) throw_runtime("Can only get item pairs from a mapping.");
  std::vector<Value> pairs;
  for (const auto& [key, value] : input.dict().entries) {
    pairs.push_back(Value::list({key, value}, SequenceStyle::kTuple));
  }
  return generator(interp, std::move(pairs));
}

Value filter_join(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder bind("join", args, {"d", "attribute"});
  const std::string separator = python_str(bind.get_or(0, Value::string("")));
  const AttrGetter getter(bind.get(1), false);
  std::string out;
  bool first = true;
  for (const Value& item : interp.iterate(input)) {
    if (!first) out += separator;
    first = false;
    const Value v = getter.has_attribute() ? getter(interp, item) : item;
    append_python_str(out, v);
    if (out.size() > interp.budget().limits().max_string_bytes) interp.budget().charge(out.size());
  }
  interp.budget().charge(out.size());
  return Value::string(std::move(out));
}

Value filter_last(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder("last", args, {});
  if (input.is_list() && input.sequence_style() == SequenceStyle::kGenerator) {
    throw_runtime("'generator' object is not reversible");
  }
  if (input.is_string()) {
    const std::vector<char32_t> cps = to_code_points(input.str());
    if (cps.empty()) return Value::undefined("No last item, sequence was empty.");
    return Value::string(from_code_points(cps, cps.size() - 1, cps.size()), input.is_markup());
  }
  const std::vector<Value> items = interp.iterate(input);
  if (items.empty()) return Value::undefined("No last item, sequence was empty.");
  return items.back();
}

Value filter_length(Interpreter&, const Value& input, CallArgs& args) {
  ArgBinder("length", args, {});
  switch (input.kind()) {
    case ValueKind::kUndefined:
      return Value::integer(0);
    case ValueKind::kString:
      return Value::integer(static_cast<int64_t>(count_code_points(input.str())));
    case ValueKind::kList:
      if (input.sequence_style() == SequenceStyle::kGenerator) {
        throw_runtime("object of type 'generator' has no len()");
      }
      return Value::integer(static_cast<int64_t>(input.items().size()));
    case ValueKind::kDict:
      return Value::integer(static_cast<int64_t>(input.dict().size()));
    default:
      throw_runtime("object of type '" + type_name(input) + "' has no len()");
  }
}

Value filter_list(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder("list", args, {});
  return plain_list(interp, interp.iterate(input));
}

Value filter_map(Interpreter& interp, const Value& input, CallArgs& args) {
  if (!truthy(input)) return generator(interp, {});
  std::vector<Value> mapped;
  const auto attribute = std::find_if(args.keywords.begin(), args.keywords.end(),
                                      [](const auto& kw) { return kw.first == "attribute"; });
  if (args.positional.empty() && attribute != args.keywords.end()) {
    std::optional<Value> fallback;
    for (const auto& [key, value] : args.keywords) {
      if (key == "default") {
        if (!value.is_none()) fallback = value;
      } else if (key != "attribute") {
        throw_runtime("Unexpected keyword argument '" + key + "'");
      }
    }
    const AttrGetter getter(&attribute->second, false, fallback);
    for (const Value& item : interp.iterate(input)) mapped.push_back(getter(interp, item));
    return generator(interp, std::move(mapped));
  }
  if (args.positional.empty()) throw_runtime("map requires a filter argument");
  const std::string filter = arg_string(args.positional[0], "map() filter name");
  CallArgs filter_args;
  filter_args.positional.assign(args.positional.begin() + 1, args.positional.end());
  filter_args.keywords = args.keywords;
  for (const Value& item : interp.iterate(input)) {
    mapped.push_back(interp.call_filter(filter, item, filter_args));
  }
  return generator(interp, std::move(mapped));
}

Value filter_max(Interpreter& interp, const Value& input, CallArgs& args) {
  return min_or_max(interp, input, args, true, "max");
}

Value filter_min(Interpreter& interp, const Value& input, CallArgs& args) {
  return min_or_max(interp, input, args, false, "min");
}

Value filter_select(Interpreter& interp, const Value& input, CallArgs& args) {
  return select_or_reject(interp, input, args, true, false, "select");
}

Value filter_reject(Interpreter& interp, const Value& input, CallArgs& args) {
  return select_or_reject(interp, input, args, false, false, "reject");
}

Value filter_selectattr(Interpreter& interp, const Value& input, CallArgs& args) {
  return select_or_reject(interp, input, args, true, true, "selectattr");
}

Value filter_rejectattr(Interpreter& interp, const Value& input, CallArgs& args) {
  return select_or_reject(interp, input, args, false, true, "rejectattr");
}

Value filter_reverse(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder("reverse", args, {});
  if (input.is_string()) {
    std::vector<char32_t> cps = to_code_points(input.str());
    std::reverse(cps.begin(), cps.end());
    return Value::string(from_code_points(cps, 0, cps.size()), input.is_markup());
  }
  std::vector<Value> items = interp.iterate(input);
  std::reverse(items.begin(), items.end());
  if (input.is_list() && input.sequence_style() == SequenceStyle::kGenerator) {
    return plain_list(interp, std::move(items));
  }
  return generator(interp, std::move(items));
}

Value filter_slice(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder bind("slice", args, {"slices", "fill_with"});
  if (!bind.get(0)) throw_runtime("slice() missing 1 required positional argument: 'slices'");
  const int64_t slices = arg_int(*bind.get(0), "slice() slices");
  if (slices <= 0) throw_runtime("integer division or modulo by zero");
  if (slices > 100000) throw_runtime("slice() slices is larger than 100000");
  const Value fill = bind.get_or(1, Value::none());
  const std::vector<Value> seq = interp.iterate(input);
  const auto length = static_cast<int64_t>(seq.size());
  const int64_t per_slice = length / slices;
  const int64_t with_extra = length % slices;
  int64_t offset = 0;
  std::vector<Value> out;
  for (int64_t n = 0; n < slices; ++n) {
    const int64_t start = offset + n * per_slice;
    if (n < with_extra) ++offset;
    const int64_t end = offset + (n + 1) * per_slice;
    std::vector<Value> part(seq.begin() + start, seq.begin() + end);
    if (!fill.is_none() && n >= with_extra) part.push_back(fill);
    out.push_back(plain_list(interp, std::move(part)));
  }
  return generator(interp, std::move(out));
}

Value filter_sort(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder bind("sort", args, {"reverse", "case_sensitive", "attribute"});
  const bool reverse = arg_bool(bind.get_or(0, Value::boolean(false)));
  const bool case_sensitive = arg_bool(bind.get_or(1, Value::boolean(false)));
  const std::vector<AttrGetter> getters = multi_getter(bind.get(2), !case_sensitive);
  std::vector<std::pair<Value, Value>> keyed;
  for (const Value& item : interp.iterate(input)) {
    if (getters.size() == 1) {
      keyed.emplace_back(getters[0](interp, item), item);
    } else {
      std::vector<Value> parts;
      for (const AttrGetter& g : getters) parts.push_back(g(interp, item));
      keyed.emplace_back(Value::list(std::move(parts)), item);
    }
  }
  python_sort(interp, keyed, reverse);
  std::vector<Value> items;
  items.reserve(keyed.size());
  for (auto& [k, item] : keyed) items.push_back(std::move(item));
  return plain_list(interp, std::move(items));
}

Value filter_sum(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder bind("sum", args, {"attribute", "start"});
  const AttrGetter getter(bind.get(0), false);
  Value total = bind.get_or(1, Value::integer(0));
  for (const Value& item : interp.iterate(input)) {
    total = binary_op(interp.budget(), BinaryOp::kAdd, total,
                      getter.has_attribute() ? getter(interp, item) : item);
  }
  return total;
}

Value filter_unique(Interpreter& interp, const Value& input, CallArgs& args) {
  ArgBinder bind("unique", args, {"case_sensitive", "attribute"});
  const bool case_sensitive = arg_bool(bind.get_or(0, Value::boolean(false)));
  const AttrGetter getter(bind.get(1), !case_sensitive);
  std::vector<Value> seen;
  std::vector<Value> kept;
  for (const Value& item : interp.iterate(input)) {
    const Value key = getter(interp, item);
    if (key.is_dict() || (key.is_list() && key.sequence_style() != SequenceStyle::kTuple)) {
      throw_runtime("unhashable type: '" + type_name(key) + "'");
    }
    interp.budget().tick(1 + seen.size() / 16);
    const bool duplicate =
        std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return python_equal(s, key); });
    if (!duplicate) {
      seen.push_back(key);
      kept.push_back(item);
    }
  }
  return generator(interp, std::move(kept));
}

}  // namespace hearth::jinja
