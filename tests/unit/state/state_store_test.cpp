// The SQLite state store on real database files: creation in WAL mode, entries across a
// reopen, transactions, and the golden files it must refuse with a clear error.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "state/sqlite/state_store.hpp"
#include "unit/state/state_temp_dir.hpp"

namespace weir::state {
namespace {

namespace fs = std::filesystem;

using test::TempDir;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string golden(const std::string& name) {
  return std::string(WEIR_SOURCE_DIR) + "/tests/cases/state/" + name;
}

std::vector<std::pair<std::string, std::string>> entries(const StateStore& s) {
  std::vector<std::pair<std::string, std::string>> out;
  s.for_each("p", 2, [&](std::string_view k, std::string_view v) { out.emplace_back(k, v); });
  return out;
}

TEST(StateStore, CreatesAWalDatabaseAndKeepsEntriesAcrossAReopen) {
  TempDir dir;
  const std::string path = dir.file("weir.db");
  {
    auto s = StateStore::open({.path = path});
    EXPECT_EQ(s->schema_version(), kSchemaVersion);
    EXPECT_EQ(s->summary().journal_mode, "wal");
    s->begin();
    s->put("p", 2, "b", std::string("\0\x01two", 5));
    s->put("p", 2, "a", "one");
    s->put("p", 3, "a", "other stage");
    s->put("p", 2, "a", "one, replaced");
    s->commit();
  }
  auto s = StateStore::open({.path = path});
  EXPECT_EQ(entries(*s), (std::vector<std::pair<std::string, std::string>>{
                             {"a", "one, replaced"}, {"b", std::string("\0\x01two", 5)}}));
  s->begin();
  s->erase("p", 2, "a");
  s->commit();
  EXPECT_EQ(entries(*s).size(), 1u);
  StoreSummary sum = s->summary();
  EXPECT_EQ(sum.created_by.rfind("weir ", 0), 0u);
  ASSERT_EQ(sum.stages.size(), 2u);
  EXPECT_EQ(sum.stages[0].pipeline, "p");
  EXPECT_EQ(sum.stages[0].stage, 2);
  EXPECT_EQ(sum.stages[0].entries, 1);
  EXPECT_EQ(sum.stages[0].bytes, 1 + 5);
}

TEST(StateStore, AnUncommittedCheckpointLeavesNothingBehind) {
  TempDir dir;
  const std::string path = dir.file("weir.db");
  {
    auto s = StateStore::open({.path = path});
    s->begin();
    s->put("p", 2, "kept", "1");
    s->commit();
    s->begin();
    s->put("p", 2, "lost", "2");
    // the process dies here: no commit
  }
  auto s = StateStore::open({.path = path});
  EXPECT_EQ(entries(*s), (std::vector<std::pair<std::string, std::string>>{{"kept", "1"}}));
}

struct Bad {
  const char* file;
  StateError::Kind kind;
  const char* says;
};

TEST(StateStore, RefusesBrokenFilesWithTheirOwnErrorAndTouchesNothing) {
  const Bad cases[] = {
      {"zero-length.db", StateError::Kind::kEmpty, "is empty (0 bytes)"},
      {"not-sqlite.db", StateError::Kind::kNotWeir, "not an SQLite file"},
      {"foreign.db", StateError::Kind::kNotWeir, "another application"},
      {"newer-version.db", StateError::Kind::kNewer, "newer weir (schema version 999; this weir reads up to 2)"},
      {"truncated.db", StateError::Kind::kCorrupt, "corrupt or truncated"},
      {"corrupt.db", StateError::Kind::kCorrupt, "corrupt or truncated"},
  };
  for (const auto& c : cases) {
    TempDir dir;
    const std::string path = dir.file(c.file);
    fs::copy_file(golden(c.file), path);
    const std::string before = slurp(path);
    for (bool read_only : {false, true}) {
      try {
        StateStore::open({.path = path, .read_only = read_only});
        ADD_FAILURE() << c.file << " was accepted";
      } catch (const StateError& e) {
        EXPECT_EQ(e.kind(), c.kind) << c.file << ": " << e.what();
        EXPECT_NE(std::string(e.what()).find(c.says), std::string::npos) << c.file << ": " << e.what();
        EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << "names the file: " << e.what();
      }
    }
    EXPECT_EQ(slurp(path), before) << c.file << " was changed by a refused open";
    EXPECT_FALSE(fs::exists(path + "-wal")) << c.file;
  }
}

TEST(StateStore, FreshKeepsTheBrokenFileAsideAndStartsANewOne) {
  TempDir dir;
  const std::string path = dir.file("weir.db");
  fs::copy_file(golden("corrupt.db"), path);
  const std::string before = slurp(path);
  auto s = StateStore::open({.path = path, .fresh = true});
  ASSERT_FALSE(s->set_aside().empty());
  EXPECT_EQ(s->set_aside().rfind(path + ".broken-", 0), 0u);
  EXPECT_EQ(slurp(s->set_aside()), before);
  EXPECT_EQ(s->schema_version(), kSchemaVersion);
  EXPECT_TRUE(entries(*s).empty());
  // A sound database is never set aside.
  s.reset();
  auto again = StateStore::open({.path = path, .fresh = true});
  EXPECT_TRUE(again->set_aside().empty());
}

TEST(StateStore, ReadOnlyNeverCreatesOrMigrates) {
  TempDir dir;
  const std::string path = dir.file("missing.db");
  try {
    StateStore::open({.path = path, .read_only = true});
    ADD_FAILURE() << "opened a missing file";
  } catch (const StateError& e) {
    EXPECT_EQ(e.kind(), StateError::Kind::kCannotOpen);
  }
  EXPECT_FALSE(fs::exists(path));
  { StateStore::open({.path = path}); }
  auto ro = StateStore::open({.path = path, .read_only = true});
  EXPECT_EQ(ro->schema_version(), kSchemaVersion);
  EXPECT_THROW(ro->put("p", 1, "k", "v"), StateError);
}

}  // namespace
}  // namespace weir::state
