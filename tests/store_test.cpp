// The chain store (ledger/store.hpp): what survives a reopen, how blocks and transactions are
// found again, and that every block the chain rules refuse leaves the store exactly as it was.
#include <catch2/catch.hpp>
#include <leveldb/db.h>
#include <leveldb/env.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "ledger/cached_read_env.hpp"
#include "ledger/chain.hpp"
#include "ledger/codec.hpp"
#include "ledger/merkle.hpp"
#include "ledger/store.hpp"
#include "node/audit_command.hpp"
#include "node/demo.hpp"
#include "tests/fixtures.hpp"
#include "tests/state_support.hpp"

namespace {

using namespace pc;
using crypto::Hash256;
using pc::test::seeded_key;
using pc::test::TestChain;
using pc::test::TxFactory;

crypto::SecretKey validator_key() { return seeded_key("partner 1 validator"); }

// Replaces the commit with one signature over the block's current header, so a test can
// change a header field and still present a commit that verifies.
void resign(ledger::Block& block, ledger::PartnerId validator, const crypto::SecretKey& key) {
  block.commit.signatures = {ledger::sign_commit(validator, key, block.header.chain_id, block.header.height, block.commit.round, block.header.hash())};
}

void resign(ledger::Block& block) { resign(block, 1, validator_key()); }

// Everything a reader of the store can observe, to compare before and after a refused append.
struct StoreView {
  ledger::Tip tip;
  ledger::Tip stored_tip;
  Hash256 state_hash{};
  std::vector<ledger::Record> records;
  std::vector<Bytes> blocks;  // blocks 1..tip, as stored
  std::vector<std::uint64_t> heights_by_hash;

  bool operator==(const StoreView&) const = default;
};

StoreView view_of(const ledger::ChainStore& store) {
  StoreView view;
  view.tip = store.tip();
  auto stored_tip = store.stored_tip();
  REQUIRE(stored_tip.ok());
  view.stored_tip = *stored_tip;
  view.state_hash = store.state().state_hash();
  auto records = store.stored_records();
  REQUIRE(records.ok());
  view.records = *records;
  for (std::uint64_t height = 1; height <= store.tip().height; ++height) {
    auto bytes = store.block_bytes_at(height);
    REQUIRE(bytes.ok());
    view.blocks.push_back(*bytes);
    auto block = ledger::Block::decode(*bytes);
    REQUIRE(block.ok());
    auto indexed = store.height_of(block->header.hash());
    REQUIRE(indexed.ok());
    view.heights_by_hash.push_back(*indexed);
  }
  return view;
}

// A short history that uses every transaction type, committed on `chain`. Returns the ids of
// the committed transactions in commit order.
std::vector<Hash256> commit_history(TestChain& chain) {
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  const auto bob = TxFactory::customer(2);
  std::vector<std::vector<ledger::Transaction>> blocks;
  blocks.push_back({txs.issue(1, alice.public_key(), 500, "order-1"), txs.issue(2, bob.public_key(), 300, "order-2"),
                    txs.issue(3, alice.public_key(), 40, "order-3")});
  blocks.push_back({txs.redeem(alice, 2, 120), txs.transfer(bob, alice.public_key(), 50)});
  blocks.push_back({});
  blocks.push_back({txs.reverse(3, "order-3"), txs.issue(1, bob.public_key(), 70, "order-4"),
                    txs.redeem(bob, 1, 10), txs.issue(2, alice.public_key(), 9, "order-5"),
                    txs.transfer(alice, bob.public_key(), 1)});
  std::vector<Hash256> ids;
  for (const auto& block : blocks) {
    chain.commit_all(block);
    for (const auto& tx : block) ids.push_back(tx.id());
  }
  return ids;
}

}  // namespace

TEST_CASE("a new store is at height 0 with the genesis state", "[ledger][store]") {
  // Proves that creating a store writes the genesis tip and records, and no block.
  TestChain chain;
  const ledger::State genesis_state(chain.genesis());
  CHECK(chain.store().tip() == ledger::genesis_tip(genesis_state));
  CHECK(chain.store().tip().height == 0);
  CHECK(chain.store().tip().block_hash == chain.genesis().hash());
  CHECK(chain.state().state_hash() == genesis_state.state_hash());
  auto records = chain.store().stored_records();
  REQUIRE(records.ok());
  CHECK(*records == genesis_state.records());
  auto stored_tip = chain.store().stored_tip();
  REQUIRE(stored_tip.ok());
  CHECK(*stored_tip == chain.store().tip());
  CHECK(chain.store().block_at(0).error().code == ledger::Code::not_found);
  CHECK(chain.store().block_at(1).error().code == ledger::Code::not_found);
}

TEST_CASE("a reopened store has the same tip, records and state, and finds every block and tx",
          "[ledger][store]") {
  // Proves durability across close and reopen, and the three read paths: by height, by
  // block hash and by transaction id.
  TestChain chain;
  const std::vector<Hash256> tx_ids = commit_history(chain);
  const ledger::Tip tip_before = chain.store().tip();
  const Hash256 state_hash_before = chain.state().state_hash();
  const std::vector<ledger::Record> state_records_before = chain.state().records();
  const ledger::Totals totals_before = chain.state().totals();
  auto stored_before = chain.store().stored_records();
  REQUIRE(stored_before.ok());
  CHECK(*stored_before == state_records_before);
  std::vector<Bytes> blocks_before;
  for (std::uint64_t height = 1; height <= tip_before.height; ++height) {
    blocks_before.push_back(chain.store().block_at(height)->encode());
  }

  chain.reopen();
  ledger::ChainStore& store = chain.store();
  CHECK(store.tip() == tip_before);
  CHECK(store.tip().height == 4);
  CHECK(chain.state().state_hash() == state_hash_before);
  CHECK(chain.state().records() == state_records_before);
  CHECK(chain.state().totals() == totals_before);
  auto stored_after = store.stored_records();
  REQUIRE(stored_after.ok());
  CHECK(*stored_after == state_records_before);
  CHECK(chain.state().check_invariants().ok());

  std::size_t found = 0;
  for (std::uint64_t height = 1; height <= store.tip().height; ++height) {
    INFO("height " << height);
    auto block = store.block_at(height);
    REQUIRE(block.ok());
    CHECK(block->encode() == blocks_before[height - 1]);
    CHECK(block->header.height == height);
    auto by_hash = store.height_of(block->header.hash());
    REQUIRE(by_hash.ok());
    CHECK(*by_hash == height);
    for (std::size_t index = 0; index < block->transactions.size(); ++index) {
      auto location = store.find_transaction(block->transactions[index].id());
      REQUIRE(location.ok());
      CHECK(location->height == height);
      CHECK(location->index == index);
      ++found;
    }
  }
  CHECK(found == tx_ids.size());
  for (const Hash256& id : tx_ids) CHECK(store.find_transaction(id).ok());
  CHECK(store.block_at(store.tip().height)->header.hash() == store.tip().block_hash);

  const Hash256 unknown = crypto::sha256(as_bytes("never committed"));
  CHECK(store.find_transaction(unknown).error().code == ledger::Code::not_found);
  CHECK(store.height_of(unknown).error().code == ledger::Code::not_found);
  CHECK(store.block_at(store.tip().height + 1).error().code == ledger::Code::not_found);

  // The reopened store keeps working: one more block commits on top.
  chain.commit_all({chain.txs.issue(1, TxFactory::customer(3).public_key(), 5, "order-after-reopen")});
  CHECK(store.tip().height == 5);
}

TEST_CASE("a store opened with another genesis is refused and left intact", "[ledger][store]") {
  // Proves genesis_mismatch for a different partner set and a different chain id, and that the
  // refusal does not damage the store for its own genesis.
  TestChain chain;
  chain.commit_all({chain.txs.issue(1, TxFactory::customer(1).public_key(), 10, "order-1")});
  const ledger::Tip tip = chain.store().tip();
  chain.close();

  auto other_partners = ledger::ChainStore::open(chain.store_path(), pc::test::make_genesis({.partners = 4}));
  REQUIRE_FALSE(other_partners.ok());
  CHECK(other_partners.error().code == ledger::Code::genesis_mismatch);

  ledger::Genesis renamed = chain.genesis();
  renamed.chain_id = "other-chain";
  auto other_chain = ledger::ChainStore::open(chain.store_path(), renamed, ledger::ChainStore::Mode::raw);
  REQUIRE_FALSE(other_chain.ok());
  CHECK(other_chain.error().code == ledger::Code::genesis_mismatch);

  chain.reopen();
  CHECK(chain.store().tip() == tip);
}

TEST_CASE("a store records its format version, and one of another version is refused and left intact",
          "[ledger][store]") {
  // Proves the `V` record of docs/protocol.md ("Store layout"): a new store holds 01000000; a
  // store whose record says another version (a newer release's) is refused with
  // unknown_version by both open modes and not changed, and the audit calls it unusable (exit
  // 2), not a fault of the chain; a store without the record (made before it existed) opens as
  // format 1 and audits clean.
  TestChain chain;
  chain.commit_all({chain.txs.issue(1, TxFactory::customer(1).public_key(), 10, "order-1")});
  {
    std::ofstream file(chain.directory() / "genesis.json");
    file << ledger::genesis_to_json(chain.genesis());
  }
  const ledger::Tip tip = chain.store().tip();
  leveldb::DB& db = chain.store().database_for_tests();
  std::string version;
  REQUIRE(db.Get(leveldb::ReadOptions(), "V", &version).ok());
  CHECK(version == std::string("\x01\x00\x00\x00", 4));
  static_assert(ledger::store_format_version == 1);
  leveldb::WriteOptions sync;
  sync.sync = true;
  for (const std::string& other : {std::string("\x02\x00\x00\x00", 4), std::string("\x01", 1), std::string()}) {
    INFO("a V record of " << other.size() << " bytes");
    REQUIRE(chain.store().database_for_tests().Put(sync, "V", other).ok());
    chain.close();
    for (const auto mode : {ledger::ChainStore::Mode::load_state, ledger::ChainStore::Mode::raw}) {
      auto refused = ledger::ChainStore::open(chain.store_path(), chain.genesis(), mode);
      REQUIRE_FALSE(refused.ok());
      CHECK(refused.error().code == ledger::Code::unknown_version);
    }
    std::ostringstream audit;
    CHECK(node::run_audit(chain.directory(), false, audit) == node::audit_exit_unusable);
    CHECK_THAT(audit.str(), Catch::Contains("this release reads format 1 only"));
    {
      leveldb::DB* raw = nullptr;
      REQUIRE(leveldb::DB::Open(leveldb::Options(), chain.store_path().string(), &raw).ok());
      const std::unique_ptr<leveldb::DB> reopened(raw);
      REQUIRE(reopened->Get(leveldb::ReadOptions(), "V", &version).ok());
      CHECK(version == other);
      REQUIRE(reopened->Put(sync, "V", std::string("\x01\x00\x00\x00", 4)).ok());
    }
    chain.reopen();
  }
  REQUIRE(chain.store().database_for_tests().Delete(sync, "V").ok());
  chain.close();
  std::ostringstream audit;
  CHECK(node::run_audit(chain.directory(), false, audit) == node::audit_exit_ok);
  chain.reopen();
  CHECK(chain.store().tip() == tip);
}

TEST_CASE("a store that lost its genesis record is refused, never made new again", "[ledger][store]") {
  // Proves that opening (for a node or for the audit) writes nothing over a damaged store, and
  // that the audit's raw mode never creates a store where there is none.
  TestChain chain;
  chain.commit_all({chain.txs.issue(1, TxFactory::customer(1).public_key(), 10, "order-1")});
  {
    leveldb::WriteOptions sync;
    sync.sync = true;
    REQUIRE(chain.store().database_for_tests().Delete(sync, "G").ok());
  }
  chain.close();
  for (const auto mode : {ledger::ChainStore::Mode::load_state, ledger::ChainStore::Mode::raw}) {
    auto reopened = ledger::ChainStore::open(chain.store_path(), chain.genesis(), mode);
    REQUIRE_FALSE(reopened.ok());
    CHECK(reopened.error().code == ledger::Code::corruption);
  }
  // Nothing was written: had either open made the store new, it would hold a genesis again.
  {
    leveldb::DB* raw = nullptr;
    REQUIRE(leveldb::DB::Open(leveldb::Options(), chain.store_path().string(), &raw).ok());
    const std::unique_ptr<leveldb::DB> db(raw);
    std::string genesis_record;
    CHECK(db->Get(leveldb::ReadOptions(), "G", &genesis_record).IsNotFound());
  }

  pc::test::TempDir empty;
  auto nothing = ledger::ChainStore::open(empty.path() / "chain", chain.genesis(), ledger::ChainStore::Mode::raw);
  REQUIRE_FALSE(nothing.ok());
  CHECK_FALSE(std::filesystem::exists(empty.path() / "chain" / "CURRENT"));
}

TEST_CASE("blocks that break a chain rule are refused and change nothing", "[ledger][store]") {
  // Proves each block rule on both commit paths (append with signature verification, and
  // append_executed for a proposer's own block): the typed code, and that the tip, the stored
  // records, the stored blocks and indexes and the in-memory state are untouched.
  TestChain chain;
  const std::vector<Hash256> committed_ids = commit_history(chain);
  ledger::ChainStore& store = chain.store();
  const StoreView before = view_of(store);
  const ledger::Tip tip = store.tip();
  const auto validator = validator_key();

  // The candidates every refused block is built from. They are never committed by a refused
  // block, so they stay valid for the next case and for the final, accepted block.
  const auto carol = TxFactory::customer(3);
  const ledger::Transaction fresh = chain.txs.issue(2, carol.public_key(), 25, "order-fresh");
  const ledger::Transaction other = chain.txs.issue(3, carol.public_key(), 26, "order-other");
  const ledger::Transaction candidates[] = {fresh};

  const auto produce = [&] {
    node::ProducedBlock produced = node::produce_block(chain.state(), tip, candidates, tip.time_ms + 1'000,
                                                       {1, &validator}, ledger::SignatureCheck::verify);
    REQUIRE(produced.rejected.empty());
    REQUIRE(produced.block.transactions.size() == 1);
    return produced;
  };

  struct Case {
    std::string name;
    ledger::Code append_code;    // append(block, SignatureCheck::verify)
    ledger::Code executed_code;  // append_executed(block, the changes the producer made)
    std::function<void(ledger::Block&)> mutate;
  };
  const auto partner2_validator = seeded_key("partner 2 validator");
  const Hash256 first_block_id = store.block_at(1)->header.hash();
  const Hash256 other_block_id = crypto::sha256(as_bytes("another block"));
  const std::vector<Case> cases = {
      {"block for tip + 2", ledger::Code::wrong_height, ledger::Code::wrong_height,
       [](ledger::Block& block) {
         block.header.height += 1;
         resign(block);
       }},
      {"previous hash of an older block", ledger::Code::wrong_previous_hash, ledger::Code::wrong_previous_hash,
       [&](ledger::Block& block) {
         block.header.previous_hash = first_block_id;
         resign(block);
       }},
      {"another chain id", ledger::Code::wrong_chain_id, ledger::Code::wrong_chain_id,
       [](ledger::Block& block) {
         block.header.chain_id = "other-chain";
         resign(block);
       }},
      {"time equal to the tip's", ledger::Code::bad_timestamp, ledger::Code::bad_timestamp,
       [&](ledger::Block& block) {
         block.header.time_ms = tip.time_ms;
         resign(block);
       }},
      {"proposer 2 has no voting power", ledger::Code::unknown_proposer, ledger::Code::unknown_proposer,
       [](ledger::Block& block) {
         block.header.proposer = 2;
         resign(block);
       }},
      {"a transaction swapped out after producing", ledger::Code::bad_merkle_root, ledger::Code::bad_merkle_root,
       [&](ledger::Block& block) { block.transactions[0] = other; }},
      {"commit signed by a non-validator", ledger::Code::bad_commit, ledger::Code::bad_commit,
       [&](ledger::Block& block) { resign(block, 2, partner2_validator); }},
      {"commit naming validator 1, signed by another key", ledger::Code::bad_commit, ledger::Code::bad_commit,
       [&](ledger::Block& block) { resign(block, 1, partner2_validator); }},
      {"commit with no signature", ledger::Code::bad_commit, ledger::Code::bad_commit,
       [](ledger::Block& block) { block.commit.signatures.clear(); }},
      {"commit signed over another block id", ledger::Code::bad_commit, ledger::Code::bad_commit,
       [&](ledger::Block& block) {
         block.commit.signatures = {ledger::sign_commit(1, validator, block.header.chain_id, block.header.height, 0, other_block_id)};
       }},
      {"header state hash altered, commit re-signed", ledger::Code::bad_state_hash, ledger::Code::bad_state_hash,
       [](ledger::Block& block) {
         block.header.state_hash[0] ^= 0x01;
         resign(block);
       }},
  };

  for (const Case& refused : cases) {
    INFO("case: " << refused.name);
    node::ProducedBlock produced = produce();
    // The certificate as verified for the block before the mutation: handed to write_executed
    // below, it must not let any mutated block skip a check (a changed header is another id, a
    // changed certificate is another certificate).
    REQUIRE(ledger::check_block_certificate(chain.genesis(), produced.block).ok());
    const ledger::VerifiedCertificate verified_before_mutation{produced.block.header.hash(), produced.block.commit};
    // Likewise the Merkle tree built for the block before the mutation (as a node builds it
    // when it seals or validates a block): its ids are no longer the block's after a swap.
    const ledger::MerkleTree tree_before_mutation(produced.block.tx_ids(), ledger::stored_merkle_first_level);
    refused.mutate(produced.block);

    auto appended = store.append(produced.block, ledger::SignatureCheck::verify);
    REQUIRE_FALSE(appended.ok());
    INFO("append: " << appended.error().message());
    CHECK(appended.error().code == refused.append_code);
    CHECK(view_of(store) == before);

    ledger::BlockChanges changes = produced.changes;
    auto executed = store.append_executed(produced.block, std::move(changes));
    REQUIRE_FALSE(executed.ok());
    INFO("append_executed: " << executed.error().message());
    CHECK(executed.error().code == refused.executed_code);
    CHECK(view_of(store) == before);

    auto written = store.write_executed(produced.block, produced.changes, &verified_before_mutation);
    REQUIRE_FALSE(written.ok());
    INFO("write_executed with the unmutated block's verified certificate: " << written.error().message());
    CHECK(written.error().code == refused.executed_code);
    CHECK(view_of(store) == before);

    auto written_with_tree = store.write_executed(produced.block, produced.changes, nullptr, &tree_before_mutation);
    REQUIRE_FALSE(written_with_tree.ok());
    INFO("write_executed with the unmutated block's Merkle tree: " << written_with_tree.error().message());
    CHECK(written_with_tree.error().code == refused.executed_code);
    CHECK(view_of(store) == before);

    CHECK(store.find_transaction(fresh.id()).error().code == ledger::Code::not_found);
    CHECK(store.height_of(produced.block.header.hash()).error().code == ledger::Code::not_found);
  }

  {
    INFO("case: a replayed transaction in a block whose envelope is valid");
    // Built by hand: the producer would leave the replay out.
    auto replayed = store.block_at(1);
    REQUIRE(replayed.ok());
    ledger::Block block = produce().block;
    block.transactions = {replayed->transactions[0]};
    block.header.merkle_root = ledger::merkle_root(block.tx_ids());
    resign(block);
    REQUIRE(ledger::check_block_envelope(chain.genesis(), tip, block).ok());

    auto appended = store.append(block, ledger::SignatureCheck::verify);
    REQUIRE_FALSE(appended.ok());
    INFO(appended.error().message());
    CHECK(appended.error().code == ledger::Code::invalid_transaction);
    CHECK(appended.error().detail.find("transaction 0: sequence_too_low") != std::string::npos);
    CHECK(view_of(store) == before);
    auto location = store.find_transaction(replayed->transactions[0].id());
    REQUIRE(location.ok());
    CHECK(location->height == 1);
    CHECK(location->index == 0);

    // append_executed does not execute: it trusts the proposer's changes. Changes from
    // executing another transaction list (here: none) are refused.
    node::ProducedBlock empty = node::produce_block(chain.state(), tip, {}, tip.time_ms + 1'000,
                                                    {1, &validator}, ledger::SignatureCheck::verify);
    auto executed = store.append_executed(block, std::move(empty.changes));
    REQUIRE_FALSE(executed.ok());
    CHECK(executed.error().code == ledger::Code::bad_state_hash);
    CHECK(view_of(store) == before);
  }

  // After every refusal the store still takes valid blocks, on both paths.
  node::ProducedBlock produced = produce();
  REQUIRE(store.append(produced.block, ledger::SignatureCheck::verify).ok());
  CHECK(store.tip() == ledger::tip_after(produced.block));
  CHECK(store.find_transaction(fresh.id())->height == tip.height + 1);

  const ledger::Transaction next_candidates[] = {other};
  node::ProducedBlock next = node::produce_block(chain.state(), store.tip(), next_candidates,
                                                 store.tip().time_ms + 1'000, {1, &validator},
                                                 ledger::SignatureCheck::verify);
  REQUIRE(next.rejected.empty());
  REQUIRE(store.append_executed(next.block, std::move(next.changes)).ok());
  CHECK(store.tip().height == tip.height + 2);
  CHECK(store.find_transaction(other.id())->height == tip.height + 2);
  for (const Hash256& id : committed_ids) CHECK(store.find_transaction(id).ok());
  CHECK(view_of(store).blocks.size() == before.blocks.size() + 2);
}

TEST_CASE("a block whose certificate verifies but whose proposer is not the schedule's is refused",
          "[ledger][store][proposer]") {
  // Proves the store checks the proposer rule itself, not only the audit: among four
  // validators of equal power, a round-0 block whose certificate (three of four precommits)
  // verifies but whose header names round 1's proposer is wrong_proposer on both append
  // paths, and nothing is written; the same block naming round 0's proposer is accepted.
  pc::test::TempDir dir;
  ledger::Genesis genesis = pc::test::make_genesis({.partners = 4});
  for (ledger::Partner& partner : genesis.partners) partner.voting_power = 1;
  auto created = ledger::ChainStore::create(dir.path() / "chain", genesis);
  REQUIRE(created.ok());
  ledger::ChainStore& store = **created;
  const auto schedule = ledger::ProposerSchedule::for_height(genesis, 1);
  const ledger::PartnerId scheduled = schedule.proposer(0);
  const ledger::PartnerId other = schedule.proposer(1);
  REQUIRE(scheduled != other);

  const auto key_of = [](ledger::PartnerId id) { return seeded_key("partner " + std::to_string(id) + " validator"); };
  const auto scheduled_key = key_of(scheduled);
  const auto block_named = [&](ledger::PartnerId proposer) {
    node::ProducedBlock produced = node::produce_block(store.state(), store.tip(), {}, store.tip().time_ms + 1'000,
                                                       {scheduled, &scheduled_key}, ledger::SignatureCheck::verify);
    REQUIRE(produced.block.header.round == 0);
    produced.block.header.proposer = proposer;
    produced.block.commit.signatures.clear();
    for (ledger::PartnerId signer = 1; signer <= 3; ++signer) {
      produced.block.commit.signatures.push_back(ledger::sign_commit(signer, key_of(signer), genesis.chain_id, 1, 0,
                                                                     produced.block.header.hash()));
    }
    REQUIRE(ledger::check_block_certificate(genesis, produced.block).ok());
    return produced;
  };

  node::ProducedBlock wrong = block_named(other);
  auto appended = store.append(wrong.block, ledger::SignatureCheck::verify);
  REQUIRE_FALSE(appended.ok());
  CHECK(appended.error().code == ledger::Code::wrong_proposer);
  auto executed = store.append_executed(wrong.block, std::move(wrong.changes));
  REQUIRE_FALSE(executed.ok());
  CHECK(executed.error().code == ledger::Code::wrong_proposer);
  CHECK(store.tip().height == 0);
  CHECK(store.stored_tip()->height == 0);
  CHECK(store.height_of(wrong.block.header.hash()).error().code == ledger::Code::not_found);

  node::ProducedBlock right = block_named(scheduled);
  REQUIRE(store.append(right.block, ledger::SignatureCheck::verify).ok());
  CHECK(store.tip() == ledger::tip_after(right.block));
}

TEST_CASE("every committed transaction has an inclusion proof against its stored header",
          "[ledger][store]") {
  // Proves the inclusion proof path a client will use: locate the transaction, read the
  // block, build merkle_path, verify it against the stored header's Merkle root.
  TestChain chain;
  std::vector<ledger::Transaction> batch;
  for (int i = 0; i < 7; ++i) {
    batch.push_back(chain.txs.issue(static_cast<ledger::PartnerId>(1 + i % 3), TxFactory::customer(i).public_key(),
                                    static_cast<std::uint64_t>(10 + i), "order-" + std::to_string(i)));
  }
  chain.commit_all({batch[0]});
  chain.commit_all(std::vector(batch.begin() + 1, batch.end()));
  std::size_t proofs = 0;
  for (const ledger::Transaction& tx : batch) {
    auto location = chain.store().find_transaction(tx.id());
    REQUIRE(location.ok());
    auto block = chain.store().block_at(location->height);
    REQUIRE(block.ok());
    const std::vector<Hash256> ids = block->tx_ids();
    REQUIRE(location->index < ids.size());
    CHECK(ids[location->index] == tx.id());
    const std::vector<Hash256> path = ledger::merkle_path(ids, location->index);
    CHECK(ledger::verify_merkle_path(tx.id(), location->index, ids.size(), path, block->header.merkle_root));
    const Hash256 stranger = crypto::sha256(as_bytes("not in the block"));
    CHECK_FALSE(ledger::verify_merkle_path(stranger, location->index, ids.size(), path, block->header.merkle_root));
    ++proofs;
  }
  CHECK(proofs == batch.size());
}

TEST_CASE("a written block is durable before it is published, and the tip moves only on publish",
          "[ledger][store]") {
  // Proves the two steps a node takes to write outside its lock: readers see the old tip and
  // state until publish(), and a crash between the two steps (a reopen) finds the new tip.
  TestChain chain;
  chain.commit_all({chain.txs.issue(1, TxFactory::customer(1).public_key(), 10, "order-1")});
  ledger::ChainStore& store = chain.store();
  const ledger::Tip before = store.tip();
  const Hash256 state_before = store.state().state_hash();
  const crypto::SecretKey validator = validator_key();
  const ledger::Transaction next_tx = chain.txs.issue(1, TxFactory::customer(2).public_key(), 20, "order-2");
  const ledger::Transaction candidates[] = {next_tx};
  node::ProducedBlock produced = node::produce_block(store.state(), before, candidates, before.time_ms + 1'000,
                                                     {1, &validator}, ledger::SignatureCheck::verify);
  REQUIRE(produced.rejected.empty());

  // The store builds the block's Merkle tree, or takes the one built when it was sealed.
  const bool tree_given = GENERATE(false, true);
  const ledger::MerkleTree tree(produced.block.tx_ids(), ledger::stored_merkle_first_level);
  REQUIRE(store.write_executed(produced.block, produced.changes, nullptr, tree_given ? &tree : nullptr).ok());
  CHECK(store.tip() == before);
  CHECK(store.state().state_hash() == state_before);
  CHECK(store.state().account(TxFactory::customer(2).public_key()) == nullptr);

  SECTION("publish makes it the tip") {
    store.publish(produced.block, std::move(produced.changes));
    CHECK(store.tip() == ledger::tip_after(produced.block));
    CHECK(store.state().account(TxFactory::customer(2).public_key())->balance() == 20);
  }
  SECTION("a crash before publish loses nothing written") {
    chain.reopen();
    CHECK(chain.store().tip() == ledger::tip_after(produced.block));
    CHECK(chain.store().state().account(TxFactory::customer(2).public_key())->balance() == 20);
  }
}

namespace {

// The store's files and their sizes, to show that an open changed none of them.
std::map<std::string, std::uintmax_t> files_of(const std::filesystem::path& directory) {
  std::map<std::string, std::uintmax_t> files;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    // LevelDB's own text log is rewritten on every open; it holds no data.
    const std::string name = entry.path().filename().string();
    if (name != "LOG" && name != "LOG.old" && name != "LOCK") files[name] = entry.file_size();
  }
  return files;
}

// Blocks of `per_block` issuances each, so that every block fills LevelDB table blocks of its own.
void commit_blocks(TestChain& chain, int blocks, int per_block) {
  for (int height = 1; height <= blocks; ++height) {
    std::vector<ledger::Transaction> txs;
    for (int i = 0; i < per_block; ++i) {
      txs.push_back(chain.txs.issue(1, TxFactory::customer(i + 1).public_key(), 10,
                                    "order-" + std::to_string(height) + "-" + std::to_string(i)));
    }
    chain.commit_all(txs);
  }
}

// Blocks of 1, 7, 8, 9, 16, 17 and 30 issuances (one chunk short of, exactly, and just past
// chunk boundaries), and an empty one, committed on `chain`.
void commit_blocks_around_chunk_edges(TestChain& chain) {
  int customer = 0;
  for (const std::size_t size : std::initializer_list<std::size_t>{1, 7, 8, 0, 9, 16, 17, 30}) {
    std::vector<ledger::Transaction> block;
    for (std::size_t i = 0; i < size; ++i, ++customer) {
      block.push_back(chain.txs.issue(static_cast<ledger::PartnerId>(1 + customer % 3),
                                      TxFactory::customer(customer).public_key(), 10,
                                      "order-" + std::to_string(customer)));
    }
    chain.commit_all(block);
  }
}

}  // namespace

TEST_CASE("a store that lost its CURRENT file is refused, and nothing in it is deleted", "[ledger][store]") {
  // Proves issue 7 §1.2: without CURRENT, LevelDB takes a directory for a new store when
  // create_if_missing is set, and deletes its table files; open() never sets it, and says
  // what is missing.
  TestChain chain;
  commit_blocks(chain, 3, 5);
  chain.store().compact();  // the blocks move from the log into table files
  chain.close();
  std::filesystem::remove(chain.store_path() / "CURRENT");
  const auto before = files_of(chain.store_path());
  REQUIRE(std::any_of(before.begin(), before.end(), [](const auto& file) { return file.first.ends_with(".ldb"); }));

  for (const auto mode : {ledger::ChainStore::Mode::load_state, ledger::ChainStore::Mode::raw}) {
    auto opened = ledger::ChainStore::open(chain.store_path(), chain.genesis(), mode);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().code == ledger::Code::corruption);
    CHECK_THAT(opened.error().detail, Catch::Contains("no CURRENT file"));
    CHECK(files_of(chain.store_path()) == before);
  }
  CHECK_FALSE(std::filesystem::exists(chain.store_path() / "CURRENT"));
  // create() does not make a store over those files either.
  auto created = ledger::ChainStore::create(chain.store_path(), chain.genesis());
  REQUIRE_FALSE(created.ok());
  CHECK(files_of(chain.store_path()) == before);
}

TEST_CASE("open never creates a store where there is none, only create does", "[ledger][store]") {
  // Proves that a missing or empty chain directory (a volume not mounted) is not_found for
  // every mode, and stays missing or empty.
  pc::test::TempDir dir;
  const ledger::Genesis genesis = pc::test::make_genesis();
  std::filesystem::create_directory(dir.path() / "empty");
  for (const auto mode : {ledger::ChainStore::Mode::load_state, ledger::ChainStore::Mode::raw}) {
    auto missing = ledger::ChainStore::open(dir.path() / "missing", genesis, mode);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == ledger::Code::not_found);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "missing"));
    auto empty = ledger::ChainStore::open(dir.path() / "empty", genesis, mode);
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error().code == ledger::Code::not_found);
    CHECK(std::filesystem::is_empty(dir.path() / "empty"));
  }
  auto created = ledger::ChainStore::create(dir.path() / "empty", genesis);
  REQUIRE(created.ok());
  CHECK((*created)->tip().height == 0);
}

TEST_CASE("after a failed block write the store never writes again, and reopens at its old tip",
          "[ledger][store][storage-fault]") {
  // Proves issue 7 §1.1 at the store: a write that fails half-way (a full disk) leaves a torn
  // record at the end of LevelDB's log. Had the store written again once space was free, that
  // record would sit in the middle of the log and the next open would refuse the whole store
  // with a checksum mismatch.
  TestChain chain;
  commit_blocks(chain, 1, 3);
  const ledger::Tip tip = chain.store().tip();
  chain.close();
  pc::test::FullDiskEnv disk;
  auto opened = ledger::ChainStore::open(chain.store_path(), chain.genesis(), ledger::ChainStore::Mode::load_state, &disk);
  REQUIRE(opened.ok());
  std::unique_ptr<ledger::ChainStore> owner = std::move(opened).value();
  ledger::ChainStore& store = *owner;

  const crypto::SecretKey validator = validator_key();
  std::vector<ledger::Transaction> candidates;
  for (int i = 0; i < 5; ++i) {
    candidates.push_back(chain.txs.issue(1, TxFactory::customer(i + 1).public_key(), 10, "next-" + std::to_string(i)));
  }
  node::ProducedBlock produced = node::produce_block(store.state(), tip, candidates, tip.time_ms + 1'000,
                                                     {1, &validator}, ledger::SignatureCheck::verify);
  REQUIRE(produced.rejected.empty());

  disk.set_space_left(200);  // less than the block: its log record is torn
  auto failed = store.write_executed(produced.block, produced.changes);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().code == ledger::Code::io_error);
  REQUIRE(store.write_failure().has_value());

  disk.set_space_left(std::nullopt);  // space is free again
  const std::uint64_t offered = disk.bytes_offered();
  auto again = store.write_executed(produced.block, produced.changes);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().message() == failed.error().message());
  CHECK(disk.bytes_offered() == offered);  // LevelDB was not asked to write anything
  CHECK(store.tip() == tip);
  owner.reset();

  auto reopened = ledger::ChainStore::open(chain.store_path(), chain.genesis());
  INFO((reopened ? std::string() : reopened.error().message()));
  REQUIRE(reopened.ok());
  CHECK((*reopened)->tip() == tip);
}

TEST_CASE("a damaged stored block reads as corruption, not io_error", "[ledger][store]") {
  // Proves issue 7 §1.5: LevelDB's checksum mismatch on an old block's bytes is reported as
  // corruption (RPC 1601, as docs/rpc.md says), the code for bad stored bytes.
  TestChain chain;
  commit_blocks(chain, 4, 20);
  chain.store().compact();
  chain.close();
  std::filesystem::path table;
  for (const auto& entry : std::filesystem::directory_iterator(chain.store_path())) {
    if (entry.path().extension() == ".ldb") table = entry.path();
  }
  REQUIRE_FALSE(table.empty());
  {
    // Keys sort B (blocks) first, so the table's first bytes are block 1's.
    std::fstream file(table, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(100);
    file.write("damage", 6);
  }
  auto reopened = ledger::ChainStore::open(chain.store_path(), chain.genesis());
  INFO((reopened ? std::string() : reopened.error().message()));
  REQUIRE(reopened.ok());
  auto block = (*reopened)->block_at(1);
  REQUIRE_FALSE(block.ok());
  CHECK(block.error().code == ledger::Code::corruption);
  CHECK_THAT(block.error().detail, Catch::Contains("checksum"));
}

namespace {

// Counts the reads of table files that go through the Env it wraps.
class ReadCountingEnv final : public leveldb::EnvWrapper {
 public:
  explicit ReadCountingEnv(leveldb::Env* target) : EnvWrapper(target) {}
  leveldb::Status NewRandomAccessFile(const std::string& path, leveldb::RandomAccessFile** result) override {
    leveldb::RandomAccessFile* file = nullptr;
    leveldb::Status status = target()->NewRandomAccessFile(path, &file);
    *result = status.ok() ? new CountedFile(std::unique_ptr<leveldb::RandomAccessFile>(file), reads_) : nullptr;
    return status;
  }
  int reads() const { return reads_.load(); }

 private:
  class CountedFile final : public leveldb::RandomAccessFile {
   public:
    CountedFile(std::unique_ptr<leveldb::RandomAccessFile> file, std::atomic<int>& reads)
        : file_(std::move(file)), reads_(reads) {}
    leveldb::Status Read(std::uint64_t offset, std::size_t n, leveldb::Slice* result, char* scratch) const override {
      reads_.fetch_add(1);
      return file_->Read(offset, n, result, scratch);
    }

   private:
    std::unique_ptr<leveldb::RandomAccessFile> file_;
    std::atomic<int>& reads_;
  };
  std::atomic<int> reads_{0};
};

// Every block, transaction and proof of the store, as a reader sees them.
std::vector<Bytes> everything_read(const ledger::ChainStore& store) {
  std::vector<Bytes> seen;
  for (std::uint64_t height = 1; height <= store.tip().height; ++height) {
    auto block = store.block_at(height);
    REQUIRE(block.ok());
    seen.push_back(block->encode());
    for (const ledger::Transaction& tx : block->transactions) {
      auto location = store.find_transaction(tx.id());
      REQUIRE(location.ok());
      auto proof = store.transaction_proof(tx.id(), *location);
      REQUIRE(proof.ok());
      seen.push_back(proof->tx.bytes());
      for (const Hash256& node : proof->merkle_path) seen.emplace_back(node.begin(), node.end());
    }
  }
  return seen;
}

}  // namespace

TEST_CASE("the store's table blocks are read from their files once, then from the block cache",
          "[ledger][store][cache]") {
  // Proves what ledger/cached_read_env.hpp is for: through LevelDB's default Env (mapped
  // files) a lookup reads its block from the file again and checks its checksum again when
  // the block is stored uncompressed (as a Merkle record of 300 transactions, 4.9 KB of
  // hashes, is), because LevelDB never caches such a block; through the cached-read Env the
  // second pass over the same blocks, transactions and proofs reads no file at all, and
  // answers the same bytes, also when no table file may stay open.
  TestChain chain;
  commit_blocks(chain, 2, 300);
  chain.store().compact();
  const std::vector<Bytes> expected = everything_read(chain.store());
  chain.close();

  const auto second_pass_reads = [&](leveldb::Env* env) {
    ReadCountingEnv counting(env);
    auto store = ledger::ChainStore::open(chain.store_path(), chain.genesis(), ledger::ChainStore::Mode::load_state,
                                          &counting);
    REQUIRE(store.ok());
    CHECK(everything_read(**store) == expected);
    const int first = counting.reads();
    CHECK(first > 0);
    CHECK(everything_read(**store) == expected);
    return counting.reads() - first;
  };
  CHECK(second_pass_reads(leveldb::Env::Default()) > 0);
  const std::unique_ptr<leveldb::Env> cached = ledger::make_cached_read_env(leveldb::Env::Default(), 2);
  CHECK(second_pass_reads(cached.get()) == 0);
  const std::unique_ptr<leveldb::Env> opened_per_read = ledger::make_cached_read_env(leveldb::Env::Default(), 0);
  CHECK(second_pass_reads(opened_per_read.get()) == 0);
}

TEST_CASE("a transaction's proof read from its chunk equals the one over its whole block", "[ledger][store]") {
  // Proves transaction_proof (one chunk and the Merkle record, not the block) answers what the
  // whole block would: the same transaction, header, count and ledger::merkle_path, for every
  // position of blocks around the chunk size; and that the block reads back byte for byte.
  TestChain chain;
  commit_blocks_around_chunk_edges(chain);
  ledger::ChainStore& store = chain.store();
  std::size_t proofs = 0;
  for (std::uint64_t height = 1; height <= store.tip().height; ++height) {
    auto block = store.block_at(height);
    REQUIRE(block.ok());
    auto bytes = store.block_bytes_at(height);
    REQUIRE(bytes.ok());
    CHECK(*bytes == block->encode());
    const std::vector<Hash256> ids = block->tx_ids();
    for (std::size_t index = 0; index < ids.size(); ++index) {
      INFO("height " << height << ", transaction " << index << " of " << ids.size());
      auto location = store.find_transaction(ids[index]);
      REQUIRE(location.ok());
      auto proof = store.transaction_proof(ids[index], *location);
      REQUIRE(proof.ok());
      CHECK(proof->tx.bytes() == block->transactions[index].bytes());
      CHECK(proof->header == block->header);
      CHECK(proof->tx_count == ids.size());
      CHECK(proof->merkle_path == ledger::merkle_path(ids, index));
      CHECK(ledger::verify_merkle_path(ids[index], index, ids.size(), proof->merkle_path, block->header.merkle_root));
      ++proofs;
    }
  }
  CHECK(proofs == 88);
}

TEST_CASE("a transaction's proof from records that disagree is corruption", "[ledger][store]") {
  // Proves transaction_proof checks what it reads: an index entry naming another position, a
  // damaged Merkle record and a missing chunk are corruption, never a wrong answer.
  TestChain chain;
  commit_blocks_around_chunk_edges(chain);
  ledger::ChainStore& store = chain.store();
  auto block = store.block_at(7);  // 17 transactions: chunks 0 to 4
  REQUIRE(block.ok());
  const Hash256 id = block->transactions[9].id();
  auto location = store.find_transaction(id);
  REQUIRE(location.ok());
  REQUIRE(store.transaction_proof(id, *location).ok());

  ledger::TxLocation elsewhere = *location;
  elsewhere.index = 10;
  CHECK(store.transaction_proof(id, elsewhere).error().code == ledger::Code::corruption);
  elsewhere.index = 17;
  CHECK(store.transaction_proof(id, elsewhere).error().code == ledger::Code::corruption);

  leveldb::DB& db = store.database_for_tests();
  leveldb::WriteOptions sync;
  sync.sync = true;
  std::string merkle_key = "M";
  ledger::append_big_endian(merkle_key, 7, 8);
  std::string levels;
  REQUIRE(db.Get(leveldb::ReadOptions(), merkle_key, &levels).ok());
  // Levels 2 to 5 of 17 leaves: 5, 3, 2 and 1 nodes. Transaction 9 is in chunk 2, whose
  // subtree root is node 2; nodes 3, 5 and 9 are on its path.
  REQUIRE(ledger::block_chunk_tx_count == 4);
  for (const std::size_t node : std::initializer_list<std::size_t>{2, 3, 5, 9}) {
    INFO("Merkle record node " << node);
    std::string damaged = levels;
    damaged[32 * node + 1] = static_cast<char>(damaged[32 * node + 1] ^ 0x01);
    REQUIRE(db.Put(sync, merkle_key, damaged).ok());
    CHECK(store.transaction_proof(id, *location).error().code == ledger::Code::corruption);
  }
  REQUIRE(db.Put(sync, merkle_key, levels.substr(1)).ok());
  CHECK(store.transaction_proof(id, *location).error().code == ledger::Code::corruption);
  REQUIRE(db.Put(sync, merkle_key, levels).ok());

  std::string chunk_key = "B";
  ledger::append_big_endian(chunk_key, 7, 8);
  ledger::append_big_endian(chunk_key, 2, 4);
  REQUIRE(db.Delete(sync, chunk_key).ok());
  CHECK(store.transaction_proof(id, *location).error().code == ledger::Code::corruption);
  CHECK(store.block_bytes_at(7).error().code == ledger::Code::corruption);
}

TEST_CASE("a block frame encodes without its transactions and splices back into the block",
          "[ledger][store][encoding]") {
  // Proves BlockFrame's layout (docs/protocol.md, "Store layout"): header, count and commit,
  // the block's encoding once the transactions go back at transactions_offset, and canonical
  // or rejected like a block.
  TestChain chain;
  commit_blocks_around_chunk_edges(chain);
  auto block = chain.store().block_at(5);  // 9 transactions
  REQUIRE(block.ok());
  const Bytes frame_bytes = ledger::BlockFrame::encode(*block);
  auto frame = ledger::BlockFrame::decode(frame_bytes);
  REQUIRE(frame.ok());
  CHECK(frame->header == block->header);
  CHECK(frame->tx_count == 9);
  CHECK(frame->commit == block->commit);
  CHECK(frame->transactions_offset == block->header.encode().size() + 1);

  ledger::Writer transactions;
  for (const auto& tx : block->transactions) transactions.bytes(tx.bytes());
  Bytes spliced(frame_bytes.begin(), frame_bytes.begin() + static_cast<std::ptrdiff_t>(frame->transactions_offset));
  spliced.insert(spliced.end(), transactions.view().begin(), transactions.view().end());
  spliced.insert(spliced.end(), frame_bytes.begin() + static_cast<std::ptrdiff_t>(frame->transactions_offset),
                 frame_bytes.end());
  CHECK(spliced == block->encode());

  Bytes trailing = frame_bytes;
  trailing.push_back(0);
  CHECK(ledger::BlockFrame::decode(trailing).error().code == ledger::Code::trailing_bytes);
  CHECK_FALSE(ledger::BlockFrame::decode(ByteSpan(frame_bytes).first(frame_bytes.size() - 1)).ok());
}

TEST_CASE("a block's signatures are checked once: transactions verified before are skipped, the rest are checked",
          "[ledger][signatures]") {
  // Proves the one-verification rule a validator uses for the mempool's transactions in
  // another validator's proposal: the runner is asked for exactly the transactions not verified
  // before, a bad signature among those is still refused naming its position, and one the
  // caller vouches for is not checked again (which is why only the mempool may vouch).
  TestChain chain;
  const auto carol = TxFactory::customer(3);
  const ledger::Transaction good = chain.txs.issue(1, carol.public_key(), 25, "order-good");
  const ledger::Transaction signed_ok = chain.txs.issue(1, carol.public_key(), 26, "order-tampered");
  Bytes tampered_bytes = signed_ok.bytes();
  tampered_bytes.back() ^= 0x01;  // the signature is the last field
  auto tampered = ledger::Transaction::decode(tampered_bytes);
  REQUIRE(tampered);
  ledger::Block block;
  block.transactions = {good, *tampered};

  std::size_t checked = 0;
  const ledger::BatchRunner runner = [&](std::size_t count, const std::function<void(std::size_t)>& job) {
    checked += count;
    for (std::size_t i = 0; i < count; ++i) job(i);
  };
  const auto every = ledger::verify_block_signatures(chain.genesis(), block, runner);
  REQUIRE_FALSE(every);
  CHECK(every.error().code == ledger::Code::invalid_transaction);
  CHECK(every.error().message().find("transaction 1: ") != std::string::npos);
  CHECK(checked == 2);

  checked = 0;
  const auto vouched_good = [&](const ledger::Transaction& tx) { return tx.id() == good.id(); };
  const auto still_refused = ledger::verify_block_signatures(chain.genesis(), block, runner, nullptr, vouched_good);
  REQUIRE_FALSE(still_refused);
  CHECK(still_refused.error().message().find("transaction 1: ") != std::string::npos);
  CHECK(checked == 1);

  checked = 0;
  const auto vouched_both = [](const ledger::Transaction&) { return true; };
  CHECK(ledger::verify_block_signatures(chain.genesis(), block, runner, nullptr, vouched_both));
  CHECK(checked == 0);
}

TEST_CASE("a certificate is verified again unless it is exactly the one verified for exactly that block id",
          "[ledger][signatures][store]") {
  // Proves the rule the store uses for a block the consensus engine decided: a certificate
  // handed over as verified skips verify_commit only when block id and certificate are
  // equal to the block's; any difference is verified in full. A forged signature shows which
  // path ran (which is why only the engine that ran verify_commit may vouch).
  TestChain chain;
  const ledger::Tip tip = chain.store().tip();
  const auto validator = validator_key();
  const ledger::Transaction tx = chain.txs.issue(1, TxFactory::customer(3).public_key(), 25, "order-cert");
  const ledger::Transaction candidates[] = {tx};
  node::ProducedBlock produced = node::produce_block(chain.state(), tip, candidates, tip.time_ms + 1'000,
                                                     {1, &validator}, ledger::SignatureCheck::verify);
  REQUIRE(produced.rejected.empty());
  ledger::Block block = produced.block;
  REQUIRE(ledger::check_block_certificate(chain.genesis(), block).ok());
  const Hash256 id = block.header.hash();
  const ledger::VerifiedCertificate honest{id, block.commit};
  CHECK(ledger::check_block_certificate(chain.genesis(), block, &honest).ok());

  block.commit.signatures[0].signature[0] ^= 0x01;  // forged: verify_commit refuses it
  REQUIRE(ledger::check_block_certificate(chain.genesis(), block).error().code == ledger::Code::bad_commit);
  CHECK(ledger::check_block_certificate(chain.genesis(), block, nullptr).error().code == ledger::Code::bad_commit);
  // The honest certificate is not this one: verified in full, refused.
  CHECK(ledger::check_block_certificate(chain.genesis(), block, &honest).error().code == ledger::Code::bad_commit);
  // This certificate, vouched for another block id: refused.
  const ledger::VerifiedCertificate other_id{crypto::sha256(as_bytes("another block")), block.commit};
  CHECK(ledger::check_block_certificate(chain.genesis(), block, &other_id).error().code == ledger::Code::bad_commit);
  // Another round, or one signature more: another certificate, refused.
  ledger::VerifiedCertificate other_round{id, block.commit};
  other_round.commit.round += 1;
  CHECK(ledger::check_block_certificate(chain.genesis(), block, &other_round).error().code == ledger::Code::bad_commit);
  ledger::VerifiedCertificate one_more{id, block.commit};
  one_more.commit.signatures.push_back(block.commit.signatures[0]);
  CHECK(ledger::check_block_certificate(chain.genesis(), block, &one_more).error().code == ledger::Code::bad_commit);
  // Exactly this certificate over exactly this id: not verified again.
  const ledger::VerifiedCertificate exact{id, block.commit};
  CHECK(ledger::check_block_certificate(chain.genesis(), block, &exact).ok());
  // The header round rule is checked either way.
  ledger::Block late = produced.block;
  late.header.round = late.commit.round + 1;
  const ledger::VerifiedCertificate late_exact{late.header.hash(), late.commit};
  CHECK(ledger::check_block_certificate(chain.genesis(), late, &late_exact).error().code == ledger::Code::bad_commit);
}

TEST_CASE("a block's tier changes are stored beside it, read back after a reopen, and round-trip",
          "[ledger][store][tiers]") {
  // Proves the tier change records (docs/protocol.md, "Store layout"): every block has one,
  // in execution's order (an earned upgrade, a grant, a grant that ended at the block's
  // start; the block's start first when one block has both), empty for a block that changed
  // no tier, and all of it survives a reopen.
  TestChain chain(pc::test::tier_chain_options());
  const crypto::PublicKey alice = TxFactory::customer(1).public_key();
  const crypto::PublicKey bob = TxFactory::customer(2).public_key();
  const crypto::PublicKey carol = TxFactory::customer(3).public_key();
  const ledger::Transaction small = chain.txs.issue(1, bob, 100, "order-0");
  const ledger::Transaction crossing = chain.txs.issue(1, alice, 1'000, "order-1");
  const ledger::Transaction grant = chain.txs.grant_tier(3, bob, 2, pc::test::state::at_day(20));
  const ledger::Transaction carol_crossing = chain.txs.issue(2, carol, 1'000, "order-2");
  pc::test::state::commit_at(chain, pc::test::state::at_day(1), {small, crossing});
  pc::test::state::commit_at(chain, pc::test::state::at_day(2), {grant});
  pc::test::state::commit_at(chain, pc::test::state::at_day(20), {carol_crossing});
  pc::test::state::commit_at(chain, pc::test::state::at_day(21));

  using Changes = std::vector<ledger::TierChange>;
  const std::vector<Changes> expected{
      {{alice, 0, 1, 1, crossing.id()}},
      {{bob, 0, 2, 3, grant.id()}},
      {{bob, 2, 0, 0, Hash256{}}, {carol, 0, 1, 2, carol_crossing.id()}},
      {},
  };
  const auto check_records = [&](const ledger::ChainStore& store) {
    for (std::uint64_t height = 1; height <= expected.size(); ++height) {
      INFO("height " << height);
      auto changes = store.tier_changes_at(height);
      REQUIRE(changes.ok());
      REQUIRE(changes->has_value());
      CHECK(**changes == expected[height - 1]);
    }
    auto above_tip = store.tier_changes_at(expected.size() + 1);
    REQUIRE(above_tip.ok());
    CHECK_FALSE(above_tip->has_value());
  };
  check_records(chain.store());
  chain.reopen();
  check_records(chain.store());

  for (const Changes& changes : expected) {
    auto decoded = ledger::decode_tier_changes(ledger::encode_tier_changes(changes));
    REQUIRE(decoded.ok());
    CHECK(*decoded == changes);
  }
}

TEST_CASE("a tier change record that is not what encode_tier_changes writes is corruption", "[ledger][store][tiers]") {
  // Proves the decoder's refusals: another version, a count the bytes cannot hold or not
  // minimally encoded, a change that keeps its tier, a short value and a byte too many.
  const ledger::TierChange change{TxFactory::customer(1).public_key(), 0, 1, 1, crypto::sha256(as_bytes("tx"))};
  const Bytes good = ledger::encode_tier_changes({change});
  REQUIRE(good.size() == 1 + 1 + 68);
  REQUIRE(ledger::decode_tier_changes(good).ok());
  REQUIRE(ledger::decode_tier_changes(Bytes{1, 0}).ok());  // a block that changed no tier
  const auto refused = [](Bytes bytes, const std::string& why) {
    auto decoded = ledger::decode_tier_changes(bytes);
    INFO(why);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.error().code == ledger::Code::corruption);
    CHECK(decoded.error().detail.find(why) != std::string::npos);
  };
  Bytes other_version = good;
  other_version[0] = 2;
  refused(other_version, "version 2");
  Bytes two_counted = good;
  two_counted[1] = 2;
  refused(two_counted, "tier changes");
  refused(Bytes{1, 0x80, 0x00}, "not minimally encoded");
  Bytes same_tier = good;
  same_tier[1 + 1 + 32 + 1] = 0;
  refused(same_tier, "keeps tier 0");
  refused(Bytes(good.begin(), good.end() - 1), "tier change record");
  Bytes longer = good;
  longer.push_back(0);
  refused(longer, "tier change record");
  refused(Bytes{}, "tier change record");
}

TEST_CASE("a block stored without a tier change record has unknown tier changes", "[ledger][store][tiers]") {
  // Proves the upgrade path: a block written by a release that kept no records reads
  // nullopt, unknown, not an empty list, while the next block written has its record.
  TestChain chain(pc::test::tier_chain_options());
  const crypto::PublicKey alice = TxFactory::customer(1).public_key();
  const crypto::PublicKey bob = TxFactory::customer(2).public_key();
  pc::test::state::commit_at(chain, pc::test::state::at_day(1), {chain.txs.issue(1, alice, 1'000, "order-1")});
  leveldb::WriteOptions sync;
  sync.sync = true;
  REQUIRE(chain.store().database_for_tests().Delete(sync, pc::test::tier_changes_key(1)).ok());
  chain.reopen();
  auto unknown = chain.store().tier_changes_at(1);
  REQUIRE(unknown.ok());
  CHECK_FALSE(unknown->has_value());

  const ledger::Transaction crossing = chain.txs.issue(2, bob, 1'000, "order-2");
  pc::test::state::commit_at(chain, pc::test::state::at_day(2), {crossing});
  auto known = chain.store().tier_changes_at(2);
  REQUIRE(known.ok());
  REQUIRE(known->has_value());
  CHECK(**known == std::vector<ledger::TierChange>{{bob, 0, 1, 2, crossing.id()}});
}

TEST_CASE("a tier change record has the documented bytes", "[ledger][store][tiers][golden]") {
  // Proves the worked example of docs/protocol.md ("Store layout", tier change records):
  // customer 2's grant of Gold ending at the block's start, then an earned upgrade of
  // customer 1 by partner 1's transaction sha256("tx").
  const ledger::TierChange earned{TxFactory::customer(1).public_key(), 0, 1, 1, crypto::sha256(as_bytes("tx"))};
  const ledger::TierChange ended{TxFactory::customer(2).public_key(), 2, 0, 0, Hash256{}};
  const Bytes record = ledger::encode_tier_changes({ended, earned});
  CHECK(to_hex(earned.customer) == "1fe5df78e45a92e24236b4d7ab4fc6be8854e95f1ca27e7f4bb8c19ea8d56650");
  CHECK(to_hex(ended.customer) == "a29b114b93bffa7cda66c71b1f2d643c282f6849e0cf2fe44344c7a4cf7cdc56");
  CHECK(to_hex(earned.tx_id) == "1b5b9ccb3e8d006a5230de9bda23ff91edc794d4f56410560830b418528e446c");
  CHECK(to_hex(record) ==
        "0102"
        "a29b114b93bffa7cda66c71b1f2d643c282f6849e0cf2fe44344c7a4cf7cdc56" "02" "00" "0000"
        "0000000000000000000000000000000000000000000000000000000000000000"
        "1fe5df78e45a92e24236b4d7ab4fc6be8854e95f1ca27e7f4bb8c19ea8d56650" "00" "01" "0100"
        "1b5b9ccb3e8d006a5230de9bda23ff91edc794d4f56410560830b418528e446c");
}
