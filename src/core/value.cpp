#include "weir/value.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace weir {

Value Value::array() {
  Value v;
  v.type_ = Type::kArray;
  v.c_ = std::make_unique<Compound>();
  return v;
}

Value Value::object() {
  Value v;
  v.type_ = Type::kObject;
  v.c_ = std::make_unique<Compound>();
  return v;
}

Value::Value(const Value& other) : type_(other.type_), i_(other.i_), s_(other.s_) {
  if (other.c_) c_ = std::make_unique<Compound>(*other.c_);
}

Value& Value::operator=(const Value& other) {
  if (this != &other) {
    type_ = other.type_;
    i_ = other.i_;
    s_ = other.s_;
    c_ = other.c_ ? std::make_unique<Compound>(*other.c_) : nullptr;
  }
  return *this;
}

Value::~Value() = default;

size_t Value::size() const noexcept { return c_ ? c_->items.size() : 0; }

const Value& Value::at(size_t i) const { return c_->items.at(i); }
Value& Value::at(size_t i) { return c_->items.at(i); }

void Value::push_back(Value v) {
  if (type_ != Type::kArray) throw std::logic_error("Value::push_back on a non-array");
  c_->items.push_back(std::move(v));
}

const std::string& Value::key(size_t i) const { return c_->keys.at(i); }

namespace {
// Key equality for the linear scans below. Objects are small (a reading has a handful of
// fields), so the scan is cheap as long as a mismatch is rejected without a call to
// memcmp: most keys differ in length or in their first byte.
inline bool same_key(const std::string& k, std::string_view key) noexcept {
  return k.size() == key.size() &&
         (key.empty() || (k[0] == key[0] && std::memcmp(k.data(), key.data(), key.size()) == 0));
}
}  // namespace

const Value* Value::find(std::string_view key) const noexcept {
  if (type_ != Type::kObject) return nullptr;
  const auto& keys = c_->keys;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (same_key(keys[i], key)) return &c_->items[i];
  }
  return nullptr;
}

Value* Value::find(std::string_view key) noexcept {
  return const_cast<Value*>(static_cast<const Value*>(this)->find(key));
}

Value& Value::set(std::string_view key, Value v) {
  if (type_ != Type::kObject) throw std::logic_error("Value::set on a non-object");
  if (Value* existing = find(key)) {
    *existing = std::move(v);
    return *existing;
  }
  c_->keys.emplace_back(key);
  c_->items.push_back(std::move(v));
  return c_->items.back();
}

bool Value::erase(std::string_view key) {
  if (type_ != Type::kObject) return false;
  auto& keys = c_->keys;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == key) {
      keys.erase(keys.begin() + static_cast<std::ptrdiff_t>(i));
      c_->items.erase(c_->items.begin() + static_cast<std::ptrdiff_t>(i));
      return true;
    }
  }
  return false;
}

void Value::reserve(size_t n) {
  if (!c_) return;
  c_->items.reserve(n);
  if (type_ == Type::kObject) c_->keys.reserve(n);
}

const Value* Value::lookup(const FieldPath& path) const noexcept {
  const Value* cur = this;
  for (const auto& part : path.parts()) {
    cur = cur->find(part);
    if (cur == nullptr) return nullptr;
  }
  return cur;
}

void Value::assign(const FieldPath& path, Value v) {
  const auto& parts = path.parts();
  if (parts.empty()) return;
  Value* cur = this;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    Value* next = cur->find(parts[i]);
    if (next == nullptr || !next->is_object()) next = &cur->set(parts[i], Value::object());
    cur = next;
  }
  cur->set(parts.back(), std::move(v));
}

bool Value::remove(const FieldPath& path) {
  const auto& parts = path.parts();
  if (parts.empty()) return false;
  Value* cur = this;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    cur = cur->find(parts[i]);
    if (cur == nullptr) return false;
  }
  return cur->erase(parts.back());
}

std::string_view Value::type_name() const noexcept {
  switch (type_) {
    case Type::kNull: return "null";
    case Type::kBool: return "boolean";
    case Type::kInt: return "integer";
    case Type::kDouble: return "number";
    case Type::kString: return "string";
    case Type::kArray: return "array";
    case Type::kObject: return "object";
  }
  return "unknown";
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  // Runs of characters that need no escape (nearly all of them) are appended at once.
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xF]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void append_json_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, d);
  out.append(buf, res.ptr);
}

void Value::append_json(std::string& out) const {
  switch (type_) {
    case Type::kNull: out += "null"; break;
    case Type::kBool: out += i_ != 0 ? "true" : "false"; break;
    case Type::kInt: {
      char buf[24];
      auto res = std::to_chars(buf, buf + sizeof buf, i_);
      out.append(buf, res.ptr);
      break;
    }
    case Type::kDouble: append_json_double(out, as_double()); break;
    case Type::kString: append_json_string(out, s_); break;
    case Type::kArray:
      out.push_back('[');
      for (size_t i = 0; i < c_->items.size(); ++i) {
        if (i) out.push_back(',');
        c_->items[i].append_json(out);
      }
      out.push_back(']');
      break;
    case Type::kObject:
      out.push_back('{');
      for (size_t i = 0; i < c_->items.size(); ++i) {
        if (i) out.push_back(',');
        append_json_string(out, c_->keys[i]);
        out.push_back(':');
        c_->items[i].append_json(out);
      }
      out.push_back('}');
      break;
  }
}

std::string Value::to_json() const {
  std::string out;
  append_json(out);
  return out;
}

int type_rank(const Value& v) noexcept {
  switch (v.type()) {
    case Value::Type::kNull: return 1;
    case Value::Type::kInt:
    case Value::Type::kDouble: return 2;
    case Value::Type::kString: return 3;
    case Value::Type::kObject: return 4;
    case Value::Type::kArray: return 5;
    case Value::Type::kBool: return 6;
  }
  return 0;
}

namespace {
int compare_numbers(const Value& a, const Value& b) noexcept {
  if (a.is_int() && b.is_int()) {
    return a.as_int() < b.as_int() ? -1 : (a.as_int() > b.as_int() ? 1 : 0);
  }
  double x = a.as_double();
  double y = b.as_double();
  // NaN sorts before every other number, as in MongoDB.
  if (std::isnan(x) || std::isnan(y)) return std::isnan(x) ? (std::isnan(y) ? 0 : -1) : 1;
  return x < y ? -1 : (x > y ? 1 : 0);
}
}  // namespace

int compare(const Value& a, const Value& b) noexcept {
  int ra = type_rank(a);
  int rb = type_rank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  switch (a.type()) {
    case Value::Type::kNull: return 0;
    case Value::Type::kInt:
    case Value::Type::kDouble: return compare_numbers(a, b);
    case Value::Type::kString: {
      int c = a.as_string().compare(b.as_string());
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    case Value::Type::kBool: return a.as_bool() == b.as_bool() ? 0 : (a.as_bool() ? 1 : -1);
    case Value::Type::kArray: {
      size_t n = std::min(a.size(), b.size());
      for (size_t i = 0; i < n; ++i) {
        int c = compare(a.at(i), b.at(i));
        if (c != 0) return c;
      }
      return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
    }
    case Value::Type::kObject: {
      size_t n = std::min(a.size(), b.size());
      for (size_t i = 0; i < n; ++i) {
        int c = a.key(i).compare(b.key(i));
        if (c != 0) return c < 0 ? -1 : 1;
        c = compare(a.at(i), b.at(i));
        if (c != 0) return c;
      }
      return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
    }
  }
  return 0;
}

FieldPath::FieldPath(std::string_view dotted) : dotted_(dotted) {
  size_t start = 0;
  while (start <= dotted.size()) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string_view::npos) dot = dotted.size();
    parts_.emplace_back(dotted.substr(start, dot - start));
    start = dot + 1;
  }
}

}  // namespace weir
