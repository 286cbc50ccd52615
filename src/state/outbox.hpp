// Store-and-forward for one sink: every output waits here, in order, until the sink confirms
// it. Entries are saved to the state database with each checkpoint (in the checkpoint's
// transaction, so the outbox and the state it came from always match) and erased there once
// confirmed. While the sink is down the outbox grows up to maxBytes and maxAge; past a limit
// the oldest entries are dropped and counted. When the link returns, what waited (and what a
// restart found in the database) is the backlog: it is sent in order, at most drainRate per
// second, marked as resent; live outputs go first ("live") or wait behind it ("order").
//
// Only the bookkeeping of every entry (sequence number, creation time, size, state) stays in
// memory; message bodies are kept until saved, then evicted past a memory budget and read
// back from the database in batches when their turn comes.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "weir/sink.hpp"
#include "weir/time.hpp"

namespace weir::state {

class StateStore;

struct OutboxCounters {
  uint64_t added = 0;          // outputs put in the outbox (ever)
  uint64_t sent = 0;           // confirmed by the sink
  uint64_t failed = 0;         // refused by the sink for good
  uint64_t dropped_bytes = 0;  // dropped because the outbox exceeded maxBytes
  uint64_t dropped_age = 0;    // dropped because they were older than maxAge (or their MQTT 5
                               // message expiry passed while they waited)
  uint64_t resent = 0;         // sent from the backlog (marked "weir-resent")
};

class Outbox {
 public:
  // sink: the connection name (the key in the database). store may be null: the outbox
  // then lives in memory only and is lost at exit.
  Outbox(std::string sink, const config::OutboxSpec& spec, StateStore* store,
         size_t memory_budget = 8u << 20);

  // Indexes what the database holds for this sink (left by an earlier run): the backlog.
  void load();

  // A new output; entries past a limit are dropped to make room.
  void add(OutputMessage&& message, TimeMs now);
  // The link state as the router sees it; on the way up, every unsent entry becomes backlog.
  void set_connected(bool connected, TimeMs now);
  // Drops entries past maxAge or maxBytes (oldest first; entries in flight are kept).
  void enforce_limits(TimeMs now);

  // The next message to send now (in flight cap, priority and drain rate allowing), with
  // its ticket set; null when none. Call sent() if the sink took it.
  const OutputMessage* next(TimeMs now);
  void sent();
  // The sink answered ERROR to what next() returned: dropped and counted as failed.
  void refused();
  // A confirmation for a ticket (sequence number); false when the ticket is not in flight
  // (unknown, or already confirmed).
  bool confirm(uint64_t ticket, bool ok);
  // The sink lost an in-flight message without sending it: it goes back to the queue (as
  // backlog, so it is marked resent) and is sent again.
  void requeue(uint64_t ticket);

  // Writes what changed since the last save (new entries, erased ones) into the store's
  // open transaction (throws state::StateError); then committed() once the transaction is
  // committed, or save_failed() after it was rolled back (the next save writes it again).
  void save();
  void committed();
  void save_failed();

  const std::string& sink() const noexcept { return sink_; }
  size_t depth() const noexcept { return live_entries_; }  // entries waiting or in flight
  uint64_t bytes() const noexcept { return bytes_; }
  size_t in_flight() const noexcept { return in_flight_; }
  size_t backlog() const noexcept;                           // backlog entries not yet sent
  size_t body_bytes() const noexcept { return body_bytes_; }  // message bodies in memory
  size_t index_size() const noexcept { return entries_.size(); }
  const OutboxCounters& counters() const noexcept { return counters_; }

  // The serialized form of a message in the database.
  static std::string encode(const OutputMessage& m);
  static bool decode(std::string_view blob, OutputMessage& m);

 private:
  enum class State : uint8_t { kQueued, kInFlight, kDone };
  struct Entry {
    uint64_t seq;
    TimeMs created;
    uint32_t bytes;
    uint32_t expiry_s;  // the output's MQTT 5 message expiry as made (0: none)
    State state;
    bool saved;    // in the database (as of the last committed save)
    bool backlog;  // to be sent from the backlog (marked resent)
  };
  Entry* find(uint64_t seq);
  void finish(Entry& e);
  void drop(Entry& e, bool for_age);
  void pop_done();
  // Removes done entries from the middle of the index once they are most of it.
  void compact();
  // The body of an entry: from memory, else read with the following ones from the store.
  // Null when the store has no such row (read_failed_ false) or cannot be read now (true).
  OutputMessage* body(const Entry& e);
  void evict();
  // Next queued entry at or after cursor in the live range / first backlog range.
  Entry* next_live();
  Entry* next_backlog();

  std::string sink_;
  config::OutboxSpec spec_;
  StateStore* store_;
  size_t memory_budget_;
  std::deque<Entry> entries_;  // in seq order; done ones are popped from the front
  std::unordered_map<uint64_t, OutputMessage> bodies_;
  size_t body_bytes_ = 0;
  std::vector<uint64_t> to_erase_;  // saved entries that are done since the last save
  std::vector<uint64_t> saving_;    // written by save(), saved once committed
  uint64_t next_seq_ = 1;
  uint64_t live_cursor_ = 1;
  std::deque<std::pair<uint64_t, uint64_t>> backlog_ranges_;  // [from, to)
  bool connected_ = false;
  size_t live_entries_ = 0;
  size_t in_flight_ = 0;
  size_t done_in_index_ = 0;
  uint64_t bytes_ = 0;
  uint64_t in_flight_bytes_ = 0;
  bool ever_connected_ = false;
  bool read_failed_ = false;
  TimeMs last_read_log_ = kMinTime;
  double tokens_ = 0;
  TimeMs tokens_at_ = 0;
  Entry* pending_ = nullptr;  // what next() returned
  OutboxCounters counters_;
  TimeMs last_drop_log_ = kMinTime;
  uint64_t drops_unlogged_ = 0;
};

}  // namespace weir::state
