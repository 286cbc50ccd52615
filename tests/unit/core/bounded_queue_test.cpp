#include <gtest/gtest.h>

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

}  // namespace
}  // namespace weir::core
