#include "engine/metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/engine.hpp"
#include "state/outbox.hpp"

namespace weir::engine {

namespace {

// A label value with \, " and newlines escaped, as the text format asks.
std::string esc(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Family {
  const char* name;
  const char* type;
  const char* help;
  std::vector<std::pair<Labels, double>> samples;
};

// The metric families in the order they are declared, each with its samples; rendered as
// Prometheus text or as JSON.
class Families {
 public:
  // A metric family's HELP and TYPE, once.
  void family(const char* name, const char* type, const char* help) {
    index_[name] = families_.size();
    families_.push_back({name, type, help, {}});
  }
  void sample(const char* name, Labels labels, double value) {
    families_[index_.at(name)].samples.emplace_back(std::move(labels), value);
  }
  const std::vector<Family>& all() const noexcept { return families_; }

 private:
  std::vector<Family> families_;
  std::unordered_map<std::string_view, size_t> index_;
};

Labels with(Labels l, std::string key, std::string value) {
  l.emplace_back(std::move(key), std::move(value));
  return l;
}

long resident_bytes() {
  std::ifstream in("/proc/self/statm");
  long pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

namespace {

Families collect(const RunView& v, TimeMs now, const std::string& version) {
  Families w;
  const Engine& e = v.engine;

  w.family("weir_info", "gauge", "weir's version (always 1)");
  w.sample("weir_info", {{"version", version}}, 1);
  w.family("weir_messages_total", "counter", "MQTT messages handled by the engine");
  w.sample("weir_messages_total", {}, static_cast<double>(e.messages()));
  w.family("weir_messages_unmatched_total", "counter", "messages no pipeline's $source matched");
  w.sample("weir_messages_unmatched_total", {}, static_cast<double>(e.unmatched()));
  w.family("weir_queue_depth", "gauge", "messages received and waiting for the processing thread");
  w.sample("weir_queue_depth", {}, static_cast<double>(v.queue_depth));
  w.family("weir_queue_capacity", "gauge", "engine.queueCapacity");
  w.sample("weir_queue_capacity", {}, static_cast<double>(v.queue_capacity));
  w.family("weir_journal_depth", "gauge", "messages received (journaled) and not yet covered by a checkpoint");
  w.sample("weir_journal_depth", {}, static_cast<double>(v.journal_depth));

  // Per pipeline.
  w.family("weir_readings_in_total", "counter", "readings decoded and entering the pipeline's stages");
  for (const auto& p : e.pipelines()) w.sample("weir_readings_in_total", {{"pipeline", p->name()}}, static_cast<double>(p->counters().readings_in));
  w.family("weir_readings_filtered_total", "counter", "readings dropped on purpose ($match, validation discard)");
  for (const auto& p : e.pipelines()) w.sample("weir_readings_filtered_total", {{"pipeline", p->name()}}, static_cast<double>(p->counters().filtered));
  w.family("weir_outputs_total", "counter", "results published by the pipeline's $emit or $merge");
  for (const auto& p : e.pipelines()) w.sample("weir_outputs_total", {{"pipeline", p->name()}}, static_cast<double>(p->counters().outputs));
  w.family("weir_dead_letters_total", "counter", "messages and readings sent to the dead-letter topic, by reason");
  for (const auto& p : e.pipelines()) {
    for (const auto& [reason, n] : p->counters().dead_letters) {
      w.sample("weir_dead_letters_total", {{"pipeline", p->name()}, {"reason", reason}}, static_cast<double>(n));
    }
  }
  w.family("weir_late_readings_total", "counter", "readings behind the watermark past allowedLateness (dead-lettered as late)");
  for (const auto& p : e.pipelines()) {
    auto it = p->counters().dead_letters.find("late");
    w.sample("weir_late_readings_total", {{"pipeline", p->name()}},
             static_cast<double>(it == p->counters().dead_letters.end() ? 0 : it->second));
  }

  // Per stage.
  struct StageRow {
    Labels labels;
    OperatorStats st;
  };
  std::vector<StageRow> rows;
  for (const auto& p : e.pipelines()) {
    for (size_t i = 0; i < p->stage_count(); ++i) {
      rows.push_back({{{"pipeline", p->name()}, {"stage", std::to_string(i + 1)}, {"kind", p->stage_name(i)}},
                      p->stage(i).stats()});
    }
  }
  w.family("weir_open_groups", "gauge", "groups (window keys, detector series) a stage holds");
  for (const auto& r : rows) w.sample("weir_open_groups", r.labels, static_cast<double>(r.st.groups));
  w.family("weir_stage_state_bytes", "gauge", "memory a stage's state takes (estimate)");
  for (const auto& r : rows) w.sample("weir_stage_state_bytes", r.labels, static_cast<double>(r.st.state_bytes));
  w.family("weir_watermark_lag_seconds", "gauge", "processing time minus the stage's event-time watermark");
  for (const auto& r : rows) {
    if (r.st.watermark != kMinTime && r.st.watermark != kMaxTime) {
      w.sample("weir_watermark_lag_seconds", r.labels, static_cast<double>(now - r.st.watermark) / 1000.0);
    }
  }
  w.family("weir_alerts_raised_total", "counter", "alerts raised by $detect");
  w.family("weir_alerts_cleared_total", "counter", "alerts cleared by $detect");
  w.family("weir_alerts_suppressed_total", "counter", "alerts held back by $detect's alert rate limit");
  for (const auto& r : rows) {
    if (r.st.alerts_raised + r.st.alerts_cleared + r.st.alerts_suppressed == 0 &&
        r.labels.back().second != "$detect") {
      continue;
    }
    w.sample("weir_alerts_raised_total", r.labels, static_cast<double>(r.st.alerts_raised));
    w.sample("weir_alerts_cleared_total", r.labels, static_cast<double>(r.st.alerts_cleared));
    w.sample("weir_alerts_suppressed_total", r.labels, static_cast<double>(r.st.alerts_suppressed));
  }

  // Per connection.
  w.family("weir_connection_up", "gauge", "1 when the connection's link is up");
  for (const auto& c : v.connections) {
    w.sample("weir_connection_up", {{"connection", c.name}, {"type", c.type}}, c.connected ? 1 : 0);
  }
  w.family("weir_connection_reconnects_total", "counter", "connections made after the first (MQTT)");
  w.family("weir_connection_received_total", "counter", "MQTT messages received");
  w.family("weir_connection_published_total", "counter", "MQTT publishes handed to the client");
  for (const auto& c : v.connections) {
    if (c.type != "mqtt") continue;
    const Labels l{{"connection", c.name}};
    w.sample("weir_connection_reconnects_total", l, static_cast<double>(c.reconnects));
    w.sample("weir_connection_received_total", l, static_cast<double>(c.received));
    w.sample("weir_connection_published_total", l, static_cast<double>(c.published));
  }
  w.family("weir_outbox_depth", "gauge", "outputs waiting in the outbox or in flight");
  w.family("weir_outbox_bytes", "gauge", "bytes the outbox holds");
  w.family("weir_outbox_in_flight", "gauge", "outputs handed to the sink, not yet confirmed");
  w.family("weir_outbox_sent_total", "counter", "outputs the sink confirmed");
  w.family("weir_outbox_failed_total", "counter", "outputs the sink refused for good");
  w.family("weir_outbox_dropped_total", "counter", "oldest outputs dropped at a limit, by limit");
  w.family("weir_outbox_resent_total", "counter", "outputs sent from the backlog (marked weir-resent)");
  for (const auto& c : v.connections) {
    if (c.outbox == nullptr) continue;
    const Labels l{{"connection", c.name}};
    const auto& b = *c.outbox;
    const auto& k = b.counters();
    w.sample("weir_outbox_depth", l, static_cast<double>(b.depth()));
    w.sample("weir_outbox_bytes", l, static_cast<double>(b.bytes()));
    w.sample("weir_outbox_in_flight", l, static_cast<double>(b.in_flight()));
    w.sample("weir_outbox_sent_total", l, static_cast<double>(k.sent));
    w.sample("weir_outbox_failed_total", l, static_cast<double>(k.failed));
    w.sample("weir_outbox_dropped_total", with(l, "limit", "maxBytes"), static_cast<double>(k.dropped_bytes));
    w.sample("weir_outbox_dropped_total", with(l, "limit", "maxAge"), static_cast<double>(k.dropped_age));
    w.sample("weir_outbox_resent_total", l, static_cast<double>(k.resent));
  }
  const SinkCounters sc = e.router().counters();
  w.family("weir_sink_parked", "gauge", "outputs parked for a connection without an outbox (its sink is busy or down)");
  w.sample("weir_sink_parked", {}, static_cast<double>(e.router().backlog()));
  w.family("weir_sink_dropped_total", "counter", "parked outputs dropped because the parking space was full");
  w.sample("weir_sink_dropped_total", {}, static_cast<double>(sc.dropped));

  // Checkpoints and the process.
  w.family("weir_checkpoints_total", "counter", "checkpoints written");
  w.sample("weir_checkpoints_total", {}, static_cast<double>(v.checkpoints.taken));
  w.family("weir_checkpoint_failures_total", "counter", "checkpoints that failed (rolled back)");
  w.sample("weir_checkpoint_failures_total", {}, static_cast<double>(v.checkpoints.failed));
  w.family("weir_checkpoint_duration_seconds", "gauge", "how long the last checkpoint took");
  w.sample("weir_checkpoint_duration_seconds", {}, v.checkpoints.last_seconds);
  w.family("process_resident_memory_bytes", "gauge", "resident memory");
  w.sample("process_resident_memory_bytes", {}, static_cast<double>(resident_bytes()));
  w.family("process_cpu_seconds_total", "counter", "user and system CPU time");
  w.sample("process_cpu_seconds_total", {}, cpu_seconds());
  return w;
}

}  // namespace

std::string prometheus_metrics(const RunView& view, TimeMs now, const std::string& version) {
  std::string out;
  out.reserve(8192);
  const Families families = collect(view, now, version);
  for (const Family& f : families.all()) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, f.help, f.name, f.type);
    for (const auto& [labels, value] : f.samples) {
      out += f.name;
      if (!labels.empty()) {
        out += '{';
        for (size_t i = 0; i < labels.size(); ++i) {
          if (i > 0) out += ',';
          out += labels[i].first + "=\"" + esc(labels[i].second) + '"';
        }
        out += '}';
      }
      out += fmt::format(" {}\n", value);
    }
  }
  return out;
}

std::string json_metrics(const RunView& view, TimeMs now, const std::string& version) {
  nlohmann::json metrics = nlohmann::json::object();
  const Families families = collect(view, now, version);
  for (const Family& f : families.all()) {
    nlohmann::json samples = nlohmann::json::array();
    for (const auto& [labels, value] : f.samples) {
      nlohmann::json l = nlohmann::json::object();
      for (const auto& [k, v] : labels) l[k] = v;
      nlohmann::json n = value;
      if (value == std::floor(value) && std::fabs(value) < 9e15) n = static_cast<int64_t>(value);  // counts as integers
      samples.push_back({{"labels", std::move(l)}, {"value", std::move(n)}});
    }
    metrics[f.name] = {{"type", f.type}, {"samples", std::move(samples)}};
  }
  nlohmann::json doc = {{"time", format_iso8601(now)}, {"version", version}, {"metrics", std::move(metrics)}};
  return doc.dump();
}

}  // namespace weir::engine
