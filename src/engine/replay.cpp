#include "engine/replay.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <iostream>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/base64.hpp"
#include "engine/engine.hpp"
#include "sink/ndjson/ndjson_sink.hpp"

namespace weir::engine {

namespace {

constexpr TimeMs kMinReplayTime = -62135596800000LL;  // 0001-01-01
constexpr TimeMs kMaxReplayTime = 253402300799999LL;  // 9999-12-31

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Splits one CSV line (RFC 4180 quoting).
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(std::move(cur));
      cur.clear();
    } else if (c != '\r') {
      cur.push_back(c);
    }
  }
  out.push_back(std::move(cur));
  return out;
}

// A CSV cell as a JSON value: integers and numbers as numbers, the rest as strings.
void append_cell(std::string& out, const std::string& cell) {
  if (!cell.empty()) {
    int64_t i;
    auto r = std::from_chars(cell.data(), cell.data() + cell.size(), i);
    if (r.ec == std::errc() && r.ptr == cell.data() + cell.size()) {
      out += std::to_string(i);  // "007" is 7: JSON has no leading zeros
      return;
    }
    double d;
    auto rd = std::from_chars(cell.data(), cell.data() + cell.size(), d);
    if (rd.ec == std::errc() && rd.ptr == cell.data() + cell.size() && std::isfinite(d)) {
      append_json_double(out, d);
      return;
    }
  }
  append_json_string(out, cell);
}

}  // namespace

bool replay(const config::Config& config, const ReplayOptions& options, std::FILE* out,
            ReplayStats& stats, std::string& error) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (options.input != "-") {
    file.open(options.input, std::ios::binary);
    if (!file) {
      error = "cannot open input file \"" + options.input + "\"";
      return false;
    }
    in = &file;
  }
  ManualClock clock(options.start_time);
  Engine engine(config, clock, EngineOptions{.check_future_skew = false});
  sink::NdjsonSink sink(out);
  for (uint32_t c = 0; c < engine.connection_names().size(); ++c) engine.set_sink(c, &sink);

  bool csv = !options.csv_topic.empty() || ends_with(options.input, ".csv");
  if (csv && options.csv_topic.empty()) {
    error = "a CSV input needs --topic (the topic its rows are published on)";
    return false;
  }
  std::vector<std::string> header;
  std::string line;
  Message m;
  m.connection = kAnyConnection;
  m.qos = 1;
  auto bad = [&](const std::string& why) {
    ++stats.bad_lines;
    std::cerr << "weir replay: " << options.input << ": line " << stats.lines << ": " << why
              << " (skipped)\n";
  };
  while (std::getline(*in, line)) {
    ++stats.lines;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (csv) {
      auto cells = split_csv(line);
      if (header.empty()) {
        header = std::move(cells);
        continue;
      }
      if (cells.size() != header.size()) {
        bad("expected " + std::to_string(header.size()) + " fields, got " + std::to_string(cells.size()));
        continue;
      }
      m.topic = options.csv_topic;
      m.payload.clear();
      m.payload.push_back('{');
      bool first = true;
      for (size_t i = 0; i < cells.size(); ++i) {
        if (cells[i].empty()) continue;
        if (!first) m.payload.push_back(',');
        first = false;
        append_json_string(m.payload, header[i]);
        m.payload.push_back(':');
        append_cell(m.payload, cells[i]);
      }
      m.payload.push_back('}');
    } else {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        bad("expected a JSON object {\"topic\": ..., \"payload\": ...}");
        continue;
      }
      auto t = j.find("topic");
      auto p = j.find("payload");
      if (t == j.end() || !t->is_string() || p == j.end()) {
        bad("expected \"topic\" (a string) and \"payload\"");
        continue;
      }
      m.topic = t->get<std::string>();
      auto enc = j.find("encoding");
      if (enc != j.end() && *enc == "base64") {
        if (!p->is_string()) {
          bad("a base64 payload must be a string");
          continue;
        }
        auto bytes = core::base64_decode(p->get_ref<const std::string&>());
        if (!bytes) {
          bad("payload is not valid base64");
          continue;
        }
        m.payload = std::move(*bytes);
      } else if (p->is_string()) {
        m.payload = p->get<std::string>();
      } else {
        m.payload = p->dump();
      }
      auto time = j.find("time");
      if (time != j.end()) {
        std::optional<TimeMs> t_ms;
        if (time->is_number_integer()) t_ms = time->get<TimeMs>();
        if (time->is_string()) t_ms = parse_iso8601(time->get_ref<const std::string&>());
        if (!t_ms || *t_ms < kMinReplayTime || *t_ms > kMaxReplayTime) {
          bad("\"time\" must be epoch milliseconds (an integer) or an ISO 8601 string, years 1 to 9999");
          continue;
        }
        if (*t_ms > clock.now()) {
          // Time moves first, as it would live: windows idle until now close before this
          // message is handled.
          clock.set(*t_ms);
          engine.tick();
        }
      }
    }
    m.received = clock.now();
    ++stats.messages;
    engine.handle(m);
    engine.tick();
  }
  engine.flush();
  std::fflush(out);
  return true;
}

}  // namespace weir::engine
