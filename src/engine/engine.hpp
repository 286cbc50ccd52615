// The engine: builds pipelines from a config, routes each message to the pipelines whose
// $source matches it (decoding once per format), drives time and hands outputs to sinks.
// It runs on one thread; the MQTT threads only queue messages for it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/rate_limited_log.hpp"
#include "engine/output_router.hpp"
#include "engine/pipeline_runner.hpp"
#include "weir/codec.hpp"
#include "weir/record.hpp"
#include "weir/sink.hpp"
#include "weir/time.hpp"

namespace weir::engine {

// Message::connection value that routes a message to every pipeline whose $source topic
// matches, whatever its connection (weir replay).
inline constexpr uint32_t kAnyConnection = UINT32_MAX;

struct Subscription {
  uint32_t connection;
  std::string filter;
  int qos;
};

struct EngineOptions {
  // Readings more than $source maxFutureSkew ahead of processing time go to the dead-letter
  // topic. Off in replay, whose processing time is virtual.
  bool check_future_skew = true;
};

class Engine {
 public:
  // Builds every pipeline; throws config::ConfigError for any invalid stage.
  Engine(const config::Config& config, const Clock& clock, EngineOptions options = {});
  ~Engine();

  // Connections in index order (Message::connection, set_sink).
  const std::vector<std::string>& connection_names() const noexcept { return connection_names_; }
  // One subscription per distinct topic filter and connection (highest QoS asked for).
  std::vector<Subscription> subscriptions() const;
  // Connections that pipelines publish to ($emit, dlq).
  std::vector<uint32_t> output_connections() const;

  void set_sink(uint32_t connection, Sink* sink, state::Outbox* outbox = nullptr) {
    router_.set_sink(connection, sink, outbox);
  }

  void handle(const Message& message);
  // Processing time moved: idle timeouts, retries of parked outputs.
  void tick();
  // End of input: close every window, try every parked output once more.
  void flush();

  const std::vector<std::unique_ptr<PipelineRunner>>& pipelines() const noexcept { return pipelines_; }
  PipelineRunner* pipeline(std::string_view name) const noexcept;
  // A reload: takes over the outputs of the engine it replaces (parked outputs, retry
  // state, sink counters) and the counters of the pipelines that keep their name.
  void adopt(Engine& old);
  const OutputRouter& router() const noexcept { return router_; }
  OutputRouter& router() noexcept { return router_; }
  uint64_t messages() const noexcept { return messages_; }
  uint64_t unmatched() const noexcept { return unmatched_; }
  std::string stats_line() const;

 private:
  struct Route {
    PipelineRunner* pipeline;
    size_t decoder;                             // index into decoders_
    std::vector<std::string_view> captures;     // named topic levels of the current message
  };
  struct Decoder {
    std::unique_ptr<Codec> codec;
    // Per message: the decoded readings, shared by every pipeline with the same format.
    uint64_t message_seq = 0;
    DecodeResult result = DecodeResult::kOk;
    std::vector<Value> readings;
    std::string error;
  };
  void deliver(Route& r, Decoder& d, const Message& m, bool last_user);
  bool extract_time(const SourceSpec& s, const Value& doc, TimeMs& out, std::string& error) const;

  const Clock& clock_;
  EngineOptions options_;
  std::vector<std::string> connection_names_;
  OutputRouter router_;
  core::RateLimitedLog log_;
  std::vector<std::unique_ptr<PipelineRunner>> pipelines_;
  std::vector<Decoder> decoders_;
  std::vector<std::vector<Route>> routes_;  // per connection
  std::vector<Route*> matched_;
  uint64_t messages_ = 0;
  uint64_t unmatched_ = 0;
};

}  // namespace weir::engine
