// The Jinja value model, mirroring the Python objects jinja2 templates see: None, bool, int,
// float, str (optionally Markup), list/tuple (and the lazy sequences filters return), dict with
// insertion order, host objects (namespace, loop context, macros, bound methods) and Undefined.
//
// Values are cheap to copy: strings and containers are immutable and shared. The only mutable
// object is a namespace; the sandbox never lets a namespace hold another namespace, a macro or a
// loop, so values can never form reference cycles, and container nesting is capped at
// kMaxValueDepth so recursive walks (printing, JSON, comparison, destruction) stay shallow.
// Sharing makes a value a DAG whose walks visit every path: [x, x] built 50 times over is 2^50
// elements to print or compare from 50 small lists. So a container's elements counted with
// repeats are capped too (kMaxValueElements), which bounds every walk by its size.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hearth::jinja {

inline constexpr uint32_t kMaxValueDepth = 200;
inline constexpr uint64_t kMaxValueElements = uint64_t{1} << 22;

enum class ValueKind : uint8_t {
  kUndefined,
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kList,
  kDict,
  kObject,
};

// How a sequence prints and behaves where Python types differ (tuple != list, a generator has
// no len() and is always true, dict views are not JSON-serializable).
enum class SequenceStyle : uint8_t {
  kList,
  kTuple,
  kGenerator,
  kDictKeys,
  kDictValues,
  kDictItems
};

class Value;
class Object;
struct ListData;
struct DictData;

class Value {
 public:
  Value() = default;  // Undefined without a hint

  static Value none();
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value floating(double f);
  static Value string(std::string s, bool markup = false);
  static Value list(std::vector<Value> items, SequenceStyle style = SequenceStyle::kList);
  static Value dict(DictData dict);
  static Value object(std::shared_ptr<Object> obj);
  // `hint` is the error raised when the undefined value is used ("'x' is undefined").
  static Value undefined(std::string hint, bool security = false);

  ValueKind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == ValueKind::kUndefined; }
  bool is_none() const { return kind_ == ValueKind::kNone; }
  bool is_bool() const { return kind_ == ValueKind::kBool; }
  bool is_int() const { return kind_ == ValueKind::kInt; }
  bool is_float() const { return kind_ == ValueKind::kFloat; }
  // int, float or bool (Python's numbers.Number).
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return kind_ == ValueKind::kString; }
  bool is_list() const { return kind_ == ValueKind::kList; }
  bool is_dict() const { return kind_ == ValueKind::kDict; }
  bool is_object() const { return kind_ == ValueKind::kObject; }

  bool bool_value() const { return scalar_.b; }
  int64_t int_value() const { return scalar_.i; }
  double float_value() const { return scalar_.f; }
  // Numeric value of an int, bool or float.
  double as_double() const;
  // Integer value of an int or bool.
  int64_t as_int() const { return is_bool() ? (scalar_.b ? 1 : 0) : scalar_.i; }
  const std::string& str() const;
  bool is_markup() const;
  const ListData& list() const;
  const std::vector<Value>& items() const;
  SequenceStyle sequence_style() const;
  const DictData& dict() const;
  Object& obj() const;
  const std::string& undefined_hint() const;
  bool undefined_is_security() const;
  // Nesting depth: 0 for scalars, 1 + deepest element for containers.
  uint32_t depth() const;
  // Elements a walk visits, repeats of shared containers included: 1 for scalars, 1 + the
  // elements' (keys' and values') for containers.
  uint64_t elements() const;
  // True when this value is or contains a namespace, macro or loop (see the header comment).
  bool holds_host_object() const;
  // Identity of the shared payload, for `is sameas` on containers and objects.
  const void* identity() const { return ptr_.get(); }

 private:
  ValueKind kind_ = ValueKind::kUndefined;
  union Scalar {
    bool b;
    int64_t i;
    double f;
  } scalar_{};
  std::shared_ptr<void> ptr_;  // StringData, ListData, DictData, Object or UndefinedData
};

struct ListData {
  std::vector<Value> items;
  SequenceStyle style = SequenceStyle::kList;
  uint32_t depth = 1;
  uint64_t elements = 1;
  bool holds_host_object = false;
};

// A dict preserving insertion order; keys compare like Python (1 == 1.0 == True).
struct DictData {
  std::vector<std::pair<Value, Value>> entries;
  std::unordered_map<std::string, size_t> string_index;  // string keys -> entries index
  uint32_t depth = 1;
  uint64_t elements = 1;
  bool holds_host_object = false;

  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
  // Inserts or overwrites (keeping the first position, as Python does).
  void set(Value key, Value value);
  size_t size() const { return entries.size(); }
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keywords;
};

class Interpreter;

// Host objects: namespace, loop context, macros, builtin functions and bound methods.
class Object {
 public:
  enum class Type : uint8_t { kNamespace, kLoop, kCallable };
  virtual ~Object() = default;
  virtual Type type() const = 0;
  // Python's type name, for error messages ("Namespace", "Macro", "builtin_function_or_method").
  virtual std::string type_name() const = 0;
  virtual std::string repr() const = 0;
  // Attribute lookup; nullopt when the object has no such attribute.
  virtual std::optional<Value> get_attr(Interpreter& interp, std::string_view name);
  virtual Value call(Interpreter& interp, CallArgs args);
};

// Python truthiness.
bool truthy(const Value& v);
// Python `==`.
bool python_equal(const Value& a, const Value& b);
// Python `<`-based three-way comparison; throws a runtime error when the types do not order.
int python_compare(const Value& a, const Value& b);
// Python's type(x).__name__.
std::string type_name(const Value& v);
// jinja2's object_type_repr: "None", "dict object", "str object", ...
std::string object_type_repr(const Value& v);

}  // namespace hearth::jinja
