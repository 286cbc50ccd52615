#include "engine/output_router.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace weir::engine {

namespace {
constexpr TimeMs kMinBackoff = 100;
constexpr TimeMs kMaxBackoff = 5000;
}  // namespace

void OutputRouter::set_sink(uint32_t connection, Sink* sink) {
  if (slots_.size() <= connection) slots_.resize(connection + 1);
  slots_[connection].sink = sink;
}

bool OutputRouter::deliver(Slot& slot, const OutputMessage& message, TimeMs now) {
  SinkResult r = slot.sink->send(message);
  switch (r) {
    case SinkResult::kOk:
      ++slot.counters.sent;
      slot.backoff = 0;
      return true;
    case SinkResult::kError:
      ++slot.counters.failed;
      log_.warn(now, "sink_error",
                std::string(slot.sink->name()) + " rejected a message to \"" + message.topic + "\"");
      return true;  // consumed: an ERROR is final
    case SinkResult::kRetry:
      ++slot.counters.retried;
      slot.backoff = slot.backoff == 0 ? kMinBackoff : std::min(slot.backoff * 2, kMaxBackoff);
      slot.next_try = now + slot.backoff;
      return false;
  }
  return false;
}

void OutputRouter::send(uint32_t connection, OutputMessage&& message, TimeMs now) {
  if (connection >= slots_.size() || slots_[connection].sink == nullptr) return;
  Slot& slot = slots_[connection];
  if (slot.parked.empty() && deliver(slot, message, now)) return;
  if (slot.parked.size() >= max_backlog_) {
    slot.parked.pop_front();
    ++slot.counters.dropped;
    log_.warn(now, "backlog_full",
              std::string(slot.sink->name()) + " is unavailable and its backlog is full; dropped the oldest output");
  }
  slot.parked.push_back(std::move(message));
}

void OutputRouter::flush_slot(Slot& slot, TimeMs now) {
  while (!slot.parked.empty()) {
    if (!deliver(slot, slot.parked.front(), now)) return;
    slot.parked.pop_front();
  }
}

void OutputRouter::tick(TimeMs now) {
  for (auto& slot : slots_) {
    if (slot.sink == nullptr || slot.parked.empty() || now < slot.next_try) continue;
    if (!slot.sink->ready()) {
      slot.next_try = now + std::max(slot.backoff, kMinBackoff);
      continue;
    }
    flush_slot(slot, now);
  }
}

void OutputRouter::drain(TimeMs now) {
  for (auto& slot : slots_) {
    if (slot.sink != nullptr) flush_slot(slot, now);
  }
}

bool OutputRouter::congested(uint32_t connection) const noexcept {
  if (connection >= slots_.size() || slots_[connection].sink == nullptr) return false;
  const Slot& slot = slots_[connection];
  return !slot.parked.empty() || !slot.sink->ready();
}

size_t OutputRouter::backlog() const noexcept {
  size_t n = 0;
  for (const auto& s : slots_) n += s.parked.size();
  return n;
}

SinkCounters OutputRouter::counters() const noexcept {
  SinkCounters c;
  for (const auto& s : slots_) {
    c.sent += s.counters.sent;
    c.retried += s.counters.retried;
    c.failed += s.counters.failed;
    c.dropped += s.counters.dropped;
  }
  return c;
}

}  // namespace weir::engine
