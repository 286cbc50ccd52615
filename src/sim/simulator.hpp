// Runs the simulation: devices take turns (round k: reading k of every device), readings
// are encoded, published, and recorded in the ground truth.
#pragma once

#include <atomic>
#include <memory>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "sim/device_model.hpp"
#include "sim/malformed_writer.hpp"
#include "sim/file_publisher.hpp"
#include "sim/publisher.hpp"
#include "sim/payload_writer.hpp"
#include "sim/sim_options.hpp"
#include "sim/truth_writer.hpp"

namespace weir::sim {

enum class RunOutcome {
  kCompleted,      // limit reached or stop requested; everything delivered
  kBadTruthFile,   // the truth file could not be created
  kConnectFailed,  // the broker refused or could not be reached
  kPublishFailed,  // the connection failed during the run
  kTruthFailed,    // writing the truth file failed
};

struct RunSummary {
  uint64_t readings = 0;
  uint64_t malformed = 0;
  uint32_t devices = 0;
  double elapsed_s = 0.0;
};

class Simulator {
 public:
  // `stop_requested` is polled between rounds (set by the signal handler).
  Simulator(SimOptions options, const std::atomic<bool>& stop_requested);

  RunOutcome run();

  const RunSummary& summary() const { return summary_; }
  // What went wrong, for any outcome but kCompleted.
  const std::string& error() const { return error_; }
  // "tcp://host:port", or the output file
  const std::string& target() const { return publisher_->target(); }

 private:
  struct Device {
    std::string id;
    std::string topic;
    DeviceModel model;
    // Wall mode only: an episode's end time is known when it ends, so its truth line is
    // written then.
    std::optional<AnomalyType> open_episode;
    int64_t open_episode_start_ms = 0;
    int64_t last_slot_ms = 0;
  };

  bool count_reached() const;
  // Paced runs: waits until slot `index` of `round` is due; slots are spread evenly over
  // the round, so the load is smooth rather than one burst per round. False when stopped.
  bool wait_for_slot(uint64_t round, uint32_t index) const;
  // One reading slot of one device; false when publishing failed.
  bool run_slot(Device& device, uint64_t round, int64_t ts_ms);
  bool publish_malformed(const Device& device, const Reading& reading);
  void close_open_episodes();

  const SimOptions options_;
  const std::atomic<bool>& stop_requested_;
  std::vector<Device> devices_;
  PayloadWriter payload_writer_;
  MalformedWriter malformed_writer_;
  std::mt19937_64 malformed_rng_;
  std::bernoulli_distribution malformed_draw_;
  std::unique_ptr<Publisher> publisher_;
  FilePublisher* file_ = nullptr;  // publisher_ when writing a file
  std::optional<TruthWriter> truth_;
  std::string payload_;
  RunSummary summary_;
  std::string error_;
  double run_start_s_ = 0.0;  // steady clock, seconds
};

}  // namespace weir::sim
