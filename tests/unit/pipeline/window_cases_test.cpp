// Runs every case file of tests/cases/windows against the window stages and checks the
// outputs and rejections exactly, in order.
//
// A case file:
//   {"description": "...", "stage": "$tumblingWindow", "spec": {...the stage's options...},
//    "steps": [...], "expect": [...]}
// Steps, in order:
//   {"t": T, "key": "a", "v": 3, "now": N}  a reading at event time T (ms, or ISO 8601 text)
//                                           {"device": "a", "v": 3}; "doc": {...} gives
//                                           the whole reading instead of key and v. "now"
//                                           sets the processing clock first; without it
//                                           the clock moves to max(clock, T). Without "t"
//                                           (boundary processingTime) T is the clock.
//   {"tick": N}                             the clock moves to N, then on_tick()
//   {"flush": true}                         flush()
// Expect, in order: {"step": i, "reject": "late"} (process() answered kDeadLetter with
// that reason) or {"step": i, "emit": {...the whole document...}} (forwarded during step i,
// with event_time = end - 1). Other keys ("note") are comments.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/node.hpp"
#include "pipeline/window/hopping_window.hpp"
#include "pipeline/window/session_window.hpp"
#include "pipeline/window/tumbling_window.hpp"
#include "unit/pipeline/window_capture.hpp"
#include "weir/time.hpp"

namespace weir::pipeline {
namespace {

using Json = config::Json;

std::filesystem::path cases_dir() {
  std::filesystem::path root;
  if (const char* d = std::getenv("WEIR_SOURCE_DIR"); d != nullptr && *d != '\0') {
    root = d;
  } else {  // test discovery runs without the environment: the source file's own place
    root = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path();
  }
  return root / "tests" / "cases" / "windows";
}

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(cases_dir(), ec)) {
    if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

using test::Capture;

TimeMs time_of(const Json& j) {
  if (j.is_string()) {
    std::optional<TimeMs> t = parse_iso8601(j.get<std::string>());
    if (!t) throw std::runtime_error("not a time: " + j.dump());
    return *t;
  }
  return j.get<TimeMs>();
}

std::unique_ptr<Operator> build(const std::string& stage, const Json& spec) {
  const config::Node node(spec, "/spec");
  const StageBuildContext ctx{"cases", 0, "", {}};
  if (stage == "$tumblingWindow") return make_tumbling_window(node, ctx);
  if (stage == "$hoppingWindow") return make_hopping_window(node, ctx);
  if (stage == "$sessionWindow") return make_session_window(node, ctx);
  throw std::runtime_error("unknown stage " + stage);
}

class WindowCase : public ::testing::TestWithParam<std::string> {};

TEST_P(WindowCase, OutputsInOrder) {
  const auto path = cases_dir() / (GetParam() + ".json");
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  const Json file = Json::parse(in);
  ASSERT_TRUE(file.contains("description")) << "every case says what it shows";
  const Json& spec = file.at("spec");
  std::unique_ptr<Operator> op = build(file.at("stage").get<std::string>(), spec);
  Capture ctx;
  ctx.clock = kMinTime;  // until a step sets it
  std::vector<std::string> got;
  const Json& steps = file.at("steps");
  for (size_t i = 0; i < steps.size(); ++i) {
    const Json& s = steps[i];
    const size_t out_before = ctx.out.size();
    if (s.contains("tick")) {
      ctx.clock = time_of(s.at("tick"));
      op->on_tick(ctx);
    } else if (s.contains("flush")) {
      op->flush(ctx);
    } else {
      Record r;
      if (s.contains("t")) r.event_time = time_of(s.at("t"));
      if (s.contains("now")) {
        ctx.clock = time_of(s.at("now"));
      } else if (s.contains("t")) {
        ctx.clock = std::max(ctx.clock, r.event_time);
      }
      if (!s.contains("t")) r.event_time = ctx.clock;
      r.processing_time = ctx.clock;
      if (s.contains("doc")) {
        r.doc = config::to_value(s.at("doc"));
      } else {
        r.doc = Value::object();
        if (s.contains("key")) r.doc.set("device", config::to_value(s.at("key")));
        if (s.contains("v")) r.doc.set("v", config::to_value(s.at("v")));
      }
      const size_t rejected_before = ctx.rejected.size();
      const StageResult res = op->process(r, ctx);
      if (ctx.rejected.size() != rejected_before) {
        EXPECT_EQ(res, StageResult::kDeadLetter) << "step " << i;
        got.push_back(Json({{"step", i}, {"reject", ctx.rejected.back()}}).dump());
      } else {
        EXPECT_EQ(res, StageResult::kConsumed) << "step " << i;
      }
    }
    for (size_t k = out_before; k < ctx.out.size(); ++k) {
      const Record& r = ctx.out[k];
      got.push_back(Json({{"step", i}, {"emit", Json::parse(r.doc.to_json())}}).dump());
      const Value* end =
          r.doc.find("_stream_meta") ? r.doc.find("_stream_meta")->find("window") : nullptr;
      end = end != nullptr ? end->find("end") : nullptr;
      ASSERT_NE(end, nullptr) << r.doc.to_json();
      EXPECT_EQ(r.event_time, parse_iso8601(end->as_string()).value_or(0) - 1) << "step " << i;
    }
  }
  const std::vector<std::string> want = pipeline::test::expected_lines(file);
  EXPECT_EQ(got, want) << file.at("description").get<std::string>();
}

INSTANTIATE_TEST_SUITE_P(Windows, WindowCase, ::testing::ValuesIn(case_names()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name = param.param;
                           std::replace_if(
                               name.begin(), name.end(),
                               [](char ch) {
                                 return !std::isalnum(static_cast<unsigned char>(ch));
                               },
                               '_');
                           return name;
                         });

}  // namespace
}  // namespace weir::pipeline
