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
  // QoS 0 has no acknowledgement, and libmosquitto drops unsent QoS 0 messages on a
  // disconnect without a callback: it is complete once handed over.
  const bool track = message.ticket != 0 && message.qos > 0;
  int rc = client_.publish(message.topic, message.payload, message.qos, message.retain,
                           with_props ? &props : nullptr, track ? &mid : nullptr);
  const bool queued = rc == MOSQ_ERR_SUCCESS ||
                      (message.qos > 0 && (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST));
  if (queued && track) {
    auto [it, fresh] = tickets_.try_emplace(mid, message.ticket);
    if (!fresh) {
      // The id came round again while its earlier message was never completed: that one
      // is sent again rather than forgotten.
      immediate_.push_back(SinkConfirmation{it->second, false, "lost by the MQTT client", true});
      it->second = message.ticket;
    }
  } else if (rc == MOSQ_ERR_SUCCESS && message.ticket != 0) {
    immediate_.push_back(SinkConfirmation{message.ticket, true, {}, false});
  }
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
  confirmed.insert(confirmed.end(), immediate_.begin(), immediate_.end());
  immediate_.clear();
  completed_.clear();
  client_.take_completed(completed_);
  for (const auto& [mid, reason] : completed_) {
    auto it = tickets_.find(mid);
    if (it == tickets_.end()) continue;
    if (reason >= 0x80) {
      // An MQTT 5 broker refused it (not authorised, topic name invalid, quota exceeded...).
      confirmed.push_back(SinkConfirmation{it->second, false,
                                           std::string("the broker refused the publish: ") + mosquitto_reason_string(reason),
                                           false});
    } else {
      confirmed.push_back(SinkConfirmation{it->second, true, {}, false});
    }
    tickets_.erase(it);
  }
}

}  // namespace weir::sink
