#include "node/history_index.hpp"
#include "node/derived_index.hpp"

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <map>
#include <stdexcept>

#include "crypto/check.hpp"
#include "ledger/codec.hpp"

namespace pc::node {
namespace {

using ledger::append_big_endian;
using ledger::read_big_endian;

const std::string genesis_key = "G";
const std::string height_key = "M";
constexpr char entry_prefix = 'E';
// Blocks replayed per WriteBatch while rebuilding.
constexpr std::uint64_t rebuild_batch_blocks = 1'000;

std::string account_prefix(const crypto::PublicKey& account) {
  std::string key(1, entry_prefix);
  key.append(account.begin(), account.end());
  return key;
}

std::string entry_key(const crypto::PublicKey& account, std::uint64_t height, std::uint32_t position) {
  std::string key = account_prefix(account);
  append_big_endian(key, height, 8);
  append_big_endian(key, position, 4);
  return key;
}

std::string height_value(std::uint64_t height) {
  std::string value;
  append_big_endian(value, height, 8);
  return value;
}

std::string encode_entry(std::uint32_t index, const ledger::Event& event) {
  ledger::Writer out;
  out.u32(index);
  out.u8(static_cast<std::uint8_t>(event.kind));
  out.u16(event.partner);
  out.u64(event.points);
  out.raw(event.tx_id);
  return std::string(out.view().begin(), out.view().end());
}

std::optional<HistoryEntry> decode_entry(std::string_view key, std::string_view value) {
  const std::size_t key_bytes = 1 + 32 + 8 + 4;
  if (key.size() != key_bytes) return std::nullopt;
  HistoryEntry entry;
  std::copy(key.begin() + 1, key.begin() + 33, entry.event.account.begin());
  entry.height = read_big_endian(key.substr(33, 8));
  entry.position = static_cast<std::uint32_t>(read_big_endian(key.substr(41, 4)));
  ledger::Reader in(as_bytes(value));
  entry.index = in.u32();
  const std::uint8_t kind = in.u8();
  entry.event.partner = in.u16();
  entry.event.points = in.u64();
  entry.event.tx_id = in.fixed<32>();
  if (!in.finish() || kind > static_cast<std::uint8_t>(ledger::Event::Kind::reversed)) return std::nullopt;
  entry.event.kind = static_cast<ledger::Event::Kind>(kind);
  return entry;
}

// Puts a block's entries and the new indexed height into `batch`.
void add_to_batch(leveldb::WriteBatch& batch, const ledger::Block& block, const std::vector<ledger::Event>& events) {
  std::map<ledger::Hash256, std::uint32_t> positions;
  for (std::size_t i = 0; i < block.transactions.size(); ++i) {
    positions.emplace(block.transactions[i].id(), static_cast<std::uint32_t>(i));
  }
  for (std::size_t i = 0; i < events.size(); ++i) {
    const ledger::Event& event = events[i];
    std::uint32_t index = history_index_expiry;
    if (event.kind != ledger::Event::Kind::expired) {
      auto found = positions.find(event.tx_id);
      PC_CHECK(found != positions.end());
      index = found->second;
    }
    batch.Put(entry_key(event.account, block.header.height, static_cast<std::uint32_t>(i)),
              encode_entry(index, event));
  }
  batch.Put(height_key, height_value(block.header.height));
}

}  // namespace

HistoryIndex::HistoryIndex(const std::filesystem::path& directory, const ledger::ChainStore& chain) {
  const std::string genesis_hash = [&] {
    const ledger::Hash256 hash = chain.genesis().hash();
    return std::string(hash.begin(), hash.end());
  }();
  bool usable = false;
  try {
    open_database(directory);
    std::string stored_genesis;
    std::string stored_height;
    leveldb::ReadOptions read;
    read.verify_checksums = true;
    if (db_->Get(read, genesis_key, &stored_genesis).ok() && stored_genesis == genesis_hash &&
        db_->Get(read, height_key, &stored_height).ok() && stored_height.size() == 8) {
      indexed_height_ = read_big_endian(stored_height);
      usable = indexed_height_ == chain.tip().height;
    }
  } catch (const std::runtime_error&) {
    usable = false;  // unreadable: derived data, so start again
  }
  if (!usable) rebuild(directory, chain);
}

HistoryIndex::~HistoryIndex() = default;

std::optional<std::uint64_t> HistoryIndex::recorded_height(const std::filesystem::path& directory,
                                                           const ledger::Genesis& genesis) {
  // The index's own options: opening it may write its log out as a table.
  leveldb::Options options = derived_index_options();
  options.create_if_missing = false;
  leveldb::DB* raw_db = nullptr;
  if (!std::filesystem::exists(directory / "CURRENT") ||
      !leveldb::DB::Open(options, directory.string(), &raw_db).ok()) {
    return std::nullopt;
  }
  const std::unique_ptr<leveldb::DB> db(raw_db);
  leveldb::ReadOptions read;
  read.verify_checksums = true;
  const ledger::Hash256 genesis_hash = genesis.hash();
  std::string stored_genesis;
  std::string stored_height;
  if (!db->Get(read, genesis_key, &stored_genesis).ok() ||
      stored_genesis != std::string(genesis_hash.begin(), genesis_hash.end()) ||
      !db->Get(read, height_key, &stored_height).ok() || stored_height.size() != 8) {
    return std::nullopt;
  }
  return read_big_endian(stored_height);
}

void HistoryIndex::open_database(const std::filesystem::path& directory) {
  db_.reset();
  db_ = open_derived_index(directory, "history index");
}

void HistoryIndex::rebuild(const std::filesystem::path& directory, const ledger::ChainStore& chain) {
  rebuilt_ = true;
  db_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(directory, ignored);
  open_database(directory);

  const ledger::Genesis& genesis = chain.genesis();
  const ledger::Hash256 genesis_hash = genesis.hash();
  leveldb::WriteBatch batch;
  batch.Put(genesis_key, std::string(genesis_hash.begin(), genesis_hash.end()));
  batch.Put(height_key, height_value(0));
  // The blocks were verified when the store accepted them; the audit is the tool that
  // verifies a store from scratch. Replay only to recover the events.
  ledger::State state(genesis);
  const auto write = [&] {
    leveldb::WriteOptions options;
    if (auto status = db_->Write(options, &batch); !status.ok()) {
      throw std::runtime_error("cannot write the history index: " + status.ToString());
    }
    batch.Clear();
  };
  for (std::uint64_t height = 1; height <= chain.tip().height; ++height) {
    auto block = chain.block_at(height);
    if (!block) throw std::runtime_error("rebuilding the history index: " + block.error().message());
    auto changes = ledger::execute_block(state, *block, ledger::SignatureCheck::already_verified);
    if (!changes) throw std::runtime_error("rebuilding the history index: " + changes.error().message());
    add_to_batch(batch, *block, changes->events);
    state.apply(std::move(changes).value());
    if (height % rebuild_batch_blocks == 0) write();
  }
  write();
  PC_CHECK(state.state_hash() == chain.tip().state_hash);
  indexed_height_ = chain.tip().height;
}

ledger::Status HistoryIndex::add_block(const ledger::Block& block, const std::vector<ledger::Event>& events) {
  if (block.header.height != indexed_height_ + 1) {
    // An earlier write failed: leave the gap for the rebuild at the next start.
    return ledger::Error{ledger::Code::io_error, "history index is behind the chain; it is rebuilt on the next start"};
  }
  leveldb::WriteBatch batch;
  add_to_batch(batch, block, events);
  if (auto status = db_->Write(leveldb::WriteOptions(), &batch); !status.ok()) {
    return ledger::Error{ledger::Code::io_error, "history index: " + status.ToString()};
  }
  indexed_height_ = block.header.height;
  return {};
}

std::vector<HistoryEntry> HistoryIndex::entries(const crypto::PublicKey& account, HistoryCursor before,
                                                std::size_t limit) const {
  std::vector<HistoryEntry> page;
  if (limit == 0) return page;
  const std::string prefix = account_prefix(account);
  const std::string start = before.height == 0 ? prefix + std::string(12, '\xff')
                                               : entry_key(account, before.height, before.position);

  leveldb::ReadOptions read;
  read.verify_checksums = true;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(read));
  it->Seek(start);
  if (it->Valid()) {
    it->Prev();
  } else {
    it->SeekToLast();
  }
  for (; it->Valid() && page.size() < limit; it->Prev()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (!key.starts_with(prefix)) break;
    auto entry = decode_entry(key, std::string_view(it->value().data(), it->value().size()));
    if (!entry) continue;  // derived data: a damaged entry is left out, the chain is intact
    page.push_back(std::move(*entry));
  }
  return page;
}

}  // namespace pc::node
