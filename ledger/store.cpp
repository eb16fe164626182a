#include "ledger/store.hpp"

#include <leveldb/db.h>
#include <leveldb/iterator.h>
#include <leveldb/write_batch.h>

#include <algorithm>
#include <cstring>

#include "crypto/check.hpp"
#include "ledger/cached_read_env.hpp"
#include "ledger/codec.hpp"
#include "ledger/limits.hpp"
#include "ledger/merkle.hpp"

namespace pc::ledger {
namespace {

constexpr char block_prefix = 'B';      // B || height (BE u64) -> block frame;
                                        // B || height || chunk (BE u32) -> transactions
constexpr char merkle_prefix = 'M';     // M || height (BE u64) -> Merkle levels
constexpr char hash_prefix = 'H';       // H || block id -> height (big-endian u64)
constexpr char tx_prefix = 'X';         // X || tx id -> height (BE u64) || index (BE u32)
constexpr char record_prefix = 'S';     // S || record key -> record value
constexpr char evidence_prefix = 'E';   // E || height (BE u64) || round (BE u32) || type || validator (BE u16)
                                        //   -> Evidence encoding
constexpr char tier_changes_prefix = 'C';  // C || height (BE u64) -> the block's tier changes
constexpr std::size_t evidence_id_bytes = 8 + 4 + 1 + 2;
const std::string tip_key = "T";        // -> tip (docs/protocol.md)
const std::string genesis_key = "G";    // -> canonical genesis bytes
const std::string format_version_key = "V";  // -> store_format_version, u32 LE

Bytes encode_format_version(std::uint32_t version) {
  Writer out;
  out.u32(version);
  return Bytes(out.view().begin(), out.view().end());
}

std::string key_with(char prefix, ByteSpan body) {
  std::string key(1, prefix);
  key.append(body.begin(), body.end());
  return key;
}

std::string key_at_height(char prefix, std::uint64_t height) {
  std::string key(1, prefix);
  append_big_endian(key, height, 8);
  return key;
}

std::string height_key(std::uint64_t height) { return key_at_height(block_prefix, height); }
std::string merkle_key(std::uint64_t height) { return key_at_height(merkle_prefix, height); }
std::string tier_changes_key(std::uint64_t height) { return key_at_height(tier_changes_prefix, height); }

std::string chunk_key(std::uint64_t height, std::uint64_t chunk) {
  std::string key = height_key(height);
  append_big_endian(key, chunk, 4);
  return key;
}

std::size_t chunk_count(std::uint64_t tx_count) {
  return static_cast<std::size_t>((tx_count + block_chunk_tx_count - 1) / block_chunk_tx_count);
}

// Transactions in chunk `chunk` of a block of `tx_count`.
std::size_t chunk_size(std::uint64_t tx_count, std::size_t chunk) {
  return static_cast<std::size_t>(std::min<std::uint64_t>(block_chunk_tx_count, tx_count - chunk * block_chunk_tx_count));
}

// A chunk is its transactions' length-prefixed bytes, exactly as in the block's encoding, and
// holds exactly `expected` of them: otherwise a lookup by position would read the wrong one.
Result<std::vector<ByteSpan>> split_chunk(ByteSpan chunk, std::size_t expected) {
  Reader in(chunk);
  std::vector<ByteSpan> transactions;
  transactions.reserve(expected);
  for (std::size_t i = 0; i < expected && in.ok(); ++i) {
    const std::uint64_t size = in.length(tx_bytes_max, "transaction");
    transactions.push_back(in.raw(static_cast<std::size_t>(size)));
  }
  if (auto status = in.finish(); !status) return Error{Code::corruption, "transaction chunk: " + status.error().message()};
  return transactions;
}

leveldb::Slice slice(const Bytes& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

Bytes to_bytes(std::string_view text) { return Bytes(text.begin(), text.end()); }

Bytes encode_tip(const Tip& tip) {
  Writer out;
  out.u64(tip.height);
  out.raw(tip.block_hash);
  out.raw(tip.state_hash);
  out.u64(tip.time_ms);
  return out.take();
}

Result<Tip> decode_tip(ByteSpan bytes) {
  Reader in(bytes);
  Tip tip;
  tip.height = in.u64();
  tip.block_hash = in.fixed<32>();
  tip.state_hash = in.fixed<32>();
  tip.time_ms = in.u64();
  if (auto status = in.finish(); !status) return Error{Code::corruption, "tip record: " + status.error().message()};
  return tip;
}

// Bad stored bytes (a checksum mismatch, a damaged table or log) are corruption, as the audit
// and the RPC report them; anything else LevelDB reports (no space, a lock held) is io_error.
Error storage_error(const leveldb::Status& status) {
  return Error{status.IsCorruption() ? Code::corruption : Code::io_error, status.ToString()};
}

leveldb::ReadOptions verified_read(const leveldb::Snapshot* at = nullptr) {
  leveldb::ReadOptions options;
  options.verify_checksums = true;
  options.snapshot = at;
  return options;
}

std::string evidence_key(const EvidencePosition& position) {
  std::string key(1, evidence_prefix);
  const Bytes id = position.encode();
  key.append(id.begin(), id.end());
  return key;
}

ByteSpan span_of(const leveldb::Slice& slice) {
  return {reinterpret_cast<const std::uint8_t*>(slice.data()), slice.size()};
}

}  // namespace

Bytes encode_tier_changes(const std::vector<TierChange>& changes) {
  Writer out;
  out.u8(tier_changes_record_version);
  out.length(changes.size());
  for (const TierChange& change : changes) {
    PC_CHECK(change.from_tier != change.to_tier);
    out.raw(change.customer);
    out.u8(change.from_tier);
    out.u8(change.to_tier);
    out.u16(change.partner);
    out.raw(change.tx_id);
  }
  return out.take();
}

Result<std::vector<TierChange>> decode_tier_changes(ByteSpan bytes) {
  constexpr std::size_t change_bytes = 32 + 1 + 1 + 2 + 32;
  Reader in(bytes);
  const std::uint8_t version = in.u8();
  if (in.ok() && version != tier_changes_record_version) {
    return Error{Code::corruption, "tier change record of version " + std::to_string(version)};
  }
  // Bounded by what the bytes can hold, so that a damaged count allocates nothing.
  const std::uint64_t count = in.length(bytes.size() / change_bytes, "tier changes");
  std::vector<TierChange> changes;
  changes.reserve(in.ok() ? static_cast<std::size_t>(count) : 0);
  for (std::uint64_t i = 0; i < count && in.ok(); ++i) {
    TierChange change;
    change.customer = in.fixed<32>();
    change.from_tier = in.u8();
    change.to_tier = in.u8();
    change.partner = in.u16();
    change.tx_id = in.fixed<32>();
    if (in.ok() && change.from_tier == change.to_tier) {
      return Error{Code::corruption, "tier change record: change " + std::to_string(i) + " keeps tier " +
                                         std::to_string(change.from_tier)};
    }
    changes.push_back(change);
  }
  if (auto status = in.finish(); !status) {
    return Error{Code::corruption, "tier change record: " + status.error().message()};
  }
  return changes;
}

EvidencePosition EvidencePosition::of(const Evidence& evidence) {
  const Vote& vote = evidence.first;
  return {vote.height, vote.round, static_cast<std::uint8_t>(vote.type), vote.validator};
}

Bytes EvidencePosition::encode() const {
  std::string id;
  append_big_endian(id, height, 8);
  append_big_endian(id, round, 4);
  append_big_endian(id, type, 1);
  append_big_endian(id, validator, 2);
  PC_CHECK(id.size() == evidence_id_bytes);
  return to_bytes(id);
}

std::optional<EvidencePosition> EvidencePosition::decode(ByteSpan bytes) {
  if (bytes.size() != evidence_id_bytes) return std::nullopt;
  const std::string_view id(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return EvidencePosition{read_big_endian(id.substr(0, 8)), static_cast<std::uint32_t>(read_big_endian(id.substr(8, 4))),
                          static_cast<std::uint8_t>(read_big_endian(id.substr(12, 1))),
                          static_cast<PartnerId>(read_big_endian(id.substr(13, 2)))};
}

Result<Evidence> decode_evidence_record(ByteSpan id, ByteSpan value) {
  const auto corrupt = [&id](const std::string& detail) {
    return Error{Code::corruption, "evidence record " + to_hex(id) + ": " + detail};
  };
  auto evidence = Evidence::decode(value);
  if (!evidence) return corrupt("does not decode: " + evidence.error().message());
  if (!std::ranges::equal(EvidencePosition::of(*evidence).encode(), id)) {
    return corrupt("its votes are at another height, round, type or validator than its key says");
  }
  return evidence;
}

ChainStore::ChainStore(std::filesystem::path directory, Genesis genesis, std::unique_ptr<leveldb::DB> db)
    : directory_(std::move(directory)), genesis_(std::move(genesis)), db_(std::move(db)) {}

ChainStore::~ChainStore() {
  // A view outliving its store would read a closed database.
  PC_CHECK(views_alive_.load() == 0);
}

StoreView ChainStore::view() const {
  StoreView view;
  view.store_ = this;
  ++views_alive_;
  leveldb::DB* db = db_.get();
  view.snapshot_ = std::shared_ptr<const leveldb::Snapshot>(db->GetSnapshot(), [this, db](const leveldb::Snapshot* snapshot) {
    db->ReleaseSnapshot(snapshot);
    --views_alive_;
  });
  return view;
}

Result<Block> StoreView::block_at(std::uint64_t height) const {
  PC_CHECK(store_ != nullptr);
  return store_->block_at(height, snapshot_.get());
}

Result<std::uint64_t> StoreView::height_of(const Hash256& block_hash) const {
  PC_CHECK(store_ != nullptr);
  return store_->height_of(block_hash, snapshot_.get());
}

Result<TxLocation> StoreView::find_transaction(const Hash256& tx_id) const {
  PC_CHECK(store_ != nullptr);
  return store_->find_transaction(tx_id, snapshot_.get());
}

Result<TransactionProof> StoreView::transaction_proof(const Hash256& tx_id, const TxLocation& location) const {
  PC_CHECK(store_ != nullptr);
  return store_->transaction_proof(tx_id, location, snapshot_.get());
}

Result<std::optional<Account>> StoreView::account(const PublicKey& key) const {
  PC_CHECK(store_ != nullptr);
  std::string value;
  auto status = store_->db_->Get(verified_read(snapshot_.get()), key_with(record_prefix, record::account_key(key)), &value);
  if (status.IsNotFound()) return std::optional<Account>();
  if (!status.ok()) return storage_error(status);
  auto account = record::decode_account_value(to_bytes(value));
  if (!account) return account.error();
  return std::optional<Account>(std::move(account).value());
}

Result<std::optional<Bytes>> StoreView::state_record(ByteSpan record_key) const {
  PC_CHECK(store_ != nullptr);
  std::string value;
  auto status = store_->db_->Get(verified_read(snapshot_.get()), key_with(record_prefix, record_key), &value);
  if (status.IsNotFound()) return std::optional<Bytes>();
  if (!status.ok()) return storage_error(status);
  return std::optional<Bytes>(to_bytes(value));
}

Result<std::vector<Record>> StoreView::state_records_with_prefix(ByteSpan record_key_prefix, ByteSpan start,
                                                                 std::size_t count_max) const {
  PC_CHECK(store_ != nullptr);
  const std::string prefix = key_with(record_prefix, record_key_prefix);
  const std::string first = start.empty() ? prefix : key_with(record_prefix, start);
  std::vector<Record> records;
  std::unique_ptr<leveldb::Iterator> it(store_->db_->NewIterator(verified_read(snapshot_.get())));
  for (it->Seek(first); it->Valid() && it->key().starts_with(prefix) && records.size() < count_max; it->Next()) {
    records.push_back({to_bytes(std::string_view(it->key().data() + 1, it->key().size() - 1)),
                       to_bytes(std::string_view(it->value().data(), it->value().size()))});
  }
  if (!it->status().ok()) return storage_error(it->status());
  return records;
}

namespace {

// What is in `directory` before LevelDB sees it: LevelDB cannot tell a damaged store from a
// new one, so the caller must.
enum class DirectoryState { absent_or_empty, has_current, files_without_current };

Result<DirectoryState> inspect(const std::filesystem::path& directory) {
  std::error_code error;
  if (!std::filesystem::exists(directory, error)) {
    if (error) return Error{Code::io_error, "cannot read " + directory.string() + ": " + error.message()};
    return DirectoryState::absent_or_empty;
  }
  std::size_t files = 0;
  for (std::filesystem::directory_iterator it(directory, error), end; !error && it != end; it.increment(error)) {
    ++files;
  }
  if (error) return Error{Code::io_error, "cannot list " + directory.string() + ": " + error.message()};
  if (files == 0) return DirectoryState::absent_or_empty;
  return std::filesystem::exists(directory / "CURRENT") ? DirectoryState::has_current
                                                         : DirectoryState::files_without_current;
}

Result<std::unique_ptr<leveldb::DB>> open_database(const std::filesystem::path& directory, bool create,
                                                   leveldb::Env* env) {
  leveldb::Options options;
  options.create_if_missing = create;
  options.error_if_exists = create;
  options.paranoid_checks = true;
  options.write_buffer_size = 16 * 1024 * 1024;
  // Blocks read once are cached, not checked and copied again on every read (cached_read_env.hpp).
  options.env = env != nullptr ? env : cached_read_env();
  leveldb::DB* raw_db = nullptr;
  if (auto status = leveldb::DB::Open(options, directory.string(), &raw_db); !status.ok()) {
    return storage_error(status);
  }
  return std::unique_ptr<leveldb::DB>(raw_db);
}

}  // namespace

Result<std::unique_ptr<ChainStore>> ChainStore::create(const std::filesystem::path& directory,
                                                       const Genesis& genesis, leveldb::Env* env) {
  auto found = inspect(directory);
  if (!found) return found.error();
  if (*found != DirectoryState::absent_or_empty) {
    return Error{Code::invalid_field, directory.string() + " is not empty: a new store is never made over files"};
  }
  auto db = open_database(directory, true, env);
  if (!db) return db.error();
  // The genesis, its state records and the height-0 tip, in one synced write.
  {
    const State genesis_state(genesis);
    leveldb::WriteBatch batch;
    batch.Put(genesis_key, slice(genesis.encode()));
    batch.Put(format_version_key, slice(encode_format_version(store_format_version)));
    for (const Record& entry : genesis_state.records()) {
      batch.Put(key_with(record_prefix, entry.key), slice(entry.value));
    }
    batch.Put(tip_key, slice(encode_tip(genesis_tip(genesis_state))));
    leveldb::WriteOptions write;
    write.sync = true;
    if (auto written = (*db)->Write(write, &batch); !written.ok()) return storage_error(written);
  }
  db->reset();
  return open(directory, genesis, Mode::load_state, env);
}

Result<std::unique_ptr<ChainStore>> ChainStore::open(const std::filesystem::path& directory,
                                                     const Genesis& genesis, Mode mode, leveldb::Env* env) {
  auto found = inspect(directory);
  if (!found) return found.error();
  if (*found == DirectoryState::absent_or_empty) {
    return Error{Code::not_found, "no chain store in " + directory.string() + ": the directory is missing or empty"};
  }
  if (*found == DirectoryState::files_without_current) {
    return Error{Code::corruption, directory.string() +
                                       " holds files but no CURRENT file, so it is no readable LevelDB store. It "
                                       "was not opened: LevelDB would take it for a new store and delete its "
                                       "tables. Restore it from a backup (if a MANIFEST-* file is there, CURRENT "
                                       "can be rewritten by hand to name the newest one, followed by a newline)"};
  }
  auto db = open_database(directory, false, env);
  if (!db) return db.error();
  std::unique_ptr<ChainStore> store(new ChainStore(directory, genesis, std::move(db).value()));

  // First, as a newer layout may keep even the genesis elsewhere.
  std::string stored_version;
  auto status = store->db_->Get(verified_read(), format_version_key, &stored_version);
  if (!status.ok() && !status.IsNotFound()) return storage_error(status);
  if (status.ok() && to_bytes(stored_version) != encode_format_version(store_format_version)) {
    return Error{Code::unknown_version, "the data dir's store has format version record " + to_hex(to_bytes(stored_version)) +
                                            "; this release reads format " + std::to_string(store_format_version) +
                                            " only (a newer release made it?)"};
  }
  std::string stored_genesis;
  status = store->db_->Get(verified_read(), genesis_key, &stored_genesis);
  if (status.IsNotFound()) {
    // A store is made with its genesis record in the same write: one without it is damaged,
    // and writing a fresh genesis over it would bury the evidence.
    return Error{Code::corruption, "the store has no genesis record"};
  } else if (!status.ok()) {
    return storage_error(status);
  } else if (to_bytes(stored_genesis) != genesis.encode()) {
    return Error{Code::genesis_mismatch, "the data dir was created with another genesis"};
  }

  auto tip = store->stored_tip();
  if (!tip) return tip.error();
  store->tip_ = *tip;
  // Mode::raw is for the audit, which replays every block and compares its own tip with the
  // stored one: a broken tip block must be reported at its height, not as an unopenable store.
  if (mode == Mode::load_state && store->tip_.height > 0) {
    auto block = store->block_at(store->tip_.height);
    if (!block) return block.error();
    if (tip_after(*block) != store->tip_) {
      return Error{Code::corruption, "the tip block does not match the tip record"};
    }
  }
  if (mode == Mode::load_state) {
    auto records = store->stored_records();
    if (!records) return records.error();
    auto state = State::from_records(genesis, store->tip_.height, store->tip_.time_ms,
                                     store->tip_.state_hash, *records);
    if (!state) return state.error();
    store->state_ = std::make_unique<State>(std::move(state).value());
  }
  return store;
}

Result<BlockChanges> ChainStore::append(const Block& block, SignatureCheck check) {
  PC_CHECK(state_ != nullptr);
  const std::vector<Hash256> levels = merkle_levels(block.tx_ids(), stored_merkle_first_level);
  if (auto status = check_appendable(block, levels); !status) return status.error();
  auto changes = execute_block(*state_, block, check);
  if (!changes) return changes.error();
  std::vector<Event> events = changes->events;
  if (auto status = write(block, *changes, levels); !status) return status.error();
  publish(block, std::move(changes).value());
  BlockChanges summary;
  summary.context = {block.header.height, block.header.time_ms};
  summary.events = std::move(events);
  return summary;
}

Status ChainStore::append_executed(const Block& block, BlockChanges&& changes) {
  if (auto status = write_executed(block, changes); !status) return status;
  publish(block, std::move(changes));
  return {};
}

Status ChainStore::write_executed(const Block& block, const BlockChanges& changes,
                                  const VerifiedCertificate* verified, const MerkleTree* tree) {
  PC_CHECK(state_ != nullptr);
  const std::vector<Hash256> ids = block.tx_ids();
  const bool tree_fits = tree != nullptr && tree->first_level() == stored_merkle_first_level && tree->tx_ids() == ids;
  const std::vector<Hash256> built = tree_fits ? std::vector<Hash256>{} : merkle_levels(ids, stored_merkle_first_level);
  const std::span<const Hash256> levels = tree_fits ? std::span<const Hash256>(tree->levels()) : built;
  if (auto status = check_appendable(block, levels, verified); !status) return status;
  if (changes.context.height != block.header.height || changes.context.time_ms != block.header.time_ms ||
      changes.state_hash != block.header.state_hash ||
      changes.applied_count != block.transactions.size()) {
    return Error{Code::bad_state_hash, "the executed changes are not this block's"};
  }
  return write(block, changes, levels);
}

Status ChainStore::check_appendable(const Block& block, std::span<const Hash256> tree_levels,
                                    const VerifiedCertificate* verified) {
  // check_block_envelope, in its order: link, Merkle root, certificate.
  if (auto status = check_block_link(genesis_, tip_, block.header); !status) return status;
  if (auto status = check_merkle_root(block.header, merkle_root_of_levels(tree_levels)); !status) return status;
  if (auto status = check_block_certificate(genesis_, block, verified); !status) return status;
  if (!next_schedule_ || next_schedule_->height() != tip_.height + 1) {
    next_schedule_ = ProposerSchedule::for_height(genesis_, tip_.height + 1);
  }
  return check_block_proposer(*next_schedule_, block.header);
}

// The block, its indexes, its state records and the new tip record: one synced batch, so a
// crash at any instant leaves the old tip or the new one.
Status ChainStore::write(const Block& block, const BlockChanges& changes, std::span<const Hash256> tree_levels) {
  if (write_failure_) return *write_failure_;
  const Hash256 block_id = block.header.hash();
  const std::uint64_t height = block.header.height;
  leveldb::WriteBatch batch;
  batch.Put(height_key(height), slice(BlockFrame::encode(block)));
  for (std::size_t chunk = 0; chunk < chunk_count(block.transactions.size()); ++chunk) {
    Writer transactions;
    for (std::size_t i = 0; i < chunk_size(block.transactions.size(), chunk); ++i) {
      transactions.bytes(block.transactions[chunk * block_chunk_tx_count + i].bytes());
    }
    batch.Put(chunk_key(height, chunk), slice(transactions.view()));
  }
  Writer levels;
  PC_CHECK(tree_levels.size() == merkle_levels_size(block.transactions.size(), stored_merkle_first_level));
  for (const Hash256& node : tree_levels) levels.raw(node);
  batch.Put(merkle_key(height), slice(levels.view()));
  std::string height_value;
  append_big_endian(height_value, block.header.height, 8);
  batch.Put(key_with(hash_prefix, block_id), height_value);
  for (std::size_t i = 0; i < block.transactions.size(); ++i) {
    std::string location = height_value;
    append_big_endian(location, i, 4);
    batch.Put(key_with(tx_prefix, block.transactions[i].id()), location);
  }
  for (const Record& entry : changes.records) {
    batch.Put(key_with(record_prefix, entry.key), slice(entry.value));
  }
  // Also when empty: a block without a record is one whose changes are not known.
  batch.Put(tier_changes_key(height), slice(encode_tier_changes(changes.tier_changes)));
  const Tip next = tip_after(block);
  PC_CHECK(next.height == tip_.height + 1);
  batch.Put(tip_key, slice(encode_tip(next)));
  leveldb::WriteOptions write_options;
  write_options.sync = true;
  if (auto status = db_->Write(write_options, &batch); !status.ok()) {
    write_failure_ = Error{Code::io_error, "block " + std::to_string(block.header.height) +
                                               " could not be written: " + status.ToString()};
    return *write_failure_;
  }
  return {};
}

void ChainStore::publish(const Block& block, BlockChanges&& changes) {
  const Tip next = tip_after(block);
  // Heights strictly increase, and only the block just written may become the tip.
  PC_CHECK(next.height == tip_.height + 1 && block.header.previous_hash == tip_.block_hash);
  tip_ = next;
  if (next_schedule_ && next_schedule_->height() == next.height) {
    next_schedule_ = next_schedule_->next_height();
  }
  state_->apply(std::move(changes));
  PC_CHECK(state_->state_hash() == tip_.state_hash);
}

Result<bool> ChainStore::record_evidence(const Evidence& evidence) {
  if (write_failure_) return *write_failure_;
  if (auto status = verify_evidence(genesis_, evidence); !status) return status.error();
  const EvidencePosition position = EvidencePosition::of(evidence);
  const std::string key = evidence_key(position);
  std::string existing;
  auto found = db_->Get(verified_read(), key, &existing);
  if (found.ok()) return false;
  if (!found.IsNotFound()) return storage_error(found);
  if (!evidence_count_) {
    std::uint64_t count = 0;
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(verified_read()));
    for (it->Seek(std::string(1, evidence_prefix)); it->Valid() && it->key()[0] == evidence_prefix; it->Next()) ++count;
    if (!it->status().ok()) return storage_error(it->status());
    evidence_count_ = count;
  }
  if (*evidence_count_ >= stored_evidence_max) {
    return Error{Code::too_large, "evidence not kept: the store holds stored_evidence_max = " +
                                      std::to_string(stored_evidence_max) + " records"};
  }
  std::size_t at_height = 0;
  {
    const std::string height_prefix = evidence_key({position.height, 0, 0, 0}).substr(0, 1 + 8);
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(verified_read()));
    for (it->Seek(height_prefix); it->Valid() && it->key().starts_with(height_prefix); it->Next()) ++at_height;
    if (!it->status().ok()) return storage_error(it->status());
  }
  if (at_height >= stored_evidence_per_height_max) {
    return Error{Code::too_large, "evidence not kept: height " + std::to_string(position.height) +
                                      " already has stored_evidence_per_height_max = " +
                                      std::to_string(stored_evidence_per_height_max) + " records"};
  }
  const Bytes value = evidence.encode();
  PC_CHECK(decode_evidence_record(position.encode(), value).ok());
  leveldb::WriteOptions write_options;
  write_options.sync = true;
  if (auto status = db_->Put(write_options, key, slice(value)); !status.ok()) {
    write_failure_ = Error{Code::io_error, "evidence could not be written: " + status.ToString()};
    return *write_failure_;
  }
  ++*evidence_count_;
  return true;
}

Result<EvidencePage> ChainStore::evidence_page(const EvidencePosition& from, std::size_t limit) const {
  PC_CHECK(limit > 0);
  EvidencePage page;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(verified_read()));
  for (it->Seek(evidence_key(from)); it->Valid() && it->key()[0] == evidence_prefix; it->Next()) {
    const ByteSpan id = span_of(it->key()).subspan(1);
    if (page.evidence.size() == limit) {
      page.next = EvidencePosition::decode(id);
      if (!page.next) return Error{Code::corruption, "evidence record key " + to_hex(span_of(it->key())) + " is malformed"};
      break;
    }
    if (id.size() != evidence_id_bytes) {
      return Error{Code::corruption, "evidence record key " + to_hex(span_of(it->key())) + " is malformed"};
    }
    auto evidence = decode_evidence_record(id, span_of(it->value()));
    if (!evidence) return evidence.error();
    page.evidence.push_back(std::move(evidence).value());
  }
  if (!it->status().ok()) return storage_error(it->status());
  return page;
}

Result<Bytes> ChainStore::block_bytes_at(std::uint64_t height) const { return block_bytes_at(height, nullptr); }

Result<Block> ChainStore::block_at(std::uint64_t height) const { return block_at(height, nullptr); }

Result<std::uint64_t> ChainStore::height_of(const Hash256& block_hash) const { return height_of(block_hash, nullptr); }

Result<TxLocation> ChainStore::find_transaction(const Hash256& tx_id) const { return find_transaction(tx_id, nullptr); }

Result<TransactionProof> ChainStore::transaction_proof(const Hash256& tx_id, const TxLocation& location) const {
  return transaction_proof(tx_id, location, nullptr);
}

// One scan: the frame's key is the prefix of its chunks' keys, so they follow it in order.
Result<Bytes> ChainStore::block_bytes_at(std::uint64_t height, const leveldb::Snapshot* at) const {
  const std::string frame_key = height_key(height);
  const auto corrupt = [height](const std::string& detail) {
    return Error{Code::corruption, "block " + std::to_string(height) + ": " + detail};
  };
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(verified_read(at)));
  it->Seek(frame_key);
  if (!it->status().ok()) return storage_error(it->status());
  if (!it->Valid() || !it->key().starts_with(frame_key)) {
    return Error{Code::not_found, "no block at height " + std::to_string(height)};
  }
  if (it->key() != frame_key) return corrupt("transactions are stored without their block");
  const ByteSpan frame_bytes(reinterpret_cast<const std::uint8_t*>(it->value().data()), it->value().size());
  auto frame = BlockFrame::decode(frame_bytes);
  if (!frame) return corrupt("the block record does not decode: " + frame.error().message());
  Bytes bytes(frame_bytes.begin(), frame_bytes.begin() + static_cast<std::ptrdiff_t>(frame->transactions_offset));
  const Bytes tail(frame_bytes.begin() + static_cast<std::ptrdiff_t>(frame->transactions_offset), frame_bytes.end());
  const std::size_t chunks = chunk_count(frame->tx_count);
  std::size_t chunk = 0;
  for (it->Next(); it->Valid() && it->key().starts_with(frame_key); it->Next(), ++chunk) {
    if (chunk >= chunks || it->key() != chunk_key(height, chunk)) return corrupt("a transaction chunk is missing or extra");
    const ByteSpan chunk_bytes(reinterpret_cast<const std::uint8_t*>(it->value().data()), it->value().size());
    if (auto split = split_chunk(chunk_bytes, chunk_size(frame->tx_count, chunk)); !split) {
      return corrupt("chunk " + std::to_string(chunk) + ": " + split.error().message());
    }
    bytes.insert(bytes.end(), chunk_bytes.begin(), chunk_bytes.end());
  }
  if (!it->status().ok()) return storage_error(it->status());
  if (chunk != chunks) return corrupt("a transaction chunk is missing");
  bytes.insert(bytes.end(), tail.begin(), tail.end());
  return bytes;
}

Result<Block> ChainStore::block_at(std::uint64_t height, const leveldb::Snapshot* at) const {
  auto bytes = block_bytes_at(height, at);
  if (!bytes) return bytes.error();
  auto block = Block::decode(*bytes);
  if (!block) {
    return Error{Code::corruption, "block " + std::to_string(height) + ": " + block.error().message()};
  }
  if (block->header.height != height) {
    return Error{Code::corruption, "block stored at " + std::to_string(height) + " says height " +
                                       std::to_string(block->header.height)};
  }
  return block;
}

Result<std::uint64_t> ChainStore::height_of(const Hash256& block_hash, const leveldb::Snapshot* at) const {
  std::string value;
  auto status = db_->Get(verified_read(at), key_with(hash_prefix, block_hash), &value);
  if (status.IsNotFound()) return Error{Code::not_found, "no block with that hash"};
  if (!status.ok()) return storage_error(status);
  if (value.size() != 8) return Error{Code::corruption, "block hash index entry"};
  return read_big_endian(value);
}

Result<TxLocation> ChainStore::find_transaction(const Hash256& tx_id, const leveldb::Snapshot* at) const {
  std::string value;
  auto status = db_->Get(verified_read(at), key_with(tx_prefix, tx_id), &value);
  if (status.IsNotFound()) return Error{Code::not_found, "no committed transaction with that id"};
  if (!status.ok()) return storage_error(status);
  if (value.size() != 12) return Error{Code::corruption, "transaction index entry"};
  return TxLocation{read_big_endian(std::string_view(value).substr(0, 8)),
                    static_cast<std::uint32_t>(read_big_endian(std::string_view(value).substr(8)))};
}

Result<TransactionProof> ChainStore::transaction_proof(const Hash256& tx_id, const TxLocation& location,
                                                       const leveldb::Snapshot* at) const {
  const auto corrupt = [&location](const std::string& detail) {
    return Error{Code::corruption, "block " + std::to_string(location.height) + ": " + detail};
  };
  std::string frame_value;
  auto status = db_->Get(verified_read(at), height_key(location.height), &frame_value);
  if (!status.ok()) return status.IsNotFound() ? corrupt("indexed but not stored") : storage_error(status);
  auto frame = BlockFrame::decode(to_bytes(frame_value));
  if (!frame) return corrupt("the block record does not decode: " + frame.error().message());
  if (location.index >= frame->tx_count) return corrupt("transaction index points past its block");

  const std::size_t chunk = location.index / block_chunk_tx_count;
  std::string chunk_value;
  status = db_->Get(verified_read(at), chunk_key(location.height, chunk), &chunk_value);
  if (!status.ok()) return status.IsNotFound() ? corrupt("a transaction chunk is missing") : storage_error(status);
  const Bytes chunk_bytes = to_bytes(chunk_value);
  auto transactions = split_chunk(chunk_bytes, chunk_size(frame->tx_count, chunk));
  if (!transactions) return corrupt(transactions.error().message());
  std::vector<Hash256> group_ids;
  group_ids.reserve(transactions->size());
  for (const ByteSpan bytes : *transactions) group_ids.push_back(Transaction::id_of(bytes));
  const std::size_t position = location.index % block_chunk_tx_count;
  if (group_ids[position] != tx_id) return corrupt("the transaction index entry points at another transaction");
  auto tx = Transaction::decode((*transactions)[position]);
  if (!tx) return corrupt("transaction " + std::to_string(location.index) + ": " + tx.error().message());

  // Only the nodes on the path are read from the record. The record is read into this
  // thread's buffer, kept from call to call: a block of 2,000 transactions has a 32 KB record,
  // and a new string of that size per proof was a malloc that made glibc consolidate its free
  // lists, and a free, each time. The buffer holds at most one record, at most
  // merkle_levels_size(block_tx_count_max) hashes (160 KB), per thread that asks for proofs.
  thread_local std::string levels;
  status = db_->Get(verified_read(at), merkle_key(location.height), &levels);
  if (!status.ok()) return status.IsNotFound() ? corrupt("no Merkle record") : storage_error(status);
  const std::size_t nodes = merkle_levels_size(static_cast<std::size_t>(frame->tx_count), stored_merkle_first_level);
  if (levels.size() != nodes * sizeof(Hash256)) return corrupt("Merkle record of " + std::to_string(levels.size()) + " bytes");
  // A damaged node of the record would give a path that does not verify: check it here, so
  // that a bad record is corruption and never a wrong answer.
  const ByteSpan level_bytes(reinterpret_cast<const std::uint8_t*>(levels.data()), levels.size());
  auto path = merkle_path_from_levels(group_ids, location.index, frame->tx_count, stored_merkle_first_level, level_bytes);
  if (!path || !verify_merkle_path(tx_id, location.index, frame->tx_count, *path, frame->header.merkle_root)) {
    return corrupt("the Merkle record does not match the transactions");
  }
  return TransactionProof{std::move(tx).value(), std::move(frame->header), frame->tx_count, std::move(*path)};
}

Result<std::vector<Hash256>> ChainStore::stored_merkle_levels(std::uint64_t height, std::uint64_t tx_count) const {
  std::string value;
  auto status = db_->Get(verified_read(), merkle_key(height), &value);
  if (status.IsNotFound()) return Error{Code::corruption, "block " + std::to_string(height) + ": no Merkle record"};
  if (!status.ok()) return storage_error(status);
  const std::size_t nodes = merkle_levels_size(static_cast<std::size_t>(tx_count), stored_merkle_first_level);
  if (value.size() != nodes * sizeof(Hash256)) {
    return Error{Code::corruption, "block " + std::to_string(height) + ": Merkle record of " +
                                       std::to_string(value.size()) + " bytes"};
  }
  std::vector<Hash256> levels(nodes);
  for (std::size_t i = 0; i < nodes; ++i) std::memcpy(levels[i].data(), value.data() + i * sizeof(Hash256), sizeof(Hash256));
  return levels;
}

Result<std::optional<Bytes>> ChainStore::stored_tier_changes(std::uint64_t height) const {
  std::string value;
  auto status = db_->Get(verified_read(), tier_changes_key(height), &value);
  if (status.IsNotFound()) return std::optional<Bytes>();
  if (!status.ok()) return storage_error(status);
  return std::optional<Bytes>(to_bytes(value));
}

Result<std::optional<std::vector<TierChange>>> ChainStore::tier_changes_at(std::uint64_t height) const {
  using Changes = std::optional<std::vector<TierChange>>;
  auto stored = stored_tier_changes(height);
  if (!stored) return stored.error();
  if (!*stored) return Changes();
  auto decoded = decode_tier_changes(**stored);
  if (!decoded) return Error{decoded.error().code, "block " + std::to_string(height) + ": " + decoded.error().detail};
  return Changes(std::move(decoded).value());
}

Result<std::vector<Record>> ChainStore::stored_records() const {
  std::vector<Record> records;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(verified_read()));
  for (it->Seek(std::string(1, record_prefix)); it->Valid() && it->key()[0] == record_prefix; it->Next()) {
    const std::string_view key(it->key().data() + 1, it->key().size() - 1);
    records.push_back({to_bytes(key), to_bytes(std::string_view(it->value().data(), it->value().size()))});
  }
  if (!it->status().ok()) return storage_error(it->status());
  return records;
}

Result<Tip> ChainStore::stored_tip() const {
  std::string value;
  auto status = db_->Get(verified_read(), tip_key, &value);
  if (!status.ok()) return status.IsNotFound() ? Error{Code::corruption, "no tip record"} : storage_error(status);
  return decode_tip(to_bytes(value));
}

Status ChainStore::for_each_entry(const std::function<bool(const Entry&)>& visit) const {
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(verified_read()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const ByteSpan key(reinterpret_cast<const std::uint8_t*>(it->key().data()), it->key().size());
    const ByteSpan value(reinterpret_cast<const std::uint8_t*>(it->value().data()), it->value().size());
    const auto fits = [&key](char tag, std::size_t id_bytes) {
      return key.size() == 1 + id_bytes && key[0] == static_cast<std::uint8_t>(tag);
    };
    KeyKind kind = KeyKind::outside_layout;
    if (fits(genesis_key[0], 0)) {
      kind = KeyKind::genesis;
    } else if (fits(format_version_key[0], 0)) {
      kind = KeyKind::format_version;
    } else if (fits(tip_key[0], 0)) {
      kind = KeyKind::tip;
    } else if (fits(block_prefix, 8)) {
      kind = KeyKind::block;
    } else if (fits(block_prefix, 8 + 4)) {
      kind = KeyKind::block_chunk;
    } else if (fits(merkle_prefix, 8)) {
      kind = KeyKind::merkle;
    } else if (fits(hash_prefix, 32)) {
      kind = KeyKind::block_index;
    } else if (fits(tx_prefix, 32)) {
      kind = KeyKind::tx_index;
    } else if (key.size() > 1 && key[0] == static_cast<std::uint8_t>(record_prefix)) {
      kind = KeyKind::record;
    } else if (fits(evidence_prefix, evidence_id_bytes)) {
      kind = KeyKind::evidence;
    } else if (fits(tier_changes_prefix, 8)) {
      kind = KeyKind::tier_changes;
    }
    if (!visit(Entry{kind, key, key.subspan(1), value})) break;
  }
  if (!it->status().ok()) return storage_error(it->status());
  return {};
}

std::uint64_t ChainStore::disk_bytes() const {
  std::uint64_t total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(directory_)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

void ChainStore::compact() { db_->CompactRange(nullptr, nullptr); }

}  // namespace pc::ledger
