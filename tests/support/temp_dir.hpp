#pragma once
// A fresh directory under the system's temp directory, removed with everything in it.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace kwm::test {

struct temp_dir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("kwm-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  temp_dir() { std::filesystem::create_directories(path); }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  void write(const std::string& name, const std::string& content) const {
    std::filesystem::create_directories((path / name).parent_path());
    std::ofstream(path / name, std::ios::binary) << content;
  }
  static inline int counter = 0;
};

}  // namespace kwm::test
