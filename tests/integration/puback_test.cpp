// weir's back-pressure (and its crash safety later) rests on this undocumented behaviour of
// libmosquitto's threaded loop: the PUBACK of a QoS 1 message leaves only after on_message
// returns. If a future libmosquitto acknowledged before the callback, this test fails.
#include <gtest/gtest.h>

#include <signal.h>

#include "support/mosquitto_broker.hpp"
#include "support/mqtt_collector.hpp"
#include "support/process.hpp"

namespace weir::test {
namespace {

Process subscriber(const TempDir& dir, int port, const char* mode, const std::string& log) {
  Process p({WEIR_HOLD_SUBSCRIBER_EXE, std::to_string(port), "weir-puback-probe", "probe/t", mode},
            dir.file(log));
  EXPECT_TRUE(wait_until([&] { return p.log().find("subscribed") != std::string::npos; },
                         std::chrono::seconds(10)))
      << p.log();
  return p;
}

bool redelivered(const TempDir& dir, int port, const std::string& payload, const std::string& log) {
  Process again = subscriber(dir, port, "ack", log);
  return wait_until([&] { return again.log().find("got " + payload) != std::string::npos; },
                    std::chrono::seconds(3));
}

TEST(LibmosquittoContract, Qos1IsAcknowledgedOnlyAfterOnMessageReturns) {
  TempDir dir;
  MosquittoBroker broker(dir);
  MqttCollector publisher(broker.port(), {});
  {
    // on_message never returns; the process dies with the message in it.
    Process held = subscriber(dir, broker.port(), "hold", "held.log");
    publisher.publish("probe/t", "m1");
    ASSERT_TRUE(wait_until([&] { return held.log().find("got m1") != std::string::npos; },
                           std::chrono::seconds(10)));
    // Had a PUBACK been queued before the callback, the network thread would be writing it
    // now; give it time to, then die without a chance to send anything.
    wait_until([] { return false; }, std::chrono::milliseconds(300));
    held.signal(SIGKILL);
    held.wait(std::chrono::seconds(5));
  }
  EXPECT_TRUE(redelivered(dir, broker.port(), "m1", "after-hold.log"))
      << "the broker did not redeliver a message whose on_message never returned: libmosquitto "
         "acknowledged it before the callback";

  // Control: a message whose on_message returned is acknowledged and not redelivered.
  {
    Process acking = subscriber(dir, broker.port(), "ack", "acking.log");
    publisher.publish("probe/t", "m2");
    ASSERT_TRUE(wait_until([&] { return acking.log().find("got m2") != std::string::npos; },
                           std::chrono::seconds(10)));
    wait_until([] { return false; }, std::chrono::milliseconds(300));
    acking.signal(SIGKILL);
    acking.wait(std::chrono::seconds(5));
  }
  EXPECT_FALSE(redelivered(dir, broker.port(), "m2", "after-ack.log"));
}

}  // namespace
}  // namespace weir::test
