#include "sink/mqtt/mqtt_sink.hpp"

#include <mosquitto.h>

namespace weir::sink {

bool MqttSink::ready() const noexcept {
  return client_.connected() && client_.in_flight() < max_in_flight_;
}

SinkResult MqttSink::send(const OutputMessage& message) {
  if (!ready()) return SinkResult::kRetry;
  int rc = client_.publish(message.topic, message.payload, message.qos, message.retain);
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

}  // namespace weir::sink
