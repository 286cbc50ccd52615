// A $source topic pattern: MQTT wildcards, where "+name" and "#name" also name the
// level(s) they match so they become fields of the reading ("sensors/+device/temp").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weir::ingest {

class TopicPattern {
 public:
  // Parses a pattern; returns nullopt and sets error when it is not a valid filter.
  static std::optional<TopicPattern> parse(std::string_view pattern, std::string& error);

  // The MQTT subscription filter ("sensors/+/temp").
  const std::string& filter() const noexcept { return filter_; }
  const std::string& pattern() const noexcept { return pattern_; }
  // Names captured, in level order.
  const std::vector<std::string>& names() const noexcept { return names_; }

  // Matches a concrete topic. On a match, fills captures (one per name, in order).
  bool match(std::string_view topic, std::vector<std::string_view>& captures) const;
  bool match(std::string_view topic) const;

 private:
  struct Level {
    enum class Kind : uint8_t { kLiteral, kPlus, kHash } kind;
    std::string text;   // literal text
    int capture = -1;   // index into names_, or -1
  };
  std::string pattern_;
  std::string filter_;
  std::vector<std::string> names_;
  std::vector<Level> levels_;
};

// True when every topic that filter b matches is also matched by filter a ("a/#" covers
// "a/+/c" and "a"; "+/x" does not cover "$SYS/x").
bool filter_covers(std::string_view a, std::string_view b) noexcept;
// True when some topic could match both filters.
bool filters_overlap(std::string_view a, std::string_view b) noexcept;

// True when a topic name is valid for PUBLISH (non-empty, no wildcards, no NUL).
bool is_valid_publish_topic(std::string_view topic) noexcept;

}  // namespace weir::ingest
