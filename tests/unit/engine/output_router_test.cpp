#include <gtest/gtest.h>

#include <deque>

#include "engine/output_router.hpp"

namespace weir::engine {
namespace {

// A sink that answers from a script (then OK) and records what it accepted.
class ScriptedSink final : public Sink {
 public:
  std::string_view name() const noexcept override { return "scripted"; }
  SinkResult send(const OutputMessage& m) override {
    ++calls;
    SinkResult r = SinkResult::kOk;
    if (!script.empty()) {
      r = script.front();
      script.pop_front();
    }
    if (r == SinkResult::kOk) accepted.push_back(m.payload);
    return r;
  }
  bool ready() const noexcept override { return up; }
  void poll(std::vector<SinkConfirmation>&) override {}
  std::deque<SinkResult> script;
  std::vector<std::string> accepted;
  int calls = 0;
  bool up = true;
};

OutputMessage msg(const std::string& p) {
  OutputMessage m;
  m.topic = "t";
  m.payload = p;
  return m;
}

TEST(OutputRouter, RetryKeepsOrderAndBacksOff) {
  ScriptedSink sink;
  OutputRouter router;
  router.set_sink(0, &sink);
  sink.script = {SinkResult::kRetry, SinkResult::kRetry};
  router.send(0, msg("1"), 0);    // RETRY: parked, next try at 100
  router.send(0, msg("2"), 10);   // queued behind 1 without calling the sink
  EXPECT_EQ(sink.calls, 1);
  router.tick(50);                // before the back-off: nothing
  EXPECT_EQ(sink.calls, 1);
  router.tick(100);               // RETRY again: back-off doubles to 200
  EXPECT_EQ(sink.calls, 2);
  router.tick(250);
  EXPECT_EQ(sink.calls, 2);
  router.tick(300);
  EXPECT_EQ(sink.accepted, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(router.backlog(), 0u);
  auto c = router.counters();
  EXPECT_EQ(c.sent, 2u);
  EXPECT_EQ(c.retried, 2u);
  router.send(0, msg("3"), 301);  // back-off reset: straight through
  EXPECT_EQ(sink.accepted.back(), "3");
}

TEST(OutputRouter, ErrorIsFinalAndCounted) {
  ScriptedSink sink;
  OutputRouter router;
  router.set_sink(0, &sink);
  sink.script = {SinkResult::kError};
  router.send(0, msg("bad"), 0);
  router.send(0, msg("good"), 0);
  EXPECT_EQ(sink.accepted, std::vector<std::string>{"good"});
  EXPECT_EQ(router.counters().failed, 1u);
  EXPECT_EQ(router.backlog(), 0u);
}

TEST(OutputRouter, FullBacklogDropsOldestAndCounts) {
  ScriptedSink sink;
  sink.up = false;
  OutputRouter router(3);
  router.set_sink(0, &sink);
  for (int i = 0; i < 3; ++i) sink.script.push_back(SinkResult::kRetry);
  for (int i = 0; i < 5; ++i) router.send(0, msg(std::to_string(i)), 0);
  EXPECT_EQ(router.backlog(), 3u);
  EXPECT_EQ(router.counters().dropped, 2u);
  router.tick(100000);  // sink not ready: untouched
  EXPECT_EQ(router.backlog(), 3u);
  sink.up = true;
  sink.script.clear();
  router.drain(100000);
  EXPECT_EQ(sink.accepted, (std::vector<std::string>{"2", "3", "4"}));
}

}  // namespace
}  // namespace weir::engine
