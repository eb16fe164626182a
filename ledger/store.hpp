// The chain store: blocks, indexes and state records in one LevelDB. A block and every state
// change it causes are one WriteBatch written with sync=true, so a crash at any instant
// leaves either the old tip or the new one. The key layout is in docs/protocol.md, "Store".
//
// Thread-safety: one owner calls the methods that write or read tip() and state() (the
// node's writer thread). The read methods that take no state (block_at, block_bytes_at,
// height_of, find_transaction) and view() are thread-safe: they only read LevelDB. A
// StoreView reads the store as it was when view() was called, from any thread.
#pragma once

#include <filesystem>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>

#include "ledger/chain.hpp"
#include "ledger/merkle.hpp"
#include "ledger/proposer.hpp"
#include "ledger/votes.hpp"

namespace leveldb {
class DB;
class Env;
class Snapshot;
}

namespace pc::ledger {

struct TxLocation {
  std::uint64_t height = 0;
  std::uint32_t index = 0;
};

// A committed transaction with what proves it is in its block.
struct TransactionProof {
  Transaction tx;
  BlockHeader header;
  std::uint64_t tx_count = 0;          // in the block
  std::vector<Hash256> merkle_path;    // leaf to root: ledger::merkle_path over the block's ids
};

// A block's transactions are stored in chunks of this many, and its Merkle record holds the
// tree's levels from stored_merkle_first_level up, so that proving one transaction reads one
// chunk and one small record and hashes a handful of nodes (docs/protocol.md, "Store layout").
inline constexpr unsigned stored_merkle_first_level = 2;
inline constexpr std::size_t block_chunk_tx_count = std::size_t{1} << stored_merkle_first_level;

// The layout of the store's keys and values (docs/protocol.md, "Store layout"), kept in its
// `V` record so that a release that changes the layout can tell an older store from its own
// instead of misreading it. A store made before the record existed has none: it is format 1.
inline constexpr std::uint32_t store_format_version = 1;

// Evidence of equivocation the node found (docs/protocol.md, "Store layout"): one record per
// validator, height, round and vote type, whichever conflicting pair was found first. Bounds,
// so that a Byzantine validator signing a conflicting pair in every round cannot fill the
// disk: at most this many records per height (the engine reports at most as many) and in all.
// Beyond either, record_evidence refuses with too_large and stores nothing; the first
// records kept already prove the equivocation.
inline constexpr std::size_t stored_evidence_per_height_max = 64;
inline constexpr std::size_t stored_evidence_max = 10'000;

// Where an evidence record sits in key order: height, round, vote type, validator.
struct EvidencePosition {
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  std::uint8_t type = 0;       // VoteType's value; 0 sorts before both types
  PartnerId validator = 0;

  static EvidencePosition of(const Evidence& evidence);
  // The 15 bytes of the record's key after its tag (all big-endian), and back (nullopt: not 15 bytes).
  Bytes encode() const;
  static std::optional<EvidencePosition> decode(ByteSpan bytes);
  auto operator<=>(const EvidencePosition&) const = default;
};

struct EvidencePage {
  std::vector<Evidence> evidence;            // in key order
  std::optional<EvidencePosition> next;      // where the next page starts; nullopt: no more
};

// An evidence record's key id (after the tag) and value, decoded and checked to belong
// together: the value decodes as Evidence (docs/protocol.md, "Consensus messages") and the key
// is its position. corruption otherwise. Signatures are not checked (verify_evidence does).
Result<Evidence> decode_evidence_record(ByteSpan id, ByteSpan value);

// A block's tier changes (BlockChanges::tier_changes, in the order execution made them) are
// derived, not state: no hash covers them. The store keeps them beside every block it writes,
// so that a reader of an older block, the webhook queue catching up, can still tell who
// changed tier (docs/protocol.md, "Store layout"). The record: version u8 (1) | count (LEB128)
// | per change: customer (32) | from tier u8 | to tier u8 | partner u16 LE | tx id (32).
inline constexpr std::uint8_t tier_changes_record_version = 1;
Bytes encode_tier_changes(const std::vector<TierChange>& changes);
// corruption for bytes encode_tier_changes would not write: another version, a count above
// what the bytes can hold, a change whose tier did not change, a short or long value.
Result<std::vector<TierChange>> decode_tier_changes(ByteSpan bytes);

class ChainStore;

// The store as it was at one moment (a LevelDB snapshot): blocks, indexes and account
// records read through it never show a later write, so a reader that pairs it with the tip
// of that moment sees one consistent chain while the owner writes the next block. Cheap to
// copy; thread-safe. Every view must be gone before its store is destroyed (asserted).
class StoreView {
 public:
  StoreView() = default;
  Result<Block> block_at(std::uint64_t height) const;
  Result<std::uint64_t> height_of(const Hash256& block_hash) const;
  Result<TxLocation> find_transaction(const Hash256& tx_id) const;
  Result<TransactionProof> transaction_proof(const Hash256& tx_id, const TxLocation& location) const;
  // nullopt: no account with that key at this moment.
  Result<std::optional<Account>> account(const PublicKey& key) const;
  // One state record's value by its record key (docs/protocol.md, "State records"); nullopt
  // when there is none.
  Result<std::optional<Bytes>> state_record(ByteSpan record_key) const;
  // The state records whose keys start with `record_key_prefix`, in key order, from the first
  // key at or after `start` (empty: the prefix), at most `count_max` of them.
  Result<std::vector<Record>> state_records_with_prefix(ByteSpan record_key_prefix, ByteSpan start,
                                                        std::size_t count_max) const;

 private:
  friend class ChainStore;
  const ChainStore* store_ = nullptr;
  std::shared_ptr<const leveldb::Snapshot> snapshot_;
};

class ChainStore {
 public:
  enum class Mode {
    load_state,  // load and check the state records (a node)
    raw,         // no state in memory (the audit, which rebuilds the state by replay)
  };

  // Creates a new store in `directory` for `genesis`: the genesis record, its state and the
  // height-0 tip in one synced write. invalid_field when `directory` exists and holds
  // anything: a store is never made over files. Only the commands that make a data
  // dir call it (`init`, the demo set-ups); every other path uses open().
  // `env`: nullptr for the real file system; tests pass a LevelDB Env that injects faults.
  static Result<std::unique_ptr<ChainStore>> create(const std::filesystem::path& directory, const Genesis& genesis,
                                                    leveldb::Env* env = nullptr);

  // Opens the existing store in `directory`; never creates one. LevelDB runs with
  // create_if_missing=false (a directory without CURRENT would otherwise count as new, and
  // LevelDB would delete its table files) and paranoid_checks=true (a damaged log fails the
  // open instead of being skipped). Errors: not_found when the directory is missing or
  // empty; corruption when it holds files but no CURRENT, or LevelDB finds damage;
  // genesis_mismatch for a store of another genesis; corruption when the genesis record is
  // missing or the tip block does not decode or match the tip record; unknown_version when
  // its format version record is not store_format_version (a newer release made it).
  static Result<std::unique_ptr<ChainStore>> open(const std::filesystem::path& directory,
                                                  const Genesis& genesis, Mode mode = Mode::load_state,
                                                  leveldb::Env* env = nullptr);
  ~ChainStore();
  ChainStore(const ChainStore&) = delete;
  ChainStore& operator=(const ChainStore&) = delete;

  const Genesis& genesis() const { return genesis_; }
  const Tip& tip() const { return tip_; }
  // Precondition: opened with Mode::load_state.
  const State& state() const { return *state_; }

  // Validates `block` against the tip (envelope, proposer rule, execution, state hash) and
  // commits it.
  // With already_verified, the caller has run verify_block_signatures. On error nothing
  // changes, on disk or in memory. Returns the block's changes (events included).
  Result<BlockChanges> append(const Block& block, SignatureCheck check);

  // For a proposer that has just executed the block on state(): checks the envelope, the
  // proposer rule and that `changes` belong to this block, then commits without executing
  // again. A header.proposer other than the schedule's for (height, round) is wrong_proposer,
  // here and in append(), and nothing is written.
  Status append_executed(const Block& block, BlockChanges&& changes);

  // append_executed in two steps, for a node that keeps serving reads during the synced
  // write: write_executed() checks the block and its changes and writes them durably, leaving
  // tip() and state() as they were; publish() then makes the block the tip in memory. Between
  // the two, only reads may run on this store.
  // `verified`: the block's certificate as verify_commit already accepted it under this
  // store's genesis (the consensus engine's decision); its signatures are then not verified
  // again when it is exactly the block's certificate over the block's id
  // (check_block_certificate). Every other check runs as without it.
  // `tree`: the block's Merkle tree if the caller built it already (MerkleTree(ids,
  // stored_merkle_first_level) when it sealed or validated the block); used only when its ids
  // are exactly the block's, else the tree is built here. The checks are the same either way.
  Status write_executed(const Block& block, const BlockChanges& changes,
                        const VerifiedCertificate* verified = nullptr, const MerkleTree* tree = nullptr);
  void publish(const Block& block, BlockChanges&& changes);

  // What is committed now, for readers on any thread (see StoreView).
  StoreView view() const;

  // The first failed block write, if any. After one, LevelDB's log may end in a half-written
  // record, and a later write would land after it, in the middle of the log, where the next
  // open finds a checksum mismatch and refuses the whole store. So after a failed write this
  // store never writes again: every append/write_executed returns this error unchanged
  // without reaching LevelDB. Reopen the store (restart the process) to write again; LevelDB
  // then drops the torn tail of its log.
  const std::optional<Error>& write_failure() const { return write_failure_; }

  // Keeps `evidence` (one synced write) unless a record is already at its position. Returns
  // true when it was written, false when that position was taken (the same equivocation, or
  // another pair of the same validator, height, round and type: one proves it as well). The
  // evidence is verified against the genesis first (the errors of verify_evidence). too_large
  // past stored_evidence_per_height_max at its height or stored_evidence_max in all; nothing
  // is written then. A failed write is io_error and stops this store's writes like a failed
  // block write (write_failure()). The owner's thread only, like append.
  Result<bool> record_evidence(const Evidence& evidence);
  // Evidence records from `from` on, in key order, at most `limit` (at least 1). Thread-safe:
  // reads what is written now, not a view. corruption for a record that does not decode or
  // sits under another position's key.
  Result<EvidencePage> evidence_page(const EvidencePosition& from, std::size_t limit) const;

  // The block's canonical encoding, put back together from its frame and transaction chunks.
  Result<Bytes> block_bytes_at(std::uint64_t height) const;
  Result<Block> block_at(std::uint64_t height) const;
  Result<std::uint64_t> height_of(const Hash256& block_hash) const;
  Result<TxLocation> find_transaction(const Hash256& tx_id) const;
  // The transaction `tx_id` at `location` (from find_transaction) with its block's header and
  // Merkle path, read from its chunk and the block's Merkle record, not the whole block.
  // corruption when the records disagree with each other or do not hold `tx_id` there.
  Result<TransactionProof> transaction_proof(const Hash256& tx_id, const TxLocation& location) const;
  // The block's Merkle record (merkle_levels of its ids from stored_merkle_first_level): what
  // the audit compares with the levels it computes.
  Result<std::vector<Hash256>> stored_merkle_levels(std::uint64_t height, std::uint64_t tx_count) const;
  // What the block at `height` changed in customers' tiers, as stored beside it: nullopt for a
  // block without a record (written by a release that kept none, or not written at all).
  // corruption for a record that does not decode. Thread-safe, like block_at.
  Result<std::optional<std::vector<TierChange>>> tier_changes_at(std::uint64_t height) const;
  // The tier change record of `height` as stored (nullopt: none), for the audit to compare.
  Result<std::optional<Bytes>> stored_tier_changes(std::uint64_t height) const;
  // The stored state records, sorted by key (what the audit compares with its replay).
  Result<std::vector<Record>> stored_records() const;
  // The tip as recorded on disk (the audit compares it with the replayed chain).
  Result<Tip> stored_tip() const;

  // One stored key and value, classified by the key layout (docs/protocol.md, "Store layout")
  // so that the audit can account for every key. `id` is the key after its tag (a big-endian
  // height, a block or transaction id, a record key); a key whose tag or length fits no entry
  // of the layout is outside_layout.
  enum class KeyKind {
    genesis, format_version, tip, block, block_chunk, merkle, block_index, tx_index, record, evidence, tier_changes,
    outside_layout
  };
  struct Entry {
    KeyKind kind;
    ByteSpan key;
    ByteSpan id;     // after the one-byte tag: for block, block_chunk, merkle and tier_changes, the height first
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
  friend class StoreView;
  ChainStore(std::filesystem::path directory, Genesis genesis, std::unique_ptr<leveldb::DB> db);
  // The reads behind the public ones and StoreView's; `at` nullptr reads the latest.
  Result<Bytes> block_bytes_at(std::uint64_t height, const leveldb::Snapshot* at) const;
  Result<Block> block_at(std::uint64_t height, const leveldb::Snapshot* at) const;
  Result<std::uint64_t> height_of(const Hash256& block_hash, const leveldb::Snapshot* at) const;
  Result<TxLocation> find_transaction(const Hash256& tx_id, const leveldb::Snapshot* at) const;
  Result<TransactionProof> transaction_proof(const Hash256& tx_id, const TxLocation& location,
                                             const leveldb::Snapshot* at) const;
  // `tree_levels` is merkle_levels(block.tx_ids(), stored_merkle_first_level), stored as the
  // block's Merkle record.
  Status write(const Block& block, const BlockChanges& changes, std::span<const Hash256> tree_levels);
  // What every block passes before it is written: check_block_envelope against the tip and
  // the proposer rule of the next height. The header's root is checked against the root of
  // `tree_levels` (the block's, as write takes them), so that a block's tree is built once
  // here, not once for the check and again for its record: on the writer, per block.
  // `verified` as for write_executed.
  Status check_appendable(const Block& block, std::span<const Hash256> tree_levels,
                          const VerifiedCertificate* verified = nullptr);

  std::filesystem::path directory_;
  Genesis genesis_;
  std::unique_ptr<leveldb::DB> db_;
  Tip tip_;
  std::unique_ptr<State> state_;
  // The proposer schedule of tip_.height + 1, built at the first append and stepped on at
  // each publish (building it costs O((height mod total power) x validators); stepping,
  // O(validators)).
  std::optional<ProposerSchedule> next_schedule_;
  // StoreViews alive: each holds a LevelDB snapshot of db_.
  mutable std::atomic<std::size_t> views_alive_{0};
  std::optional<Error> write_failure_;
  // Evidence records stored; counted at the first record_evidence (owner's thread).
  std::optional<std::uint64_t> evidence_count_;
};

}  // namespace pc::ledger
