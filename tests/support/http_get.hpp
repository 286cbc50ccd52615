// A plain HTTP GET to 127.0.0.1 (cpp-httplib's client), for the metrics endpoint tests.
#pragma once

#include <string>

#include "support/prometheus_text.hpp"  // parse_metrics, for the endpoint tests

namespace weir::test {

struct HttpReply {
  int status = 0;  // 0: no answer
  std::string body;
};

HttpReply http_get(int port, const std::string& path);

}  // namespace weir::test
