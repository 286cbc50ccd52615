#include "sim/device_model.hpp"

#include <algorithm>
#include <utility>

#include "sim/number_text.hpp"

namespace weir::sim {
namespace {

constexpr double kTempCenter = 20.0;
constexpr double kTempSpread = 5.0;
constexpr double kTempStepSigma = 0.1;
constexpr double kTempReversion = 0.05;
constexpr double kHumCenter = 50.0;
constexpr double kHumSpread = 5.0;
constexpr double kHumStepSigma = 0.5;
constexpr double kHumReversion = 0.02;
constexpr double kHumMin = 0.0;
constexpr double kHumMax = 100.0;

constexpr uint32_t kMinEpisodeLength = 5;
constexpr uint32_t kMaxEpisodeLength = 50;
constexpr double kSpikeMin = 10.0;
constexpr double kSpikeMax = 20.0;
constexpr double kShiftMin = 5.0;
constexpr double kShiftMax = 10.0;
constexpr double kDriftMax = 10.0;

// Decorrelates the anomaly generator from the walk generator of the same device.
constexpr uint64_t kAnomalySeedSalt = 0x9E3779B97F4A7C15ULL;

}  // namespace

DeviceModel::DeviceModel(uint64_t seed, AnomalyConfig anomalies)
    : anomalies_(std::move(anomalies)), walk_rng_(seed), anomaly_rng_(seed ^ kAnomalySeedSalt) {
  std::uniform_real_distribution<double> spread(-1.0, 1.0);
  temp_base_ = kTempCenter + kTempSpread * spread(walk_rng_);
  hum_base_ = kHumCenter + kHumSpread * spread(walk_rng_);
  temp_ = temp_base_;
  hum_ = hum_base_;
}

DeviceStep DeviceModel::next() {
  DeviceStep step;
  const double normal_temp = round_to_hundredths(temp_);
  step.hum = round_to_hundredths(hum_);

  if (!episode_ && anomalies_.rate > 0.0 && !anomalies_.types.empty() && !dropout_just_ended_) {
    maybe_start_episode(normal_temp, step);
  }
  dropout_just_ended_ = false;

  if (episode_) {
    step.dropped = episode_->type == AnomalyType::kDropout;
    step.temp = round_to_hundredths(apply_episode(normal_temp));
    ++episode_->position;
    if (episode_->position >= episode_->length) {
      step.episode_ends = true;
      // Two dropouts back to back would look like one; keep at least one reading between.
      dropout_just_ended_ = step.dropped;
      episode_.reset();
    }
  } else {
    step.temp = normal_temp;
  }
  advance_walk();
  return step;
}

void DeviceModel::maybe_start_episode(double temp, DeviceStep& step) {
  std::bernoulli_distribution starts(anomalies_.rate);
  if (!starts(anomaly_rng_)) return;
  std::uniform_int_distribution<size_t> pick(0, anomalies_.types.size() - 1);
  const AnomalyType type = anomalies_.types[pick(anomaly_rng_)];
  std::uniform_int_distribution<uint32_t> length_dist(kMinEpisodeLength, kMaxEpisodeLength);
  std::bernoulli_distribution positive(0.5);

  Episode episode{type, 1};
  switch (type) {
    case AnomalyType::kSpike:
      episode.magnitude =
          std::uniform_real_distribution<double>(kSpikeMin, kSpikeMax)(anomaly_rng_);
      break;
    case AnomalyType::kDip:
      episode.magnitude =
          -std::uniform_real_distribution<double>(kSpikeMin, kSpikeMax)(anomaly_rng_);
      break;
    case AnomalyType::kShift: {
      episode.length = length_dist(anomaly_rng_);
      const double size =
          std::uniform_real_distribution<double>(kShiftMin, kShiftMax)(anomaly_rng_);
      episode.magnitude = positive(anomaly_rng_) ? size : -size;
      break;
    }
    case AnomalyType::kDrift:
      episode.length = length_dist(anomaly_rng_);
      episode.magnitude = positive(anomaly_rng_) ? kDriftMax : -kDriftMax;
      break;
    case AnomalyType::kFlatline:
      episode.length = length_dist(anomaly_rng_);
      episode.frozen_temp = temp;
      break;
    case AnomalyType::kDropout:
      episode.length = length_dist(anomaly_rng_);
      break;
  }
  step.started = EpisodeStart{type, episode.length};
  episode_ = episode;
}

double DeviceModel::apply_episode(double temp) const {
  const Episode& e = *episode_;
  switch (e.type) {
    case AnomalyType::kSpike:
    case AnomalyType::kDip:
    case AnomalyType::kShift:
      return temp + e.magnitude;
    case AnomalyType::kDrift:
      return temp +
             e.magnitude * static_cast<double>(e.position + 1) / static_cast<double>(e.length);
    case AnomalyType::kFlatline:
      return e.frozen_temp;
    case AnomalyType::kDropout:
      return temp;
  }
  return temp;
}

void DeviceModel::advance_walk() {
  std::normal_distribution<double> temp_step(0.0, kTempStepSigma);
  std::normal_distribution<double> hum_step(0.0, kHumStepSigma);
  temp_ += kTempReversion * (temp_base_ - temp_) + temp_step(walk_rng_);
  hum_ += kHumReversion * (hum_base_ - hum_) + hum_step(walk_rng_);
  hum_ = std::clamp(hum_, kHumMin, kHumMax);
}

}  // namespace weir::sim
