#pragma once

#include <stdexcept>
#include <string>

namespace weir::config {

// A configuration error: where (JSON pointer into the file) and what was expected.
// Thrown only while a config is loaded and pipelines are built, never on the data path.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string path, std::string message)
      : std::runtime_error(path.empty() ? message : path + ": " + message),
        path_(std::move(path)), message_(std::move(message)) {}
  const std::string& path() const noexcept { return path_; }
  const std::string& message() const noexcept { return message_; }

 private:
  std::string path_;
  std::string message_;
};

}  // namespace weir::config
