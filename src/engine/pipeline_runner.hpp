// One configured pipeline at run time: its source, stages, $emit and dead-letter topic.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/rate_limited_log.hpp"
#include "engine/emit_spec.hpp"
#include "engine/output_router.hpp"
#include "engine/source_spec.hpp"
#include "weir/time.hpp"
#include "weir/operator.hpp"

namespace weir::engine {

struct PipelineCounters {
  uint64_t readings_in = 0;  // readings decoded and entering the stages
  uint64_t filtered = 0;     // dropped on purpose ($match, validation "discard")
  uint64_t outputs = 0;      // results published by $emit
  std::map<std::string, uint64_t> dead_letters;  // by reason
  uint64_t dead_letter_total() const {
    uint64_t n = 0;
    for (const auto& [r, c] : dead_letters) n += c;
    return n;
  }
};

class PipelineRunner {
 public:
  PipelineRunner(std::string name, SourceSpec source, std::vector<std::unique_ptr<Operator>> stages,
                 EmitSpec emit, uint32_t emit_connection, std::optional<uint32_t> dlq_connection,
                 std::string dlq_topic, OutputRouter& router, const Clock& clock,
                 core::RateLimitedLog& log);
  ~PipelineRunner();

  const std::string& name() const noexcept { return name_; }
  const SourceSpec& source() const noexcept { return source_; }
  const PipelineCounters& counters() const noexcept { return counters_; }
  void adopt_counters(const PipelineCounters& c) { counters_ = c; }
  // Groups and state bytes held by the stages (windows).
  OperatorStats state_stats() const;
  // The stages between $source and $emit, for checkpoints.
  size_t stage_count() const noexcept { return stages_.size(); }
  // The stage names ("$tumblingWindow"...), in order, for metrics.
  void set_stage_names(std::vector<std::string> names) { stage_names_ = std::move(names); }
  const std::string& stage_name(size_t i) const { return stage_names_.at(i); }
  Operator& stage(size_t i) noexcept { return *stages_[i]; }
  const Operator& stage(size_t i) const noexcept { return *stages_[i]; }

  // A decoded reading of origin enters the first stage after $source.
  void push(Record&& record);
  // A message that never became a reading (too large, malformed, no time).
  void dead_letter(const Message& origin, std::string_view reason, std::string_view detail);
  void tick();
  void flush();

 private:
  class Context;
  void run(Record&& record, size_t from);
  void emit(const Record& record);
  void dead_letter_record(const Record& record, std::string_view reason, std::string_view detail,
                          size_t stage);
  void publish_dead_letter(const Message* origin, const Record* record, std::string_view reason,
                           std::string_view detail, std::optional<size_t> stage);

  std::string name_;
  SourceSpec source_;
  std::vector<std::unique_ptr<Operator>> stages_;
  std::vector<std::string> stage_names_;
  std::vector<std::unique_ptr<Context>> contexts_;
  EmitSpec emit_;
  uint32_t emit_connection_;
  std::optional<uint32_t> dlq_connection_;
  std::string dlq_topic_;
  OutputRouter& router_;
  const Clock& clock_;
  core::RateLimitedLog& log_;
  PipelineCounters counters_;
  std::string topic_buffer_;
};

}  // namespace weir::engine
