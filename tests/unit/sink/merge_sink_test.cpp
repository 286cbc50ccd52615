// The $merge sink on real database files in a temporary directory: rows written and read back
// through the SQLite C API, upserts, tickets confirmed only by the commit, refused rows, start
// failures, commits that fail (a fault-injecting VFS, a lock held by another connection) and
// are retried with the same rows, and a reopened database. Time is a manual clock.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/fnv.hpp"
#include "sink/sqlite/merge_sink.hpp"
#include "unit/state/state_temp_dir.hpp"

namespace weir::sink {
namespace {

constexpr TimeMs kStart = 1767225600123;  // 2026-01-01T00:00:00.123Z

using state::test::TempDir;

// A second connection to the database, as a reader or another writer would have.
class Db {
 public:
  explicit Db(const std::string& path) {
    EXPECT_EQ(
        sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
        SQLITE_OK)
        << path;
  }
  ~Db() { sqlite3_close_v2(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  int exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }
  // Each row as "col|col|...", NULL as "<null>".
  std::vector<std::string> rows(const std::string& sql) {
    std::vector<std::string> out;
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
    while (sqlite3_step(s) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        if (i > 0) row += '|';
        const unsigned char* text = sqlite3_column_text(s, i);
        row += text != nullptr ? reinterpret_cast<const char*>(text) : "<null>";
      }
      out.push_back(row);
    }
    sqlite3_finalize(s);
    return out;
  }
  std::vector<std::string> table(const std::string& name) {
    return rows(
        "SELECT id, pipeline, group_key, window_start, window_end, doc, updated_at FROM \"" + name +
        "\" ORDER BY id");
  }
  std::string one(const std::string& sql) {
    auto r = rows(sql);
    return r.size() == 1 ? r[0] : "<" + std::to_string(r.size()) + " rows>";
  }

 private:
  sqlite3* db_ = nullptr;
};

OutputMessage output(std::string table, std::string payload, std::string output_id = {},
                     uint64_t ticket = 0) {
  OutputMessage m;
  m.topic = std::move(table);
  m.payload = std::move(payload);
  m.output_id = std::move(output_id);
  m.ticket = ticket;
  return m;
}

std::vector<uint64_t> tickets(const std::vector<SinkConfirmation>& confirmed) {
  std::vector<uint64_t> out;
  for (const auto& c : confirmed) {
    EXPECT_TRUE(c.ok) << c.ticket << ": " << c.error;
    out.push_back(c.ticket);
  }
  return out;
}

std::vector<uint64_t> poll_tickets(MergeSink& sink) {
  std::vector<SinkConfirmation> confirmed;
  sink.poll(confirmed);
  return tickets(confirmed);
}

using Tickets = std::vector<uint64_t>;

struct Fixture {
  TempDir dir;
  std::string path = dir.file("history.db");
  ManualClock clock{kStart};
  std::unique_ptr<MergeSink> sink;

  explicit Fixture(int busy_timeout_ms = 1000) { open(busy_timeout_ms); }
  void open(int busy_timeout_ms = 1000) {
    sink.reset();
    sink = std::make_unique<MergeSink>(
        "local", path,
        MergeSinkOptions{
            .busy_timeout_ms = busy_timeout_ms, .retry_interval_ms = 500, .clock = &clock});
    std::string error;
    ASSERT_TRUE(sink->start(error)) << error;
    EXPECT_TRUE(error.empty());
  }
};

// Warnings and infos logged while it lives, one line "level|message" each.
class LogCapture {
 public:
  LogCapture() : old_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>(
        "capture", std::make_shared<spdlog::sinks::ostream_sink_st>(out_));
    logger->set_pattern("%l|%v");
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(old_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::vector<std::string> lines(std::string_view level) const {
    std::vector<std::string> out;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with(std::string(level) + "|")) out.push_back(line);
    }
    return out;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> old_;
};

// The default VFS wrapped, while it lives, so that writes to WAL files fail with a chosen
// error: a full disk or a failing device, at the moment SQLite writes a commit.
class FaultyWalVfs {
 public:
  FaultyWalVfs() {
    real_ = sqlite3_vfs_find(nullptr);
    vfs_ = *real_;
    vfs_.zName = "weir-faulty-wal";
    vfs_.pNext = nullptr;
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
    vfs_.xOpen = &open_file;
    methods_ = {};
    methods_.iVersion = 3;
    methods_.xClose = [](sqlite3_file* f) {
      const int rc = real(f)->pMethods->xClose(real(f));
      f->pMethods = nullptr;
      return rc;
    };
    methods_.xRead = [](sqlite3_file* f, void* b, int n, sqlite3_int64 o) {
      return real(f)->pMethods->xRead(real(f), b, n, o);
    };
    methods_.xWrite = [](sqlite3_file* f, const void* b, int n, sqlite3_int64 o) {
      if (self_->fail_with_ != SQLITE_OK && reinterpret_cast<File*>(f)->wal) {
        ++self_->failed_writes_;
        return self_->fail_with_;
      }
      return real(f)->pMethods->xWrite(real(f), b, n, o);
    };
    methods_.xTruncate = [](sqlite3_file* f, sqlite3_int64 n) {
      return real(f)->pMethods->xTruncate(real(f), n);
    };
    methods_.xSync = [](sqlite3_file* f, int flags) {
      return real(f)->pMethods->xSync(real(f), flags);
    };
    methods_.xFileSize = [](sqlite3_file* f, sqlite3_int64* n) {
      return real(f)->pMethods->xFileSize(real(f), n);
    };
    methods_.xLock = [](sqlite3_file* f, int l) { return real(f)->pMethods->xLock(real(f), l); };
    methods_.xUnlock = [](sqlite3_file* f, int l) {
      return real(f)->pMethods->xUnlock(real(f), l);
    };
    methods_.xCheckReservedLock = [](sqlite3_file* f, int* r) {
      return real(f)->pMethods->xCheckReservedLock(real(f), r);
    };
    methods_.xFileControl = [](sqlite3_file* f, int op, void* arg) {
      return real(f)->pMethods->xFileControl(real(f), op, arg);
    };
    methods_.xSectorSize = [](sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); };
    methods_.xDeviceCharacteristics = [](sqlite3_file* f) {
      return real(f)->pMethods->xDeviceCharacteristics(real(f));
    };
    methods_.xShmMap = [](sqlite3_file* f, int pg, int sz, int extend, void volatile** p) {
      return real(f)->pMethods->xShmMap(real(f), pg, sz, extend, p);
    };
    methods_.xShmLock = [](sqlite3_file* f, int offset, int n, int flags) {
      return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
    };
    methods_.xShmBarrier = [](sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); };
    methods_.xShmUnmap = [](sqlite3_file* f, int del) {
      return real(f)->pMethods->xShmUnmap(real(f), del);
    };
    methods_.xFetch = [](sqlite3_file* f, sqlite3_int64 o, int n, void** p) {
      return real(f)->pMethods->xFetch(real(f), o, n, p);
    };
    methods_.xUnfetch = [](sqlite3_file* f, sqlite3_int64 o, void* p) {
      return real(f)->pMethods->xUnfetch(real(f), o, p);
    };
    self_ = this;
    EXPECT_EQ(sqlite3_vfs_register(&vfs_, 1), SQLITE_OK);
  }
  ~FaultyWalVfs() {
    sqlite3_vfs_unregister(&vfs_);
    self_ = nullptr;
  }
  FaultyWalVfs(const FaultyWalVfs&) = delete;
  FaultyWalVfs& operator=(const FaultyWalVfs&) = delete;

  void fail_wal_writes(int rc) { fail_with_ = rc; }
  int failed_writes() const { return failed_writes_; }

 private:
  struct File {
    sqlite3_file base;
    bool wal;
  };
  static sqlite3_file* real(sqlite3_file* f) {
    return reinterpret_cast<sqlite3_file*>(reinterpret_cast<File*>(f) + 1);
  }
  static int open_file(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags, int* out_flags) {
    File* file = reinterpret_cast<File*>(f);
    file->wal = (flags & SQLITE_OPEN_WAL) != 0;
    const int rc = self_->real_->xOpen(self_->real_, name, real(f), flags, out_flags);
    f->pMethods = rc == SQLITE_OK ? &self_->methods_ : nullptr;
    return rc;
  }

  static inline FaultyWalVfs* self_ = nullptr;
  sqlite3_vfs* real_ = nullptr;
  sqlite3_vfs vfs_{};
  sqlite3_io_methods methods_{};
  int fail_with_ = SQLITE_OK;
  int failed_writes_ = 0;
};

TEST(MergeSink, TableNames) {
  for (const char* good : {"history", "_x", "Room_42", "a",
                           "A0123456789012345678901234567890123456789012345678901234567890_"}) {
    EXPECT_TRUE(MergeSink::valid_table_name(good)) << good;
  }
  const std::string too_long(65, 'a');
  for (const std::string& bad :
       {std::string(), too_long, std::string("9lives"), std::string("bad-name"),
        std::string("with space"), std::string("quo\"te"), std::string("a.b"),
        std::string("sqlite_master"), std::string("SQLITE_x"), std::string("tbl\xc3\xa9")}) {
    EXPECT_FALSE(MergeSink::valid_table_name(bad)) << bad;
  }
  EXPECT_TRUE(MergeSink::valid_table_name(std::string(64, 'a')));
  EXPECT_TRUE(MergeSink::valid_table_name("sqlite"));
}

TEST(MergeSink, WritesOneRowPerOutputWithItsColumns) {
  Fixture f;
  OutputMessage m = output("history", R"({"avg":21.5})", "out-1", 7);
  m.key = "room-1";
  m.headers = {{"weir-pipeline", "rooms"},
               {"weir-window-start", "2026-01-01T00:00:00.000Z"},
               {"weir-window-end", "2026-01-01T00:01:00.000Z"},
               {"other", "ignored"}};
  EXPECT_EQ(f.sink->send(m), SinkResult::kOk);
  f.clock.advance(5);
  EXPECT_EQ(f.sink->send(output("history", R"({"alert":true})", "out-2")), SinkResult::kOk);
  EXPECT_EQ(poll_tickets(*f.sink), (Tickets{7}));

  Db db(f.path);
  EXPECT_EQ(
      db.table("history"),
      (std::vector<std::string>{
          R"(out-1|rooms|room-1|2026-01-01T00:00:00.000Z|2026-01-01T00:01:00.000Z|{"avg":21.5}|2026-01-01T00:00:00.123Z)",
          R"(out-2|<null>|<null>|<null>|<null>|{"alert":true}|2026-01-01T00:00:00.128Z)"}));
  EXPECT_EQ(db.one("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(
      db.one("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'history'"
             " AND sql LIKE '%window_start%'"),
      "1");
  EXPECT_EQ(f.sink->name(), "sqlite:local");
}

TEST(MergeSink, UpsertReplacesARevision) {
  Fixture f;
  EXPECT_EQ(f.sink->send(output("w", R"({"n":1})", "win-1")), SinkResult::kOk);
  EXPECT_EQ(f.sink->send(output("w", R"({"n":2})", "win-1")), SinkResult::kOk);  // same batch
  EXPECT_EQ(f.sink->send(output("w", R"({"n":1})", "win-2")), SinkResult::kOk);
  poll_tickets(*f.sink);
  f.clock.advance(60000);
  EXPECT_EQ(f.sink->send(output("w", R"({"n":3})", "win-1")), SinkResult::kOk);  // next batch
  EXPECT_TRUE(poll_tickets(*f.sink).empty());

  Db db(f.path);
  EXPECT_EQ(db.rows("SELECT id, doc, updated_at FROM w ORDER BY id"),
            (std::vector<std::string>{R"(win-1|{"n":3}|2026-01-01T00:01:00.123Z)",
                                      R"(win-2|{"n":1}|2026-01-01T00:00:00.123Z)"}));
}

TEST(MergeSink, TicketsAreConfirmedOnlyAfterTheCommit) {
  Fixture f;
  Db db(f.path);
  EXPECT_EQ(f.sink->send(output("t", "{}", "a", 1)), SinkResult::kOk);
  EXPECT_EQ(f.sink->send(output("t", "{}", "b", 0)), SinkResult::kOk);
  EXPECT_EQ(f.sink->send(output("u", "{}", "c", 2)), SinkResult::kOk);
  EXPECT_EQ(f.sink->uncommitted(), 3u);
  // Not visible to another connection before the commit (the tables neither).
  EXPECT_EQ(db.one("SELECT count(*) FROM sqlite_schema WHERE name IN ('t', 'u')"), "0");

  EXPECT_EQ(poll_tickets(*f.sink), (Tickets{1, 2}));
  EXPECT_EQ(f.sink->uncommitted(), 0u);
  EXPECT_EQ(db.one("SELECT count(*) FROM t"), "2");
  EXPECT_EQ(db.one("SELECT count(*) FROM u"), "1");
  EXPECT_TRUE(poll_tickets(*f.sink).empty());  // each ticket once; nothing open, nothing done
}

TEST(MergeSink, WithoutAnOutputIdTheIdIsAHashOfTopicAndPayload) {
  Fixture f;
  const OutputMessage m = output("alerts", R"({"level":"high"})");
  const std::string id = MergeSink::row_id(m);
  EXPECT_EQ(
      id, core::hex16(core::fnv1a(core::fnv1a(core::kFnvOffset, "alerts"), R"({"level":"high"})")));
  EXPECT_EQ(id.size(), 16u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(MergeSink::row_id(output("alerts2", R"({"level":"high"})")), id);
  EXPECT_NE(MergeSink::row_id(output("alerts", R"({"level":"low"})")), id);
  EXPECT_EQ(MergeSink::row_id(output("alerts", "x", "given")), "given");

  EXPECT_EQ(f.sink->send(m), SinkResult::kOk);
  EXPECT_EQ(f.sink->send(m), SinkResult::kOk);
  poll_tickets(*f.sink);
  EXPECT_EQ(f.sink->send(m), SinkResult::kOk);  // again in a later batch
  poll_tickets(*f.sink);
  Db db(f.path);
  EXPECT_EQ(db.rows("SELECT id FROM alerts"), (std::vector<std::string>{id}));
}

TEST(MergeSink, AnInvalidTableNameIsAnError) {
  Fixture f;
  for (const char* bad : {"", "bad-name", "sqlite_master", "x;DROP TABLE y", "a\"b"}) {
    EXPECT_EQ(f.sink->send(output(bad, "{}", "id", 9)), SinkResult::kError) << bad;
  }
  EXPECT_TRUE(f.sink->ready());
  EXPECT_EQ(f.sink->send(output("good", "{}", "id", 1)), SinkResult::kOk);
  EXPECT_EQ(poll_tickets(*f.sink), (Tickets{1}));
  Db db(f.path);
  EXPECT_EQ(db.one("SELECT count(*) FROM sqlite_schema WHERE type = 'table'"), "1");
}

TEST(MergeSink, ARowTheDatabaseRefusesIsAnErrorAndTheBatchGoesOn) {
  Fixture f;
  {
    Db db(f.path);
    // A table made by hand: a CHECK the sink's rows can break, and one without its columns.
    ASSERT_EQ(
        db.exec("CREATE TABLE checked (id TEXT PRIMARY KEY, pipeline TEXT, group_key TEXT,"
                " window_start TEXT, window_end TEXT, doc TEXT NOT NULL CHECK (length(doc) < 10),"
                " updated_at TEXT NOT NULL); CREATE TABLE other (id TEXT PRIMARY KEY, x TEXT)"),
        SQLITE_OK);
  }
  EXPECT_EQ(f.sink->send(output("checked", "{}", "a", 1)), SinkResult::kOk);
  EXPECT_EQ(f.sink->send(output("checked", R"({"too":"long"})", "b", 2)), SinkResult::kError);
  EXPECT_EQ(f.sink->send(output("other", "{}", "c", 3)), SinkResult::kError);
  EXPECT_EQ(f.sink->send(output("checked", "[]", "d", 4)), SinkResult::kOk);
  EXPECT_TRUE(f.sink->ready());
  EXPECT_EQ(poll_tickets(*f.sink), (Tickets{1, 4}));
  Db db(f.path);
  EXPECT_EQ(db.rows("SELECT id, doc FROM checked ORDER BY id"),
            (std::vector<std::string>{"a|{}", "d|[]"}));
}

TEST(MergeSink, StartFailsOnAPathThatCannotBeADatabase) {
  TempDir dir;
  {
    std::ofstream(dir.file("notes.txt"))
        << "not a database, just text that is long enough to matter";
  }
  for (const std::string& path :
       {dir.file("missing/dir/history.db"), dir.path(), dir.file("notes.txt")}) {
    MergeSink sink("local", path);
    std::string error;
    EXPECT_FALSE(sink.start(error)) << path;
    EXPECT_NE(error.find("connection \"local\""), std::string::npos) << error;
    EXPECT_NE(error.find("\"" + path + "\""), std::string::npos) << error;
    EXPECT_FALSE(sink.ready());
    EXPECT_EQ(sink.send(output("t", "{}", "a", 1)), SinkResult::kRetry);
  }
}

// Opens path with a sink as a user without write permission on it: this process when it is
// not root (root may write anything), otherwise a child that switched to "nobody".
// Returns "" when start() succeeded, the error otherwise, "skip: ..." when it cannot tell.
std::string start_without_write_permission(const TempDir& dir, const std::string& path) {
  auto attempt = [&]() {
    MergeSink sink("local", path);
    std::string error;
    return sink.start(error) ? std::string() : error;
  };
  ::chmod(path.c_str(), 0444);
  if (::geteuid() != 0) return attempt();
  ::chmod(dir.path().c_str(), 0755);
  int fds[2];
  if (::pipe(fds) != 0) return "skip: no pipe";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    const std::string error = attempt();
    if (::write(fds[1], error.data(), error.size()) < 0) ::_exit(3);
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string error;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    error.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "skip: cannot switch to user nobody";
  return error;
}

TEST(MergeSink, StartFailsOnADatabaseItCannotWrite) {
  TempDir dir;
  const std::string path = dir.file("history.db");
  {
    Db db(path);
    ASSERT_EQ(db.exec("CREATE TABLE kept (x)"), SQLITE_OK);
  }
  const std::string error = start_without_write_permission(dir, path);
  if (error.starts_with("skip: ")) GTEST_SKIP() << error;
  EXPECT_NE(error.find("connection \"local\""), std::string::npos) << error;
  EXPECT_NE(error.find("\"" + path + "\""), std::string::npos) << error;
  EXPECT_NE(error.find("read-only"), std::string::npos) << error;
}

TEST(MergeSink, AFailedCommitIsRetriedWithTheSameRows) {
  for (const int fault : {SQLITE_FULL, SQLITE_IOERR_WRITE}) {
    SCOPED_TRACE(sqlite3_errstr(fault));
    FaultyWalVfs vfs;
    LogCapture log;
    Fixture f;
    EXPECT_EQ(f.sink->send(output("history", R"({"n":1})", "a", 1)), SinkResult::kOk);
    EXPECT_EQ(f.sink->send(output("history", R"({"n":2})", "b", 2)), SinkResult::kOk);
    EXPECT_EQ(f.sink->send(output("history", R"({"n":3})", "c", 0)), SinkResult::kOk);

    vfs.fail_wal_writes(fault);
    EXPECT_TRUE(poll_tickets(*f.sink).empty());  // the commit fails: nothing confirmed
    EXPECT_FALSE(f.sink->ready());
    EXPECT_EQ(f.sink->uncommitted(), 3u);
    EXPECT_EQ(f.sink->send(output("history", "{}", "d", 4)), SinkResult::kRetry);
    const int failed = vfs.failed_writes();
    EXPECT_GT(failed, 0);

    f.clock.advance(100);  // within the retry interval: no attempt
    EXPECT_TRUE(poll_tickets(*f.sink).empty());
    EXPECT_EQ(vfs.failed_writes(), failed);
    f.clock.advance(400);  // an attempt, failing again: still nothing confirmed, no new warning
    EXPECT_TRUE(poll_tickets(*f.sink).empty());
    EXPECT_GT(vfs.failed_writes(), failed);
    EXPECT_FALSE(f.sink->ready());

    vfs.fail_wal_writes(SQLITE_OK);
    f.clock.advance(499);
    EXPECT_TRUE(poll_tickets(*f.sink).empty());
    f.clock.advance(1);
    EXPECT_EQ(poll_tickets(*f.sink), (Tickets{1, 2}));
    EXPECT_TRUE(f.sink->ready());
    EXPECT_EQ(f.sink->uncommitted(), 0u);
    EXPECT_EQ(f.sink->send(output("history", "{}", "d", 4)), SinkResult::kOk);
    EXPECT_EQ(poll_tickets(*f.sink), (Tickets{4}));

    Db db(f.path);
    EXPECT_EQ(db.rows("SELECT id, doc FROM history ORDER BY id"),
              (std::vector<std::string>{R"(a|{"n":1})", R"(b|{"n":2})", R"(c|{"n":3})", "d|{}"}));
    EXPECT_EQ(log.lines("warning").size(), 1u);  // one per change of state, not per retry
    EXPECT_EQ(log.lines("info").size(), 1u);
    f.sink.reset();
  }
}

TEST(MergeSink, ALockHeldByAnotherConnectionIsWaitedOut) {
  LogCapture log;
  Fixture f(/*busy_timeout_ms=*/5);
  EXPECT_EQ(f.sink->send(output("history", "{}", "a", 1)), SinkResult::kOk);
  EXPECT_EQ(poll_tickets(*f.sink), (Tickets{1}));

  Db other(f.path);
  ASSERT_EQ(other.exec("BEGIN EXCLUSIVE"), SQLITE_OK);
  // The write lock cannot be had: the output is not taken, and the sink says so.
  EXPECT_EQ(f.sink->send(output("history", "{}", "b", 2)), SinkResult::kRetry);
  EXPECT_FALSE(f.sink->ready());
  for (int i = 0; i < 3; ++i) {
    f.clock.advance(500);
    EXPECT_TRUE(poll_tickets(*f.sink).empty());
    EXPECT_FALSE(f.sink->ready());
  }

  ASSERT_EQ(other.exec("COMMIT"), SQLITE_OK);
  f.clock.advance(500);
  EXPECT_TRUE(poll_tickets(*f.sink).empty());
  EXPECT_TRUE(f.sink->ready());
  EXPECT_EQ(f.sink->send(output("history", "{}", "b", 2)), SinkResult::kOk);
  EXPECT_EQ(f.sink->send(output("history", "{}", "c", 3)), SinkResult::kOk);
  EXPECT_EQ(poll_tickets(*f.sink), (Tickets{2, 3}));
  EXPECT_EQ(other.rows("SELECT id FROM history ORDER BY id"),
            (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(log.lines("warning").size(), 1u);
  EXPECT_EQ(log.lines("info").size(), 1u);
}

TEST(MergeSink, ReopeningTheDatabaseKeepsItsRows) {
  Fixture f;
  EXPECT_EQ(f.sink->send(output("history", R"({"n":1})", "a", 1)), SinkResult::kOk);
  EXPECT_EQ(f.sink->send(output("history", R"({"n":1})", "b", 2)), SinkResult::kOk);
  EXPECT_EQ(poll_tickets(*f.sink), (Tickets{1, 2}));
  EXPECT_EQ(f.sink->send(output("history", R"({"n":1})", "c")), SinkResult::kOk);  // not polled

  f.open();  // the sink destroyed (committing what it had) and a new one started
  EXPECT_EQ(f.sink->send(output("history", R"({"n":2})", "b", 3)), SinkResult::kOk);
  EXPECT_EQ(poll_tickets(*f.sink), (Tickets{3}));
  Db db(f.path);
  EXPECT_EQ(db.rows("SELECT id, doc FROM history ORDER BY id"),
            (std::vector<std::string>{R"(a|{"n":1})", R"(b|{"n":2})", R"(c|{"n":1})"}));
}

}  // namespace
}  // namespace weir::sink
