#include "sink/sqlite/merge_sink.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <cstring>
#include <utility>

#include "core/fnv.hpp"

namespace weir::sink {

namespace {

// All SQL of the $merge sink. "<t>" stands for a table name; valid_table_name() admits only
// [A-Za-z_][A-Za-z0-9_]*, so a name never needs escaping inside the double quotes. The index
// name holds a dot, which no table name of this sink can, so it never collides with a table.
namespace sql {

constexpr const char* kJournalMode = "PRAGMA journal_mode=WAL";
// One commit per engine tick; FULL syncs it, so a confirmed row survives a power cut.
constexpr const char* kSynchronous = "PRAGMA synchronous=FULL";
// IMMEDIATE: the write lock is taken here, so a busy database shows before any row is written.
constexpr const char* kBegin = "BEGIN IMMEDIATE";
constexpr const char* kCommit = "COMMIT";
constexpr const char* kRollback = "ROLLBACK";

constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS \"<t>\" (id TEXT PRIMARY KEY, pipeline TEXT, group_key TEXT,"
    " window_start TEXT, window_end TEXT, doc TEXT NOT NULL, updated_at TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS \"<t>.window_start\" ON \"<t>\" (window_start)";

// Parameters: ?1 id, ?2 pipeline, ?3 group_key, ?4 window_start, ?5 window_end, ?6 doc,
// ?7 updated_at. A later revision of the same output replaces the row.
constexpr std::string_view kUpsert =
    "INSERT INTO \"<t>\" (id, pipeline, group_key, window_start, window_end, doc, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    " ON CONFLICT (id) DO UPDATE SET pipeline = excluded.pipeline,"
    " group_key = excluded.group_key, window_start = excluded.window_start,"
    " window_end = excluded.window_end, doc = excluded.doc, updated_at = excluded.updated_at";

std::string for_table(std::string_view tmpl, std::string_view table) {
  std::string out;
  out.reserve(tmpl.size() + 3 * table.size());
  for (size_t pos = 0;;) {
    const size_t at = tmpl.find("<t>", pos);
    if (at == std::string_view::npos) {
      out.append(tmpl.substr(pos));
      return out;
    }
    out.append(tmpl.substr(pos, at - pos)).append(table);
    pos = at + 3;
  }
}

}  // namespace sql

constexpr std::string_view kPipelineHeader = "weir-pipeline";
constexpr std::string_view kWindowStartHeader = "weir-window-start";
constexpr std::string_view kWindowEndHeader = "weir-window-end";
constexpr size_t kMaxTableName = 64;

// Errors after which the same write may succeed later: a lock held by another connection, a
// full disk, an I/O error, a file made read-only for a while.
bool transient(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_NOMEM:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_READONLY:
      return true;
    default:
      return false;
  }
}

// SQLite's message, the system's reason when there is one, and the extended result code.
std::string describe(sqlite3* db, int rc) {
  std::string what = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const int system_errno = db != nullptr ? sqlite3_system_errno(db) : 0;
  if (system_errno != 0 && ((rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_IOERR ||
                            (rc & 0xff) == SQLITE_FULL)) {
    what += std::string(": ") + std::strerror(system_errno);
  }
  return what + " (code " + std::to_string(rc) + ")";
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

void bind_text_or_null(sqlite3_stmt* s, int index, const std::string& text) {
  if (text.empty()) {
    sqlite3_bind_null(s, index);
  } else {
    sqlite3_bind_text(s, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  }
}

}  // namespace

void MergeSink::StatementDeleter::operator()(sqlite3_stmt* s) const noexcept {
  sqlite3_finalize(s);
}

MergeSink::MergeSink(std::string connection_name, std::string db_path, MergeSinkOptions options)
    : name_("sqlite:" + connection_name),
      connection_(std::move(connection_name)),
      path_(std::move(db_path)),
      options_(options),
      clock_(options.clock) {}

MergeSink::~MergeSink() {
  if (db_ == nullptr) return;
  // Rows not confirmed yet are kept by the engine and sent again; writing them now as well is
  // harmless (an upsert), and keeps the rows of messages sent without a ticket.
  std::string error;
  if (in_transaction_ && exec(sql::kCommit, error) != Step::kOk) {
    spdlog::warn("{}: {}: the last {} row(s) were not written: {}", name_, path_, pending_.size(),
                 error);
  }
  roll_back();
  upserts_.clear();
  sqlite3_close_v2(db_);
}

bool MergeSink::valid_table_name(std::string_view table) noexcept {
  if (table.empty() || table.size() > kMaxTableName) return false;
  for (size_t i = 0; i < table.size(); ++i) {
    const char c = table[i];
    const bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return !starts_with_nocase(table, "sqlite_");
}

std::string MergeSink::row_id(const OutputMessage& message) {
  if (!message.output_id.empty()) return message.output_id;
  return core::hex16(core::fnv1a(core::fnv1a(core::kFnvOffset, message.topic), message.payload));
}

bool MergeSink::start(std::string& error) {
  if (db_ != nullptr) return true;
  auto fail = [&](const std::string& what) {
    error = "connection \"" + connection_ + "\": SQLite database \"" + path_ + "\": " + what;
    upserts_.clear();
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = nullptr;
    return false;
  };
  int rc =
      sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) return fail("cannot open it: " + describe(db_, rc));
  sqlite3_extended_result_codes(db_, 1);
  // SQLite opens a file it may not write read-only, without an error.
  if (sqlite3_db_readonly(db_, "main") == 1) {
    return fail("it can only be opened read-only (no write permission); $merge writes to it");
  }
  sqlite3_busy_timeout(db_, options_.busy_timeout_ms);

  sqlite3_stmt* s = nullptr;
  rc = sqlite3_prepare_v2(db_, sql::kJournalMode, -1, &s, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_step(s);
  std::string mode;
  if (rc == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(s, 0);
    if (text != nullptr) mode = reinterpret_cast<const char*>(text);
  } else {
    const std::string what = describe(db_, rc);
    sqlite3_finalize(s);
    return fail("cannot use it: " + what);
  }
  sqlite3_finalize(s);
  if (mode != "wal") return fail("cannot switch it to WAL mode (journal mode \"" + mode + "\")");

  std::string what;
  if (exec(sql::kSynchronous, what) != Step::kOk) return fail("cannot use it: " + what);
  // A first write, so a directory where the -wal file cannot be created fails now rather than
  // at the first output. Another writer holding the lock just now is no reason to fail.
  rc = sqlite3_exec(db_, sql::kBegin, nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_exec(db_, sql::kCommit, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) {
    return fail("cannot write to it: " + describe(db_, rc));
  }
  if (sqlite3_get_autocommit(db_) == 0) {
    sqlite3_exec(db_, sql::kRollback, nullptr, nullptr, nullptr);
  }
  return true;
}

MergeSink::Step MergeSink::exec(const char* sql_text, std::string& error) {
  const int rc = sqlite3_exec(db_, sql_text, nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) return Step::kOk;
  error = describe(db_, rc);
  return transient(rc) ? Step::kTransient : Step::kPermanent;
}

MergeSink::Step MergeSink::begin(std::string& error) {
  const Step step = exec(sql::kBegin, error);
  if (step == Step::kOk) in_transaction_ = true;
  return step;
}

sqlite3_stmt* MergeSink::upsert_for(const std::string& table, Step& step, std::string& error) {
  auto it = upserts_.find(table);
  if (it != upserts_.end()) {
    step = Step::kOk;
    return it->second.get();
  }
  step = exec(sql::for_table(sql::kCreateTable, table).c_str(), error);
  if (step != Step::kOk) return nullptr;
  const std::string text = sql::for_table(sql::kUpsert, table);
  sqlite3_stmt* s = nullptr;
  const int rc = sqlite3_prepare_v3(db_, text.c_str(), static_cast<int>(text.size()),
                                    SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(s);
    error = describe(db_, rc);
    step = transient(rc) ? Step::kTransient : Step::kPermanent;
    return nullptr;
  }
  upserts_.emplace(table, Statement(s));
  return s;
}

MergeSink::Step MergeSink::write(const Row& row, std::string& error) {
  Step step = Step::kOk;
  sqlite3_stmt* s = upsert_for(row.table, step, error);
  if (s == nullptr) return step;
  sqlite3_bind_text(s, 1, row.id.data(), static_cast<int>(row.id.size()), SQLITE_STATIC);
  bind_text_or_null(s, 2, row.pipeline);
  bind_text_or_null(s, 3, row.group_key);
  bind_text_or_null(s, 4, row.window_start);
  bind_text_or_null(s, 5, row.window_end);
  sqlite3_bind_text(s, 6, row.doc.data(), static_cast<int>(row.doc.size()), SQLITE_STATIC);
  sqlite3_bind_text(s, 7, row.updated_at.data(), static_cast<int>(row.updated_at.size()),
                    SQLITE_STATIC);
  const int rc = sqlite3_step(s);
  if (rc != SQLITE_DONE) error = describe(db_, rc);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if (rc == SQLITE_DONE) return Step::kOk;
  return transient(rc) ? Step::kTransient : Step::kPermanent;
}

SinkResult MergeSink::send(const OutputMessage& message) {
  if (!ready()) return SinkResult::kRetry;
  if (!valid_table_name(message.topic)) {
    log_.warn(now(), name_ + ": invalid table name",
              "\"" + message.topic + "\" (expected [A-Za-z_][A-Za-z0-9_]{0,63}, not sqlite_...)");
    return SinkResult::kError;
  }
  Row row;
  row.table = message.topic;
  row.id = row_id(message);
  row.group_key = message.key;
  for (const auto& [header, value] : message.headers) {
    if (header == kPipelineHeader) row.pipeline = value;
    if (header == kWindowStartHeader) row.window_start = value;
    if (header == kWindowEndHeader) row.window_end = value;
  }
  row.doc = message.payload;
  row.updated_at = format_iso8601(now());
  row.ticket = message.ticket;

  std::string error;
  Step step = in_transaction_ ? Step::kOk : begin(error);
  if (step == Step::kOk) step = write(row, error);
  switch (step) {
    case Step::kOk:
      pending_.push_back(std::move(row));
      return SinkResult::kOk;
    case Step::kTransient:
      fail_for_now(error);
      return SinkResult::kRetry;
    case Step::kPermanent:
      break;
  }
  log_.warn(now(), name_ + ": row refused",
            "table \"" + row.table + "\", id \"" + row.id + "\": " + error);
  check_transaction();
  return SinkResult::kError;
}

void MergeSink::poll(std::vector<SinkConfirmation>& confirmed) {
  if (db_ == nullptr) return;
  if (failing_) {
    const TimeMs t = now();
    if (t - last_attempt_ < options_.retry_interval_ms) return;
    last_attempt_ = t;
    std::string error;
    Step step = begin(error);
    if (step == Step::kOk) step = rewrite(confirmed, error);
    if (step != Step::kOk) {
      roll_back();
      spdlog::debug("{}: {}: still failing: {}", name_, path_, error);
      return;
    }
  } else if (!in_transaction_) {
    return;
  }
  commit(confirmed);
}

MergeSink::Step MergeSink::rewrite(std::vector<SinkConfirmation>& confirmed, std::string& error) {
  // Rows the database refused for good are confirmed as failed and leave pending_ on every
  // way out, so a row is never confirmed twice.
  std::vector<bool> refused(pending_.size(), false);
  auto drop_refused = [&] {
    size_t kept = 0;
    for (size_t i = 0; i < pending_.size(); ++i) {
      if (refused[i]) continue;
      if (kept != i) pending_[kept] = std::move(pending_[i]);
      ++kept;
    }
    pending_.resize(kept);
  };
  for (size_t i = 0; i < pending_.size(); ++i) {
    Step step = write(pending_[i], error);
    if (step == Step::kPermanent && sqlite3_get_autocommit(db_) != 0) step = Step::kTransient;  // rows so far gone
    if (step == Step::kTransient) {
      drop_refused();
      return step;
    }
    if (step == Step::kPermanent) {
      log_.warn(now(), name_ + ": row refused",
                "table \"" + pending_[i].table + "\", id \"" + pending_[i].id + "\": " + error);
      if (pending_[i].ticket != 0) confirmed.push_back({pending_[i].ticket, false, error, false});
      refused[i] = true;
    }
  }
  drop_refused();
  return Step::kOk;
}

void MergeSink::commit(std::vector<SinkConfirmation>& confirmed) {
  std::string error;
  const Step step = exec(sql::kCommit, error);
  if (step == Step::kOk) {
    in_transaction_ = false;
    for (const Row& row : pending_) {
      if (row.ticket != 0) confirmed.push_back({row.ticket, true, {}, false});
    }
    pending_.clear();
    if (failing_) {
      failing_ = false;
      spdlog::info("{}: {}: writing again", name_, path_);
    }
    return;
  }
  if (step == Step::kTransient) {
    fail_for_now(error);
    return;
  }
  spdlog::error("{}: {}: commit refused, {} row(s) lost: {}", name_, path_, pending_.size(), error);
  roll_back();
  refuse_pending(confirmed, error);
}

bool MergeSink::check_transaction() {
  if (!in_transaction_ || sqlite3_get_autocommit(db_) == 0) return false;
  // SQLite rolled the transaction back by itself: the accepted rows must be written again.
  in_transaction_ = false;
  upserts_.clear();
  if (!pending_.empty()) fail_for_now("the transaction was rolled back");
  return true;
}

void MergeSink::roll_back() {
  if (sqlite3_get_autocommit(db_) == 0)
    sqlite3_exec(db_, sql::kRollback, nullptr, nullptr, nullptr);
  in_transaction_ = false;
  // A rollback may undo the CREATE TABLE of a statement's table.
  upserts_.clear();
}

void MergeSink::fail_for_now(const std::string& error) {
  roll_back();
  last_attempt_ = now();
  if (failing_) return;
  failing_ = true;
  spdlog::warn("{}: {}: {}; keeping {} uncommitted row(s), retrying every {} ms", name_, path_,
               error, pending_.size(), options_.retry_interval_ms);
}

void MergeSink::refuse_pending(std::vector<SinkConfirmation>& confirmed, const std::string& error) {
  for (const Row& row : pending_) {
    if (row.ticket != 0) confirmed.push_back({row.ticket, false, error, false});
  }
  pending_.clear();
}

}  // namespace weir::sink
