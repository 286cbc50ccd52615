#include "weir/component.hpp"

namespace weir {

std::string_view option_type_name(OptionType t) noexcept {
  switch (t) {
    case OptionType::kString: return "string";
    case OptionType::kInteger: return "integer";
    case OptionType::kNumber: return "number";
    case OptionType::kBoolean: return "boolean";
    case OptionType::kObject: return "object";
    case OptionType::kArray: return "array";
    case OptionType::kDuration: return "duration {size, unit}";
    case OptionType::kExpression: return "expression";
    case OptionType::kAny: return "any";
  }
  return "unknown";
}

}  // namespace weir
