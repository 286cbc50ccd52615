#include "engine/engine.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <spdlog/spdlog.h>

#include "codec/codec_registry.hpp"
#include "engine/registry.hpp"

namespace weir::engine {

namespace {

uint32_t connection_index(std::vector<std::string>& names, const std::string& name) {
  auto it = std::find(names.begin(), names.end(), name);
  if (it != names.end()) return static_cast<uint32_t>(it - names.begin());
  names.push_back(name);
  return static_cast<uint32_t>(names.size() - 1);
}

std::string stage_list() {
  std::string list = "$source, $emit, $merge";
  for (const auto& s : builtin_stages()) list += ", " + std::string(s.name);
  return list;
}

}  // namespace

Engine::Engine(const config::Config& config, const Clock& clock, EngineOptions options)
    : clock_(clock), options_(options) {
  for (const auto& [name, c] : config.connections()) connection_index(connection_names_, name);
  routes_.resize(connection_names_.size());
  std::map<std::string, size_t> decoder_by_key;

  for (size_t pi = 0; pi < config.pipelines().size(); ++pi) {
    const auto& spec = config.pipelines()[pi];
    config::Node stages = config.stages(pi);
    // First stage: $source.
    config::Node first = stages.at(size_t{0});
    if (first.single_operator_key("stage") != "$source") {
      first.fail("the first stage to be {\"$source\": {...}}");
    }
    config::Node source_node = first.at("$source");
    SourceSpec source = SourceSpec::parse(source_node);
    const auto& src_conn_spec = config.connection(source.connection, source_node.path() + "/connectionName");
    if (src_conn_spec.type != "mqtt") {
      throw config::ConfigError(source_node.path() + "/connectionName",
                                "connection \"" + source.connection + "\" is of type " + src_conn_spec.type +
                                    ", expected a connection of type mqtt");
    }
    // Last stage: $emit or $merge.
    size_t n = stages.size();
    config::Node last = stages.at(n - 1);
    const std::string last_key = n < 2 ? std::string() : last.single_operator_key("stage");
    if (last_key != "$emit" && last_key != "$merge") {
      last.fail("the last stage to be {\"$emit\": {...}} or {\"$merge\": {...}}");
    }
    config::Node emit_node = last.at(last_key);
    EmitSpec emit = last_key == "$emit" ? EmitSpec::parse(emit_node) : EmitSpec::parse_merge(emit_node);
    const std::string emit_conn_path =
        emit_node.path() + (emit.merge ? "/into/connectionName" : "/connectionName");
    const auto& emit_conn_spec = config.connection(emit.connection, emit_conn_path);
    if (emit.merge != (emit_conn_spec.type == "sqlite")) {
      throw config::ConfigError(emit_conn_path, "connection \"" + emit.connection + "\" is of type " +
                                                    emit_conn_spec.type + ", expected " +
                                                    (emit.merge ? "a connection of type sqlite"
                                                                : "a connection of type mqtt or kafka"));
    }

    std::vector<std::unique_ptr<Operator>> ops;
    std::vector<std::string> stage_names;
    for (size_t si = 1; si + 1 < n; ++si) {
      config::Node stage = stages.at(si);
      std::string key = stage.single_operator_key("stage");
      const RegisteredStage* reg = find_stage(key);
      if (reg == nullptr) {
        if (key == "$source" || key == "$emit" || key == "$merge") {
          stage.fail(key + " only as the " + (key == "$source" ? "first" : "last") + " stage");
        }
        throw config::ConfigError(stage.path() + "/" + config::pointer_escape(key),
                                  "unknown stage \"" + key + "\", expected one of " + stage_list());
      }
      pipeline::StageBuildContext ctx{spec.name, si, emit.connection, {}};
      ctx.connection = [&](const std::string& name, const std::string& path) {
        config.connection(name, path);
        return connection_index(connection_names_, name);
      };
      ops.push_back(reg->factory.make(stage.at(key), ctx));
      stage_names.push_back(key);
    }
    std::optional<uint32_t> dlq;
    std::string dlq_topic;
    if (spec.dlq) {
      if (config.connections().at(spec.dlq->connection).type == "sqlite") {
        throw config::ConfigError(spec.path + "/dlq/connectionName",
                                  "connection \"" + spec.dlq->connection +
                                      "\" is of type sqlite, expected a connection of type mqtt or kafka");
      }
      dlq = connection_index(connection_names_, spec.dlq->connection);
      dlq_topic = spec.dlq->topic;
    }
    uint32_t emit_conn = connection_index(connection_names_, emit.connection);
    uint32_t src_conn = connection_index(connection_names_, source.connection);
    std::string key = source.codec_key();
    auto dit = decoder_by_key.find(key);
    if (dit == decoder_by_key.end()) {
      Decoder d;
      d.codec = codec::make_codec(source.format, source.codec_options);
      decoders_.push_back(std::move(d));
      dit = decoder_by_key.emplace(key, decoders_.size() - 1).first;
    }
    pipelines_.push_back(std::make_unique<PipelineRunner>(
        spec.name, std::move(source), std::move(ops), std::move(emit), emit_conn, dlq,
        std::move(dlq_topic), router_, clock_, log_));
    pipelines_.back()->set_stage_names(std::move(stage_names));
    routes_[src_conn].push_back(Route{pipelines_.back().get(), dit->second, {}});
  }
}

Engine::~Engine() = default;

PipelineRunner* Engine::pipeline(std::string_view name) const noexcept {
  for (const auto& p : pipelines_) {
    if (p->name() == name) return p.get();
  }
  return nullptr;
}

void Engine::adopt(Engine& old) {
  // The pipelines hold a reference to router_ (this member): assigned, not replaced.
  router_ = std::move(old.router_);
  messages_ = old.messages_;
  unmatched_ = old.unmatched_;
  for (auto& p : pipelines_) {
    if (const PipelineRunner* o = old.pipeline(p->name())) p->adopt_counters(o->counters());
  }
}

std::vector<Subscription> Engine::subscriptions() const {
  std::vector<Subscription> subs;
  for (uint32_t c = 0; c < routes_.size(); ++c) {
    for (const auto& r : routes_[c]) {
      const auto& src = r.pipeline->source();
      auto it = std::find_if(subs.begin(), subs.end(), [&](const Subscription& s) {
        return s.connection == c && s.filter == src.pattern.filter();
      });
      if (it == subs.end()) {
        subs.push_back({c, src.pattern.filter(), src.qos});
      } else {
        it->qos = std::max(it->qos, src.qos);
      }
    }
  }
  // A filter covered by another on the same connection is not subscribed: brokers may
  // deliver a message once per matching subscription (mosquitto 2.0 does by default), and
  // each copy would reach every matching pipeline.
  std::vector<Subscription> kept;
  for (const auto& s : subs) {
    bool covered = false;
    for (const auto& o : subs) {
      if (&o != &s && o.connection == s.connection && ingest::filter_covers(o.filter, s.filter)) {
        covered = true;
      }
    }
    if (!covered) kept.push_back(s);
  }
  for (auto& k : kept) {
    for (const auto& s : subs) {
      if (s.connection == k.connection && ingest::filter_covers(k.filter, s.filter)) {
        k.qos = std::max(k.qos, s.qos);
      }
    }
  }
  return kept;
}

std::vector<uint32_t> Engine::output_connections() const {
  std::vector<uint32_t> out;
  for (uint32_t c = 0; c < connection_names_.size(); ++c) out.push_back(c);
  return out;
}

void Engine::handle(const Message& m) {
  ++messages_;
  matched_.clear();
  for (uint32_t c = 0; c < routes_.size(); ++c) {
    if (m.connection != kAnyConnection && m.connection != c) continue;
    for (auto& r : routes_[c]) {
      if (r.pipeline->source().pattern.match(m.topic, r.captures)) matched_.push_back(&r);
    }
  }
  if (matched_.empty()) {
    ++unmatched_;
    return;
  }
  for (size_t i = 0; i < matched_.size(); ++i) {
    Route& r = *matched_[i];
    Decoder& d = decoders_[r.decoder];
    bool last_user = true;
    for (size_t j = i + 1; j < matched_.size(); ++j) last_user = last_user && matched_[j]->decoder != r.decoder;
    deliver(r, d, m, last_user);
  }
}

void Engine::deliver(Route& r, Decoder& d, const Message& m, bool last_user) {
  PipelineRunner& p = *r.pipeline;
  const SourceSpec& src = p.source();
  if (m.payload.size() > src.max_payload_bytes) {
    p.dead_letter(m, "payload_too_large",
                  "payload of " + std::to_string(m.payload.size()) + " bytes exceeds maxPayloadBytes " +
                      std::to_string(src.max_payload_bytes));
    return;
  }
  if (d.message_seq != messages_) {
    d.message_seq = messages_;
    d.readings.clear();
    d.error.clear();
    d.result = d.codec->decode(m.payload, DecodeContext{m.received}, d.readings, d.error);
  }
  if (d.result != DecodeResult::kOk) {
    p.dead_letter(m, "malformed", std::string(d.codec->name()) + ": " + d.error);
    return;
  }
  for (auto& reading : d.readings) {
    Record rec;
    rec.doc = last_user ? std::move(reading) : reading;
    for (size_t i = 0; i < r.captures.size(); ++i) {
      rec.doc.set(src.pattern.names()[i], Value(r.captures[i]));
    }
    rec.processing_time = m.received;
    rec.origin = &m;
    if (src.time_field) {
      std::string error;
      if (!extract_time(src, rec.doc, rec.event_time, error)) {
        p.dead_letter(m, error.rfind("missing", 0) == 0 ? "missing_time" : "bad_time", error);
        continue;
      }
      if (options_.check_future_skew && rec.event_time > m.received + src.max_future_skew) {
        // One reading from a device whose clock is far ahead would otherwise move the
        // watermark past every real reading, which would then all be late.
        p.dead_letter(m, "future_time",
                      "event time " + format_iso8601(rec.event_time) + " is more than " +
                          std::to_string(src.max_future_skew / 1000) + " s ahead of processing time " +
                          format_iso8601(m.received) + " (maxFutureSkew)");
        continue;
      }
    } else {
      rec.event_time = m.received;
    }
    p.push(std::move(rec));
  }
}

bool Engine::extract_time(const SourceSpec& s, const Value& doc, TimeMs& out,
                          std::string& error) const {
  const Value* v = doc.lookup(*s.time_field);
  if (v == nullptr || v->is_null()) {
    error = "missing time field \"" + s.time_field->str() + "\"";
    return false;
  }
  if (v->is_number()) {
    double scale = s.time_unit == TimeUnit::kMs ? 1.0 : s.time_unit == TimeUnit::kSecond ? 1000.0 : 0.001;
    if (v->is_int() && s.time_unit == TimeUnit::kMs) {
      out = v->as_int();
    } else {
      double ms = v->as_double() * scale;
      if (!std::isfinite(ms) || std::fabs(ms) > 8.0e15) {
        error = "time field \"" + s.time_field->str() + "\" is out of range: " + v->to_json();
        return false;
      }
      out = static_cast<TimeMs>(std::llround(ms));
    }
    if (out < -62135596800000LL || out > 253402300799999LL) {  // years 1..9999
      error = "time field \"" + s.time_field->str() + "\" is out of range: " + v->to_json();
      return false;
    }
    return true;
  }
  if (v->is_string()) {
    if (auto t = parse_iso8601(v->as_string())) {
      out = *t;
      return true;
    }
    error = "time field \"" + s.time_field->str() + "\" is not an ISO 8601 time: " + v->to_json();
    return false;
  }
  error = "time field \"" + s.time_field->str() + "\" is a " + std::string(v->type_name()) +
          ", expected epoch milliseconds or an ISO 8601 string";
  return false;
}

void Engine::tick() {
  for (auto& p : pipelines_) p->tick();
  router_.tick(clock_.now());
}

void Engine::flush() {
  for (auto& p : pipelines_) p->flush();
  router_.drain(clock_.now());
}

std::string Engine::stats_line() const {
  std::string s = "messages=" + std::to_string(messages_) + " unmatched=" + std::to_string(unmatched_);
  for (const auto& p : pipelines_) {
    const auto& c = p->counters();
    s += " | " + p->name() + ": in=" + std::to_string(c.readings_in) +
         " filtered=" + std::to_string(c.filtered) + " out=" + std::to_string(c.outputs) +
         " dlq=" + std::to_string(c.dead_letter_total());
    for (const auto& [reason, n] : c.dead_letters) s += " " + reason + "=" + std::to_string(n);
    OperatorStats st = p->state_stats();
    s += " groups=" + std::to_string(st.groups) + " state_kib=" + std::to_string(st.state_bytes / 1024);
    if (st.alerts_raised + st.alerts_suppressed > 0) {
      s += " alerts_raised=" + std::to_string(st.alerts_raised) +
           " alerts_cleared=" + std::to_string(st.alerts_cleared) +
           " alerts_suppressed=" + std::to_string(st.alerts_suppressed);
    }
  }
  auto sc = router_.counters();
  s += " | sinks: sent=" + std::to_string(sc.sent) + " retried=" + std::to_string(sc.retried) +
       " failed=" + std::to_string(sc.failed) + " dropped=" + std::to_string(sc.dropped) +
       " backlog=" + std::to_string(router_.backlog());
  s += router_.outbox_stats();
  return s;
}

}  // namespace weir::engine
