// What the window stages' checkpoint entries are made of: exact encodings of doubles, times
// and whole values that survive the store's JSON text, and the deterministic ids of outputs.
//
// The store keeps each entry as JSON text and reads it back with a JSON parser, which turns
// 3.0 into 3, writes infinities as null, sorts object members and refuses bytes that are
// not UTF-8. State must come back exactly (a restored stage continues bit for bit), so:
// - a double is a plain number when its text reads back as the same double, else its bits
//   as an integer (infinities, NaN, -0, integral values such as 3.0);
// - a value (an _id, a $first, a $push entry) is itself when it is null, a boolean, an
//   integer or a UTF-8 string; an array is an array of encoded values; everything else is
//   an object with one member: {"d": bits} a double that would not read back, {"o": [key,
//   value, key, value, ...]} an object (member order kept), {"b": "hex"} a string (or an
//   object key) that is not UTF-8. Plain doubles stay plain.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/fnv.hpp"
#include "weir/time.hpp"
#include "weir/value.hpp"

namespace weir::pipeline {

Value save_double(double d);
bool load_double(const Value& saved, double& out) noexcept;

Value save_value(const Value& v);
// False (out unspecified) for anything save_value cannot have written.
bool load_value(const Value& saved, Value& out);

// An integer time within [kMinTime, kMaxTime] (the windows' arithmetic stays in range).
bool load_time(const Value& saved, TimeMs& out) noexcept;
// An integer within [lo, hi].
bool load_int(const Value& saved, int64_t lo, int64_t hi, int64_t& out) noexcept;

// A watermark clock as [maxEventTime, watermark, lastInput].
struct WindowClock;
Value save_clock(const WindowClock& c);
bool load_clock(const Value& saved, WindowClock& out) noexcept;

using core::fnv1a;
using core::hex16;
using core::kFnvOffset;

// The id of one output, `_stream_meta.outputId`: FNV-1a over the pipeline's name, the
// JSON text of the group's _id, the partition key's JSON text (sessions; empty for
// tumbling and hopping windows), the window's start and end (epoch ms, decimal) and the
// revision (0 without late "update"), each field followed by the byte 0xff. The same
// window of the same group gets the same id in every run, restarts included.
std::string output_id(std::string_view pipeline, std::string_view id_json,
                      std::string_view partition, TimeMs start, TimeMs end, int64_t revision);

}  // namespace weir::pipeline
