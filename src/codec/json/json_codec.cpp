#include "codec/json/json_codec.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace weir::codec {

namespace ondemand = simdjson::ondemand;
using simdjson::error_code;

struct JsonCodec::Parser {
  ondemand::parser parser;
  // The payload is copied here because simdjson reads up to SIMDJSON_PADDING bytes past
  // the end of its input. The buffer only ever grows, so steady traffic allocates nothing.
  std::unique_ptr<char[]> buffer;
  size_t capacity = 0;

  const char* load(std::string_view payload) {
    const size_t needed = payload.size() + simdjson::SIMDJSON_PADDING;
    if (needed > capacity) {
      const size_t grown = std::max(needed, capacity * 2);
      buffer = std::make_unique_for_overwrite<char[]>(grown);
      capacity = grown;
    }
    if (!payload.empty()) std::memcpy(buffer.get(), payload.data(), payload.size());
    std::memset(buffer.get() + payload.size(), 0, simdjson::SIMDJSON_PADDING);
    return buffer.get();
  }
};

namespace {

// JSON's own names for the type of a converted value.
std::string_view json_type_name(const Value& v) noexcept {
  switch (v.type()) {
    case Value::Type::kNull:
      return "null";
    case Value::Type::kBool:
      return "boolean";
    case Value::Type::kInt:
    case Value::Type::kDouble:
      return "number";
    case Value::Type::kString:
      return "string";
    case Value::Type::kArray:
      return "array";
    case Value::Type::kObject:
      return "object";
  }
  return "unknown";
}

// Room left in a decoded document for fields added after decoding.
constexpr size_t kTopLevelSlack = 4;

// Source is ondemand::value or ondemand::document (a scalar at the root).
template <typename Source>
error_code convert_number(Source& src, Value& out) {
  ondemand::number num;
  const error_code err = src.get_number().get(num);
  if (err == simdjson::SUCCESS) {
    switch (num.get_number_type()) {
      case ondemand::number_type::signed_integer:
        out = Value(num.get_int64());
        break;
      case ondemand::number_type::unsigned_integer:
        out = Value(static_cast<double>(num.get_uint64()));
        break;
      case ondemand::number_type::floating_point_number:
        out = Value(num.get_double());
        break;
    }
    return simdjson::SUCCESS;
  }
  if (err != simdjson::NUMBER_ERROR) return err;
  // Integers beyond uint64 do not fit ondemand::number; simdjson reads them as doubles.
  double d = 0;
  if (src.get_double().get(d) != simdjson::SUCCESS) return err;
  out = Value(d);
  return simdjson::SUCCESS;
}

template <typename Source>
error_code convert_scalar(Source& src, ondemand::json_type type, Value& out) {
  switch (type) {
    case ondemand::json_type::number:
      return convert_number(src, out);
    case ondemand::json_type::string: {
      std::string_view s;
      if (auto err = src.get_string().get(s)) return err;
      out = Value(s);
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::boolean: {
      bool b = false;
      if (auto err = src.get_bool().get(b)) return err;
      out = Value(b);
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::null: {
      bool is_null = false;
      if (auto err = src.is_null().get(is_null)) return err;
      if (!is_null) return simdjson::N_ATOM_ERROR;
      out = Value();
      return simdjson::SUCCESS;
    }
    case ondemand::json_type::object:
    case ondemand::json_type::array:
      break;
  }
  return simdjson::INCORRECT_TYPE;
}

// Converts a document into a Value. Errors are simdjson's codes; when one of weir's own
// limits stops the conversion the code is DEPTH_ERROR and limit() says which limit.
class Converter {
 public:
  // Sets container to whether the root is an object or array (those need a check for
  // trailing content afterwards; simdjson checks it for scalar roots itself).
  error_code convert_document(ondemand::document& doc, Value& out, bool& container) {
    ondemand::json_type type;
    if (auto err = doc.type().get(type)) return err;
    container = type == ondemand::json_type::object || type == ondemand::json_type::array;
    if (type == ondemand::json_type::object) {
      ondemand::object obj;
      if (auto err = doc.get_object().get(obj)) return err;
      return convert_object(obj, out, 0);
    }
    if (type == ondemand::json_type::array) {
      ondemand::array arr;
      if (auto err = doc.get_array().get(arr)) return err;
      return convert_array(arr, out, 0);
    }
    return convert_scalar(doc, type, out);
  }

  const std::string& limit() const noexcept { return limit_; }

 private:
  error_code hit_limit(std::string what) {
    limit_ = std::move(what);
    return simdjson::DEPTH_ERROR;
  }

  // depth: how many containers enclose this one.
  error_code convert_value(ondemand::value val, Value& out, size_t depth) {
    ondemand::json_type type;
    if (auto err = val.type().get(type)) return err;
    switch (type) {
      case ondemand::json_type::object: {
        if (depth >= JsonCodec::kMaxDepth) return nested_too_deep();
        ondemand::object obj;
        if (auto err = val.get_object().get(obj)) return err;
        return convert_object(obj, out, depth);
      }
      case ondemand::json_type::array: {
        if (depth >= JsonCodec::kMaxDepth) return nested_too_deep();
        ondemand::array arr;
        if (auto err = val.get_array().get(arr)) return err;
        return convert_array(arr, out, depth);
      }
      default:
        return convert_scalar(val, type, out);
    }
  }

  error_code nested_too_deep() {
    return hit_limit("objects and arrays nested deeper than " +
                     std::to_string(JsonCodec::kMaxDepth) + " levels");
  }

  // Containers are counted first (simdjson skips over them and rewinds) so that keys and
  // items are allocated once rather than grown field by field. With nesting capped at
  // kMaxDepth this costs at most kMaxDepth extra passes, in practice one.
  error_code convert_object(ondemand::object obj, Value& out, size_t depth) {
    size_t count = 0;
    if (auto err = obj.count_fields().get(count)) return err;
    if (count > JsonCodec::kMaxMembers) {
      return hit_limit("object with " + std::to_string(count) + " members (at most " +
                       std::to_string(JsonCodec::kMaxMembers) + ")");
    }
    out = Value::object();
    // The document itself gets room for the fields the engine and the stages add (topic
    // captures, $addFields) so they do not reallocate its keys and items.
    out.reserve(depth == 0 ? count + kTopLevelSlack : count);
    for (auto field : obj) {
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return err;
      ondemand::value child;
      if (auto err = field.value().get(child)) return err;
      // Converted in place; a repeated key keeps its first position and its last value.
      if (auto err = convert_value(child, out.set(key, Value()), depth + 1)) return err;
    }
    return simdjson::SUCCESS;
  }

  error_code convert_array(ondemand::array arr, Value& out, size_t depth) {
    size_t count = 0;
    if (auto err = arr.count_elements().get(count)) return err;
    out = Value::array();
    out.reserve(count);
    for (auto element : arr) {
      ondemand::value child;
      if (auto err = element.get(child)) return err;
      out.push_back(Value());
      if (auto err = convert_value(child, out.at(out.size() - 1), depth + 1)) return err;
    }
    return simdjson::SUCCESS;
  }

  std::string limit_;
};

// limit: set when the conversion stopped at one of weir's limits.
void describe_error(error_code err, const std::string* limit, ondemand::document* doc,
                    const char* begin, size_t size, std::string& error) {
  error = "invalid JSON";
  const char* at = nullptr;
  // simdjson reports the start of the document for errors it cannot place (a document
  // that ends early): a position is given only when it points past the start.
  if (doc != nullptr && doc->current_location().get(at) == simdjson::SUCCESS && at > begin &&
      at <= begin + size) {
    error += " at byte ";
    error += std::to_string(at - begin);
  }
  error += ": ";
  if (limit != nullptr && !limit->empty()) {
    error += *limit;
  } else {
    error += simdjson::error_message(err);
  }
}

}  // namespace

JsonCodec::JsonCodec() : parser_(std::make_unique<Parser>()) {}
JsonCodec::~JsonCodec() = default;

DecodeResult JsonCodec::parse(std::string_view payload, Value& out, std::string& error) {
  const char* data = parser_->load(payload);
  ondemand::document doc;
  error_code err = parser_->parser.iterate(data, payload.size(), parser_->capacity).get(doc);
  if (err) {
    describe_error(err, nullptr, nullptr, data, payload.size(), error);
    return DecodeResult::kMalformed;
  }
  Converter converter;
  bool container = false;
  err = converter.convert_document(doc, out, container);
  if (err) {
    describe_error(err, &converter.limit(), &doc, data, payload.size(), error);
    return DecodeResult::kMalformed;
  }
  const char* rest = nullptr;
  if (container && doc.current_location().get(rest) == simdjson::SUCCESS) {
    error = "invalid JSON at byte " + std::to_string(rest - data) +
            ": unexpected content after the end of the document";
    return DecodeResult::kMalformed;
  }
  return DecodeResult::kOk;
}

DecodeResult JsonCodec::decode(std::string_view payload, const DecodeContext& /*ctx*/,
                               std::vector<Value>& out, std::string& error) {
  Value root;
  if (parse(payload, root, error) != DecodeResult::kOk) return DecodeResult::kMalformed;
  if (root.is_object()) {
    out.push_back(std::move(root));
    return DecodeResult::kOk;
  }
  if (!root.is_array()) {
    error = "expected a JSON object or an array of objects, got ";
    error += json_type_name(root);
    return DecodeResult::kMalformed;
  }
  for (size_t i = 0; i < root.size(); ++i) {
    if (!root.at(i).is_object()) {
      error = "expected a JSON object or an array of objects, got an array with ";
      error += json_type_name(root.at(i));
      error += " at index ";
      error += std::to_string(i);
      return DecodeResult::kMalformed;
    }
  }
  for (size_t i = 0; i < root.size(); ++i) out.push_back(std::move(root.at(i)));
  return DecodeResult::kOk;
}

}  // namespace weir::codec
