#include "chat/jinja/value.h"

#include <algorithm>
#include <cmath>

#include "chat/jinja/error.h"

namespace hearth::jinja {
namespace {

struct StringData {
  std::string text;
  bool markup = false;
};

struct UndefinedData {
  std::string hint;
  bool security = false;
};

const std::string& empty_string() {
  static const std::string kEmpty;
  return kEmpty;
}

void check_depth(uint32_t depth) {
  if (depth > kMaxValueDepth) {
    throw_limit("value nesting exceeds " + std::to_string(kMaxValueDepth) + " levels");
  }
}

// Adds a child's count; each child is at most kMaxValueElements, so the sum cannot wrap before
// the check that follows every addition.
void add_elements(uint64_t& total, const Value& child) {
  total += child.elements();
  if (total > kMaxValueElements) {
    throw_limit("value holds more than " + std::to_string(kMaxValueElements) +
                " elements (counting each repeat of a shared list or dict)");
  }
}

// Exact comparison of an int with a float, as Python does (no rounding of large ints).
int compare_int_float(int64_t i, double f) {
  if (f >= 9.3e18) return -1;
  if (f <= -9.3e18) return 1;
  const double fl = std::floor(f);
  const auto fi = static_cast<int64_t>(fl);
  if (i < fi) return -1;
  if (i > fi) return 1;
  return f > fl ? -1 : 0;
}

// Three-way numeric comparison; nullopt when a NaN is involved (every comparison is false).
std::optional<int> compare_numbers(const Value& a, const Value& b) {
  if (!a.is_float() && !b.is_float()) {
    const int64_t x = a.as_int();
    const int64_t y = b.as_int();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_float() && b.is_float()) {
    const double x = a.float_value();
    const double y = b.float_value();
    if (std::isnan(x) || std::isnan(y)) return std::nullopt;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_float()) {
    if (std::isnan(a.float_value())) return std::nullopt;
    return -compare_int_float(b.as_int(), a.float_value());
  }
  if (std::isnan(b.float_value())) return std::nullopt;
  return compare_int_float(a.as_int(), b.float_value());
}

bool same_sequence_class(const Value& a, const Value& b) {
  const bool a_tuple = a.sequence_style() == SequenceStyle::kTuple;
  const bool b_tuple = b.sequence_style() == SequenceStyle::kTuple;
  return a_tuple == b_tuple;
}

bool is_plain_sequence(const Value& v) {
  return v.is_list() && (v.sequence_style() == SequenceStyle::kList ||
                         v.sequence_style() == SequenceStyle::kTuple);
}

[[noreturn]] void throw_unorderable(const char* op, const Value& a, const Value& b) {
  throw_runtime(std::string("'") + op + "' not supported between instances of '" + type_name(a) +
                "' and '" + type_name(b) + "'");
}

}  // namespace

Value Value::none() {
  Value v;
  v.kind_ = ValueKind::kNone;
  return v;
}

Value Value::boolean(bool b) {
  Value v;
  v.kind_ = ValueKind::kBool;
  v.scalar_.b = b;
  return v;
}

Value Value::integer(int64_t i) {
  Value v;
  v.kind_ = ValueKind::kInt;
  v.scalar_.i = i;
  return v;
}

Value Value::floating(double f) {
  Value v;
  v.kind_ = ValueKind::kFloat;
  v.scalar_.f = f;
  return v;
}

Value Value::string(std::string s, bool markup) {
  Value v;
  v.kind_ = ValueKind::kString;
  auto data = std::make_shared<StringData>();
  data->text = std::move(s);
  data->markup = markup;
  v.ptr_ = std::move(data);
  return v;
}

Value Value::list(std::vector<Value> items, SequenceStyle style) {
  auto data = std::make_shared<ListData>();
  uint32_t depth = 1;
  uint64_t elements = 1;
  bool host = false;
  for (const Value& item : items) {
    depth = std::max(depth, item.depth() + 1);
    add_elements(elements, item);
    host = host || item.holds_host_object();
  }
  check_depth(depth);
  data->items = std::move(items);
  data->style = style;
  data->depth = depth;
  data->elements = elements;
  data->holds_host_object = host;
  Value v;
  v.kind_ = ValueKind::kList;
  v.ptr_ = std::move(data);
  return v;
}

Value Value::dict(DictData dict) {
  uint32_t depth = 1;
  uint64_t elements = 1;
  bool host = false;
  for (const auto& [key, value] : dict.entries) {
    depth = std::max({depth, key.depth() + 1, value.depth() + 1});
    add_elements(elements, key);
    add_elements(elements, value);
    host = host || key.holds_host_object() || value.holds_host_object();
  }
  check_depth(depth);
  dict.depth = depth;
  dict.elements = elements;
  dict.holds_host_object = host;
  Value v;
  v.kind_ = ValueKind::kDict;
  v.ptr_ = std::make_shared<DictData>(std::move(dict));
  return v;
}

Value Value::object(std::shared_ptr<Object> obj) {
  Value v;
  v.kind_ = ValueKind::kObject;
  v.ptr_ = std::move(obj);
  return v;
}

Value Value::undefined(std::string hint, bool security) {
  Value v;
  auto data = std::make_shared<UndefinedData>();
  data->hint = std::move(hint);
  data->security = security;
  v.ptr_ = std::move(data);
  return v;
}

double Value::as_double() const {
  if (is_float()) return scalar_.f;
  return static_cast<double>(as_int());
}

const std::string& Value::str() const {
  return static_cast<const StringData*>(ptr_.get())->text;
}

bool Value::is_markup() const {
  return is_string() && static_cast<const StringData*>(ptr_.get())->markup;
}

const ListData& Value::list() const {
  return *static_cast<const ListData*>(ptr_.get());
}

const std::vector<Value>& Value::items() const {
  return list().items;
}

SequenceStyle Value::sequence_style() const {
  return is_list() ? list().style : SequenceStyle::kList;
}

const DictData& Value::dict() const {
  return *static_cast<const DictData*>(ptr_.get());
}

Object& Value::obj() const {
  return *static_cast<Object*>(ptr_.get());
}

const std::string& Value::undefined_hint() const {
  if (!is_undefined() || !ptr_) return empty_string();
  return static_cast<const UndefinedData*>(ptr_.get())->hint;
}

bool Value::undefined_is_security() const {
  return is_undefined() && ptr_ && static_cast<const UndefinedData*>(ptr_.get())->security;
}

uint32_t Value::depth() const {
  switch (kind_) {
    case ValueKind::kList:
      return list().depth;
    case ValueKind::kDict:
      return dict().depth;
    case ValueKind::kObject:
      return 1;
    default:
      return 0;
  }
}

uint64_t Value::elements() const {
  switch (kind_) {
    case ValueKind::kList:
      return list().elements;
    case ValueKind::kDict:
      return dict().elements;
    default:
      return 1;
  }
}

bool Value::holds_host_object() const {
  switch (kind_) {
    case ValueKind::kList:
      return list().holds_host_object;
    case ValueKind::kDict:
      return dict().holds_host_object;
    case ValueKind::kObject:
      return true;
    default:
      return false;
  }
}

const Value* DictData::find(std::string_view key) const {
  const auto it = string_index.find(std::string(key));
  return it == string_index.end() ? nullptr : &entries[it->second].second;
}

const Value* DictData::find(const Value& key) const {
  if (key.is_string()) return find(std::string_view(key.str()));
  for (const auto& [k, v] : entries) {
    if (!k.is_string() && python_equal(k, key)) return &v;
  }
  return nullptr;
}

void DictData::set(Value key, Value value) {
  if (key.is_dict() || (key.is_list() && key.sequence_style() != SequenceStyle::kTuple) ||
      key.is_undefined()) {
    throw_runtime("unhashable type: '" + type_name(key) + "'");
  }
  if (key.is_string()) {
    const auto it = string_index.find(key.str());
    if (it != string_index.end()) {
      entries[it->second].second = std::move(value);
      return;
    }
    string_index.emplace(key.str(), entries.size());
    entries.emplace_back(std::move(key), std::move(value));
    return;
  }
  for (auto& [k, v] : entries) {
    if (!k.is_string() && python_equal(k, key)) {
      v = std::move(value);
      return;
    }
  }
  entries.emplace_back(std::move(key), std::move(value));
}

std::optional<Value> Object::get_attr(Interpreter&, std::string_view) {
  return std::nullopt;
}

Value Object::call(Interpreter&, CallArgs) {
  throw_runtime(cat({"'", type_name(), "' object is not callable"}));
}

bool truthy(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kUndefined:
    case ValueKind::kNone:
      return false;
    case ValueKind::kBool:
      return v.bool_value();
    case ValueKind::kInt:
      return v.int_value() != 0;
    case ValueKind::kFloat:
      return v.float_value() != 0.0;
    case ValueKind::kString:
      return !v.str().empty();
    case ValueKind::kList:
      return v.sequence_style() == SequenceStyle::kGenerator || !v.items().empty();
    case ValueKind::kDict:
      return v.dict().size() != 0;
    case ValueKind::kObject:
      return true;
  }
  return false;
}

bool python_equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    const auto c = compare_numbers(a, b);
    return c && *c == 0;
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case ValueKind::kUndefined:
    case ValueKind::kNone:
      return true;
    case ValueKind::kString:
      return a.str() == b.str();
    case ValueKind::kList: {
      if (!is_plain_sequence(a) || !is_plain_sequence(b)) return a.identity() == b.identity();
      if (!same_sequence_class(a, b)) return false;
      const auto& x = a.items();
      const auto& y = b.items();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!python_equal(x[i], y[i])) return false;
      }
      return true;
    }
    case ValueKind::kDict: {
      const DictData& x = a.dict();
      const DictData& y = b.dict();
      if (x.size() != y.size()) return false;
      for (const auto& [key, value] : x.entries) {
        const Value* other = y.find(key);
        if (!other || !python_equal(value, *other)) return false;
      }
      return true;
    }
    case ValueKind::kObject:
      return a.identity() == b.identity();
    default:
      return false;
  }
}

namespace {

// Compares two sequences the way Python does: first differing element decides, else length.
int compare_sequences(const Value& a, const Value& b, const char* op) {
  if (!same_sequence_class(a, b) || !is_plain_sequence(a) || !is_plain_sequence(b)) {
    throw_unorderable(op, a, b);
  }
  const auto& x = a.items();
  const auto& y = b.items();
  const size_t n = std::min(x.size(), y.size());
  for (size_t i = 0; i < n; ++i) {
    if (!python_equal(x[i], y[i])) return python_compare(x[i], y[i]);
  }
  return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
}

}  // namespace

int python_compare(const Value& a, const Value& b) {
  if (a.is_undefined() || b.is_undefined()) {
    const Value& u = a.is_undefined() ? a : b;
    throw JinjaError(ErrorKind::kUndefined,
                     u.undefined_hint().empty() ? "undefined value" : u.undefined_hint());
  }
  if (a.is_number() && b.is_number()) {
    const auto c = compare_numbers(a, b);
    return c ? *c : 2;  // 2: unordered (NaN); every ordering test is false
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.str().compare(b.str());  // UTF-8 byte order is code point order
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.is_list() && b.is_list()) return compare_sequences(a, b, "<");
  throw_unorderable("<", a, b);
}

std::string type_name(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kUndefined:
      return "Undefined";
    case ValueKind::kNone:
      return "NoneType";
    case ValueKind::kBool:
      return "bool";
    case ValueKind::kInt:
      return "int";
    case ValueKind::kFloat:
      return "float";
    case ValueKind::kString:
      return v.is_markup() ? "Markup" : "str";
    case ValueKind::kList:
      switch (v.sequence_style()) {
        case SequenceStyle::kList:
          return "list";
        case SequenceStyle::kTuple:
          return "tuple";
        case SequenceStyle::kGenerator:
          return "generator";
        case SequenceStyle::kDictKeys:
          return "dict_keys";
        case SequenceStyle::kDictValues:
          return "dict_values";
        case SequenceStyle::kDictItems:
          return "dict_items";
      }
      return "list";
    case ValueKind::kDict:
      return "dict";
    case ValueKind::kObject:
      return v.obj().type_name();
  }
  return "object";
}

std::string object_type_repr(const Value& v) {
  if (v.is_none()) return "None";
  if (v.is_undefined()) return "jinja2.runtime.Undefined object";
  if (v.is_markup()) return "markupsafe.Markup object";
  if (v.is_object()) {
    switch (v.obj().type()) {
      case Object::Type::kNamespace:
        return "jinja2.utils.Namespace object";
      case Object::Type::kLoop:
        return "jinja2.runtime.LoopContext object";
      case Object::Type::kCallable:
        return v.obj().type_name() + " object";
    }
  }
  return type_name(v) + " object";
}

}  // namespace hearth::jinja
