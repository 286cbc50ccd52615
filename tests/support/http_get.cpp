#include "support/http_get.hpp"

#include <httplib.h>

#include <sstream>

namespace weir::test {

HttpReply http_get(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(5, 0);
  auto res = client.Get(path.c_str());
  if (!res) return {};
  return HttpReply{res->status, res->body};
}

std::map<std::string, double> parse_metrics(const std::string& page) {
  std::map<std::string, double> out;
  std::stringstream in(page);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    out[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return out;
}

}  // namespace weir::test
