// Ground truth for windowed aggregates: weir-sim's --truth file read into the aggregates
// each (device, tumbling window) must have, so integration tests compare weir's outputs
// with exact expectations.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace weir::test {

struct ExpectedWindow {
  int64_t n = 0;
  int64_t seqs = 0;  // sum of the readings' sequence numbers
  double sum = 0, min = INFINITY, max = -INFINITY, first = 0, last = 0;
  int64_t first_ts = INT64_MAX, last_ts = INT64_MIN;

  void add(int64_t ts, double temp, int64_t seq) {
    ++n;
    seqs += seq;
    sum += temp;
    min = std::min(min, temp);
    max = std::max(max, temp);
    if (ts < first_ts) first_ts = ts, first = temp;
    if (ts >= last_ts) last_ts = ts, last = temp;
  }
};

// (device, window start) -> expectation.
using WindowTruth = std::map<std::pair<std::string, int64_t>, ExpectedWindow>;

// Adds the "reading" rows of a truth file (reading,device,seq,ts,temp,...) to out, for
// tumbling windows of window_ms; returns the readings read. Other rows go to other_rows
// by their kind (first column) when given.
inline int64_t read_truth(const std::string& file, int64_t window_ms, WindowTruth& out,
                          std::map<std::string, std::vector<std::vector<std::string>>>* other_rows = nullptr) {
  std::ifstream in(file);
  std::string line;
  int64_t readings = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) f.push_back(cell);
    if (f.empty()) continue;
    if (f[0] != "reading") {
      if (other_rows != nullptr) (*other_rows)[f[0]].push_back(std::move(f));
      continue;
    }
    ++readings;
    const int64_t ts = std::stoll(f[3]);
    out[{f[1], ts - ts % window_ms}].add(ts, std::strtod(f[4].c_str(), nullptr), std::stoll(f[2]));
  }
  return readings;
}

}  // namespace weir::test
