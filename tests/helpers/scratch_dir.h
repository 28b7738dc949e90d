#pragma once
/// A fresh directory under the system's temporary directory, removed with everything in it when
/// the test ends.

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace test {

class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix = "mcpbg-test") {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace test
