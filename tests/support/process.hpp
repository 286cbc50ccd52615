// Starts a child process with its output in files; used by integration tests to run the
// real weir, weir-sim and mosquitto binaries.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace weir::test {

class Process {
 public:
  Process() = default;
  // Starts argv[0] (a path) with the given arguments; stdout and stderr go to log_file.
  Process(std::vector<std::string> argv, std::string log_file);
  ~Process();
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;

  pid_t pid() const noexcept { return pid_; }
  bool running();
  // Sends a signal (SIGTERM by default).
  void signal(int sig);
  // Waits for exit up to timeout; the exit code (or 128 + signal), nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL after grace; returns the exit status.
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));
  const std::string& log_file() const noexcept { return log_file_; }
  std::string log() const;
  // VmHWM (peak resident set) of the running process in KiB, from /proc.
  long peak_rss_kib() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string log_file_;
};

// Runs a command to completion; returns its exit code and captures stdout/stderr.
struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
RunResult run_command(const std::vector<std::string>& argv,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(60000),
                      const std::string& stdin_text = "");

// A fresh temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const noexcept { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void write(const std::string& name, const std::string& text) const;

 private:
  std::string path_;
};

std::string read_file(const std::string& path);

// Polls cond every 10 ms until it is true or timeout passes.
template <typename Cond>
bool wait_until(Cond cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    struct timespec ts{0, 10 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  return cond();
}

}  // namespace weir::test
