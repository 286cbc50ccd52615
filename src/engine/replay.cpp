#include "engine/replay.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <iostream>
#include <optional>
#include <vector>

#include <simdjson.h>

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

// One NDJSON input line -> m.topic and m.payload (the payload's JSON text as it stands in
// the line, or the string's bytes, base64-decoded with "encoding": "base64").
bool parse_line(simdjson::ondemand::parser& parser, std::string& line, Message& m,
                std::optional<TimeMs>& time, std::string& error) {
  namespace od = simdjson::ondemand;
  line.reserve(line.size() + simdjson::SIMDJSON_PADDING);
  od::document doc;
  od::object obj;
  if (parser.iterate(line.data(), line.size(), line.capacity()).get(doc) ||
      doc.get_object().get(obj)) {
    error = "expected a JSON object {\"topic\": ..., \"payload\": ...}";
    return false;
  }
  bool has_topic = false, has_payload = false, payload_is_string = false, base64 = false;
  for (auto field : obj) {
    std::string_view key;
    od::value value;
    if (field.unescaped_key().get(key) || field.value().get(value)) {
      error = "expected a JSON object {\"topic\": ..., \"payload\": ...}";
      return false;
    }
    if (key == "topic") {
      std::string_view t;
      if (value.get_string().get(t)) {
        error = "\"topic\" must be a string";
        return false;
      }
      m.topic.assign(t);
      has_topic = true;
    } else if (key == "payload") {
      od::json_type type;
      if (value.type().get(type)) {
        error = "invalid \"payload\"";
        return false;
      }
      std::string_view text;
      payload_is_string = type == od::json_type::string;
      simdjson::error_code err;
      if (payload_is_string) {
        err = value.get_string().get(text);
      } else if (type == od::json_type::object) {
        od::object o;
        err = value.get_object().get(o);
        if (!err) err = o.raw_json().get(text);
      } else if (type == od::json_type::array) {
        od::array a;
        err = value.get_array().get(a);
        if (!err) err = a.raw_json().get(text);
      } else {
        text = value.raw_json_token();
        while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
        err = simdjson::SUCCESS;
      }
      if (err) {
        error = "invalid \"payload\"";
        return false;
      }
      m.payload.assign(text);
      has_payload = true;
    } else if (key == "encoding") {
      std::string_view e;
      base64 = !value.get_string().get(e) && e == "base64";
    } else if (key == "time") {
      int64_t t;
      std::string_view iso;
      if (!value.get_int64().get(t)) {
        time = t;
      } else if (!value.get_string().get(iso)) {
        time = parse_iso8601(iso);
      } else {
        time = std::nullopt;
      }
      if (!time || *time < kMinReplayTime || *time > kMaxReplayTime) {
        error = "\"time\" must be epoch milliseconds (an integer) or an ISO 8601 string, years 1 to 9999";
        return false;
      }
    }
  }
  if (!has_topic || !has_payload) {
    error = "expected \"topic\" (a string) and \"payload\"";
    return false;
  }
  if (base64) {
    if (!payload_is_string) {
      error = "a base64 payload must be a string";
      return false;
    }
    auto bytes = core::base64_decode(m.payload);
    if (!bytes) {
      error = "payload is not valid base64";
      return false;
    }
    m.payload = std::move(*bytes);
  }
  return true;
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
  simdjson::ondemand::parser parser;
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
      std::string why;
      std::optional<TimeMs> line_time;
      if (!parse_line(parser, line, m, line_time, why)) {
        bad(why);
        continue;
      }
      if (line_time && *line_time > clock.now()) {
        // Time moves first, as it would live: windows idle until now close before this
        // message is handled.
        clock.set(*line_time);
        engine.tick();
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
