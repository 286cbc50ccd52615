#include "pipeline/detect/detect_stage.hpp"

#include "core/fnv.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace weir::pipeline::detect {

namespace {

constexpr OptionSpec kOptions[] = {
    {"partitionBy", OptionType::kAny, false, "none",
     "what a series belongs to: \"$device\", or {\"name\": expression, ...}; none: one group"},
    {"field", OptionType::kString, false, "", "the numeric field to watch (this or fields)"},
    {"fields", OptionType::kArray, false, "", "several numeric fields, each watched on its own"},
    {"methods", OptionType::kObject, true, "",
     "method name -> options: threshold, zscore, ewma, mad, cusum, rate, flatline, missing, auto"},
    {"raiseAfter", OptionType::kInteger, false, "1",
     "consecutive anomalous readings before an alert is raised (every method)"},
    {"clearAfter", OptionType::kAny, false, "1",
     "consecutive normal readings (a number) or a duration of normal readings before an alert "
     "clears (every method)"},
    {"cooldown", OptionType::kDuration, false, "0",
     "after a clear, no new alert of the same method and series for this long"},
    {"severity", OptionType::kString, false, "warning", "info, warning or critical"},
    {"alerts", OptionType::kObject, false, "none",
     "{connectionName, topic, stateTopic, qos, rateLimit: {count, per}}: where alerts go"},
    {"maxGroups", OptionType::kInteger, false, "1000000",
     "most partitions held; readings of new ones past it go to the dead-letter topic"},
};
constexpr ComponentInfo kInfo{
    "$detect",
    "per partition and field, judges each reading with the configured methods, adds "
    "_anomaly {score, flags} and publishes raised and cleared alerts",
    kOptions};

constexpr OptionSpec kAlertOptions[] = {
    {"connectionName", OptionType::kString, false, "$emit's", "the connection to publish on"},
    {"topic", OptionType::kString, true, "", "alert topic; {field} is replaced by that field of the alert"},
    {"stateTopic", OptionType::kString, false, "none",
     "retained topic per partition holding its active alerts"},
    {"qos", OptionType::kInteger, false, "1", "publish QoS"},
    {"rateLimit", OptionType::kObject, false, "{count: 100, per: 1 second}",
     "most alerts published per period; the rest are counted as suppressed"},
};
constexpr ComponentInfo kAlertInfo{"alerts", "where $detect publishes alerts", kAlertOptions};

constexpr OptionSpec kRateOptions[] = {
    {"count", OptionType::kInteger, true, "", "alerts per period"},
    {"per", OptionType::kDuration, true, "", "the period"},
};
constexpr ComponentInfo kRateInfo{"rateLimit", "alert rate limit", kRateOptions};

// Keys of the alert and state documents; a partition field may not take one of them.
constexpr std::string_view kReservedKeys[] = {
    "alertId", "state", "pipeline", "field", "method", "value", "score", "expected", "severity",
    "eventTime", "processingTime", "raisedAt", "lastSeen", "active", "updatedAt"};

void check_partition_name(const config::Node& node, const std::string& name) {
  for (std::string_view k : kReservedKeys) {
    if (name == k) {
      node.fail("a partition field name other than the alert's own keys (got \"" + name +
                "\"; name it with {\"<other name>\": expression})");
    }
  }
}

std::string strip_dollar(std::string s) {
  if (!s.empty() && s[0] == '$') s.erase(0, 1);
  return s;
}

FieldPath field_path(const config::Node& node) {
  std::string name = strip_dollar(node.as_nonempty_string());
  if (name.empty()) node.fail("a field name");
  return FieldPath(name);
}

void set_number(Value& doc, std::string_view key, double v) {
  if (std::isfinite(v)) doc.set(key, Value(v));
}

}  // namespace

const ComponentInfo& detect_info() { return kInfo; }

std::unique_ptr<Operator> make_detect(const config::Node& spec, const StageBuildContext& ctx) {
  spec.check_options(kInfo);
  DetectOptions o;
  if (auto p = spec.get("partitionBy")) {
    if (p->is_string()) {
      std::string text = p->as_nonempty_string();
      if (text[0] != '$' || text.size() < 2 || text[1] == '$') {
        p->fail("a field path such as \"$device\", or an object {\"name\": expression}");
      }
      FieldPath path(text.substr(1));
      check_partition_name(*p, path.parts().back());
      o.partition.emplace_back(path.parts().back(), compile_expression(*p));
    } else if (p->is_object()) {
      if (p->size() == 0) p->fail("an object with at least one field");
      for (const auto& [name, value] : p->json().items()) {
        config::Node child = p->at(name);
        if (name.empty() || name[0] == '$') child.fail("a field name without \"$\" as the key");
        check_partition_name(child, name);
        o.partition.emplace_back(name, compile_expression(child));
      }
    } else {
      p->fail("a field path such as \"$device\", or an object {\"name\": expression}");
    }
  }
  auto field = spec.get("field");
  auto fields = spec.get("fields");
  if (field && fields) fields->fail("either \"field\" or \"fields\", not both");
  if (field) {
    FieldPath path = field_path(*field);
    o.fields.emplace_back(path.str(), path);
  } else if (fields) {
    fields->expect_array(true);
    for (size_t i = 0; i < fields->size(); ++i) {
      FieldPath path = field_path(fields->at(i));
      for (const auto& f : o.fields) {
        if (f.first == path.str()) fields->at(i).fail("each field once");
      }
      o.fields.emplace_back(path.str(), path);
    }
  } else {
    spec.fail("\"field\" (or \"fields\"): the numeric field to watch");
  }
  AlertPolicy defaults = parse_alert_policy(spec, AlertPolicy{});
  config::Node methods = spec.at("methods");
  methods.expect_object();
  if (methods.size() == 0) methods.fail("at least one method");
  for (const auto& [name, value] : methods.json().items()) {
    o.methods.push_back(parse_method(name, methods.at(name), defaults));
  }
  if (auto a = spec.get("alerts")) {
    a->expect_object();
    a->check_options(kAlertInfo);
    AlertOutput out;
    std::string conn = ctx.emit_connection;
    std::string conn_path = a->path() + "/connectionName";
    if (auto c = a->get("connectionName")) conn = c->as_nonempty_string();
    if (ctx.connection) out.connection = ctx.connection(conn, conn_path);
    out.topic = TopicTemplate::parse(a->at("topic"));
    if (auto st = a->get("stateTopic")) out.state_topic = TopicTemplate::parse(*st);
    out.qos = static_cast<int>(a->int_or("qos", 1, 0, 2));
    if (auto r = a->get("rateLimit")) {
      r->expect_object();
      r->check_options(kRateInfo);
      out.rate_count = static_cast<double>(r->at("count").as_int(1, 1000000000));
      out.rate_per = r->at("per").as_duration();
    }
    o.alerts = std::move(out);
  }
  o.max_groups = static_cast<size_t>(spec.int_or("maxGroups", 1000000, 1, 1000000000));
  return std::make_unique<DetectStage>(std::move(o), ctx.pipeline);
}

DetectStage::DetectStage(DetectOptions options, std::string pipeline)
    : options_(std::move(options)), pipeline_(std::move(pipeline)) {
  for (size_t m = 0; m < options_.methods.size(); ++m) {
    if (options_.methods[m].kind == MethodKind::kMissing) {
      missing_method_ = m;
      missing_after_ = options_.methods[m].duration;
    }
  }
  if (options_.alerts) tokens_ = options_.alerts->rate_count;
}

DetectStage::Group& DetectStage::group_for(std::string&& key, Value&& fields) {
  auto [it, fresh] = groups_.try_emplace(std::move(key));
  if (!fresh) return *it->second;
  auto g = std::make_unique<Group>();
  g->key = it->first;
  g->fields = std::move(fields);
  g->series.resize(options_.fields.size());
  for (size_t f = 0; f < g->series.size(); ++f) {
    Series& s = g->series[f];
    s.group = g.get();
    s.field = f;
    s.alerts.resize(options_.methods.size());
    for (const auto& m : options_.methods) s.states.push_back(make_method_state(m));
  }
  it->second = std::move(g);
  return *it->second;
}

StageResult DetectStage::process(Record& record, StageContext& ctx) {
  // The partition.
  key_buffer_.clear();
  if (!options_.partition.empty()) {
    key_buffer_.push_back('[');
    for (size_t i = 0; i < options_.partition.size(); ++i) {
      Value scratch;
      const Value& v = options_.partition[i].second->eval(record.doc, scratch);
      if (is_missing(v)) {
        ctx.reject("missing_partition",
                   "the reading has no value for $detect's partitionBy \"" +
                       options_.partition[i].first + "\"");
        return StageResult::kDeadLetter;
      }
      if (i > 0) key_buffer_.push_back(',');
      v.append_json(key_buffer_);
    }
    key_buffer_.push_back(']');
  }
  auto git = groups_.find(key_buffer_);
  if (git == groups_.end() && groups_.size() >= options_.max_groups) {
    ctx.reject("maxGroups", "$detect holds maxGroups (" + std::to_string(options_.max_groups) +
                                ") partitions; a reading of a new one was refused");
    return StageResult::kDeadLetter;
  }
  if (git == groups_.end()) {
    // A new partition: its values by name, for alerts and the state topic.
    Value fields = Value::object();
    for (const auto& [name, expr] : options_.partition) {
      Value scratch;
      fields.set(name, expr->eval(record.doc, scratch));
    }
    group_for(std::string(key_buffer_), std::move(fields));
    git = groups_.find(key_buffer_);
  }
  Group& g = *git->second;
  touch(g);

  const TimeMs t = record.event_time;
  const TimeMs now = ctx.now();
  double score = 0.0;
  Value flags = Value::array();
  const bool several = options_.fields.size() > 1;
  if (missing_method_) {
    // The dead-man timer watches the partition: any reading of it counts, whatever its
    // fields hold. Its alerts are kept with the first field's series.
    Series& s = g.series[0];
    s.last_seen = now;
    s.last_event = t;
    if (s.in_timer) {
      timer_.splice(timer_.end(), timer_, s.timer_pos);
    } else {
      s.timer_pos = timer_.insert(timer_.end(), &s);
      s.in_timer = true;
    }
    AlertState& a = s.alerts[*missing_method_];
    if (a.active) {
      a.active = false;
      a.cleared_at = t;
      const Value* v = record.doc.lookup(options_.fields[0].second);
      transition(ctx, s, *missing_method_, AlertStep::kClear, t,
                 v != nullptr && v->is_number() ? *v : Value(), Judgement{});
    }
  }
  for (size_t f = 0; f < options_.fields.size(); ++f) {
    const Value* v = record.doc.lookup(options_.fields[f].second);
    if (v == nullptr || !v->is_number()) continue;
    const double x = v->as_double();
    Series& s = g.series[f];
    if (!std::isfinite(x)) {
      // NaN and infinities (CBOR, SenML) are flagged, never fed to the methods.
      flags.push_back(Value(several ? options_.fields[f].first + ":notFinite" : "notFinite"));
      score = 1.0;
      continue;
    }
    for (size_t m = 0; m < options_.methods.size(); ++m) {
      MethodState* state = s.states[m].get();
      if (state == nullptr) continue;
      const Judgement j = state->update(t, x);
      if (!j.judged) {
        s.alerts[m].anomalous_run = 0;  // a gap in judgement breaks a run of anomalies
        continue;
      }
      score = std::max(score, j.score);
      if (j.anomalous) {
        const std::string_view name = method_name(options_.methods[m].kind);
        flags.push_back(Value(several ? options_.fields[f].first + ":" + std::string(name)
                                      : std::string(name)));
      }
      const AlertStep step = s.alerts[m].observe(options_.methods[m].alert, t, j.anomalous);
      if (step != AlertStep::kNone) {
        transition(ctx, s, m, step, t, *v, j);
      } else if (j.anomalous && s.alerts[m].active && !s.alerts[m].published) {
        transition(ctx, s, m, AlertStep::kRaise, t, *v, j);  // held back by the rate limit
      }
    }
    s.last_value = x;
  }
  Value anomaly = Value::object();
  anomaly.set("score", Value(score));
  anomaly.set("flags", std::move(flags));
  record.doc.set("_anomaly", std::move(anomaly));
  return StageResult::kPass;
}

void DetectStage::on_tick(StageContext& ctx) {
  if (!missing_method_) return;
  const TimeMs now = ctx.now();
  while (!timer_.empty()) {
    Series& s = *timer_.front();
    if (now - s.last_seen < missing_after_) break;
    timer_.pop_front();
    s.in_timer = false;
    touch(*s.group);
    AlertState& a = s.alerts[*missing_method_];
    a.active = true;
    a.raised_at = s.last_event;
    Judgement j;
    j.score = 1.0;
    transition(ctx, s, *missing_method_, AlertStep::kRaise, s.last_event + missing_after_,
               Value(), j);
  }
}

bool DetectStage::take_token(TimeMs now) {
  const AlertOutput& out = *options_.alerts;
  if (tokens_at_ != kMinTime && now > tokens_at_) {
    tokens_ = std::min(out.rate_count, tokens_ + static_cast<double>(now - tokens_at_) *
                                                     out.rate_count /
                                                     static_cast<double>(out.rate_per));
  }
  tokens_at_ = std::max(tokens_at_, now);
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

std::string DetectStage::alert_id(const Series& s, size_t method, TimeMs raised_at) const {
  using core::fnv1a;
  uint64_t h = core::kFnvOffset;
  h = fnv1a(h, pipeline_);
  h = fnv1a(h, s.group->key);
  h = fnv1a(h, options_.fields[s.field].first);
  h = fnv1a(h, method_name(options_.methods[method].kind));
  h = fnv1a(h, std::to_string(raised_at));
  // Final avalanche (splitmix64), so ids of near-identical inputs differ in every digit.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return core::hex16(h);
}

void DetectStage::transition(StageContext& ctx, Series& s, size_t method, AlertStep step,
                             TimeMs t, const Value& value, const Judgement& j) {
  AlertState& a = s.alerts[method];
  const bool raise = step == AlertStep::kRaise;
  if (raise) {
    a.raised_value = value.as_double();
    a.published = false;
  }
  if (!options_.alerts) return;
  const TimeMs now = ctx.now();
  if (raise) {
    if (!take_token(now)) {
      // Counted once per alert; it is offered again on its next anomalous reading.
      if (!a.refused) ++suppressed_;
      a.refused = true;
      return;
    }
    a.published = true;
    a.refused = false;
    ++raised_;
  } else {
    a.refused = false;
    if (!a.published) return;  // its raise never went out: neither does its clear
    a.published = false;
    ++cleared_;
  }
  const MethodSpec& spec = options_.methods[method];
  Value doc = Value::object();
  doc.set("alertId", Value(alert_id(s, method, a.raised_at)));
  doc.set("state", Value(raise ? "raised" : "cleared"));
  doc.set("pipeline", Value(pipeline_));
  const Value& gf = s.group->fields;
  for (size_t i = 0; i < gf.size(); ++i) doc.set(gf.key(i), gf.at(i));
  doc.set("field", Value(options_.fields[s.field].first));
  doc.set("method", Value(method_name(spec.kind)));
  doc.set("value", value.is_number() ? value : Value());
  doc.set("score", Value(j.score));
  if (std::isfinite(j.low) || std::isfinite(j.high)) {
    Value expected = Value::object();
    set_number(expected, "low", j.low);
    set_number(expected, "high", j.high);
    doc.set("expected", std::move(expected));
  }
  doc.set("severity", Value(spec.alert.severity));
  doc.set("eventTime", Value(format_iso8601(t)));
  doc.set("processingTime", Value(format_iso8601(now)));
  if (!raise) doc.set("raisedAt", Value(format_iso8601(a.raised_at)));
  if (spec.kind == MethodKind::kMissing && raise) {
    doc.set("lastSeen", Value(format_iso8601(s.last_event)));
  }
  OutputMessage msg;
  options_.alerts->topic.render(doc, msg.topic);
  doc.append_json(msg.payload);
  msg.qos = options_.alerts->qos;
  ctx.publish(options_.alerts->connection, std::move(msg));
  publish_state(ctx, *s.group);
}

void DetectStage::publish_state(StageContext& ctx, const Group& g) {
  if (!options_.alerts || !options_.alerts->state_topic) return;
  Value doc = Value::object();
  doc.set("pipeline", Value(pipeline_));
  for (size_t i = 0; i < g.fields.size(); ++i) doc.set(g.fields.key(i), g.fields.at(i));
  Value active = Value::array();
  for (const Series& s : g.series) {
    for (size_t m = 0; m < s.alerts.size(); ++m) {
      const AlertState& a = s.alerts[m];
      if (!a.active || !a.published) continue;
      const MethodSpec& spec = options_.methods[m];
      Value e = Value::object();
      e.set("alertId", Value(alert_id(s, m, a.raised_at)));
      e.set("field", Value(options_.fields[s.field].first));
      e.set("method", Value(method_name(spec.kind)));
      e.set("severity", Value(spec.alert.severity));
      e.set("since", Value(format_iso8601(a.raised_at)));
      if (spec.kind != MethodKind::kMissing) e.set("value", Value(a.raised_value));
      active.push_back(std::move(e));
    }
  }
  doc.set("active", std::move(active));
  doc.set("updatedAt", Value(format_iso8601(ctx.now())));
  OutputMessage msg;
  options_.alerts->state_topic->render(doc, msg.topic);
  doc.append_json(msg.payload);
  msg.qos = options_.alerts->qos;
  msg.retain = true;
  ctx.publish(options_.alerts->connection, std::move(msg));
}

OperatorStats DetectStage::stats() const {
  OperatorStats st;
  for (const auto& [key, g] : groups_) {
    st.groups += g->series.size();
    st.state_bytes += sizeof(Group) + key.size() * 2 + 64;
    for (const Series& s : g->series) {
      st.state_bytes += sizeof(Series) + s.alerts.size() * sizeof(AlertState);
      for (const auto& m : s.states) {
        if (m) st.state_bytes += m->memory_bytes();
      }
    }
  }
  st.alerts_raised = raised_;
  st.alerts_cleared = cleared_;
  st.alerts_suppressed = suppressed_;
  return st;
}

namespace {


Value alert_value(const AlertState& a) {
  Value v = Value::array();
  for (int64_t x : {int64_t{a.active}, int64_t{a.published}, int64_t{a.refused},
                    static_cast<int64_t>(a.anomalous_run), static_cast<int64_t>(a.normal_run),
                    a.normal_since, a.raised_at, a.cleared_at}) {
    v.push_back(Value(x));
  }
  v.push_back(Value(a.raised_value));
  return v;
}

bool alert_from(const Value& v, AlertState& a) {
  if (!v.is_array() || v.size() != 9) return false;
  for (size_t i = 0; i < 9; ++i) {
    if (!v.at(i).is_number()) return false;
  }
  a.active = v.at(0).as_int() != 0;
  a.published = v.at(1).as_int() != 0;
  a.refused = v.at(2).as_int() != 0;
  a.anomalous_run = static_cast<uint32_t>(v.at(3).as_int());
  a.normal_run = static_cast<uint32_t>(v.at(4).as_int());
  a.normal_since = v.at(5).as_int();
  a.raised_at = v.at(6).as_int();
  a.cleared_at = v.at(7).as_int();
  a.raised_value = v.at(8).as_double();
  return true;
}

}  // namespace

void DetectStage::save(StateWriter& out, SaveMode mode) {
  Value stage = Value::object();
  stage.set("kind", Value("$detect"));
  stage.set("groups", Value(static_cast<int64_t>(groups_.size())));
  stage.set("raised", Value(static_cast<int64_t>(raised_)));
  stage.set("cleared", Value(static_cast<int64_t>(cleared_)));
  stage.set("suppressed", Value(static_cast<int64_t>(suppressed_)));
  stage.set("tokens", Value(tokens_));
  stage.set("tokensAt", Value(tokens_at_));
  out.put(kStageKey, stage);
  if (mode == SaveMode::kAll) {
    for (const auto& [gkey, g] : groups_) save_group(out, *g);
  } else {
    for (const Group* g : dirty_) save_group(out, *g);
  }
  for (Group* g : dirty_) g->dirty = false;
  dirty_.clear();
}

void DetectStage::save_group(StateWriter& out, const Group& g) const {
  std::string key;
  for (const Series& s : g.series) {
    key = g.key + "|" + options_.fields[s.field].first;
    Value v = Value::object();
    v.set("group", Value(g.key));
    v.set("fields", g.fields);
    v.set("field", Value(options_.fields[s.field].first));
    Value methods = Value::array();
    Value alerts = Value::array();
    for (size_t m = 0; m < options_.methods.size(); ++m) {
      methods.push_back(s.states[m] ? s.states[m]->save() : Value());
      alerts.push_back(alert_value(s.alerts[m]));
    }
    v.set("methods", std::move(methods));
    v.set("alerts", std::move(alerts));
    v.set("last", Value(s.last_value));
    v.set("seen", Value(s.last_seen));
    v.set("event", Value(s.last_event));
    v.set("timer", Value(s.in_timer));
    out.put(key, v);
  }
}

void DetectStage::load(StateReader& in) {
  std::vector<std::pair<TimeMs, Series*>> timed;
  in.for_each([&](std::string_view key, const Value& v) {
    if (key == kStageKey) {
      if (const Value* x = v.find("raised")) raised_ = static_cast<uint64_t>(x->as_int());
      if (const Value* x = v.find("cleared")) cleared_ = static_cast<uint64_t>(x->as_int());
      if (const Value* x = v.find("suppressed")) suppressed_ = static_cast<uint64_t>(x->as_int());
      if (const Value* x = v.find("tokens")) tokens_ = x->as_double();
      if (const Value* x = v.find("tokensAt")) tokens_at_ = x->as_int();
      return;
    }
    const Value* gkey = v.find("group");
    const Value* fields = v.find("fields");
    const Value* field = v.find("field");
    const Value* methods = v.find("methods");
    const Value* alerts = v.find("alerts");
    if (gkey == nullptr || !gkey->is_string() || fields == nullptr || !fields->is_object() ||
        field == nullptr || methods == nullptr || alerts == nullptr ||
        methods->size() != options_.methods.size() || alerts->size() != options_.methods.size()) {
      return;  // not this config's: the series starts fresh when it is next seen
    }
    size_t f = 0;
    while (f < options_.fields.size() && options_.fields[f].first != field->as_string()) ++f;
    if (f == options_.fields.size()) return;
    auto git = groups_.find(gkey->as_string());
    if (git == groups_.end()) {
      if (groups_.size() >= options_.max_groups) return;
      group_for(std::string(gkey->as_string()), Value(*fields));
      git = groups_.find(gkey->as_string());
    }
    Series& s = git->second->series[f];
    for (size_t m = 0; m < options_.methods.size(); ++m) {
      if (s.states[m] && !s.states[m]->load(methods->at(m))) {
        s.states[m] = make_method_state(options_.methods[m]);
      }
      if (!alert_from(alerts->at(m), s.alerts[m])) s.alerts[m] = AlertState{};
    }
    if (const Value* x = v.find("last")) s.last_value = x->as_double();
    if (const Value* x = v.find("seen")) s.last_seen = x->as_int();
    if (const Value* x = v.find("event")) s.last_event = x->as_int();
    const Value* timer = v.find("timer");
    if (missing_method_ && timer != nullptr && timer->as_bool()) timed.emplace_back(s.last_seen, &s);
  });
  // The dead-man timer again, oldest reading first.
  std::stable_sort(timed.begin(), timed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [seen, s] : timed) {
    if (s->in_timer) timer_.erase(s->timer_pos);
    s->timer_pos = timer_.insert(timer_.end(), s);
    s->in_timer = true;
  }
}

}  // namespace weir::pipeline::detect
