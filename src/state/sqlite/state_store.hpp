// The state store: one SQLite database per weir instance, in WAL mode. It holds every
// pipeline's state entries (what stages save through StateWriter), and is opened only after
// it has been checked: a file that is not a weir database, is corrupt or truncated, is empty,
// or was written by a newer weir is refused with a message saying which, so weir does not
// start on it (StoreOptions::fresh moves such a file aside and starts a new one).
// All SQL of the store is in state_store.cpp; tables are prefixed "weir_".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace weir::state {

// The schema this weir writes; migrations from every older version are additive.
inline constexpr int kSchemaVersion = 2;
// PRAGMA application_id of a weir state database ("WEIR").
inline constexpr int32_t kApplicationId = 0x57454952;

class StateError : public std::runtime_error {
 public:
  enum class Kind : uint8_t { kCannotOpen, kNotWeir, kEmpty, kCorrupt, kNewer, kIo };
  StateError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const noexcept { return kind_; }

 private:
  Kind kind_;
};

enum class Synchronous : uint8_t { kOff, kNormal, kFull };

struct StoreOptions {
  std::string path;
  Synchronous synchronous = Synchronous::kNormal;
  bool read_only = false;  // inspection (weir state): never creates, migrates or writes
  // A database that cannot be used is renamed to "<path>.broken-<unix seconds>" (with its
  // -wal and -shm files) and a new one is created, instead of failing.
  bool fresh = false;
};

// What a database holds, for `weir state`.
struct StoreSummary {
  int schema_version = 0;
  std::string created_by;
  std::string created_at;
  std::string journal_mode;
  struct Stage {
    std::string pipeline;
    int64_t stage = 0;
    int64_t entries = 0;
    int64_t bytes = 0;
  };
  std::vector<Stage> stages;
  struct Outbox {
    std::string sink;
    int64_t entries = 0;
    int64_t bytes = 0;
    int64_t oldest = 0;  // creation time of the oldest entry, epoch ms
  };
  std::vector<Outbox> outboxes;
};

class StateStore {
 public:
  // Opens (creating when missing, unless read-only) and checks the database; throws
  // StateError. set_aside() reports where a broken file went when options.fresh was used.
  static std::unique_ptr<StateStore> open(const StoreOptions& options);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  const std::string& path() const noexcept { return path_; }
  const std::string& set_aside() const noexcept { return set_aside_; }
  int schema_version() const noexcept { return schema_version_; }

  // One transaction around a checkpoint; nothing is visible to a reader (or survives a
  // crash) until commit().
  void begin();
  void commit();
  void rollback();

  // State entries of one stage of one pipeline, by key.
  void put(std::string_view pipeline, int64_t stage, std::string_view key, std::string_view value);
  void erase(std::string_view pipeline, int64_t stage, std::string_view key);
  // Removes every entry of one stage (before it is written again in full).
  void clear(std::string_view pipeline, int64_t stage);
  // Removes every stage's entries (before a full checkpoint).
  void clear_all();
  void for_each(std::string_view pipeline, int64_t stage,
                const std::function<void(std::string_view key, std::string_view value)>& visit) const;

  // The outbox of each store-and-forward sink: serialized outputs by sequence number.
  void outbox_put(std::string_view sink, uint64_t seq, int64_t created, std::string_view message);
  void outbox_erase(std::string_view sink, uint64_t seq);
  // Entries with seq >= from_seq, in order, at most limit.
  void outbox_scan(std::string_view sink, uint64_t from_seq, size_t limit,
                   const std::function<void(uint64_t seq, int64_t created, std::string_view message)>& visit) const;
  // Every entry's seq, creation time and size, in order, without reading the messages.
  void outbox_index(std::string_view sink,
                    const std::function<void(uint64_t seq, int64_t created, int64_t bytes)>& visit) const;

  StoreSummary summary() const;

 private:
  explicit StateStore(std::string path) : path_(std::move(path)) {}
  void check_and_migrate(const StoreOptions& options);
  void exec(const char* sql) const;
  sqlite3_stmt* prepare(const char* sql) const;
  [[noreturn]] void fail(StateError::Kind kind, const std::string& what) const;

  std::string path_;
  std::string set_aside_;
  sqlite3* db_ = nullptr;
  int schema_version_ = 0;
  bool in_transaction_ = false;
  sqlite3_stmt* put_ = nullptr;
  sqlite3_stmt* erase_ = nullptr;
  sqlite3_stmt* scan_ = nullptr;
  sqlite3_stmt* clear_ = nullptr;
  sqlite3_stmt* outbox_put_ = nullptr;
  sqlite3_stmt* outbox_erase_ = nullptr;
  sqlite3_stmt* outbox_scan_ = nullptr;
};

}  // namespace weir::state
