// Every decoder on arbitrary bytes: must return kOk or kMalformed (with a reason and `out`
// untouched), never crash, hang or leak. The first byte picks the format.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "codec/codec_registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::vector<std::unique_ptr<weir::Codec>> codecs = [] {
    std::vector<std::unique_ptr<weir::Codec>> v;
    for (auto format : weir::codec::codec_formats()) v.push_back(weir::codec::make_codec(format, {}));
    return v;
  }();
  if (size == 0) return 0;
  auto& codec = codecs[data[0] % codecs.size()];
  std::string_view payload(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<weir::Value> out;
  out.emplace_back("sentinel");
  std::string error;
  auto r = codec->decode(payload, weir::DecodeContext{1767225600000}, out, error);
  if (r == weir::DecodeResult::kMalformed && (error.empty() || out.size() != 1)) std::abort();
  for (const auto& v : out) (void)v.to_json();
  return 0;
}
