// The small interface through which stages save and restore their state; the state
// store (src/state) implements it, stages know nothing of how it is stored.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "weir/value.hpp"

namespace weir {

class StateWriter {
 public:
  virtual ~StateWriter() = default;
  // Saves (or replaces) one entry of the stage's state under key.
  virtual void put(std::string_view key, const Value& value) = 0;
  // Removes an entry that no longer exists (a closed window).
  virtual void erase(std::string_view key) = 0;
};

class StateReader {
 public:
  virtual ~StateReader() = default;
  // Visits every saved entry of the stage, in key order.
  virtual void for_each(
      const std::function<void(std::string_view key, const Value& value)>& visit) const = 0;
};

}  // namespace weir
