#include "sink/kafka/kafka_sink.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace weir::sink {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kFlushOnCloseMs = 2000;
// Statistics are read only while all brokers are down, to notice a broker coming back
// when nothing is waiting to be delivered (the engine holds outputs while we are down).
constexpr const char* kStatsIntervalMs = "1000";

// Option names whose values must never appear in a message.
bool is_secret(const std::string& key) {
  return key.find("password") != std::string::npos || key.find("secret") != std::string::npos ||
         key.find("oauthbearer.config") != std::string::npos || key == "ssl.key.pem" ||
         key == "ssl_key";
}

// Refused for good: sending the message again cannot work.
bool permanent(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__BAD_MSG:
    case RD_KAFKA_RESP_ERR__CONFLICT:
      return true;
    default:
      return false;
  }
}

uint64_t id_of(const void* opaque) {
  return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(opaque));
}

std::chrono::milliseconds clamp_ms(int v, int lo) {
  return std::chrono::milliseconds(std::max(v, lo));
}

}  // namespace

KafkaSink::KafkaSink(const config::ConnectionSpec& spec, size_t max_in_flight)
    : spec_(spec),
      max_in_flight_(std::max<size_t>(max_in_flight, 1)),
      name_("kafka:" + spec.name),
      rate_log_(5, 10000) {}

KafkaSink::~KafkaSink() {
  if (rk_ == nullptr) return;
  rd_kafka_flush(rk_, kFlushOnCloseMs);
  const int left = rd_kafka_outq_len(rk_);
  if (left > 0) {
    spdlog::warn("{}: {} message(s) still unconfirmed at shutdown; dropped from the producer",
                 where(), left);
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk_, 0);
  }
  rd_kafka_destroy(rk_);
  rk_ = nullptr;
}

std::string KafkaSink::where() const {
  std::string w = "connection \"" + spec_.name + "\" (kafka";
  if (!spec_.path.empty()) w += ", " + spec_.path;
  return w + ")";
}

std::string KafkaSink::scrub(std::string text) const {
  if (spec_.password.empty()) return text;
  for (size_t at = text.find(spec_.password); at != std::string::npos;
       at = text.find(spec_.password, at + 3)) {
    text.replace(at, spec_.password.size(), "***");
  }
  return text;
}

bool KafkaSink::start(std::string& error) {
  if (rk_ != nullptr) return true;
  if (spec_.tls && spec_.tls->insecure) {
    spdlog::warn("{}: TLS server certificate verification is OFF (tls.insecure)", where());
  }
  started_ = create_producer(error);
  return started_;
}

rd_kafka_conf_s* KafkaSink::build_conf(std::string& error) {
  const config::KafkaSpec& k = spec_.kafka;
  std::vector<std::pair<std::string, std::string>> settings = {
      {"bootstrap.servers", k.bootstrap_servers},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"message.timeout.ms", "0"},  // never: the engine's outbox bounds what waits
      {"compression.type", k.compression},
      {"linger.ms", std::to_string(k.linger_ms)},
      {"batch.num.messages", std::to_string(k.batch_messages)},
      {"batch.size", std::to_string(k.batch_bytes)},
      {"reconnect.backoff.ms", std::to_string(spec_.reconnect_min_ms)},
      {"reconnect.backoff.max.ms", std::to_string(spec_.reconnect_max_ms)},
      // The Java client's partitioner: a key lands in the same partition whoever produces it.
      {"partitioner", "murmur2_random"},
      {"statistics.interval.ms", kStatsIntervalMs},
  };
  if (!spec_.client_id.empty()) settings.emplace_back("client.id", spec_.client_id);
  if (max_in_flight_ > 100000) {
    settings.emplace_back("queue.buffering.max.messages", std::to_string(max_in_flight_));
  }
  const bool sasl = !spec_.username.empty();
  if (spec_.tls) {
    const config::TlsSpec& tls = *spec_.tls;
    settings.emplace_back("security.protocol", sasl ? "sasl_ssl" : "ssl");
    if (!tls.ca_file.empty()) {
      settings.emplace_back("ssl.ca.location", tls.ca_file);
    } else if (!tls.ca_path.empty()) {
      settings.emplace_back("ssl.ca.location", tls.ca_path);
    }
    if (!tls.cert_file.empty()) settings.emplace_back("ssl.certificate.location", tls.cert_file);
    if (!tls.key_file.empty()) settings.emplace_back("ssl.key.location", tls.key_file);
    if (tls.insecure) {
      settings.emplace_back("enable.ssl.certificate.verification", "false");
      settings.emplace_back("ssl.endpoint.identification.algorithm", "none");
    }
  } else if (sasl) {
    settings.emplace_back("security.protocol", "sasl_plaintext");
  }
  if (sasl) {
    settings.emplace_back("sasl.mechanisms", "PLAIN");
    settings.emplace_back("sasl.username", spec_.username);
    settings.emplace_back("sasl.password", spec_.password);
  }
  // The connection's "options" come last and override everything above.
  settings.insert(settings.end(), k.options.begin(), k.options.end());

  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  for (const auto& [key, value] : settings) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      error = where() + ": librdkafka option \"" + key +
              "\": " + (is_secret(key) ? std::string("invalid value") : scrub(errstr));
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  }
  return conf;
}

bool KafkaSink::create_producer(std::string& error) {
  rd_kafka_conf_t* conf = build_conf(error);
  if (conf == nullptr) return false;
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, &KafkaSink::delivery_cb);
  rd_kafka_conf_set_error_cb(conf, &KafkaSink::error_cb);
  rd_kafka_conf_set_stats_cb(conf, &KafkaSink::stats_cb);
  rd_kafka_conf_set_log_cb(conf, &KafkaSink::log_cb);
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    error = where() + ": cannot create the producer: " + scrub(errstr);
    return false;
  }
  rk_ = rk;
  return true;
}

bool KafkaSink::ready() const noexcept {
  // pending_ holds exactly the messages librdkafka has and has not reported on (its
  // rd_kafka_outq_len() also counts events waiting for poll(), so it wobbles by a few).
  return rk_ != nullptr && !fatal_ && unqueued_ == 0 && pending_.size() < max_in_flight_;
}

SinkResult KafkaSink::send(const OutputMessage& message) {
  if (!ready()) {
    last_error_ = rk_ == nullptr ? "not started" : "busy: too many messages await delivery";
    ++counters_.retried;
    return SinkResult::kRetry;
  }
  const uint64_t id = next_id_;
  SinkResult r = produce(id, message);
  switch (r) {
    case SinkResult::kOk:
      ++next_id_;
      pending_.emplace(id, Pending{message, true});
      break;
    case SinkResult::kRetry:
      ++counters_.retried;
      break;
    case SinkResult::kError:
      ++counters_.failed;
      rate_log_.warn(now_ms(), where() + ": refused",
                     "a message to \"" + message.topic + "\": " + last_error_);
      break;
  }
  return r;
}

SinkResult KafkaSink::produce(uint64_t id, const OutputMessage& m) {
  std::vector<rd_kafka_vu_t> vus;
  vus.reserve(m.headers.size() + 8);
  auto add = [&vus](rd_kafka_vtype_t type) -> rd_kafka_vu_t& {
    vus.emplace_back();
    vus.back().vtype = type;
    return vus.back();
  };
  add(RD_KAFKA_VTYPE_TOPIC).u.cstr = m.topic.c_str();
  add(RD_KAFKA_VTYPE_MSGFLAGS).u.i = RD_KAFKA_MSG_F_COPY;
  rd_kafka_vu_t& value = add(RD_KAFKA_VTYPE_VALUE);
  value.u.mem.ptr = const_cast<char*>(m.payload.data());  // copied (RD_KAFKA_MSG_F_COPY)
  value.u.mem.size = m.payload.size();
  if (!m.key.empty()) {
    rd_kafka_vu_t& key = add(RD_KAFKA_VTYPE_KEY);
    key.u.mem.ptr = const_cast<char*>(m.key.data());
    key.u.mem.size = m.key.size();
  }
  add(RD_KAFKA_VTYPE_OPAQUE).u.ptr = reinterpret_cast<void*>(static_cast<uintptr_t>(id));
  // One headers list of our own (RD_KAFKA_VTYPE_HEADERS): librdkafka takes it over only
  // when the message is accepted. Not RD_KAFKA_VTYPE_HEADER, whose list librdkafka 2.0.2
  // frees twice when produceva() fails after creating the message (librdkafka #4627).
  rd_kafka_headers_t* headers = nullptr;
  const size_t header_count = m.headers.size() + (m.output_id.empty() ? 0 : 1) + (m.resent ? 1 : 0);
  if (header_count > 0) {
    headers = rd_kafka_headers_new(header_count);
    for (const auto& [name, text] : m.headers) {
      rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), text.data(),
                          static_cast<ssize_t>(text.size()));
    }
    if (!m.output_id.empty()) {
      rd_kafka_header_add(headers, "weir-output-id", -1, m.output_id.data(),
                          static_cast<ssize_t>(m.output_id.size()));
    }
    if (m.resent) rd_kafka_header_add(headers, "weir-resent", -1, "true", 4);
    add(RD_KAFKA_VTYPE_HEADERS).u.headers = headers;
  }

  rd_kafka_error_t* error = rd_kafka_produceva(rk_, vus.data(), vus.size());
  if (error == nullptr) return SinkResult::kOk;
  if (headers != nullptr) rd_kafka_headers_destroy(headers);
  const rd_kafka_resp_err_t code = rd_kafka_error_code(error);
  last_error_ = scrub(rd_kafka_error_string(error));
  rd_kafka_error_destroy(error);
  if (code == RD_KAFKA_RESP_ERR__FATAL) fatal_ = true;  // poll() recreates the producer
  return permanent(code) ? SinkResult::kError : SinkResult::kRetry;
}

void KafkaSink::poll(std::vector<SinkConfirmation>& confirmed) {
  if (rk_ != nullptr) rd_kafka_poll(rk_, 0);
  if (started_ && (fatal_ || rk_ == nullptr) && SteadyClock::now() >= next_restart_) {
    recreate_producer();
  }
  if (unqueued_ > 0) produce_pending();
  if (confirmed.empty()) {
    confirmed.swap(confirmed_);
  } else {
    std::move(confirmed_.begin(), confirmed_.end(), std::back_inserter(confirmed));
    confirmed_.clear();
  }
}

void KafkaSink::produce_pending() {
  if (rk_ == nullptr || fatal_) return;
  for (auto it = pending_.begin(); it != pending_.end() && unqueued_ > 0;) {
    Pending& p = it->second;
    if (p.queued) {
      ++it;
      continue;
    }
    SinkResult r = produce(it->first, p.message);
    if (r == SinkResult::kRetry) return;  // keep the order: try again on the next poll
    --unqueued_;
    if (r == SinkResult::kOk) {
      p.queued = true;
      ++it;
      continue;
    }
    ++counters_.failed;
    rate_log_.warn(now_ms(), where() + ": refused",
                   "a message to \"" + p.message.topic + "\": " + last_error_);
    if (p.message.ticket != 0) confirmed_.push_back({p.message.ticket, false, last_error_, false});
    it = pending_.erase(it);
  }
}

void KafkaSink::recreate_producer() {
  if (rk_ != nullptr) {
    char reason[512] = "";
    const rd_kafka_resp_err_t code = rd_kafka_fatal_error(rk_, reason, sizeof reason);
    // Logged once per error code: the text carries ids and timings that change each time.
    const std::string problem = std::string("fatal producer error ") + rd_kafka_err2name(code);
    if (problem != last_problem_) {
      spdlog::error(
          "{}: {}: {}; recreating the producer and producing the {} unconfirmed message(s) again",
          where(), problem, scrub(reason), pending_.size());
      last_problem_ = problem;
    }
    rd_kafka_t* old = rk_;
    rk_ = nullptr;  // the old producer's delivery reports are ignored from here on
    rd_kafka_purge(old, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(old, 0);
    rd_kafka_destroy(old);
  }
  fatal_ = false;
  // A fatal error that comes back at once (say, no permission to produce idempotently)
  // must not spin: wait reconnect_min_ms, doubling up to reconnect_max_ms.
  const auto lo = clamp_ms(spec_.reconnect_min_ms, 100);
  const auto hi = std::max(lo, clamp_ms(spec_.reconnect_max_ms, 100));
  restart_backoff_ = restart_backoff_.count() == 0 ? lo : std::min(restart_backoff_ * 2, hi);
  next_restart_ = SteadyClock::now() + restart_backoff_;
  ++counters_.restarts;
  std::string error;
  if (!create_producer(error)) {
    if (error != last_problem_) spdlog::error("{}", error);
    last_problem_ = error;
    return;
  }
  for (auto& [id, p] : pending_) p.queued = false;
  unqueued_ = pending_.size();
}

void KafkaSink::on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* m) {
  if (rk != rk_) return;  // a replaced producer's leftovers
  auto it = pending_.find(id_of(m->_private));
  if (it == pending_.end()) return;
  const uint64_t ticket = it->second.message.ticket;
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++counters_.delivered;
    if (!connected_) {
      connected_ = true;
      spdlog::info("{}: delivering again", where());
    }
    last_problem_.clear();
    restart_backoff_ = std::chrono::milliseconds(0);
    if (ticket != 0) confirmed_.push_back({ticket, true, {}, false});
    pending_.erase(it);
    return;
  }
  const std::string reason = scrub(rd_kafka_err2str(m->err));
  if (permanent(m->err)) {
    ++counters_.failed;
    rate_log_.warn(now_ms(), where() + ": refused",
                   "a message to \"" + it->second.message.topic + "\": " + reason);
    if (ticket != 0) confirmed_.push_back({ticket, false, reason, false});
    pending_.erase(it);
    return;
  }
  if (m->err == RD_KAFKA_RESP_ERR__FATAL || fatal_) {
    fatal_ = true;  // recreate_producer() produces it again
    return;
  }
  // Worth another try (it timed out because "options" set message.timeout.ms, or was
  // purged): produce it again. It goes after messages produced since, so a key's order may
  // change here; with the default settings librdkafka never gives up on a message.
  spdlog::debug("{}: delivery failed ({}); producing the message again", where(), reason);
  if (it->second.queued) {
    it->second.queued = false;
    ++unqueued_;
  }
}

void KafkaSink::on_error(rd_kafka_t* rk, int code, const char* reason) {
  if (rk != rk_) return;
  const auto err = static_cast<rd_kafka_resp_err_t>(code);
  const std::string text = scrub(reason != nullptr ? reason : "");
  switch (err) {
    case RD_KAFKA_RESP_ERR__FATAL:
      fatal_ = true;
      return;
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
      if (connected_) {
        connected_ = false;
        spdlog::warn("{}: all brokers down: {}{}", where(), text,
                     last_transport_error_.empty() ? "" : " (" + last_transport_error_ + ")");
      }
      return;
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__RESOLVE:
      // One broker's connection failed: reported with "all brokers down" if all did.
      last_transport_error_ = text;
      spdlog::debug("{}: {}", where(), text);
      return;
    default:
      // Authentication, TLS, and the like: once per distinct text, not once per retry.
      if (text != last_problem_) {
        spdlog::warn("{}: {}: {}", where(), rd_kafka_err2name(err), text);
        last_problem_ = text;
      }
      return;
  }
}

int KafkaSink::on_stats(rd_kafka_t* rk, const char* json, size_t size) {
  if (rk != rk_ || connected_) return 0;
  const auto stats = nlohmann::json::parse(json, json + size, nullptr, false);
  if (stats.is_discarded() || !stats.contains("brokers")) return 0;
  for (const auto& [broker, info] : stats["brokers"].items()) {
    if (info.is_object() && info.value("state", "") == "UP" &&
        info.value("source", "") != "internal") {
      connected_ = true;
      spdlog::info("{}: connected again to {}", where(), broker);
      break;
    }
  }
  return 0;
}

void KafkaSink::delivery_cb(rd_kafka_t* rk, const rd_kafka_message_t* m, void* self) {
  static_cast<KafkaSink*>(self)->on_delivery(rk, m);
}

void KafkaSink::error_cb(rd_kafka_t* rk, int err, const char* reason, void* self) {
  static_cast<KafkaSink*>(self)->on_error(rk, err, reason);
}

int KafkaSink::stats_cb(rd_kafka_t* rk, char* json, size_t size, void* self) {
  return static_cast<KafkaSink*>(self)->on_stats(rk, json, size);
}

// Called on librdkafka's threads: touches only what never changes after construction.
void KafkaSink::log_cb(const rd_kafka_t* rk, int level, const char* facility, const char* text) {
  const auto* self = static_cast<const KafkaSink*>(rd_kafka_opaque(rk));
  if (self == nullptr) return;
  if (level <= 4 && std::strcmp(facility, "CONFWARN") == 0) {
    spdlog::warn("{}: {}", self->where(), self->scrub(text));
  } else {
    spdlog::debug("{}: librdkafka {}: {}", self->where(), facility, self->scrub(text));
  }
}

TimeMs KafkaSink::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             SteadyClock::now().time_since_epoch())
      .count();
}

}  // namespace weir::sink
