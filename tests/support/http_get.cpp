#include "support/http_get.hpp"

#include <httplib.h>

namespace weir::test {

HttpReply http_get(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(5, 0);
  auto res = client.Get(path.c_str());
  if (!res) return {};
  return HttpReply{res->status, res->body};
}

}  // namespace weir::test
