// The $merge sink: writes a pipeline's outputs to tables of a local SQLite database, one row
// per output, upserted by output id, so a later revision of a window replaces its row.
//
// The message topic names the table (created on first use); the row id is the output id, or
// a hash of topic and payload when there is none. Writes are batched: send() runs the upsert
// inside a transaction it opens when none is, poll() commits it and only then confirms the
// tickets of its rows. A commit the database refuses for now (busy, disk full, I/O error) is
// rolled back and the same rows are written again by a later poll(), at most once per retry
// interval; ready() is false meanwhile. All SQL of the sink is at the top of merge_sink.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/rate_limited_log.hpp"
#include "weir/sink.hpp"
#include "weir/time.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace weir::sink {

struct MergeSinkOptions {
  // How long a statement waits for another connection's lock before failing with busy.
  int busy_timeout_ms = 1000;
  // How often poll() retries after the database refused a write or a commit.
  TimeMs retry_interval_ms = 500;
  // Time for updated_at and for pacing retries; nullptr: the system clock. Not owned.
  const Clock* clock = nullptr;
};

class MergeSink final : public Sink {
 public:
  MergeSink(std::string connection_name, std::string db_path, MergeSinkOptions options = {});
  ~MergeSink() override;
  MergeSink(const MergeSink&) = delete;
  MergeSink& operator=(const MergeSink&) = delete;

  // Opens the database, creating it when missing (WAL, synchronous FULL, busy timeout), and
  // checks that it can be written. False with an error naming the connection and the path.
  bool start(std::string& error);

  // [A-Za-z_][A-Za-z0-9_]{0,63}, not starting with "sqlite_" (SQLite's own tables).
  static bool valid_table_name(std::string_view table) noexcept;
  // The row id of a message: its output id, or 16 hex digits of FNV-1a over topic and payload.
  static std::string row_id(const OutputMessage& message);

  std::string_view name() const noexcept override { return name_; }
  // kOk: the row is written in the open transaction (confirmed by the poll() that commits it).
  // kError: invalid table name, or the database refused the row for good (constraint, schema).
  // kRetry: not started, or the database refuses writes for now (ready() is false).
  SinkResult send(const OutputMessage& message) override;
  bool ready() const noexcept override { return db_ != nullptr && !failing_; }
  // Commits the open transaction and confirms its tickets; while writes fail, retries them.
  void poll(std::vector<SinkConfirmation>& confirmed) override;

  // Rows accepted by send() and not committed yet.
  size_t uncommitted() const noexcept { return pending_.size(); }

 private:
  // The outcome of one database step.
  enum class Step : uint8_t { kOk, kTransient, kPermanent };

  struct Row {
    std::string table;
    std::string id;
    std::string pipeline;  // empty: NULL (also group_key and the window bounds)
    std::string group_key;
    std::string window_start;
    std::string window_end;
    std::string doc;
    std::string updated_at;
    uint64_t ticket = 0;
  };
  struct StatementDeleter {
    void operator()(sqlite3_stmt* s) const noexcept;
  };
  using Statement = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

  TimeMs now() const { return clock_ != nullptr ? clock_->now() : system_clock_.now(); }
  Step exec(const char* sql, std::string& error);
  Step begin(std::string& error);
  sqlite3_stmt* upsert_for(const std::string& table, Step& step, std::string& error);
  Step write(const Row& row, std::string& error);
  // Writes the rows again after a rollback; a row refused for good is dropped and reported.
  Step rewrite(std::vector<SinkConfirmation>& confirmed, std::string& error);
  void commit(std::vector<SinkConfirmation>& confirmed);
  // After a failed step: notices a transaction SQLite rolled back by itself (true).
  bool check_transaction();
  void roll_back();
  void fail_for_now(const std::string& error);
  void refuse_pending(std::vector<SinkConfirmation>& confirmed, const std::string& error);

  std::string name_;
  std::string connection_;
  std::string path_;
  MergeSinkOptions options_;
  const Clock* clock_;
  SystemClock system_clock_;
  sqlite3* db_ = nullptr;
  // The upsert of each table used since the last rollback (a rollback can undo a CREATE).
  std::unordered_map<std::string, Statement> upserts_;
  bool in_transaction_ = false;
  // Accepted rows not yet committed; all in the open transaction unless failing_.
  std::vector<Row> pending_;
  bool failing_ = false;
  TimeMs last_attempt_ = 0;
  core::RateLimitedLog log_;
};

}  // namespace weir::sink
