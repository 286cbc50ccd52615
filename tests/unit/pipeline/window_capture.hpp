// A StageContext for driving a window stage by hand: keeps what it forwards and the reasons
// of what it rejects, and answers now() from a clock the test sets.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "weir/operator.hpp"

namespace weir::pipeline::test {

class Capture final : public StageContext {
 public:
  void forward(Record&& r) override { out.push_back(std::move(r)); }
  void reject(std::string_view reason, std::string_view detail) override {
    rejected.emplace_back(reason);
    (void)detail;
  }
  TimeMs now() const override { return clock; }
  std::vector<Record> out;
  std::vector<std::string> rejected;
  TimeMs clock = 0;
};

// A case file's "expect" list as one JSON line per output or rejection, without the notes.
template <typename Json>
std::vector<std::string> expected_lines(const Json& file) {
  std::vector<std::string> want;
  for (const auto& e : file.at("expect")) {
    Json plain = Json::object();
    plain["step"] = e.at("step");
    if (e.contains("reject")) plain["reject"] = e.at("reject");
    if (e.contains("emit")) plain["emit"] = e.at("emit");
    want.push_back(plain.dump());
  }
  return want;
}

}  // namespace weir::pipeline::test
