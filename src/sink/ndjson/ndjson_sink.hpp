// Writes each output as one NDJSON line {"topic": T, "payload": P} (weir replay).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "weir/sink.hpp"

namespace weir::sink {

class NdjsonSink final : public Sink {
 public:
  explicit NdjsonSink(std::FILE* out) : out_(out) {}
  std::string_view name() const noexcept override { return "ndjson"; }
  // The payload is written as JSON when it is JSON text (weir's outputs are), otherwise as a
  // JSON string.
  SinkResult send(const OutputMessage& message) override;
  bool ready() const noexcept override { return true; }
  // Written is final: tickets are confirmed at the next poll.
  void poll(std::vector<SinkConfirmation>& confirmed) override {
    for (uint64_t t : written_) confirmed.push_back(SinkConfirmation{t, true, {}, false});
    written_.clear();
  }

 private:
  std::FILE* out_;
  std::string line_;
  std::vector<uint64_t> written_;
};

}  // namespace weir::sink
