#include "pipeline/window/window_options.hpp"

#include <algorithm>

#include "pipeline/window/window_state.hpp"

namespace weir::pipeline {

namespace {

// Closed windows' results held back while the output is congested: past this many they
// are emitted anyway and the output router's backlog limit (drop-oldest, counted) applies,
// so a sink that stays down cannot make fired windows pile up without bound.
constexpr size_t kMaxHeldGroups = 100000;

}  // namespace

WindowTimeOptions parse_window_time(const config::Node& spec, TimeMs default_update_for) {
  WindowTimeOptions o;
  o.update_for = default_update_for;
  if (auto n = spec.get("boundary")) {
    o.boundary = n->as_enum({"eventTime", "processingTime"}) == "eventTime" ? TimeBoundary::kEventTime
                                                                           : TimeBoundary::kProcessingTime;
  }
  if (auto n = spec.get("watermark")) {
    o.watermark = n->as_enum({"pipeline", "perKey"}) == "pipeline" ? WatermarkScope::kPipeline
                                                                   : WatermarkScope::kPerKey;
  }
  if (auto n = spec.get("late")) {
    o.late = n->as_enum({"dlq", "update"}) == "dlq" ? LatePolicy::kDeadLetter : LatePolicy::kUpdate;
  }
  if (auto n = spec.get("allowedLateness")) o.allowed_lateness = n->as_duration(true);
  if (auto n = spec.get("idleTimeout")) o.idle_timeout = n->as_duration();
  if (auto n = spec.get("updateFor")) {
    if (o.late != LatePolicy::kUpdate) n->fail("no updateFor unless \"late\" is \"update\"");
    o.update_for = n->as_duration();
  }
  if (auto n = spec.get("maxFutureSkew")) o.max_future_skew = n->as_duration(true);
  if (auto n = spec.get("maxGroups")) o.max_groups = static_cast<size_t>(n->as_int(1, INT64_C(1) << 40));
  if (o.boundary == TimeBoundary::kProcessingTime) {
    // Arrival time is never late and never in the future.
    for (const char* k : {"allowedLateness", "maxFutureSkew"}) {
      if (auto n = spec.get(k)) n->fail(std::string("no \"") + k + "\" with \"boundary\": \"processingTime\"");
    }
  }
  return o;
}

bool too_far_ahead(TimeMs t, TimeMs now, const WindowTimeOptions& options, StageContext& ctx) {
  if (t <= now + options.max_future_skew) return false;
  ctx.reject("future", "event time " + format_iso8601(t) + " is more than maxFutureSkew ahead of " +
                           format_iso8601(now));
  return true;
}

const Value* group_id(const GroupSpec& group, const Value& doc, Value& scratch, std::string& key,
                      StageContext& ctx) {
  const Value* id = nullptr;
  std::string missing;
  if (!group.key(doc, scratch, id, missing)) {
    ctx.reject("missing_group", "the reading has no \"" + missing + "\", which $group's _id needs");
    return nullptr;
  }
  key.clear();
  id->append_json(key);
  return id;
}

GroupSpec parse_window_group(const config::Node& spec) {
  config::Node inner = spec.at("pipeline");
  inner.expect_array(true);
  if (inner.size() != 1) inner.fail("exactly one stage: [{\"$group\": {...}}]");
  config::Node stage = inner.at(size_t{0});
  std::string key = stage.single_operator_key("stage");
  if (key != "$group") stage.fail("a $group stage");
  return GroupSpec::compile(stage.at("$group"));
}

void OutputQueue::add_batch(std::vector<PendingOutput>& batch) {
  if (batch.empty()) return;
  std::sort(batch.begin(), batch.end(), [](const PendingOutput& a, const PendingOutput& b) {
    if (a.end != b.end) return a.end < b.end;
    if (a.start != b.start) return a.start < b.start;
    int c = compare(a.id, b.id);
    if (c != 0) return c < 0;
    return a.partition < b.partition;
  });
  size_ += batch.size();
  const uint64_t first = next_seq_;
  next_seq_ += batch.size();
  queue_.push_back(Batch{std::move(batch), 0, first});
  batch = std::vector<PendingOutput>();
}

void OutputQueue::emit(StageContext& ctx, bool force) {
  while (!queue_.empty()) {
    Batch& b = queue_.front();
    while (b.next < b.items.size()) {
      if (!force && size_ <= kMaxHeldGroups && ctx.congested()) return;
      PendingOutput p = std::move(b.items[b.next++]);
      --size_;
      emit_one(p, ctx);
    }
    queue_.pop_front();
  }
}

void OutputQueue::emit_one(PendingOutput& p, StageContext& ctx) {
  if (p.start != meta_start_ || p.end != meta_end_ || p.revision != meta_revision_) {
    Value bounds = Value::object();
    bounds.reserve(3);
    bounds.set("start", Value(format_iso8601(p.start)));
    bounds.set("end", Value(format_iso8601(p.end)));
    if (with_revision_) bounds.set("revision", Value(p.revision));
    meta_ = Value::object();
    meta_.set("window", std::move(bounds));
    meta_start_ = p.start;
    meta_end_ = p.end;
    meta_revision_ = p.revision;
  }
  const auto& accs = group_.accumulators();
  Record out;
  out.doc = Value::object();
  out.doc.reserve(accs.size() + 2);
  out.doc.set("_id", std::move(p.id));
  for (size_t i = 0; i < accs.size(); ++i) out.doc.set(accs[i].output(), p.state.result(i));
  id_text_.clear();
  out.doc.find("_id")->append_json(id_text_);
  out.doc.set("_stream_meta", meta_)
      .set("outputId",
           Value(output_id(pipeline_, id_text_, p.partition, p.start, p.end, p.revision)));
  out.event_time = p.end - 1;
  out.processing_time = ctx.now();
  ctx.forward(std::move(out));
}

size_t OutputQueue::memory_bytes() const noexcept {
  size_t n = 0;
  for (const auto& b : queue_) {
    n += b.items.capacity() * sizeof(PendingOutput);
    for (size_t i = b.next; i < b.items.size(); ++i) n += b.items[i].state.memory_bytes();
  }
  return n;
}

uint64_t OutputQueue::head_seq() const noexcept {
  if (queue_.empty()) return next_seq_;
  return queue_.front().first_seq + queue_.front().next;
}

const std::string& OutputQueue::entry_key(uint64_t seq) {
  key_ = kEntryPrefix;
  key_ += hex16(seq);
  return key_;
}

void OutputQueue::save(StateWriter& out, Operator::SaveMode mode) {
  const uint64_t head = head_seq();
  uint64_t first_new = head;
  if (mode == Operator::SaveMode::kChanged) {
    for (const auto& key : stale_) out.erase(key);
    for (uint64_t s = saved_from_; s < std::min(head, saved_to_); ++s) out.erase(entry_key(s));
    first_new = std::max(head, saved_to_);
  }
  stale_.clear();
  for (const Batch& b : queue_) {
    if (b.first_seq + b.items.size() <= first_new) continue;
    size_t i = std::max<size_t>(b.next, first_new > b.first_seq ? first_new - b.first_seq : 0);
    for (; i < b.items.size(); ++i) {
      const PendingOutput& p = b.items[i];
      Value v = Value::array();
      v.reserve(6);
      v.push_back(Value(p.start));
      v.push_back(Value(p.end));
      v.push_back(Value(p.revision));
      v.push_back(save_value(p.id));
      v.push_back(save_value(Value(p.partition)));
      v.push_back(p.state.save());
      out.put(entry_key(b.first_seq + i), v);
    }
  }
  saved_from_ = head;
  saved_to_ = next_seq_;
}

bool OutputQueue::load(std::string_view key, const Value& saved) {
  stale_.emplace_back(key);
  PendingOutput p;
  Value partition;
  if (!saved.is_array() || saved.size() != 6 || !load_time(saved.at(0), p.start) ||
      !load_time(saved.at(1), p.end) || !load_int(saved.at(2), 0, INT64_C(1) << 62, p.revision) ||
      !load_value(saved.at(3), p.id) || !load_value(saved.at(4), partition) ||
      !partition.is_string()) {
    return false;
  }
  p.partition = partition.as_string();
  p.state = group_.new_state();
  if (!p.state.load(saved.at(5))) return false;
  // In key order, so in queue order: one batch, numbered from 0 (the numbers the store
  // holds are the stale ones).
  if (queue_.empty()) queue_.push_back(Batch{{}, 0, next_seq_});
  queue_.back().items.push_back(std::move(p));
  ++size_;
  ++next_seq_;
  return true;
}

}  // namespace weir::pipeline
