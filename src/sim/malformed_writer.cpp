#include "sim/malformed_writer.hpp"

#include <array>
#include <nlohmann/json.hpp>

namespace weir::sim {
namespace {

constexpr size_t kGarbageSize = 16;
constexpr std::string_view kBadTs = "not-a-time";
constexpr std::string_view kNotObject = "[1,2,3]";

// Bytes that never occur in UTF-8 (nor start a valid CBOR data item of this size).
constexpr std::array<unsigned char, 13> kNonUtf8Bytes{0xC0, 0xC1, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9,
                                                      0xFA, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF};

MalformedKind following(MalformedKind kind) {
  switch (kind) {
    case MalformedKind::kTruncated:
      return MalformedKind::kGarbage;
    case MalformedKind::kGarbage:
      return MalformedKind::kMissingTs;
    case MalformedKind::kMissingTs:
      return MalformedKind::kBadTs;
    case MalformedKind::kBadTs:
      return MalformedKind::kNotObject;
    case MalformedKind::kNotObject:
      return MalformedKind::kTruncated;
  }
  return MalformedKind::kTruncated;
}

// A reading as a JSON object with `ts` replaced (or left out when null).
std::string json_with_ts(const Reading& r, const nlohmann::json& ts) {
  nlohmann::ordered_json object;
  if (!ts.is_null()) object["ts"] = ts;
  object["temp"] = r.temp;
  object["hum"] = r.hum;
  object["seq"] = r.seq;
  return object.dump();
}

}  // namespace

std::string_view to_string(MalformedKind kind) {
  switch (kind) {
    case MalformedKind::kTruncated:
      return "truncated";
    case MalformedKind::kGarbage:
      return "garbage";
    case MalformedKind::kMissingTs:
      return "missing_ts";
    case MalformedKind::kBadTs:
      return "bad_ts";
    case MalformedKind::kNotObject:
      return "not_object";
  }
  return "unknown";
}

void MalformedWriter::write(const Reading& reading, std::string& out) {
  out.clear();
  switch (next_kind_) {
    case MalformedKind::kTruncated: {
      write_json_reading(reading, out);
      out.resize(out.size() / 2);
      break;
    }
    case MalformedKind::kGarbage: {
      // Starts with a byte-order mark the wrong way round, then random invalid bytes.
      out.push_back(static_cast<char>(0xFF));
      out.push_back(static_cast<char>(0xFE));
      std::uniform_int_distribution<size_t> pick(0, kNonUtf8Bytes.size() - 1);
      while (out.size() < kGarbageSize) out.push_back(static_cast<char>(kNonUtf8Bytes[pick(rng_)]));
      break;
    }
    case MalformedKind::kMissingTs:
      out = json_with_ts(reading, nullptr);
      break;
    case MalformedKind::kBadTs:
      out = json_with_ts(reading, kBadTs);
      break;
    case MalformedKind::kNotObject:
      out = kNotObject;
      break;
  }
  next_kind_ = following(next_kind_);
}

}  // namespace weir::sim
