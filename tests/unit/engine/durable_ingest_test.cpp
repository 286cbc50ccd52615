// Journal before acknowledgement, on real journal files: what a connection receives is
// journaled with increasing numbers, replayed after the checkpoint's number on the next
// start, and a broker's redelivery of a message already journaled (a crash or a lost
// connection between the append and the PUBACK) is recognised and dropped, also across a
// restart.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "engine/durable_ingest.hpp"
#include "unit/state/state_temp_dir.hpp"

namespace weir::engine {
namespace {

using state::Journal;
using state::test::TempDir;

Message msg(uint32_t mid, const std::string& payload, uint32_t since_connect = 0, int qos = 1) {
  Message m;
  m.connection = 0;
  m.topic = "sensors/d1/t";
  m.payload = payload;
  m.received = 1000 + mid;
  m.qos = qos;
  m.mid = mid;
  m.since_connect = since_connect;
  return m;
}

std::unique_ptr<DurableIngest> open(const TempDir& dir, uint64_t applied) {
  return std::make_unique<DurableIngest>(Journal::open({.dir = dir.file("journal")}), applied);
}

std::vector<Message> replayed(DurableIngest& d) {
  std::vector<Message> out;
  d.replay([&](Message&& m) { out.push_back(std::move(m)); });
  return out;
}

const std::atomic<bool> kRunning{false};

TEST(DurableIngest, MessagesAreJournaledAndReplayedAfterTheCheckpoint) {
  TempDir dir;
  {
    auto d = open(dir, 0);
    EXPECT_TRUE(replayed(*d).empty());
    for (uint32_t i = 1; i <= 10; ++i) {
      Message m = msg(i, "v" + std::to_string(i), i + 100);
      ASSERT_TRUE(d->admit(m, kRunning));
      EXPECT_EQ(m.seq, i);
    }
  }
  auto d = open(dir, 7);  // the checkpoint reflects messages up to 7
  auto r = replayed(*d);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].seq, 8u);
  EXPECT_EQ(r[0].payload, "v8");
  EXPECT_EQ(r[0].received, 1008);
  EXPECT_EQ(r[2].seq, 10u);
  // What arrives now is numbered after the journal and is not part of the replay.
  Message m = msg(50, "new", 0);
  ASSERT_TRUE(d->admit(m, kRunning));
  EXPECT_EQ(m.seq, 11u);
  EXPECT_EQ(replayed(*d).size(), 3u);
}

TEST(DurableIngest, ARedeliveryAfterAReconnectIsDroppedOnce) {
  TempDir dir;
  auto d = open(dir, 0);
  Message a = msg(17, "reading 17", 5);
  ASSERT_TRUE(d->admit(a, kRunning));
  Message again = msg(17, "reading 17", 0);  // first message after a reconnect
  EXPECT_FALSE(d->admit(again, kRunning));
  EXPECT_EQ(d->counters().redeliveries_dropped, 1u);
  Message third = msg(17, "reading 17", 1);  // one journaled message, one redelivery
  EXPECT_TRUE(d->admit(third, kRunning));
  // Same id, other content: a new message.
  Message other = msg(18, "x", 3);
  ASSERT_TRUE(d->admit(other, kRunning));
  Message changed = msg(18, "y", 0);
  EXPECT_TRUE(d->admit(changed, kRunning));
  // Long after a connect, or at QoS 0, nothing is compared.
  Message late = msg(19, "z", 3);
  ASSERT_TRUE(d->admit(late, kRunning));
  Message late_again = msg(19, "z", DurableIngest::kRecent);
  EXPECT_TRUE(d->admit(late_again, kRunning));
  Message q0 = msg(0, "q0", 0, 0);
  ASSERT_TRUE(d->admit(q0, kRunning));
  Message q0_again = msg(0, "q0", 0, 0);
  EXPECT_TRUE(d->admit(q0_again, kRunning));
  EXPECT_EQ(d->counters().redeliveries_dropped, 1u);
}

TEST(DurableIngest, ARedeliveryAfterACrashIsRecognisedFromTheJournal) {
  TempDir dir;
  {
    auto d = open(dir, 0);
    for (uint32_t i = 1; i <= 2000; ++i) {
      Message m = msg(i, "r" + std::to_string(i), i);
      ASSERT_TRUE(d->admit(m, kRunning));
    }
    d->checkpointed(2000);
  }
  // Killed before the PUBACK of 2000 left: the broker sends it again after the restart.
  auto d = open(dir, 2000);
  EXPECT_TRUE(replayed(*d).empty());
  Message again = msg(2000, "r2000", 0);
  EXPECT_FALSE(d->admit(again, kRunning));
  Message fresh = msg(2001, "r2001", 1);
  ASSERT_TRUE(d->admit(fresh, kRunning));
  EXPECT_EQ(fresh.seq, 2001u);
}

TEST(DurableIngest, NumbersContinueAfterTheCheckpointWhenTheJournalIsGone) {
  TempDir dir;
  {
    auto d = open(dir, 0);
    Message m = msg(1, "a", 1);
    ASSERT_TRUE(d->admit(m, kRunning));
  }
  std::filesystem::remove_all(dir.file("journal"));
  auto d = open(dir, 500);
  EXPECT_TRUE(replayed(*d).empty());
  Message m = msg(2, "b", 1);
  ASSERT_TRUE(d->admit(m, kRunning));
  EXPECT_EQ(m.seq, 501u) << "a number the checkpoint covers would be skipped at the next replay";
}

TEST(DurableIngest, ACheckpointTrimsTheJournalButKeepsTheRecentTail) {
  TempDir dir;
  auto d = std::make_unique<DurableIngest>(Journal::open({.dir = dir.file("journal"), .segment_bytes = 4096}), 0);
  for (uint32_t i = 1; i <= 5000; ++i) {
    Message m = msg(i % 65535 + 1, "payload number " + std::to_string(i), i);
    ASSERT_TRUE(d->admit(m, kRunning));
  }
  const size_t before = d->journal().segments();
  d->checkpointed(5000);
  EXPECT_LT(d->journal().segments(), before);
  EXPECT_LE(d->journal().first_seq(), 5000u - DurableIngest::kRecent + 1);
  EXPECT_GT(d->journal().first_seq(), 1u);
}

TEST(DurableIngest, AJournalThatCannotBeWrittenHoldsTheMessageUntilStop) {
  TempDir dir;
  { open(dir, 0); }
  // A journal that refuses every append (read-only here; a full disk in the field).
  auto ro = std::make_unique<DurableIngest>(Journal::open({.dir = dir.file("journal"), .read_only = true}), 0);
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(350));
    stop = true;
  });
  Message m = msg(1, "held", 1);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(ro->admit(m, stop)) << "an append that failed must not let the message through";
  stopper.join();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(300)) << "it waited and retried";
  EXPECT_GE(ro->counters().append_retries, 2u);
  EXPECT_EQ(m.seq, 0u);
}

}  // namespace
}  // namespace weir::engine
