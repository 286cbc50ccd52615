// weir-kafka-mock: librdkafka's mock Kafka cluster as a program, for integration tests.
//
//   weir-kafka-mock [--brokers N] [--topic NAME [--partitions P]]...
//
// Prints "bootstrap=HOST:PORT,..." on stdout once the brokers listen (on 127.0.0.1 only),
// then reads one command per line from stdin and answers "ok" (or "error: ...") to each:
//   down                         every broker drops its connections and refuses new ones
//   up                           every broker accepts connections again
//   produce-errors COUNT [ERR]   the next COUNT Produce requests fail with error code ERR
//                                (default 6, NOT_LEADER_FOR_PARTITION: nothing is written
//                                and the client refreshes its metadata and retries)
//   quit                         exits
// It also exits when stdin reaches end of file, so a crashed test never leaves it running.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr int16_t kProduceApiKey = 0;  // Kafka protocol: ProduceRequest

struct Options {
  int brokers = 1;
  std::vector<std::string> topics;
  std::vector<int> partitions;
};

bool parse_int(const char* text, int min, int& out) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < min || v > 100000) return false;
  out = static_cast<int>(v);
  return true;
}

bool parse_options(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "weir-kafka-mock: %s needs a value\n", arg.c_str());
      return false;
    }
    const char* value = argv[++i];
    int n = 0;
    if (arg == "--brokers" && parse_int(value, 1, n)) {
      o.brokers = n;
    } else if (arg == "--topic" && *value != '\0') {
      o.topics.emplace_back(value);
    } else if (arg == "--partitions" && parse_int(value, 1, n)) {
      o.partitions.push_back(n);
    } else {
      std::fprintf(stderr, "weir-kafka-mock: bad option %s %s\n", arg.c_str(), value);
      return false;
    }
  }
  if (o.partitions.size() > 1 && o.partitions.size() != o.topics.size()) {
    std::fprintf(stderr, "weir-kafka-mock: give one --partitions, or one per --topic\n");
    return false;
  }
  return true;
}

// The mock brokers bind 127.0.0.1; refuse to run if that ever changes.
bool loopback_only(const std::string& bootstraps) {
  std::stringstream ss(bootstraps);
  std::string server;
  while (std::getline(ss, server, ',')) {
    if (server.rfind("127.0.0.1:", 0) != 0 && server.rfind("localhost:", 0) != 0) return false;
  }
  return !bootstraps.empty();
}

void answer(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

std::string run(rd_kafka_mock_cluster_t* mc, int brokers, const std::string& line) {
  std::stringstream ss(line);
  std::string cmd;
  ss >> cmd;
  if (cmd == "down" || cmd == "up") {
    for (int id = 1; id <= brokers; ++id) {
      rd_kafka_resp_err_t err = cmd == "down" ? rd_kafka_mock_broker_set_down(mc, id)
                                              : rd_kafka_mock_broker_set_up(mc, id);
      if (err) return std::string("error: ") + rd_kafka_err2str(err);
    }
    return "ok";
  }
  if (cmd == "produce-errors") {
    long count = -1;
    long code = RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION;
    ss >> count;
    if (!ss || count < 0 || count > 100000) return "error: produce-errors COUNT [ERRCODE]";
    if (!(ss >> code)) code = RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION;
    std::vector<rd_kafka_resp_err_t> errors(static_cast<size_t>(count),
                                            static_cast<rd_kafka_resp_err_t>(code));
    rd_kafka_mock_push_request_errors_array(mc, kProduceApiKey, errors.size(), errors.data());
    return "ok";
  }
  return "error: unknown command \"" + cmd + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse_options(argc, argv, o)) return 2;

  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only hosts the mock cluster; it never connects anywhere itself (log_level 4:
  // no notice that bootstrap.servers is unset).
  rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof errstr);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    std::fprintf(stderr, "weir-kafka-mock: rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, o.brokers);
  if (mc == nullptr) {
    std::fprintf(stderr, "weir-kafka-mock: cannot create the mock cluster\n");
    rd_kafka_destroy(rk);
    return 1;
  }
  int status = 0;
  const std::string bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
  if (!loopback_only(bootstraps)) {
    std::fprintf(stderr, "weir-kafka-mock: brokers not on loopback: %s\n", bootstraps.c_str());
    status = 1;
  }
  for (size_t i = 0; i < o.topics.size() && status == 0; ++i) {
    int partitions = o.partitions.empty() ? 1 : o.partitions[o.partitions.size() == 1 ? 0 : i];
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, o.topics[i].c_str(), partitions,
                                                         o.brokers < 3 ? o.brokers : 3);
    if (err) {
      std::fprintf(stderr, "weir-kafka-mock: cannot create topic %s: %s\n", o.topics[i].c_str(),
                   rd_kafka_err2str(err));
      status = 1;
    }
  }

  if (status == 0) {
    answer("bootstrap=" + bootstraps);
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line.empty()) continue;
      if (line == "quit") {
        answer("ok");
        break;
      }
      answer(run(mc, o.brokers, line));
    }
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return status;
}
