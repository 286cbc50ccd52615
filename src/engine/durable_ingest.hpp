// Journal before acknowledgement: every message a connection receives is appended to the
// journal on the MQTT network thread, before on_message returns and so before libmosquitto
// sends its PUBACK (tests/integration/puback_test.cpp holds libmosquitto to that). A crash
// after the PUBACK loses nothing: on start the journal is replayed after the sequence
// number the last checkpoint reflects.
//
// A crash (or a lost connection) between the append and the PUBACK makes the broker send
// the message again, with the same packet id, first thing after the next connect. Such a
// redelivery is recognised by (connection, packet id, topic and payload) among the last
// kRecent journaled messages, and dropped before it is journaled a second time; only the
// first kRecent messages after a connect are checked, as a redelivery comes before any new
// message.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "state/journal.hpp"
#include "weir/record.hpp"

namespace weir::engine {

struct DurableIngestCounters {
  uint64_t journaled = 0;
  uint64_t redeliveries_dropped = 0;
  uint64_t append_retries = 0;  // appends refused by the disk and tried again
};

class DurableIngest {
 public:
  static constexpr size_t kRecent = 1024;

  // `applied`: the last sequence number the restored checkpoint reflects. Numbers continue
  // after it; the journal's tail is read to recognise redeliveries.
  DurableIngest(std::unique_ptr<state::Journal> journal, uint64_t applied);

  // Network thread: journals m (sets m.seq) unless it is a redelivery of a message already
  // journaled (then false: drop it, its PUBACK may leave). A disk that refuses the append
  // (full, read-only) is retried every 100 ms without returning, so the broker keeps the
  // message and stops sending (back-pressure), until `stop` is set; then false as well. The
  // caller must then not process the message: it is lost to this run but, as weir is going
  // away, its PUBACK most likely never leaves either.
  bool admit(Message& m, const std::atomic<bool>& stop);

  // The records after `applied` that were in the journal when this was built, in order, as
  // messages (processing thread, before the queue's first message). Returns how many.
  uint64_t replay(const std::function<void(Message&&)>& handle);

  // After a checkpoint reflecting `applied`: drops the segments no start will need (the last
  // kRecent records stay, for recognising redeliveries).
  void checkpointed(uint64_t applied);

  const state::Journal& journal() const noexcept { return *journal_; }
  DurableIngestCounters counters() const noexcept;

 private:
  struct Recent {
    uint32_t connection = 0;
    uint32_t mid = 0;
    uint64_t hash = 0;
  };
  static uint64_t hash_of(const std::string& topic, const std::string& payload);
  void remember(uint32_t connection, uint32_t mid, uint64_t hash);

  std::unique_ptr<state::Journal> journal_;
  const uint64_t applied_;
  const uint64_t replay_upto_;  // the journal's last record when the run started
  std::mutex mu_;
  std::vector<Recent> recent_;  // ring of the last kRecent journaled messages
  size_t next_ = 0;
  std::atomic<uint64_t> journaled_{0}, dropped_{0}, retries_{0};
};

}  // namespace weir::engine
