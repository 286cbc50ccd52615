// Produces outputs to Kafka with librdkafka. The producer is idempotent (acks=all), so
// librdkafka's own retries neither duplicate nor reorder a partition's messages, and
// messages never time out inside librdkafka (the engine's outbox bounds what waits).
// Delivery reports confirm tickets through poll(); a message the cluster refuses for good
// (too large, not authorized) is confirmed with ok=false. When the producer hits a fatal
// error it is recreated and every unconfirmed message is produced again, in order.
// All methods are called from one thread (the engine thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/rate_limited_log.hpp"
#include "weir/sink.hpp"
#include "weir/time.hpp"

struct rd_kafka_s;
struct rd_kafka_conf_s;
struct rd_kafka_message_s;

namespace weir::sink {

struct KafkaCounters {
  uint64_t delivered = 0;  // delivery reports without error
  uint64_t failed = 0;     // refused for good (send() kError, or a permanent delivery error)
  uint64_t retried = 0;    // send() answered kRetry
  uint64_t restarts = 0;   // producers recreated after a fatal error
};

class KafkaSink final : public Sink {
 public:
  // max_in_flight: messages produced and not yet confirmed; past it ready() is false.
  explicit KafkaSink(const config::ConnectionSpec& spec, size_t max_in_flight = 10000);
  ~KafkaSink() override;  // flushes for 2 s at most, then drops what is left
  KafkaSink(const KafkaSink&) = delete;
  KafkaSink& operator=(const KafkaSink&) = delete;

  // Builds the producer. False, with an error naming the connection and the librdkafka
  // option, on a bad setting.
  bool start(std::string& error);

  std::string_view name() const noexcept override { return name_; }
  SinkResult send(const OutputMessage& message) override;
  bool ready() const noexcept override;
  void poll(std::vector<SinkConfirmation>& confirmed) override;

  // False from librdkafka's "all brokers down" until the next successful delivery, or until
  // its statistics (statistics.interval.ms, 1 s) show a broker up again: the engine sends
  // nothing while a sink is down, so there may be no delivery to wait for.
  bool connected() const noexcept { return connected_; }
  // Messages produced and not yet confirmed.
  size_t in_flight() const noexcept { return pending_.size(); }
  const KafkaCounters& counters() const noexcept { return counters_; }
  // Why the last send() (or a resend after a fatal error) answered kError or kRetry.
  const std::string& last_error() const noexcept { return last_error_; }

 private:
  struct Pending {
    OutputMessage message;
    bool queued = false;  // handed to the current producer
  };

  // The producer's configuration; nullptr with error on a bad setting.
  rd_kafka_conf_s* build_conf(std::string& error);
  bool create_producer(std::string& error);
  // Hands one message to librdkafka; opaque id finds it in pending_ again.
  SinkResult produce(uint64_t id, const OutputMessage& message);
  // Produces the pending messages that the current producer does not have yet, in order.
  void produce_pending();
  // After a fatal error: replaces the producer and marks every pending message unqueued.
  void recreate_producer();
  void on_delivery(rd_kafka_s* rk, const rd_kafka_message_s* m);
  void on_error(rd_kafka_s* rk, int err, const char* reason);
  int on_stats(rd_kafka_s* rk, const char* json, size_t size);
  // "connection \"NAME\" (kafka, PATH)", the start of every message.
  std::string where() const;
  // text with the password (should librdkafka ever quote it) replaced by "***".
  std::string scrub(std::string text) const;
  static TimeMs now_ms();

  // librdkafka's callbacks; the void* is this sink (rd_kafka_conf_set_opaque).
  static void delivery_cb(rd_kafka_s* rk, const rd_kafka_message_s* m, void* self);
  static void error_cb(rd_kafka_s* rk, int err, const char* reason, void* self);
  static int stats_cb(rd_kafka_s* rk, char* json, size_t size, void* self);
  static void log_cb(const rd_kafka_s* rk, int level, const char* facility, const char* text);

  const config::ConnectionSpec spec_;
  const size_t max_in_flight_;
  const std::string name_;
  rd_kafka_s* rk_ = nullptr;
  bool started_ = false;
  uint64_t next_id_ = 1;
  // Produced and unconfirmed messages by id (their order): kept so that a recreated
  // producer can send them again. Bounded by max_in_flight_.
  std::map<uint64_t, Pending> pending_;
  size_t unqueued_ = 0;                      // pending_ entries with queued == false
  std::vector<SinkConfirmation> confirmed_;  // filled by delivery reports
  bool connected_ = true;
  bool fatal_ = false;
  std::chrono::steady_clock::time_point next_restart_{};
  std::chrono::milliseconds restart_backoff_{0};
  std::string last_transport_error_;
  std::string last_problem_;  // the last error logged, so each is logged once
  std::string last_error_;
  KafkaCounters counters_;
  core::RateLimitedLog rate_log_;
};

}  // namespace weir::sink
