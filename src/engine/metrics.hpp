// The numbers of a running weir in Prometheus' text format (version 0.0.4) or as JSON: per
// pipeline, stage and connection, plus checkpoints and the process. Rendered on the processing
// thread from a RunView; the metrics endpoint serves the latest rendering.
#pragma once

#include <string>

#include "engine/run_observer.hpp"
#include "weir/time.hpp"

namespace weir::engine {

std::string prometheus_metrics(const RunView& view, TimeMs now, const std::string& version);

// The same numbers as one JSON document, for publishing to an MQTT topic:
// {"time": ISO 8601, "version": ..., "metrics": {NAME: {"type": "counter"|"gauge",
//  "samples": [{"labels": {...}, "value": N}, ...]}, ...}}
std::string json_metrics(const RunView& view, TimeMs now, const std::string& version);

}  // namespace weir::engine
