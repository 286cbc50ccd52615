#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "core/bounded_queue.hpp"

namespace weir::core {
namespace {

TEST(BoundedQueue, KeepsOrderAndBlocksProducersWhenFull) {
  BoundedQueue<int> q(4);
  constexpr int kN = 10000;
  std::thread producer([&] {
    for (int i = 0; i < kN; ++i) ASSERT_TRUE(q.push(int(i)));
  });
  std::vector<int> got;
  while (static_cast<int>(got.size()) < kN) {
    if (auto v = q.pop_for(std::chrono::milliseconds(1000))) {
      got.push_back(*v);
      q.drain(got, 3);
    }
    ASSERT_LE(q.size(), 4u);
  }
  producer.join();
  for (int i = 0; i < kN; ++i) ASSERT_EQ(got[static_cast<size_t>(i)], i);
  EXPECT_GT(q.full_waits(), 0u);
}

TEST(BoundedQueue, CloseWakesBlockedProducerAndConsumer) {
  BoundedQueue<int> q(1);
  ASSERT_TRUE(q.push(1));
  std::thread producer([&] { EXPECT_FALSE(q.push(2)); });
  while (q.full_waits() == 0) std::this_thread::yield();
  q.close();
  producer.join();
  EXPECT_EQ(q.pop_for(std::chrono::milliseconds(0)).value_or(-1), 1);
  EXPECT_FALSE(q.pop_for(std::chrono::milliseconds(1000)).has_value());
}

// A lingering consumer is woken when the batch is complete, not at every item, and a
// batch that never completes ends the linger at its time limit; nothing is lost either way.
TEST(BoundedQueue, LingerEndsWhenTheBatchIsCompleteOrTimeIsUp) {
  BoundedQueue<int> q(100);
  q.set_wake_batch(4);
  ASSERT_TRUE(q.push(1));
  auto first = q.pop_for(std::chrono::milliseconds(0));
  ASSERT_TRUE(first.has_value());
  std::thread producer([&] {
    for (int i = 2; i <= 5; ++i) ASSERT_TRUE(q.push(int(i)));
  });
  const auto start = std::chrono::steady_clock::now();
  q.linger(std::chrono::seconds(60));  // returns once 4 items wait, long before 60 s
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  producer.join();
  std::vector<int> got{*first};
  q.drain(got, 100);
  EXPECT_EQ(got, (std::vector<int>{1, 2, 3, 4, 5}));

  ASSERT_TRUE(q.push(6));  // a batch of one: the linger runs out
  q.linger(std::chrono::milliseconds(20));
  EXPECT_EQ(q.size(), 1u);
  q.close();
  q.linger(std::chrono::seconds(60));  // closed: returns at once
}

}  // namespace
}  // namespace weir::core
