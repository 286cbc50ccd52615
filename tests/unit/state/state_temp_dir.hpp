// A fresh directory under /tmp for one test's database and journal files, removed after.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

namespace weir::state::test {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/weir-state-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace weir::state::test
