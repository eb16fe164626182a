// What outside the chain store remembers of how high the chain was, so that a node never
// starts silently below a height it had committed and announced. A truncated LevelDB log, a
// chain/ on a volume that is not mounted, or a store restored from an old backup all look,
// to the store itself, like a healthy shorter chain; only something the store's damage does
// not reach can tell.
//
// Every source that knows a height it saw committed gives a HeightClaim: today the
// committed-height file and the history index. Later sources (consensus and webhook logs)
// join by adding theirs where Node gathers the claims at start-up.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "ledger/errors.hpp"

namespace pc::node {

struct HeightClaim {
  std::string source;          // for people: what says so, and where ("history index data/history")
  std::uint64_t height = 0;    // the chain was at least this high
};

// Throws std::runtime_error naming every claim above `store_height`, what was lost and what
// the operator can do (docs/node.md, "Lost blocks"), unless `accept_lost_blocks`: then it
// writes that warning to `log` and returns.
void check_height_claims(const std::filesystem::path& store_directory, std::uint64_t store_height,
                         const std::vector<HeightClaim>& claims, bool accept_lost_blocks, std::ostream& log);

// data_dir/committed-height: the highest height this node committed, kept beside chain/ but
// outside it and outside LevelDB. It is written with fdatasync after each block's synced
// store write and before the block is published, so it is never below a height anyone was
// told about, and never above what the store once held.
//
// Format: the height as 20 decimal digits and "\n" (21 bytes), overwritten in place at
// offset 0. One write of 21 bytes lies within one disk sector, which disks write whole, and
// overwriting allocated bytes needs no new space, so a full disk does not stop it on
// ordinary (non copy-on-write) file systems.
class CommittedHeightFile {
 public:
  static constexpr char file_name[] = "committed-height";
  static constexpr std::size_t record_bytes = 21;

  // The recorded height; nullopt when the file does not exist. Throws std::runtime_error when
  // it exists but cannot be read or does not hold a height in the format above.
  static std::optional<std::uint64_t> read(const std::filesystem::path& path);

  // Opens or creates the file and records `height` durably (the new file's directory entry
  // too). Throws std::runtime_error.
  CommittedHeightFile(const std::filesystem::path& path, std::uint64_t height);
  ~CommittedHeightFile();
  CommittedHeightFile(const CommittedHeightFile&) = delete;
  CommittedHeightFile& operator=(const CommittedHeightFile&) = delete;

  // Records `height` durably (pwrite, fdatasync). io_error when either fails.
  ledger::Status record(std::uint64_t height);

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace pc::node
