// A plain HTTP GET to 127.0.0.1 (cpp-httplib's client), for the metrics endpoint tests.
#pragma once

#include <map>
#include <string>

namespace weir::test {

struct HttpReply {
  int status = 0;  // 0: no answer
  std::string body;
};

HttpReply http_get(int port, const std::string& path);

// The samples of a Prometheus text page: "name{labels}" -> value (HELP/TYPE lines skipped).
std::map<std::string, double> parse_metrics(const std::string& page);

}  // namespace weir::test
