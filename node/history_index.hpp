// Per-account history: a second LevelDB (data_dir/history) of (height, position, event)
// entries derived from the events of committed blocks, newest first on read. It is derived
// data, never consulted by consensus: the chain store is the truth, and this index can be
// deleted at any time and is rebuilt on the next start.
//
// Layout (all integers big-endian so that keys sort by height):
//   "G"                                   genesis hash: an index of another chain is rebuilt
//   "M"                                   indexed height u64
//   "E" | account (32) | height u64 | event position in the block u32
//                                         -> index u32 | kind u8 | partner u16 | points u64 | tx id (32)
// A block's entries and the new indexed height are one WriteBatch. Writes are not synced:
// after a power cut the index may be behind the chain, which the start-up check repairs.
//
// Thread-safety: LevelDB is, so entries() runs on any thread; add_block() and indexed_height()
// on one thread (the node's observer thread, node/observer_thread.hpp).
#pragma once

#include <filesystem>
#include <memory>

#include "ledger/store.hpp"
#include "node/node.hpp"

namespace leveldb {
class DB;
}

namespace pc::node {

class HistoryIndex {
 public:
  // Opens `directory`. If the index is of another genesis, unreadable, or behind or ahead of
  // `chain`'s tip, it is deleted and rebuilt by replaying every block of `chain` from genesis
  // (execute_block on a fresh State: O(chain), done once after a crash). Throws
  // std::runtime_error when it cannot be opened or rebuilt.
  HistoryIndex(const std::filesystem::path& directory, const ledger::ChainStore& chain);
  ~HistoryIndex();
  HistoryIndex(const HistoryIndex&) = delete;

  // The height the index in `directory` says it reached, if it is an index of `genesis` that
  // opens; nullopt otherwise (absent, of another chain, unreadable). Creates nothing. Start-up
  // asks this before opening the index, which would rebuild an index ahead of the chain down
  // to the chain's height and so erase the evidence of lost blocks (node/height_claims.hpp).
  static std::optional<std::uint64_t> recorded_height(const std::filesystem::path& directory,
                                                      const ledger::Genesis& genesis);
  HistoryIndex& operator=(const HistoryIndex&) = delete;

  // Records a committed block's events. io_error, and nothing written, unless the block is
  // the one after indexed_height() (a failed earlier write leaves the index behind until the
  // next start rebuilds it).
  ledger::Status add_block(const ledger::Block& block, const std::vector<ledger::Event>& events);

  // Newest first, strictly before `before` (see HistoryCursor), at most `limit` entries.
  std::vector<HistoryEntry> entries(const crypto::PublicKey& account, HistoryCursor before, std::size_t limit) const;

  std::uint64_t indexed_height() const { return indexed_height_; }
  // Whether opening it had to rebuild it (tests and the start-up message).
  bool rebuilt() const { return rebuilt_; }

 private:
  void open_database(const std::filesystem::path& directory);
  void rebuild(const std::filesystem::path& directory, const ledger::ChainStore& chain);

  std::unique_ptr<leveldb::DB> db_;
  std::uint64_t indexed_height_ = 0;
  bool rebuilt_ = false;
};

}  // namespace pc::node
