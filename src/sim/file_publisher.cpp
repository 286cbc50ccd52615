#include "sim/file_publisher.hpp"

#include <cerrno>
#include <cstring>
#include <utility>

namespace weir::sim {
namespace {

constexpr size_t kFileBuffer = 1 << 20;

// Topics come from the template and device ids (checked by the options), but escape
// anyway so the line is JSON whatever the template holds.
void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      out += "\\u00";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

}  // namespace

void append_base64(std::string& out, std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16) |
                       (static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                       static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest == 0) return;
  uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
  if (rest == 2) v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
  out.push_back(kAlphabet[(v >> 18) & 63]);
  out.push_back(kAlphabet[(v >> 12) & 63]);
  out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
  out.push_back('=');
}

FilePublisher::FilePublisher(std::string path) : path_(std::move(path)) {}

FilePublisher::~FilePublisher() { (void)disconnect(); }

PublishResult FilePublisher::fail(std::string message) {
  last_error_ = std::move(message);
  return PublishResult::kFailed;
}

PublishResult FilePublisher::connect() {
  if (path_ == "-") {
    file_ = stdout;
  } else {
    file_ = std::fopen(path_.c_str(), "wb");
    if (file_ == nullptr) {
      return fail("cannot create '" + path_ + "': " + std::strerror(errno));
    }
  }
  std::setvbuf(file_, nullptr, _IOFBF, kFileBuffer);
  return PublishResult::kOk;
}

PublishResult FilePublisher::publish(const std::string& topic, std::string_view payload,
                                     PayloadKind kind) {
  line_.assign("{\"topic\":");
  append_json_string(line_, topic);
  line_ += ",\"time\":";
  line_ += std::to_string(time_ms_);
  if (kind == PayloadKind::kJson) {
    line_ += ",\"payload\":";
    line_.append(payload);
  } else {
    line_ += ",\"encoding\":\"base64\",\"payload\":\"";
    append_base64(line_, payload);
    line_.push_back('"');
  }
  line_ += "}\n";
  if (std::fwrite(line_.data(), 1, line_.size(), file_) != line_.size()) {
    return fail("writing '" + path_ + "' failed: " + std::strerror(errno));
  }
  return PublishResult::kOk;
}

PublishResult FilePublisher::drain() {
  if (file_ != nullptr && std::fflush(file_) != 0) {
    return fail("writing '" + path_ + "' failed: " + std::strerror(errno));
  }
  return PublishResult::kOk;
}

PublishResult FilePublisher::disconnect() {
  if (file_ == nullptr) return PublishResult::kOk;
  std::FILE* f = std::exchange(file_, nullptr);
  const bool ok = f == stdout ? std::fflush(f) == 0 : std::fclose(f) == 0;
  return ok ? PublishResult::kOk : fail("closing '" + path_ + "' failed: " + std::strerror(errno));
}

}  // namespace weir::sim
