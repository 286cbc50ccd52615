#include "state/journal.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace weir::state {

namespace {

namespace fs = std::filesystem;

constexpr char kPrefix[] = "journal-";
constexpr char kSuffix[] = ".log";
constexpr size_t kDigits = 20;
// After the two leading u32: seq, connection, mid, received, topic length.
constexpr size_t kFixed = 8 + 4 + 4 + 8 + 4;
constexpr size_t kTopicLenAt = 24;
constexpr uint32_t kMaxRecord = 256u * 1024 * 1024;

std::string segment_name(uint64_t first_seq) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s%020llu%s", kPrefix, static_cast<unsigned long long>(first_seq), kSuffix);
  return buf;
}

bool parse_name(const std::string& name, uint64_t& first_seq) {
  const size_t plen = sizeof(kPrefix) - 1, slen = sizeof(kSuffix) - 1;
  if (name.size() != plen + kDigits + slen || name.compare(0, plen, kPrefix) != 0 ||
      name.compare(plen + kDigits, slen, kSuffix) != 0) {
    return false;
  }
  first_seq = 0;
  for (size_t i = plen; i < plen + kDigits; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    first_seq = first_seq * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return true;
}

template <typename T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

template <typename T>
T get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

uint32_t crc_of(const char* p, size_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    const uInt chunk = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(p), chunk);
    p += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

std::unique_ptr<Journal> Journal::open(const JournalOptions& options) {
  std::unique_ptr<Journal> j(new Journal(options));
  std::error_code ec;
  if (options.read_only) {
    if (!fs::is_directory(options.dir, ec)) return j;  // no journal: an empty one
  } else {
    fs::create_directories(options.dir, ec);
  }
  if (ec) throw JournalError(options.dir + ": cannot create the journal directory: " + ec.message());
  for (const auto& entry : fs::directory_iterator(options.dir, ec)) {
    uint64_t first = 0;
    if (!entry.is_regular_file() || !parse_name(entry.path().filename().string(), first)) continue;
    j->segments_.push_back({first, 0, static_cast<uint64_t>(entry.file_size()), entry.path().string()});
  }
  if (ec) throw JournalError(options.dir + ": cannot list the journal: " + ec.message());
  std::sort(j->segments_.begin(), j->segments_.end(),
            [](const Segment& a, const Segment& b) { return a.first_seq < b.first_seq; });
  // Segments are contiguous: each one ends where the next begins.
  for (size_t i = 0; i + 1 < j->segments_.size(); ++i) {
    j->segments_[i].last_seq = j->segments_[i + 1].first_seq - 1;
  }
  if (j->segments_.empty()) {
    if (!options.read_only) j->start_segment(1);
    return j;
  }
  // The last segment may end in a torn record (a crash or power cut mid-write): keep what
  // is whole and cut the rest.
  Segment& last = j->segments_.back();
  uint64_t last_seq = 0;
  bool clean = true;
  const uint64_t good = scan(last.path, 0, UINT64_MAX, nullptr, last_seq, clean);
  if (options.read_only) {
    last.last_seq = last_seq;
    j->next_seq_ = last_seq > 0 ? last_seq + 1 : last.first_seq;
    return j;
  }
  if (good < last.bytes) {
    if (::truncate(last.path.c_str(), static_cast<off_t>(good)) != 0) {
      throw JournalError(last.path + ": cannot cut off a torn tail: " + errno_text());
    }
    j->truncated_ = last.bytes - good;
    last.bytes = good;
  }
  last.last_seq = last_seq;
  j->next_seq_ = last_seq > 0 ? last_seq + 1 : last.first_seq;
  j->fd_ = ::open(last.path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (j->fd_ < 0) throw JournalError(last.path + ": cannot open for appending: " + errno_text());
  return j;
}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
}

void Journal::start_segment(uint64_t first_seq) {
  const std::string path = (fs::path(options_.dir) / segment_name(first_seq)).string();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) throw JournalError(path + ": cannot create a journal segment: " + errno_text());
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  segments_.push_back({first_seq, 0, 0, path});
  next_seq_ = first_seq;
}

void Journal::continue_after(uint64_t after) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (options_.read_only || next_seq_ > after) return;
  if (!segments_.empty() && segments_.back().bytes == 0) {  // an empty segment: replace it
    std::error_code ec;
    fs::remove(segments_.back().path, ec);
    segments_.pop_back();
  }
  start_segment(after + 1);
}

uint64_t Journal::append(uint32_t connection, uint32_t mid, int64_t received, std::string_view topic,
                         std::string_view payload) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (fd_ < 0) throw JournalError(options_.dir + ": the journal is open read-only");
  if (segments_.back().bytes >= options_.segment_bytes && segments_.back().last_seq > 0) {
    start_segment(next_seq_);
  }
  const uint64_t seq = next_seq_;
  const uint64_t rest = 4 + kFixed + topic.size() + payload.size();  // crc + fields
  if (rest > kMaxRecord) throw JournalError("a message of " + std::to_string(payload.size()) + " bytes is too large for the journal");
  buffer_.clear();
  put<uint32_t>(buffer_, static_cast<uint32_t>(rest));
  put<uint32_t>(buffer_, 0);  // the CRC, filled in below
  put<uint64_t>(buffer_, seq);
  put<uint32_t>(buffer_, connection);
  put<uint32_t>(buffer_, mid);
  put<int64_t>(buffer_, received);
  put<uint32_t>(buffer_, static_cast<uint32_t>(topic.size()));
  buffer_.append(topic);
  buffer_.append(payload);
  const uint32_t crc = crc_of(buffer_.data() + 8, buffer_.size() - 8);
  std::memcpy(buffer_.data() + 4, &crc, 4);
  size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = errno_text();
      // Leave no partial record behind for the next append to follow.
      if (done > 0 && ::ftruncate(fd_, static_cast<off_t>(segments_.back().bytes)) != 0) {
        throw JournalError(segments_.back().path + ": write failed (" + why +
                           ") and the partial record could not be removed");
      }
      throw JournalError(segments_.back().path + ": write failed: " + why);
    }
    done += static_cast<size_t>(n);
  }
  Segment& seg = segments_.back();
  seg.bytes += buffer_.size();
  seg.last_seq = seq;
  next_seq_ = seq + 1;
  return seq;
}

uint64_t Journal::scan(const std::string& path, uint64_t after, uint64_t upto,
                       const std::function<void(const JournalRecord&)>* visit, uint64_t& last_seq,
                       bool& clean) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw JournalError(path + ": cannot read: " + errno_text());
  uint64_t good = 0;
  last_seq = 0;
  clean = true;
  std::string body;
  JournalRecord rec;
  for (;;) {
    char head[8];
    in.read(head, sizeof(head));
    if (in.gcount() == 0) break;  // the end, cleanly
    if (in.gcount() < static_cast<std::streamsize>(sizeof(head))) {
      clean = false;
      break;
    }
    const uint32_t rest = get<uint32_t>(head);
    const uint32_t crc = get<uint32_t>(head + 4);
    if (rest < 4 + kFixed || rest > kMaxRecord) {
      clean = false;
      break;
    }
    body.resize(rest - 4);
    in.read(body.data(), static_cast<std::streamsize>(body.size()));
    if (in.gcount() < static_cast<std::streamsize>(body.size()) ||
        crc_of(body.data(), body.size()) != crc) {
      clean = false;
      break;
    }
    const uint64_t seq = get<uint64_t>(body.data());
    const uint32_t topic_len = get<uint32_t>(body.data() + kTopicLenAt);
    if ((last_seq != 0 && seq != last_seq + 1) || topic_len > body.size() - kFixed) {
      clean = false;
      break;
    }
    last_seq = seq;
    good += 8 + body.size();
    if (visit != nullptr && seq > after && seq <= upto) {
      rec.seq = seq;
      rec.connection = get<uint32_t>(body.data() + 8);
      rec.mid = get<uint32_t>(body.data() + 12);
      rec.received = get<int64_t>(body.data() + 16);
      rec.topic.assign(body.data() + kFixed, topic_len);
      rec.payload.assign(body.data() + kFixed + topic_len, body.size() - kFixed - topic_len);
      (*visit)(rec);
    }
    // Past `upto` the writer may be appending right now: never read what it has half written.
    if (seq >= upto) break;
  }
  return good;
}

void Journal::replay(uint64_t after, const std::function<void(const JournalRecord&)>& visit,
                     uint64_t upto) const {
  std::vector<Segment> segs;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    segs = segments_;
  }
  for (size_t i = 0; i < segs.size(); ++i) {
    const bool last = i + 1 == segs.size();
    if (!last && segs[i].last_seq <= after) continue;
    if (segs[i].first_seq > upto) break;
    uint64_t last_seq = 0;
    bool clean = true;
    const uint64_t good = scan(segs[i].path, after, upto, &visit, last_seq, clean);
    if (last_seq >= upto) return;  // all that was asked for; what follows may be in the writing
    // A read-only reader may see the writer's record half-written at the very end.
    if ((!clean && !(last && options_.read_only)) || (!last && good != segs[i].bytes)) {
      throw JournalError(segs[i].path + ": corrupt record at byte " + std::to_string(good) +
                         " (before the end of the journal)");
    }
  }
}

void Journal::trim(uint64_t upto) {
  std::lock_guard<std::mutex> lock(mutex_);
  while (segments_.size() > 1 && segments_.front().last_seq <= upto) {
    std::error_code ec;
    fs::remove(segments_.front().path, ec);
    if (ec) throw JournalError(segments_.front().path + ": cannot delete: " + ec.message());
    segments_.erase(segments_.begin());
  }
}

void Journal::sync() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (fd_ >= 0 && ::fdatasync(fd_) != 0) {
    throw JournalError(segments_.back().path + ": fdatasync failed: " + errno_text());
  }
}

uint64_t Journal::last_seq() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return next_seq_ - 1;
}

uint64_t Journal::first_seq() const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& s : segments_) {
    if (s.last_seq >= s.first_seq) return s.first_seq;
  }
  return next_seq_;
}

uint64_t Journal::bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t n = 0;
  for (const auto& s : segments_) n += s.bytes;
  return n;
}

size_t Journal::segments() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return segments_.size();
}

}  // namespace weir::state
