// Payload decoders on realistic payloads: one MQTT message in, its readings out.
// Reports bytes/s of payload and items/s, where an item is one decoded reading.
#include <benchmark/benchmark.h>
#include <cbor.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "codec/codec_registry.hpp"

namespace {

using namespace weir;

// Processing time handed to the decoders (SenML resolves relative times against it).
constexpr TimeMs kNow = 1767225600000;

std::string small_json() { return R"({"ts":1767225600000,"temp":21.37,"hum":48.5,"seq":12345})"; }

// A richer reading: 20 top-level fields, two nested objects and an empty array.
std::string large_json() {
  return R"({"ts":1767225600000,"device":"gw-07/dev-0042","seq":12345,"fw":"2.4.1",)"
         R"("temp":21.37,"hum":48.5,"pressure":1013.25,"co2":612,"voc":0.82,"pm25":7.4,)"
         R"("pm10":11.9,"lux":312.5,"noise":41.2,)"
         R"("battery":{"level":87,"voltage":3.71,"charging":false},"rssi":-67,"snr":9.5,)"
         R"("uptime":864213,"status":"ok","alarms":[],)"
         R"("location":{"lat":52.5163,"lon":13.3777,"floor":3}})";
}

// SenML JSON: a base name and base time in the first record, then name/value pairs.
// records=2: temperature and humidity now; records=10: five of each, one second apart.
std::string senml_json(int records) {
  std::string out = R"([{"bn":"urn:dev:mac:0024befffe804ff1:","bt":1767225600,)";
  for (int i = 0; i < records; ++i) {
    if (i > 0) out += ",{";
    const bool temp = i % 2 == 0;
    static constexpr std::string_view kTemps[] = {"21.37", "21.38", "21.4", "21.41", "21.43"};
    static constexpr std::string_view kHums[] = {"48.5", "48.6", "48.4", "48.7", "48.9"};
    out += temp ? R"("n":"temp","u":"Cel","v":)" : R"("n":"hum","u":"%RH","v":)";
    out += temp ? kTemps[(i / 2) % 5] : kHums[(i / 2) % 5];
    if (i >= 2) out += ",\"t\":" + std::to_string(i / 2);
    out += "}";
  }
  out += "]";
  return out;
}

// Encodes one libcbor item (and releases it).
std::string serialize(cbor_item_t* item) {
  unsigned char* buffer = nullptr;
  size_t buffer_size = 0;
  const size_t length = cbor_serialize_alloc(item, &buffer, &buffer_size);
  std::string out(reinterpret_cast<const char*>(buffer), length);
  std::free(buffer);  // allocated by libcbor with malloc
  cbor_decref(&item);
  return out;
}

void map_add(cbor_item_t* map, cbor_item_t* key, cbor_item_t* value) {
  cbor_map_add(map, cbor_pair{cbor_move(key), cbor_move(value)});
}

// The small JSON reading as CBOR, each number in the shortest exact form a device's
// encoder would pick (uint64 time, uint16 seq, double 21.37, half 48.5).
std::string small_cbor() {
  cbor_item_t* map = cbor_new_definite_map(4);
  map_add(map, cbor_build_string("ts"), cbor_build_uint64(1767225600000));
  map_add(map, cbor_build_string("temp"), cbor_build_float8(21.37));
  map_add(map, cbor_build_string("hum"), cbor_build_float2(48.5f));
  map_add(map, cbor_build_string("seq"), cbor_build_uint16(12345));
  return serialize(map);
}

// SenML CBOR label (RFC 8428 Table 4): bn -2, bt -3, n 0, u 1, v 2, t 6.
cbor_item_t* label(int l) {
  return l >= 0 ? cbor_build_uint8(static_cast<uint8_t>(l))
                : cbor_build_negint8(static_cast<uint8_t>(-1 - l));
}

// The same pack as senml_json(records), in SenML CBOR.
std::string senml_cbor(int records) {
  cbor_item_t* pack = cbor_new_definite_array(static_cast<size_t>(records));
  for (int i = 0; i < records; ++i) {
    const bool temp = i % 2 == 0;
    const size_t fields = 3 + (i == 0 ? 2 : 0) + (i >= 2 ? 1 : 0);
    cbor_item_t* rec = cbor_new_definite_map(fields);
    if (i == 0) {
      map_add(rec, label(-2), cbor_build_string("urn:dev:mac:0024befffe804ff1:"));
      map_add(rec, label(-3), cbor_build_uint32(1767225600));
    }
    map_add(rec, label(0), cbor_build_string(temp ? "temp" : "hum"));
    map_add(rec, label(1), cbor_build_string(temp ? "Cel" : "%RH"));
    static constexpr double kTemps[] = {21.37, 21.38, 21.4, 21.41, 21.43};
    static constexpr double kHums[] = {48.5, 48.6, 48.4, 48.7, 48.9};
    map_add(rec, label(2), cbor_build_float8(temp ? kTemps[(i / 2) % 5] : kHums[(i / 2) % 5]));
    if (i >= 2) map_add(rec, label(6), cbor_build_uint8(static_cast<uint8_t>(i / 2)));
    cbor_array_push(pack, cbor_move(rec));
  }
  return serialize(pack);
}

std::string small_senml_json() { return senml_json(2); }
std::string large_senml_json() { return senml_json(10); }
std::string small_senml_cbor() { return senml_cbor(2); }
std::string large_senml_cbor() { return senml_cbor(10); }
std::string text_number() { return "21.37"; }

// Decodes payload() with the named codec. The payload is built (and checked to decode)
// before the timed loop; the loop only clears the output vector, whose capacity stays.
void BM_Decode(benchmark::State& state, std::string_view format, std::string (*payload)()) {
  const std::string bytes = payload();
  auto codec = codec::make_codec(format, CodecOptions{});
  std::vector<Value> out;
  std::string error;
  if (codec == nullptr ||
      codec->decode(bytes, DecodeContext{kNow}, out, error) != DecodeResult::kOk) {
    state.SkipWithError(("setup: payload does not decode: " + error).c_str());
    return;
  }
  const auto readings = static_cast<int64_t>(out.size());
  for (auto _ : state) {
    out.clear();
    DecodeResult result = codec->decode(bytes, DecodeContext{kNow}, out, error);
    benchmark::DoNotOptimize(result);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
  state.SetItemsProcessed(state.iterations() * readings);
  state.counters["payload_bytes"] = static_cast<double>(bytes.size());
  state.counters["readings"] = static_cast<double>(readings);
}
BENCHMARK_CAPTURE(BM_Decode, json_small, "json", &small_json);
BENCHMARK_CAPTURE(BM_Decode, json_large_20_fields, "json", &large_json);
BENCHMARK_CAPTURE(BM_Decode, cbor_small, "cbor", &small_cbor);
BENCHMARK_CAPTURE(BM_Decode, senml_json_2_records, "senml", &small_senml_json);
BENCHMARK_CAPTURE(BM_Decode, senml_json_10_records, "senml", &large_senml_json);
BENCHMARK_CAPTURE(BM_Decode, senml_cbor_2_records, "senml-cbor", &small_senml_cbor);
BENCHMARK_CAPTURE(BM_Decode, senml_cbor_10_records, "senml-cbor", &large_senml_cbor);
BENCHMARK_CAPTURE(BM_Decode, text, "text", &text_number);

}  // namespace
