#include "pipeline/match/match_stage.hpp"

#include "pipeline/match/matcher.hpp"

namespace weir::pipeline {
namespace {

class MatchStage final : public Operator {
 public:
  explicit MatchStage(std::unique_ptr<Matcher> matcher) : matcher_(std::move(matcher)) {}

  StageResult process(Record& record, StageContext& ctx) override {
    (void)ctx;
    return matcher_->matches(record.doc) ? StageResult::kPass : StageResult::kDrop;
  }

 private:
  std::unique_ptr<Matcher> matcher_;
};

}  // namespace

const ComponentInfo& match_info() {
  static const ComponentInfo kInfo{
      "$match",
      "Passes the records that match a MongoDB query and drops the others. The query's keys "
      "are field paths ({\"temp\": {\"$gt\": 30}}) with $eq $ne $gt $gte $lt $lte $in $nin "
      "$exists $not, combined with $and $or $nor; $expr takes an aggregation expression.",
      {}};
  return kInfo;
}

std::unique_ptr<Operator> make_match(const config::Node& spec, const StageBuildContext& ctx) {
  (void)ctx;
  return std::make_unique<MatchStage>(compile_match(spec));
}

}  // namespace weir::pipeline
