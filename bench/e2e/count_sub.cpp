// weir_count_sub: the plain libmosquitto subscriber of the end-to-end benchmark. It only
// counts what it receives (and, when asked, takes a latency from each payload or sums one
// of its integer fields), so how fast it receives is the broker's ceiling on this machine.
//
//   weir_count_sub --port P --topic 'sensors/#' --qos 1 [--expect N] [--idle-ms MS]
//                  [--timeout-ms MS] [--latency] [--sum-field n] [--ready-file F]
//
// Stops when it has `--expect` messages, when nothing arrived for `--idle-ms` after the
// first message, or after `--timeout-ms`; then prints one JSON line on stdout:
//   {"received":N,"seconds":S,"rate":R,"sum":X,"latencyUs":{"p50":..,"p99":..,"max":..}}
// where seconds runs from the first message to the last. Exit code 0, or 1 when it could
// not connect or subscribe.
#include <mosquitto.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

namespace {

using Clock = std::chrono::steady_clock;

int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch())
      .count();
}

struct Counter {
  // Written by the network thread only; read by main after the loop stopped, except the
  // atomics, which main polls.
  std::atomic<uint64_t> received{0};
  std::atomic<int64_t> first_us{0};
  std::atomic<int64_t> last_us{0};
  std::atomic<bool> subscribed{false};
  std::atomic<int> subscribe_failed{0};
  bool latency = false;
  std::string sum_field;  // e.g. "\"n\":"
  int64_t sum = 0;
  uint64_t unparsed = 0;  // messages without the latency stamp or the summed field
  std::vector<int64_t> latencies_us;
};

// The integer after `key` (which ends with ':') in a JSON payload; false when absent.
bool find_int(std::string_view payload, std::string_view key, int64_t& out) {
  const size_t at = payload.find(key);
  if (at == std::string_view::npos) return false;
  const char* begin = payload.data() + at + key.size();
  const char* end = payload.data() + payload.size();
  while (begin < end && *begin == ' ') ++begin;
  return std::from_chars(begin, end, out).ec == std::errc();
}

void on_message(mosquitto* /*m*/, void* user, const mosquitto_message* msg) {
  auto& c = *static_cast<Counter*>(user);
  const int64_t now = steady_us();
  const std::string_view payload(static_cast<const char*>(msg->payload),
                                 static_cast<size_t>(msg->payloadlen));
  if (c.latency) {
    int64_t sent;
    if (find_int(payload, "\"sentUs\":", sent)) {
      c.latencies_us.push_back(wall_us() - sent);
    } else {
      ++c.unparsed;
    }
  }
  if (!c.sum_field.empty()) {
    int64_t v;
    if (find_int(payload, c.sum_field, v)) {
      c.sum += v;
    } else {
      ++c.unparsed;
    }
  }
  if (c.received.load(std::memory_order_relaxed) == 0) c.first_us.store(now);
  c.last_us.store(now, std::memory_order_relaxed);
  c.received.fetch_add(1, std::memory_order_release);
}

void on_subscribe(mosquitto* /*m*/, void* user, int /*mid*/, int count, const int* granted) {
  auto& c = *static_cast<Counter*>(user);
  for (int i = 0; i < count; ++i) {
    if (granted[i] > 2) c.subscribe_failed = 1;
  }
  c.subscribed = true;
}

int64_t percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::vector<std::string> topics;
  int qos = 1;
  uint64_t expect = 0;
  int64_t idle_ms = 0;
  int64_t timeout_ms = 600000;
  bool latency = false;
  std::string sum_field;
  std::string ready_file;
  std::string client_id = "weir-count-sub";

  CLI::App app{"weir_count_sub: counts MQTT messages (the end-to-end benchmark's ceiling)"};
  app.add_option("--host", host)->capture_default_str();
  app.add_option("--port", port)->capture_default_str();
  app.add_option("--topic", topics, "Topic filter (repeatable)")->required();
  app.add_option("--qos", qos)->check(CLI::IsMember({0, 1, 2}))->capture_default_str();
  app.add_option("--client-id", client_id)->capture_default_str();
  app.add_option("--expect", expect, "Stop after this many messages (0: no limit)");
  app.add_option("--idle-ms", idle_ms, "Stop when nothing arrived for this long after the first message");
  app.add_option("--timeout-ms", timeout_ms, "Stop after this long in any case")->capture_default_str();
  app.add_flag("--latency", latency, "Latency from the payload's \"sentUs\" (wall-clock epoch us)");
  app.add_option("--sum-field", sum_field, "Sum this integer field of every payload");
  app.add_option("--ready-file", ready_file, "Create this file once subscribed");
  CLI11_PARSE(app, argc, argv);

  Counter c;
  c.latency = latency;
  if (!sum_field.empty()) c.sum_field = "\"" + sum_field + "\":";
  if (latency) c.latencies_us.reserve(1 << 20);

  mosquitto_lib_init();
  mosquitto* m = mosquitto_new(client_id.c_str(), true, &c);
  if (m == nullptr) {
    std::fprintf(stderr, "weir_count_sub: mosquitto_new failed\n");
    return 1;
  }
  mosquitto_message_callback_set(m, on_message);
  mosquitto_subscribe_callback_set(m, on_subscribe);
  int rc = mosquitto_connect(m, host.c_str(), port, 30);
  if (rc != MOSQ_ERR_SUCCESS) {
    std::fprintf(stderr, "weir_count_sub: connect to %s:%d: %s\n", host.c_str(), port,
                 mosquitto_strerror(rc));
    return 1;
  }
  for (const auto& t : topics) {
    rc = mosquitto_subscribe(m, nullptr, t.c_str(), qos);
    if (rc != MOSQ_ERR_SUCCESS) {
      std::fprintf(stderr, "weir_count_sub: subscribe %s: %s\n", t.c_str(), mosquitto_strerror(rc));
      return 1;
    }
  }
  mosquitto_loop_start(m);

  const auto start = Clock::now();
  bool ready_written = false;
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (c.subscribe_failed.load()) {
      std::fprintf(stderr, "weir_count_sub: the broker refused a subscription\n");
      return 1;
    }
    if (!ready_written && c.subscribed.load()) {
      if (!ready_file.empty()) std::ofstream(ready_file) << "ready\n";
      ready_written = true;
    }
    const uint64_t n = c.received.load(std::memory_order_acquire);
    if (expect > 0 && n >= expect) break;
    const int64_t now = steady_us();
    if (idle_ms > 0 && n > 0 && now - c.last_us.load() > idle_ms * 1000) break;
    if (Clock::now() - start > std::chrono::milliseconds(timeout_ms)) break;
  }
  mosquitto_disconnect(m);
  mosquitto_loop_stop(m, false);
  mosquitto_destroy(m);
  mosquitto_lib_cleanup();

  const uint64_t n = c.received.load();
  const double seconds = n > 1 ? static_cast<double>(c.last_us - c.first_us) / 1e6 : 0.0;
  std::string out = "{\"received\":" + std::to_string(n) + ",\"seconds\":" + std::to_string(seconds) +
                    ",\"rate\":" + std::to_string(seconds > 0 ? static_cast<double>(n - 1) / seconds : 0.0) +
                    ",\"sum\":" + std::to_string(c.sum) + ",\"unparsed\":" + std::to_string(c.unparsed);
  if (latency) {
    auto& v = c.latencies_us;
    const int64_t mx = v.empty() ? 0 : *std::max_element(v.begin(), v.end());
    out += ",\"latencyUs\":{\"count\":" + std::to_string(v.size()) +
           ",\"p50\":" + std::to_string(percentile(v, 0.50)) +
           ",\"p99\":" + std::to_string(percentile(v, 0.99)) +
           ",\"p999\":" + std::to_string(percentile(v, 0.999)) + ",\"max\":" + std::to_string(mx) + "}";
  }
  out += "}";
  std::printf("%s\n", out.c_str());
  return 0;
}
