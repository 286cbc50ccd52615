#include "codec/text/text_codec.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <system_error>

namespace weir::codec {

namespace {

constexpr size_t kQuotedChars = 32;

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Parses the whole of s as a decimal number; false when anything is left over.
bool parse_number(std::string_view s, Value& out) {
  const bool plus = !s.empty() && s.front() == '+';
  if (plus) s.remove_prefix(1);  // from_chars takes no '+'
  // A digit or '.' must follow the sign: this keeps out "nan", "inf" and "infinity",
  // which from_chars would accept.
  const size_t first = (!plus && !s.empty() && s.front() == '-') ? 1 : 0;
  if (s.size() <= first || !(is_digit(s[first]) || s[first] == '.')) return false;
  const char* begin = s.data();
  const char* end = s.data() + s.size();

  int64_t i = 0;
  auto int_res = std::from_chars(begin, end, i);
  if (int_res.ec == std::errc() && int_res.ptr == end) {
    out = Value(i);
    return true;
  }
  double d = 0;
  auto dbl_res = std::from_chars(begin, end, d, std::chars_format::general);
  if (dbl_res.ec != std::errc() || dbl_res.ptr != end || !std::isfinite(d)) return false;
  out = Value(d);
  return true;
}

void quote_payload(std::string_view payload, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char ch : payload.substr(0, kQuotedChars)) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c >= 0x7F) {
          out += "\\x";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
  if (payload.size() > kQuotedChars) out += "...";
}

}  // namespace

TextCodec::TextCodec(const CodecOptions& opts) : value_field_(opts.value_field) {}

DecodeResult TextCodec::decode(std::string_view payload, const DecodeContext& /*ctx*/,
                               std::vector<Value>& out, std::string& error) {
  Value number;
  if (!parse_number(trim(payload), number)) {
    error = "expected a plain number, got ";
    quote_payload(payload, error);
    return DecodeResult::kMalformed;
  }
  Value reading = Value::object();
  reading.set(value_field_, std::move(number));
  out.push_back(std::move(reading));
  return DecodeResult::kOk;
}

}  // namespace weir::codec
