// weir::Value: the document model of a reading (JSON-like, insertion-ordered objects).
#pragma once

#include <bit>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weir {

class FieldPath;

class Value {
 public:
  enum class Type : uint8_t { kNull, kBool, kInt, kDouble, kString, kArray, kObject };

  Value() noexcept : type_(Type::kNull), i_(0) {}
  Value(std::nullptr_t) noexcept : Value() {}  // NOLINT(google-explicit-constructor)
  Value(bool b) noexcept : type_(Type::kBool), i_(b ? 1 : 0) {}  // NOLINT
  Value(int i) noexcept : type_(Type::kInt), i_(i) {}  // NOLINT
  Value(int64_t i) noexcept : type_(Type::kInt), i_(i) {}  // NOLINT
  Value(double d) noexcept : type_(Type::kDouble), i_(std::bit_cast<int64_t>(d)) {}  // NOLINT
  Value(std::string s) noexcept : type_(Type::kString), i_(0), s_(std::move(s)) {}  // NOLINT
  Value(std::string_view s) : type_(Type::kString), i_(0), s_(s) {}  // NOLINT
  Value(const char* s) : type_(Type::kString), i_(0), s_(s) {}  // NOLINT

  static Value array();
  static Value object();

  Value(const Value& other);
  // A moved-from Value is null.
  Value(Value&& other) noexcept
      : type_(other.type_), i_(other.i_), s_(std::move(other.s_)), c_(std::move(other.c_)) {
    other.type_ = Type::kNull;
  }
  Value& operator=(const Value& other);
  Value& operator=(Value&& other) noexcept {
    if (this != &other) {
      type_ = other.type_;
      i_ = other.i_;
      s_ = std::move(other.s_);
      c_ = std::move(other.c_);
      other.type_ = Type::kNull;
    }
    return *this;
  }
  ~Value();

  Type type() const noexcept { return type_; }
  bool is_null() const noexcept { return type_ == Type::kNull; }
  bool is_bool() const noexcept { return type_ == Type::kBool; }
  bool is_int() const noexcept { return type_ == Type::kInt; }
  bool is_double() const noexcept { return type_ == Type::kDouble; }
  bool is_number() const noexcept { return type_ == Type::kInt || type_ == Type::kDouble; }
  bool is_string() const noexcept { return type_ == Type::kString; }
  bool is_array() const noexcept { return type_ == Type::kArray; }
  bool is_object() const noexcept { return type_ == Type::kObject; }

  bool as_bool() const noexcept { return i_ != 0; }
  int64_t as_int() const noexcept { return i_; }
  // Any number as a double (ints converted); 0 for non-numbers.
  double as_double() const noexcept {
    return type_ == Type::kInt ? static_cast<double>(i_)
                               : (type_ == Type::kDouble ? std::bit_cast<double>(i_) : 0.0);
  }
  const std::string& as_string() const noexcept { return s_; }

  // Arrays and objects. size() is 0 for scalars.
  size_t size() const noexcept;
  // Array element or object member value by position.
  const Value& at(size_t i) const;
  Value& at(size_t i);
  void push_back(Value v);  // arrays only
  // Object members, in insertion order.
  const std::string& key(size_t i) const;
  const Value* find(std::string_view key) const noexcept;
  Value* find(std::string_view key) noexcept;
  // Replaces an existing member or appends a new one; returns the stored value.
  Value& set(std::string_view key, Value v);
  bool erase(std::string_view key);
  void reserve(size_t n);

  // Nested access through a dotted path ("a.b.c"). lookup returns nullptr when any
  // level is missing or not an object; assign creates missing objects on the way.
  const Value* lookup(const FieldPath& path) const noexcept;
  void assign(const FieldPath& path, Value v);
  bool remove(const FieldPath& path);

  // Compact JSON. Non-finite doubles are written as null.
  std::string to_json() const;
  void append_json(std::string& out) const;

  // A short name of the type, for error messages ("number", "string", ...).
  std::string_view type_name() const noexcept;

 private:
  struct Compound;
  Type type_;
  int64_t i_;  // the scalar: the integer, the bits of the double (bit_cast), or 0/1 for bool
  std::string s_;
  std::unique_ptr<Compound> c_;
};

// Arrays keep their elements in items; objects keep parallel keys and items.
struct Value::Compound {
  std::vector<std::string> keys;
  std::vector<Value> items;
};

// Total order as in MongoDB's comparison of BSON values: null < numbers < strings <
// objects < arrays < booleans; numbers compare by value across int and double.
int compare(const Value& a, const Value& b) noexcept;
inline bool operator==(const Value& a, const Value& b) noexcept { return compare(a, b) == 0; }
// Type rank used by compare (the MongoDB "canonical type" bracket).
int type_rank(const Value& v) noexcept;

// A field path compiled once: "a.b.c" -> {"a", "b", "c"}.
class FieldPath {
 public:
  FieldPath() = default;
  explicit FieldPath(std::string_view dotted);
  const std::vector<std::string>& parts() const noexcept { return parts_; }
  const std::string& str() const noexcept { return dotted_; }
  bool empty() const noexcept { return parts_.empty(); }

 private:
  std::string dotted_;
  std::vector<std::string> parts_;
};

// Appends a JSON string literal (quoted, escaped) to out.
void append_json_string(std::string& out, std::string_view s);
// Appends the shortest round-trip form of d (integral doubles keep a ".0" off: 3 -> "3").
void append_json_double(std::string& out, double d);

}  // namespace weir
