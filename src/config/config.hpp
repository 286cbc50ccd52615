// The configuration file: connections and pipelines, validated at load. Stage options are
// validated by the stages themselves when the engine builds them (see engine/).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/node.hpp"

namespace weir::config {

struct TlsSpec {
  std::string ca_file;
  std::string ca_path;
  std::string cert_file;
  std::string key_file;
  bool insecure = false;  // skip server certificate verification (logged loudly)
};

// Store-and-forward for a connection's outputs ("outbox"): outputs wait in the state
// database until the sink confirms them.
struct OutboxSpec {
  int64_t max_bytes = 256LL * 1024 * 1024;        // past it, the oldest entries are dropped
  int64_t max_age_ms = 7LL * 24 * 3600 * 1000;    // older entries are dropped
  double drain_rate = 0;                          // backlog messages per second (0: no limit)
  bool live_first = false;                        // resendPriority "live" (default "order")
  size_t max_in_flight = 1000;                    // sent, awaiting confirmation
};

// A Kafka connection ("type": "kafka"): the producer's settings.
struct KafkaSpec {
  std::string bootstrap_servers;
  std::string compression = "lz4";  // none, gzip, snappy, lz4, zstd
  int64_t linger_ms = 20;           // linger.ms: how long a batch waits to fill
  int64_t batch_messages = 10000;   // batch.num.messages
  int64_t batch_bytes = 1000000;    // batch.size
  // Passed through to librdkafka as they are ("options": {"socket.timeout.ms": "10000"}).
  std::vector<std::pair<std::string, std::string>> options;
};

struct ConnectionSpec {
  std::string name;
  std::string type;  // "mqtt", "kafka" or "sqlite"
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string client_id;
  int keepalive = 30;
  bool clean_session = false;
  std::string username;
  std::string password;  // resolved from password, passwordFile or passwordEnv; never logged
  std::optional<TlsSpec> tls;
  int reconnect_min_ms = 500;
  int reconnect_max_ms = 30000;
  // MQTT protocol: 0 = auto (MQTT 5, falling back to 3.1.1 when the broker refuses it),
  // 4 = 3.1.1, 5 = MQTT 5.
  int mqtt_version = 0;
  KafkaSpec kafka;           // type "kafka"
  std::string sqlite_path;   // type "sqlite": the database file $merge writes to
  std::optional<OutboxSpec> outbox;
  std::string path;  // JSON pointer of the connection, for messages
};

struct DlqSpec {
  std::string connection;
  std::string topic;
};

struct PipelineSpec {
  std::string name;
  std::optional<DlqSpec> dlq;
  std::string path;  // "/pipelines/0"
};

struct EngineSpec {
  size_t queue_capacity = 10000;
  std::string log_level = "info";
  int64_t stats_interval_ms = 60000;
};

// The state database ("state": {"path", "synchronous", "checkpointInterval"}).
struct StateSpec {
  std::string path;
  std::string synchronous = "normal";  // off | normal | full
  int64_t checkpoint_interval_ms = 1000;
  std::string journal;  // the ingest journal's directory ("<path>.journal" by default)
};

// The metrics and health endpoint ("metrics": {"port": 9464}); off without the section.
// The same numbers published as a JSON document to an MQTT topic every interval.
struct MetricsMqttSpec {
  std::string connection;
  std::string topic;
  TimeMs interval_ms = 10000;
  bool retain = false;
};

struct MetricsSpec {
  std::string listen = "127.0.0.1";  // loopback only
  int port = 0;                      // 0: no HTTP endpoint (only "mqtt")
  std::optional<MetricsMqttSpec> mqtt;
};

class Config {
 public:
  // Loads and checks a config file; throws ConfigError whose path is a JSON pointer and
  // whose message says what was expected. file() is set for messages.
  static Config load_file(const std::string& file);
  static Config parse(const std::string& text, const std::string& file_name);

  const std::string& file() const noexcept { return file_; }
  const Json& json() const noexcept { return *doc_; }
  const std::map<std::string, ConnectionSpec>& connections() const noexcept { return connections_; }
  const std::vector<PipelineSpec>& pipelines() const noexcept { return pipelines_; }
  const EngineSpec& engine() const noexcept { return engine_; }
  const std::optional<StateSpec>& state() const noexcept { return state_; }
  const std::optional<MetricsSpec>& metrics() const noexcept { return metrics_; }
  // The stage array of pipeline i.
  Node stages(size_t i) const;
  const ConnectionSpec& connection(const std::string& name, const std::string& path) const;

 private:
  std::string file_;
  std::shared_ptr<Json> doc_;  // shared so Config stays cheap to move
  std::map<std::string, ConnectionSpec> connections_;
  std::vector<PipelineSpec> pipelines_;
  EngineSpec engine_;
  std::optional<StateSpec> state_;
  std::optional<MetricsSpec> metrics_;
};

// "FILE: PATH: MESSAGE", the one line printed for a config error.
std::string format_config_error(const std::string& file, const ConfigError& e);

}  // namespace weir::config
