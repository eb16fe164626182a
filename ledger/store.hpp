// The chain store: blocks, indexes and state records in one LevelDB. A block and every state
// change it causes are one WriteBatch written with sync=true, so a crash at any instant
// leaves either the old tip or the new one. The key layout is in docs/protocol.md, "Store".
//
// Thread-safety: none. The owner serialises calls (the node holds it behind its own lock).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>

#include "ledger/chain.hpp"

namespace leveldb {
class DB;
}

namespace pc::ledger {

struct TxLocation {
  std::uint64_t height = 0;
  std::uint32_t index = 0;
};

class ChainStore {
 public:
  enum class Mode {
    load_state,  // load and check the state records (a node)
    raw,         // no state in memory (the audit, which rebuilds the state by replay)
  };

  // Opens or creates the store in `directory` for `genesis`. A new store gets the genesis
  // state. An existing store must have been created with the same genesis
  // (genesis_mismatch), and its tip block must decode and match the tip record (corruption).
  static Result<std::unique_ptr<ChainStore>> open(const std::filesystem::path& directory,
                                                  const Genesis& genesis, Mode mode = Mode::load_state);
  ~ChainStore();
  ChainStore(const ChainStore&) = delete;
  ChainStore& operator=(const ChainStore&) = delete;

  const Genesis& genesis() const { return genesis_; }
  const Tip& tip() const { return tip_; }
  // Precondition: opened with Mode::load_state.
  const State& state() const { return *state_; }

  // Validates `block` against the tip (envelope, execution, state hash) and commits it.
  // With already_verified, the caller has run verify_block_signatures. On error nothing
  // changes, on disk or in memory. Returns the block's changes (events included).
  Result<BlockChanges> append(const Block& block, SignatureCheck check);

  // For a proposer that has just executed the block on state(): checks the envelope and that
  // `changes` belong to this block, then commits without executing again.
  Status append_executed(const Block& block, BlockChanges&& changes);

  // append_executed in two steps, for a node that keeps serving reads during the synced
  // write: write_executed() checks the block and its changes and writes them durably, leaving
  // tip() and state() as they were; publish() then makes the block the tip in memory. Between
  // the two, only reads may run on this store.
  Status write_executed(const Block& block, const BlockChanges& changes);
  void publish(const Block& block, BlockChanges&& changes);

  Result<Bytes> block_bytes_at(std::uint64_t height) const;
  Result<Block> block_at(std::uint64_t height) const;
  Result<std::uint64_t> height_of(const Hash256& block_hash) const;
  Result<TxLocation> find_transaction(const Hash256& tx_id) const;
  // The stored state records, sorted by key (what the audit compares with its replay).
  Result<std::vector<Record>> stored_records() const;
  // The tip as recorded on disk (the audit compares it with the replayed chain).
  Result<Tip> stored_tip() const;

  // One stored key and value, classified by the key layout (docs/protocol.md, "Store layout")
  // so that the audit can account for every key. `id` is the key after its tag (a big-endian
  // height, a block or transaction id, a record key); a key whose tag or length fits no entry
  // of the layout is outside_layout.
  enum class KeyKind { genesis, tip, block, block_index, tx_index, record, outside_layout };
  struct Entry {
    KeyKind kind;
    ByteSpan key;
    ByteSpan id;
    ByteSpan value;
  };
  // Visits every entry in key order until `visit` returns false. The spans live for one call.
  Status for_each_entry(const std::function<bool(const Entry&)>& visit) const;

  // Bytes on disk of the LevelDB directory (benchmarks report bytes per transaction).
  std::uint64_t disk_bytes() const;
  // Compacts the whole key range (benchmarks measure size after compaction).
  void compact();
  // Tests use this to corrupt stored bytes through LevelDB itself.
  leveldb::DB& database_for_tests() { return *db_; }

 private:
  ChainStore(std::filesystem::path directory, Genesis genesis, std::unique_ptr<leveldb::DB> db);
  Status write(const Block& block, const BlockChanges& changes);

  std::filesystem::path directory_;
  Genesis genesis_;
  std::unique_ptr<leveldb::DB> db_;
  Tip tip_;
  std::unique_ptr<State> state_;
};

}  // namespace pc::ledger
