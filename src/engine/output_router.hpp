// Hands outputs to the sink of their connection. The engine owns retry: a RETRY answer
// parks the message (and every later one for that sink, to keep order) and the router
// tries again on later ticks with exponential back-off.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "core/rate_limited_log.hpp"
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

  void set_sink(uint32_t connection, Sink* sink);
  void send(uint32_t connection, OutputMessage&& message, TimeMs now);
  // Retries parked messages whose back-off has passed.
  void tick(TimeMs now);
  // Tries to send every parked message once more, ignoring back-off.
  void drain(TimeMs now);

  // True when a message sent to this connection now would be parked: messages are
  // already parked, or the sink is not ready.
  bool congested(uint32_t connection) const noexcept;
  size_t backlog() const noexcept;
  SinkCounters counters() const noexcept;

 private:
  struct Slot {
    Sink* sink = nullptr;
    std::deque<OutputMessage> parked;
    TimeMs next_try = 0;
    TimeMs backoff = 0;
    SinkCounters counters;
  };
  // Sends the parked messages of one slot while the sink accepts them.
  void flush_slot(Slot& slot, TimeMs now);
  bool deliver(Slot& slot, const OutputMessage& message, TimeMs now);

  size_t max_backlog_;
  std::vector<Slot> slots_;
  core::RateLimitedLog log_;
};

}  // namespace weir::engine
