#include "sink/mqtt/mqtt_sink.hpp"

#include <mosquitto.h>

namespace weir::sink {

bool MqttSink::ready() const noexcept {
  return client_.connected() && client_.in_flight() < max_in_flight_;
}

SinkResult MqttSink::send(const OutputMessage& message) {
  if (!ready()) return SinkResult::kRetry;
  ingest::PublishProperties props;
  const bool with_props = client_.protocol() == 5;
  if (with_props) {
    properties_.clear();
    if (!message.output_id.empty()) properties_.emplace_back("weir-output-id", message.output_id);
    for (const auto& h : message.headers) properties_.push_back(h);
    if (message.resent) properties_.emplace_back("weir-resent", "true");
    props.message_expiry_s = message.expiry_s;
    props.content_type = "application/json";
    props.user_properties = &properties_;
  }
  int mid = 0;
  int rc = client_.publish(message.topic, message.payload, message.qos, message.retain,
                           with_props ? &props : nullptr, message.ticket != 0 ? &mid : nullptr);
  const bool queued = rc == MOSQ_ERR_SUCCESS ||
                      (message.qos > 0 && (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST));
  if (queued && message.ticket != 0) tickets_[mid] = message.ticket;
  switch (rc) {
    case MOSQ_ERR_SUCCESS: return SinkResult::kOk;
    case MOSQ_ERR_NO_CONN:
    case MOSQ_ERR_CONN_LOST:
      // QoS 1/2: libmosquitto queued it and resends it after reconnecting; sending it again
      // would duplicate it. QoS 0 is gone: the engine retries.
      return message.qos > 0 ? SinkResult::kOk : SinkResult::kRetry;
    case MOSQ_ERR_INVAL:
    case MOSQ_ERR_PAYLOAD_SIZE:
    case MOSQ_ERR_OVERSIZE_PACKET:
    case MOSQ_ERR_MALFORMED_UTF8:
    case MOSQ_ERR_QOS_NOT_SUPPORTED: return SinkResult::kError;
    default: return SinkResult::kRetry;  // no connection, out of memory, protocol hiccup
  }
}

void MqttSink::poll(std::vector<SinkConfirmation>& confirmed) {
  completed_.clear();
  client_.take_completed(completed_);
  for (int mid : completed_) {
    auto it = tickets_.find(mid);
    if (it == tickets_.end()) continue;
    confirmed.push_back(SinkConfirmation{it->second, true, {}});
    tickets_.erase(it);
  }
}

}  // namespace weir::sink
