#include "engine/durable_ingest.hpp"

#include <chrono>
#include <string_view>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/fnv.hpp"

namespace weir::engine {

DurableIngest::DurableIngest(std::unique_ptr<state::Journal> journal, uint64_t applied)
    : journal_(std::move(journal)), applied_(applied),
      replay_upto_(std::max(journal_->last_seq(), applied)) {
  journal_->continue_after(applied);
  recent_.resize(kRecent);
  const uint64_t from = applied_ > kRecent ? applied_ - kRecent : 0;
  journal_->replay(std::min(from, replay_upto_), [&](const state::JournalRecord& r) {
    remember(r.connection, r.mid, hash_of(r.topic, r.payload));
  });
}

uint64_t DurableIngest::hash_of(const std::string& topic, const std::string& payload) {
  return core::fnv1a(core::fnv1a(core::kFnvOffset, topic), payload);
}

void DurableIngest::remember(uint32_t connection, uint32_t mid, uint64_t hash) {
  recent_[next_] = Recent{connection, mid, hash};
  next_ = (next_ + 1) % recent_.size();
}

bool DurableIngest::admit(Message& m, const std::atomic<bool>& stop) {
  const uint64_t hash = hash_of(m.topic, m.payload);
  std::lock_guard lock(mu_);
  if (m.qos > 0 && m.since_connect < kRecent) {
    for (Recent& r : recent_) {
      if (r.mid == m.mid && r.hash == hash && r.connection == m.connection && r.mid != 0) {
        r.mid = 0;  // one redelivery per journaled message
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
    }
  }
  bool logged = false;
  for (;;) {
    try {
      m.seq = journal_->append(m.connection, m.mid, m.received, m.topic, m.payload);
      break;
    } catch (const state::JournalError& e) {
      if (!logged) {
        spdlog::error("journal: {}; holding the message (not acknowledged) and retrying", e.what());
        logged = true;
      }
      retries_.fetch_add(1, std::memory_order_relaxed);
      if (stop.load(std::memory_order_relaxed)) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  if (logged) spdlog::info("journal: writing again");
  remember(m.connection, m.qos > 0 ? m.mid : 0, hash);
  journaled_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

uint64_t DurableIngest::replay(const std::function<void(Message&&)>& handle) {
  uint64_t n = 0;
  journal_->replay(
      applied_,
      [&](const state::JournalRecord& r) {
        Message m;
        m.connection = r.connection;
        m.topic = r.topic;
        m.payload = r.payload;
        m.received = r.received;
        m.mid = r.mid;
        m.qos = 1;
        m.seq = r.seq;
        handle(std::move(m));
        ++n;
      },
      replay_upto_);
  return n;
}

void DurableIngest::checkpointed(uint64_t applied) {
  journal_->trim(applied > kRecent ? applied - kRecent : 0);
}

DurableIngestCounters DurableIngest::counters() const noexcept {
  return {journaled_.load(), dropped_.load(), retries_.load()};
}

}  // namespace weir::engine
