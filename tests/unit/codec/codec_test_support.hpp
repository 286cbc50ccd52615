// Helpers shared by the codec tests: a typed rendering of Values (so a test can tell an
// int 2 from a double 2.0) and a small CBOR writer over libcbor's encoder functions.
#pragma once

#include <cbor.h>
#include <gtest/gtest.h>

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "weir/value.hpp"

namespace weir::codec::test {

// JSON-like text where every number carries its type: ints as i7, doubles as d21.5
// (shortest round-trip form). Object keys keep their order.
inline void append_typed(std::string& out, const Value& v) {
  char buf[32];
  switch (v.type()) {
    case Value::Type::kNull:
      out += "null";
      break;
    case Value::Type::kBool:
      out += v.as_bool() ? "true" : "false";
      break;
    case Value::Type::kInt: {
      out.push_back('i');
      out.append(buf, std::to_chars(buf, buf + sizeof buf, v.as_int()).ptr);
      break;
    }
    case Value::Type::kDouble: {
      out.push_back('d');
      out.append(buf, std::to_chars(buf, buf + sizeof buf, v.as_double()).ptr);
      break;
    }
    case Value::Type::kString:
      append_json_string(out, v.as_string());
      break;
    case Value::Type::kArray:
      out.push_back('[');
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) out.push_back(',');
        append_typed(out, v.at(i));
      }
      out.push_back(']');
      break;
    case Value::Type::kObject:
      out.push_back('{');
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) out.push_back(',');
        append_json_string(out, v.key(i));
        out.push_back(':');
        append_typed(out, v.at(i));
      }
      out.push_back('}');
      break;
  }
}

inline std::string typed(const Value& v) {
  std::string out;
  append_typed(out, v);
  return out;
}

// The readings of one decode, one typed rendering each.
inline std::vector<std::string> typed_all(const std::vector<Value>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) out.push_back(typed(v));
  return out;
}

// Names parameterized cases after their table entry's `name`.
struct CaseName {
  template <typename Case>
  std::string operator()(const ::testing::TestParamInfo<Case>& param_info) const {
    return param_info.param.name;
  }
};

// Bytes from a list of byte values: bytes({0xa1, 0x61, 'a', 0x01}).
inline std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out.push_back(static_cast<char>(b));
  return out;
}

// Appends CBOR items with libcbor's encoder; each call writes one item head (or a whole
// scalar). Lengths are whatever the caller says, so broken input can be written too.
class CborWriter {
 public:
  // Unsigned integers in the shortest form, or in a chosen width (1, 2, 4 or 8 bytes).
  CborWriter& uint(uint64_t v) { return put(cbor_encode_uint(v, buf_, sizeof buf_)); }
  CborWriter& uint_width(uint64_t v, int width) {
    switch (width) {
      case 1:
        return put(cbor_encode_uint8(static_cast<uint8_t>(v), buf_, sizeof buf_));
      case 2:
        return put(cbor_encode_uint16(static_cast<uint16_t>(v), buf_, sizeof buf_));
      case 4:
        return put(cbor_encode_uint32(static_cast<uint32_t>(v), buf_, sizeof buf_));
      default:
        return put(cbor_encode_uint64(v, buf_, sizeof buf_));
    }
  }
  // The negative integer -1 - n.
  CborWriter& negint(uint64_t n) { return put(cbor_encode_negint(n, buf_, sizeof buf_)); }
  CborWriter& negint_width(uint64_t n, int width) {
    switch (width) {
      case 1:
        return put(cbor_encode_negint8(static_cast<uint8_t>(n), buf_, sizeof buf_));
      case 2:
        return put(cbor_encode_negint16(static_cast<uint16_t>(n), buf_, sizeof buf_));
      case 4:
        return put(cbor_encode_negint32(static_cast<uint32_t>(n), buf_, sizeof buf_));
      default:
        return put(cbor_encode_negint64(n, buf_, sizeof buf_));
    }
  }
  // Any int64, as major type 0 or 1.
  CborWriter& integer(int64_t v) {
    return v >= 0 ? uint(static_cast<uint64_t>(v)) : negint(static_cast<uint64_t>(-1 - v));
  }
  CborWriter& text(std::string_view s) {
    put(cbor_encode_string_start(s.size(), buf_, sizeof buf_));
    out_.append(s);
    return *this;
  }
  CborWriter& byte_string(std::string_view s) {
    put(cbor_encode_bytestring_start(s.size(), buf_, sizeof buf_));
    out_.append(s);
    return *this;
  }
  CborWriter& array(size_t n) { return put(cbor_encode_array_start(n, buf_, sizeof buf_)); }
  CborWriter& map(size_t n) { return put(cbor_encode_map_start(n, buf_, sizeof buf_)); }
  CborWriter& indef_array() { return put(cbor_encode_indef_array_start(buf_, sizeof buf_)); }
  CborWriter& indef_map() { return put(cbor_encode_indef_map_start(buf_, sizeof buf_)); }
  CborWriter& indef_text() { return put(cbor_encode_indef_string_start(buf_, sizeof buf_)); }
  CborWriter& indef_bytes() { return put(cbor_encode_indef_bytestring_start(buf_, sizeof buf_)); }
  CborWriter& end() { return put(cbor_encode_break(buf_, sizeof buf_)); }
  CborWriter& tag(uint64_t t) { return put(cbor_encode_tag(t, buf_, sizeof buf_)); }
  CborWriter& half(float f) { return put(cbor_encode_half(f, buf_, sizeof buf_)); }
  CborWriter& single(float f) { return put(cbor_encode_single(f, buf_, sizeof buf_)); }
  CborWriter& dbl(double d) { return put(cbor_encode_double(d, buf_, sizeof buf_)); }
  CborWriter& boolean(bool b) { return put(cbor_encode_bool(b, buf_, sizeof buf_)); }
  CborWriter& null() { return put(cbor_encode_null(buf_, sizeof buf_)); }
  CborWriter& undef() { return put(cbor_encode_undef(buf_, sizeof buf_)); }
  CborWriter& raw(std::string_view s) {
    out_.append(s);
    return *this;
  }

  const std::string& str() const noexcept { return out_; }

 private:
  CborWriter& put(size_t n) {
    out_.append(reinterpret_cast<const char*>(buf_), n);
    return *this;
  }
  unsigned char buf_[16] = {};
  std::string out_;
};

}  // namespace weir::codec::test
