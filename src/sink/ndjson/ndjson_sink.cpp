#include "sink/ndjson/ndjson_sink.hpp"

#include "weir/value.hpp"

namespace weir::sink {

SinkResult NdjsonSink::send(const OutputMessage& message) {
  line_.clear();
  line_ += "{\"topic\":";
  append_json_string(line_, message.topic);
  line_ += ",\"payload\":";
  const std::string& p = message.payload;
  bool json = !p.empty() && (p.front() == '{' || p.front() == '[');
  if (json) {
    line_ += p;
  } else {
    append_json_string(line_, p);
  }
  line_ += "}\n";
  if (std::fwrite(line_.data(), 1, line_.size(), out_) != line_.size()) return SinkResult::kError;
  if (message.ticket != 0) written_.push_back(message.ticket);
  return SinkResult::kOk;
}

}  // namespace weir::sink
