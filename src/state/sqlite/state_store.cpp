#include "state/sqlite/state_store.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>

namespace weir::state {

namespace {

// Each entry creates what one schema version added; a database at version v runs entries
// v+1 .. kSchemaVersion, in one transaction. Only additive changes (new tables, new
// columns with defaults), so an older weir's data stays readable.
constexpr const char* kMigrations[] = {
    // 1: metadata and the stages' state entries.
    "CREATE TABLE weir_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE weir_state (pipeline TEXT NOT NULL, stage INTEGER NOT NULL, key BLOB NOT NULL,"
    " value BLOB NOT NULL, PRIMARY KEY (pipeline, stage, key)) WITHOUT ROWID;",
    // 2: the outbox: outputs waiting for their sink's confirmation (store-and-forward).
    "CREATE TABLE weir_outbox (sink TEXT NOT NULL, seq INTEGER NOT NULL, created INTEGER NOT NULL,"
    " message BLOB NOT NULL, PRIMARY KEY (sink, seq)) WITHOUT ROWID;",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion,
              "one migration per schema version");

constexpr char kSqliteMagic[] = "SQLite format 3";  // 16 bytes with its NUL

bool file_size(const std::string& path, int64_t& size) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  size = static_cast<int64_t>(st.st_size);
  return true;
}

std::string now_iso() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool is_corruption(int rc) {
  const int primary = rc & 0xff;
  return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

// Checks what can be checked before SQLite opens the file (SQLite would treat an empty
// file as a new database and report a foreign file only on first read).
void precheck(const StoreOptions& o) {
  int64_t size = 0;
  if (!file_size(o.path, size)) {
    if (o.read_only) {
      throw StateError(StateError::Kind::kCannotOpen, o.path + ": no such state database");
    }
    return;
  }
  if (size == 0) {
    throw StateError(StateError::Kind::kEmpty,
                     o.path + ": the state database is empty (0 bytes); weir never leaves it so, "
                              "so it was truncated or replaced");
  }
  char head[16] = {};
  std::ifstream in(o.path, std::ios::binary);
  in.read(head, sizeof(head));
  if (in.gcount() < static_cast<std::streamsize>(sizeof(head)) ||
      std::memcmp(head, kSqliteMagic, sizeof(head)) != 0) {
    throw StateError(StateError::Kind::kNotWeir,
                     o.path + ": not a state database (not an SQLite file" +
                         (size < 16 ? ", only " + std::to_string(size) + " bytes" : std::string()) + ")");
  }
}

void move_aside(const std::string& path, std::string& moved_to) {
  moved_to = path + ".broken-" + std::to_string(std::time(nullptr));
  if (std::rename(path.c_str(), moved_to.c_str()) != 0) {
    throw StateError(StateError::Kind::kIo, path + ": cannot move it aside to " + moved_to + ": " +
                                                std::strerror(errno));
  }
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string side = path + suffix;
    int64_t size = 0;
    if (file_size(side, size)) std::rename(side.c_str(), (moved_to + suffix).c_str());
  }
}

}  // namespace

std::unique_ptr<StateStore> StateStore::open(const StoreOptions& options) {
  std::string moved;
  for (int attempt = 0;; ++attempt) {
    try {
      precheck(options);
      std::unique_ptr<StateStore> store(new StateStore(options.path));
      const int flags = options.read_only ? SQLITE_OPEN_READONLY
                                          : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
      const int rc = sqlite3_open_v2(options.path.c_str(), &store->db_, flags, nullptr);
      if (rc != SQLITE_OK) {
        store->fail(is_corruption(rc) ? StateError::Kind::kCorrupt : StateError::Kind::kCannotOpen,
                    "cannot open");
      }
      sqlite3_extended_result_codes(store->db_, 1);
      sqlite3_busy_timeout(store->db_, 2000);
      store->check_and_migrate(options);
      store->set_aside_ = moved;
      return store;
    } catch (const StateError& e) {
      const bool replaceable = e.kind() != StateError::Kind::kCannotOpen && e.kind() != StateError::Kind::kIo;
      if (!options.fresh || options.read_only || !replaceable || attempt > 0) throw;
      move_aside(options.path, moved);
    }
  }
}

StateStore::~StateStore() {
  for (sqlite3_stmt* s : {put_, erase_, scan_, clear_, outbox_put_, outbox_erase_, outbox_scan_}) sqlite3_finalize(s);
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

void StateStore::fail(StateError::Kind kind, const std::string& what) const {
  std::string msg = path_ + ": " + what;
  if (db_ != nullptr) msg += ": " + std::string(sqlite3_errmsg(db_));
  throw StateError(kind, msg);
}

void StateStore::exec(const char* sql) const {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return;
  std::string what = err != nullptr ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  throw StateError(is_corruption(rc) ? StateError::Kind::kCorrupt : StateError::Kind::kIo,
                   path_ + ": " + what);
}

sqlite3_stmt* StateStore::prepare(const char* sql) const {
  sqlite3_stmt* s = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) {
    fail(is_corruption(rc) ? StateError::Kind::kCorrupt : StateError::Kind::kIo, "preparing a statement");
  }
  return s;
}

void StateStore::check_and_migrate(const StoreOptions& options) {
  auto pragma_int = [&](const char* sql) -> int64_t {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql, -1, &s, nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_step(s);
    int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW && is_corruption(rc)) {
      fail(StateError::Kind::kCorrupt, "the state database is corrupt or truncated");
    }
    if (rc != SQLITE_ROW) fail(StateError::Kind::kIo, std::string("reading ") + sql);
    return v;
  };
  // The header and the schema first: a damaged first page shows here.
  const int64_t app_id = pragma_int("PRAGMA application_id");
  const int64_t tables = pragma_int("SELECT count(*) FROM sqlite_schema");
  const int64_t version = pragma_int("PRAGMA user_version");
  const bool blank = app_id == 0 && tables == 0 && version == 0;
  if (!blank && app_id != kApplicationId) {
    fail(StateError::Kind::kNotWeir, "not a weir state database (an SQLite database of another "
                                     "application, application_id " + std::to_string(app_id) + ")");
  }
  if (version > kSchemaVersion) {
    throw StateError(StateError::Kind::kNewer,
                     path_ + ": written by a newer weir (schema version " + std::to_string(version) +
                         "; this weir reads up to " + std::to_string(kSchemaVersion) +
                         "); upgrade weir, or start with --fresh-state to keep the file aside");
  }
  if (!blank) {
    // Every page: a truncated or overwritten file is found here, not in the middle of a run.
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(db_, "PRAGMA quick_check(1)", -1, &s, nullptr);
    std::string result;
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(s, 0);
      result = text != nullptr ? reinterpret_cast<const char*>(text) : "";
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW) fail(StateError::Kind::kCorrupt, "the state database is corrupt or truncated");
    if (result != "ok") {
      throw StateError(StateError::Kind::kCorrupt,
                       path_ + ": the state database is corrupt or truncated (" + result + ")");
    }
  }
  schema_version_ = static_cast<int>(version);
  if (options.read_only) return;

  exec("PRAGMA journal_mode=WAL");
  switch (options.synchronous) {
    case Synchronous::kOff: exec("PRAGMA synchronous=OFF"); break;
    case Synchronous::kNormal: exec("PRAGMA synchronous=NORMAL"); break;
    case Synchronous::kFull: exec("PRAGMA synchronous=FULL"); break;
  }
  if (version < kSchemaVersion) {
    exec("BEGIN IMMEDIATE");
    try {
      for (int v = static_cast<int>(version) + 1; v <= kSchemaVersion; ++v) exec(kMigrations[v - 1]);
      exec(("PRAGMA application_id=" + std::to_string(kApplicationId)).c_str());
      exec(("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str());
      if (blank) {
        exec(("INSERT INTO weir_meta (key, value) VALUES ('created_by', 'weir " WEIR_VERSION "'),"
              " ('created_at', '" + now_iso() + "')").c_str());
      }
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    schema_version_ = kSchemaVersion;
  }
  put_ = prepare("INSERT INTO weir_state (pipeline, stage, key, value) VALUES (?1, ?2, ?3, ?4)"
                 " ON CONFLICT (pipeline, stage, key) DO UPDATE SET value = excluded.value");
  erase_ = prepare("DELETE FROM weir_state WHERE pipeline = ?1 AND stage = ?2 AND key = ?3");
  scan_ = prepare("SELECT key, value FROM weir_state WHERE pipeline = ?1 AND stage = ?2 ORDER BY key");
  clear_ = prepare("DELETE FROM weir_state WHERE pipeline = ?1 AND stage = ?2");
  outbox_put_ = prepare("INSERT OR REPLACE INTO weir_outbox (sink, seq, created, message) VALUES (?1, ?2, ?3, ?4)");
  outbox_erase_ = prepare("DELETE FROM weir_outbox WHERE sink = ?1 AND seq = ?2");
  outbox_scan_ = prepare("SELECT seq, created, message FROM weir_outbox WHERE sink = ?1 AND seq >= ?2"
                         " ORDER BY seq LIMIT ?3");
}

void StateStore::begin() {
  exec("BEGIN IMMEDIATE");
  in_transaction_ = true;
}

void StateStore::commit() {
  exec("COMMIT");
  in_transaction_ = false;
}

void StateStore::rollback() {
  if (!in_transaction_) return;
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  in_transaction_ = false;
}

namespace {
void bind_text(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
void bind_blob(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_blob(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
}  // namespace

void StateStore::put(std::string_view pipeline, int64_t stage, std::string_view key,
                     std::string_view value) {
  if (put_ == nullptr) fail(StateError::Kind::kIo, "the store is read-only");
  bind_text(put_, 1, pipeline);
  sqlite3_bind_int64(put_, 2, stage);
  bind_blob(put_, 3, key);
  bind_blob(put_, 4, value);
  const int rc = sqlite3_step(put_);
  sqlite3_reset(put_);
  if (rc != SQLITE_DONE) fail(StateError::Kind::kIo, "saving a state entry");
}

void StateStore::erase(std::string_view pipeline, int64_t stage, std::string_view key) {
  if (erase_ == nullptr) fail(StateError::Kind::kIo, "the store is read-only");
  bind_text(erase_, 1, pipeline);
  sqlite3_bind_int64(erase_, 2, stage);
  bind_blob(erase_, 3, key);
  const int rc = sqlite3_step(erase_);
  sqlite3_reset(erase_);
  if (rc != SQLITE_DONE) fail(StateError::Kind::kIo, "erasing a state entry");
}

void StateStore::clear(std::string_view pipeline, int64_t stage) {
  if (clear_ == nullptr) fail(StateError::Kind::kIo, "the store is read-only");
  bind_text(clear_, 1, pipeline);
  sqlite3_bind_int64(clear_, 2, stage);
  const int rc = sqlite3_step(clear_);
  sqlite3_reset(clear_);
  if (rc != SQLITE_DONE) fail(StateError::Kind::kIo, "clearing a stage's state");
}

void StateStore::clear_all() {
  if (clear_ == nullptr) fail(StateError::Kind::kIo, "the store is read-only");
  exec("DELETE FROM weir_state");
}

void StateStore::for_each(std::string_view pipeline, int64_t stage,
                          const std::function<void(std::string_view, std::string_view)>& visit) const {
  sqlite3_stmt* s = scan_;
  bool own = false;
  if (s == nullptr) {  // read-only stores prepare on demand
    s = prepare("SELECT key, value FROM weir_state WHERE pipeline = ?1 AND stage = ?2 ORDER BY key");
    own = true;
  }
  bind_text(s, 1, pipeline);
  sqlite3_bind_int64(s, 2, stage);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const auto* k = static_cast<const char*>(sqlite3_column_blob(s, 0));
    const auto* v = static_cast<const char*>(sqlite3_column_blob(s, 1));
    visit(std::string_view(k != nullptr ? k : "", static_cast<size_t>(sqlite3_column_bytes(s, 0))),
          std::string_view(v != nullptr ? v : "", static_cast<size_t>(sqlite3_column_bytes(s, 1))));
  }
  sqlite3_reset(s);
  if (own) sqlite3_finalize(s);
  if (rc != SQLITE_DONE) fail(is_corruption(rc) ? StateError::Kind::kCorrupt : StateError::Kind::kIo, "reading state");
}

void StateStore::outbox_put(std::string_view sink, uint64_t seq, int64_t created, std::string_view message) {
  if (outbox_put_ == nullptr) fail(StateError::Kind::kIo, "the store is read-only");
  bind_text(outbox_put_, 1, sink);
  sqlite3_bind_int64(outbox_put_, 2, static_cast<int64_t>(seq));
  sqlite3_bind_int64(outbox_put_, 3, created);
  bind_blob(outbox_put_, 4, message);
  const int rc = sqlite3_step(outbox_put_);
  sqlite3_reset(outbox_put_);
  if (rc != SQLITE_DONE) fail(StateError::Kind::kIo, "saving an outbox entry");
}

void StateStore::outbox_erase(std::string_view sink, uint64_t seq) {
  if (outbox_erase_ == nullptr) fail(StateError::Kind::kIo, "the store is read-only");
  bind_text(outbox_erase_, 1, sink);
  sqlite3_bind_int64(outbox_erase_, 2, static_cast<int64_t>(seq));
  const int rc = sqlite3_step(outbox_erase_);
  sqlite3_reset(outbox_erase_);
  if (rc != SQLITE_DONE) fail(StateError::Kind::kIo, "erasing an outbox entry");
}

void StateStore::outbox_scan(std::string_view sink, uint64_t from_seq, size_t limit,
                             const std::function<void(uint64_t, int64_t, std::string_view)>& visit) const {
  if (outbox_scan_ == nullptr) fail(StateError::Kind::kIo, "the store is read-only");
  bind_text(outbox_scan_, 1, sink);
  sqlite3_bind_int64(outbox_scan_, 2, static_cast<int64_t>(from_seq));
  sqlite3_bind_int64(outbox_scan_, 3, static_cast<int64_t>(limit));
  int rc;
  while ((rc = sqlite3_step(outbox_scan_)) == SQLITE_ROW) {
    const auto* m = static_cast<const char*>(sqlite3_column_blob(outbox_scan_, 2));
    visit(static_cast<uint64_t>(sqlite3_column_int64(outbox_scan_, 0)), sqlite3_column_int64(outbox_scan_, 1),
          std::string_view(m != nullptr ? m : "", static_cast<size_t>(sqlite3_column_bytes(outbox_scan_, 2))));
  }
  sqlite3_reset(outbox_scan_);
  if (rc != SQLITE_DONE) fail(is_corruption(rc) ? StateError::Kind::kCorrupt : StateError::Kind::kIo, "reading the outbox");
}

void StateStore::outbox_index(std::string_view sink,
                              const std::function<void(uint64_t, int64_t, int64_t)>& visit) const {
  if (schema_version_ < 2) return;
  sqlite3_stmt* s = prepare("SELECT seq, created, length(message) FROM weir_outbox WHERE sink = ?1 ORDER BY seq");
  bind_text(s, 1, sink);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    visit(static_cast<uint64_t>(sqlite3_column_int64(s, 0)), sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2));
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) fail(is_corruption(rc) ? StateError::Kind::kCorrupt : StateError::Kind::kIo, "reading the outbox");
}

StoreSummary StateStore::summary() const {
  StoreSummary out;
  out.schema_version = schema_version_;
  auto rows = [&](const char* sql, const std::function<void(sqlite3_stmt*)>& each) {
    sqlite3_stmt* s = prepare(sql);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) each(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) fail(StateError::Kind::kIo, std::string("reading ") + sql);
  };
  auto text = [](sqlite3_stmt* s, int i) {
    const unsigned char* t = sqlite3_column_text(s, i);
    return t != nullptr ? std::string(reinterpret_cast<const char*>(t)) : std::string();
  };
  rows("PRAGMA journal_mode", [&](sqlite3_stmt* s) { out.journal_mode = text(s, 0); });
  if (schema_version_ == 0) return out;
  rows("SELECT key, value FROM weir_meta", [&](sqlite3_stmt* s) {
    const std::string k = text(s, 0);
    if (k == "created_by") out.created_by = text(s, 1);
    if (k == "created_at") out.created_at = text(s, 1);
  });
  rows("SELECT pipeline, stage, count(*), sum(length(key) + length(value)) FROM weir_state"
       " GROUP BY pipeline, stage ORDER BY pipeline, stage",
       [&](sqlite3_stmt* s) {
         out.stages.push_back({text(s, 0), sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2),
                               sqlite3_column_int64(s, 3)});
       });
  if (schema_version_ >= 2) {
    rows("SELECT sink, count(*), sum(length(message)), min(created) FROM weir_outbox GROUP BY sink ORDER BY sink",
         [&](sqlite3_stmt* s) {
           out.outboxes.push_back({text(s, 0), sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2),
                                   sqlite3_column_int64(s, 3)});
         });
  }
  return out;
}

}  // namespace weir::state
