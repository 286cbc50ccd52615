#include "engine/pipeline_runner.hpp"

#include "core/base64.hpp"

namespace weir::engine {

namespace {
constexpr size_t kMaxDeadLetterPayload = 4096;
}  // namespace

// The StageContext of one stage: forward() continues after that stage.
class PipelineRunner::Context final : public StageContext {
 public:
  Context(PipelineRunner& runner, size_t index) : runner_(runner), index_(index) {}
  void forward(Record&& record) override { runner_.run(std::move(record), index_ + 1); }
  void reject(std::string_view reason, std::string_view detail) override {
    reason_ = reason;
    detail_ = detail;
  }
  TimeMs now() const override { return runner_.clock_.now(); }
  bool congested() const override { return runner_.router_.congested(runner_.emit_connection_); }
  void publish(uint32_t connection, OutputMessage&& message) override {
    runner_.router_.send(connection, std::move(message), runner_.clock_.now());
  }
  std::string reason_;
  std::string detail_;

 private:
  PipelineRunner& runner_;
  size_t index_;
};

PipelineRunner::PipelineRunner(std::string name, SourceSpec source,
                               std::vector<std::unique_ptr<Operator>> stages, EmitSpec emit,
                               uint32_t emit_connection, std::optional<uint32_t> dlq_connection,
                               std::string dlq_topic, OutputRouter& router, const Clock& clock,
                               core::RateLimitedLog& log)
    : name_(std::move(name)), source_(std::move(source)), stages_(std::move(stages)),
      emit_(std::move(emit)), emit_connection_(emit_connection), dlq_connection_(dlq_connection),
      dlq_topic_(std::move(dlq_topic)), router_(router), clock_(clock), log_(log) {
  for (size_t i = 0; i < stages_.size(); ++i) contexts_.push_back(std::make_unique<Context>(*this, i));
}

PipelineRunner::~PipelineRunner() = default;

void PipelineRunner::push(Record&& record) {
  ++counters_.readings_in;
  run(std::move(record), 0);
}

void PipelineRunner::run(Record&& record, size_t from) {
  for (size_t i = from; i < stages_.size(); ++i) {
    Context& ctx = *contexts_[i];
    switch (stages_[i]->process(record, ctx)) {
      case StageResult::kPass: continue;
      case StageResult::kDrop: ++counters_.filtered; return;
      case StageResult::kConsumed: return;
      case StageResult::kDeadLetter:
        dead_letter_record(record, ctx.reason_.empty() ? "rejected" : ctx.reason_, ctx.detail_, i);
        ctx.reason_.clear();
        ctx.detail_.clear();
        return;
    }
  }
  emit(record);
}

void PipelineRunner::emit(const Record& record) {
  OutputMessage out;
  emit_.topic.render(record.doc, out.topic);
  record.doc.append_json(out.payload);
  out.qos = emit_.qos;
  out.retain = emit_.retain;
  out.expiry_s = emit_.message_expiry_s;
  // The key keeps a group's outputs in one Kafka partition, in order.
  if (emit_.key) {
    emit_.key->render(record.doc, out.key);
  } else if (const Value* id = record.doc.find("_id"); id != nullptr && !id->is_null()) {
    if (id->is_string()) {
      out.key = id->as_string();
    } else {
      id->append_json(out.key);
    }
  }
  out.headers.emplace_back("weir-pipeline", name_);
  if (const Value* meta = record.doc.find("_stream_meta"); meta != nullptr && meta->is_object()) {
    if (const Value* oid = meta->find("outputId"); oid != nullptr && oid->is_string()) {
      out.output_id = oid->as_string();
    }
    if (const Value* w = meta->find("window"); w != nullptr && w->is_object()) {
      if (const Value* st = w->find("start"); st != nullptr && st->is_string()) {
        out.headers.emplace_back("weir-window-start", st->as_string());
      }
      if (const Value* en = w->find("end"); en != nullptr && en->is_string()) {
        out.headers.emplace_back("weir-window-end", en->as_string());
      }
    }
  } else if (const Value* aid = record.doc.find("alertId"); aid != nullptr && aid->is_string()) {
    out.output_id = aid->as_string();
  }
  ++counters_.outputs;
  router_.send(emit_connection_, std::move(out), clock_.now());
}

OperatorStats PipelineRunner::state_stats() const {
  OperatorStats total;
  for (const auto& s : stages_) {
    OperatorStats st = s->stats();
    total.groups += st.groups;
    total.state_bytes += st.state_bytes;
    total.alerts_raised += st.alerts_raised;
    total.alerts_cleared += st.alerts_cleared;
    total.alerts_suppressed += st.alerts_suppressed;
  }
  return total;
}

void PipelineRunner::tick() {
  for (size_t i = 0; i < stages_.size(); ++i) stages_[i]->on_tick(*contexts_[i]);
}

void PipelineRunner::flush() {
  for (size_t i = 0; i < stages_.size(); ++i) stages_[i]->flush(*contexts_[i]);
}

void PipelineRunner::dead_letter(const Message& origin, std::string_view reason,
                                 std::string_view detail) {
  publish_dead_letter(&origin, nullptr, reason, detail, std::nullopt);
}

void PipelineRunner::dead_letter_record(const Record& record, std::string_view reason,
                                        std::string_view detail, size_t stage) {
  publish_dead_letter(record.origin, &record, reason, detail, stage + 1);
}

void PipelineRunner::publish_dead_letter(const Message* origin, const Record* record,
                                         std::string_view reason, std::string_view detail,
                                         std::optional<size_t> stage) {
  ++counters_.dead_letters[std::string(reason)];
  TimeMs now = clock_.now();
  log_.warn(now, std::string(reason),
            "pipeline \"" + name_ + "\"" + (origin ? ", topic \"" + origin->topic + "\"" : "") +
                ": " + std::string(detail));
  if (!dlq_connection_) return;
  Value doc = Value::object();
  doc.set("reason", Value(reason));
  doc.set("detail", Value(detail));
  doc.set("pipeline", Value(name_));
  if (stage) doc.set("stage", Value(static_cast<int64_t>(*stage)));
  if (origin != nullptr) {
    doc.set("topic", Value(origin->topic));
    doc.set("receivedAt", Value(format_iso8601(origin->received)));
    // A dead letter carries at most kMaxDeadLetterPayload bytes of the payload, so an
    // oversize message is not republished once per pipeline.
    std::string_view payload = origin->payload;
    bool truncated = payload.size() > kMaxDeadLetterPayload;
    if (truncated) payload = payload.substr(0, kMaxDeadLetterPayload);
    if (core::is_valid_utf8(payload)) {
      doc.set("payload", Value(payload));
    } else {
      doc.set("payload", Value(core::base64_encode(payload)));
      doc.set("encoding", Value("base64"));
    }
    if (truncated) {
      doc.set("truncated", Value(true));
      doc.set("payloadBytes", Value(static_cast<int64_t>(origin->payload.size())));
    }
  }
  if (record != nullptr) {
    doc.set("eventTime", Value(format_iso8601(record->event_time)));
    if (origin == nullptr) doc.set("document", record->doc);
  }
  OutputMessage out;
  out.topic = dlq_topic_;
  doc.append_json(out.payload);
  out.qos = 1;
  router_.send(*dlq_connection_, std::move(out), now);
}

}  // namespace weir::engine
