#include "support/mosquitto_broker.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>

namespace weir::test {

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    throw std::runtime_error("cannot bind a loopback port");
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

bool port_accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

MosquittoBroker::MosquittoBroker(const TempDir& dir, const std::string& extra_config,
                                 const std::string& global_config)
    : config_file_(dir.file("mosquitto.conf")), log_file_(dir.file("mosquitto.log")) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = free_port();
    std::ofstream conf(config_file_);
    // global_config comes after these defaults, so it may override them (the last value
    // of an option wins), e.g. "persistence true".
    conf << "persistence false\n"
         << "max_queued_messages 0\n"
         << "max_queued_bytes 0\n"
         << "max_inflight_messages 1000\n"
         << global_config
         << "log_type error\nlog_type warning\nlog_type notice\n"
         << "listener " << port_ << " 127.0.0.1\n"
         << "allow_anonymous true\n"
         << extra_config;
    conf.close();
    start();
    if (wait_until([&] { return port_accepts(port_) || !process_.running(); },
                   std::chrono::milliseconds(10000)) &&
        process_.running()) {
      return;
    }
    process_.stop();
  }
  throw std::runtime_error("mosquitto did not start:\n" + read_file(log_file_));
}

MosquittoBroker::~MosquittoBroker() { stop(); }

void MosquittoBroker::stop() { process_.stop(std::chrono::milliseconds(3000)); }

void MosquittoBroker::start() {
  process_ = Process({"/usr/sbin/mosquitto", "-c", config_file_}, log_file_);
  wait_until([&] { return port_accepts(port_) || !process_.running(); },
             std::chrono::milliseconds(10000));
}

}  // namespace weir::test
