// The config loader and pipeline builder on arbitrary text: a config is either accepted or
// rejected with a ConfigError that names a path; nothing else may escape.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "engine/engine.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    auto cfg = weir::config::Config::parse(text, "fuzz.json");
    weir::ManualClock clock;
    weir::engine::Engine engine(cfg, clock);
  } catch (const weir::config::ConfigError&) {
  }
  return 0;
}
