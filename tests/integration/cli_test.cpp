// The weir command line: check (valid and broken configs), replay (exact, deterministic
// output), version and help.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "state/journal.hpp"
#include "state/sqlite/state_store.hpp"
#include "support/process.hpp"

namespace weir::test {
namespace {

using nlohmann::json;

json base_config() {
  return json::parse(R"({
    "connections": {"local": {"type": "mqtt", "host": "127.0.0.1", "port": 1883, "clientId": "weir-gw1"}},
    "pipelines": [{
      "name": "room-temps",
      "dlq": {"connectionName": "local", "topic": "weir/dlq/room-temps"},
      "pipeline": [
        {"$source": {"connectionName": "local", "topic": "sensors/+device/telemetry", "format": "json", "timeField": "ts"}},
        {"$match": {"temp": {"$gte": -40, "$lt": 125}}},
        {"$addFields": {"tempF": {"$add": [{"$multiply": ["$temp", 1.8]}, 32]}}},
        {"$tumblingWindow": {
          "interval": {"size": 10, "unit": "second"},
          "allowedLateness": {"size": 2, "unit": "second"},
          "idleTimeout": {"size": 30, "unit": "second"},
          "pipeline": [{"$group": {"_id": "$device", "n": {"$count": {}}, "avg": {"$avg": "$temp"},
                                   "min": {"$min": "$temp"}, "max": {"$max": "$temp"}, "sum": {"$sum": "$temp"},
                                   "first": {"$first": "$temp"}, "last": {"$last": "$temp"}}}]}},
        {"$emit": {"connectionName": "local", "topic": "agg/{_id}"}}
      ]
    }]
  })");
}

TEST(Cli, VersionAndHelp) {
  auto v = run_command({WEIR_EXE, "--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind("weir ", 0), 0u) << v.out;
  auto h = run_command({WEIR_EXE, "--help"});
  EXPECT_EQ(h.exit_code, 0);
  for (const char* cmd : {"run", "check", "replay"}) EXPECT_NE(h.out.find(cmd), std::string::npos) << h.out;
}

TEST(Cli, ShippedConfigIsValid) {
  setenv("WEIR_KAFKA_PASSWORD", "example", 1);  // examples/kafka.json reads its SASL password there
  for (const char* f : {"/config/weir.json", "/examples/kafka.json", "/examples/windows.json", "/examples/detect.json"}) {
    std::string file = std::string(WEIR_SOURCE_DIR) + f;
    auto r = run_command({WEIR_EXE, "check", "-c", file});
    EXPECT_EQ(r.exit_code, 0) << f << ": " << r.err;
    EXPECT_NE(r.out.find("OK"), std::string::npos) << f;
  }
}

struct BrokenConfig {
  const char* name;
  // Applies the breakage to a copy of the base config (or replaces the text when raw).
  std::function<void(json&)> breakage;
  std::string raw;
  std::string path;      // JSON pointer the message must name
  std::string expected;  // words the message must contain
};

TEST(Cli, CheckRejectsBrokenConfigsWithPathAndExpectation) {
  const std::vector<BrokenConfig> cases = {
      {"not json", nullptr, "{\"connections\": {,}", "", "invalid JSON at line 1, column"},
      {"size is a string", [](json& j) { j["pipelines"][0]["pipeline"][3]["$tumblingWindow"]["interval"]["size"] = "ten"; },
       "", "/pipelines/0/pipeline/3/$tumblingWindow/interval/size", "expected an integer from 1"},
      {"bad unit", [](json& j) { j["pipelines"][0]["pipeline"][3]["$tumblingWindow"]["interval"]["unit"] = "fortnight"; },
       "", "/pipelines/0/pipeline/3/$tumblingWindow/interval/unit", "expected one of \"ms\", \"second\""},
      {"unknown stage", [](json& j) { j["pipelines"][0]["pipeline"][1] = {{"$filter", json::object()}}; },
       "", "/pipelines/0/pipeline/1/$filter", "unknown stage \"$filter\""},
      {"unknown connection", [](json& j) { j["pipelines"][0]["pipeline"][0]["$source"]["connectionName"] = "cloud"; },
       "", "/pipelines/0/pipeline/0/$source/connectionName", "unknown connection \"cloud\", expected one of \"local\""},
      {"port out of range", [](json& j) { j["connections"]["local"]["port"] = 70000; },
       "", "/connections/local/port", "expected an integer from 1 to 65535"},
      {"no pipelines", [](json& j) { j.erase("pipelines"); }, "", "/pipelines", "missing required option \"pipelines\""},
      {"first stage not $source", [](json& j) { j["pipelines"][0]["pipeline"].erase(0); },
       "", "/pipelines/0/pipeline/0", "expected the first stage to be {\"$source\""},
      {"last stage not $emit", [](json& j) { j["pipelines"][0]["pipeline"].erase(4); },
       "", "/pipelines/0/pipeline/3", "expected the last stage to be {\"$emit\""},
      {"bad topic pattern", [](json& j) { j["pipelines"][0]["pipeline"][0]["$source"]["topic"] = "sensors/#/x"; },
       "", "/pipelines/0/pipeline/0/$source/topic", "must be the last level"},
      {"unknown accumulator", [](json& j) { j["pipelines"][0]["pipeline"][3]["$tumblingWindow"]["pipeline"][0]["$group"]["n"] = {{"$countAll", json::object()}}; },
       "", "/pipelines/0/pipeline/3/$tumblingWindow/pipeline/0/$group/n/$countAll", "unknown accumulator"},
      {"unknown option", [](json& j) { j["pipelines"][0]["pipeline"][3]["$tumblingWindow"]["size"] = 10; },
       "", "/pipelines/0/pipeline/3/$tumblingWindow/size", "unknown option \"size\" for $tumblingWindow"},
      {"duplicate pipeline name", [](json& j) { j["pipelines"].push_back(j["pipelines"][0]); },
       "", "/pipelines/1/name", "a pipeline name not used before"},
      {"bad format", [](json& j) { j["pipelines"][0]["pipeline"][0]["$source"]["format"] = "xml"; },
       "", "/pipelines/0/pipeline/0/$source/format", "expected one of \"json\", \"cbor\""},
      {"unclosed emit template", [](json& j) { j["pipelines"][0]["pipeline"][4]["$emit"]["topic"] = "agg/{_id"; },
       "", "/pipelines/0/pipeline/4/$emit/topic", "closed by"},
      {"missing interval", [](json& j) { j["pipelines"][0]["pipeline"][3]["$tumblingWindow"].erase("interval"); },
       "", "/pipelines/0/pipeline/3/$tumblingWindow/interval", "missing required option \"interval\""},
      {"wrong connection type", [](json& j) { j["connections"]["local"]["type"] = "amqp"; },
       "", "/connections/local/type", "expected one of \"mqtt\""},
  };
  ASSERT_GE(cases.size(), 10u);
  TempDir dir;
  for (const auto& c : cases) {
    std::string text = c.raw;
    if (c.breakage) {
      json j = base_config();
      c.breakage(j);
      text = j.dump(2);
    }
    dir.write("broken.json", text);
    auto r = run_command({WEIR_EXE, "check", "-c", dir.file("broken.json")});
    EXPECT_EQ(r.exit_code, 2) << c.name << ": " << r.err;
    EXPECT_NE(r.err.find(dir.file("broken.json")), std::string::npos) << c.name << ": " << r.err;
    if (!c.path.empty()) {
      EXPECT_NE(r.err.find(": " + c.path + ": "), std::string::npos) << c.name << ": " << r.err;
    }
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << c.name << ": " << r.err;
    // weir run refuses the same config with the same exit code, before connecting anywhere.
    if (c.breakage && std::string(c.name) == "size is a string") {
      auto run = run_command({WEIR_EXE, "run", "-c", dir.file("broken.json")});
      EXPECT_EQ(run.exit_code, 2) << run.err;
    }
  }
  auto missing = run_command({WEIR_EXE, "check", "-c", dir.file("does-not-exist.json")});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("cannot open config file"), std::string::npos) << missing.err;
}

// Replay: a 1-second window over hand-made readings; the expected output is written out
// by hand, and a second run must give the same bytes.
TEST(Cli, ReplayGivesExactDeterministicOutput) {
  TempDir dir;
  json cfg = json::parse(R"({
    "connections": {"local": {"type": "mqtt"}},
    "pipelines": [{
      "name": "p", "dlq": {"connectionName": "local", "topic": "dlq/p"},
      "pipeline": [
        {"$source": {"connectionName": "local", "topic": "s/+device/t", "timeField": "ts"}},
        {"$match": {"v": {"$gte": 0}}},
        {"$tumblingWindow": {"interval": {"size": 1, "unit": "second"},
          "pipeline": [{"$group": {"_id": "$device", "n": {"$count": {}}, "sum": {"$sum": "$v"},
                                   "avg": {"$avg": "$v"}, "last": {"$last": "$v"}}}]}},
        {"$emit": {"connectionName": "local", "topic": "agg/{_id}"}}
      ]}]})");
  dir.write("p.json", cfg.dump());
  dir.write("in.ndjson",
            R"({"topic":"s/a/t","payload":{"ts":1000,"v":1}})" "\n"
            R"({"topic":"s/b/t","payload":{"ts":1100,"v":5}})" "\n"
            R"({"topic":"s/a/t","payload":{"ts":1500,"v":2.5}})" "\n"
            R"({"topic":"s/a/t","payload":{"ts":1200,"v":-3}})" "\n"
            R"({"topic":"other/topic","payload":{"ts":1200,"v":9}})" "\n"
            R"({"topic":"s/a/t","payload":"{\"ts\":2001,"})" "\n"
            R"({"topic":"s/a/t","payload":{"ts":2300,"v":4}})" "\n"
            R"({"topic":"s/a/t","payload":{"ts":900,"v":7}})" "\n");
  std::string expected =
      R"({"topic":"dlq/p","payload":{"reason":"malformed","detail":)";
  auto r1 = run_command({WEIR_EXE, "replay", "-c", dir.file("p.json"), "-i", dir.file("in.ndjson")});
  auto r2 = run_command({WEIR_EXE, "replay", "-c", dir.file("p.json"), "-i", dir.file("in.ndjson")});
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  EXPECT_EQ(r1.out, r2.out);
  std::vector<json> lines;
  std::stringstream ss(r1.out);
  std::string line;
  while (std::getline(ss, line)) lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 5u) << r1.out;
  // 1. the truncated payload, dead-lettered at once.
  EXPECT_EQ(lines[0]["topic"], "dlq/p");
  EXPECT_EQ(lines[0]["payload"]["reason"], "malformed");
  EXPECT_EQ(lines[0]["payload"]["payload"], "{\"ts\":2001,");
  // 2-3. ts 2300 moves the watermark past 2000: window [1000,2000) closes, groups in _id order.
  EXPECT_EQ(lines[1], json::parse(R"({"topic":"agg/a","payload":{"_id":"a","n":2,"sum":3.5,"avg":1.75,"last":2.5,
      "_stream_meta":{"window":{"start":"1970-01-01T00:00:01.000Z","end":"1970-01-01T00:00:02.000Z"},
      "outputId":"2874a4687213397f"}}})"));
  EXPECT_EQ(lines[2], json::parse(R"({"topic":"agg/b","payload":{"_id":"b","n":1,"sum":5,"avg":5.0,"last":5,
      "_stream_meta":{"window":{"start":"1970-01-01T00:00:01.000Z","end":"1970-01-01T00:00:02.000Z"},
      "outputId":"7d290148084716e0"}}})"));
  // 4. ts 900 belongs to a closed window: late.
  EXPECT_EQ(lines[3]["topic"], "dlq/p");
  EXPECT_EQ(lines[3]["payload"]["reason"], "late");
  EXPECT_EQ(lines[3]["payload"]["eventTime"], "1970-01-01T00:00:00.900Z");
  // 5. end of input closes the open window [2000,3000).
  EXPECT_EQ(lines[4], json::parse(R"({"topic":"agg/a","payload":{"_id":"a","n":1,"sum":4,"avg":4.0,"last":4,
      "_stream_meta":{"window":{"start":"1970-01-01T00:00:02.000Z","end":"1970-01-01T00:00:03.000Z"},
      "outputId":"2d5fb5ee4983ef0b"}}})"));
  (void)expected;
}

TEST(Cli, ReplayReadsCsvAndBase64) {
  TempDir dir;
  json cfg = json::parse(R"({
    "connections": {"local": {"type": "mqtt"}},
    "pipelines": [
      {"name": "csv", "pipeline": [
        {"$source": {"connectionName": "local", "topic": "plant/+line", "timeField": "time"}},
        {"$emit": {"connectionName": "local", "topic": "out/{line}"}}]},
      {"name": "bin", "dlq": {"connectionName": "local", "topic": "dlq/bin"}, "pipeline": [
        {"$source": {"connectionName": "local", "topic": "raw/#", "format": "text"}},
        {"$emit": {"connectionName": "local", "topic": "num"}}]}
    ]})");
  dir.write("p.json", cfg.dump());
  dir.write("in.csv", "time,temp,site\n2026-01-01T00:00:00Z,21.5,\"north, 2\"\n1767225601000,22,south\n");
  auto csv = run_command({WEIR_EXE, "replay", "-c", dir.file("p.json"), "-i", dir.file("in.csv"), "--topic", "plant/l1"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(csv.out,
            "{\"topic\":\"out/l1\",\"payload\":{\"time\":\"2026-01-01T00:00:00Z\",\"temp\":21.5,\"site\":\"north, 2\",\"line\":\"l1\"}}\n"
            "{\"topic\":\"out/l1\",\"payload\":{\"time\":1767225601000,\"temp\":22,\"site\":\"south\",\"line\":\"l1\"}}\n");
  // "MjEuNQ==" is "21.5"; "//79" is bytes ff fe fd: not a number, and not UTF-8.
  dir.write("in.ndjson",
            "{\"topic\":\"raw/x\",\"payload\":\"MjEuNQ==\",\"encoding\":\"base64\"}\n"
            "{\"topic\":\"raw/x\",\"payload\":\"//79\",\"encoding\":\"base64\"}\n"
            "not json at all\n");
  auto bin = run_command({WEIR_EXE, "replay", "-c", dir.file("p.json"), "-i", dir.file("in.ndjson")});
  ASSERT_EQ(bin.exit_code, 0) << bin.err;
  std::stringstream ss(bin.out);
  std::string l1, l2;
  std::getline(ss, l1);
  std::getline(ss, l2);
  EXPECT_EQ(l1, R"({"topic":"num","payload":{"value":21.5}})");
  json dead = json::parse(l2);
  EXPECT_EQ(dead["payload"]["reason"], "malformed");
  EXPECT_EQ(dead["payload"]["encoding"], "base64");
  EXPECT_EQ(dead["payload"]["payload"], "//79");
  EXPECT_NE(bin.err.find("line 3"), std::string::npos) << bin.err;
}

// weir-sim --output writes replay input: every reading it reports comes back counted once in
// the windows, for a JSON payload (embedded in the line) and a CBOR one (base64).
TEST(Cli, SimulatorOutputReplaysEveryReading) {
  TempDir dir;
  for (std::string format : {"json", "cbor"}) {
    SCOPED_TRACE(format);
    json cfg = base_config();
    cfg["pipelines"][0]["pipeline"][0]["$source"]["format"] = format;
    dir.write("p.json", cfg.dump());
    const std::string input = dir.file("in-" + format + ".ndjson");
    auto sim = run_command({WEIR_SIM_EXE, "--output", input, "--time-mode", "synthetic", "--step-ms", "700",
                            "--count", "3001", "--devices", "17", "--format", format});
    ASSERT_EQ(sim.exit_code, 0) << sim.err;
    EXPECT_NE(sim.err.find("sent 3001 readings"), std::string::npos) << sim.err;
    auto r = run_command({WEIR_EXE, "replay", "-c", dir.file("p.json"), "-i", input});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::stringstream ss(r.out);
    std::string line;
    int64_t counted = 0;
    std::set<std::string> devices;
    while (std::getline(ss, line)) {
      json out = json::parse(line);
      ASSERT_EQ(out["topic"].get<std::string>().rfind("agg/", 0), 0u) << line;
      counted += out["payload"]["n"].get<int64_t>();
      devices.insert(out["payload"]["_id"].get<std::string>());
    }
    EXPECT_EQ(counted, 3001);
    EXPECT_EQ(devices.size(), 17u);
  }
}

// examples/windows.json through weir replay: a hopping window counts every reading once per
// window holding it (interval / hop = 6 times), sessions and a per-device daily window once.
// Dropouts in the simulated data split sessions; none of it is late.
TEST(Cli, ExampleWindowsCountEveryReadingThroughReplay) {
  TempDir dir;
  const std::string input = dir.file("in.ndjson");
  auto sim = run_command({WEIR_SIM_EXE, "--output", input, "--time-mode", "synthetic", "--step-ms", "1000",
                          "--count", "12000", "--devices", "12", "--anomaly-rate", "0.01",
                          "--anomaly-types", "dropout", "--seed", "7"});
  ASSERT_EQ(sim.exit_code, 0) << sim.err;
  auto r = run_command({WEIR_EXE, "replay", "-c", std::string(WEIR_SOURCE_DIR) + "/examples/windows.json", "-i", input});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, int64_t> counted, outputs;
  std::map<std::string, std::set<std::string>> seen;
  std::stringstream ss(r.out);
  std::string line;
  while (std::getline(ss, line)) {
    json out = json::parse(line);
    const std::string topic = out["topic"].get<std::string>();
    const std::string kind = topic.substr(0, topic.find('/'));
    ASSERT_NE(kind, "weir") << "dead letter: " << line;
    counted[kind] += out["payload"]["n"].get<int64_t>();
    ++outputs[kind];
    // One result per window and device (revision 0: nothing came late).
    std::string id = out["payload"]["_stream_meta"]["window"].dump() + out["payload"]["_id"].dump();
    EXPECT_TRUE(seen[kind].insert(id).second) << line;
  }
  int64_t delivered = 0;
  // Dropouts withhold readings: what reached the file is what each window must count.
  std::ifstream in(input);
  while (std::getline(in, line)) delivered += line.empty() ? 0 : 1;
  ASSERT_GT(delivered, 11000);
  EXPECT_EQ(counted["rolling"], 6 * delivered);
  EXPECT_EQ(counted["sessions"], delivered);
  EXPECT_EQ(counted["daily"], delivered);
  EXPECT_GT(outputs["sessions"], 12);  // dropouts longer than the 30 s gap split sessions
  EXPECT_EQ(outputs["daily"], 12);
}

}  // namespace
}  // namespace weir::test

namespace weir::test {
namespace {

// `weir state` reads a state database without starting the engine: what it holds, or the
// clear error of a broken one (the golden files of tests/cases/state/), exit code 3.
TEST(Cli, StatePrintsWhatADatabaseHoldsAndRefusesBrokenOnes) {
  TempDir dir;
  const std::string db = dir.file("weir.db");
  {
    auto store = state::StateStore::open({.path = db});
    store->begin();
    store->put("room-temps", 5, "window/1", "abc");
    store->put("room-temps", 5, "window/2", "defg");
    store->put("anomalies", 1, "dev-1", "x");
    store->put("win", 2, "#stage", R"({"kind":"$tumblingWindow","groups":3,"openWindows":2,"watermark":1767225600000})");
    store->put("#engine", 0, "source", R"({"journalSeq":2})");
    store->commit();
    auto journal = state::Journal::open({.dir = db + ".journal"});
    for (int i = 0; i < 5; ++i) journal->append(0, 1, 0, "t", "m");
  }
  json config = base_config();
  config["state"] = {{"path", db}, {"synchronous", "full"}};
  dir.write("c.json", config.dump());
  for (const auto& args : std::vector<std::vector<std::string>>{{"--db", db}, {"-c", dir.file("c.json")}}) {
    std::vector<std::string> argv = {WEIR_EXE, "state"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_command(argv);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("state database: " + db), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("schema version 2, written by weir "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("journal mode wal"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("pipeline \"room-temps\" stage 5: 2 entries, 23 bytes"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("pipeline \"anomalies\" stage 1: 1 entries"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("pipeline \"win\" stage 2 $tumblingWindow: 1 entries, 85 bytes, 3 groups, 2 open "
                         "windows, watermark 2026-01-01T00:00:00.000Z"),
              std::string::npos)
        << r.out;
    EXPECT_EQ(r.out.find("#engine"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("checkpoint covers the journal up to message 2"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("1 segment(s)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("3 message(s) after the checkpoint"), std::string::npos) << r.out;
  }
  const std::pair<const char*, const char*> broken[] = {
      {"zero-length.db", "is empty (0 bytes)"},
      {"not-sqlite.db", "not an SQLite file"},
      {"newer-version.db", "written by a newer weir (schema version 999"},
      {"truncated.db", "corrupt or truncated"},
      {"corrupt.db", "corrupt or truncated"},
  };
  for (const auto& [file, says] : broken) {
    auto r = run_command({WEIR_EXE, "state", "--db", std::string(WEIR_SOURCE_DIR) + "/tests/cases/state/" + file});
    EXPECT_EQ(r.exit_code, 3) << file;
    EXPECT_NE(r.err.find("weir: state error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << file << ": " << r.err;
  }
  auto missing = run_command({WEIR_EXE, "state", "--db", dir.file("nope.db")});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_FALSE(std::ifstream(dir.file("nope.db")).good()) << "inspection never creates a database";
  // weir does not start on a broken database: it stops before connecting anywhere.
  const std::string broken_db = dir.file("broken.db");
  {
    std::ifstream src(std::string(WEIR_SOURCE_DIR) + "/tests/cases/state/truncated.db", std::ios::binary);
    std::ofstream dst(broken_db, std::ios::binary);
    dst << src.rdbuf();
  }
  config["state"] = {{"path", broken_db}};
  config["connections"]["local"]["port"] = 1;  // never reached
  dir.write("run.json", config.dump());
  auto run = run_command({WEIR_EXE, "run", "-c", dir.file("run.json")}, std::chrono::seconds(20));
  EXPECT_EQ(run.exit_code, 3) << run.err;
  EXPECT_NE(run.err.find("corrupt or truncated"), std::string::npos) << run.err;
  config["state"] = {{"path", db}, {"synchronous", "sometimes"}};
  dir.write("bad.json", config.dump());
  auto bad = run_command({WEIR_EXE, "check", "-c", dir.file("bad.json")});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("/state/synchronous"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace weir::test
