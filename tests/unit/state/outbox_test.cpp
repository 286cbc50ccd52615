// The outbox on a real state database: order, confirmation, limits with their counters,
// the backlog after an outage or a restart (marked resent, drained at its rate, behind or
// after live outputs), bodies evicted from memory and read back, and failed saves.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "state/outbox.hpp"
#include "state/sqlite/state_store.hpp"
#include "unit/state/state_temp_dir.hpp"

namespace weir::state {
namespace {

using test::TempDir;

OutputMessage out(const std::string& payload, const std::string& key = "k") {
  OutputMessage m;
  m.topic = "up/" + key;
  m.payload = payload;
  m.key = key;
  m.output_id = "id-" + payload;
  m.headers = {{"weir-pipeline", "p"}};
  return m;
}

// Sends what the outbox offers now; returns the payloads and remembers tickets and marks.
struct Taken {
  std::vector<std::string> payloads;
  std::vector<uint64_t> tickets;
  std::vector<bool> resent;
};
Taken take(Outbox& box, TimeMs now, size_t max = 1000) {
  Taken t;
  while (t.payloads.size() < max) {
    const OutputMessage* m = box.next(now);
    if (m == nullptr) break;
    t.payloads.push_back(m->payload);
    t.tickets.push_back(m->ticket);
    t.resent.push_back(m->resent);
    box.sent();
  }
  return t;
}

void save(StateStore& store, Outbox& box) {
  store.begin();
  box.save();
  store.commit();
  box.committed();
}

config::OutboxSpec spec() { return config::OutboxSpec{}; }

TEST(Outbox, EncodesEveryFieldOfAMessage) {
  OutputMessage m = out("{\"a\":1}");
  m.qos = 2;
  m.retain = true;
  m.expiry_s = 3600;
  m.headers.emplace_back("weir-window-start", "2026-01-01T00:00:00.000Z");
  OutputMessage back;
  ASSERT_TRUE(Outbox::decode(Outbox::encode(m), back));
  EXPECT_EQ(back.topic, m.topic);
  EXPECT_EQ(back.payload, m.payload);
  EXPECT_EQ(back.key, m.key);
  EXPECT_EQ(back.output_id, m.output_id);
  EXPECT_EQ(back.qos, 2);
  EXPECT_TRUE(back.retain);
  EXPECT_EQ(back.expiry_s, 3600u);
  EXPECT_EQ(back.headers, m.headers);
  std::string blob = Outbox::encode(m);
  blob.pop_back();
  EXPECT_FALSE(Outbox::decode(blob, back));
}

TEST(Outbox, SendsInOrderAndForgetsWhatTheSinkConfirms) {
  Outbox box("up", spec(), nullptr);
  box.set_connected(true, 0);
  for (int i = 0; i < 5; ++i) box.add(out(std::to_string(i)), 0);
  EXPECT_EQ(box.depth(), 5u);
  Taken t = take(box, 0);
  EXPECT_EQ(t.payloads, (std::vector<std::string>{"0", "1", "2", "3", "4"}));
  EXPECT_EQ(t.resent, std::vector<bool>(5, false));
  EXPECT_EQ(box.in_flight(), 5u);
  box.confirm(t.tickets[1], true);
  box.confirm(t.tickets[0], true);
  box.confirm(t.tickets[4], false);
  box.confirm(t.tickets[4], true);  // a second report for the same ticket changes nothing
  EXPECT_EQ(box.depth(), 2u);
  EXPECT_EQ(box.counters().sent, 2u);
  EXPECT_EQ(box.counters().failed, 1u);
  EXPECT_EQ(box.next(0), nullptr);  // the rest is in flight
}

TEST(Outbox, KeepsAtMostMaxInFlightUnconfirmed) {
  auto s = spec();
  s.max_in_flight = 3;
  Outbox box("up", s, nullptr);
  box.set_connected(true, 0);
  for (int i = 0; i < 10; ++i) box.add(out(std::to_string(i)), 0);
  Taken t = take(box, 0);
  ASSERT_EQ(t.payloads.size(), 3u);
  box.confirm(t.tickets[0], true);
  Taken more = take(box, 0);
  EXPECT_EQ(more.payloads, std::vector<std::string>{"3"});
}

TEST(Outbox, PastMaxBytesTheOldestAreDroppedAndCounted) {
  auto s = spec();
  s.max_bytes = 10 * 1000;
  Outbox box("up", s, nullptr);  // the link is down: everything waits
  const std::string big(900, 'x');
  for (int i = 0; i < 30; ++i) box.add(out(std::to_string(i) + big), 0);
  EXPECT_LE(box.bytes(), 10u * 1000);
  const uint64_t dropped = box.counters().dropped_bytes;
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(box.depth() + dropped, 30u);
  box.set_connected(true, 1);
  Taken t = take(box, 1);
  ASSERT_EQ(t.payloads.size(), box.depth());
  // What is left is the newest, in order.
  EXPECT_EQ(t.payloads.front(), std::to_string(dropped) + big);
  EXPECT_EQ(t.payloads.back(), "29" + big);
}

TEST(Outbox, OlderThanMaxAgeIsDroppedButNotWhatIsInFlight) {
  auto s = spec();
  s.max_age_ms = 1000;
  Outbox box("up", s, nullptr);
  box.set_connected(true, 0);
  box.add(out("a"), 0);
  Taken t = take(box, 0);  // "a" in flight
  box.set_connected(false, 10);
  box.add(out("b"), 100);
  box.add(out("c"), 900);
  box.enforce_limits(1500);  // b is 1400 ms old, c 600 ms
  EXPECT_EQ(box.counters().dropped_age, 1u);
  EXPECT_EQ(box.depth(), 2u);  // a (in flight) and c
  box.set_connected(true, 1500);
  EXPECT_EQ(take(box, 1500).payloads, std::vector<std::string>{"c"});
  box.confirm(t.tickets[0], true);
  EXPECT_EQ(box.counters().sent, 1u);
}

TEST(Outbox, AfterAnOutageLiveOutputsGoFirstAndTheBacklogDrainsAtItsRate) {
  auto s = spec();
  s.live_first = true;
  s.drain_rate = 2;  // per second
  Outbox box("up", s, nullptr);
  box.set_connected(true, 0);
  box.set_connected(false, 0);
  for (int i = 0; i < 6; ++i) box.add(out("old" + std::to_string(i)), 0);
  box.set_connected(true, 10000);
  box.add(out("new0"), 10000);
  Taken t = take(box, 10000);
  // new0 first, then nothing from the backlog yet (no tokens at the moment the link returned).
  EXPECT_EQ(t.payloads, std::vector<std::string>{"new0"});
  EXPECT_EQ(t.resent, std::vector<bool>{false});
  Taken a = take(box, 11000);  // one second: two backlog outputs
  EXPECT_EQ(a.payloads, (std::vector<std::string>{"old0", "old1"}));
  EXPECT_EQ(a.resent, (std::vector<bool>{true, true}));
  box.add(out("new1"), 11200);
  Taken b = take(box, 11200);
  EXPECT_EQ(b.payloads, std::vector<std::string>{"new1"});  // live is not starved
  // At most one second's worth at once, however long the sink was not asked.
  Taken c = take(box, 14000);
  EXPECT_EQ(c.payloads, (std::vector<std::string>{"old2", "old3"}));
  Taken d = take(box, 15000);
  EXPECT_EQ(d.payloads, (std::vector<std::string>{"old4", "old5"}));
  EXPECT_EQ(box.counters().resent, 6u);
  EXPECT_EQ(box.backlog(), 0u);
}

TEST(Outbox, ByDefaultLiveOutputsWaitBehindTheBacklog) {
  auto s = spec();
  s.drain_rate = 1;
  Outbox box("up", s, nullptr);
  for (int i = 0; i < 3; ++i) box.add(out("old" + std::to_string(i)), 0);
  box.set_connected(true, 60000);  // a minute after they were made: backlog
  box.add(out("new0"), 60000);
  EXPECT_TRUE(take(box, 60000).payloads.empty());
  EXPECT_EQ(take(box, 61000).payloads, std::vector<std::string>{"old0"});
  EXPECT_EQ(take(box, 62000).payloads, std::vector<std::string>{"old1"});
  EXPECT_EQ(take(box, 63000).payloads, (std::vector<std::string>{"old2", "new0"}));
}

TEST(Outbox, TheBacklogSurvivesARestartAndIsSentInOrderMarkedResent) {
  TempDir dir;
  const std::string path = dir.file("weir.db");
  std::vector<uint64_t> in_flight;
  {
    auto store = StateStore::open({.path = path});
    Outbox box("cloud", spec(), store.get());
    box.set_connected(true, 0);
    for (int i = 0; i < 4; ++i) box.add(out(std::to_string(i)), i);
    Taken t = take(box, 5, 2);  // 0 and 1 in flight
    save(*store, box);
    box.confirm(t.tickets[0], true);  // 0 confirmed: erased by the next save
    box.add(out("4"), 6);
    save(*store, box);
    box.add(out("5"), 7);  // never saved: the journal replay makes it again after a crash
    // another sink's outbox in the same database is separate
    Outbox other("other", spec(), store.get());
    other.add(out("x"), 0);
    save(*store, other);
  }
  auto store = StateStore::open({.path = path});
  const auto sum = store->summary();
  ASSERT_EQ(sum.outboxes.size(), 2u);
  EXPECT_EQ(sum.outboxes[0].sink, "cloud");
  EXPECT_EQ(sum.outboxes[0].entries, 4);
  Outbox box("cloud", spec(), store.get());
  box.load();
  EXPECT_EQ(box.depth(), 4u);
  box.add(out("live"), 100);
  box.set_connected(true, 100);
  Taken t = take(box, 100);
  // "1" was in flight when the process ended: sent again (the sink may have it: at least once).
  EXPECT_EQ(t.payloads, (std::vector<std::string>{"1", "2", "3", "4", "live"}));
  EXPECT_EQ(t.resent, (std::vector<bool>{true, true, true, true, false}));
  for (auto ticket : t.tickets) box.confirm(ticket, true);
  save(*store, box);
  EXPECT_EQ(store->summary().outboxes.size(), 1u);  // only "other" is left
}

TEST(Outbox, BodiesBeyondTheMemoryBudgetAreReadBackFromTheDatabase) {
  TempDir dir;
  auto store = StateStore::open({.path = dir.file("weir.db")});
  Outbox box("cloud", spec(), store.get(), /*memory_budget=*/4096);
  for (int i = 0; i < 500; ++i) box.add(out(std::to_string(i) + std::string(100, '.')), i);
  EXPECT_GT(box.body_bytes(), 500u * 100);
  save(*store, box);  // evicts most bodies
  EXPECT_LE(box.body_bytes(), 4096u);
  box.set_connected(true, 1000);
  Taken t = take(box, 1000);
  ASSERT_EQ(t.payloads.size(), 500u);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(t.payloads[static_cast<size_t>(i)], std::to_string(i) + std::string(100, '.'));
}

TEST(Outbox, AFailedSaveIsWrittenAgainByTheNextOne) {
  TempDir dir;
  const std::string path = dir.file("weir.db");
  {
    auto store = StateStore::open({.path = path});
    Outbox box("cloud", spec(), store.get());
    box.set_connected(true, 0);
    box.add(out("gone"), 0);
    Taken t = take(box, 0);
    save(*store, box);  // "gone" is in the database, in flight
    box.confirm(t.tickets[0], true);
    box.set_connected(false, 0);
    box.add(out("a"), 0);
    // A checkpoint that fails: neither the new entry nor the erase of "gone" is kept...
    store->begin();
    box.save();
    store->rollback();
    box.save_failed();
    EXPECT_EQ(store->summary().outboxes.at(0).entries, 1);
    // ...and the next one writes both.
    box.add(out("b"), 1);
    save(*store, box);
  }
  auto store = StateStore::open({.path = path});
  Outbox box("cloud", spec(), store.get());
  box.load();
  box.set_connected(true, 10);
  EXPECT_EQ(take(box, 10).payloads, (std::vector<std::string>{"a", "b"}));
}

TEST(Outbox, AMessageTheSinkLostIsSentAgainFirstMarkedResent) {
  Outbox box("up", spec(), nullptr);
  box.set_connected(true, 0);
  for (int i = 0; i < 3; ++i) box.add(out(std::to_string(i)), 0);
  Taken t = take(box, 0);
  box.confirm(t.tickets[0], true);
  box.requeue(t.tickets[1]);
  box.add(out("3"), 1);
  Taken again = take(box, 1);
  EXPECT_EQ(again.payloads, (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(again.resent, (std::vector<bool>{true, false}));
  EXPECT_EQ(box.in_flight(), 3u);
}

TEST(Outbox, TheIndexStaysSmallWhileLiveOutputsPassASlowBacklog) {
  auto s = spec();
  s.live_first = true;
  s.drain_rate = 1;
  Outbox box("up", s, nullptr);
  box.set_connected(true, 0);
  box.set_connected(false, 0);
  for (int i = 0; i < 10; ++i) box.add(out("old"), 0);
  box.set_connected(true, 100000);
  for (int i = 0; i < 20000; ++i) {
    box.add(out("new"), 100000);
    for (auto ticket : take(box, 100000).tickets) box.confirm(ticket, true);
  }
  EXPECT_EQ(box.backlog(), 10u);  // rate-limited: none of it yet
  EXPECT_LT(box.index_size(), 2100u) << "done entries behind the backlog are compacted";
  EXPECT_EQ(box.counters().sent, 20000u - (box.in_flight()));
}

TEST(Outbox, MessageExpiryCountsFromWhenTheOutputWasMade) {
  Outbox box("up", spec(), nullptr);
  OutputMessage m = out("a");
  m.expiry_s = 60;
  box.add(std::move(m), 0);
  OutputMessage n = out("b");
  n.expiry_s = 10;
  box.add(std::move(n), 0);
  box.set_connected(true, 25000);
  const OutputMessage* first = box.next(25000);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->payload, "a");
  EXPECT_EQ(first->expiry_s, 35u);
  box.sent();
  EXPECT_EQ(box.next(25000), nullptr);  // "b" expired while it waited: dropped, counted
  EXPECT_EQ(box.counters().dropped_age, 1u);
}

TEST(Outbox, OutputsMadeWhileFirstConnectingAreNotBacklog) {
  Outbox box("up", spec(), nullptr);
  box.add(out("early"), 0);
  box.add(out("startup"), 9000);
  box.set_connected(true, 12000);
  Taken t = take(box, 12000);
  EXPECT_EQ(t.payloads, (std::vector<std::string>{"early", "startup"}));
  EXPECT_EQ(t.resent, (std::vector<bool>{true, false}));  // only "early" waited over 10 s
}

}  // namespace
}  // namespace weir::state
