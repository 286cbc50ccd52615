// Property tests: the three window stages against the brute-force reference model
// (window_reference_model.hpp), on seeded random inputs; and the case files of
// tests/cases/windows checked against the model too.
//
// WEIR_REFERENCE_CASES=N   how many random cases (default 10000)
// WEIR_REFERENCE_SEED=S    run the one case of seed S (prints it in full)
// WEIR_REFERENCE_KINDS=... only these stages (a list of "tumbling", "hopping", "session")
// WEIR_REFERENCE_ISOLATE=1 run the engine in a child process per case, so that a crash is
//                          reported (and minimized) like any other disagreement
// WEIR_REFERENCE_TRACE=1   print each seed before running it
// WEIR_REFERENCE_EXPLICIT_SKEW=1 write maxFutureSkew's default (5 minutes) into every spec
//                          instead of leaving it out
//
// A failure prints the seed, the stage spec and the input minimized (steps, accumulators
// and options dropped while the same kind of disagreement persists) in the case-file
// format, and both outputs. Failures are grouped by kind; the first of each kind is
// reported in full, the others counted with their seeds.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "config/node.hpp"
#include "pipeline/window/hopping_window.hpp"
#include "pipeline/window/session_window.hpp"
#include "pipeline/window/tumbling_window.hpp"
#include "unit/pipeline/window_capture.hpp"
#include "unit/pipeline/window_reference_model.hpp"

namespace weir::reference {
namespace {

using Json = config::Json;

const char* stage_name(WindowKind k) {
  switch (k) {
    case WindowKind::kTumbling:
      return "$tumblingWindow";
    case WindowKind::kHopping:
      return "$hoppingWindow";
    case WindowKind::kSession:
      return "$sessionWindow";
  }
  return "?";
}

struct Case {
  uint64_t seed = 0;
  WindowKind kind = WindowKind::kTumbling;
  Json spec;
  std::vector<Step> steps;
  std::optional<ModelResult> expected;  // the model's result, when already known for these steps
};

// ---------------------------------------------------------------------------------------
// The engine, driven step by step.

using pipeline::test::Capture;

struct Observed {
  std::vector<Emission> emissions;
  std::vector<Rejection> rejections;
  std::string error;  // the engine refused the spec, threw, or broke a rule of its own
};

std::unique_ptr<Operator> build(const Case& c) {
  const config::Node node(c.spec, "/w");
  const pipeline::StageBuildContext ctx{"p", 1, "", {}};
  switch (c.kind) {
    case WindowKind::kTumbling:
      return pipeline::make_tumbling_window(node, ctx);
    case WindowKind::kHopping:
      return pipeline::make_hopping_window(node, ctx);
    case WindowKind::kSession:
      return pipeline::make_session_window(node, ctx);
  }
  return nullptr;
}

Observed run_engine(const Case& c) {
  Observed o;
  std::unique_ptr<Operator> op;
  try {
    op = build(c);
  } catch (const std::exception& e) {
    o.error = std::string("the engine refused the spec: ") + e.what();
    return o;
  }
  Capture ctx;
  try {
    for (size_t i = 0; i < c.steps.size(); ++i) {
      const Step& s = c.steps[i];
      ctx.clock = s.now;
      const size_t rejected_before = ctx.rejected.size();
      const size_t out_before = ctx.out.size();
      switch (s.kind) {
        case Step::Kind::kReading: {
          Record r;
          r.doc = s.doc;
          r.event_time = s.t;
          r.processing_time = s.now;
          const StageResult res = op->process(r, ctx);
          const size_t rejects = ctx.rejected.size() - rejected_before;
          if (rejects > 1 || (rejects == 1) != (res == StageResult::kDeadLetter) ||
              (rejects == 0 && res != StageResult::kConsumed)) {
            o.error = "step " + std::to_string(i) + ": result " +
                      std::to_string(static_cast<int>(res)) + " with " + std::to_string(rejects) +
                      " reject() calls";
            return o;
          }
          if (rejects == 1) o.rejections.push_back({i, ctx.rejected.back()});
          break;
        }
        case Step::Kind::kTick:
          op->on_tick(ctx);
          break;
        case Step::Kind::kFlush:
          op->flush(ctx);
          break;
      }
      if (s.kind != Step::Kind::kReading && ctx.rejected.size() != rejected_before) {
        o.error = "step " + std::to_string(i) + ": reject() outside process()";
        return o;
      }
      for (size_t k = out_before; k < ctx.out.size(); ++k) {
        const Record& r = ctx.out[k];
        Emission e;
        e.step = i;
        e.doc = r.doc;
        const Value* meta = r.doc.find("_stream_meta");
        const Value* window = meta != nullptr ? meta->find("window") : nullptr;
        const Value* start = window != nullptr ? window->find("start") : nullptr;
        const Value* end = window != nullptr ? window->find("end") : nullptr;
        const Value* id = r.doc.find("_id");
        std::optional<TimeMs> s0 =
            start != nullptr ? parse_iso8601(start->as_string()) : std::nullopt;
        std::optional<TimeMs> e0 = end != nullptr ? parse_iso8601(end->as_string()) : std::nullopt;
        if (!s0 || !e0 || id == nullptr) {
          o.error = "step " + std::to_string(i) +
                    ": an output without _id or window bounds: " + r.doc.to_json();
          return o;
        }
        e.start = *s0;
        e.end = *e0;
        e.id = *id;
        e.id_json = id->to_json();
        if (const Value* rev = window->find("revision"))
          e.revision = rev->is_int() ? static_cast<int>(rev->as_int()) : -2;
        if (r.event_time != e.end - 1) {
          o.error = "step " + std::to_string(i) + ": event_time " + std::to_string(r.event_time) +
                    " of an output ending at " + std::to_string(e.end);
          return o;
        }
        o.emissions.push_back(std::move(e));
      }
    }
  } catch (const std::exception& e) {
    o.error = std::string("the engine threw: ") + e.what();
  }
  return o;
}

// ---------------------------------------------------------------------------------------
// Comparison.

// Rules the engine's outputs must keep whatever the model says: revisions count up by one
// from 0 per (window, _id); without "update" nothing is emitted twice; outputs of one step
// come in (end, start, _id) order.
std::string check_rules(const ModelSpec& spec, const Observed& o) {
  std::map<std::tuple<TimeMs, TimeMs, std::string>, int> last;
  for (size_t i = 0; i < o.emissions.size(); ++i) {
    const Emission& e = o.emissions[i];
    auto [it, fresh] = last.try_emplace({e.start, e.end, e.id_json}, e.revision);
    if (!spec.late_update) {
      if (e.revision != -1) return describe(e) + ": a revision without late \"update\"";
      if (!fresh) return describe(e) + ": emitted twice";
    } else if (fresh ? e.revision != 0 : e.revision != it->second + 1) {
      return describe(e) + ": revision after " +
             (fresh ? std::string("nothing") : std::to_string(it->second));
    } else {
      it->second = e.revision;
    }
    if (i > 0 && o.emissions[i - 1].step == e.step) {
      const Emission& p = o.emissions[i - 1];
      if (std::tie(p.end, p.start) > std::tie(e.end, e.start) ||
          (p.end == e.end && p.start == e.start && compare(p.id, e.id) >= 0)) {
        return describe(e) + ": out of (end, start, _id) order after " + describe(p);
      }
    }
  }
  return "";
}

std::string disagreement(const ModelSpec& spec, const ModelResult& m, const Observed& o) {
  if (!o.error.empty()) return o.error;
  // The first step at which the two disagree about rejecting.
  std::map<size_t, std::pair<std::string, std::string>> by_step;  // step -> (engine, model)
  for (const Rejection& r : o.rejections) by_step[r.step].first = r.reason;
  for (const Rejection& r : m.rejections) by_step[r.step].second = r.reason;
  for (const auto& [step, reasons] : by_step) {
    if (reasons.first == reasons.second) continue;
    auto text = [](const std::string& r) { return r.empty() ? std::string("nothing") : r; };
    return "rejections differ at step " + std::to_string(step) + ": engine " + text(reasons.first) +
           ", model " + text(reasons.second);
  }
  if (std::string why = check_rules(spec, o); !why.empty()) return "engine rule: " + why;
  const size_t ne = std::max(m.emissions.size(), o.emissions.size());
  for (size_t i = 0; i < ne; ++i) {
    const Emission* a = i < o.emissions.size() ? &o.emissions[i] : nullptr;
    const Emission* b = i < m.emissions.size() ? &m.emissions[i] : nullptr;
    if (a == nullptr || b == nullptr || a->step != b->step || a->start != b->start ||
        a->end != b->end || a->id_json != b->id_json || a->revision != b->revision) {
      return "output " + std::to_string(i) + " differs: engine " + (a ? describe(*a) : "nothing") +
             ", model " + (b ? describe(*b) : "nothing");
    }
    if (std::string why = compare_documents(spec, a->doc, *b); !why.empty()) {
      return "output " + std::to_string(i) + " (" + describe(*b) + "): " + why;
    }
  }
  return "";
}

// ---------------------------------------------------------------------------------------
// Cases as JSON (the case-file format of tests/cases/windows).

Json to_json(const Value& v) { return Json::parse(v.to_json()); }

Json steps_json(const std::vector<Step>& steps) {
  Json out = Json::array();
  for (const Step& s : steps) {
    switch (s.kind) {
      case Step::Kind::kReading:
        out.push_back({{"now", s.now}, {"t", s.t}, {"doc", to_json(s.doc)}});
        break;
      case Step::Kind::kTick:
        out.push_back({{"tick", s.now}});
        break;
      case Step::Kind::kFlush:
        out.push_back({{"flush", true}});
        break;
    }
  }
  return out;
}

std::string outputs_text(const std::vector<Emission>& es, const std::vector<Rejection>& rs) {
  std::ostringstream os;
  for (const Rejection& r : rs) os << "    reject step " << r.step << ": " << r.reason << "\n";
  for (const Emission& e : es) os << "    emit step " << e.step << ": " << e.doc.to_json() << "\n";
  return os.str();
}

// ---------------------------------------------------------------------------------------
// The generator.

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed * 0x9E3779B97F4A7C15ull + 12345) {}
  int64_t between(int64_t lo, int64_t hi) {  // inclusive; the same on every platform
    return lo + static_cast<int64_t>(g_() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool chance(double p) { return static_cast<double>(g_() >> 11) * 0x1.0p-53 < p; }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(between(0, static_cast<int64_t>(v.size()) - 1))];
  }

 private:
  std::mt19937_64 g_;
};

Json duration(int64_t ms) {
  if (ms % 1000 == 0) return {{"size", ms / 1000}, {"unit", "second"}};
  return {{"size", ms}, {"unit", "ms"}};
}

Json accumulator(Rng& rng, size_t kind) {
  const Json input = rng.chance(0.85) ? "$v" : "$w";
  const std::vector<double> ps = {0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1};
  auto limited = [&](const char* op) -> Json {
    if (rng.chance(0.5)) return {{op, input}};
    return {{op, {{"input", input}, {"limit", rng.between(1, 5)}}}};
  };
  auto ranked = [&](const char* op) -> Json {
    Json sort = Json::object();
    if (rng.chance(0.4)) sort["w"] = rng.chance(0.5) ? 1 : -1;
    sort["v"] = rng.chance(0.5) ? 1 : -1;
    return {{op, {{"sortBy", sort}, {"output", rng.chance(0.5) ? "$seq" : "$v"}}}};
  };
  switch (kind) {
    case 0:
      return {{"$count", Json::object()}};
    case 1:
      return {{"$sum", input}};
    case 2:
      return {{"$avg", input}};
    case 3:
      return {{"$min", input}};
    case 4:
      return {{"$max", input}};
    case 5:
      return {{"$first", input}};
    case 6:
      return {{"$last", input}};
    case 7:
      return {{"$stdDevPop", input}};
    case 8:
      return {{"$stdDevSamp", input}};
    case 9:
      return {{"$median", {{"input", input}, {"method", "approximate"}}}};
    case 10: {
      Json p = Json::array();
      const int64_t n = rng.between(1, 3);
      for (int64_t i = 0; i < n; ++i) p.push_back(rng.pick(ps));
      return {{"$percentile", {{"input", input}, {"p", p}, {"method", "approximate"}}}};
    }
    case 11:
      return limited("$push");
    case 12:
      return limited("$addToSet");
    case 13:
      return ranked("$top");
    default:
      return ranked("$bottom");
  }
}

const char* const kAccNames[] = {"count", "sum",    "avg", "min",  "max", "first", "last",  "pop",
                                 "samp",  "median", "pct", "push", "set", "top",   "bottom"};

bool kind_enabled(WindowKind k) {
  const char* env = std::getenv("WEIR_REFERENCE_KINDS");
  if (env == nullptr || *env == '\0') return true;
  const std::string s = env;
  switch (k) {
    case WindowKind::kTumbling:
      return s.find("tumbling") != std::string::npos;
    case WindowKind::kHopping:
      return s.find("hopping") != std::string::npos;
    case WindowKind::kSession:
      return s.find("session") != std::string::npos;
  }
  return false;
}

bool flag(const char* name);

Case generate(uint64_t seed) {
  const bool explicit_skew = flag("WEIR_REFERENCE_EXPLICIT_SKEW");
  Rng rng(seed);
  Case c;
  c.seed = seed;
  std::vector<WindowKind> kinds;
  for (WindowKind k : {WindowKind::kTumbling, WindowKind::kHopping, WindowKind::kSession}) {
    if (kind_enabled(k)) kinds.push_back(k);
  }
  c.kind = rng.pick(kinds);
  Json& s = c.spec;
  s = Json::object();
  TimeMs unit = 0;
  switch (c.kind) {
    case WindowKind::kTumbling: {
      unit = rng.between(2, 50);
      s["interval"] = duration(unit);
      if (rng.chance(0.5)) s["offset"] = duration(rng.between(0, unit - 1));
      break;
    }
    case WindowKind::kHopping: {
      unit = rng.between(2, 48);
      TimeMs hop = 0;
      if (rng.chance(0.5)) {
        std::vector<TimeMs> divisors;
        for (TimeMs d = std::max<TimeMs>(1, (unit + 3) / 4); d <= unit; ++d) {
          if (unit % d == 0) divisors.push_back(d);
        }
        hop = rng.pick(divisors);
      } else {
        hop =
            rng.between(std::max<TimeMs>(1, (unit + 3) / 4), unit);  // at most 4 windows a reading
      }
      s["interval"] = duration(unit);
      s["hopSize"] = duration(hop);
      if (rng.chance(0.5)) s["offset"] = duration(rng.between(0, hop - 1));
      break;
    }
    case WindowKind::kSession: {
      unit = rng.between(2, 30);
      s["gap"] = duration(unit);
      s["partitionBy"] = "$device";
      if (rng.chance(0.4))
        s["maxDuration"] = duration(rng.between(std::max<TimeMs>(1, unit / 2), 6 * unit));
      break;
    }
  }
  const bool processing = rng.chance(0.08);
  TimeMs lateness = 0;
  TimeMs idle = 0;
  TimeMs skew_limit = 5 * 60 * 1000;
  if (processing) {
    s["boundary"] = "processingTime";
  } else {
    if (rng.chance(0.1)) s["boundary"] = "eventTime";
    if (rng.chance(0.6)) s["allowedLateness"] = duration(lateness = rng.between(1, 2 * unit));
    if (rng.chance(0.4)) s["idleTimeout"] = duration(idle = rng.between(5, 80));
    if (rng.chance(0.5)) {
      s["maxFutureSkew"] = duration(skew_limit = rng.between(1, 40));
    } else if (explicit_skew) {
      s["maxFutureSkew"] = duration(skew_limit);  // the default, written out
    }
  }
  const bool per_key = rng.chance(0.4);
  if (per_key) {
    s["watermark"] = "perKey";
  } else if (rng.chance(0.2)) {
    s["watermark"] = "pipeline";
  }
  if (rng.chance(0.45)) {
    s["late"] = "update";
    if (rng.chance(0.5)) s["updateFor"] = duration(rng.between(1, 3 * unit));
  } else if (rng.chance(0.2)) {
    s["late"] = "dlq";
  }
  if (c.kind == WindowKind::kTumbling && !per_key && rng.chance(0.15))
    s["maxGroups"] = rng.between(1, 3);
  const bool doc_id = rng.chance(0.4);
  Json group = Json::object();
  if (doc_id) {
    group["_id"] = {{"d", "$device"}, {"s", "$site"}};
  } else {
    group["_id"] = "$device";
  }
  const int64_t naccs = rng.between(1, 6);
  for (int64_t i = 0; i < naccs; ++i) {
    const auto k = static_cast<size_t>(rng.between(0, 14));
    group[std::string(kAccNames[k]) + std::to_string(i)] = accumulator(rng, k);
  }
  s["pipeline"] = Json::array({{{"$group", group}}});

  // The readings. The model runs alongside, so that readings without a group field can be
  // given a time that is neither late nor future (which reason wins is not part of the
  // contract).
  WindowModel model(ModelSpec::parse(c.kind, s));
  auto add = [&](Step st) {
    model.step(st);
    c.steps.push_back(std::move(st));
  };
  const int64_t n = rng.between(5, 120);
  const int64_t keys = rng.between(1, 8);
  const std::vector<TimeMs> bases = {0, 1'700'000'000'000, -100'000, 86'400'000 * 3 + 17};
  TimeMs progress = rng.pick(bases) + rng.between(0, 1000);
  const TimeMs clock_lag = rng.between(0, 20);
  TimeMs now = progress + clock_lag;
  std::vector<TimeMs> key_skew(static_cast<size_t>(keys), 0);
  if (rng.chance(0.5)) {
    for (TimeMs& k : key_skew) k = rng.between(-3 * unit, 3 * unit);
  }
  const std::vector<std::string> strings = {"a", "b", "m", "zz"};
  for (int64_t i = 0; i < n; ++i) {
    // Processing time passes: ticks, and now and then an idle period.
    if (rng.chance(0.2) || (idle > 0 && rng.chance(0.08))) {
      const bool long_pause = idle > 0 && rng.chance(0.4);
      const int64_t ticks = rng.between(1, 3);
      for (int64_t k = 0; k < ticks; ++k) {
        now += long_pause ? rng.between(idle / 2, idle * 2) : rng.between(0, idle > 0 ? idle : 20);
        Step tick;
        tick.kind = Step::Kind::kTick;
        tick.now = now;
        add(tick);
      }
      if (long_pause && rng.chance(0.5)) progress = std::max(progress, now - clock_lag);
    }
    const double r = static_cast<double>(rng.between(0, 999)) / 1000;
    if (r < 0.8) {
      progress += rng.between(0, std::max<TimeMs>(1, unit / 2));
    } else if (r < 0.9) {
      progress += rng.between(unit, 5 * unit);
    }
    now = std::max(now, progress + clock_lag + rng.between(0, 3));
    const auto key = static_cast<size_t>(rng.between(0, keys - 1));
    TimeMs t = progress + key_skew[key];
    const double j = static_cast<double>(rng.between(0, 999)) / 1000;
    if (j < 0.2) {
      t -= rng.between(0, lateness + unit);
    } else if (j < 0.3) {
      t -= rng.between(0, 4 * unit);
    } else if (j < 0.35) {
      t += rng.between(0, unit);
    }
    const double f = static_cast<double>(rng.between(0, 999)) / 1000;
    if (f < 0.03) {
      t = now + skew_limit + rng.between(1, 3 * unit);  // too far ahead
    } else if (f < 0.05) {
      t = now + skew_limit;  // just within the limit
    }
    Value doc = Value::object();
    if (rng.chance(0.02)) {
      doc.set("device", Value());
    } else {
      doc.set("device", "d" + std::to_string(key));
    }
    doc.set("site", rng.chance(0.5) ? "s0" : "s1");
    const double v = static_cast<double>(rng.between(0, 999)) / 1000;
    if (v < 0.45) {
      doc.set("v", Value(rng.between(-20, 100)));
    } else if (v < 0.70) {
      doc.set("v",
              Value(static_cast<double>(2 * rng.between(-800, 800) + 1) / 8));  // never integral
    } else if (v < 0.78) {
      doc.set("v", Value());
    } else if (v < 0.86) {
      // no "v"
    } else if (v < 0.95) {
      doc.set("v", Value(rng.pick(strings)));
    } else {
      doc.set("v", Value(rng.chance(0.5)));
    }
    if (rng.chance(0.9)) doc.set("w", Value(rng.between(0, 4)));
    doc.set("seq", Value(i));
    const bool drop_device = rng.chance(0.03);
    const bool drop_site = doc_id && rng.chance(0.02);
    if (drop_device || drop_site) {
      if (drop_device) doc.erase("device");
      if (drop_site) doc.erase("site");
      t = std::max(t, model.max_watermark() + 1);
      t = std::min(t, now + skew_limit);
      if (t <= model.max_watermark()) {
        now = t = model.max_watermark() + 1;
      }
    }
    Step st;
    st.kind = Step::Kind::kReading;
    st.now = now;
    st.t = t;
    st.doc = std::move(doc);
    add(std::move(st));
  }
  Step flush;
  flush.kind = Step::Kind::kFlush;
  flush.now = now;
  add(flush);
  c.expected = model.result();
  return c;
}

// ---------------------------------------------------------------------------------------
// Running and minimizing.

std::string run_case(const Case& c, ModelResult* model_out = nullptr,
                     Observed* engine_out = nullptr) {
  const ModelSpec spec = ModelSpec::parse(c.kind, c.spec);
  ModelResult computed;
  if (!c.expected) computed = run_model(spec, c.steps);
  const ModelResult& m = c.expected ? *c.expected : computed;
  Observed o = run_engine(c);
  std::string why = disagreement(spec, m, o);
  if (model_out != nullptr) *model_out = m;
  if (engine_out != nullptr) *engine_out = std::move(o);
  return why;
}

// What a disagreement is about, for grouping failures: its first words without numbers,
// and the accumulator for a document that differs.
std::string category(const std::string& why) {
  auto strip = [](const std::string& text) {
    std::string out;
    for (char ch : text) {
      if (!std::isdigit(static_cast<unsigned char>(ch))) out += ch;
    }
    return out;
  };
  if (why.starts_with("output")) {
    const size_t doc = why.find("): ");
    if (doc == std::string::npos) return "output identity differs";
    return "document differs in " + strip(why.substr(doc + 3, why.find(':', doc + 3) - doc - 3));
  }
  if (why.starts_with("rejections differ")) {  // "... at step 3: engine late, model nothing"
    const size_t e = why.find("engine ");
    const size_t m = why.find(", model ");
    auto reason = [&](std::string part) { return part.substr(part.rfind(' ') + 1); };
    return "rejections differ (engine " + reason(why.substr(e, m - e)) + ", model " +
           reason(why.substr(m)) + ")";
  }
  if (why.starts_with("engine rule")) {
    for (const char* rule : {"a revision without", "emitted twice", "revision after",
                             "out of (end, start, _id) order"}) {
      if (why.find(rule) != std::string::npos) return std::string("engine rule: ") + rule;
    }
  }
  return strip(why.substr(0, why.find(':')));
}

// With WEIR_REFERENCE_ISOLATE set, every run of the minimizer happens in a child process,
// so that an engine that crashes (a sanitizer report) can be minimized too.
bool flag(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

std::string isolated_run(const Case& c) {
  std::fflush(nullptr);
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  const pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    const std::string why = run_case(c);
    const ssize_t written = write(fds[1], why.data(), why.size());
    _exit(written == static_cast<ssize_t>(why.size()) ? 0 : 3);
  }
  close(fds[1]);
  std::string why;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) why.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return why;
  return "engine crashed: " + std::string(WIFSIGNALED(status)
                                              ? "signal " + std::to_string(WTERMSIG(status))
                                              : "exit " + std::to_string(WEXITSTATUS(status)));
}

bool isolate() { return flag("WEIR_REFERENCE_ISOLATE"); }

// True when c still fails the same way (the same category of disagreement).
bool fails(const Case& c, const std::string& how) {
  const std::string why = isolate() ? isolated_run(c) : run_case(c);
  return !why.empty() && category(why) == how;
}

// Drops steps (never the final flush) while the case still fails the same way: chunks
// first, then one step at a time; then accumulators and optional options of the spec.
Case minimize(Case c) {
  const std::string how = category(isolate() ? isolated_run(c) : run_case(c));
  c.expected.reset();
  bool changed = true;
  while (changed) {
    changed = false;
    for (size_t chunk = std::max<size_t>(1, c.steps.size() / 2); chunk >= 1; chunk /= 2) {
      for (size_t i = 0; i + 1 < c.steps.size();) {
        Case smaller = c;
        const size_t last = std::min(i + chunk, c.steps.size() - 1);
        smaller.steps.erase(smaller.steps.begin() + static_cast<std::ptrdiff_t>(i),
                            smaller.steps.begin() + static_cast<std::ptrdiff_t>(last));
        if (fails(smaller, how)) {
          c = std::move(smaller);
          changed = true;
        } else {
          i += chunk;
        }
      }
      if (chunk == 1) break;
    }
    Json& group = c.spec["pipeline"][0]["$group"];
    std::vector<std::string> outputs;
    for (const auto& [name, value] : group.items()) {
      if (name != "_id") outputs.push_back(name);
    }
    for (const std::string& name : outputs) {
      Case smaller = c;
      smaller.spec["pipeline"][0]["$group"].erase(name);
      if (fails(smaller, how)) {
        c = std::move(smaller);
        changed = true;
      }
    }
    for (const char* option :
         {"offset", "allowedLateness", "idleTimeout", "maxFutureSkew", "updateFor", "maxGroups",
          "maxDuration", "boundary", "watermark", "late"}) {
      if (!c.spec.contains(option)) continue;
      Case smaller = c;
      smaller.spec.erase(option);
      if (fails(smaller, how)) {
        c = std::move(smaller);
        changed = true;
      }
    }
  }
  return c;
}

std::string report(const Case& original) {
  const Case c = minimize(original);
  ModelResult m;
  Observed o;
  const std::string why = run_case(c, &m, &o);
  Json doc = {{"description", "seed " + std::to_string(c.seed)},
              {"stage", stage_name(c.kind)},
              {"spec", c.spec},
              {"steps", steps_json(c.steps)}};
  std::ostringstream os;
  os << "seed " << c.seed << " (" << original.steps.size() << " steps, minimized to "
     << c.steps.size() << "): " << why << "\n  case: " << doc.dump() << "\n  model:\n"
     << outputs_text(m.emissions, m.rejections) << "  engine:\n"
     << outputs_text(o.emissions, o.rejections)
     << (o.error.empty() ? "" : "  engine error: " + o.error + "\n");
  return os.str();
}

uint64_t env_number(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

TEST(WindowReference, RandomCasesAgreeWithTheModel) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<uint64_t> seeds;
  if (std::getenv("WEIR_REFERENCE_SEED") != nullptr) {
    seeds.push_back(env_number("WEIR_REFERENCE_SEED", 0));
  } else {
    const uint64_t n = env_number("WEIR_REFERENCE_CASES", 10000);
    for (uint64_t i = 1; i <= n; ++i) seeds.push_back(i);
  }
  std::map<std::string, size_t> stats;
  const bool trace = flag("WEIR_REFERENCE_TRACE");  // a crash names its seed
  size_t failures = 0;
  std::map<std::string, size_t> failure_kinds;
  std::map<std::string, std::string> failure_seeds;
  for (uint64_t seed : seeds) {
    if (trace) std::cerr << "seed " << seed << std::endl;
    const Case c = generate(seed);
    const ModelResult& m = *c.expected;
    Observed o;
    const std::string why = isolate() ? isolated_run(c) : run_case(c, nullptr, &o);
    ++stats[stage_name(c.kind)];
    stats["outputs"] += m.emissions.size();
    for (const Rejection& r : m.rejections) ++stats["reject " + r.reason];
    for (const Emission& e : m.emissions) {
      if (e.revision > 0) ++stats["revisions > 0"];
    }
    if (seeds.size() == 1) {
      std::cout << "case: "
                << Json({{"stage", stage_name(c.kind)},
                         {"spec", c.spec},
                         {"steps", steps_json(c.steps)}})
                       .dump()
                << "\nmodel:\n"
                << outputs_text(m.emissions, m.rejections) << "engine:\n"
                << outputs_text(o.emissions, o.rejections) << o.error << "\n";
    }
    if (why.empty()) continue;
    ++failures;
    // One minimized report per kind of disagreement, at most 10.
    const std::string kind = std::string(stage_name(c.kind)) + " " + category(why);
    if (failure_kinds[kind] < 6) failure_seeds[kind] += " " + std::to_string(seed);
    if (failure_kinds[kind]++ == 0 && failure_kinds.size() <= 10) {
      if (why.starts_with("engine crashed")) {
        const Case small = minimize(c);
        ADD_FAILURE() << "seed " << seed << ": " << why << "\n  case: "
                      << Json({{"stage", stage_name(small.kind)},
                               {"spec", small.spec},
                               {"steps", steps_json(small.steps)}})
                             .dump();
      } else {
        ADD_FAILURE() << report(c);
      }
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << seeds.size() << " cases in " << seconds << " s\n";
  for (const auto& [k, v] : stats) std::cout << "  " << k << ": " << v << "\n";
  for (const auto& [k, v] : failure_kinds)
    std::cout << "  FAILED " << v << "x " << k << " (seeds" << failure_seeds[k] << ")\n";
  EXPECT_EQ(failures, 0u);
}

// ---------------------------------------------------------------------------------------
// The case files, read by the model (window_cases_test runs them against the engine).

std::filesystem::path source_dir() {
  if (const char* d = std::getenv("WEIR_SOURCE_DIR"); d != nullptr && *d != '\0') return d;
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path();
}

TimeMs time_of(const Json& j) {
  if (j.is_string()) {
    auto t = parse_iso8601(j.get<std::string>());
    if (!t) throw std::runtime_error("bad time " + j.dump());
    return *t;
  }
  return j.get<TimeMs>();
}

TEST(WindowReference, CaseFilesAgreeWithTheModel) {
  const auto dir = source_dir() / "tests" / "cases" / "windows";
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << dir;
  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    std::ifstream in(path);
    const Json file = Json::parse(in);
    const std::string stage = file.at("stage").get<std::string>();
    const WindowKind kind = stage == "$tumblingWindow"  ? WindowKind::kTumbling
                            : stage == "$hoppingWindow" ? WindowKind::kHopping
                                                        : WindowKind::kSession;
    ModelSpec spec = ModelSpec::parse(kind, file.at("spec"));
    spec.pipeline = "cases";  // as window_cases_test builds them
    std::vector<Step> steps;
    TimeMs now = kMinTime;
    for (const Json& j : file.at("steps")) {
      Step s;
      if (j.contains("tick")) {
        s.kind = Step::Kind::kTick;
        now = time_of(j.at("tick"));
      } else if (j.contains("flush")) {
        s.kind = Step::Kind::kFlush;
      } else {
        if (j.contains("t")) s.t = time_of(j.at("t"));
        if (j.contains("now")) {
          now = time_of(j.at("now"));
        } else if (j.contains("t")) {
          now = std::max(now, s.t);
        }
        if (!j.contains("t")) s.t = now;
        if (j.contains("doc")) {
          s.doc = config::to_value(j.at("doc"));
        } else {
          s.doc = Value::object();
          if (j.contains("key")) s.doc.set("device", config::to_value(j.at("key")));
          if (j.contains("v")) s.doc.set("v", config::to_value(j.at("v")));
        }
      }
      s.now = now;
      steps.push_back(std::move(s));
    }
    const ModelResult m = run_model(spec, steps);
    // The model's outputs and rejections merged in step order (rejections first: a step
    // that rejects emits nothing).
    std::vector<std::string> got;
    size_t ri = 0;
    size_t ei = 0;
    while (ri < m.rejections.size() || ei < m.emissions.size()) {
      if (ri < m.rejections.size() &&
          (ei == m.emissions.size() || m.rejections[ri].step <= m.emissions[ei].step)) {
        got.push_back(
            Json({{"step", m.rejections[ri].step}, {"reject", m.rejections[ri].reason}}).dump());
        ++ri;
      } else {
        got.push_back(
            Json({{"step", m.emissions[ei].step}, {"emit", to_json(m.emissions[ei].doc)}}).dump());
        ++ei;
      }
    }
    const std::vector<std::string> want = pipeline::test::expected_lines(file);
    EXPECT_EQ(got, want);
  }
}

}  // namespace
}  // namespace weir::reference
