#include "codec/cbor/cbor_codec.hpp"

#include <cbor.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <utility>

#include "core/base64.hpp"

namespace weir::codec {

namespace {

constexpr uint64_t kMaxInt64 = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
// Declared lengths are only hints: at most this many items are reserved up front.
constexpr size_t kMaxReserve = 1024;

// The length of a string, array or map written with a 64-bit length (additional info 27)
// when it does not fit in size_t; 0 otherwise (always 0 where size_t has 64 bits).
uint64_t length_beyond_size_t(const uint8_t* p, size_t n) {
  if (n < 9) return 0;
  const uint8_t major = p[0] >> 5;
  if ((p[0] & 0x1f) != 27 || major < 2 || major > 5) return 0;
  uint64_t len = 0;
  for (size_t i = 1; i < 9; ++i) len = (len << 8) | p[i];
  constexpr uint64_t kSizeMax = std::numeric_limits<size_t>::max();
  return len > kSizeMax ? len : 0;
}

std::string decimal(uint64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

std::string_view as_chars(cbor_data data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

std::string hex_byte(unsigned char b) {
  static constexpr char kHex[] = "0123456789abcdef";
  return {'0', 'x', kHex[b >> 4], kHex[b & 0xF]};
}

}  // namespace

// Builds one Value from the stream of items libcbor reports, one item head per call of
// cbor_stream_decode. Containers and indefinite-length strings being built sit on an
// explicit stack (closing nested containers recurses at most kMaxDepth deep).
class CborCodec::Builder {
 public:
  void reset() {
    stack_.clear();
    depth_ = 0;
    root_ = Value();
    done_ = false;
    failed_ = false;
    pending_tag_ = false;
    reason_.clear();
  }
  // Bytes from the first byte of the next item to the end of the payload.
  void set_bytes_left(size_t left) noexcept { left_ = left; }
  bool done() const noexcept { return done_; }
  bool failed() const noexcept { return failed_; }
  const std::string& reason() const noexcept { return reason_; }
  Value take_root() { return std::move(root_); }

  static const cbor_callbacks& callbacks();
  // An array or map head whose 64-bit length libcbor cannot pass on (see parse()).
  void wide_array_start(uint64_t items) { on_array_start(items); }
  void wide_map_start(uint64_t pairs) { on_map_start(pairs); }

 private:
  enum class Kind : uint8_t { kArray, kMap, kTextChunks, kByteChunks };
  struct Frame {
    Kind kind = Kind::kArray;
    bool indefinite = false;
    bool have_key = false;   // maps: a key was read, its value is next
    uint64_t remaining = 0;  // definite containers: items still to come (keys count too)
    Value container;         // arrays and maps
    std::string text;        // maps: the pending key; strings: the chunks so far
  };

  static Builder& self(void* ctx) noexcept { return *static_cast<Builder*>(ctx); }

  void fail(std::string reason) {
    if (failed_) return;
    failed_ = true;
    reason_ = std::move(reason);
  }
  bool in_string_chunks() const noexcept {
    return !stack_.empty() &&
           (stack_.back().kind == Kind::kTextChunks || stack_.back().kind == Kind::kByteChunks);
  }
  bool expecting_key() const noexcept {
    return !stack_.empty() && stack_.back().kind == Kind::kMap && !stack_.back().have_key;
  }
  // Common checks before any item; false when the item must not be placed.
  bool admit(std::string_view what) {
    if (failed_ || done_) return false;
    if (in_string_chunks()) {
      fail(std::string(what) + " inside an indefinite-length string");
      return false;
    }
    return true;
  }
  bool admit_value(std::string_view what) {
    if (!admit(what)) return false;
    if (expecting_key()) {
      fail("map key must be a text string or an integer, got " + std::string(what));
      return false;
    }
    return true;
  }

  // A finished item: becomes the root, an array element, or the value of a map entry.
  void emit(Value v) {
    pending_tag_ = false;
    if (stack_.empty()) {
      root_ = std::move(v);
      done_ = true;
      return;
    }
    Frame& top = stack_.back();
    if (top.kind == Kind::kMap) {
      if (top.indefinite && top.container.size() >= kMaxMembers) return too_many_entries();
      top.container.set(top.text, std::move(v));
      top.have_key = false;
    } else {
      top.container.push_back(std::move(v));
    }
    count_item();
  }
  void set_key(std::string key) {
    pending_tag_ = false;
    Frame& top = stack_.back();
    top.text = std::move(key);
    top.have_key = true;
    count_item();
  }
  // Closes a definite container once its last item is in.
  void count_item() {
    Frame& top = stack_.back();
    if (top.indefinite || --top.remaining > 0) return;
    close_container();
  }
  void close_container() {
    Value done = std::move(stack_.back().container);
    stack_.pop_back();
    --depth_;
    emit(std::move(done));
  }
  void too_many_entries() {
    fail("map with more than " + std::to_string(kMaxMembers) + " entries");
  }
  bool open_container(std::string_view what) {
    if (!admit_value(what)) return false;
    if (depth_ >= kMaxDepth) {
      fail("arrays and maps nested deeper than " + std::to_string(kMaxDepth) + " levels");
      return false;
    }
    return true;
  }
  void push_container(Kind kind, bool indefinite, uint64_t items, size_t reserve) {
    Frame frame;
    frame.kind = kind;
    frame.indefinite = indefinite;
    frame.remaining = items;
    frame.container = kind == Kind::kMap ? Value::object() : Value::array();
    frame.container.reserve(reserve);
    stack_.push_back(std::move(frame));
    ++depth_;
    pending_tag_ = false;  // the tag, if any, was this container's
  }

  void on_uint(uint64_t v) {
    if (!admit("integer")) return;
    if (expecting_key()) return set_key(decimal(v));
    emit(v <= kMaxInt64 ? Value(static_cast<int64_t>(v)) : Value(static_cast<double>(v)));
  }
  // CBOR major type 1 holds n for the value -1 - n.
  void on_negint(uint64_t n) {
    if (!admit("integer")) return;
    if (expecting_key()) {
      return set_key(n == std::numeric_limits<uint64_t>::max() ? "-18446744073709551616"
                                                               : "-" + decimal(n + 1));
    }
    emit(n <= kMaxInt64 ? Value(-1 - static_cast<int64_t>(n))
                        : Value(-1.0 - static_cast<double>(n)));
  }
  void on_text(std::string_view s) {
    if (failed_ || done_) return;
    const bool chunk = !stack_.empty() && stack_.back().kind == Kind::kTextChunks;
    if (!chunk && !admit("text string")) return;
    if (!core::is_valid_utf8(s)) return fail("text string is not valid UTF-8");
    if (chunk) {
      stack_.back().text.append(s);
      return;
    }
    if (expecting_key()) return set_key(std::string(s));
    emit(Value(s));
  }
  void on_bytes(std::string_view b) {
    if (failed_ || done_) return;
    if (!stack_.empty() && stack_.back().kind == Kind::kByteChunks) {
      stack_.back().text.append(b);
      return;
    }
    if (!admit_value("byte string")) return;
    emit(Value(core::base64_encode(b)));
  }
  void on_string_start(Kind kind) {
    if (kind == Kind::kTextChunks ? !admit("indefinite-length text string")
                                  : !admit_value("byte string")) {
      return;
    }
    Frame frame;
    frame.kind = kind;
    frame.indefinite = true;
    stack_.push_back(std::move(frame));
    pending_tag_ = false;
  }
  void on_array_start(uint64_t items) {
    if (!open_container("array")) return;
    // Each item takes at least one byte: a longer declared length cannot be honest.
    const size_t room = left_ - 1;
    if (items > room) {
      return fail("array declares " + decimal(items) + " items but only " + decimal(room) +
                  " bytes follow");
    }
    if (items == 0) return emit(Value::array());
    push_container(Kind::kArray, false, items, static_cast<size_t>(std::min<uint64_t>(items, kMaxReserve)));
  }
  void on_map_start(uint64_t pairs) {
    if (!open_container("map")) return;
    const size_t room = left_ - 1;
    if (pairs > room / 2) {
      return fail("map declares " + decimal(pairs) + " entries but only " + decimal(room) +
                  " bytes follow");
    }
    if (pairs > kMaxMembers) return too_many_entries();
    if (pairs == 0) return emit(Value::object());
    push_container(Kind::kMap, false, pairs * 2, static_cast<size_t>(pairs));
  }
  void on_indefinite_start(Kind kind) {
    if (!open_container(kind == Kind::kMap ? "map" : "array")) return;
    push_container(kind, true, 0, 0);
  }
  void on_tag() {
    if (failed_ || done_) return;
    if (in_string_chunks()) return fail("tag inside an indefinite-length string");
    pending_tag_ = true;  // tags are dropped; the tagged item is kept as it is
  }
  void on_break() {
    if (failed_ || done_) return;
    if (pending_tag_) return fail("break right after a tag");
    if (stack_.empty() || !stack_.back().indefinite) {
      return fail("break outside an indefinite-length item");
    }
    Frame& top = stack_.back();
    switch (top.kind) {
      case Kind::kArray:
        return close_container();
      case Kind::kMap:
        if (top.have_key) return fail("indefinite-length map ends with a key but no value");
        return close_container();
      case Kind::kTextChunks: {
        std::string s = std::move(top.text);
        stack_.pop_back();
        if (expecting_key()) return set_key(std::move(s));
        return emit(Value(std::move(s)));
      }
      case Kind::kByteChunks: {
        std::string s = std::move(top.text);
        stack_.pop_back();
        return emit(Value(core::base64_encode(s)));
      }
    }
  }

  std::vector<Frame> stack_;
  size_t depth_ = 0;  // arrays and maps on the stack
  size_t left_ = 0;
  Value root_;
  bool done_ = false;
  bool failed_ = false;
  bool pending_tag_ = false;
  std::string reason_;
};

const cbor_callbacks& CborCodec::Builder::callbacks() {
  static const cbor_callbacks kCallbacks = [] {
    cbor_callbacks cb = cbor_empty_callbacks;
    cb.uint8 = [](void* ctx, uint8_t v) noexcept { self(ctx).on_uint(v); };
    cb.uint16 = [](void* ctx, uint16_t v) noexcept { self(ctx).on_uint(v); };
    cb.uint32 = [](void* ctx, uint32_t v) noexcept { self(ctx).on_uint(v); };
    cb.uint64 = [](void* ctx, uint64_t v) noexcept { self(ctx).on_uint(v); };
    cb.negint8 = [](void* ctx, uint8_t v) noexcept { self(ctx).on_negint(v); };
    cb.negint16 = [](void* ctx, uint16_t v) noexcept { self(ctx).on_negint(v); };
    cb.negint32 = [](void* ctx, uint32_t v) noexcept { self(ctx).on_negint(v); };
    cb.negint64 = [](void* ctx, uint64_t v) noexcept { self(ctx).on_negint(v); };
    // libcbor: byte_string/string get a definite string (or one chunk), the *_start
    // callbacks open an indefinite-length one.
    cb.byte_string = [](void* ctx, cbor_data data, size_t size) noexcept {
      self(ctx).on_bytes(as_chars(data, size));
    };
    cb.byte_string_start = [](void* ctx) noexcept { self(ctx).on_string_start(Kind::kByteChunks); };
    cb.string = [](void* ctx, cbor_data data, size_t size) noexcept {
      self(ctx).on_text(as_chars(data, size));
    };
    cb.string_start = [](void* ctx) noexcept { self(ctx).on_string_start(Kind::kTextChunks); };
    cb.array_start = [](void* ctx, size_t size) noexcept { self(ctx).on_array_start(size); };
    cb.indef_array_start = [](void* ctx) noexcept { self(ctx).on_indefinite_start(Kind::kArray); };
    cb.map_start = [](void* ctx, size_t size) noexcept { self(ctx).on_map_start(size); };
    cb.indef_map_start = [](void* ctx) noexcept { self(ctx).on_indefinite_start(Kind::kMap); };
    cb.tag = [](void* ctx, uint64_t /*tag*/) noexcept { self(ctx).on_tag(); };
    cb.float2 = [](void* ctx, float v) noexcept {
      if (self(ctx).admit_value("floating-point number")) self(ctx).emit(Value(double{v}));
    };
    cb.float4 = [](void* ctx, float v) noexcept {
      if (self(ctx).admit_value("floating-point number")) self(ctx).emit(Value(double{v}));
    };
    cb.float8 = [](void* ctx, double v) noexcept {
      if (self(ctx).admit_value("floating-point number")) self(ctx).emit(Value(v));
    };
    cb.boolean = [](void* ctx, bool v) noexcept {
      if (self(ctx).admit_value("boolean")) self(ctx).emit(Value(v));
    };
    cb.null = [](void* ctx) noexcept {
      if (self(ctx).admit_value("null")) self(ctx).emit(Value());
    };
    cb.undefined = [](void* ctx) noexcept {
      if (self(ctx).admit_value("undefined")) self(ctx).emit(Value());
    };
    cb.indef_break = [](void* ctx) noexcept { self(ctx).on_break(); };
    return cb;
  }();
  return kCallbacks;
}

CborCodec::CborCodec() : builder_(std::make_unique<Builder>()) {}
CborCodec::~CborCodec() = default;

DecodeResult CborCodec::parse(std::string_view payload, Value& out, std::string& error) {
  if (payload.empty()) {
    error = "empty CBOR payload";
    return DecodeResult::kMalformed;
  }
  Builder& builder = *builder_;
  builder.reset();
  const auto* data = reinterpret_cast<cbor_data>(payload.data());
  const size_t size = payload.size();
  size_t offset = 0;
  while (!builder.done()) {
    if (offset == size) {
      error = "truncated CBOR: the payload ends after " + std::to_string(size) +
              " bytes, inside an unfinished item";
      return DecodeResult::kMalformed;
    }
    builder.set_bytes_left(size - offset);
    // libcbor hands a 64-bit length (initial bytes 0x5b, 0x7b, 0x9b, 0xbb) over as size_t:
    // on a 32-bit target it would cut 2^32 + 1 to 1 and decode a different item. No payload
    // can hold such a length, so it is judged here, as a 64-bit target judges it.
    if (const uint64_t wide = length_beyond_size_t(data + offset, size - offset); wide != 0) {
      const uint8_t major = data[offset] >> 5;
      if (major == 4) {
        builder.wide_array_start(wide);
      } else if (major == 5) {
        builder.wide_map_start(wide);
      } else {
        error = "truncated CBOR at byte " + std::to_string(offset) +
                ": the item runs past the end of the payload";
        return DecodeResult::kMalformed;
      }
      error = "invalid CBOR at byte " + std::to_string(offset) + ": " +
              (builder.failed() ? builder.reason() : "a length of " + decimal(wide) + " cannot be honest");
      return DecodeResult::kMalformed;
    }
    const cbor_decoder_result res =
        cbor_stream_decode(data + offset, size - offset, &Builder::callbacks(), &builder);
    if (res.status == CBOR_DECODER_NEDATA) {
      error = "truncated CBOR at byte " + std::to_string(offset) +
              ": the item runs past the end of the payload";
      return DecodeResult::kMalformed;
    }
    if (res.status == CBOR_DECODER_ERROR) {
      error = "invalid CBOR at byte " + std::to_string(offset) +
              ": reserved or unsupported initial byte " + hex_byte(data[offset]);
      return DecodeResult::kMalformed;
    }
    if (builder.failed()) {
      error = "invalid CBOR at byte " + std::to_string(offset) + ": " + builder.reason();
      return DecodeResult::kMalformed;
    }
    offset += res.read;
  }
  if (offset != size) {
    error = "invalid CBOR at byte " + std::to_string(offset) + ": " +
            std::to_string(size - offset) + " trailing bytes after the data item";
    return DecodeResult::kMalformed;
  }
  out = builder.take_root();
  return DecodeResult::kOk;
}

namespace {
std::string_view cbor_type_name(const Value& v) noexcept {
  switch (v.type()) {
    case Value::Type::kObject:
      return "map";
    case Value::Type::kDouble:
      return "floating-point number";
    default:
      return v.type_name();
  }
}
}  // namespace

DecodeResult CborCodec::decode(std::string_view payload, const DecodeContext& /*ctx*/,
                               std::vector<Value>& out, std::string& error) {
  Value root;
  if (parse(payload, root, error) != DecodeResult::kOk) return DecodeResult::kMalformed;
  if (root.is_object()) {
    out.push_back(std::move(root));
    return DecodeResult::kOk;
  }
  if (!root.is_array()) {
    error = "expected a CBOR map or an array of maps, got ";
    error += cbor_type_name(root);
    return DecodeResult::kMalformed;
  }
  for (size_t i = 0; i < root.size(); ++i) {
    if (!root.at(i).is_object()) {
      error = "expected a CBOR map or an array of maps, got an array with ";
      error += cbor_type_name(root.at(i));
      error += " at index ";
      error += std::to_string(i);
      return DecodeResult::kMalformed;
    }
  }
  for (size_t i = 0; i < root.size(); ++i) out.push_back(std::move(root.at(i)));
  return DecodeResult::kOk;
}

}  // namespace weir::codec
