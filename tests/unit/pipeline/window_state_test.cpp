// Checkpoints of the window stages, through the store's JSON text: a stage saved at any
// point and loaded into a fresh one continues exactly as the original (outputs, order,
// rejections, pending outputs); kChanged saves write what changed and erase what went, and
// end up where a kAll save would; garbage and other stages' rows are ignored; non-finite
// values survive; output ids are stable.
//
// WEIR_STATE_SEEDS=N  random runs per window variant in the equivalence test (default 8)
// WEIR_STATE_SEED=S   only the run of seed S
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/node.hpp"
#include "pipeline/window/hopping_window.hpp"
#include "pipeline/window/session_window.hpp"
#include "pipeline/window/time_window.hpp"
#include "pipeline/window/tumbling_window.hpp"
#include "pipeline/window/window_state.hpp"

namespace weir::pipeline {
namespace {

using json = config::Json;
using SaveMode = Operator::SaveMode;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr TimeMs kBase = 1'700'000'000'000;

// The store as the engine keeps it: entries as JSON text, read back with the JSON parser
// (which sorts object members and turns 3.0 into 3).
class MemoryState final : public StateWriter, public StateReader {
 public:
  void put(std::string_view key, const Value& value) override {
    entries[std::string(key)] = value.to_json();
    ++puts;
  }
  void erase(std::string_view key) override {
    entries.erase(std::string(key));
    ++erases;
  }
  void for_each(const std::function<void(std::string_view, const Value&)>& visit) const override {
    for (const auto& [key, text] : entries) {
      auto j = nlohmann::json::parse(text, nullptr, false);
      if (j.is_discarded()) continue;
      visit(key, config::to_value(j));
    }
  }
  std::map<std::string, std::string> entries;
  size_t puts = 0;
  size_t erases = 0;
};

class Context final : public StageContext {
 public:
  void forward(Record&& r) override { out.push_back(std::move(r)); }
  void reject(std::string_view reason, std::string_view detail) override {
    rejected.emplace_back(reason);
    (void)detail;
  }
  TimeMs now() const override { return clock; }
  bool congested() const override { return jammed; }
  std::vector<Record> out;
  std::vector<std::string> rejected;
  TimeMs clock = 0;
  bool jammed = false;
};

enum class Kind { kTumbling, kHopping, kSession };

std::unique_ptr<Operator> build(Kind kind, const json& spec, const char* pipeline = "plant") {
  const config::Node node(spec, "/w");
  const StageBuildContext ctx{pipeline, 2, "", {}};
  switch (kind) {
    case Kind::kTumbling:
      return make_tumbling_window(node, ctx);
    case Kind::kHopping:
      return make_hopping_window(node, ctx);
    case Kind::kSession:
      return make_session_window(node, ctx);
  }
  return nullptr;
}

json ms(int64_t n) { return {{"size", n}, {"unit", "ms"}}; }

// A $group with every accumulator kind.
json every_accumulator(bool document_id) {
  json g = json::object();
  if (document_id) {
    g["_id"] = {{"s", "$site"}, {"d", "$device"}};  // members not in sorted order
  } else {
    g["_id"] = "$device";
  }
  g["n"] = {{"$count", json::object()}};
  g["sum"] = {{"$sum", "$v"}};
  g["avg"] = {{"$avg", "$v"}};
  g["min"] = {{"$min", "$v"}};
  g["max"] = {{"$max", "$v"}};
  g["first"] = {{"$first", "$doc"}};
  g["last"] = {{"$last", "$v"}};
  g["sdp"] = {{"$stdDevPop", "$v"}};
  g["sds"] = {{"$stdDevSamp", "$v"}};
  g["med"] = {{"$median", {{"input", "$v"}, {"method", "approximate"}}}};
  g["pct"] = {
      {"$percentile", {{"input", "$v"}, {"p", {0.1, 0.5, 0.99}}, {"method", "approximate"}}}};
  g["push"] = {{"$push", {{"input", "$v"}, {"limit", 6}}}};
  g["docs"] = {{"$push", "$doc"}};
  g["set"] = {{"$addToSet", {{"input", "$v"}, {"limit", 4}}}};
  g["top"] = {{"$top", {{"sortBy", {{"v", -1}, {"w", 1}}}, {"output", "$doc"}}}};
  g["bottom"] = {{"$bottom", {{"sortBy", {{"w", 1}}}, {"output", "$seq"}}}};
  return g;
}

struct Variant {
  const char* name;
  Kind kind;
  json options;  // the stage's options without "pipeline"
};

std::vector<Variant> variants() {
  return {
      {"tumbling",
       Kind::kTumbling,
       {{"interval", ms(100)}, {"allowedLateness", ms(30)}, {"idleTimeout", ms(400)}}},
      {"tumbling_update",
       Kind::kTumbling,
       {{"interval", ms(100)},
        {"allowedLateness", ms(20)},
        {"late", "update"},
        {"updateFor", ms(150)}}},
      {"tumbling_per_key",
       Kind::kTumbling,
       {{"interval", ms(100)},
        {"allowedLateness", ms(20)},
        {"watermark", "perKey"},
        {"idleTimeout", ms(300)}}},
      {"tumbling_processing_time",
       Kind::kTumbling,
       {{"interval", ms(100)}, {"boundary", "processingTime"}}},
      {"hopping",
       Kind::kHopping,
       {{"interval", ms(100)}, {"hopSize", ms(30)}, {"allowedLateness", ms(20)}}},
      {"hopping_update",
       Kind::kHopping,
       {{"interval", ms(100)},
        {"hopSize", ms(40)},
        {"allowedLateness", ms(10)},
        {"late", "update"}}},
      {"hopping_per_key_update",
       Kind::kHopping,
       {{"interval", ms(90)},
        {"hopSize", ms(30)},
        {"watermark", "perKey"},
        {"late", "update"},
        {"updateFor", ms(60)},
        {"idleTimeout", ms(300)}}},
      {"session",
       Kind::kSession,
       {{"gap", ms(40)}, {"partitionBy", "$device"}, {"allowedLateness", ms(30)}}},
      {"session_max_duration_update",
       Kind::kSession,
       {{"gap", ms(40)},
        {"maxDuration", ms(150)},
        {"partitionBy", "$device"},
        {"late", "update"},
        {"allowedLateness", ms(20)}}},
      {"session_per_key",
       Kind::kSession,
       {{"gap", ms(30)},
        {"partitionBy", "$device"},
        {"watermark", "perKey"},
        {"idleTimeout", ms(300)},
        {"late", "update"}}},
      {"session_processing_time",
       Kind::kSession,
       {{"gap", ms(40)}, {"partitionBy", "$device"}, {"boundary", "processingTime"}}},
  };
}

json spec_of(const Variant& v, bool document_id) {
  json s = v.options;
  s["pipeline"] = json::array({{{"$group", every_accumulator(document_id)}}});
  return s;
}

// A record exactly: types, bits of doubles and member order (through save_value).
std::string exact(const Record& r) {
  return save_value(r.doc).to_json() + " @" + std::to_string(r.event_time);
}

std::vector<std::string> exact_since(const Context& ctx, size_t from) {
  std::vector<std::string> out;
  for (size_t i = from; i < ctx.out.size(); ++i) out.push_back(exact(ctx.out[i]));
  return out;
}

// Pending outputs are numbered anew by a restored stage: compare them by position.
std::map<std::string, std::string> normalized(const MemoryState& s) {
  std::map<std::string, std::string> out;
  size_t n = 0;
  for (const auto& [key, text] : s.entries) {
    if (key.starts_with("o:")) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "o:#%08zu", n++);
      out[buf] = text;
    } else {
      out[key] = text;
    }
  }
  return out;
}

std::string first_difference(const std::map<std::string, std::string>& a,
                             const std::map<std::string, std::string>& b) {
  for (const auto& [key, text] : a) {
    auto it = b.find(key);
    if (it == b.end()) return "only on the left: " + key + " = " + text;
    if (it->second != text) return "differs at " + key + ": " + text + " / " + it->second;
  }
  for (const auto& [key, text] : b) {
    if (a.find(key) == a.end()) return "only on the right: " + key + " = " + text;
  }
  return "";
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  int64_t between(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(g_);
  }
  bool chance(double p) { return std::uniform_real_distribution<double>(0.0, 1.0)(g_) < p; }

 private:
  std::mt19937_64 g_;
};

Value random_v(Rng& rng) {
  const int64_t r = rng.between(0, 99);
  if (r < 30) return Value(rng.between(-50, 100));
  if (r < 48) return Value(static_cast<double>(2 * rng.between(-400, 400) + 1) / 8);
  if (r < 56) return Value(static_cast<double>(rng.between(-5, 5)));  // integral doubles: 3.0
  if (r < 59) return Value(-0.0);
  if (r < 61) {  // far apart: the sketch collapses
    const double x = std::pow(10.0, static_cast<double>(rng.between(-300, 300)));
    return Value(rng.chance(0.5) ? x : -x);
  }
  if (r < 67) return Value(1.5e308);  // sums overflow
  if (r < 69) return Value(rng.chance(0.5) ? kInf : -kInf);
  if (r < 70) return Value(std::nan(""));
  if (r < 78) {
    static const char* const kStrings[] = {"a", "b", "\xc3\xa9", "\xff\xfe"};  // the last not UTF-8
    return Value(kStrings[rng.between(0, 3)]);
  }
  if (r < 83) return Value(rng.chance(0.5));
  if (r < 88) return Value();
  return Value(std::string_view("missing"));  // replaced by "no v" below
}

Record random_reading(Rng& rng, int64_t seq, TimeMs t, int64_t keys) {
  Record r;
  r.event_time = t;
  r.doc = Value::object();
  const int64_t k = rng.between(0, keys - 1);
  r.doc.set("device", k == keys - 1 ? std::string("d\xff") : "d" + std::to_string(k));
  r.doc.set("site", rng.chance(0.5) ? "s0" : "s1");
  Value v = random_v(rng);
  if (!(v.is_string() && v.as_string() == "missing")) r.doc.set("v", std::move(v));
  if (rng.chance(0.9)) r.doc.set("w", Value(rng.between(0, 4)));
  r.doc.set("seq", Value(seq));
  Value doc = Value::object();
  doc.set("z", Value(seq));
  doc.set("a", Value(2.0));
  Value m = Value::array();
  m.push_back(Value(1.5));
  m.push_back(Value("x"));
  m.push_back(Value(-0.0));
  doc.set("m", std::move(m));
  r.doc.set("doc", std::move(doc));
  return r;
}

struct RunStats {
  size_t checkpoints = 0;
  size_t pending_saved = 0;  // "o:" entries in the checkpoints
  size_t outputs_after_load = 0;
};

// Feeds one random stream to stage A; at random points saves A (kAll into a fresh store, or
// kChanged on top of the last one), checks the store against a kAll save, loads it into a
// fresh stage B and from then on feeds B the same and compares. "" when all agrees.
std::string run_equivalence(const Variant& variant, uint64_t seed, RunStats& stats) {
  Rng rng(seed);
  const json spec = spec_of(variant, seed % 2 == 1);
  auto a = build(variant.kind, spec);
  std::unique_ptr<Operator> b;
  Context ca, cb;
  MemoryState store;
  bool have_store = false;
  TimeMs progress = kBase + rng.between(0, 1000);
  TimeMs clock = progress;
  bool jammed = false;
  const int64_t keys = rng.between(2, 7);
  const int steps = 300;

  auto compare_step = [&](const std::string& what, size_t a_from, size_t b_from) -> std::string {
    if (!b) return "";
    auto ea = exact_since(ca, a_from);
    auto eb = exact_since(cb, b_from);
    stats.outputs_after_load += ea.size();
    if (ea == eb) return "";
    std::string why = what + ": outputs differ\n  original:";
    for (const auto& s : ea) why += "\n    " + s;
    why += "\n  restored:";
    for (const auto& s : eb) why += "\n    " + s;
    return why;
  };
  auto checkpoint = [&](const std::string& what) -> std::string {
    ++stats.checkpoints;
    const bool all = !have_store || rng.chance(0.3);
    if (all) {
      store = MemoryState();
      a->save(store, SaveMode::kAll);
    } else {
      a->save(store, SaveMode::kChanged);
    }
    have_store = true;
    MemoryState full;
    a->save(full, SaveMode::kAll);
    if (store.entries != full.entries) {
      return what + ": the kChanged saves differ from a kAll save: " +
             first_difference(store.entries, full.entries);
    }
    for (const auto& [key, text] : store.entries)
      stats.pending_saved += key.starts_with("o:") ? 1 : 0;
    b = build(variant.kind, spec);
    b->load(store);
    if (b->stats().groups != a->stats().groups) return what + ": groups differ after load";
    MemoryState again;
    b->save(again, SaveMode::kAll);
    if (normalized(again) != normalized(full)) {
      return what + ": the restored stage saves another state: " +
             first_difference(normalized(full), normalized(again));
    }
    cb.out.clear();
    cb.rejected.clear();
    ca.out.clear();
    ca.rejected.clear();
    return "";
  };

  for (int i = 0; i < steps; ++i) {
    const std::string what = "step " + std::to_string(i);
    if (rng.chance(0.06)) jammed = !jammed;
    ca.jammed = cb.jammed = jammed;
    const size_t a_from = ca.out.size();
    const size_t b_from = cb.out.size();
    if (rng.chance(0.12)) {
      clock += rng.between(0, 150);
      ca.clock = cb.clock = clock;
      a->on_tick(ca);
      if (b) b->on_tick(cb);
    } else {
      progress += rng.between(0, 15);
      TimeMs t = progress;
      if (rng.chance(0.2)) t -= rng.between(0, 120);
      if (rng.chance(0.05)) t += rng.between(0, 40);
      clock = std::max(clock, progress + rng.between(0, 5));
      ca.clock = cb.clock = clock;
      Record ra = random_reading(rng, i, t, keys);
      Record rb = ra;
      const size_t a_rejects = ca.rejected.size();
      const size_t b_rejects = cb.rejected.size();
      const StageResult res_a = a->process(ra, ca);
      if (b) {
        const StageResult res_b = b->process(rb, cb);
        if (res_a != res_b) return what + ": process() answers differ";
        if (std::vector<std::string>(ca.rejected.begin() + static_cast<std::ptrdiff_t>(a_rejects),
                                     ca.rejected.end()) !=
            std::vector<std::string>(cb.rejected.begin() + static_cast<std::ptrdiff_t>(b_rejects),
                                     cb.rejected.end())) {
          return what + ": rejections differ";
        }
      }
    }
    if (std::string why = compare_step(what, a_from, b_from); !why.empty()) return why;
    if (rng.chance(0.06)) {
      if (std::string why = checkpoint(what); !why.empty()) return why;
    }
  }
  const size_t a_from = ca.out.size();
  const size_t b_from = cb.out.size();
  a->flush(ca);
  if (b) b->flush(cb);
  return compare_step("flush", a_from, b_from);
}

uint64_t env_number(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

TEST(WindowState, ARestoredStageContinuesExactlyAsTheOriginal) {
  std::vector<uint64_t> seeds;
  if (std::getenv("WEIR_STATE_SEED") != nullptr) {
    seeds.push_back(env_number("WEIR_STATE_SEED", 1));
  } else {
    for (uint64_t s = 1; s <= env_number("WEIR_STATE_SEEDS", 8); ++s) seeds.push_back(s);
  }
  for (const Variant& v : variants()) {
    RunStats stats;
    for (uint64_t seed : seeds) {
      const std::string why = run_equivalence(v, seed, stats);
      if (!why.empty()) {
        ADD_FAILURE() << v.name << " seed " << seed << " (WEIR_STATE_SEED=" << seed << "): " << why;
        break;
      }
    }
    EXPECT_GT(stats.checkpoints, seeds.size()) << v.name;
    EXPECT_GT(stats.outputs_after_load, 0u) << v.name;
    if (seeds.size() > 4) {
      EXPECT_GT(stats.pending_saved, 0u) << v.name << ": no checkpoint held pending outputs";
    }
  }
}

// ---- kChanged ---------------------------------------------------------------------------

Record device_reading(const std::string& device, TimeMs t, Value v) {
  Record r;
  r.event_time = t;
  r.doc = Value::object();
  r.doc.set("device", device);
  r.doc.set("v", std::move(v));
  return r;
}

TEST(WindowState, ChangedSavesPutOnlyWhatChangedAndEraseWhatWent) {
  const json group = {
      {"_id", "$device"}, {"n", {{"$count", json::object()}}}, {"sum", {{"$sum", "$v"}}}};
  const std::vector<std::pair<Kind, json>> stages = {
      {Kind::kTumbling,
       {{"interval", ms(60000)}, {"pipeline", json::array({{{"$group", group}}})}}},
      {Kind::kHopping,
       {{"interval", ms(60000)},
        {"hopSize", ms(20000)},
        {"pipeline", json::array({{{"$group", group}}})}}},
      {Kind::kSession,
       {{"gap", ms(60000)},
        {"partitionBy", "$device"},
        {"pipeline", json::array({{{"$group", group}}})}}},
  };
  for (const auto& [kind, spec] : stages) {
    SCOPED_TRACE(spec.dump());
    auto op = build(kind, spec);
    Context ctx;
    ctx.clock = kBase + 100000;
    for (int k = 0; k < 1000; ++k) {
      Record r = device_reading("d" + std::to_string(k), kBase + k, Value(k));
      ASSERT_EQ(op->process(r, ctx), StageResult::kConsumed);
    }
    MemoryState store;
    op->save(store, SaveMode::kAll);
    EXPECT_EQ(store.entries.size(), 1001u);
    store.puts = store.erases = 0;
    for (int k = 0; k < 10; ++k) {
      Record r = device_reading("d" + std::to_string(k * 7), kBase + 1000 + k, Value(1));
      ASSERT_EQ(op->process(r, ctx), StageResult::kConsumed);
    }
    op->save(store, SaveMode::kChanged);
    EXPECT_LE(store.puts, 11u);  // the ten groups and the stage entry
    EXPECT_EQ(store.erases, 0u);
    // Nothing new: only the stage entry.
    store.puts = 0;
    op->save(store, SaveMode::kChanged);
    EXPECT_EQ(store.puts, 1u);
    // Far later: every window fires and its groups go; the next save erases them all.
    Record late = device_reading("x", kBase + 400000, Value(1));
    ASSERT_EQ(op->process(late, ctx), StageResult::kConsumed);
    EXPECT_GE(ctx.out.size(), 1000u);
    store.puts = store.erases = 0;
    op->save(store, SaveMode::kChanged);
    EXPECT_EQ(store.erases, 1000u);
    EXPECT_EQ(store.puts, 2u);  // the stage entry and "x"
    EXPECT_EQ(store.entries.size(), 2u);
    MemoryState full;
    op->save(full, SaveMode::kAll);
    EXPECT_EQ(full.entries, store.entries);
  }
}

// ---- pending outputs ---------------------------------------------------------------------

TEST(WindowState, PendingOutputsUnderCongestionSurvive) {
  const json spec = {{"interval", ms(1000)},
                     {"pipeline", json::array({{{"$group", every_accumulator(false)}}})}};
  auto a = build(Kind::kTumbling, spec);
  Context ca;
  ca.clock = kBase;
  for (int k = 0; k < 5; ++k) {
    for (int i = 0; i < 3; ++i) {
      Record r = device_reading("d" + std::to_string(k), kBase + 100 * i + k, Value(1.5 * (i + k)));
      a->process(r, ca);
    }
  }
  ca.jammed = true;
  Record closing = device_reading("d0", kBase + 1500, Value(7));
  a->process(closing, ca);
  EXPECT_TRUE(ca.out.empty());
  auto* window = dynamic_cast<TimeWindow*>(a.get());
  ASSERT_NE(window, nullptr);
  EXPECT_EQ(window->pending_outputs(), 5u);
  MemoryState store;
  a->save(store, SaveMode::kAll);
  size_t pending = 0;
  for (const auto& [key, text] : store.entries) pending += key.starts_with("o:") ? 1 : 0;
  EXPECT_EQ(pending, 5u);

  auto b = build(Kind::kTumbling, spec);
  b->load(store);
  EXPECT_EQ(dynamic_cast<TimeWindow*>(b.get())->pending_outputs(), 5u);
  Context cb;
  cb.clock = ca.clock;
  // The output accepts again; then the end of input.
  for (Context* c : {&ca, &cb}) c->jammed = false;
  ca.clock = cb.clock = kBase + 1600;
  a->on_tick(ca);
  b->on_tick(cb);
  a->flush(ca);
  b->flush(cb);
  ASSERT_EQ(ca.out.size(), 6u);
  EXPECT_EQ(exact_since(ca, 0), exact_since(cb, 0));
  // An emitted result's entry goes at the next kChanged save.
  MemoryState again;
  b->save(again, SaveMode::kAll);
  store.erases = 0;
  a->save(store, SaveMode::kChanged);
  EXPECT_EQ(store.entries, again.entries);
  EXPECT_GE(store.erases, 5u);
}

// ---- exact values --------------------------------------------------------------------------

Value through_json(const Value& v) { return config::to_value(nlohmann::json::parse(v.to_json())); }

TEST(WindowState, ValuesSurviveTheStoreExactly) {
  Value doc = Value::object();
  doc.set("z", Value(3.0));
  doc.set("a", Value(int64_t{3}));
  doc.set("inf", Value(kInf));
  doc.set("-inf", Value(-kInf));
  doc.set("nan", Value(std::nan("")));
  doc.set("-0", Value(-0.0));
  doc.set("big", Value(1e300));
  doc.set("int-like", Value(12345678901234567890.0));
  doc.set("\xff key", Value(std::string("\xc3\x28 not UTF-8")));
  doc.set("ok", Value("\xc3\xa9t\xc3\xa9"));
  Value list = Value::array();
  list.push_back(Value(0.1));
  list.push_back(Value());
  list.push_back(Value(true));
  list.push_back(Value::object());
  doc.set("list", std::move(list));
  Value back;
  ASSERT_TRUE(load_value(through_json(save_value(doc)), back));
  EXPECT_EQ(save_value(back).to_json(), save_value(doc).to_json());
  ASSERT_EQ(back.size(), doc.size());
  for (size_t i = 0; i < doc.size(); ++i) {
    EXPECT_EQ(back.key(i), doc.key(i));
    EXPECT_EQ(back.at(i).type(), doc.at(i).type()) << doc.key(i);
  }
  EXPECT_TRUE(back.find("z")->is_double());
  EXPECT_TRUE(std::signbit(back.find("-0")->as_double()));
  EXPECT_TRUE(std::isnan(back.find("nan")->as_double()));
  EXPECT_EQ(back.find("-inf")->as_double(), -kInf);
  for (double d : {0.0, -0.0, 1.0, 0.1, -kInf, kInf, 1e308, 5e-324, 123456789.0}) {
    double out = 0;
    ASSERT_TRUE(load_double(through_json(save_double(d)), out));
    EXPECT_EQ(std::bit_cast<uint64_t>(out), std::bit_cast<uint64_t>(d)) << d;
  }
  Value bad;
  for (const char* text :
       {R"({"x": 1})", R"({"o": [1, 2]})", R"({"o": ["a"]})", R"({"d": "x"})", R"({"b": "zz"})",
        R"({"o": ["a", 1, "a", 2]})", R"({"d": 1, "o": []})"}) {
    EXPECT_FALSE(load_value(config::to_value(nlohmann::json::parse(text)), bad)) << text;
  }
}

TEST(WindowState, NonFiniteValuesSurvive) {
  const json group = {{"_id", "$device"},        {"min", {{"$min", "$v"}}},
                      {"max", {{"$max", "$v"}}}, {"sum", {{"$sum", "$v"}}},
                      {"avg", {{"$avg", "$v"}}}, {"first", {{"$first", "$v"}}},
                      {"vs", {{"$push", "$v"}}}, {"set", {{"$addToSet", "$v"}}}};
  const json spec = {{"interval", ms(1000)}, {"pipeline", json::array({{{"$group", group}}})}};
  auto a = build(Kind::kTumbling, spec);
  Context ca;
  ca.clock = kBase;
  const std::vector<std::pair<const char*, Value>> readings = {
      {"a", Value(1e308)},        {"a", Value(1e308)},       // the sum overflows to inf
      {"b", Value(-kInf)},        {"b", Value(int64_t{5})},  // $min -inf
      {"c", Value(3.0)},          {"c", Value(-0.0)},        // doubles that print as integers
      {"d", Value(kInf)},         {"d", Value(-kInf)},       // the sum is NaN
      {"e", Value(std::nan(""))},
  };
  for (size_t i = 0; i < readings.size(); ++i) {
    Record r =
        device_reading(readings[i].first, kBase + static_cast<TimeMs>(i), readings[i].second);
    ASSERT_EQ(a->process(r, ca), StageResult::kConsumed);
  }
  MemoryState store;
  a->save(store, SaveMode::kAll);
  auto b = build(Kind::kTumbling, spec);
  b->load(store);
  Context cb;
  cb.clock = ca.clock;
  a->flush(ca);
  b->flush(cb);
  ASSERT_EQ(ca.out.size(), 5u);
  EXPECT_EQ(exact_since(ca, 0), exact_since(cb, 0));
  // (Compensated summation turns an overflow into NaN rather than inf.)
  EXPECT_FALSE(std::isfinite(cb.out[0].doc.find("sum")->as_double()));
  EXPECT_EQ(cb.out[0].doc.find("max")->as_double(), 1e308);
  EXPECT_EQ(cb.out[1].doc.find("min")->as_double(), -kInf);
  EXPECT_TRUE(cb.out[2].doc.find("first")->is_double());
  EXPECT_TRUE(std::signbit(cb.out[2].doc.find("vs")->at(1).as_double()));
  EXPECT_TRUE(std::isnan(cb.out[3].doc.find("sum")->as_double()));
  EXPECT_TRUE(std::isnan(cb.out[4].doc.find("min")->as_double()));
}

// ---- garbage -------------------------------------------------------------------------------

// A stage that has seen some readings, and its kAll save.
MemoryState some_state(Kind kind, const json& spec, std::unique_ptr<Operator>* keep = nullptr) {
  auto op = build(kind, spec);
  Context ctx;
  Rng rng(7);
  TimeMs t = kBase;
  for (int i = 0; i < 200; ++i) {
    t += rng.between(0, 12);
    ctx.clock = t;
    ctx.jammed = i > 150;
    Record r = random_reading(rng, i, t - (rng.chance(0.2) ? rng.between(0, 50) : 0), 4);
    op->process(r, ctx);
  }
  MemoryState store;
  op->save(store, SaveMode::kAll);
  if (keep != nullptr) *keep = std::move(op);
  return store;
}

// Loads `store` into a fresh stage and runs it on: it must not crash; `works` checks that
// new readings still come out.
void load_and_run(Kind kind, const json& spec, MemoryState store, bool works) {
  auto op = build(kind, spec);
  op->load(store);
  Context ctx;
  ctx.clock = kBase + 10'000'000;
  const size_t before = ctx.out.size();
  for (int i = 0; i < 20; ++i) {
    Record r = device_reading(i % 2 == 0 ? "fresh" : "d1", ctx.clock + i, Value(i));
    op->process(r, ctx);
  }
  ctx.clock += 1000;
  op->on_tick(ctx);
  MemoryState again;
  op->save(again, SaveMode::kChanged);
  op->save(again, SaveMode::kAll);
  op->flush(ctx);
  if (works) {
    EXPECT_GT(ctx.out.size(), before);
  }
}

TEST(WindowState, GarbageAndForeignRowsAreIgnored) {
  const std::vector<Variant> all = variants();
  for (const Variant& v : all) {
    SCOPED_TRACE(v.name);
    const json spec = spec_of(v, false);
    const MemoryState valid = some_state(v.kind, spec);
    ASSERT_GT(valid.entries.size(), 1u);
    const std::string stage = valid.entries.at("#stage");
    std::vector<MemoryState> cases;
    auto with = [&](std::map<std::string, std::string> entries) {
      MemoryState s;
      s.entries = std::move(entries);
      cases.push_back(std::move(s));
    };
    with({{"#stage", "5"}, {"k:\"a\"", "\"x\""}, {"p:\"a\"", "[]"}, {"o:0000000000000000", "{}"}});
    with({{"#stage", R"({"kind":"$detect","groups":1,"raised":0})"},
          {"\"a\"|temp",
           R"({"group":"\"a\"","fields":{},"field":"temp","methods":[],"alerts":[]})"}});
    with({{"#stage", R"({"kind":"$sessionWindow","config":"0","clock":[0,0,0],"lastSweep":0})"},
          {"p:\"d1\"", R"({"cells":[0,[[1,2,false,["d1",0,[]]]]]})"}});
    // The right stage entry with rows of every wrong shape.
    std::map<std::string, std::string> rows = {{"#stage", stage}};
    const std::vector<std::string> shapes = {
        "null",
        "[]",
        "{}",
        "7",
        "\"x\"",
        R"({"id":"d1","panes":[1,2,3]})",
        R"({"id":"d1","panes":[1700000000000,[1]]})",
        R"({"id":"d1","panes":[1700000000000,null]})",
        R"({"id":"d1","panes":[1700000000010,[0,[0,0,0,0,true]]],"sliding":[5,4,3,null,[]]})",
        R"({"id":{"o":[1]},"panes":[]})",
        R"({"cells":[0,[[1,2,true,["d1",0,[]]]]]})",
        R"({"cells":[0,[[5,2,false,[]]]]})",
        R"({"cells":[0,[[1,20,false,[]],[10,30,false,[]]]]})",
        R"({"cells":[0,[[1,2,false,["d1",-5,[]]]]],"clock":[0,0]})",
        R"([1700000000000,1700000001000,0,"d1","",[]])",
        R"([1,2,3,4,5,6])"};
    int n = 0;
    for (const auto& shape : shapes) {
      for (const char* prefix : {"k:\"d", "p:\"d", "o:00000000000000"}) {
        rows[prefix + std::to_string(n++) + (prefix[0] == 'o' ? "" : "\"")] = shape;
      }
    }
    with(rows);
    // Another window kind's stage entry over this stage's rows.
    std::map<std::string, std::string> swapped = valid.entries;
    swapped["#stage"] =
        v.kind == Kind::kSession ? R"({"kind":"$tumblingWindow"})" : R"({"kind":"$sessionWindow"})";
    with(swapped);
    for (const MemoryState& c : cases) load_and_run(v.kind, spec, c, true);
  }
}

// Valid checkpoints with random parts replaced: whatever load() takes, the stage must go on
// without crashing (the sanitizers watch).
TEST(WindowState, MutatedCheckpointsNeverCrash) {
  const std::vector<nlohmann::json> replacements = {nullptr,
                                                    true,
                                                    -1,
                                                    0,
                                                    1,
                                                    int64_t{1} << 62,
                                                    std::numeric_limits<int64_t>::min(),
                                                    std::numeric_limits<int64_t>::max(),
                                                    1.5,
                                                    -1e300,
                                                    "x",
                                                    nlohmann::json::array(),
                                                    nlohmann::json::object(),
                                                    {1, 2},
                                                    {{"d", 5}},
                                                    {{"o", {"a", 1}}},
                                                    {{"b", "ff"}},
                                                    1700000000000,
                                                    4611686018427387903LL / 2};
  Rng rng(42);
  for (const Variant& v : variants()) {
    SCOPED_TRACE(v.name);
    const json spec = spec_of(v, rng.chance(0.5));
    const MemoryState valid = some_state(v.kind, spec);
    for (int round = 0; round < 30; ++round) {
      MemoryState m = valid;
      const int mutations = static_cast<int>(rng.between(1, 4));
      for (int k = 0; k < mutations; ++k) {
        auto it = m.entries.begin();
        std::advance(it, rng.between(0, static_cast<int64_t>(m.entries.size()) - 1));
        nlohmann::json j = nlohmann::json::parse(it->second);
        // Walk down to a random node.
        nlohmann::json* node = &j;
        while ((node->is_array() || node->is_object()) && !node->empty() && rng.chance(0.8)) {
          auto child = node->begin();
          std::advance(child, rng.between(0, static_cast<int64_t>(node->size()) - 1));
          node = &*child;
        }
        if (rng.chance(0.2) && (node->is_array() || node->is_object()) && !node->empty()) {
          if (node->is_array()) {
            node->erase(node->begin() + rng.between(0, static_cast<int64_t>(node->size()) - 1));
          } else {
            node->erase(node->begin());
          }
        } else if (node->is_number_integer() && rng.chance(0.5)) {
          const auto delta =
              static_cast<uint64_t>(rng.between(-3, 3) * (rng.chance(0.5) ? 1 : 1000));
          *node = static_cast<int64_t>(node->get<uint64_t>() + delta);
        } else {
          *node = replacements[static_cast<size_t>(
              rng.between(0, static_cast<int64_t>(replacements.size()) - 1))];
        }
        it->second = j.dump();
      }
      load_and_run(v.kind, spec, m, false);
    }
  }
}

// ---- output ids ----------------------------------------------------------------------------

TEST(WindowState, OutputIdsAreStableAndDistinct) {
  const std::string id = output_id("p", "\"a\"", "", 0, 1000, 0);
  EXPECT_EQ(id, "010d16456e33ad89");  // FNV-1a as the contract spells it (computed apart)
  EXPECT_EQ(id, output_id("p", "\"a\"", "", 0, 1000, 0));
  const std::vector<std::string> others = {
      output_id("q", "\"a\"", "", 0, 1000, 0),      output_id("p", "\"b\"", "", 0, 1000, 0),
      output_id("p", "\"a\"", "\"a\"", 0, 1000, 0), output_id("p", "\"a\"", "", 1000, 2000, 0),
      output_id("p", "\"a\"", "", 0, 2000, 0),      output_id("p", "\"a\"", "", 0, 1000, 1),
      output_id("p\"a\"", "", "", 0, 1000, 0),      output_id("", "p\"a\"", "", 0, 1000, 0)};
  std::set<std::string> distinct(others.begin(), others.end());
  distinct.insert(id);
  EXPECT_EQ(distinct.size(), others.size() + 1);
  for (const auto& o : others)
    EXPECT_EQ(o.find_first_not_of("0123456789abcdef"), std::string::npos) << o;

  // Through the stages: the same input gives the same ids in another run; each output's id
  // is its own (group, window, revision); another pipeline gives others.
  const json group = {{"_id", "$device"}, {"n", {{"$count", json::object()}}}};
  const json spec = {{"interval", ms(1000)},
                     {"hopSize", ms(500)},
                     {"late", "update"},
                     {"pipeline", json::array({{{"$group", group}}})}};
  auto run = [&](const char* pipeline) {
    auto op = build(Kind::kHopping, spec, pipeline);
    Context ctx;
    ctx.clock = kBase;
    for (TimeMs t : {0, 100, 700, 1200, 300, 2600, 1300}) {
      for (const char* d : {"a", "b"}) {
        Record r = device_reading(d, kBase + t, Value(1));
        op->process(r, ctx);
      }
    }
    op->flush(ctx);
    return std::move(ctx.out);
  };
  const auto first = run("p");
  const auto second = run("p");
  const auto elsewhere = run("other");
  ASSERT_EQ(first.size(), second.size());
  ASSERT_EQ(first.size(), elsewhere.size());
  std::set<std::string> ids;
  bool revised = false;
  for (size_t i = 0; i < first.size(); ++i) {
    const Value& meta = *first[i].doc.find("_stream_meta");
    const Value& w = *meta.find("window");
    const std::string oid = meta.find("outputId")->as_string();
    EXPECT_EQ(oid, second[i].doc.find("_stream_meta")->find("outputId")->as_string());
    EXPECT_NE(oid, elsewhere[i].doc.find("_stream_meta")->find("outputId")->as_string());
    const int64_t revision = w.find("revision")->as_int();
    revised = revised || revision > 0;
    EXPECT_EQ(oid, output_id("p", first[i].doc.find("_id")->to_json(), "",
                             *parse_iso8601(w.find("start")->as_string()),
                             *parse_iso8601(w.find("end")->as_string()), revision));
    EXPECT_TRUE(ids.insert(oid).second) << "a second output with the id " << oid;
  }
  EXPECT_TRUE(revised);
}

}  // namespace
}  // namespace weir::pipeline
