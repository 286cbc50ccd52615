// The samples of a Prometheus text page: "name{labels}" -> value (HELP/TYPE lines skipped).
// Header-only: the unit tests of the renderer and the endpoint's integration tests read it.
#pragma once

#include <map>
#include <sstream>
#include <string>

namespace weir::test {

inline std::map<std::string, double> parse_metrics(const std::string& page) {
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
