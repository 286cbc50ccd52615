#include "state/outbox.hpp"

#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>

#include "state/sqlite/state_store.hpp"

namespace weir::state {

namespace {

constexpr size_t kReadBatch = 256;
constexpr uint8_t kFormat = 1;
constexpr TimeMs kDropLogEvery = 10000;
// Bookkeeping per entry besides its text (index entry, map node, strings): counted towards
// maxBytes so small outputs cannot take far more memory than the limit says.
constexpr uint32_t kEntryOverhead = 64;
// At the first connection after start, only outputs older than this count as backlog: the
// ones made while weir was connecting were never late.
constexpr TimeMs kFirstConnectGrace = 10000;

void put_u32(std::string& out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out.append(b, 4);
}
void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}
bool get_u32(std::string_view& in, uint32_t& v) {
  if (in.size() < 4) return false;
  v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(in[i])) << (8 * i);
  in.remove_prefix(4);
  return true;
}
bool get_str(std::string_view& in, std::string& s) {
  uint32_t n = 0;
  if (!get_u32(in, n) || in.size() < n) return false;
  s.assign(in.data(), n);
  in.remove_prefix(n);
  return true;
}

uint32_t entry_bytes(const OutputMessage& m) {
  size_t n = kEntryOverhead + m.topic.size() + m.payload.size() + m.key.size() + m.output_id.size();
  for (const auto& [k, v] : m.headers) n += 8 + k.size() + v.size();
  return static_cast<uint32_t>(std::min<size_t>(n, UINT32_MAX));
}

}  // namespace

std::string Outbox::encode(const OutputMessage& m) {
  std::string out;
  out.reserve(entry_bytes(m) + 16);
  out.push_back(static_cast<char>(kFormat));
  out.push_back(static_cast<char>(m.qos));
  out.push_back(m.retain ? 1 : 0);
  put_u32(out, m.expiry_s);
  put_str(out, m.topic);
  put_str(out, m.payload);
  put_str(out, m.key);
  put_str(out, m.output_id);
  put_u32(out, static_cast<uint32_t>(m.headers.size()));
  for (const auto& [k, v] : m.headers) {
    put_str(out, k);
    put_str(out, v);
  }
  return out;
}

bool Outbox::decode(std::string_view in, OutputMessage& m) {
  if (in.size() < 3 || static_cast<uint8_t>(in[0]) != kFormat) return false;
  m.qos = static_cast<uint8_t>(in[1]);
  m.retain = in[2] != 0;
  in.remove_prefix(3);
  uint32_t n = 0;
  if (!get_u32(in, m.expiry_s) || !get_str(in, m.topic) || !get_str(in, m.payload) || !get_str(in, m.key) ||
      !get_str(in, m.output_id) || !get_u32(in, n)) {
    return false;
  }
  m.headers.clear();
  for (uint32_t i = 0; i < n; ++i) {
    std::string k, v;
    if (!get_str(in, k) || !get_str(in, v)) return false;
    m.headers.emplace_back(std::move(k), std::move(v));
  }
  return in.empty() && m.qos >= 0 && m.qos <= 2;
}

Outbox::Outbox(std::string sink, const config::OutboxSpec& spec, StateStore* store, size_t memory_budget)
    : sink_(std::move(sink)), spec_(spec), store_(store), memory_budget_(memory_budget) {}

void Outbox::load() {
  if (store_ == nullptr) return;
  store_->outbox_index(sink_, [&](uint64_t seq, int64_t created, int64_t bytes) {
    entries_.push_back(Entry{seq, created,
                             static_cast<uint32_t>(std::clamp<int64_t>(bytes + kEntryOverhead, 0, UINT32_MAX)), 0,
                             State::kQueued, true, true});
    bytes_ += entries_.back().bytes;
    ++live_entries_;
  });
  if (entries_.empty()) return;
  next_seq_ = entries_.back().seq + 1;
  backlog_ranges_.emplace_back(entries_.front().seq, next_seq_);
  live_cursor_ = next_seq_;
  spdlog::info("connection \"{}\": outbox holds {} output(s), {} bytes, from before the last stop; "
               "they are sent as the backlog", sink_, live_entries_, bytes_);
}

Outbox::Entry* Outbox::find(uint64_t seq) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), seq,
                             [](const Entry& e, uint64_t s) { return e.seq < s; });
  return it != entries_.end() && it->seq == seq ? &*it : nullptr;
}

void Outbox::add(OutputMessage&& message, TimeMs now) {
  Entry e{next_seq_++, now, entry_bytes(message), message.expiry_s, State::kQueued, false, false};
  body_bytes_ += e.bytes;
  bytes_ += e.bytes;
  ++live_entries_;
  ++counters_.added;
  message.ticket = e.seq;
  bodies_.insert_or_assign(e.seq, std::move(message));
  entries_.push_back(e);
  enforce_limits(now);
}

void Outbox::set_connected(bool connected, TimeMs now) {
  if (connected && !connected_) {
    // What waited while the link was down is the backlog from now on (at the first
    // connection, only what waited longer than a connection takes).
    auto it = std::lower_bound(entries_.begin(), entries_.end(), live_cursor_,
                               [](const Entry& e, uint64_t s) { return e.seq < s; });
    bool any = false;
    for (; it != entries_.end(); ++it) {
      if (it->state == State::kQueued && (ever_connected_ || it->created < now - kFirstConnectGrace)) {
        it->backlog = true;
        any = true;
      }
    }
    ever_connected_ = true;
    // The live cursor stays: it passes over the backlog entries, and finds live ones among
    // them (the first connection's).
    if (any) backlog_ranges_.emplace_back(live_cursor_, next_seq_);
    tokens_ = 0;
    tokens_at_ = now;
  }
  connected_ = connected;
}

void Outbox::finish(Entry& e) {
  if (e.state == State::kDone) return;
  if (e.state == State::kInFlight) {
    --in_flight_;
    in_flight_bytes_ -= e.bytes;
  }
  e.state = State::kDone;
  ++done_in_index_;
  --live_entries_;
  bytes_ -= e.bytes;
  if (e.saved) to_erase_.push_back(e.seq);
  if (auto b = bodies_.find(e.seq); b != bodies_.end()) {
    body_bytes_ -= std::min<size_t>(body_bytes_, e.bytes);
    bodies_.erase(b);
  }
}

void Outbox::drop(Entry& e, bool for_age) {
  finish(e);
  if (for_age) {
    ++counters_.dropped_age;
  } else {
    ++counters_.dropped_bytes;
  }
  ++drops_unlogged_;
}

void Outbox::pop_done() {
  while (!entries_.empty() && entries_.front().state == State::kDone) {
    if (pending_ == &entries_.front()) pending_ = nullptr;
    entries_.pop_front();
    --done_in_index_;
  }
  compact();
}

void Outbox::compact() {
  // Done entries behind a slow backlog (or a long in-flight one) stay in the index until
  // the front is done; past half the index they are removed, so the index stays in
  // proportion to what waits.
  if (pending_ != nullptr || done_in_index_ < 1024 || done_in_index_ < entries_.size() / 2) return;
  std::erase_if(entries_, [](const Entry& e) { return e.state == State::kDone; });
  done_in_index_ = 0;
}

void Outbox::enforce_limits(TimeMs now) {
  const TimeMs oldest_kept = now - spec_.max_age_ms;
  for (auto& e : entries_) {
    if (e.state != State::kQueued || &e == pending_) continue;
    const bool too_old = e.created < oldest_kept;
    // What is in flight cannot be dropped: the limit is on what waits.
    const bool over = static_cast<int64_t>(bytes_ - in_flight_bytes_) > spec_.max_bytes;
    if (!too_old && !over) break;
    drop(e, too_old);
  }
  pop_done();
  if (drops_unlogged_ > 0 && (last_drop_log_ == kMinTime || now - last_drop_log_ >= kDropLogEvery)) {
    spdlog::warn("connection \"{}\": outbox limit reached (maxBytes {}, maxAge {} s): dropped the {} oldest "
                 "output(s); dropped so far: {} over maxBytes, {} over maxAge",
                 sink_, spec_.max_bytes, spec_.max_age_ms / 1000, drops_unlogged_, counters_.dropped_bytes,
                 counters_.dropped_age);
    drops_unlogged_ = 0;
    last_drop_log_ = now;
  }
}

size_t Outbox::backlog() const noexcept {
  size_t n = 0;
  for (const auto& e : entries_) n += e.state == State::kQueued && e.backlog ? 1 : 0;
  return n;
}

Outbox::Entry* Outbox::next_live() {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), live_cursor_,
                             [](const Entry& e, uint64_t s) { return e.seq < s; });
  for (; it != entries_.end(); ++it) {
    if (it->state == State::kQueued && !it->backlog) {
      live_cursor_ = it->seq;
      return &*it;
    }
  }
  live_cursor_ = next_seq_;
  return nullptr;
}

Outbox::Entry* Outbox::next_backlog() {
  while (!backlog_ranges_.empty()) {
    auto& [from, to] = backlog_ranges_.front();
    auto it = std::lower_bound(entries_.begin(), entries_.end(), from,
                               [](const Entry& e, uint64_t s) { return e.seq < s; });
    for (; it != entries_.end() && it->seq < to; ++it) {
      if (it->state == State::kQueued) {
        from = it->seq;
        return &*it;
      }
    }
    backlog_ranges_.pop_front();
  }
  return nullptr;
}

OutputMessage* Outbox::body(const Entry& e) {
  read_failed_ = false;
  if (auto it = bodies_.find(e.seq); it != bodies_.end()) return &it->second;
  if (store_ == nullptr) return nullptr;
  try {
    store_->outbox_scan(sink_, e.seq, kReadBatch, [&](uint64_t seq, int64_t, std::string_view blob) {
      Entry* x = find(seq);
      if (x == nullptr || x->state != State::kQueued || bodies_.count(seq) > 0) return;
      OutputMessage m;
      if (!decode(blob, m)) return;
      m.ticket = seq;
      x->expiry_s = m.expiry_s;
      body_bytes_ += x->bytes;
      bodies_.emplace(seq, std::move(m));
    });
  } catch (const StateError& err) {
    // Busy or an I/O error: tried again at the next pump; the entry stays where it is.
    read_failed_ = true;
    if (last_read_log_ == kMinTime || e.created - last_read_log_ >= kDropLogEvery) {
      spdlog::warn("connection \"{}\": cannot read the outbox now ({}); retrying", sink_, err.what());
      last_read_log_ = e.created;
    }
    return nullptr;
  }
  if (auto it = bodies_.find(e.seq); it != bodies_.end()) return &it->second;
  return nullptr;
}

const OutputMessage* Outbox::next(TimeMs now) {
  pending_ = nullptr;
  if (!connected_ || in_flight_ >= spec_.max_in_flight) return nullptr;
  auto from_backlog = [&]() -> Entry* {
    Entry* e = next_backlog();  // also forgets ranges with nothing left to send
    if (e == nullptr) return nullptr;
    if (spec_.drain_rate > 0) {
      const double burst = std::max(1.0, spec_.drain_rate);
      tokens_ = std::min(burst, tokens_ + static_cast<double>(now - tokens_at_) * spec_.drain_rate / 1000.0);
      tokens_at_ = now;
      if (tokens_ < 1.0) return nullptr;
    }
    return e;
  };
  for (;;) {
    Entry* e = nullptr;
    if (spec_.live_first) {
      e = next_live();
      if (e == nullptr) e = from_backlog();
    } else {
      e = from_backlog();
      // In order: live outputs wait while any backlog is left (also when rate-limited).
      if (e == nullptr && backlog_ranges_.empty()) e = next_live();
    }
    if (e == nullptr) return nullptr;
    OutputMessage* m = body(*e);
    if (m == nullptr) {
      if (read_failed_) return nullptr;
      // Missing or undecodable in the database: counted as failed rather than blocking the rest.
      spdlog::error("connection \"{}\": outbox entry {} cannot be read; skipped", sink_, e->seq);
      ++counters_.failed;
      finish(*e);
      continue;
    }
    if (e->expiry_s > 0) {
      // The message expiry counts from when the output was made, not from when it leaves.
      const TimeMs waited_s = std::max<TimeMs>(0, now - e->created) / 1000;
      if (waited_s >= e->expiry_s) {
        drop(*e, true);
        continue;
      }
      m->expiry_s = e->expiry_s - static_cast<uint32_t>(waited_s);
    }
    m->ticket = e->seq;
    m->resent = e->backlog;
    pending_ = e;
    return m;
  }
}

void Outbox::sent() {
  if (pending_ == nullptr) return;
  Entry& e = *pending_;
  pending_ = nullptr;
  e.state = State::kInFlight;
  ++in_flight_;
  in_flight_bytes_ += e.bytes;
  if (e.backlog) {
    ++counters_.resent;
    if (spec_.drain_rate > 0) tokens_ -= 1.0;
  }
  // The sink keeps its own copy until it is confirmed; the database keeps one too.
  if (e.saved) {
    if (auto b = bodies_.find(e.seq); b != bodies_.end()) {
      body_bytes_ -= std::min<size_t>(body_bytes_, e.bytes);
      bodies_.erase(b);
    }
  }
}

void Outbox::refused() {
  if (pending_ == nullptr) return;
  ++counters_.failed;
  finish(*pending_);
  pending_ = nullptr;
  pop_done();
}

bool Outbox::confirm(uint64_t ticket, bool ok) {
  Entry* e = find(ticket);
  if (e == nullptr || e->state != State::kInFlight) return false;
  if (ok) {
    ++counters_.sent;
  } else {
    ++counters_.failed;
  }
  finish(*e);
  pop_done();
  return true;
}

void Outbox::requeue(uint64_t ticket) {
  Entry* e = find(ticket);
  if (e == nullptr || e->state != State::kInFlight) return;
  e->state = State::kQueued;
  --in_flight_;
  in_flight_bytes_ -= e->bytes;
  e->backlog = true;
  backlog_ranges_.emplace_front(e->seq, e->seq + 1);
}

void Outbox::save() {
  if (store_ == nullptr) return;
  for (uint64_t seq : to_erase_) store_->outbox_erase(sink_, seq);
  saving_.clear();
  for (const auto& e : entries_) {
    if (e.saved || e.state == State::kDone) continue;
    auto b = bodies_.find(e.seq);
    if (b == bodies_.end()) continue;  // cannot happen: unsaved bodies stay in memory
    store_->outbox_put(sink_, e.seq, e.created, encode(b->second));
    saving_.push_back(e.seq);
  }
}

void Outbox::committed() {
  to_erase_.clear();
  for (uint64_t seq : saving_) {
    if (Entry* e = find(seq); e != nullptr && e->state != State::kDone) {
      e->saved = true;
      if (e->state == State::kInFlight) {
        if (auto b = bodies_.find(seq); b != bodies_.end()) {
          body_bytes_ -= std::min<size_t>(body_bytes_, e->bytes);
          bodies_.erase(b);
        }
      }
    } else {
      to_erase_.push_back(seq);  // done meanwhile: cannot happen on one thread, but stay tidy
    }
  }
  saving_.clear();
  evict();
}

void Outbox::save_failed() { saving_.clear(); }

void Outbox::evict() {
  if (body_bytes_ <= memory_budget_) return;
  // The newest are sent last: read back from the database when their turn comes.
  for (auto it = entries_.rbegin(); it != entries_.rend() && body_bytes_ > memory_budget_ / 2; ++it) {
    if (!it->saved || it->state != State::kQueued || &*it == pending_) continue;
    if (auto b = bodies_.find(it->seq); b != bodies_.end()) {
      body_bytes_ -= std::min<size_t>(body_bytes_, it->bytes);
      bodies_.erase(b);
    }
  }
}

}  // namespace weir::state
