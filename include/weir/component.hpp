// Components (stages, codecs, sinks) describe themselves: name, description and a
// table of options. `weir check` validates configs against it and `weir stages` prints it.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace weir {

enum class OptionType : uint8_t {
  kString, kInteger, kNumber, kBoolean, kObject, kArray, kDuration, kExpression, kAny
};

struct OptionSpec {
  std::string_view name;
  OptionType type;
  bool required;
  std::string_view default_value;  // as text, "" when none
  std::string_view description;
};

struct ComponentInfo {
  std::string_view name;
  std::string_view description;
  std::span<const OptionSpec> options;
};

std::string_view option_type_name(OptionType t) noexcept;

}  // namespace weir
