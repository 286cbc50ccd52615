// A libmosquitto subscriber (threaded loop, persistent session) that prints each message
// and, in "hold" mode, never returns from on_message. Used to observe when libmosquitto
// acknowledges a QoS 1 message: tests kill it with SIGKILL and reconnect.
#include <mosquitto.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {
bool g_hold = false;

void on_connect(struct mosquitto* m, void* topic, int rc) {
  if (rc == 0) mosquitto_subscribe(m, nullptr, static_cast<const char*>(topic), 1);
}
void on_subscribe(struct mosquitto*, void*, int, int, const int*) {
  std::printf("subscribed\n");
  std::fflush(stdout);
}
void on_message(struct mosquitto*, void*, const struct mosquitto_message* msg) {
  std::printf("got %.*s\n", msg->payloadlen, static_cast<const char*>(msg->payload));
  std::fflush(stdout);
  while (g_hold) pause();
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: hold_subscriber PORT CLIENT_ID TOPIC hold|ack\n");
    return 2;
  }
  g_hold = std::strcmp(argv[4], "hold") == 0;
  mosquitto_lib_init();
  struct mosquitto* m = mosquitto_new(argv[2], false, argv[3]);
  mosquitto_connect_callback_set(m, on_connect);
  mosquitto_subscribe_callback_set(m, on_subscribe);
  mosquitto_message_callback_set(m, on_message);
  if (mosquitto_connect(m, "127.0.0.1", std::atoi(argv[1]), 30) != MOSQ_ERR_SUCCESS) return 1;
  mosquitto_loop_start(m);
  while (true) pause();
}
