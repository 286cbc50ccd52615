// The journal on real files: records back exactly across a reopen, segments rolled and
// trimmed without reusing sequence numbers, a torn tail cut off, corruption reported, and
// appends from two threads.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "state/journal.hpp"
#include "unit/state/state_temp_dir.hpp"

namespace weir::state {
namespace {

namespace fs = std::filesystem;

using test::TempDir;

std::string payload_of(uint64_t i) {
  std::string p(static_cast<size_t>(i % 300), '\0');
  for (size_t k = 0; k < p.size(); ++k) p[k] = static_cast<char>((i * 31 + k) & 0xff);
  return p;
}

std::vector<JournalRecord> all(const Journal& j, uint64_t after = 0) {
  std::vector<JournalRecord> out;
  j.replay(after, [&](const JournalRecord& r) { out.push_back(r); });
  return out;
}

std::vector<std::string> segment_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Journal, RecordsComeBackExactlyAfterAReopen) {
  TempDir dir;
  {
    auto j = Journal::open({.dir = dir.path()});
    EXPECT_EQ(j->last_seq(), 0u);
    for (uint64_t i = 1; i <= 1000; ++i) {
      EXPECT_EQ(j->append(static_cast<uint32_t>(i % 3), static_cast<uint32_t>(i % 65536) + 1,
                          static_cast<int64_t>(i) * 1000,
                          "sensors/dev-" + std::to_string(i % 7) + "/t", payload_of(i)),
                i);
    }
  }
  auto j = Journal::open({.dir = dir.path()});
  EXPECT_EQ(j->last_seq(), 1000u);
  EXPECT_EQ(j->truncated_bytes(), 0u);
  auto recs = all(*j);
  ASSERT_EQ(recs.size(), 1000u);
  for (uint64_t i = 1; i <= 1000; ++i) {
    const auto& r = recs[i - 1];
    ASSERT_EQ(r.seq, i);
    EXPECT_EQ(r.connection, i % 3);
    EXPECT_EQ(r.mid, i % 65536 + 1);
    EXPECT_EQ(r.received, static_cast<int64_t>(i) * 1000);
    EXPECT_EQ(r.topic, "sensors/dev-" + std::to_string(i % 7) + "/t");
    ASSERT_EQ(r.payload, payload_of(i)) << i;
  }
  EXPECT_EQ(all(*j, 990).size(), 10u);
  EXPECT_EQ(all(*j, 990).front().seq, 991u);
  EXPECT_EQ(j->append(0, 7, 0, "t", "next"), 1001u);
}

TEST(Journal, SegmentsRollAndTrimWithoutReusingSequenceNumbers) {
  TempDir dir;
  {
    auto j = Journal::open({.dir = dir.path(), .segment_bytes = 4096});
    for (uint64_t i = 1; i <= 1000; ++i) j->append(0, 7, 0, "t", payload_of(i));
    const size_t before = j->segments();
    EXPECT_GT(before, 20u);
    j->trim(600);
    EXPECT_LT(j->segments(), before);
    auto recs = all(*j, 600);
    ASSERT_EQ(recs.size(), 400u);
    EXPECT_EQ(recs.front().seq, 601u);
    auto kept = all(*j);
    EXPECT_LE(kept.front().seq, 601u) << "nothing after the trim point was deleted";
    EXPECT_GT(kept.front().seq, 1u) << "segments before it were";
    j->trim(5000);  // everything: the segment being written stays
    EXPECT_EQ(j->segments(), 1u);
  }
  auto j = Journal::open({.dir = dir.path(), .segment_bytes = 4096});
  EXPECT_EQ(j->last_seq(), 1000u);
  EXPECT_EQ(j->append(0, 7, 0, "t", "after a restart"), 1001u);
}

TEST(Journal, ATornLastRecordIsCutOffOnOpen) {
  TempDir dir;
  {
    auto j = Journal::open({.dir = dir.path()});
    for (uint64_t i = 1; i <= 10; ++i) j->append(0, 7, 0, "t", payload_of(i + 100));
  }
  const std::string seg = segment_files(dir.path()).back();
  const auto size = fs::file_size(seg);
  fs::resize_file(seg, size - 5);  // the power went mid-write
  auto j = Journal::open({.dir = dir.path()});
  EXPECT_EQ(j->last_seq(), 9u);
  EXPECT_GT(j->truncated_bytes(), 0u);
  EXPECT_EQ(j->append(0, 7, 0, "t", "again"), 10u);
  auto recs = all(*j);
  ASSERT_EQ(recs.size(), 10u);
  EXPECT_EQ(recs.back().payload, "again");
}

TEST(Journal, GarbageAfterTheLastRecordIsCutOff) {
  TempDir dir;
  { Journal::open({.dir = dir.path()})->append(0, 7, 0, "t", "one"); }
  {
    std::ofstream f(segment_files(dir.path()).back(), std::ios::binary | std::ios::app);
    f << std::string(64, '\xee');
  }
  auto j = Journal::open({.dir = dir.path()});
  EXPECT_EQ(j->last_seq(), 1u);
  EXPECT_EQ(j->truncated_bytes(), 64u);
  EXPECT_EQ(all(*j).size(), 1u);
}

TEST(Journal, AReadOnlyReaderCutsNothingAndCreatesNothing) {
  TempDir dir;
  EXPECT_EQ(Journal::open({.dir = dir.path() + "/none", .read_only = true})->last_seq(), 0u);
  EXPECT_FALSE(fs::exists(dir.path() + "/none"));
  { Journal::open({.dir = dir.path()})->append(0, 7, 0, "t", "one"); }
  const std::string seg = segment_files(dir.path()).back();
  { std::ofstream(seg, std::ios::binary | std::ios::app) << std::string(5, '\x01'); }  // a record half-written
  const auto size = fs::file_size(seg);
  auto r = Journal::open({.dir = dir.path(), .read_only = true});
  EXPECT_EQ(r->last_seq(), 1u);
  EXPECT_EQ(all(*r).size(), 1u);
  EXPECT_EQ(fs::file_size(seg), size) << "the writer's tail is not the reader's to cut";
  EXPECT_THROW(r->append(0, 1, 0, "t", "x"), JournalError);
}

TEST(Journal, NumbersContinueAfterTheCheckpointEvenWhenTheJournalWasLost) {
  TempDir dir;
  auto j = Journal::open({.dir = dir.path()});
  j->continue_after(5000);  // the checkpoint covers up to 5000; the journal is empty
  EXPECT_EQ(j->append(0, 7, 0, "t", "a"), 5001u);
  j->continue_after(10);  // already past it: nothing changes
  EXPECT_EQ(j->append(0, 7, 0, "t", "b"), 5002u);
  EXPECT_EQ(j->first_seq(), 5001u);
  std::vector<JournalRecord> upto;
  j->replay(0, [&](const JournalRecord& rec) { upto.push_back(rec); }, 5001);
  ASSERT_EQ(upto.size(), 1u);
  EXPECT_EQ(upto[0].payload, "a");
  auto again = Journal::open({.dir = dir.path()});
  EXPECT_EQ(again->last_seq(), 5002u);
}

// weir replays the journal on start while the MQTT threads already append new messages
// after it: a replay up to a position never reads past it, where a record may be half
// written (here: the first bytes of one, as a reader can see them mid-write()).
TEST(Journal, AReplayUpToAPositionIgnoresARecordBeingWritten) {
  TempDir dir;
  auto j = Journal::open({.dir = dir.path()});
  for (uint64_t i = 1; i <= 100; ++i) j->append(0, 7, 0, "t", payload_of(i));
  {
    std::ofstream f(segment_files(dir.path()).back(), std::ios::binary | std::ios::app);
    f << std::string("\x40\x00\x00\x00\x12\x34", 6);  // a record's head, its body not yet there
  }
  std::vector<JournalRecord> got;
  ASSERT_NO_THROW(j->replay(0, [&](const JournalRecord& r) { got.push_back(r); }, 100));
  ASSERT_EQ(got.size(), 100u);
  EXPECT_EQ(got.back().seq, 100u);
  got.clear();
  ASSERT_NO_THROW(j->replay(90, [&](const JournalRecord& r) { got.push_back(r); }, 95));
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got.front().seq, 91u);
}

TEST(Journal, CorruptionBeforeTheTailIsReportedNotSkipped) {
  TempDir dir;
  {
    auto j = Journal::open({.dir = dir.path(), .segment_bytes = 2048});
    for (uint64_t i = 1; i <= 200; ++i) j->append(0, 7, 0, "t", payload_of(i));
  }
  const std::string first = segment_files(dir.path()).front();
  {
    std::fstream f(first, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(40);
    f.put('\x5a');
  }
  auto j = Journal::open({.dir = dir.path(), .segment_bytes = 2048});
  EXPECT_THROW(all(*j), JournalError);
  EXPECT_EQ(all(*j, j->last_seq() - 1).size(), 1u) << "a replay after the damage still works";
}

TEST(Journal, TwoThreadsAppendWithoutLosingOrMixingRecords) {
  TempDir dir;
  auto j = Journal::open({.dir = dir.path(), .segment_bytes = 64 * 1024});
  auto writer = [&](uint32_t conn) {
    for (int i = 0; i < 5000; ++i) j->append(conn, 1, i, "t/" + std::to_string(conn), payload_of(static_cast<uint64_t>(i)));
  };
  std::thread a(writer, 1), b(writer, 2);
  a.join();
  b.join();
  auto recs = all(*j);
  ASSERT_EQ(recs.size(), 10000u);
  int per[3] = {0, 0, 0};
  for (size_t i = 0; i < recs.size(); ++i) {
    ASSERT_EQ(recs[i].seq, i + 1);
    ASSERT_EQ(recs[i].topic, "t/" + std::to_string(recs[i].connection));
    ASSERT_EQ(recs[i].payload, payload_of(static_cast<uint64_t>(recs[i].received)));
    ++per[recs[i].connection];
  }
  EXPECT_EQ(per[1], 5000);
  EXPECT_EQ(per[2], 5000);
}

TEST(Journal, AnUnusableDirectoryIsAClearError) {
  TempDir dir;
  const std::string file = dir.path() + "/plain-file";
  std::ofstream(file) << "x";
  try {
    Journal::open({.dir = file + "/journal"});
    ADD_FAILURE() << "opened a journal under a file";
  } catch (const JournalError& e) {
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace weir::state
