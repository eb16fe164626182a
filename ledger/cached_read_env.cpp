#include "ledger/cached_read_env.hpp"

#include <fcntl.h>
#include <leveldb/env.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

namespace pc::ledger {
namespace {

leveldb::Status file_error(const std::string& path, int error_number) {
  if (error_number == ENOENT) return leveldb::Status::NotFound(path, std::strerror(error_number));
  return leveldb::Status::IOError(path, std::strerror(error_number));
}

class PreadFile final : public leveldb::RandomAccessFile {
 public:
  // `fd` -1: the file is opened for each read. `open_files` counts the files kept open.
  PreadFile(std::string path, int fd, std::atomic<int>& open_files) : path_(std::move(path)), fd_(fd), open_files_(open_files) {}
  ~PreadFile() override {
    if (fd_ >= 0) {
      ::close(fd_);
      open_files_.fetch_sub(1);
    }
  }
  PreadFile(const PreadFile&) = delete;
  PreadFile& operator=(const PreadFile&) = delete;

  // As LevelDB's own reader: a short read is returned as it is (the table code reports a
  // truncated block), an error as an IOError.
  leveldb::Status Read(std::uint64_t offset, std::size_t n, leveldb::Slice* result, char* scratch) const override {
    int fd = fd_;
    if (fd < 0) {
      fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return file_error(path_, errno);
    }
    ssize_t read_bytes = 0;
    do {
      read_bytes = ::pread(fd, scratch, n, static_cast<off_t>(offset));
    } while (read_bytes < 0 && errno == EINTR);
    const int read_error = errno;
    if (fd != fd_) ::close(fd);
    *result = leveldb::Slice(scratch, read_bytes < 0 ? 0 : static_cast<std::size_t>(read_bytes));
    if (read_bytes < 0) return file_error(path_, read_error);
    return leveldb::Status::OK();
  }

 private:
  const std::string path_;
  const int fd_;
  std::atomic<int>& open_files_;
};

class CachedReadEnv final : public leveldb::EnvWrapper {
 public:
  CachedReadEnv(leveldb::Env* base, int open_files_max) : EnvWrapper(base), open_files_max_(open_files_max) {}

  leveldb::Status NewRandomAccessFile(const std::string& path, leveldb::RandomAccessFile** result) override {
    *result = nullptr;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return file_error(path, errno);
    if (open_files_.fetch_add(1) >= open_files_max_) {
      open_files_.fetch_sub(1);
      ::close(fd);
      *result = new PreadFile(path, -1, open_files_);
    } else {
      *result = new PreadFile(path, fd, open_files_);
    }
    return leveldb::Status::OK();
  }

 private:
  const int open_files_max_;
  std::atomic<int> open_files_{0};
};

}  // namespace

std::unique_ptr<leveldb::Env> make_cached_read_env(leveldb::Env* base, int open_files_max) {
  return std::make_unique<CachedReadEnv>(base, open_files_max);
}

leveldb::Env* cached_read_env() {
  static leveldb::Env* const env = make_cached_read_env(leveldb::Env::Default(), cached_read_open_files_max).release();
  return env;
}

}  // namespace pc::ledger
