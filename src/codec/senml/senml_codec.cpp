#include "codec/senml/senml_codec.hpp"

#include <array>
#include <cmath>
#include <cstddef>
#include <utility>

#include "core/base64.hpp"

namespace weir::codec {

namespace {

enum class Label : uint8_t {
  kBver,
  kBn,
  kBt,
  kBu,
  kBv,
  kBs,
  kN,
  kU,
  kV,
  kVs,
  kVb,
  kS,
  kT,
  kUt,
  kVd
};
constexpr size_t kLabelCount = 15;
enum class Expect : uint8_t { kString, kNumber, kBool };

struct LabelInfo {
  std::string_view json;  // SenML JSON label
  std::string_view cbor;  // SenML CBOR integer label, as CborCodec spells integer keys
  Expect expect;
};

// RFC 8428 Table 4 (CBOR labels) and section 4.
constexpr std::array<LabelInfo, kLabelCount> kLabels = {{
    {"bver", "-1", Expect::kNumber},
    {"bn", "-2", Expect::kString},
    {"bt", "-3", Expect::kNumber},
    {"bu", "-4", Expect::kString},
    {"bv", "-5", Expect::kNumber},
    {"bs", "-6", Expect::kNumber},
    {"n", "0", Expect::kString},
    {"u", "1", Expect::kString},
    {"v", "2", Expect::kNumber},
    {"vs", "3", Expect::kString},
    {"vb", "4", Expect::kBool},
    {"s", "5", Expect::kNumber},
    {"t", "6", Expect::kNumber},
    {"ut", "7", Expect::kNumber},
    {"vd", "8", Expect::kString},
}};

constexpr size_t index_of(Label label) noexcept { return static_cast<size_t>(label); }

// Times below 2^28 seconds are relative to now (RFC 8428 section 4.5.3).
constexpr double kRelativeTimeLimit = 268435456.0;

// The base fields in force, pointing into the pack being resolved.
struct Base {
  const std::string* name = nullptr;
  const Value* time = nullptr;
  const std::string* unit = nullptr;
  const Value* value = nullptr;
  const Value* sum = nullptr;
};

class RecordResolver {
 public:
  RecordResolver(SenmlCodec::Encoding encoding, TimeMs now, std::string& error)
      : encoding_(encoding), now_(now), error_(error) {}

  // Resolves record number index into reading; false (with error_ set) when it is bad.
  bool resolve(const Value& record, size_t index, Value& reading) {
    index_ = index;
    if (!record.is_object()) return fail("expected an object, got " + type_of(record));
    if (!collect(record)) return false;

    const Value* bver = field(Label::kBver);
    if (bver != nullptr && bver->as_double() > static_cast<double>(SenmlCodec::kMaxVersion)) {
      return fail("unsupported SenML version bver=" + bver->to_json() + " (newest understood is " +
                  std::to_string(SenmlCodec::kMaxVersion) + ")");
    }
    // A base field replaces the one carried forward from earlier records.
    if (const Value* bn = field(Label::kBn)) base_.name = &bn->as_string();
    if (const Value* bt = field(Label::kBt)) base_.time = bt;
    if (const Value* bu = field(Label::kBu)) base_.unit = &bu->as_string();
    if (const Value* bv = field(Label::kBv)) base_.value = bv;
    if (const Value* bs = field(Label::kBs)) base_.sum = bs;

    reading = Value::object();
    reading.reserve(6);
    if (!add_name(reading)) return false;
    if (const Value* u = field(Label::kU)) {
      reading.set("unit", *u);
    } else if (base_.unit != nullptr) {
      reading.set("unit", *base_.unit);
    }
    if (!add_value(reading)) return false;
    if (const Value* s = field(Label::kS)) reading.set("sum", add(base_.sum, *s));
    if (!add_time(reading)) return false;
    if (const Value* ut = field(Label::kUt)) reading.set("updateTime", *ut);
    return true;
  }

 private:
  static std::string type_of(const Value& v) {
    if (!v.is_number()) return std::string(v.type_name());
    return std::isfinite(v.as_double()) ? "number" : "non-finite number";
  }

  bool fail(const std::string& problem) {
    error_ = "SenML record " + std::to_string(index_) + ": " + problem;
    return false;
  }

  const Value* field(Label label) const noexcept { return fields_[index_of(label)]; }

  // Finds the known labels of the record and checks their types.
  bool collect(const Value& record) {
    fields_.fill(nullptr);
    for (size_t i = 0; i < record.size(); ++i) {
      const std::string& key = record.key(i);
      size_t found = kLabelCount;
      for (size_t l = 0; l < kLabelCount; ++l) {
        const std::string_view name =
            encoding_ == SenmlCodec::Encoding::kJson ? kLabels[l].json : kLabels[l].cbor;
        if (key == name) {
          found = l;
          break;
        }
      }
      if (found == kLabelCount) {
        // Labels ending in '_' must be understood (RFC 8428 section 4.4); others are skipped.
        if (!key.empty() && key.back() == '_') {
          return fail("unsupported must-understand field \"" + key + "\"");
        }
        continue;
      }
      const Value& v = record.at(i);
      const LabelInfo& info = kLabels[found];
      bool ok = false;
      switch (info.expect) {
        case Expect::kString:
          ok = v.is_string();
          break;
        case Expect::kNumber:
          ok = v.is_number() && std::isfinite(v.as_double());
          break;
        case Expect::kBool:
          ok = v.is_bool();
          break;
      }
      if (!ok) {
        static constexpr std::string_view kExpected[] = {"a string", "a finite number",
                                                         "a boolean"};
        return fail("field \"" + std::string(info.json) + "\" must be " +
                    std::string(kExpected[static_cast<size_t>(info.expect)]) + ", got " +
                    type_of(v));
      }
      fields_[found] = &v;
    }
    return true;
  }

  static bool is_alnum(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  }

  // RFC 8428 section 4.5.1: A-Z a-z 0-9 - : . / _, starting with a letter or digit.
  bool add_name(Value& reading) {
    std::string name = base_.name != nullptr ? *base_.name : std::string();
    if (const Value* n = field(Label::kN)) name += n->as_string();
    if (name.empty()) return fail("empty name (bn + n)");
    if (!is_alnum(name.front())) {
      return fail("name \"" + name + "\" must start with a letter or a digit");
    }
    for (char c : name) {
      if (!is_alnum(c) && c != '-' && c != ':' && c != '.' && c != '/' && c != '_') {
        return fail("name \"" + name + "\" holds a character outside A-Z a-z 0-9 - : . / _");
      }
    }
    reading.set("name", std::move(name));
    return true;
  }

  static Value add(const Value* base, const Value& v) {
    if (base == nullptr) return v;
    int64_t sum = 0;
    if (base->is_int() && v.is_int() && !__builtin_add_overflow(base->as_int(), v.as_int(), &sum)) {
      return Value(sum);
    }
    return Value(base->as_double() + v.as_double());
  }

  bool add_value(Value& reading) {
    const Value* v = field(Label::kV);
    const Value* vs = field(Label::kVs);
    const Value* vb = field(Label::kVb);
    const Value* vd = field(Label::kVd);
    const int count = (v ? 1 : 0) + (vs ? 1 : 0) + (vb ? 1 : 0) + (vd ? 1 : 0);
    if (count > 1) return fail("more than one value (v, vs, vb, vd)");
    if (count == 0) {
      if (field(Label::kS) == nullptr) return fail("no value (v, vs, vb, vd or s)");
      return true;
    }
    if (v != nullptr) {
      reading.set("value", add(base_.value, *v));
    } else if (vs != nullptr) {
      reading.set("stringValue", *vs);
    } else if (vb != nullptr) {
      reading.set("boolValue", *vb);
    } else {
      // JSON packs carry base64url without padding, CBOR packs a byte string (which
      // CborCodec hands over as standard base64): both end up as standard base64.
      auto bytes = core::base64_decode(vd->as_string());
      if (!bytes) return fail("field \"vd\" is not valid base64");
      reading.set("dataValue", core::base64_encode(*bytes));
    }
    return true;
  }

  bool add_time(Value& reading) {
    double seconds = base_.time != nullptr ? base_.time->as_double() : 0.0;
    if (const Value* t = field(Label::kT)) seconds += t->as_double();
    const double ms = seconds * 1000.0;
    if (!(std::fabs(ms) <= static_cast<double>(kMaxTime))) return fail("time out of range");
    TimeMs time = std::llround(ms);
    if (seconds < kRelativeTimeLimit && __builtin_add_overflow(time, now_, &time)) {
      return fail("time out of range");
    }
    if (time < kMinTime || time > kMaxTime) return fail("time out of range");
    reading.set("time", Value(time));
    return true;
  }

  const SenmlCodec::Encoding encoding_;
  const TimeMs now_;
  std::string& error_;
  size_t index_ = 0;
  Base base_;
  std::array<const Value*, kLabelCount> fields_{};
};

}  // namespace

SenmlCodec::SenmlCodec(Encoding encoding) : encoding_(encoding) {
  if (encoding_ == Encoding::kJson) {
    json_ = std::make_unique<JsonCodec>();
  } else {
    cbor_ = std::make_unique<CborCodec>();
  }
}

SenmlCodec::~SenmlCodec() = default;

std::string_view SenmlCodec::name() const noexcept {
  return encoding_ == Encoding::kJson ? "senml" : "senml-cbor";
}

DecodeResult SenmlCodec::decode(std::string_view payload, const DecodeContext& ctx,
                                std::vector<Value>& out, std::string& error) {
  Value pack;
  const DecodeResult parsed = encoding_ == Encoding::kJson ? json_->parse(payload, pack, error)
                                                           : cbor_->parse(payload, pack, error);
  if (parsed != DecodeResult::kOk) return parsed;
  if (!pack.is_array()) {
    error = "expected a SenML pack (an array of records), got ";
    error += pack.is_number()
                 ? std::string_view("number")
                 : (pack.is_object() ? std::string_view("a single record") : pack.type_name());
    return DecodeResult::kMalformed;
  }
  if (pack.size() == 0) {
    error = "SenML pack is empty";
    return DecodeResult::kMalformed;
  }
  const size_t first = out.size();
  RecordResolver resolver(encoding_, ctx.now, error);
  for (size_t i = 0; i < pack.size(); ++i) {
    Value reading;
    if (!resolver.resolve(pack.at(i), i, reading)) {
      out.erase(out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
      return DecodeResult::kMalformed;
    }
    out.push_back(std::move(reading));
  }
  return DecodeResult::kOk;
}

}  // namespace weir::codec
