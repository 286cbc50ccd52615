#include "pipeline/window/window_state.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "pipeline/window/window_options.hpp"

namespace weir::pipeline {

namespace {

// Nesting deeper than this is not something save_value wrote (the parser's own limit is
// far above; this keeps the recursion short on garbage).
constexpr int kMaxDepth = 256;

// True when the JSON parser reads d's text back as the same double: it must be finite and
// print with a fraction or an exponent (else it reads back as an integer).
bool plain_double(double d) noexcept {
  if (!std::isfinite(d)) return false;
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, d);
  for (const char* p = buf; p != res.ptr; ++p) {
    if (*p == '.' || *p == 'e') return true;
  }
  return false;
}

// UTF-8 as RFC 3629 has it (what the store's JSON parser accepts).
bool valid_utf8(std::string_view s) noexcept {
  size_t i = 0;
  const size_t n = s.size();
  auto cont = [&](size_t at, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    if (at >= n) return false;
    const auto c = static_cast<unsigned char>(s[at]);
    return c >= lo && c <= hi;
  };
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
    } else if (c >= 0xC2 && c <= 0xDF) {
      if (!cont(i + 1)) return false;
      i += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      const unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
      const unsigned char hi = c == 0xED ? 0x9F : 0xBF;
      if (!cont(i + 1, lo, hi) || !cont(i + 2)) return false;
      i += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      const unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
      const unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
      if (!cont(i + 1, lo, hi) || !cont(i + 2) || !cont(i + 3)) return false;
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

Value save_string(const std::string& s) {
  if (valid_utf8(s)) return Value(s);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 0xF]);
  }
  Value tagged = Value::object();
  tagged.set("b", Value(std::move(hex)));
  return tagged;
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool load_string(const Value& saved, std::string& out) {
  if (saved.is_string()) {
    out = saved.as_string();
    return true;
  }
  const Value* hex = saved.is_object() && saved.size() == 1 ? saved.find("b") : nullptr;
  if (hex == nullptr || !hex->is_string() || hex->as_string().size() % 2 != 0) return false;
  const std::string& h = hex->as_string();
  out.clear();
  out.reserve(h.size() / 2);
  for (size_t i = 0; i < h.size(); i += 2) {
    const int hi = hex_digit(h[i]);
    const int lo = hex_digit(h[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

bool load_value_at(const Value& saved, Value& out, int depth) {
  if (depth > kMaxDepth) return false;
  switch (saved.type()) {
    case Value::Type::kNull:
    case Value::Type::kBool:
    case Value::Type::kInt:
    case Value::Type::kDouble:
    case Value::Type::kString:
      out = saved;
      return true;
    case Value::Type::kArray: {
      out = Value::array();
      out.reserve(saved.size());
      for (size_t i = 0; i < saved.size(); ++i) {
        Value item;
        if (!load_value_at(saved.at(i), item, depth + 1)) return false;
        out.push_back(std::move(item));
      }
      return true;
    }
    case Value::Type::kObject: {
      if (saved.size() != 1) return false;
      const std::string& tag = saved.key(0);
      const Value& body = saved.at(0);
      if (tag == "d") {
        if (!body.is_int()) return false;
        out = Value(std::bit_cast<double>(body.as_int()));
        return true;
      }
      if (tag == "b") {
        std::string s;
        if (!load_string(saved, s)) return false;
        out = Value(std::move(s));
        return true;
      }
      if (tag != "o" || !body.is_array() || body.size() % 2 != 0) return false;
      out = Value::object();
      out.reserve(body.size() / 2);
      std::string key;
      for (size_t i = 0; i < body.size(); i += 2) {
        Value member;
        if (!load_string(body.at(i), key) || !load_value_at(body.at(i + 1), member, depth + 1)) {
          return false;
        }
        if (out.find(key) != nullptr) return false;  // save_value never writes a key twice
        out.set(key, std::move(member));
      }
      return true;
    }
  }
  return false;
}

}  // namespace

Value save_double(double d) {
  if (plain_double(d)) return Value(d);
  return Value(std::bit_cast<int64_t>(d));
}

bool load_double(const Value& saved, double& out) noexcept {
  if (saved.is_double()) {
    out = saved.as_double();
    return true;
  }
  if (saved.is_int()) {
    out = std::bit_cast<double>(saved.as_int());
    return true;
  }
  return false;
}

Value save_value(const Value& v) {
  switch (v.type()) {
    case Value::Type::kDouble: {
      if (plain_double(v.as_double())) return v;
      Value tagged = Value::object();
      tagged.set("d", Value(std::bit_cast<int64_t>(v.as_double())));
      return tagged;
    }
    case Value::Type::kString:
      return save_string(v.as_string());
    case Value::Type::kArray: {
      Value out = Value::array();
      out.reserve(v.size());
      for (size_t i = 0; i < v.size(); ++i) out.push_back(save_value(v.at(i)));
      return out;
    }
    case Value::Type::kObject: {
      Value members = Value::array();
      members.reserve(2 * v.size());
      for (size_t i = 0; i < v.size(); ++i) {
        members.push_back(save_string(v.key(i)));
        members.push_back(save_value(v.at(i)));
      }
      Value tagged = Value::object();
      tagged.set("o", std::move(members));
      return tagged;
    }
    default:
      return v;
  }
}

bool load_value(const Value& saved, Value& out) { return load_value_at(saved, out, 0); }

bool load_time(const Value& saved, TimeMs& out) noexcept {
  return load_int(saved, kMinTime, kMaxTime, out);
}

bool load_int(const Value& saved, int64_t lo, int64_t hi, int64_t& out) noexcept {
  if (!saved.is_int() || saved.as_int() < lo || saved.as_int() > hi) return false;
  out = saved.as_int();
  return true;
}

Value save_clock(const WindowClock& c) {
  Value v = Value::array();
  v.reserve(3);
  v.push_back(Value(c.max_event_time));
  v.push_back(Value(c.watermark));
  v.push_back(Value(c.last_input));
  return v;
}

bool load_clock(const Value& saved, WindowClock& out) noexcept {
  WindowClock c;
  if (!saved.is_array() || saved.size() != 3 || !load_time(saved.at(0), c.max_event_time) ||
      !load_time(saved.at(1), c.watermark) || !load_time(saved.at(2), c.last_input)) {
    return false;
  }
  out = c;
  return true;
}


std::string output_id(std::string_view pipeline, std::string_view id_json,
                      std::string_view partition, TimeMs start, TimeMs end, int64_t revision) {
  char num[24];
  auto field = [&](uint64_t h, int64_t n) {
    auto res = std::to_chars(num, num + sizeof num, n);
    return fnv1a(h, std::string_view(num, static_cast<size_t>(res.ptr - num)));
  };
  uint64_t h = kFnvOffset;
  h = fnv1a(h, pipeline);
  h = fnv1a(h, id_json);
  h = fnv1a(h, partition);
  h = field(h, start);
  h = field(h, end);
  h = field(h, revision);
  return hex16(h);
}

}  // namespace weir::pipeline
