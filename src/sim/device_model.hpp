// One simulated device: a seeded random walk for "temp" and "hum", plus anomaly episodes
// injected into "temp". Knows nothing of time, MQTT or encoding: the simulator asks it for
// reading after reading and stamps them.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "sim/sim_options.hpp"

namespace weir::sim {

struct AnomalyConfig {
  double rate = 0.0;               // per reading, when no episode is active
  std::vector<AnomalyType> types;  // enabled types; episodes pick one uniformly
};

// An anomaly episode, reported on the reading where it starts.
struct EpisodeStart {
  AnomalyType type;
  uint32_t length;  // in readings (1 for spike and dip)
};

// What the device does for one reading slot.
struct DeviceStep {
  bool dropped = false;                 // dropout: the device sends nothing for this slot
  double temp = 0.0;                    // rounded to 2 decimals
  double hum = 0.0;                     // rounded to 2 decimals
  std::optional<EpisodeStart> started;  // an episode starts on this slot
  bool episode_ends = false;            // this slot is the last of the active episode
};

class DeviceModel {
 public:
  // The walk uses std::mt19937_64(seed); anomalies draw from a second generator derived
  // from the same seed, so the baseline walk does not depend on the anomaly settings.
  DeviceModel(uint64_t seed, AnomalyConfig anomalies);

  // The next reading slot; advances the walk.
  DeviceStep next();

 private:
  struct Episode {
    AnomalyType type;
    uint32_t length;
    uint32_t position = 0;
    double magnitude = 0.0;    // signed offset (spike, dip, shift) or final drift offset
    double frozen_temp = 0.0;  // flatline
  };

  void maybe_start_episode(double temp, DeviceStep& step);
  double apply_episode(double temp) const;
  void advance_walk();

  AnomalyConfig anomalies_;
  std::mt19937_64 walk_rng_;
  std::mt19937_64 anomaly_rng_;
  double temp_base_;
  double hum_base_;
  double temp_;
  double hum_;
  std::optional<Episode> episode_;
  bool dropout_just_ended_ = false;
};

}  // namespace weir::sim
