#include "engine/output_router.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace weir::engine {

namespace {
constexpr TimeMs kMinBackoff = 100;
constexpr TimeMs kMaxBackoff = 5000;
}  // namespace

void OutputRouter::set_sink(uint32_t connection, Sink* sink, state::Outbox* outbox) {
  if (slots_.size() <= connection) slots_.resize(connection + 1);
  slots_[connection].sink = sink;
  slots_[connection].outbox = outbox;
}

void OutputRouter::backoff(Slot& slot, TimeMs now) {
  slot.backoff = slot.backoff == 0 ? kMinBackoff : std::min(slot.backoff * 2, kMaxBackoff);
  slot.next_try = now + slot.backoff;
}

void OutputRouter::collect_slot(Slot& slot, TimeMs now) {
  state::Outbox& box = *slot.outbox;
  confirmations_.clear();
  slot.sink->poll(confirmations_);
  for (const auto& c : confirmations_) {
    if (c.retry) {
      box.requeue(c.ticket);
      ++slot.counters.retried;
      continue;
    }
    if (!box.confirm(c.ticket, c.ok)) continue;  // not in flight: a stale or repeated report
    if (c.ok) {
      ++slot.counters.sent;
    } else {
      ++slot.counters.failed;
      log_.warn(now, "sink_error", std::string(slot.sink->name()) + " refused an output: " + c.error);
    }
  }
}

void OutputRouter::collect(TimeMs now) {
  for (auto& slot : slots_) {
    if (slot.sink != nullptr && slot.outbox != nullptr) collect_slot(slot, now);
  }
}

void OutputRouter::pump(Slot& slot, TimeMs now, bool collect) {
  state::Outbox& box = *slot.outbox;
  // Confirmations are collected per tick, not per output: a sink may commit or flush in
  // poll() ($merge commits its transaction there).
  if (collect) collect_slot(slot, now);
  const bool up = slot.sink->connected();
  const bool changed = up != slot.connected;
  box.set_connected(up, now);
  if (changed) {
    slot.connected = up;
    slot.next_try = now;
    slot.backoff = 0;
    if (!up) {
      spdlog::warn("{}: link down; outputs wait in the outbox ({} there now)", slot.sink->name(), box.depth());
    } else if (box.backlog() > 0) {
      spdlog::info("{}: link up; sending the backlog of {} output(s) from the outbox", slot.sink->name(),
                   box.backlog());
    }
  }
  box.enforce_limits(now);
  if (!up || hold_ || now < slot.next_try) return;
  while (slot.sink->ready()) {
    const OutputMessage* m = box.next(now);
    if (m == nullptr) return;
    switch (slot.sink->send(*m)) {
      case SinkResult::kOk:
        box.sent();
        slot.backoff = 0;
        break;
      case SinkResult::kError:
        ++slot.counters.failed;
        log_.warn(now, "sink_error",
                  std::string(slot.sink->name()) + " rejected a message to \"" + m->topic + "\"");
        box.refused();
        break;
      case SinkResult::kRetry:
        ++slot.counters.retried;
        backoff(slot, now);
        return;
    }
  }
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
      backoff(slot, now);
      return false;
  }
  return false;
}

void OutputRouter::send(uint32_t connection, OutputMessage&& message, TimeMs now) {
  if (connection >= slots_.size() || slots_[connection].sink == nullptr) return;
  Slot& slot = slots_[connection];
  if (slot.outbox != nullptr) {
    slot.outbox->add(std::move(message), now);
    pump(slot, now, false);
    return;
  }
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
    if (slot.sink == nullptr) continue;
    if (slot.outbox != nullptr) {
      pump(slot, now, true);
      continue;
    }
    confirmations_.clear();
    slot.sink->poll(confirmations_);  // untracked messages: nothing to do with them
    if (slot.parked.empty() || now < slot.next_try) continue;
    if (!slot.sink->ready()) {
      slot.next_try = now + std::max(slot.backoff, kMinBackoff);
      continue;
    }
    flush_slot(slot, now);
  }
}

void OutputRouter::drain(TimeMs now) {
  for (auto& slot : slots_) {
    if (slot.sink == nullptr) continue;
    if (slot.outbox != nullptr) {
      slot.next_try = now;
      pump(slot, now, true);
    } else {
      flush_slot(slot, now);
    }
  }
}

bool OutputRouter::congested(uint32_t connection) const noexcept {
  if (connection >= slots_.size() || slots_[connection].sink == nullptr) return false;
  const Slot& slot = slots_[connection];
  if (slot.outbox != nullptr) return false;
  return !slot.parked.empty() || !slot.sink->ready();
}

size_t OutputRouter::backlog() const noexcept {
  size_t n = 0;
  for (const auto& s : slots_) n += s.parked.size();
  return n;
}

size_t OutputRouter::outbox_depth() const noexcept {
  size_t n = 0;
  for (const auto& s : slots_) n += s.outbox != nullptr ? s.outbox->depth() : 0;
  return n;
}

size_t OutputRouter::outbox_in_flight() const noexcept {
  size_t n = 0;
  for (const auto& s : slots_) n += s.outbox != nullptr ? s.outbox->in_flight() : 0;
  return n;
}

std::vector<state::Outbox*> OutputRouter::outboxes() const {
  std::vector<state::Outbox*> out;
  for (const auto& s : slots_) {
    if (s.outbox != nullptr) out.push_back(s.outbox);
  }
  return out;
}

std::string OutputRouter::outbox_stats() const {
  std::string s;
  for (const auto& slot : slots_) {
    if (slot.outbox == nullptr) continue;
    const auto& b = *slot.outbox;
    const auto& c = b.counters();
    s += fmt::format(" | outbox {}: sent={} failed={} queued={} dropped={} outbox_bytes={} resent={} in_flight={}",
                     b.sink(), c.sent, c.failed, b.depth(), c.dropped_bytes + c.dropped_age, b.bytes(), c.resent,
                     b.in_flight());
  }
  return s;
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
