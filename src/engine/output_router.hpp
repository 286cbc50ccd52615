// Hands outputs to the sink of their connection. The engine owns retry: a RETRY answer
// parks the message (and every later one for that sink, to keep order) and the router
// tries again on later ticks with exponential back-off. A connection with an outbox
// (store-and-forward) never parks: its outputs wait in the outbox, in order, until the sink
// confirms them (see state/outbox.hpp).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "core/rate_limited_log.hpp"
#include "state/outbox.hpp"
#include "weir/sink.hpp"
#include "weir/time.hpp"

namespace weir::engine {

struct SinkCounters {
  uint64_t sent = 0;
  uint64_t retried = 0;   // RETRY answers
  uint64_t failed = 0;    // ERROR answers (dropped, logged)
  uint64_t dropped = 0;   // parked messages dropped because the backlog was full
};

class OutputRouter {
 public:
  explicit OutputRouter(size_t max_backlog = 100000) : max_backlog_(max_backlog) {}

  // outbox (optional, owned by the caller) makes the connection store-and-forward.
  void set_sink(uint32_t connection, Sink* sink, state::Outbox* outbox = nullptr);
  void send(uint32_t connection, OutputMessage&& message, TimeMs now);
  // Collects confirmations, retries parked messages whose back-off has passed, and sends
  // from the outboxes.
  void tick(TimeMs now);
  // Tries to send every parked message once more, ignoring back-off.
  void drain(TimeMs now);
  // Shutting down: outboxes stop handing new outputs to their sinks (what is added stays in
  // the outbox for the next start); confirmations are still collected by collect().
  void hold_outboxes() noexcept { hold_ = true; }
  void collect(TimeMs now);

  // True when a message sent to this connection now would be parked: messages are
  // already parked, or the sink is not ready. Never for a connection with an outbox.
  bool congested(uint32_t connection) const noexcept;
  // Parked messages (connections without an outbox).
  size_t backlog() const noexcept;
  // Outputs in outboxes, and those of them handed to their sink and not yet confirmed.
  size_t outbox_depth() const noexcept;
  size_t outbox_in_flight() const noexcept;
  SinkCounters counters() const noexcept;
  std::vector<state::Outbox*> outboxes() const;
  // "name: sent=.. failed=.. queued=.. dropped=.. outbox_bytes=.. resent=.." per outbox.
  std::string outbox_stats() const;

 private:
  struct Slot {
    Sink* sink = nullptr;
    state::Outbox* outbox = nullptr;
    bool connected = false;
    std::deque<OutputMessage> parked;
    TimeMs next_try = 0;
    TimeMs backoff = 0;
    SinkCounters counters;
  };
  // Sends the parked messages of one slot while the sink accepts them.
  void flush_slot(Slot& slot, TimeMs now);
  bool deliver(Slot& slot, const OutputMessage& message, TimeMs now);
  // Confirmations (when collect), link state and sending for a slot with an outbox.
  void pump(Slot& slot, TimeMs now, bool collect);
  void collect_slot(Slot& slot, TimeMs now);
  void backoff(Slot& slot, TimeMs now);

  size_t max_backlog_;
  std::vector<Slot> slots_;
  std::vector<SinkConfirmation> confirmations_;
  bool hold_ = false;
  core::RateLimitedLog log_;
};

}  // namespace weir::engine
