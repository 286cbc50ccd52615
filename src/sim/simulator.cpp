#include "sim/simulator.hpp"

#include "sim/mqtt_publisher.hpp"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

namespace weir::sim {
namespace {

using SteadyClock = std::chrono::steady_clock;
using SystemClock = std::chrono::system_clock;

constexpr uint64_t kMalformedKindSalt = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kMalformedDrawSalt = 0x165667B19E3779F9ULL;
// Pacing sleeps in slices this long at most, so a stop request is seen quickly.
constexpr auto kSleepSlice = std::chrono::milliseconds(50);

double steady_seconds() {
  return std::chrono::duration<double>(SteadyClock::now().time_since_epoch()).count();
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             SystemClock::now().time_since_epoch())
      .count();
}

int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             SystemClock::now().time_since_epoch())
      .count();
}

std::unique_ptr<Publisher> make_publisher(const SimOptions& o) {
  if (!o.output_path.empty()) return std::make_unique<FilePublisher>(o.output_path);
  return std::make_unique<MqttPublisher>(
      PublisherConfig{o.host, o.port, o.client_id, o.qos, o.max_inflight});
}

PayloadKind payload_kind(PayloadFormat format) {
  return format == PayloadFormat::kJson || format == PayloadFormat::kSenml ? PayloadKind::kJson
                                                                           : PayloadKind::kBytes;
}

}  // namespace

Simulator::Simulator(SimOptions options, const std::atomic<bool>& stop_requested)
    : options_(std::move(options)),
      stop_requested_(stop_requested),
      payload_writer_(options_.format),
      malformed_writer_(options_.seed ^ kMalformedKindSalt),
      malformed_rng_(options_.seed ^ kMalformedDrawSalt),
      malformed_draw_(options_.malformed_rate),
      publisher_(make_publisher(options_)) {
  if (!options_.output_path.empty()) file_ = static_cast<FilePublisher*>(publisher_.get());
  const AnomalyConfig anomalies{options_.anomaly_rate, options_.anomaly_types};
  devices_.reserve(options_.devices);
  for (uint32_t i = 0; i < options_.devices; ++i) {
    std::string id = device_id(options_.device_prefix, i + 1);
    std::string topic = expand_topic(options_.topic_template, id);
    devices_.push_back(Device{std::move(id), std::move(topic),
                              DeviceModel(options_.seed + i, anomalies), std::nullopt, 0, 0});
  }
  summary_.devices = options_.devices;
}

bool Simulator::count_reached() const {
  return options_.count && summary_.readings >= *options_.count;
}

bool Simulator::wait_for_slot(uint64_t round, uint32_t index) const {
  if (options_.rate <= 0.0 || file_ != nullptr) return true;
  const double due_s = run_start_s_ + (static_cast<double>(round) +
                                       static_cast<double>(index) / devices_.size()) /
                                          options_.rate;
  while (!stop_requested_.load(std::memory_order_relaxed)) {
    const double left_s = due_s - steady_seconds();
    if (left_s <= 0.0) return true;
    const auto left = std::chrono::duration<double>(left_s);
    std::this_thread::sleep_for(std::min<std::chrono::duration<double>>(left, kSleepSlice));
  }
  return false;
}

RunOutcome Simulator::run() {
  if (!options_.truth_path.empty()) {
    truth_ = TruthWriter::open(options_.truth_path, error_);
    if (!truth_) return RunOutcome::kBadTruthFile;
  }
  if (publisher_->connect() != PublishResult::kOk) {
    error_ = publisher_->last_error();
    return RunOutcome::kConnectFailed;
  }

  run_start_s_ = steady_seconds();
  const bool synthetic = options_.time_mode == TimeMode::kSynthetic;
  bool failed = false;
  bool stopped = false;
  for (uint64_t round = 0; !failed && !stopped && !count_reached(); ++round) {
    if (stop_requested_.load(std::memory_order_relaxed)) break;
    if (!options_.count && options_.duration_s) {
      const double round_s = options_.rate > 0.0 ? static_cast<double>(round) / options_.rate
                                                 : steady_seconds() - run_start_s_;
      if (round_s >= *options_.duration_s) break;
    }
    const int64_t round_ms = options_.start_ms + static_cast<int64_t>(round) * options_.step_ms;
    for (uint32_t index = 0; index < devices_.size(); ++index) {
      if (count_reached()) break;
      if (!wait_for_slot(round, index)) {
        stopped = true;
        break;
      }
      if (!run_slot(devices_[index], round, synthetic ? round_ms : wall_ms())) {
        failed = true;
        break;
      }
    }
  }

  RunOutcome outcome = RunOutcome::kCompleted;
  if (failed || publisher_->drain() != PublishResult::kOk) {
    error_ = publisher_->last_error();
    outcome = RunOutcome::kPublishFailed;
  }
  summary_.elapsed_s = steady_seconds() - run_start_s_;
  (void)publisher_->disconnect();
  if (truth_) {
    close_open_episodes();
    if (!truth_->flush() && outcome == RunOutcome::kCompleted) {
      error_ = "writing the truth file '" + options_.truth_path + "' failed";
      outcome = RunOutcome::kTruthFailed;
    }
  }
  return outcome;
}

bool Simulator::run_slot(Device& device, uint64_t round, int64_t ts_ms) {
  const DeviceStep step = device.model.next();
  device.last_slot_ms = ts_ms;
  if (step.started) {
    if (options_.time_mode == TimeMode::kSynthetic) {
      const int64_t end_ms =
          ts_ms + static_cast<int64_t>(step.started->length - 1) * options_.step_ms;
      if (truth_) truth_->write_anomaly(device.id, step.started->type, ts_ms, end_ms);
    } else {
      device.open_episode = step.started->type;
      device.open_episode_start_ms = ts_ms;
    }
  }

  if (!step.dropped) {
    Reading reading{device.id, round, ts_ms, step.temp, step.hum, std::nullopt};
    if (options_.stamp) reading.sent_us = wall_us();
    payload_writer_.write(reading, payload_);
    if (file_ != nullptr) file_->set_time(ts_ms);
    if (publisher_->publish(device.topic, payload_, payload_kind(options_.format)) !=
        PublishResult::kOk) {
      return false;
    }
    ++summary_.readings;
    if (truth_) truth_->write_reading(device.id, round, ts_ms, step.temp, step.hum);
    if (options_.malformed_rate > 0.0 && malformed_draw_(malformed_rng_)) {
      if (!publish_malformed(device, reading)) return false;
    }
  }

  if (step.episode_ends && device.open_episode) {
    if (truth_)
      truth_->write_anomaly(device.id, *device.open_episode, device.open_episode_start_ms, ts_ms);
    device.open_episode.reset();
  }
  return true;
}

bool Simulator::publish_malformed(const Device& device, const Reading& reading) {
  const MalformedKind kind = malformed_writer_.next_kind();
  malformed_writer_.write(reading, payload_);
  if (publisher_->publish(device.topic, payload_, PayloadKind::kBytes) != PublishResult::kOk) {
    return false;
  }
  ++summary_.malformed;
  if (truth_) truth_->write_malformed(device.id, reading.seq, kind);
  return true;
}

void Simulator::close_open_episodes() {
  // Wall mode: episodes still running at the end are cut at the device's last slot.
  for (Device& device : devices_) {
    if (!device.open_episode) continue;
    truth_->write_anomaly(device.id, *device.open_episode, device.open_episode_start_ms,
                          device.last_slot_ms);
    device.open_episode.reset();
  }
}

}  // namespace weir::sim
