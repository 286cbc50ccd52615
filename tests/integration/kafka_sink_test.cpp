// The Kafka sink against librdkafka's mock cluster (weir-kafka-mock on 127.0.0.1): keys,
// headers and per-key order, retries without duplicates, brokers going down and coming
// back, bad options and oversized messages. Everything waits on conditions with deadlines.
#include "sink/kafka/kafka_sink.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/kafka_mock.hpp"

namespace weir::sink {
namespace {

using namespace std::chrono_literals;
using test::KafkaMock;
using test::KafkaRecord;

constexpr const char* kTopic = "weir-out";

config::ConnectionSpec kafka_spec(const std::string& bootstrap) {
  config::ConnectionSpec spec;
  spec.name = "kafka-out";
  spec.type = "kafka";
  spec.path = "/connections/kafka-out";
  spec.client_id = "weir-test";
  spec.reconnect_min_ms = 100;
  spec.reconnect_max_ms = 1000;
  spec.kafka.bootstrap_servers = bootstrap;
  spec.kafka.linger_ms = 5;
  return spec;
}

// count messages over `keys` keys; payload "KEY:SEQ" (SEQ counts per key), ticket i + 1.
std::vector<OutputMessage> make_messages(size_t count, size_t keys, size_t first = 0) {
  std::vector<OutputMessage> out;
  std::map<std::string, int> seq;
  for (size_t i = 0; i < first + count; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "sensor-%02zu", i % keys);
    int n = seq[key]++;
    if (i < first) continue;
    OutputMessage m;
    m.topic = kTopic;
    m.key = key;
    m.payload = std::string(key) + ":" + std::to_string(n);
    m.headers = {{"weir-pipeline", "pipe-a"}, {"weir-window-start", std::to_string(1000 * n)}};
    if (i % 2 == 0) m.output_id = "out-" + std::to_string(i);
    m.resent = i % 7 == 0;
    m.ticket = i + 1;
    out.push_back(std::move(m));
  }
  return out;
}

// Drives a sink the way the engine does: sends in order (a kRetry is sent again later),
// polls for confirmations.
struct Driver {
  explicit Driver(KafkaSink& s, std::vector<OutputMessage> m) : sink(s), messages(std::move(m)) {}

  // One tick: collect confirmations, then send what the sink takes (up to `limit`).
  void step(size_t limit) {
    batch.clear();
    sink.poll(batch);
    for (auto& c : batch) {
      if (!confirmations.emplace(c.ticket, c).second) ++duplicate_confirmations;
    }
    while (next < std::min(limit, messages.size())) {
      SinkResult r = sink.send(messages[next]);
      if (r == SinkResult::kRetry) {
        ++retries;
        break;
      }
      if (r == SinkResult::kError) ++errors;
      ++next;
    }
  }

  template <typename Cond>
  bool run_until(Cond cond, std::chrono::milliseconds timeout, size_t limit = SIZE_MAX) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      step(limit);
      if (cond()) return true;
      std::this_thread::sleep_for(1ms);
    }
    return cond();
  }

  size_t confirmed_ok() const {
    return static_cast<size_t>(std::count_if(confirmations.begin(), confirmations.end(),
                                             [](const auto& c) { return c.second.ok; }));
  }
  bool all_confirmed() const { return confirmations.size() == messages.size(); }

  KafkaSink& sink;
  std::vector<OutputMessage> messages;
  size_t next = 0;
  size_t retries = 0;
  size_t errors = 0;
  size_t duplicate_confirmations = 0;
  std::map<uint64_t, SinkConfirmation> confirmations;
  std::vector<SinkConfirmation> batch;
};

// Every message exactly once; each key in one partition with its values in send order.
void expect_exactly_once_in_order(const std::vector<KafkaRecord>& records,
                                  const std::vector<OutputMessage>& messages) {
  EXPECT_EQ(records.size(), messages.size());
  std::map<std::string, int> seen;
  for (const auto& r : records) ++seen[r.value];
  for (const auto& m : messages) {
    EXPECT_EQ(seen[m.payload], 1) << m.payload;
  }
  std::map<std::string, std::set<int32_t>> partitions;
  std::map<std::string, std::vector<int>> order;  // records arrive sorted by partition, offset
  for (const auto& r : records) {
    partitions[r.key].insert(r.partition);
    order[r.key].push_back(std::stoi(r.value.substr(r.value.find(':') + 1)));
  }
  for (const auto& [key, parts] : partitions) {
    EXPECT_EQ(parts.size(), 1u) << key << " is spread over partitions";
    const auto& seqs = order[key];
    EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end())) << key << " is out of order";
  }
}

// Captures log lines (the default logger's output goes to a ring buffer too).
class LogCapture {
 public:
  LogCapture() : ring_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000)) {
    previous_ = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>("capture", previous_->sinks().begin(),
                                                   previous_->sinks().end());
    logger->sinks().push_back(ring_);
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  size_t count(const std::string& text) const {
    auto lines = ring_->last_formatted();
    return static_cast<size_t>(std::count_if(lines.begin(), lines.end(), [&](const auto& l) {
      return l.find(text) != std::string::npos;
    }));
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> ring_;
  std::shared_ptr<spdlog::logger> previous_;
};

class KafkaSinkTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && mock_) {
      std::fprintf(stderr, "--- weir-kafka-mock log ---\n%s\n", mock_->log().c_str());
    }
  }
  KafkaMock& mock(int partitions = 3, int brokers = 1) {
    mock_ = std::make_unique<KafkaMock>(kTopic, partitions, brokers);
    return *mock_;
  }
  std::unique_ptr<KafkaMock> mock_;
};

TEST_F(KafkaSinkTest, KeysHeadersAndPerKeyOrder) {
  KafkaMock& m = mock(3);
  KafkaSink sink(kafka_spec(m.bootstrap()));
  std::string error;
  ASSERT_TRUE(sink.start(error)) << error;
  EXPECT_EQ(sink.name(), "kafka:kafka-out");

  Driver d(sink, make_messages(600, 20));
  ASSERT_TRUE(d.run_until([&] { return d.all_confirmed(); }, 20s))
      << d.confirmations.size() << " of 600 confirmed";
  EXPECT_EQ(d.confirmed_ok(), 600u);
  EXPECT_EQ(d.duplicate_confirmations, 0u);
  EXPECT_EQ(sink.counters().delivered, 600u);
  EXPECT_EQ(sink.in_flight(), 0u);
  EXPECT_TRUE(sink.connected());

  auto records = test::kafka_read(m.bootstrap(), kTopic, 600, 15s);
  expect_exactly_once_in_order(records, d.messages);
  std::map<std::string, const OutputMessage*> by_payload;
  for (const auto& msg : d.messages) by_payload[msg.payload] = &msg;
  std::set<int32_t> used_partitions;
  for (const auto& r : records) {
    const OutputMessage* msg = by_payload[r.value];
    ASSERT_NE(msg, nullptr) << r.value;
    used_partitions.insert(r.partition);
    EXPECT_EQ(r.topic, kTopic);
    EXPECT_EQ(r.key, msg->key);
    EXPECT_EQ(r.header("weir-pipeline"), "pipe-a");
    EXPECT_EQ(r.header("weir-window-start"), msg->headers[1].second);
    EXPECT_EQ(r.has_header("weir-output-id"), !msg->output_id.empty()) << r.value;
    EXPECT_EQ(r.header("weir-output-id"), msg->output_id);
    EXPECT_EQ(r.has_header("weir-resent"), msg->resent) << r.value;
    EXPECT_EQ(r.header("weir-resent"), msg->resent ? "true" : "");
  }
  EXPECT_GT(used_partitions.size(), 1u) << "20 keys should spread over the 3 partitions";
}

TEST_F(KafkaSinkTest, MessagesWithoutKeyOrTicket) {
  KafkaMock& m = mock(1);
  KafkaSink sink(kafka_spec(m.bootstrap()));
  std::string error;
  ASSERT_TRUE(sink.start(error)) << error;
  OutputMessage plain;
  plain.topic = kTopic;
  plain.payload = "no key, no ticket";
  OutputMessage ticketed = plain;
  ticketed.payload = "no key";
  ticketed.ticket = 7;
  ASSERT_EQ(sink.send(plain), SinkResult::kOk);
  ASSERT_EQ(sink.send(ticketed), SinkResult::kOk);
  Driver d(sink, {});
  ASSERT_TRUE(d.run_until([&] { return sink.counters().delivered == 2; }, 10s));
  ASSERT_EQ(d.confirmations.size(), 1u);  // only the ticketed message is reported
  EXPECT_TRUE(d.confirmations.at(7).ok);
  auto records = test::kafka_read(m.bootstrap(), kTopic, 2, 10s);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].value, "no key, no ticket");
  EXPECT_EQ(records[1].value, "no key");
  EXPECT_EQ(records[0].key, "");
  EXPECT_TRUE(records[0].headers.empty());
}

TEST_F(KafkaSinkTest, InjectedProduceErrorsAreRetriedWithoutDuplicates) {
  KafkaMock& m = mock(3);
  KafkaSink sink(kafka_spec(m.bootstrap()));
  std::string error;
  ASSERT_TRUE(sink.start(error)) << error;
  Driver d(sink, make_messages(400, 10));

  m.produce_errors(5);  // NOT_LEADER_FOR_PARTITION: not written, metadata refresh, retry
  ASSERT_TRUE(d.run_until([&] { return d.confirmations.size() >= 100; }, 15s, 100));
  m.produce_errors(3, 7);  // REQUEST_TIMED_OUT: possibly written, retried idempotently
  ASSERT_TRUE(d.run_until([&] { return d.confirmations.size() >= 200; }, 15s, 200));
  m.produce_errors(2, -195);  // _TRANSPORT: the broker drops the connection
  ASSERT_TRUE(d.run_until([&] { return d.all_confirmed(); }, 20s))
      << d.confirmations.size() << " of 400 confirmed";
  EXPECT_EQ(d.confirmed_ok(), 400u);
  EXPECT_EQ(d.duplicate_confirmations, 0u);

  auto records = test::kafka_read(m.bootstrap(), kTopic, 400, 15s);
  expect_exactly_once_in_order(records, d.messages);
}

TEST_F(KafkaSinkTest, BrokerDownWhileSendingThenUp) {
  KafkaMock& m = mock(3);
  LogCapture logs;
  const size_t max_in_flight = 100;
  KafkaSink sink(kafka_spec(m.bootstrap()), max_in_flight);
  std::string error;
  ASSERT_TRUE(sink.start(error)) << error;
  Driver d(sink, make_messages(500, 10));
  ASSERT_TRUE(d.run_until([&] { return d.confirmations.size() == 150; }, 15s, 150));
  EXPECT_TRUE(sink.connected());

  m.down();
  // The sink keeps taking messages until max_in_flight await delivery, then answers kRetry;
  // it notices that all brokers are down.
  ASSERT_TRUE(d.run_until([&] { return !sink.connected() && !sink.ready(); }, 15s))
      << "connected " << sink.connected() << ", in flight " << sink.in_flight();
  EXPECT_LE(sink.in_flight(), max_in_flight);
  EXPECT_EQ(d.confirmations.size(), 150u);
  const size_t sent_while_down = d.next;
  const size_t retries = d.retries;
  d.run_until([] { return false; }, 300ms);  // still down: nothing more is taken
  EXPECT_EQ(d.next, sent_while_down);
  EXPECT_GT(d.retries, retries);
  EXPECT_EQ(sink.send(d.messages[d.next]), SinkResult::kRetry);

  m.up();
  ASSERT_TRUE(d.run_until([&] { return d.all_confirmed(); }, 30s))
      << d.confirmations.size() << " of 500 confirmed";
  EXPECT_TRUE(sink.connected());
  EXPECT_EQ(d.confirmed_ok(), 500u);
  EXPECT_EQ(logs.count("all brokers down"), 1u);
  EXPECT_EQ(logs.count("delivering again") + logs.count("connected again"), 1u);

  auto records = test::kafka_read(m.bootstrap(), kTopic, 500, 15s);
  expect_exactly_once_in_order(records, d.messages);
}

TEST_F(KafkaSinkTest, IdleBrokerDownAndUpIsNoticed) {
  // The engine stops sending while connected() is false, so coming back must be noticed
  // without a delivery.
  KafkaMock& m = mock(1);
  KafkaSink sink(kafka_spec(m.bootstrap()));
  std::string error;
  ASSERT_TRUE(sink.start(error)) << error;
  Driver d(sink, make_messages(5, 1));
  ASSERT_TRUE(d.run_until([&] { return d.all_confirmed(); }, 10s));
  m.down();
  ASSERT_TRUE(d.run_until([&] { return !sink.connected(); }, 15s));
  m.up();
  ASSERT_TRUE(d.run_until([&] { return sink.connected(); }, 15s));
}

TEST_F(KafkaSinkTest, BadOptionFailsStartNamingIt) {
  auto spec = kafka_spec("127.0.0.1:1");
  spec.username = "weir";
  spec.password = "hunter2-do-not-log";
  spec.kafka.options = {{"no.such.option", "1"}};
  KafkaSink sink(spec);
  std::string error;
  EXPECT_FALSE(sink.start(error));
  EXPECT_NE(error.find("no.such.option"), std::string::npos) << error;
  EXPECT_NE(error.find("kafka-out"), std::string::npos) << error;
  EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
  EXPECT_FALSE(sink.ready());
  OutputMessage msg;
  msg.topic = kTopic;
  EXPECT_EQ(sink.send(msg), SinkResult::kRetry);

  auto bad_compression = kafka_spec("127.0.0.1:1");
  bad_compression.kafka.compression = "brotli";
  KafkaSink sink2(bad_compression);
  EXPECT_FALSE(sink2.start(error));
  EXPECT_NE(error.find("compression.type"), std::string::npos) << error;

  // A bad value for the password option itself is not quoted either.
  auto bad_password = kafka_spec("127.0.0.1:1");
  bad_password.kafka.options = {{"ssl.key.password", "hunter2-do-not-log"}, {"acks", "most"}};
  KafkaSink sink3(bad_password);
  EXPECT_FALSE(sink3.start(error));
  EXPECT_NE(error.find("acks"), std::string::npos) << error;
  EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
}

TEST_F(KafkaSinkTest, TlsAndSaslSettingsReachLibrdkafka) {
  // sasl_ssl with a CA file that does not exist: librdkafka refuses to build the producer,
  // and the message says which setting and which connection, without the password.
  auto spec = kafka_spec("127.0.0.1:1");
  spec.username = "weir";
  spec.password = "hunter2-do-not-log";
  spec.tls = config::TlsSpec{};
  spec.tls->ca_file = "/nonexistent/weir-ca.pem";
  KafkaSink sink(spec);
  std::string error;
  EXPECT_FALSE(sink.start(error));
  EXPECT_NE(error.find("ssl.ca.location"), std::string::npos) << error;
  EXPECT_NE(error.find("kafka-out"), std::string::npos) << error;
  EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
}

TEST_F(KafkaSinkTest, ShutdownWhileDownIsBounded) {
  KafkaMock& m = mock(1);
  auto sink = std::make_unique<KafkaSink>(kafka_spec(m.bootstrap()));
  std::string error;
  ASSERT_TRUE(sink->start(error)) << error;
  Driver d(*sink, make_messages(20, 2));
  ASSERT_TRUE(d.run_until([&] { return d.confirmations.size() == 10; }, 10s, 10));
  m.down();
  ASSERT_TRUE(d.run_until([&] { return !sink->connected() && d.next == 20; }, 15s));
  auto t0 = std::chrono::steady_clock::now();
  sink.reset();  // flushes for 2 s at most, then drops the 10 unconfirmed messages
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST_F(KafkaSinkTest, OversizedMessageIsRefusedNotHung) {
  KafkaMock& m = mock(1);
  auto spec = kafka_spec(m.bootstrap());
  spec.kafka.options = {{"message.max.bytes", "10000"}};
  KafkaSink sink(spec);
  std::string error;
  ASSERT_TRUE(sink.start(error)) << error;
  auto messages = make_messages(3, 1);
  messages[1].payload = std::string(50000, 'x');
  Driver d(sink, messages);
  // Refused at once (kError) or by a delivery report with ok=false: either way, bounded.
  ASSERT_TRUE(
      d.run_until([&] { return d.next == 3 && d.confirmations.size() + d.errors == 3; }, 10s));
  EXPECT_TRUE(d.errors == 1 || (d.confirmations.count(2) && !d.confirmations.at(2).ok));
  EXPECT_TRUE(d.confirmations.at(1).ok);
  EXPECT_TRUE(d.confirmations.at(3).ok);
  EXPECT_EQ(sink.counters().failed, 1u);
  EXPECT_FALSE(sink.last_error().empty());
}

TEST_F(KafkaSinkTest, PermanentDeliveryErrorConfirmsNotOk) {
  KafkaMock& m = mock(1);
  KafkaSink sink(kafka_spec(m.bootstrap()));
  std::string error;
  ASSERT_TRUE(sink.start(error)) << error;
  Driver d(sink, make_messages(3, 1));
  ASSERT_TRUE(d.run_until([&] { return d.confirmations.size() == 1; }, 10s, 1));
  m.produce_errors(1, 29);  // TOPIC_AUTHORIZATION_FAILED
  ASSERT_TRUE(d.run_until([&] { return d.confirmations.size() == 2; }, 10s, 2));
  EXPECT_FALSE(d.confirmations.at(2).ok);
  EXPECT_NE(d.confirmations.at(2).error.find("authorization"), std::string::npos)
      << d.confirmations.at(2).error;
  EXPECT_EQ(sink.in_flight(), 0u);
  // librdkafka remembers the topic's error until its next metadata refresh, so the next
  // message may be refused at once (kError) too; either way it is settled, not stuck.
  ASSERT_TRUE(
      d.run_until([&] { return d.next == 3 && d.confirmations.size() + d.errors == 3; }, 10s));
  EXPECT_EQ(sink.in_flight(), 0u);
}

TEST_F(KafkaSinkTest, FatalErrorRecreatesTheProducer) {
  KafkaMock& m = mock(1);
  KafkaSink sink(kafka_spec(m.bootstrap()));
  std::string error;
  ASSERT_TRUE(sink.start(error)) << error;
  Driver d(sink, make_messages(200, 5));
  ASSERT_TRUE(d.run_until([&] { return d.confirmations.size() == 50; }, 10s, 50));
  // OUT_OF_ORDER_SEQUENCE_NUMBER is fatal for the idempotent producer.
  m.produce_errors(1, 45);
  ASSERT_TRUE(d.run_until([&] { return d.all_confirmed(); }, 20s))
      << d.confirmations.size() << " of 200 confirmed";
  EXPECT_EQ(d.confirmed_ok(), 200u);
  EXPECT_GE(sink.counters().restarts, 1u);
  auto records = test::kafka_read(m.bootstrap(), kTopic, 200, 15s);
  // At least once: messages in flight at the fatal error may have been written before it.
  std::set<std::string> values;
  for (const auto& r : records) values.insert(r.value);
  for (const auto& msg : d.messages) EXPECT_EQ(values.count(msg.payload), 1u) << msg.payload;
}

}  // namespace
}  // namespace weir::sink
