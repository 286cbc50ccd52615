// $detect: per group (partitionBy) and numeric field, runs the configured methods on each
// reading, adds _anomaly {score, flags} to it and publishes alerts (raised / cleared) and,
// optionally, a retained per-group state of the active alerts.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pipeline/detect/alert_state.hpp"
#include "pipeline/detect/detector_method.hpp"
#include "pipeline/emit/topic_template.hpp"
#include "pipeline/expr/expression.hpp"
#include "pipeline/stage_factory.hpp"
#include "weir/operator.hpp"

namespace weir::pipeline::detect {

struct AlertOutput {
  uint32_t connection = 0;
  TopicTemplate topic;
  std::optional<TopicTemplate> state_topic;
  int qos = 1;
  double rate_count = 100;  // at most this many alerts ...
  TimeMs rate_per = 1000;   // ... per this long (processing time); the rest are suppressed
};

struct DetectOptions {
  std::vector<std::pair<std::string, std::unique_ptr<Expression>>> partition;  // name, value
  std::vector<std::pair<std::string, FieldPath>> fields;                       // name, path
  std::vector<MethodSpec> methods;
  std::optional<AlertOutput> alerts;
  size_t max_groups = 1000000;
};

class DetectStage final : public Operator {
 public:
  DetectStage(DetectOptions options, std::string pipeline);

  StageResult process(Record& record, StageContext& ctx) override;
  void on_tick(StageContext& ctx) override;
  OperatorStats stats() const override;
  // Checkpoints: one entry per series (its methods' states, its alerts, its timer) and one
  // for the stage's counters and rate limit. load() goes into a stage built from the same
  // config; an entry that does not fit (a changed config) leaves its series fresh. kChanged
  // writes the series of partitions that had a reading or a timer event since the last save.
  void save(StateWriter& out, SaveMode mode) override;
  void load(StateReader& in) override;

 private:
  struct Group;
  struct Series {
    Group* group = nullptr;
    size_t field = 0;
    std::vector<std::unique_ptr<MethodState>> states;  // per method; null for "missing"
    std::vector<AlertState> alerts;                    // per method
    double last_value = 0.0;
    // The dead-man timer ("missing"): processing time of the last reading.
    TimeMs last_seen = 0;
    TimeMs last_event = 0;
    bool in_timer = false;
    std::list<Series*>::iterator timer_pos;
  };
  struct Group {
    std::string key;  // JSON text of the partition values
    Value fields;     // the partition values by name (an object)
    std::vector<Series> series;  // per field
    bool dirty = false;          // changed since the last save (in dirty_)
  };
  void touch(Group& g) {
    if (!g.dirty) {
      g.dirty = true;
      dirty_.push_back(&g);
    }
  }
  void save_group(StateWriter& out, const Group& g) const;

  Group& group_for(std::string&& key, Value&& fields);
  void transition(StageContext& ctx, Series& s, size_t method, AlertStep step, TimeMs t,
                  const Value& value, const Judgement& j);
  void publish_state(StageContext& ctx, const Group& g);
  bool take_token(TimeMs now);
  std::string alert_id(const Series& s, size_t method, TimeMs raised_at) const;

  const DetectOptions options_;
  const std::string pipeline_;
  std::optional<size_t> missing_method_;  // index of the "missing" method, when configured
  TimeMs missing_after_ = 0;
  std::unordered_map<std::string, std::unique_ptr<Group>> groups_;
  std::vector<Group*> dirty_;
  std::list<Series*> timer_;  // series with a running dead-man timer, oldest reading first
  double tokens_ = 0.0;
  TimeMs tokens_at_ = kMinTime;
  uint64_t raised_ = 0;
  uint64_t cleared_ = 0;
  uint64_t suppressed_ = 0;
  std::string key_buffer_;
  std::string topic_buffer_;
};

const ComponentInfo& detect_info();
std::unique_ptr<Operator> make_detect(const config::Node& spec, const StageBuildContext& ctx);

}  // namespace weir::pipeline::detect
