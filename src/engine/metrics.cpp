#include "engine/metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <fmt/format.h>

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

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  // A metric family's HELP and TYPE lines, once.
  void family(const char* name, const char* type, const char* help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(const char* name, const std::string& labels, double value) {
    out_ += name;
    if (!labels.empty()) out_ += "{" + labels + "}";
    out_ += fmt::format(" {}\n", value);
  }

 private:
  std::string& out_;
};

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

std::string prometheus_metrics(const RunView& v, TimeMs now, const std::string& version) {
  std::string out;
  out.reserve(8192);
  Writer w(out);
  const Engine& e = v.engine;

  w.family("weir_info", "gauge", "weir's version (always 1)");
  w.sample("weir_info", "version=\"" + esc(version) + "\"", 1);
  w.family("weir_messages_total", "counter", "MQTT messages handled by the engine");
  w.sample("weir_messages_total", "", static_cast<double>(e.messages()));
  w.family("weir_messages_unmatched_total", "counter", "messages no pipeline's $source matched");
  w.sample("weir_messages_unmatched_total", "", static_cast<double>(e.unmatched()));
  w.family("weir_queue_depth", "gauge", "messages received and waiting for the processing thread");
  w.sample("weir_queue_depth", "", static_cast<double>(v.queue_depth));
  w.family("weir_queue_capacity", "gauge", "engine.queueCapacity");
  w.sample("weir_queue_capacity", "", static_cast<double>(v.queue_capacity));
  w.family("weir_journal_depth", "gauge", "messages received (journaled) and not yet covered by a checkpoint");
  w.sample("weir_journal_depth", "", static_cast<double>(v.journal_depth));

  // Per pipeline.
  w.family("weir_readings_in_total", "counter", "readings decoded and entering the pipeline's stages");
  for (const auto& p : e.pipelines()) w.sample("weir_readings_in_total", "pipeline=\"" + esc(p->name()) + "\"", static_cast<double>(p->counters().readings_in));
  w.family("weir_readings_filtered_total", "counter", "readings dropped on purpose ($match, validation discard)");
  for (const auto& p : e.pipelines()) w.sample("weir_readings_filtered_total", "pipeline=\"" + esc(p->name()) + "\"", static_cast<double>(p->counters().filtered));
  w.family("weir_outputs_total", "counter", "results published by the pipeline's $emit or $merge");
  for (const auto& p : e.pipelines()) w.sample("weir_outputs_total", "pipeline=\"" + esc(p->name()) + "\"", static_cast<double>(p->counters().outputs));
  w.family("weir_dead_letters_total", "counter", "messages and readings sent to the dead-letter topic, by reason");
  for (const auto& p : e.pipelines()) {
    for (const auto& [reason, n] : p->counters().dead_letters) {
      w.sample("weir_dead_letters_total", "pipeline=\"" + esc(p->name()) + "\",reason=\"" + esc(reason) + "\"", static_cast<double>(n));
    }
  }
  w.family("weir_late_readings_total", "counter", "readings behind the watermark past allowedLateness (dead-lettered as late)");
  for (const auto& p : e.pipelines()) {
    auto it = p->counters().dead_letters.find("late");
    w.sample("weir_late_readings_total", "pipeline=\"" + esc(p->name()) + "\"",
             static_cast<double>(it == p->counters().dead_letters.end() ? 0 : it->second));
  }

  // Per stage.
  struct StageRow {
    std::string labels;
    OperatorStats st;
  };
  std::vector<StageRow> rows;
  for (const auto& p : e.pipelines()) {
    for (size_t i = 0; i < p->stage_count(); ++i) {
      rows.push_back({"pipeline=\"" + esc(p->name()) + "\",stage=\"" + std::to_string(i + 1) + "\",kind=\"" +
                          esc(p->stage_name(i)) + "\"",
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
        r.labels.find("$detect") == std::string::npos) {
      continue;
    }
    w.sample("weir_alerts_raised_total", r.labels, static_cast<double>(r.st.alerts_raised));
    w.sample("weir_alerts_cleared_total", r.labels, static_cast<double>(r.st.alerts_cleared));
    w.sample("weir_alerts_suppressed_total", r.labels, static_cast<double>(r.st.alerts_suppressed));
  }

  // Per connection.
  w.family("weir_connection_up", "gauge", "1 when the connection's link is up");
  for (const auto& c : v.connections) {
    w.sample("weir_connection_up", "connection=\"" + esc(c.name) + "\",type=\"" + c.type + "\"", c.connected ? 1 : 0);
  }
  w.family("weir_connection_reconnects_total", "counter", "connections made after the first (MQTT)");
  w.family("weir_connection_received_total", "counter", "MQTT messages received");
  w.family("weir_connection_published_total", "counter", "MQTT publishes handed to the client");
  for (const auto& c : v.connections) {
    if (c.type != "mqtt") continue;
    const std::string l = "connection=\"" + esc(c.name) + "\"";
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
    const std::string l = "connection=\"" + esc(c.name) + "\"";
    const auto& b = *c.outbox;
    const auto& k = b.counters();
    w.sample("weir_outbox_depth", l, static_cast<double>(b.depth()));
    w.sample("weir_outbox_bytes", l, static_cast<double>(b.bytes()));
    w.sample("weir_outbox_in_flight", l, static_cast<double>(b.in_flight()));
    w.sample("weir_outbox_sent_total", l, static_cast<double>(k.sent));
    w.sample("weir_outbox_failed_total", l, static_cast<double>(k.failed));
    w.sample("weir_outbox_dropped_total", l + ",limit=\"maxBytes\"", static_cast<double>(k.dropped_bytes));
    w.sample("weir_outbox_dropped_total", l + ",limit=\"maxAge\"", static_cast<double>(k.dropped_age));
    w.sample("weir_outbox_resent_total", l, static_cast<double>(k.resent));
  }
  const SinkCounters sc = e.router().counters();
  w.family("weir_sink_parked", "gauge", "outputs parked for a connection without an outbox (its sink is busy or down)");
  w.sample("weir_sink_parked", "", static_cast<double>(e.router().backlog()));
  w.family("weir_sink_dropped_total", "counter", "parked outputs dropped because the parking space was full");
  w.sample("weir_sink_dropped_total", "", static_cast<double>(sc.dropped));

  // Checkpoints and the process.
  w.family("weir_checkpoints_total", "counter", "checkpoints written");
  w.sample("weir_checkpoints_total", "", static_cast<double>(v.checkpoints.taken));
  w.family("weir_checkpoint_failures_total", "counter", "checkpoints that failed (rolled back)");
  w.sample("weir_checkpoint_failures_total", "", static_cast<double>(v.checkpoints.failed));
  w.family("weir_checkpoint_duration_seconds", "gauge", "how long the last checkpoint took");
  w.sample("weir_checkpoint_duration_seconds", "", v.checkpoints.last_seconds);
  w.family("process_resident_memory_bytes", "gauge", "resident memory");
  w.sample("process_resident_memory_bytes", "", static_cast<double>(resident_bytes()));
  w.family("process_cpu_seconds_total", "counter", "user and system CPU time");
  w.sample("process_cpu_seconds_total", "", cpu_seconds());
  return out;
}

}  // namespace weir::engine
