// A mock Kafka cluster for integration tests (the weir-kafka-mock program, librdkafka's
// mock brokers on 127.0.0.1), driven over a pipe, and a consumer that reads a topic back.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "support/process.hpp"

namespace weir::test {

class KafkaMock {
 public:
  // Starts the cluster with `topic` created (throws when it does not come up within 10 s).
  explicit KafkaMock(const std::string& topic, int partitions = 3, int brokers = 1);
  ~KafkaMock();
  KafkaMock(const KafkaMock&) = delete;
  KafkaMock& operator=(const KafkaMock&) = delete;

  // "127.0.0.1:PORT[,...]", for bootstrap.servers.
  const std::string& bootstrap() const noexcept { return bootstrap_; }
  // Every broker drops its connections and refuses new ones / accepts them again.
  void down();
  void up();
  // The next `count` Produce requests fail with Kafka error code `err` (default
  // NOT_LEADER_FOR_PARTITION: nothing is written; the producer retries).
  void produce_errors(int count, int err = 6);
  // The mock's stderr (librdkafka's log of the mock brokers), for failure messages.
  std::string log() const { return read_file(log_file_); }

 private:
  // Sends one command line and waits (5 s at most) for "ok"; throws otherwise.
  void command(const std::string& line);
  // Reads one line from the mock's stdout, waiting until deadline; false on timeout or EOF.
  bool read_line(std::string& line, std::chrono::steady_clock::time_point deadline);

  TempDir dir_;
  std::string log_file_;
  pid_t pid_ = -1;
  int to_mock_ = -1;    // the mock's stdin
  int from_mock_ = -1;  // the mock's stdout
  std::string buffered_;
  std::string bootstrap_;
};

struct KafkaRecord {
  std::string topic;
  std::string key;
  std::string value;
  int32_t partition = -1;
  int64_t offset = -1;
  std::vector<std::pair<std::string, std::string>> headers;
  // The value of the first header with this name; "" when there is none.
  std::string header(const std::string& name) const;
  bool has_header(const std::string& name) const;
};

// Reads `topic` from the beginning of every partition until at least `at_least` records
// arrived or `timeout` passed, then 300 ms more to catch duplicates. Records are in
// partition order, then offset order. Throws when the consumer cannot be set up.
std::vector<KafkaRecord> kafka_read(const std::string& bootstrap, const std::string& topic,
                                    size_t at_least, std::chrono::milliseconds timeout);

}  // namespace weir::test
