#include "config/config.hpp"

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace weir::config {

namespace {

constexpr OptionSpec kConnectionOptions[] = {
    {"type", OptionType::kString, true, "", "connection type: \"mqtt\", \"kafka\" or \"sqlite\""},
    {"host", OptionType::kString, false, "127.0.0.1", "broker host name or address"},
    {"port", OptionType::kInteger, false, "1883 (8883 with tls)", "broker port"},
    {"clientId", OptionType::kString, false, "weir-<connection>", "MQTT client id; fixed so the broker keeps the session"},
    {"keepalive", OptionType::kInteger, false, "30", "keepalive in seconds"},
    {"cleanSession", OptionType::kBoolean, false, "false", "start a new session each time (loses what the broker queued)"},
    {"mqttVersion", OptionType::kString, false, "auto",
     "\"auto\" (MQTT 5, or 3.1.1 when the broker refuses 5), \"5\" or \"3.1.1\""},
    {"username", OptionType::kString, false, "", "user name"},
    {"password", OptionType::kString, false, "", "password (prefer passwordFile or passwordEnv)"},
    {"passwordFile", OptionType::kString, false, "", "file whose first line is the password"},
    {"passwordEnv", OptionType::kString, false, "", "environment variable holding the password"},
    {"tls", OptionType::kObject, false, "", "TLS: caFile, caPath, certFile, keyFile, insecure"},
    {"reconnectMinMs", OptionType::kInteger, false, "500", "first reconnect delay"},
    {"reconnectMaxMs", OptionType::kInteger, false, "30000", "longest reconnect delay (exponential back-off)"},
    {"outbox", OptionType::kObject, false, "none (on for kafka)",
     "store-and-forward: maxBytes, maxAge, drainRate, resendPriority, maxInFlight"},
};
constexpr ComponentInfo kConnectionInfo{"connection", "an MQTT broker connection", kConnectionOptions};

constexpr OptionSpec kKafkaOptions[] = {
    {"type", OptionType::kString, true, "", "\"kafka\""},
    {"bootstrapServers", OptionType::kString, true, "", "host:port[,host:port...] of the Kafka brokers"},
    {"clientId", OptionType::kString, false, "weir-<connection>", "Kafka client.id"},
    {"compression", OptionType::kString, false, "lz4", "none, gzip, snappy, lz4 or zstd"},
    {"lingerMs", OptionType::kInteger, false, "20", "how long a batch waits to fill (linger.ms)"},
    {"batchMessages", OptionType::kInteger, false, "10000", "most messages per batch (batch.num.messages)"},
    {"batchBytes", OptionType::kInteger, false, "1000000", "most bytes per batch (batch.size)"},
    {"username", OptionType::kString, false, "", "SASL user name (sasl.mechanisms PLAIN unless set in options)"},
    {"password", OptionType::kString, false, "", "SASL password (prefer passwordFile or passwordEnv)"},
    {"passwordFile", OptionType::kString, false, "", "file whose first line is the SASL password"},
    {"passwordEnv", OptionType::kString, false, "", "environment variable holding the SASL password"},
    {"tls", OptionType::kObject, false, "", "TLS: caFile, caPath, certFile, keyFile, insecure"},
    {"reconnectMinMs", OptionType::kInteger, false, "500", "first reconnect delay (reconnect.backoff.ms)"},
    {"reconnectMaxMs", OptionType::kInteger, false, "30000", "longest reconnect delay (reconnect.backoff.max.ms)"},
    {"options", OptionType::kObject, false, "", "other librdkafka settings, passed through as strings"},
    {"outbox", OptionType::kObject, false, "defaults", "store-and-forward: maxBytes, maxAge, drainRate, "
                                                        "resendPriority, maxInFlight"},
};
constexpr ComponentInfo kKafkaInfo{"kafka connection", "a Kafka cluster to produce to", kKafkaOptions};

constexpr OptionSpec kSqliteOptions[] = {
    {"type", OptionType::kString, true, "", "\"sqlite\""},
    {"path", OptionType::kString, true, "", "the SQLite database $merge writes to (created when missing)"},
};
constexpr ComponentInfo kSqliteInfo{"sqlite connection", "a local SQLite database for $merge", kSqliteOptions};

constexpr OptionSpec kOutboxOptions[] = {
    {"maxBytes", OptionType::kInteger, false, "268435456 (256 MiB)", "past it the oldest outputs are dropped"},
    {"maxAge", OptionType::kDuration, false, "7 days", "older outputs are dropped"},
    {"drainRate", OptionType::kNumber, false, "0 (no limit)", "backlog outputs sent per second after an outage"},
    {"resendPriority", OptionType::kString, false, "order",
     "\"order\": strictly in order, new outputs wait behind the backlog; \"live\": new outputs go first"},
    {"maxInFlight", OptionType::kInteger, false, "1000", "outputs handed to the sink and not yet confirmed"},
};
constexpr ComponentInfo kOutboxInfo{"outbox", "store-and-forward", kOutboxOptions};

constexpr OptionSpec kTlsOptions[] = {
    {"caFile", OptionType::kString, false, "", "PEM file of trusted CA certificates"},
    {"caPath", OptionType::kString, false, "", "directory of trusted CA certificates"},
    {"certFile", OptionType::kString, false, "", "client certificate (PEM)"},
    {"keyFile", OptionType::kString, false, "", "client private key (PEM)"},
    {"insecure", OptionType::kBoolean, false, "false", "do not verify the server certificate (logged as a warning)"},
};
constexpr ComponentInfo kTlsInfo{"tls", "TLS options", kTlsOptions};

constexpr OptionSpec kTopOptions[] = {
    {"connections", OptionType::kObject, true, "", "named broker connections"},
    {"pipelines", OptionType::kArray, true, "", "the pipelines"},
    {"engine", OptionType::kObject, false, "", "engine options: queueCapacity, logLevel, statsIntervalMs"},
    {"state", OptionType::kObject, false, "", "the state database: path, synchronous, checkpointInterval"},
    {"metrics", OptionType::kObject, false, "off", "the metrics and health endpoint: port, listen"},
};
constexpr ComponentInfo kTopInfo{"config", "a weir configuration", kTopOptions};

constexpr OptionSpec kEngineOptions[] = {
    {"queueCapacity", OptionType::kInteger, false, "10000", "messages buffered between ingest and processing"},
    {"logLevel", OptionType::kString, false, "info", "trace, debug, info, warn, error"},
    {"statsIntervalMs", OptionType::kInteger, false, "60000", "how often counters are logged (0: never)"},
};
constexpr ComponentInfo kEngineInfo{"engine", "engine options", kEngineOptions};

constexpr OptionSpec kStateOptions[] = {
    {"path", OptionType::kString, true, "", "the SQLite state database (created when missing)"},
    {"synchronous", OptionType::kString, false, "normal",
     "off, normal or full: SQLite's PRAGMA synchronous (normal: a power cut may lose the last "
     "commits, never consistency)"},
    {"checkpointInterval", OptionType::kDuration, false, "1 second", "how often state is saved"},
    {"journal", OptionType::kString, false, "<path>.journal",
     "directory of the ingest journal (every message is written there before it is acknowledged)"},
};
constexpr ComponentInfo kStateInfo{"state", "the state database", kStateOptions};

constexpr OptionSpec kMetricsOptions[] = {
    {"port", OptionType::kInteger, false, "none", "TCP port of /metrics, /healthz and /readyz (port or mqtt, or both)"},
    {"listen", OptionType::kString, false, "127.0.0.1", "a loopback address: 127.0.0.1, ::1 or localhost"},
    {"mqtt", OptionType::kObject, false, "none",
     "publish the metrics as JSON to an MQTT topic: connectionName, topic, interval, retain"},
};
constexpr ComponentInfo kMetricsInfo{"metrics", "the metrics and health endpoint", kMetricsOptions};

constexpr OptionSpec kMetricsMqttOptions[] = {
    {"connectionName", OptionType::kString, true, "", "an MQTT connection"},
    {"topic", OptionType::kString, true, "", "the topic (no wildcards)"},
    {"interval", OptionType::kDuration, false, "10 seconds", "how often the metrics are published"},
    {"retain", OptionType::kBoolean, false, "false", "publish retained, so a new subscriber gets the last"},
};
constexpr ComponentInfo kMetricsMqttInfo{"metrics.mqtt", "metrics published to an MQTT topic", kMetricsMqttOptions};

constexpr OptionSpec kPipelineOptions[] = {
    {"name", OptionType::kString, true, "", "unique pipeline name"},
    {"dlq", OptionType::kObject, false, "", "dead-letter topic: {connectionName, topic}"},
    {"pipeline", OptionType::kArray, true, "", "the stages, starting with $source"},
};
constexpr ComponentInfo kPipelineInfo{"pipeline", "a pipeline", kPipelineOptions};

constexpr OptionSpec kDlqOptions[] = {
    {"connectionName", OptionType::kString, true, "", "connection to publish dead letters on"},
    {"topic", OptionType::kString, true, "", "dead-letter topic"},
};
constexpr ComponentInfo kDlqInfo{"dlq", "dead-letter destination", kDlqOptions};

std::string read_password_file(const Node& node) {
  std::string file = node.as_nonempty_string();
  std::ifstream in(file);
  if (!in) throw ConfigError(node.path(), "cannot read password file \"" + file + "\"");
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  return line;
}

std::string read_password(const Node& node) {
  std::string password;
  int sources = 0;
  if (auto p = node.get("password")) { password = p->as_string(); ++sources; }
  if (auto p = node.get("passwordFile")) { password = read_password_file(*p); ++sources; }
  if (auto p = node.get("passwordEnv")) {
    std::string var = p->as_nonempty_string();
    const char* v = std::getenv(var.c_str());
    if (v == nullptr) throw ConfigError(p->path(), "environment variable \"" + var + "\" is not set");
    password = v;
    ++sources;
  }
  if (sources > 1) {
    throw ConfigError(node.path(), "give only one of password, passwordFile and passwordEnv");
  }
  return password;
}

std::optional<TlsSpec> read_tls(const Node& node) {
  auto t = node.get("tls");
  if (!t) return std::nullopt;
  t->check_options(kTlsInfo);
  TlsSpec tls;
  tls.ca_file = t->string_or("caFile", "");
  tls.ca_path = t->string_or("caPath", "");
  tls.cert_file = t->string_or("certFile", "");
  tls.key_file = t->string_or("keyFile", "");
  tls.insecure = t->bool_or("insecure", false);
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    throw ConfigError(t->path(), "certFile and keyFile go together: give both or neither");
  }
  return tls;
}

OutboxSpec read_outbox(const Node& node) {
  node.expect_object();
  node.check_options(kOutboxInfo);
  OutboxSpec o;
  o.max_bytes = node.int_or("maxBytes", o.max_bytes, 4096, INT64_MAX);
  if (auto a = node.get("maxAge")) o.max_age_ms = a->as_duration();
  if (auto r = node.get("drainRate")) {
    const double v = r->as_number();
    if (!(v >= 0) || v > 1e9) r->fail("a rate from 0 (no limit) to 1e9 outputs per second");
    o.drain_rate = v;
  }
  if (auto p = node.get("resendPriority")) o.live_first = p->as_enum({"live", "order"}) == "live";
  o.max_in_flight = static_cast<size_t>(node.int_or("maxInFlight", 1000, 1, 1000000));
  return o;
}

void read_reconnect(const Node& node, ConnectionSpec& c) {
  c.reconnect_min_ms = static_cast<int>(node.int_or("reconnectMinMs", 500, 10, 3600000));
  c.reconnect_max_ms =
      static_cast<int>(node.int_or("reconnectMaxMs", 30000, c.reconnect_min_ms, 3600000));
}

ConnectionSpec parse_connection(const std::string& name, const Node& node) {
  node.expect_object();
  ConnectionSpec c;
  c.name = name;
  c.path = node.path();
  c.type = node.at("type").as_enum({"mqtt", "kafka", "sqlite"});
  if (c.type == "sqlite") {
    node.check_options(kSqliteInfo);
    c.sqlite_path = node.at("path").as_nonempty_string();
    c.outbox = OutboxSpec{};  // rows leave the outbox when their transaction commits
    return c;
  }
  if (c.type == "kafka") {
    node.check_options(kKafkaInfo);
    c.kafka.bootstrap_servers = node.at("bootstrapServers").as_nonempty_string();
    c.client_id = node.string_or("clientId", "weir-" + name);
    if (auto z = node.get("compression")) c.kafka.compression = z->as_enum({"none", "gzip", "snappy", "lz4", "zstd"});
    c.kafka.linger_ms = node.int_or("lingerMs", 20, 0, 900000);
    c.kafka.batch_messages = node.int_or("batchMessages", 10000, 1, 1000000);
    c.kafka.batch_bytes = node.int_or("batchBytes", 1000000, 1, 2147483647);
    c.username = node.string_or("username", "");
    c.password = read_password(node);
    c.tls = read_tls(node);
    read_reconnect(node, c);
    if (auto o = node.get("options")) {
      o->expect_object();
      for (auto it = o->json().begin(); it != o->json().end(); ++it) {
        Node v = o->at(it.key());
        std::string text;
        if (v.is_string()) {
          text = v.as_string();
        } else if (v.is_number() || v.json().is_boolean()) {
          text = v.json().dump();
        } else {
          v.fail("a string, number or boolean (librdkafka settings are strings)");
        }
        c.kafka.options.emplace_back(it.key(), text);
      }
    }
    c.outbox = node.get("outbox") ? read_outbox(*node.get("outbox")) : OutboxSpec{};
    return c;
  }
  node.check_options(kConnectionInfo);
  c.host = node.string_or("host", "127.0.0.1");
  if (c.host.empty()) node.at("host").fail("a non-empty host name");
  c.client_id = node.string_or("clientId", "weir-" + name);
  if (c.client_id.empty() || c.client_id.size() > 23 * 8) {
    node.at("clientId").fail("a non-empty client id of at most 184 characters");
  }
  c.keepalive = static_cast<int>(node.int_or("keepalive", 30, 5, 65535));
  c.clean_session = node.bool_or("cleanSession", false);
  if (auto v = node.get("mqttVersion")) {
    const std::string ver = v->as_enum({"auto", "5", "3.1.1"});
    c.mqtt_version = ver == "auto" ? 0 : ver == "5" ? 5 : 4;
  }
  c.username = node.string_or("username", "");
  c.password = read_password(node);
  c.tls = read_tls(node);
  c.port = static_cast<int>(node.int_or("port", c.tls ? 8883 : 1883, 1, 65535));
  read_reconnect(node, c);
  if (auto o = node.get("outbox")) c.outbox = read_outbox(*o);
  return c;
}

std::string line_column(const std::string& text, size_t byte) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') { ++line; col = 1; } else { ++col; }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

}  // namespace

Config Config::load_file(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError("", "cannot open config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), file);
}

Config Config::parse(const std::string& text, const std::string& file_name) {
  Config cfg;
  cfg.file_ = file_name;
  cfg.doc_ = std::make_shared<Json>();
  try {
    *cfg.doc_ = Json::parse(text);
  } catch (const Json::parse_error& e) {
    // e.byte is 1-based position of the error.
    throw ConfigError("", "invalid JSON at " + line_column(text, e.byte ? e.byte - 1 : 0) + ": " +
                              std::string(e.what()).substr(std::string(e.what()).find(':') + 2));
  } catch (const Json::exception& e) {
    // A number out of range ("1e999") is not a parse_error for nlohmann (found by fuzz_config).
    throw ConfigError("", std::string("invalid JSON: ") + e.what());
  }
  Node root(*cfg.doc_, "");
  if (!cfg.doc_->is_object()) {
    throw ConfigError("/", "got " + describe(*cfg.doc_) + ", expected an object with \"connections\" and \"pipelines\"");
  }
  root.check_options(kTopInfo);
  Node conns = root.at("connections");
  conns.expect_object();
  if (conns.size() == 0) conns.fail("at least one connection");
  for (auto it = conns.json().begin(); it != conns.json().end(); ++it) {
    Node c = conns.at(it.key());
    if (it.key().empty()) c.fail("a connection with a non-empty name");
    cfg.connections_.emplace(it.key(), parse_connection(it.key(), c));
  }
  if (auto e = root.get("engine")) {
    e->check_options(kEngineInfo);
    cfg.engine_.queue_capacity = static_cast<size_t>(e->int_or("queueCapacity", 10000, 1, 10000000));
    if (auto l = e->get("logLevel")) {
      cfg.engine_.log_level = l->as_enum({"trace", "debug", "info", "warn", "error"});
    }
    cfg.engine_.stats_interval_ms = e->int_or("statsIntervalMs", 60000, 0, 86400000);
  }
  if (auto st = root.get("state")) {
    st->expect_object();
    st->check_options(kStateInfo);
    StateSpec spec;
    spec.path = st->at("path").as_nonempty_string();
    if (auto sy = st->get("synchronous")) spec.synchronous = sy->as_enum({"off", "normal", "full"});
    if (auto ci = st->get("checkpointInterval")) spec.checkpoint_interval_ms = ci->as_duration();
    spec.journal = spec.path + ".journal";
    if (auto jd = st->get("journal")) spec.journal = jd->as_nonempty_string();
    cfg.state_ = spec;
  }
  if (auto m = root.get("metrics")) {
    m->expect_object();
    m->check_options(kMetricsInfo);
    MetricsSpec spec;
    if (auto pn = m->get("port")) spec.port = static_cast<int>(pn->as_int(1, 65535));
    if (auto l = m->get("listen")) {
      spec.listen = l->as_enum({"127.0.0.1", "::1", "localhost"});
      if (spec.listen == "localhost") spec.listen = "127.0.0.1";
    }
    if (auto q = m->get("mqtt")) {
      q->expect_object();
      q->check_options(kMetricsMqttInfo);
      MetricsMqttSpec mq;
      Node name = q->at("connectionName");
      mq.connection = name.as_nonempty_string();
      if (cfg.connection(mq.connection, name.path()).type != "mqtt") {
        name.fail("an MQTT connection (\"" + mq.connection + "\" is of type \"" +
                  cfg.connection(mq.connection, name.path()).type + "\")");
      }
      Node topic = q->at("topic");
      mq.topic = topic.as_nonempty_string();
      if (mq.topic.find_first_of("+#") != std::string::npos) topic.fail("a topic without wildcards");
      if (auto iv = q->get("interval")) mq.interval_ms = iv->as_duration();
      mq.retain = q->bool_or("retain", false);
      spec.mqtt = mq;
    }
    if (spec.port == 0 && !spec.mqtt) m->fail("\"port\" (the HTTP endpoint) or \"mqtt\" (a topic), or both");
    cfg.metrics_ = spec;
  }
  Node pipes = root.at("pipelines");
  pipes.expect_array(true);
  std::set<std::string> names;
  for (size_t i = 0; i < pipes.size(); ++i) {
    Node p = pipes.at(i);
    p.expect_object();
    p.check_options(kPipelineInfo);
    PipelineSpec spec;
    spec.path = p.path();
    Node name = p.at("name");
    spec.name = name.as_nonempty_string();
    if (!names.insert(spec.name).second) name.fail("a pipeline name not used before");
    if (auto d = p.get("dlq")) {
      d->check_options(kDlqInfo);
      DlqSpec dlq;
      Node cn = d->at("connectionName");
      dlq.connection = cn.as_nonempty_string();
      cfg.connection(dlq.connection, cn.path());
      Node topic = d->at("topic");
      dlq.topic = topic.as_nonempty_string();
      if (dlq.topic.find_first_of("+#") != std::string::npos) topic.fail("a topic without wildcards");
      spec.dlq = dlq;
    }
    p.at("pipeline").expect_array(true);
    cfg.pipelines_.push_back(std::move(spec));
  }
  return cfg;
}

Node Config::stages(size_t i) const {
  return Node((*doc_)["pipelines"][i]["pipeline"], pipelines_.at(i).path + "/pipeline");
}

const ConnectionSpec& Config::connection(const std::string& name, const std::string& path) const {
  auto it = connections_.find(name);
  if (it == connections_.end()) {
    std::string list;
    for (const auto& [n, c] : connections_) list += (list.empty() ? "\"" : ", \"") + n + "\"";
    throw ConfigError(path, "unknown connection \"" + name + "\", expected one of " + list);
  }
  return it->second;
}

std::string format_config_error(const std::string& file, const ConfigError& e) {
  std::string out = file;
  if (!e.path().empty()) out += ": " + e.path();
  out += ": " + e.message();
  return out;
}

}  // namespace weir::config
