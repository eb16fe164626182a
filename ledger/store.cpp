#include "ledger/store.hpp"

#include <leveldb/db.h>
#include <leveldb/iterator.h>
#include <leveldb/write_batch.h>

#include "crypto/check.hpp"
#include "ledger/codec.hpp"

namespace pc::ledger {
namespace {

constexpr char block_prefix = 'B';      // B || height (big-endian u64) -> block bytes
constexpr char hash_prefix = 'H';       // H || block id -> height (big-endian u64)
constexpr char tx_prefix = 'X';         // X || tx id -> height (BE u64) || index (BE u32)
constexpr char record_prefix = 'S';     // S || record key -> record value
const std::string tip_key = "T";        // -> tip (docs/protocol.md)
const std::string genesis_key = "G";    // -> canonical genesis bytes

std::string key_with(char prefix, ByteSpan body) {
  std::string key(1, prefix);
  key.append(body.begin(), body.end());
  return key;
}

std::string height_key(std::uint64_t height) {
  std::string key(1, block_prefix);
  append_big_endian(key, height, 8);
  return key;
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

Error io_error(const leveldb::Status& status) { return Error{Code::io_error, status.ToString()}; }

leveldb::ReadOptions verified_read() {
  leveldb::ReadOptions options;
  options.verify_checksums = true;
  return options;
}

}  // namespace

ChainStore::ChainStore(std::filesystem::path directory, Genesis genesis, std::unique_ptr<leveldb::DB> db)
    : directory_(std::move(directory)), genesis_(std::move(genesis)), db_(std::move(db)) {}

ChainStore::~ChainStore() = default;

Result<std::unique_ptr<ChainStore>> ChainStore::open(const std::filesystem::path& directory,
                                                     const Genesis& genesis, Mode mode) {
  leveldb::Options options;
  // The audit reads what is there and never makes a store.
  options.create_if_missing = mode == Mode::load_state;
  options.paranoid_checks = true;
  options.write_buffer_size = 16 * 1024 * 1024;
  leveldb::DB* raw_db = nullptr;
  if (auto status = leveldb::DB::Open(options, directory.string(), &raw_db); !status.ok()) {
    return io_error(status);
  }
  std::unique_ptr<ChainStore> store(new ChainStore(directory, genesis, std::unique_ptr<leveldb::DB>(raw_db)));

  std::string stored_genesis;
  auto status = store->db_->Get(verified_read(), genesis_key, &stored_genesis);
  if (status.IsNotFound()) {
    // Only an empty store is new: one that holds blocks or state but lost its genesis record
    // is damaged, and writing a fresh genesis over it would bury the evidence.
    std::unique_ptr<leveldb::Iterator> any(store->db_->NewIterator(verified_read()));
    any->SeekToFirst();
    if (any->Valid() || !any->status().ok() || mode == Mode::raw) {
      return Error{Code::corruption, "the store has no genesis record"};
    }
    // A new store: the genesis, its state records and the height-0 tip, in one synced write.
    const State genesis_state(genesis);
    leveldb::WriteBatch batch;
    batch.Put(genesis_key, slice(genesis.encode()));
    for (const Record& entry : genesis_state.records()) {
      batch.Put(key_with(record_prefix, entry.key), slice(entry.value));
    }
    batch.Put(tip_key, slice(encode_tip(genesis_tip(genesis_state))));
    leveldb::WriteOptions write;
    write.sync = true;
    if (auto written = store->db_->Write(write, &batch); !written.ok()) return io_error(written);
  } else if (!status.ok()) {
    return io_error(status);
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
  if (auto status = check_block_envelope(genesis_, tip_, block); !status) return status.error();
  auto changes = execute_block(*state_, block, check);
  if (!changes) return changes.error();
  std::vector<Event> events = changes->events;
  if (auto status = write(block, *changes); !status) return status.error();
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

Status ChainStore::write_executed(const Block& block, const BlockChanges& changes) {
  PC_CHECK(state_ != nullptr);
  if (auto status = check_block_envelope(genesis_, tip_, block); !status) return status;
  if (changes.context.height != block.header.height || changes.context.time_ms != block.header.time_ms ||
      changes.state_hash != block.header.state_hash ||
      changes.applied_count != block.transactions.size()) {
    return Error{Code::bad_state_hash, "the executed changes are not this block's"};
  }
  return write(block, changes);
}

// The block, its indexes, its state records and the new tip record: one synced batch, so a
// crash at any instant leaves the old tip or the new one.
Status ChainStore::write(const Block& block, const BlockChanges& changes) {
  const Hash256 block_id = block.header.hash();
  leveldb::WriteBatch batch;
  batch.Put(height_key(block.header.height), slice(block.encode()));
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
  const Tip next = tip_after(block);
  PC_CHECK(next.height == tip_.height + 1);
  batch.Put(tip_key, slice(encode_tip(next)));
  leveldb::WriteOptions write_options;
  write_options.sync = true;
  if (auto status = db_->Write(write_options, &batch); !status.ok()) return io_error(status);
  return {};
}

void ChainStore::publish(const Block& block, BlockChanges&& changes) {
  const Tip next = tip_after(block);
  // Heights strictly increase, and only the block just written may become the tip.
  PC_CHECK(next.height == tip_.height + 1 && block.header.previous_hash == tip_.block_hash);
  tip_ = next;
  state_->apply(std::move(changes));
  PC_CHECK(state_->state_hash() == tip_.state_hash);
}

Result<Bytes> ChainStore::block_bytes_at(std::uint64_t height) const {
  std::string value;
  auto status = db_->Get(verified_read(), height_key(height), &value);
  if (status.IsNotFound()) return Error{Code::not_found, "no block at height " + std::to_string(height)};
  if (!status.ok()) return io_error(status);
  return to_bytes(value);
}

Result<Block> ChainStore::block_at(std::uint64_t height) const {
  auto bytes = block_bytes_at(height);
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

Result<std::uint64_t> ChainStore::height_of(const Hash256& block_hash) const {
  std::string value;
  auto status = db_->Get(verified_read(), key_with(hash_prefix, block_hash), &value);
  if (status.IsNotFound()) return Error{Code::not_found, "no block with that hash"};
  if (!status.ok()) return io_error(status);
  if (value.size() != 8) return Error{Code::corruption, "block hash index entry"};
  return read_big_endian(value);
}

Result<TxLocation> ChainStore::find_transaction(const Hash256& tx_id) const {
  std::string value;
  auto status = db_->Get(verified_read(), key_with(tx_prefix, tx_id), &value);
  if (status.IsNotFound()) return Error{Code::not_found, "no committed transaction with that id"};
  if (!status.ok()) return io_error(status);
  if (value.size() != 12) return Error{Code::corruption, "transaction index entry"};
  return TxLocation{read_big_endian(std::string_view(value).substr(0, 8)),
                    static_cast<std::uint32_t>(read_big_endian(std::string_view(value).substr(8)))};
}

Result<std::vector<Record>> ChainStore::stored_records() const {
  std::vector<Record> records;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(verified_read()));
  for (it->Seek(std::string(1, record_prefix)); it->Valid() && it->key()[0] == record_prefix; it->Next()) {
    const std::string_view key(it->key().data() + 1, it->key().size() - 1);
    records.push_back({to_bytes(key), to_bytes(std::string_view(it->value().data(), it->value().size()))});
  }
  if (!it->status().ok()) return io_error(it->status());
  return records;
}

Result<Tip> ChainStore::stored_tip() const {
  std::string value;
  auto status = db_->Get(verified_read(), tip_key, &value);
  if (!status.ok()) return status.IsNotFound() ? Error{Code::corruption, "no tip record"} : io_error(status);
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
    } else if (fits(tip_key[0], 0)) {
      kind = KeyKind::tip;
    } else if (fits(block_prefix, 8)) {
      kind = KeyKind::block;
    } else if (fits(hash_prefix, 32)) {
      kind = KeyKind::block_index;
    } else if (fits(tx_prefix, 32)) {
      kind = KeyKind::tx_index;
    } else if (key.size() > 1 && key[0] == static_cast<std::uint8_t>(record_prefix)) {
      kind = KeyKind::record;
    }
    if (!visit(Entry{kind, key, key.subspan(1), value})) break;
  }
  if (!it->status().ok()) return io_error(it->status());
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
