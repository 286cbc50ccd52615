#include "support/mqtt311_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace weir::test {

namespace {

bool write_all(int fd, const uint8_t* data, size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Reads until buf holds at least want bytes; false when the peer closed, the proxy stops
// or nothing came for 5 s.
bool read_at_least(int fd, std::vector<uint8_t>& buf, size_t want, const std::atomic<bool>& stop) {
  int waited_ms = 0;
  while (buf.size() < want) {
    if (stop.load() || waited_ms >= 5000) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) {
      waited_ms += 100;
      continue;
    }
    uint8_t tmp[4096];
    const ssize_t r = ::recv(fd, tmp, sizeof tmp, 0);
    if (r <= 0) return false;
    buf.insert(buf.end(), tmp, tmp + r);
  }
  return true;
}

}  // namespace

Mqtt311Proxy::Mqtt311Proxy(int upstream_port, Refusal refusal) : upstream_port_(upstream_port), refusal_(refusal) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 16) != 0) {
    throw std::runtime_error(std::string("proxy: cannot listen: ") + std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

Mqtt311Proxy::~Mqtt311Proxy() {
  stop_ = true;
  acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    threads.swap(connections_);
  }
  for (auto& t : threads) t.join();
  ::close(listen_fd_);
}

void Mqtt311Proxy::accept_loop() {
  while (!stop_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::lock_guard lock(mu_);
    connections_.emplace_back([this, client] { serve(client); });
  }
}

void Mqtt311Proxy::serve(int client) {
  // The CONNECT: fixed header (type, remaining length as a varint), then the protocol name
  // ("MQTT", 2-byte length first) and the protocol level.
  std::vector<uint8_t> buf;
  size_t header = 0;
  size_t remaining = 0;
  bool ok = read_at_least(client, buf, 2, stop_);
  for (size_t i = 1; ok; ++i) {
    if (!read_at_least(client, buf, i + 1, stop_) || i > 4) {
      ok = false;
      break;
    }
    remaining |= static_cast<size_t>(buf[i] & 0x7f) << (7 * (i - 1));
    if ((buf[i] & 0x80) == 0) {
      header = i + 1;
      break;
    }
  }
  ok = ok && (buf[0] & 0xf0) == 0x10 && remaining >= 7 && read_at_least(client, buf, header + remaining, stop_);
  if (!ok) {
    ::close(client);
    return;
  }
  const uint8_t level = buf[header + 6];
  if (level == 5) {
    // What a broker that does not know MQTT 5 answers, then it closes the connection.
    static constexpr uint8_t kV311[] = {0x20, 0x02, 0x00, 0x01};
    static constexpr uint8_t kV5[] = {0x20, 0x03, 0x00, 0x84, 0x00};
    if (refusal_ == Refusal::kV311Connack) {
      write_all(client, kV311, sizeof kV311);
    } else {
      write_all(client, kV5, sizeof kV5);
    }
    ++refused_;
    ::shutdown(client, SHUT_WR);
    ::close(client);
    return;
  }
  const int up = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(upstream_port_));
  if (::connect(up, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || !write_all(up, buf.data(), buf.size())) {
    ::close(up);
    ::close(client);
    return;
  }
  ++relayed_;
  pollfd fds[2] = {{client, POLLIN, 0}, {up, POLLIN, 0}};
  uint8_t tmp[16384];
  while (!stop_.load()) {
    if (::poll(fds, 2, 100) <= 0) continue;
    bool closed = false;
    for (int i = 0; i < 2 && !closed; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t r = ::recv(fds[i].fd, tmp, sizeof tmp, 0);
      closed = r <= 0 || !write_all(fds[1 - i].fd, tmp, static_cast<size_t>(r));
    }
    if (closed) break;
  }
  ::close(up);
  ::close(client);
}

}  // namespace weir::test
