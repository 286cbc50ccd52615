// A brute-force reference model of weir's window semantics (the contract of issue 4:
// tumbling, hopping and session windows, watermarks, idle timeout, maxFutureSkew, late
// readings under "dlq" and "update", and every $group accumulator).
//
// Written independently of the engine: it keeps every accepted reading, decides each
// arrival from those readings and the record of what has fired, and recomputes every
// emitted result from scratch (sorting the window's readings by event time, then arrival).
// Simplicity over speed: vectors, sorting and recomputation. The property test compares
// the engine with it; the case files are checked against it as well.
//
// Where the contract (issue 4) leaves a choice open, the model takes these readings:
// - a reading's checks run in the order future, missing_partition, missing_group, late,
//   maxGroups (the generator avoids readings that fail two of them);
// - "fired" means end <= the key's watermark when the reading arrives, whether or not the
//   window held anything; revisions count per (window, _id): a group's first output is
//   revision 0 even when it first appears in a window that already fired for others;
// - $top/$bottom output null when the chosen reading lacks the output field;
// - tumbling maxGroups counts the groups of the window's open or still-updatable readings;
// - processingTime: what ended by now fires before the arriving reading is added.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "config/node.hpp"
#include "weir/time.hpp"
#include "weir/value.hpp"

namespace weir::reference {

enum class WindowKind : uint8_t { kTumbling, kHopping, kSession };

enum class AccKind : uint8_t {
  kCount,
  kSum,
  kAvg,
  kMin,
  kMax,
  kFirst,
  kLast,
  kStdDevPop,
  kStdDevSamp,
  kMedian,
  kPercentile,
  kPush,
  kAddToSet,
  kTop,
  kBottom
};

// An expression the model understands: a field path ("$a.b") or a constant.
struct ModelExpr {
  bool is_path = false;
  FieldPath path;
  Value constant;
  // The value for doc; nullptr when a path is missing.
  const Value* eval(const Value& doc) const;
};

struct AccSpec {
  std::string output;
  AccKind kind = AccKind::kCount;
  ModelExpr input;                                 // unused by $count
  std::vector<double> p;                           // $percentile ($median: {0.5})
  size_t limit = 1000;                             // $push, $addToSet
  std::vector<std::pair<FieldPath, int>> sort_by;  // $top, $bottom
};

// _id: an expression, or a document of expressions.
struct IdSpec {
  bool is_document = false;
  ModelExpr expr;
  std::vector<std::pair<std::string, ModelExpr>> members;
};

struct ModelSpec {
  WindowKind kind = WindowKind::kTumbling;
  TimeMs interval = 0;  // tumbling, hopping
  TimeMs hop = 0;       // hopping (tumbling: = interval)
  TimeMs offset = 0;
  TimeMs gap = 0;           // session
  TimeMs max_duration = 0;  // session; 0: none
  FieldPath partition_by;   // session
  TimeMs allowed_lateness = 0;
  TimeMs idle_timeout = 0;  // 0: none
  TimeMs max_future_skew = INT64_MAX / 4;  // none unless the spec sets it ($source has its own)
  TimeMs update_for = 0;  // default: interval (sessions: gap)
  size_t max_groups = 1000000;
  bool processing_time = false;
  bool per_key = false;
  bool late_update = false;
  IdSpec id;
  std::vector<AccSpec> accs;
  // The pipeline's name (not part of the stage spec): the output ids hash it.
  std::string pipeline = "p";

  // Reads a stage spec (the object inside {"$tumblingWindow": ...}). Throws
  // std::runtime_error on anything the model does not support.
  static ModelSpec parse(WindowKind kind, const config::Json& spec);
};

struct Step {
  enum class Kind : uint8_t { kReading, kTick, kFlush };
  Kind kind = Kind::kReading;
  TimeMs now = 0;  // the processing clock for this step
  TimeMs t = 0;    // readings: Record::event_time
  Value doc;       // readings
};

struct Emission {
  size_t step = 0;
  TimeMs start = 0;
  TimeMs end = 0;
  Value id;
  std::string id_json;
  std::string partition;  // sessions: the partitionBy value as JSON
  int revision = -1;  // -1: no "revision" member (late: "dlq")
  Value doc;
  // Per accumulator: the largest magnitude among its numeric inputs (the scale of the
  // rounding error a double result may carry).
  std::vector<double> scales;
};

struct Rejection {
  size_t step = 0;
  std::string reason;
};

struct ModelResult {
  std::vector<Emission> emissions;
  std::vector<Rejection> rejections;
};

// The model, driven step by step (the generator asks it for the watermark as it goes).
class WindowModel {
 public:
  explicit WindowModel(ModelSpec spec) : spec_(std::move(spec)) {}
  void step(const Step& s);
  const ModelResult& result() const noexcept { return result_; }
  // The highest watermark over every key (kMinTime before anything was accepted).
  TimeMs max_watermark() const;

 private:
  struct Accepted {
    size_t arrival = 0;
    TimeMs t = 0;
    Value doc;
    Value id;
    std::string id_json;
    std::string key;        // watermark key ("" under watermark: pipeline)
    std::string partition;  // sessions: the partitionBy value as JSON
    int64_t cell = 0;
    TimeMs session = kMinTime;  // sessions: the start of the fired session it belongs to
  };
  struct KeyClock {
    TimeMs max_t = kMinTime;
    TimeMs idle_w = kMinTime;
    TimeMs last_now = 0;
    bool any = false;
  };
  struct Component {
    std::vector<size_t> members;  // indices into accepted_
    TimeMs min = 0;
    TimeMs max = 0;
    bool fired = false;
  };
  // One window for one watermark key ("fires" as a unit), with the groups to emit.
  struct Pending {
    TimeMs start = 0;
    TimeMs end = 0;
    std::vector<size_t> members;  // readings in it (accepted_ indices)
  };

  TimeMs watermark(const std::string& key) const;
  void reading(size_t index, const Step& s);
  void tick(size_t index);
  void reject(size_t index, const char* reason);
  std::vector<std::pair<TimeMs, TimeMs>> windows_of(TimeMs t) const;
  std::vector<Component> components(const std::string& partition, int64_t cell) const;
  // Fires every open window (or session) of one key (every key when only_key is null)
  // whose end <= that key's watermark; everything = true fires every open one (idle
  // timeout, flush). Returns what fired.
  std::vector<Pending> fire(const std::string* only_key, bool everything);
  void emit(size_t index, const std::vector<Pending>& fired);
  void emit_groups(size_t index, TimeMs start, TimeMs end, const std::vector<size_t>& members,
                   const std::string* only_id, std::vector<Emission>& out) const;
  // Sorts by (end, start, _id), numbers the revisions and appends to the result.
  void publish(std::vector<Emission> out);
  bool eval_id(const Value& doc, Value& id) const;
  Value compute(const std::vector<size_t>& members, std::vector<double>& scales) const;
  TimeMs update_for() const;

  ModelSpec spec_;
  ModelResult result_;
  std::vector<Accepted> accepted_;
  std::map<std::string, KeyClock> clocks_;
  // Tumbling/hopping: the windows holding readings that have not fired, by (key, start).
  std::set<std::pair<std::string, TimeMs>> open_windows_;
  // Sessions: the readings of each (partition, cell); the fired sessions by (partition,
  // cell, min) -> max; the (partition, cell)s that may hold an open session.
  std::map<std::pair<std::string, int64_t>, std::vector<size_t>> by_partition_;
  std::map<std::tuple<std::string, int64_t, TimeMs>, TimeMs> fired_sessions_;
  std::set<std::pair<std::string, int64_t>> open_partitions_;
  std::map<std::tuple<TimeMs, TimeMs, std::string>, int> revisions_;
  TimeMs now_ = 0;
  size_t steps_ = 0;
};

// Runs the model over a whole input.
ModelResult run_model(const ModelSpec& spec, const std::vector<Step>& steps);

// The canonical text of an emission's identity: "[start,end) _id #revision".
std::string describe(const Emission& e);

// Compares one engine document with the model's: exact for counts, integers, strings,
// arrays and documents; relative 1e-9 for double sums, averages and deviations; the
// documented 1% relative error of the exact rank value for $median and $percentile.
// Returns "" when they agree, else what differs.
std::string compare_documents(const ModelSpec& spec, const Value& engine, const Emission& model);

// Exact structural equality, types included (1 and 1.0 differ).
bool same_value(const Value& a, const Value& b);

// The contract's output id (_stream_meta.outputId): 16 lowercase hex digits of the 64-bit
// FNV-1a of the pipeline name, the _id's JSON text, the partition's JSON text (sessions;
// else empty), start, end and revision (decimal; 0 without "update"), each followed by the
// byte 0xff.
std::string expected_output_id(const std::string& pipeline, const std::string& id_json,
                               const std::string& partition, TimeMs start, TimeMs end,
                               int64_t revision);

}  // namespace weir::reference
