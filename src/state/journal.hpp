// The journal: every QoS 1 message is appended here before its PUBACK leaves, so a crash
// after the acknowledgement cannot lose it. Append-only segment files of length- and
// CRC-framed records, written with one write() each (in the OS page cache when append()
// returns: a kill -9 loses nothing; a power cut may lose what the OS had not written, and
// a torn last record is found by its CRC and cut off on open). After a checkpoint records
// the last sequence number its state reflects, trim() deletes the segments wholly before
// it; on start, replay() hands back everything after it.
//
//   <dir>/journal-<first seq, 20 digits>.log
//   record: u32 length of the rest | u32 CRC-32 of what follows it | u64 seq |
//           u32 connection | u32 MQTT message id | i64 received (ms) | u32 topic length |
//           topic | payload
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace weir::state {

class JournalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct JournalRecord {
  uint64_t seq = 0;
  uint32_t connection = 0;
  uint32_t mid = 0;  // the broker's packet id (recognises a redelivery)
  int64_t received = 0;
  std::string topic;
  std::string payload;
};

struct JournalOptions {
  std::string dir;                             // created when missing
  uint64_t segment_bytes = 64ull * 1024 * 1024;  // a new segment starts past this size
  // Inspection (weir state, possibly while weir runs): creates nothing, cuts nothing off,
  // and append() is refused.
  bool read_only = false;
};

class Journal {
 public:
  // Opens the journal in options.dir: finds the segments, checks the last one record by
  // record and cuts off a torn or corrupt tail (counted in truncated_bytes()). Throws
  // JournalError when the directory cannot be used.
  static std::unique_ptr<Journal> open(const JournalOptions& options);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Appends one message and returns its sequence number; the record is in the OS page
  // cache when this returns. Thread-safe. Throws JournalError on a write error (disk full):
  // the message must then not be acknowledged.
  uint64_t append(uint32_t connection, uint32_t mid, int64_t received, std::string_view topic,
                  std::string_view payload);
  // Makes the next record's seq at least after + 1 (a journal deleted or older than the
  // checkpoint that names `after` must not hand out numbers the checkpoint already covers).
  void continue_after(uint64_t after);
  // Visits every record with after < seq <= upto, in order, reading nothing past upto (so
  // it may run while append() adds records after upto). Throws JournalError on a corrupt
  // record before the tail.
  void replay(uint64_t after, const std::function<void(const JournalRecord&)>& visit,
              uint64_t upto = UINT64_MAX) const;
  // Deletes the segments whose records all have seq <= upto (never the one being written).
  void trim(uint64_t upto);
  // Forces the current segment to disk (fdatasync).
  void sync();

  uint64_t last_seq() const;           // 0 when empty
  uint64_t first_seq() const;          // of the oldest record kept (last_seq() + 1 when empty)
  uint64_t bytes() const;              // on disk, all segments
  size_t segments() const;
  uint64_t truncated_bytes() const noexcept { return truncated_; }

 private:
  struct Segment {
    uint64_t first_seq = 0;  // seq of its first record (the name)
    uint64_t last_seq = 0;   // 0 while empty
    uint64_t bytes = 0;
    std::string path;
  };
  explicit Journal(JournalOptions options) : options_(std::move(options)) {}
  void start_segment(uint64_t first_seq);
  // Reads the records of one segment; stops at the first invalid one and returns the
  // offset of the end of the last valid record.
  static uint64_t scan(const std::string& path, uint64_t after, uint64_t upto,
                       const std::function<void(const JournalRecord&)>* visit, uint64_t& last_seq,
                       bool& clean);

  JournalOptions options_;
  mutable std::mutex mutex_;
  std::vector<Segment> segments_;
  int fd_ = -1;  // the last segment, open for appending
  uint64_t next_seq_ = 1;
  uint64_t truncated_ = 0;
  std::string buffer_;
};

}  // namespace weir::state
