#include "support/kafka_mock.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <thread>

#ifndef WEIR_KAFKA_MOCK_EXE
#error "WEIR_KAFKA_MOCK_EXE must name the weir-kafka-mock program"
#endif

extern char** environ;

namespace weir::test {

namespace {

using Clock = std::chrono::steady_clock;

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// Waits up to timeout for the child to exit; true when it did.
bool reap(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

KafkaMock::KafkaMock(const std::string& topic, int partitions, int brokers)
    : log_file_(dir_.file("kafka-mock.log")) {
  // A mock that died must not kill the test with SIGPIPE when a command is written to it.
  signal(SIGPIPE, SIG_IGN);
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    throw std::runtime_error("pipe failed");
  }
  std::vector<std::string> argv = {WEIR_KAFKA_MOCK_EXE,
                                   "--brokers",
                                   std::to_string(brokers),
                                   "--topic",
                                   topic,
                                   "--partitions",
                                   std::to_string(partitions)};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, log_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(in[0]);
  close(out[1]);
  to_mock_ = in[1];
  from_mock_ = out[0];
  if (rc != 0) {
    pid_ = -1;
    close_fd(to_mock_);
    close_fd(from_mock_);
    throw std::runtime_error(std::string("cannot start weir-kafka-mock: ") + std::strerror(rc));
  }
  std::string line;
  bool got = read_line(line, Clock::now() + std::chrono::seconds(10));
  if (!got || line.rfind("bootstrap=", 0) != 0) {
    std::string why = got ? "unexpected line \"" + line + "\"" : "no bootstrap line";
    kill(pid_, SIGKILL);
    reap(pid_, std::chrono::seconds(5));
    pid_ = -1;
    close_fd(to_mock_);
    close_fd(from_mock_);
    throw std::runtime_error("weir-kafka-mock did not start (" + why + "):\n" + log());
  }
  bootstrap_ = line.substr(std::strlen("bootstrap="));
}

KafkaMock::~KafkaMock() {
  if (pid_ <= 0) return;
  // Closing its stdin ends the mock; SIGKILL if it does not go in time.
  close_fd(to_mock_);
  if (!reap(pid_, std::chrono::seconds(3))) {
    kill(pid_, SIGKILL);
    reap(pid_, std::chrono::seconds(5));
  }
  close_fd(from_mock_);
}

void KafkaMock::down() { command("down"); }
void KafkaMock::up() { command("up"); }
void KafkaMock::produce_errors(int count, int err) {
  command("produce-errors " + std::to_string(count) + " " + std::to_string(err));
}

void KafkaMock::command(const std::string& line) {
  std::string text = line + "\n";
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(to_mock_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("weir-kafka-mock is gone (" + line + "):\n" + log());
    done += static_cast<size_t>(n);
  }
  std::string reply;
  if (!read_line(reply, Clock::now() + std::chrono::seconds(5)) || reply != "ok") {
    throw std::runtime_error("weir-kafka-mock: \"" + line + "\" answered \"" + reply + "\":\n" +
                             log());
  }
}

bool KafkaMock::read_line(std::string& line, Clock::time_point deadline) {
  while (true) {
    size_t nl = buffered_.find('\n');
    if (nl != std::string::npos) {
      line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      return true;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{from_mock_, POLLIN, 0};
    int r = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    char buf[512];
    ssize_t n = read(from_mock_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // the mock exited
    buffered_.append(buf, static_cast<size_t>(n));
  }
}

std::string KafkaRecord::header(const std::string& name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return "";
}

bool KafkaRecord::has_header(const std::string& name) const {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return h.first == name; });
}

std::vector<KafkaRecord> kafka_read(const std::string& bootstrap, const std::string& topic,
                                    size_t at_least, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // consumer_poll() needs a group.id; assign() joins no group.
  const std::pair<const char*, std::string> settings[] = {
      {"bootstrap.servers", bootstrap},
      {"group.id", "weir-test-reader"},
      {"enable.auto.commit", "false"},
      {"enable.partition.eof", "false"},
      {"log_level", "3"},
  };
  for (const auto& [key, value] : settings) {
    if (rd_kafka_conf_set(conf, key, value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::runtime_error(std::string("kafka_read: ") + errstr);
    }
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("kafka_read: ") + errstr);
  }
  std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)> handle(rk, [](rd_kafka_t* k) {
    rd_kafka_consumer_close(k);
    rd_kafka_destroy(k);
  });

  // How many partitions the topic has.
  int partitions = 0;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  while (partitions == 0 && Clock::now() < deadline) {
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        partitions = md->topics[0].partition_cnt;
      }
      rd_kafka_metadata_destroy(md);
    }
  }
  rd_kafka_topic_destroy(rkt);
  if (partitions == 0) throw std::runtime_error("kafka_read: no metadata for topic " + topic);

  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int32_t p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_resp_err_t err = rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err) throw std::runtime_error(std::string("kafka_read: assign: ") + rd_kafka_err2str(err));

  std::vector<KafkaRecord> records;
  auto stop = deadline;
  bool extra = false;
  while (Clock::now() < stop) {
    if (!extra && records.size() >= at_least) {
      extra = true;
      // A short extra window for duplicates (past the caller's deadline by 300 ms at most).
      stop = Clock::now() + std::chrono::milliseconds(300);
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 50);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      KafkaRecord r;
      r.topic = rd_kafka_topic_name(m->rkt);
      if (m->key != nullptr) r.key.assign(static_cast<const char*>(m->key), m->key_len);
      if (m->payload != nullptr) r.value.assign(static_cast<const char*>(m->payload), m->len);
      r.partition = m->partition;
      r.offset = m->offset;
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name = nullptr;
        const void* value = nullptr;
        size_t size = 0;
        for (size_t i = 0;
             rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
             ++i) {
          r.headers.emplace_back(name, value != nullptr
                                           ? std::string(static_cast<const char*>(value), size)
                                           : std::string());
        }
      }
      records.push_back(std::move(r));
    }
    rd_kafka_message_destroy(m);
  }
  std::stable_sort(records.begin(), records.end(), [](const KafkaRecord& a, const KafkaRecord& b) {
    return a.partition != b.partition ? a.partition < b.partition : a.offset < b.offset;
  });
  return records;
}

}  // namespace weir::test
