#include "node/height_claims.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ostream>
#include <stdexcept>

namespace pc::node {
namespace {

std::string errno_text() { return std::strerror(errno); }

std::string encode_height(std::uint64_t height) {
  std::string digits = std::to_string(height);
  return std::string(CommittedHeightFile::record_bytes - 1 - digits.size(), '0') + digits + "\n";
}

}  // namespace

void check_height_claims(const std::filesystem::path& store_directory, std::uint64_t store_height,
                         const std::vector<HeightClaim>& claims, bool accept_lost_blocks, std::ostream& log) {
  std::uint64_t highest = store_height;
  std::string sources;
  for (const HeightClaim& claim : claims) {
    if (claim.height <= store_height) continue;
    highest = std::max(highest, claim.height);
    sources += "\n  " + claim.source + " says the chain reached height " + std::to_string(claim.height);
  }
  if (highest == store_height) return;
  const std::string lost = "blocks " + std::to_string(store_height + 1) + " to " + std::to_string(highest);
  const std::string situation = "the chain store " + store_directory.string() + " ends at height " +
                                std::to_string(store_height) + ", but" + sources + "\n" + lost +
                                " were committed and may have been announced, and the store no longer holds them.";
  if (!accept_lost_blocks) {
    throw std::runtime_error(situation +
                             "\nRestore the data dir from a backup that holds them, or start with "
                             "`run --accept-lost-blocks` to continue from height " +
                             std::to_string(store_height) + " and give them up (docs/node.md, \"Lost blocks\")");
  }
  log << "pointchain-node: WARNING: " << situation << "\npointchain-node: --accept-lost-blocks: continuing from height "
      << store_height << "; " << lost << " are given up, and new blocks will be made at those heights\n"
      << std::flush;
}

std::optional<std::uint64_t> CommittedHeightFile::read(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw std::runtime_error("cannot read " + path.string() + ": " + errno_text());
  }
  char buffer[record_bytes + 1];
  const ssize_t size = ::pread(fd, buffer, sizeof buffer, 0);
  ::close(fd);
  const std::string text(buffer, size < 0 ? 0 : static_cast<std::size_t>(size));
  bool valid = text.size() == record_bytes && text.back() == '\n';
  std::uint64_t height = 0;
  for (std::size_t i = 0; valid && i + 1 < record_bytes; ++i) {
    const char digit = text[i];
    // 20 digits can exceed 2^64 - 1: refuse rather than wrap.
    valid = digit >= '0' && digit <= '9' && height <= (UINT64_MAX - static_cast<std::uint64_t>(digit - '0')) / 10;
    if (valid) height = height * 10 + static_cast<std::uint64_t>(digit - '0');
  }
  if (!valid) {
    throw std::runtime_error(path.string() + " does not hold a committed height (20 digits and a newline): it is " +
                             "damaged. If the chain store is known to be whole, delete the file; the node " +
                             "writes it again at the next start");
  }
  return height;
}

CommittedHeightFile::CommittedHeightFile(const std::filesystem::path& path, std::uint64_t height) : path_(path) {
  const bool existed = std::filesystem::exists(path_);
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error("cannot open " + path_.string() + ": " + errno_text());
  if (auto status = record(height); !status) {
    ::close(fd_);
    throw std::runtime_error(status.error().detail);
  }
  if (!existed) {
    // The file's directory entry must be durable too, or a crash could lose the whole file.
    const int directory = ::open(path_.parent_path().empty() ? "." : path_.parent_path().c_str(),
                                 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const bool synced = directory >= 0 && ::fsync(directory) == 0;
    if (directory >= 0) ::close(directory);
    if (!synced) {
      ::close(fd_);
      throw std::runtime_error("cannot sync the directory of " + path_.string() + ": " + errno_text());
    }
  }
}

CommittedHeightFile::~CommittedHeightFile() {
  if (fd_ >= 0) ::close(fd_);
}

ledger::Status CommittedHeightFile::record(std::uint64_t height) {
  const std::string text = encode_height(height);
  if (::pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()) || ::fdatasync(fd_) != 0) {
    return ledger::Error{ledger::Code::io_error, "cannot record height " + std::to_string(height) + " in " +
                                                     path_.string() + ": " + errno_text()};
  }
  return {};
}

}  // namespace pc::node
