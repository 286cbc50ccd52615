// A bounded multi-producer, single-consumer queue. A full queue makes producers wait
// (back-pressure towards the broker) and counts how often that happened.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

namespace weir::core {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Blocks while the queue is full. Returns false (and drops nothing: the item is left
  // with the caller) when the queue was closed.
  bool push(T&& item) {
    std::unique_lock lock(mu_);
    if (items_.size() >= capacity_ && !closed_) {
      full_waits_.fetch_add(1, std::memory_order_relaxed);
      not_full_.wait(lock, [&] { return items_.size() < capacity_ || closed_; });
    }
    if (closed_) return false;
    items_.push_back(std::move(item));
    const size_t n = items_.size();
    lock.unlock();
    // The consumer sleeps only on an empty queue, or while it lingers for a batch.
    if (n == 1 || n >= wake_batch_) not_empty_.notify_one();
    return true;
  }

  // The consumer, having taken one item, may linger: wait up to `max_wait` for
  // wake_batch items to gather (producers wake it when they are there), so that under a
  // steady load it wakes once per batch rather than once per item.
  void set_wake_batch(size_t n) noexcept { wake_batch_ = n == 0 ? 1 : n; }
  template <typename Duration>
  void linger(Duration max_wait) {
    std::unique_lock lock(mu_);
    not_empty_.wait_for(lock, max_wait, [&] { return items_.size() >= wake_batch_ || closed_; });
  }

  // Waits up to timeout for an item; nullopt on timeout or when closed and empty.
  std::optional<T> pop_for(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    if (!not_empty_.wait_for(lock, timeout, [&] { return !items_.empty() || closed_; })) {
      return std::nullopt;
    }
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    lock.unlock();
    not_full_.notify_one();
    return item;
  }

  // Takes up to max items at once without waiting (after a pop_for woke the consumer).
  template <typename Out>
  size_t drain(Out& out, size_t max) {
    std::unique_lock lock(mu_);
    size_t n = 0;
    while (n < max && !items_.empty()) {
      out.push_back(std::move(items_.front()));
      items_.pop_front();
      ++n;
    }
    lock.unlock();
    if (n) not_full_.notify_all();
    return n;
  }

  void close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    not_full_.notify_all();
    not_empty_.notify_all();
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return items_.size();
  }
  size_t capacity() const noexcept { return capacity_; }
  uint64_t full_waits() const noexcept { return full_waits_.load(std::memory_order_relaxed); }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<T> items_;
  bool closed_ = false;
  std::atomic<uint64_t> full_waits_{0};
  size_t wake_batch_ = 1;
};

}  // namespace weir::core
