#include "ingest/mqtt/topic_pattern.hpp"

#include <algorithm>

namespace weir::ingest {

std::optional<TopicPattern> TopicPattern::parse(std::string_view pattern, std::string& error) {
  if (pattern.empty()) {
    error = "a topic pattern must not be empty";
    return std::nullopt;
  }
  if (pattern.size() > 65535) {
    error = "a topic pattern is at most 65535 bytes";
    return std::nullopt;
  }
  if (pattern.find('\0') != std::string_view::npos) {
    error = "a topic pattern must not contain NUL";
    return std::nullopt;
  }
  TopicPattern tp;
  tp.pattern_ = std::string(pattern);
  size_t start = 0;
  bool first = true;
  while (true) {
    size_t slash = pattern.find('/', start);
    std::string_view level =
        pattern.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!first) tp.filter_.push_back('/');
    first = false;
    Level lv{Level::Kind::kLiteral, {}, -1};
    if (!level.empty() && (level[0] == '+' || level[0] == '#')) {
      lv.kind = level[0] == '+' ? Level::Kind::kPlus : Level::Kind::kHash;
      std::string_view name = level.substr(1);
      if (!name.empty()) {
        for (char c : name) {
          if (c == '+' || c == '#') {
            error = "level \"" + std::string(level) + "\": a wildcard name must not contain + or #";
            return std::nullopt;
          }
        }
        for (const auto& n : tp.names_) {
          if (n == name) {
            error = "the field name \"" + std::string(name) + "\" is captured twice";
            return std::nullopt;
          }
        }
        lv.capture = static_cast<int>(tp.names_.size());
        tp.names_.emplace_back(name);
      }
      if (lv.kind == Level::Kind::kHash && slash != std::string_view::npos) {
        error = "\"#\" must be the last level of a topic pattern";
        return std::nullopt;
      }
      tp.filter_.push_back(level[0]);
    } else {
      if (level.find_first_of("+#") != std::string_view::npos) {
        error = "level \"" + std::string(level) +
                "\": wildcards + and # must stand alone in a level (or start it, followed by a field name)";
        return std::nullopt;
      }
      lv.text = std::string(level);
      tp.filter_ += level;
    }
    tp.levels_.push_back(std::move(lv));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return tp;
}

bool TopicPattern::match(std::string_view topic, std::vector<std::string_view>& captures) const {
  captures.assign(names_.size(), std::string_view());
  size_t pos = 0;
  // Topics starting with '$' are not matched by leading wildcards (MQTT 4.7.2).
  if (!topic.empty() && topic[0] == '$' && !levels_.empty() &&
      levels_[0].kind != Level::Kind::kLiteral) {
    return false;
  }
  for (size_t i = 0; i < levels_.size(); ++i) {
    const Level& lv = levels_[i];
    if (lv.kind == Level::Kind::kHash) {
      // "#" also matches the parent level itself ("a/#" matches "a").
      if (pos > topic.size()) {
        if (lv.capture >= 0) captures[static_cast<size_t>(lv.capture)] = std::string_view();
        return true;
      }
      if (lv.capture >= 0) captures[static_cast<size_t>(lv.capture)] = topic.substr(pos);
      return true;
    }
    if (pos > topic.size()) return false;
    size_t slash = topic.find('/', pos);
    size_t end = slash == std::string_view::npos ? topic.size() : slash;
    std::string_view level = topic.substr(pos, end - pos);
    if (lv.kind == Level::Kind::kLiteral) {
      if (level != lv.text) return false;
    } else if (lv.capture >= 0) {
      captures[static_cast<size_t>(lv.capture)] = level;
    }
    pos = slash == std::string_view::npos ? topic.size() + 1 : slash + 1;
  }
  return pos == topic.size() + 1;
}

bool TopicPattern::match(std::string_view topic) const {
  std::vector<std::string_view> captures;
  return match(topic, captures);
}

namespace {
std::vector<std::string_view> split_levels(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t slash = s.find('/', start);
    out.push_back(s.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}
bool is_wild(std::string_view level) { return level == "+" || level == "#"; }
}  // namespace

bool filter_covers(std::string_view a, std::string_view b) noexcept {
  auto la = split_levels(a);
  auto lb = split_levels(b);
  // Wildcards in the first level do not match topics starting with '$'.
  if (is_wild(la[0]) && !lb[0].empty() && lb[0][0] == '$') return false;
  for (size_t i = 0; i < la.size(); ++i) {
    if (la[i] == "#") return true;  // covers the rest of b, b's own "#" included
    if (i >= lb.size()) return false;
    if (la[i] == "+") {
      if (lb[i] == "#") return false;
      continue;
    }
    if (la[i] != lb[i]) return false;  // a literal covers only the same literal
  }
  // a ended without "#": it matches only topics of exactly its length.
  return lb.size() == la.size();
}

bool filters_overlap(std::string_view a, std::string_view b) noexcept {
  auto la = split_levels(a);
  auto lb = split_levels(b);
  for (size_t i = 0; i < std::max(la.size(), lb.size()); ++i) {
    bool ea = i >= la.size(), eb = i >= lb.size();
    if (!ea && la[i] == "#") return true;
    if (!eb && lb[i] == "#") return true;
    if (ea || eb) return false;
    if (la[i] == "+" || lb[i] == "+") continue;
    if (la[i] != lb[i]) return false;
  }
  return true;
}

bool is_valid_publish_topic(std::string_view topic) noexcept {
  if (topic.empty() || topic.size() > 65535) return false;
  for (char c : topic) {
    if (c == '+' || c == '#' || c == '\0') return false;
  }
  return true;
}

}  // namespace weir::ingest
