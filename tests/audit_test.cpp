// The audit (ledger/audit.hpp): a clean chain passes with the same numbers the state holds,
// and a store corrupted underneath the ledger, through LevelDB itself, fails at the height
// of the damaged block.
#include <catch2/catch.hpp>
#include <leveldb/db.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "ledger/audit.hpp"
#include "ledger/codec.hpp"
#include "node/audit_command.hpp"
#include "node/worker_pool.hpp"
#include "tests/fixtures.hpp"
#include "tests/state_support.hpp"

namespace {

using namespace pc;
using crypto::Hash256;
using pc::test::TestChain;
using pc::test::TxFactory;

// Store keys, as docs/protocol.md ("Store layout") defines them.
std::string block_key(std::uint64_t height) {
  std::string key = "B";
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>(height >> shift));
  return key;
}

std::string chunk_key(std::uint64_t height, std::uint32_t chunk) {
  std::string key = block_key(height);
  for (int shift = 24; shift >= 0; shift -= 8) key.push_back(static_cast<char>(chunk >> shift));
  return key;
}

std::string merkle_key(std::uint64_t height) {
  std::string key = block_key(height);
  key[0] = 'M';
  return key;
}

std::string prefixed_key(char prefix, ByteSpan body) {
  std::string key(1, prefix);
  key.append(body.begin(), body.end());
  return key;
}

// The 80-byte tip record: height u64 LE, block id, state hash, time u64 LE.
std::string tip_record(const ledger::Tip& tip) {
  ledger::Writer out;
  out.u64(tip.height);
  out.raw(tip.block_hash);
  out.raw(tip.state_hash);
  out.u64(tip.time_ms);
  const Bytes bytes = out.take();
  return std::string(bytes.begin(), bytes.end());
}

std::string read_value(leveldb::DB& db, const std::string& key) {
  std::string value;
  REQUIRE(db.Get(leveldb::ReadOptions(), key, &value).ok());
  return value;
}

void write_value(leveldb::DB& db, const std::string& key, const std::string& value) {
  leveldb::WriteOptions options;
  options.sync = true;
  REQUIRE(db.Put(options, key, value).ok());
}

void delete_key(leveldb::DB& db, const std::string& key) {
  leveldb::WriteOptions options;
  options.sync = true;
  REQUIRE(db.Delete(options, key).ok());
}

// Closes the chain's own store and opens the same directory the way the audit command does.
std::unique_ptr<ledger::ChainStore> open_for_audit(TestChain& chain) {
  chain.close();
  auto opened = ledger::ChainStore::open(chain.store_path(), chain.genesis(), ledger::ChainStore::Mode::raw);
  INFO((opened ? std::string() : opened.error().message()));
  REQUIRE(opened.ok());
  return std::move(opened).value();
}

// Four blocks using every transaction type; block 2 holds several transactions.
void commit_small_history(TestChain& chain) {
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  const auto bob = TxFactory::customer(2);
  chain.commit_all({txs.issue(1, alice.public_key(), 500, "order-1"), txs.issue(2, bob.public_key(), 300, "order-2")});
  chain.commit_all({txs.redeem(alice, 2, 120), txs.transfer(bob, alice.public_key(), 50),
                    txs.issue(3, bob.public_key(), 40, "order-3", 7), txs.redeem(bob, 3, 30)});
  chain.commit_all({txs.reverse(3, "order-3")});
  chain.commit_all({txs.issue(1, bob.public_key(), 70, "order-4"), txs.redeem(alice, 1, 10)});
}

ledger::Block chain_block(const ledger::ChainStore& store, std::uint64_t height) {
  auto block = store.block_at(height);
  INFO((block ? std::string() : block.error().message()));
  REQUIRE(block.ok());
  return std::move(block).value();
}

void check_report_matches_state(const ledger::AuditReport& report, const ledger::State& state,
                                const ledger::Tip& tip) {
  CHECK(report.ok);
  CHECK(report.fault.code == ledger::Code::ok);
  CHECK(report.tip == tip);
  CHECK(report.blocks == tip.height);
  CHECK(report.totals == state.totals());
  CHECK(report.settlement == state.settlement_matrix());
  REQUIRE(report.partners.size() == state.genesis().partners.size());
  for (const auto& [id, stats] : report.partners) {
    INFO("partner " << id);
    REQUIRE(state.partner(id) != nullptr);
    CHECK(stats == *state.partner(id));
  }
}

void check_same_report(const ledger::AuditReport& a, const ledger::AuditReport& b) {
  CHECK(a.ok == b.ok);
  CHECK(a.fault_height == b.fault_height);
  CHECK(a.fault.code == b.fault.code);
  CHECK(a.fault.detail == b.fault.detail);
  CHECK(a.blocks == b.blocks);
  CHECK(a.transactions == b.transactions);
  CHECK(a.tip == b.tip);
  CHECK(a.totals == b.totals);
  CHECK(a.partners == b.partners);
  CHECK(a.settlement == b.settlement);
}

ledger::BatchRunner runner_for(node::WorkerPool& pool) {
  return [&pool](std::size_t count, const std::function<void(std::size_t)>& job) { pool.run(count, job); };
}

}  // namespace

TEST_CASE("the audit of a clean chain passes with the state's totals, partners and settlement",
          "[ledger][audit]") {
  // Proves that replaying from genesis reproduces exactly what the node's state holds.
  TestChain chain;
  commit_small_history(chain);
  const ledger::State state = chain.state();
  const ledger::Tip tip = chain.store().tip();
  const auto store = open_for_audit(chain);

  const ledger::AuditReport report = ledger::audit_chain(*store);
  INFO(report.fault.message());
  check_report_matches_state(report, state, tip);
  CHECK(report.blocks == 4);
  CHECK(report.transactions == 9);
  CHECK(report.totals.reversed > 0);
  CHECK_FALSE(report.settlement.empty());
}

TEST_CASE("the audit of an empty chain passes at the genesis", "[ledger][audit]") {
  // Proves the boundary: no block, the genesis tip and the genesis state.
  TestChain chain;
  const ledger::State state = chain.state();
  const auto store = open_for_audit(chain);
  const ledger::AuditReport report = ledger::audit_chain(*store);
  INFO(report.fault.message());
  check_report_matches_state(report, state, ledger::genesis_tip(state));
  CHECK(report.transactions == 0);
}

TEST_CASE("one flipped byte anywhere in a stored block's records is a fault at that block's height",
          "[ledger][audit]") {
  // Proves that the block frame (header, count, commit), its transaction chunks and its
  // Merkle record are all covered by some check (decode, link, Merkle root, commit, signature,
  // chunk layout, recomputed Merkle record), for the first, a middle and the tip block.
  TestChain chain;
  commit_small_history(chain);
  const std::uint64_t tip_height = chain.store().tip().height;
  const auto store = open_for_audit(chain);
  leveldb::DB& db = store->database_for_tests();

  const auto expect_fault_for_each = [&](std::uint64_t height, const std::string& key,
                                         const std::set<std::size_t>& offsets) {
    const std::string original = read_value(db, key);
    for (const std::size_t offset : offsets) {
      INFO("block " << height << ", key of " << key.size() << " bytes, offset " << offset << " of " << original.size());
      REQUIRE(offset < original.size());
      std::string corrupted = original;
      corrupted[offset] = static_cast<char>(corrupted[offset] ^ 0x5a);
      write_value(db, key, corrupted);
      const ledger::AuditReport report = ledger::audit_chain(*store);
      INFO(report.fault.message());
      CHECK_FALSE(report.ok);
      CHECK(report.fault_height == height);
      CHECK(report.blocks == height - 1);
      write_value(db, key, original);
    }
  };
  // Twenty offsets spread over a record, and its first and last byte.
  const auto spread = [](std::size_t size) {
    std::set<std::size_t> offsets{0, size - 1};
    for (std::size_t i = 0; i < 20; ++i) offsets.insert(i * (size - 1) / 19);
    return offsets;
  };

  for (const std::uint64_t height : {std::uint64_t{1}, std::uint64_t{2}, tip_height}) {
    const std::string frame = read_value(db, block_key(height));
    const auto block = chain_block(*store, height);
    const std::size_t header_bytes = block.header.encode().size();
    const std::size_t commit_bytes = 4 + 1 + 66 * block.commit.signatures.size();
    REQUIRE(frame.size() == header_bytes + 1 + commit_bytes);

    // Version, chain id length and text, height, previous hash, time, proposer, round, Merkle
    // root, state hash (the layout in docs/protocol.md, with the 10-byte test chain id), the
    // transaction count, and the certificate's round, count, first validator id and signature.
    std::set<std::size_t> frame_offsets = spread(frame.size());
    const std::size_t header_fields[] = {0, 1, 2, 12, 19, 20, 51, 52, 60, 62, 65, 66, 97, 98};
    frame_offsets.insert(std::begin(header_fields), std::end(header_fields));
    frame_offsets.insert({header_bytes - 1, header_bytes, header_bytes + 1, header_bytes + 5, header_bytes + 6, header_bytes + 8});
    expect_fault_for_each(height, block_key(height), frame_offsets);

    // The one chunk of these small blocks: each transaction's length and its last byte.
    const std::string chunk = read_value(db, chunk_key(height, 0));
    std::set<std::size_t> chunk_offsets = spread(chunk.size());
    std::size_t offset = 0;
    for (const auto& tx : block.transactions) {
      ledger::Writer entry;
      entry.bytes(tx.bytes());
      chunk_offsets.insert(offset);
      offset += entry.view().size();
      chunk_offsets.insert(offset - 1);
    }
    REQUIRE(offset == chunk.size());
    expect_fault_for_each(height, chunk_key(height, 0), chunk_offsets);

    expect_fault_for_each(height, merkle_key(height), spread(read_value(db, merkle_key(height)).size()));
  }
  // The restored store audits clean again, so each fault above came from its own flip.
  const ledger::AuditReport restored = ledger::audit_chain(*store);
  INFO(restored.fault.message());
  CHECK(restored.ok);
}

TEST_CASE("a tampered, added or removed state record is a state mismatch at the tip",
          "[ledger][audit]") {
  // Proves that the audit compares every stored state record with the replayed state.
  TestChain chain;
  commit_small_history(chain);
  const std::uint64_t tip_height = chain.store().tip().height;
  const Bytes alice_key = ledger::record::account_key(TxFactory::customer(1).public_key());
  const auto store = open_for_audit(chain);
  leveldb::DB& db = store->database_for_tests();

  const std::string totals_key = prefixed_key('S', ledger::record::totals_key());
  const std::string alice_record_key = prefixed_key('S', alice_key);
  const std::string stranger_key =
      prefixed_key('S', ledger::record::account_key(TxFactory::customer(99).public_key()));
  const std::string original_totals = read_value(db, totals_key);
  const std::string original_alice = read_value(db, alice_record_key);

  const auto expect_mismatch = [&](const char* what) {
    INFO(what);
    const ledger::AuditReport report = ledger::audit_chain(*store);
    INFO(report.fault.message());
    CHECK_FALSE(report.ok);
    CHECK(report.fault.code == ledger::Code::state_mismatch);
    CHECK(report.fault_height == tip_height);
    CHECK(report.blocks == tip_height);  // every block replayed before the comparison
  };

  std::string tampered = original_totals;
  tampered.back() = static_cast<char>(tampered.back() ^ 0x01);
  write_value(db, totals_key, tampered);
  expect_mismatch("totals record tampered");
  write_value(db, totals_key, original_totals);

  tampered = original_alice;
  tampered[tampered.size() / 2] = static_cast<char>(tampered[tampered.size() / 2] ^ 0x01);
  write_value(db, alice_record_key, tampered);
  expect_mismatch("account record tampered");
  write_value(db, alice_record_key, original_alice);

  delete_key(db, alice_record_key);
  expect_mismatch("account record removed");
  write_value(db, alice_record_key, original_alice);

  write_value(db, stranger_key, original_alice);
  expect_mismatch("account record added");
  delete_key(db, stranger_key);

  CHECK(ledger::audit_chain(*store).ok);
}

TEST_CASE("an added state record is named as the first differing key", "[ledger][audit]") {
  // Proves that the comparison walks both sorted record lists by key, so a record only the
  // store has is named itself, not the unchanged record that follows it.
  TestChain chain;
  commit_small_history(chain);
  const auto store = open_for_audit(chain);
  leveldb::DB& db = store->database_for_tests();
  const Bytes alice_key = ledger::record::account_key(TxFactory::customer(1).public_key());
  const Bytes stranger_key = ledger::record::account_key(TxFactory::customer(99).public_key());
  write_value(db, prefixed_key('S', stranger_key), read_value(db, prefixed_key('S', alice_key)));

  const ledger::AuditReport report = ledger::audit_chain(*store);
  INFO(report.fault.message());
  CHECK(report.fault.code == ledger::Code::state_mismatch);
  CHECK(report.fault.detail.find("at record " + to_hex(stranger_key) + ": stored, but the replay has no such record") !=
        std::string::npos);

  delete_key(db, prefixed_key('S', stranger_key));
  delete_key(db, prefixed_key('S', alice_key));
  const ledger::AuditReport missing = ledger::audit_chain(*store);
  CHECK(missing.fault.detail.find("at record " + to_hex(alice_key) + ": the replay has it, the store does not") !=
        std::string::npos);
}

TEST_CASE("a key the chain does not account for is named by the audit", "[ledger][audit]") {
  // Proves that the audit accounts for every key in the store: a stray transaction or block
  // index entry, a key outside the layout, and a block, Merkle or tier change record under a
  // malformed key or at a height the chain never reached (a chunk there: "block stored above the tip") are each a corruption fault at the tip that names the key.
  TestChain chain;
  commit_small_history(chain);
  const ledger::Tip tip = chain.store().tip();
  const auto block2 = chain.store().block_at(2);
  REQUIRE(block2.ok());
  const auto store = open_for_audit(chain);
  leveldb::DB& db = store->database_for_tests();
  const std::string block2_bytes = read_value(db, block_key(2));
  const Hash256 unknown_id = crypto::sha256(as_bytes(std::string_view("no such transaction or block")));
  std::string height2_location;  // height 2, position 0: a real place, but not this id's
  ledger::append_big_endian(height2_location, 2, 8);

  std::string key;
  std::string value;
  SECTION("a transaction index entry for no transaction") {
    key = prefixed_key('X', unknown_id);
    value = height2_location;
    ledger::append_big_endian(value, 0, 4);
  }
  SECTION("a block index entry for no block") {
    key = prefixed_key('H', unknown_id);
    value = height2_location;
  }
  SECTION("a key outside the layout") {
    key = "Zstray";
    value = "x";
  }
  SECTION("the genesis key with a byte more") {
    key = "G!";
    value = "x";
  }
  SECTION("a block under a malformed key") {
    key = block_key(2).substr(0, 5);
    value = block2_bytes;
  }
  SECTION("a block far above the tip") {
    key = block_key(tip.height + 7);
    value = block2_bytes;
  }
  SECTION("a block at height 0") {
    key = block_key(0);
    value = block2_bytes;
  }
  SECTION("a Merkle record above the tip") {
    key = merkle_key(tip.height + 1);
    value = read_value(db, merkle_key(2));
  }
  SECTION("a tier change record above the tip") {
    key = pc::test::tier_changes_key(tip.height + 1);
    value = "x";
  }
  REQUIRE(ledger::audit_chain(*store).ok);
  write_value(db, key, value);
  const ledger::AuditReport report = ledger::audit_chain(*store);
  INFO(report.fault.message());
  CHECK_FALSE(report.ok);
  CHECK(report.fault.code == ledger::Code::corruption);
  CHECK(report.fault_height == tip.height);
  CHECK(report.fault.detail.find(to_hex(as_bytes(std::string_view(key)))) != std::string::npos);
  delete_key(db, key);
  CHECK(ledger::audit_chain(*store).ok);
}

TEST_CASE("damaged indexes, a missing block and a wrong tip record are faults", "[ledger][audit]") {
  // Proves the audit checks the transaction and block-hash indexes, the block sequence, and
  // that the tip record agrees with the replayed chain and nothing is stored above it.
  TestChain chain;
  commit_small_history(chain);
  const ledger::Tip tip = chain.store().tip();
  const auto block2 = chain.store().block_at(2);
  REQUIRE(block2.ok());
  const auto block3 = chain.store().block_at(3);
  REQUIRE(block3.ok());
  const auto store = open_for_audit(chain);
  leveldb::DB& db = store->database_for_tests();

  const auto expect_fault = [&](std::uint64_t height, ledger::Code code) {
    const ledger::AuditReport report = ledger::audit_chain(*store);
    INFO(report.fault.message());
    CHECK_FALSE(report.ok);
    CHECK(report.fault_height == height);
    CHECK(report.fault.code == code);
  };

  SECTION("a deleted transaction index entry") {
    const std::string key = prefixed_key('X', block2->transactions[2].id());
    const std::string original = read_value(db, key);
    delete_key(db, key);
    expect_fault(2, ledger::Code::corruption);
    write_value(db, key, original);
    CHECK(ledger::audit_chain(*store).ok);
  }
  SECTION("a transaction index entry pointing at another position") {
    const std::string key = prefixed_key('X', block2->transactions[1].id());
    std::string moved = read_value(db, key);
    moved.back() = static_cast<char>(moved.back() + 1);
    write_value(db, key, moved);
    expect_fault(2, ledger::Code::corruption);
  }
  SECTION("a deleted block hash index entry") {
    delete_key(db, prefixed_key('H', block3->header.hash()));
    expect_fault(3, ledger::Code::corruption);
  }
  SECTION("a deleted block below the tip") {
    delete_key(db, block_key(3));
    delete_key(db, chunk_key(3, 0));
    expect_fault(3, ledger::Code::not_found);
  }
  SECTION("a block record deleted, its transactions left") {
    delete_key(db, block_key(3));
    expect_fault(3, ledger::Code::corruption);
  }
  SECTION("a transaction chunk deleted, added or moved") {
    const std::string chunk = read_value(db, chunk_key(2, 0));
    delete_key(db, chunk_key(2, 0));
    expect_fault(2, ledger::Code::corruption);
    write_value(db, chunk_key(2, 1), chunk);
    expect_fault(2, ledger::Code::corruption);
    write_value(db, chunk_key(2, 0), chunk);
    expect_fault(2, ledger::Code::corruption);
    delete_key(db, chunk_key(2, 1));
    CHECK(ledger::audit_chain(*store).ok);
  }
  SECTION("a Merkle record deleted or cut short") {
    const std::string levels = read_value(db, merkle_key(2));
    delete_key(db, merkle_key(2));
    expect_fault(2, ledger::Code::corruption);
    write_value(db, merkle_key(2), levels.substr(0, 31));
    expect_fault(2, ledger::Code::corruption);
    write_value(db, merkle_key(2), levels);
    CHECK(ledger::audit_chain(*store).ok);
  }
  SECTION("a transaction chunk stored above the tip") {
    write_value(db, chunk_key(tip.height + 1, 0), read_value(db, chunk_key(2, 0)));
    expect_fault(tip.height + 1, ledger::Code::corruption);
  }
  SECTION("a block swapped with its neighbour") {
    for (const auto& key_of : {block_key, merkle_key}) {
      const std::string second = read_value(db, key_of(2));
      write_value(db, key_of(2), read_value(db, key_of(3)));
      write_value(db, key_of(3), second);
    }
    const std::string second_chunk = read_value(db, chunk_key(2, 0));
    write_value(db, chunk_key(2, 0), read_value(db, chunk_key(3, 0)));
    write_value(db, chunk_key(3, 0), second_chunk);
    expect_fault(2, ledger::Code::corruption);
  }
  SECTION("the tip record moved down while a block above it exists") {
    write_value(db, "T", tip_record(ledger::tip_after(*block3)));
    expect_fault(tip.height, ledger::Code::corruption);
  }
  SECTION("the tip record with the right height but another state hash") {
    ledger::Tip wrong = tip;
    wrong.state_hash[5] ^= 0x10;
    write_value(db, "T", tip_record(wrong));
    expect_fault(tip.height, ledger::Code::corruption);
  }
  SECTION("the tip record above the last stored block") {
    ledger::Tip ahead = tip;
    ahead.height += 1;
    write_value(db, "T", tip_record(ahead));
    expect_fault(tip.height + 1, ledger::Code::not_found);
  }
  SECTION("the tip record removed") {
    delete_key(db, "T");
    expect_fault(0, ledger::Code::corruption);
  }
}

namespace {

struct BusyChain {
  std::uint64_t transactions = 0;
  std::uint64_t reverses = 0;
};

// Commits `block_count` blocks an hour apart, each with 1 to 3 transactions (issues, redeems,
// transfers, reverses), all valid. Transactions in a block touch disjoint accounts and
// signers, so each is checked on its own with try_apply before it goes in.
BusyChain commit_busy_chain(TestChain& chain, std::uint64_t block_count, std::uint64_t seed) {
  constexpr std::uint64_t advance_ms = 3'600'000;
  constexpr int customer_count = 40;
  std::mt19937_64 random(seed);
  const auto pick = [&random](std::uint64_t low, std::uint64_t high) { return low + random() % (high - low + 1); };

  std::vector<crypto::SecretKey> customers;
  for (int i = 0; i < customer_count; ++i) customers.push_back(TxFactory::customer(i));
  std::vector<std::pair<ledger::PartnerId, std::string>> reversible;
  chain.txs.last_valid_height = block_count + 100;

  BusyChain result;
  std::uint64_t next_order = 0;
  for (std::uint64_t b = 0; b < block_count; ++b) {
    const std::uint64_t wanted = pick(1, 3);
    const std::uint64_t block_time_ms = chain.store().tip().time_ms + advance_ms;
    std::set<crypto::PublicKey> used_accounts;
    std::set<ledger::PartnerId> used_partners;
    std::vector<ledger::Transaction> block;
    std::vector<std::pair<ledger::PartnerId, std::string>> issued_here;  // reversible once committed
    for (int attempt = 0; attempt < 8 && block.size() < wanted; ++attempt) {
      const std::uint64_t kind = pick(0, 19);
      const auto partner = static_cast<ledger::PartnerId>(pick(1, 3));
      const crypto::SecretKey& customer = customers[pick(0, customer_count - 1)];
      const ledger::Account* account = chain.state().account(customer.public_key());
      const std::uint64_t spendable = account == nullptr ? 0 : account->spendable(block_time_ms);
      if (used_accounts.count(customer.public_key()) != 0) continue;

      std::optional<ledger::Transaction> tx;
      crypto::PublicKey signer{};
      crypto::PublicKey other_account{};
      std::optional<std::size_t> reversed_entry;
      if (kind < 9 || (kind < 18 && spendable == 0)) {
        if (used_partners.count(partner) != 0) continue;
        signer = TxFactory::partner_issuer(partner).public_key();
        const auto pending_days = static_cast<std::uint16_t>(pick(0, 9) == 0 ? 1 : 0);
        tx = chain.txs.issue(partner, customer.public_key(), pick(1, 1'000),
                             "order-" + std::to_string(++next_order), pending_days);
        other_account = customer.public_key();
      } else if (kind < 13) {
        signer = customer.public_key();
        tx = chain.txs.redeem(customer, partner, pick(1, spendable));
      } else if (kind < 18) {
        const crypto::SecretKey& to = customers[pick(0, customer_count - 1)];
        if (to.public_key() == customer.public_key() || used_accounts.count(to.public_key()) != 0) continue;
        signer = customer.public_key();
        other_account = to.public_key();
        tx = chain.txs.transfer(customer, to.public_key(), pick(1, spendable));
      } else {
        if (reversible.empty()) continue;
        const std::size_t entry = pick(0, reversible.size() - 1);
        const auto& [issuer, reference] = reversible[entry];
        const ledger::IssuanceRecord* issuance = chain.state().issuance(issuer, reference);
        REQUIRE(issuance != nullptr);
        if (used_partners.count(issuer) != 0 || used_accounts.count(issuance->customer) != 0) continue;
        signer = TxFactory::partner_issuer(issuer).public_key();
        other_account = issuance->customer;
        tx = chain.txs.reverse(issuer, reference);
        reversed_entry = entry;
      }

      if (!chain.try_apply(*tx, advance_ms)) {
        chain.txs.next_sequence[signer] -= 1;  // never sent: its sequence number is free again
        continue;
      }
      used_accounts.insert(signer);
      used_accounts.insert(other_account);
      if (tx->partner_signer()) used_partners.insert(*tx->partner_signer());
      if (tx->type() == ledger::TxType::issue) {
        issued_here.emplace_back(partner, std::get<ledger::Issue>(tx->fields().body).reference);
      }
      if (reversed_entry) {
        reversible.erase(reversible.begin() + static_cast<std::ptrdiff_t>(*reversed_entry));
        result.reverses += 1;
      }
      block.push_back(*tx);
    }
    chain.commit_all(block, advance_ms);
    result.transactions += block.size();
    reversible.insert(reversible.end(), issued_here.begin(), issued_here.end());
  }
  return result;
}

}  // namespace

TEST_CASE("a 3000-block chain with expiry audits clean, sequentially and on a worker pool",
          "[ledger][audit][slow]") {
  // Proves the audit's windows and parallel checks at scale: every block and transaction is
  // counted, the totals equal the state's, and two threads give the very same report.
  constexpr std::uint64_t block_count = 3'000;
  constexpr std::uint64_t seed = 20'260'101;
  INFO("seed " << seed);
  TestChain chain({.partners = 3, .point_expiry_days = 3});
  const BusyChain built = commit_busy_chain(chain, block_count, seed);
  const ledger::State state = chain.state();
  const ledger::Tip tip = chain.store().tip();
  REQUIRE(tip.height == block_count);
  // The history exercised what it was meant to.
  CHECK(state.totals().expired > 0);
  CHECK(state.totals().redeemed > 0);
  CHECK(state.totals().reversed > 0);
  CHECK(built.reverses > 0);
  CHECK(built.transactions > block_count);

  const auto store = open_for_audit(chain);
  const ledger::AuditReport sequential = ledger::audit_chain(*store);
  INFO(sequential.fault.message());
  check_report_matches_state(sequential, state, tip);
  CHECK(sequential.blocks == block_count);
  CHECK(sequential.transactions == built.transactions);

  node::WorkerPool pool(2, "pc-audit-test");
  const ledger::AuditReport parallel = ledger::audit_chain(*store, runner_for(pool));
  check_same_report(parallel, sequential);
  const ledger::AuditReport pipelined = node::audit_in_parallel(*store, pool);
  check_same_report(pipelined, sequential);
}

TEST_CASE("a fault found on a worker pool is the same fault found sequentially", "[ledger][audit]") {
  // Proves that the parallel checks report the first fault in block order, not the first
  // one a thread happens to finish.
  TestChain chain;
  commit_small_history(chain);
  const auto store = open_for_audit(chain);
  leveldb::DB& db = store->database_for_tests();
  // Two damaged blocks: the audit must name the lower one.
  for (const std::uint64_t height : {std::uint64_t{2}, std::uint64_t{4}}) {
    std::string bytes = read_value(db, block_key(height));
    bytes[bytes.size() - 10] = static_cast<char>(bytes[bytes.size() - 10] ^ 0x01);
    write_value(db, block_key(height), bytes);
  }
  node::WorkerPool pool(2, "pc-audit-test");
  const ledger::AuditReport sequential = ledger::audit_chain(*store);
  const ledger::AuditReport parallel = ledger::audit_chain(*store, runner_for(pool));
  const ledger::AuditReport pipelined = node::audit_in_parallel(*store, pool);
  CHECK_FALSE(sequential.ok);
  CHECK(sequential.fault_height == 2);
  CHECK(sequential.fault.code == ledger::Code::bad_commit);
  check_same_report(parallel, sequential);
  check_same_report(pipelined, sequential);
}

TEST_CASE("a receiving key that is not a valid ed25519 key is a fault at its first transaction",
          "[ledger][audit]") {
  // Proves the audit's strict key check, done once per key and window, still fails the first
  // transaction that credits a key nobody could sign for (a node would have refused it), also
  // when that key is credited again in the same block and the next, on one thread or many.
  TestChain chain;
  TxFactory& txs = chain.txs;
  const auto alice = TxFactory::customer(1);
  crypto::PublicKey identity{};
  identity[0] = 1;  // the identity point, of small order
  REQUIRE_FALSE(crypto::is_valid_public_key(identity));
  chain.commit_all({txs.issue(1, alice.public_key(), 100, "order-1"), txs.issue(2, alice.public_key(), 5, "order-2")});
  const auto forged = chain.commit({txs.issue(1, alice.public_key(), 7, "order-3"), txs.issue(1, identity, 5, "order-4"),
                                    txs.issue(2, identity, 6, "order-5")},
                                   1'000, ledger::SignatureCheck::already_verified);
  REQUIRE(forged.rejected.empty());
  chain.commit({txs.issue(3, identity, 8, "order-6")}, 1'000, ledger::SignatureCheck::already_verified);
  const auto store = open_for_audit(chain);

  node::WorkerPool pool(2, "pc-audit-test");
  const ledger::AuditReport sequential = ledger::audit_chain(*store);
  INFO(sequential.fault.message());
  CHECK_FALSE(sequential.ok);
  CHECK(sequential.fault_height == 2);
  CHECK(sequential.fault.code == ledger::Code::invalid_transaction);
  CHECK(sequential.fault.detail.find("transaction 1: ") == 0);
  CHECK(sequential.fault.message().find("not a valid ed25519 key") != std::string::npos);
  CHECK(sequential.blocks == 1);
  check_same_report(ledger::audit_chain(*store, runner_for(pool)), sequential);
  check_same_report(node::audit_in_parallel(*store, pool), sequential);
}

TEST_CASE("a block's transactions moved across a chunk boundary are a fault", "[ledger][audit]") {
  // Proves the audit checks the chunk layout, not only the block the chunks spell: moving a
  // transaction from chunk 1 to the end of chunk 0 leaves the concatenated block intact, but
  // a lookup by position would read the wrong chunk.
  TestChain chain;
  std::vector<ledger::Transaction> block;
  for (int customer = 0; customer < 17; ++customer) {
    block.push_back(chain.txs.issue(static_cast<ledger::PartnerId>(1 + customer % 3),
                                    TxFactory::customer(customer).public_key(), 10, "order-" + std::to_string(customer)));
  }
  chain.commit_all(block);
  chain.commit_all({chain.txs.issue(1, TxFactory::customer(1).public_key(), 5, "order-last")});
  const auto store = open_for_audit(chain);
  leveldb::DB& db = store->database_for_tests();
  REQUIRE(ledger::audit_chain(*store).ok);

  const std::string first = read_value(db, chunk_key(1, 0));
  const std::string second = read_value(db, chunk_key(1, 1));
  ledger::Writer moved;
  moved.bytes(block[ledger::block_chunk_tx_count].bytes());
  const std::size_t moved_bytes = moved.view().size();
  write_value(db, chunk_key(1, 0), first + second.substr(0, moved_bytes));
  write_value(db, chunk_key(1, 1), second.substr(moved_bytes));
  const ledger::AuditReport report = ledger::audit_chain(*store);
  INFO(report.fault.message());
  CHECK_FALSE(report.ok);
  CHECK(report.fault_height == 1);
  CHECK(report.fault.code == ledger::Code::corruption);
}

TEST_CASE("a tier change record that differs from the replay is a fault, a missing one passes",
          "[ledger][audit][tiers]") {
  // Proves that the audit holds the tier change records (docs/protocol.md, "Store layout") to
  // what the replay changed: a record with one tier changed, or the changes of another block
  // (in a record of a block that changed none), is corruption at that block's height; the
  // clean store passes, and so does one whose blocks have no records, as a release that kept
  // none wrote them.
  TestChain chain(pc::test::tier_chain_options());
  const crypto::PublicKey alice = TxFactory::customer(1).public_key();
  pc::test::state::commit_at(chain, pc::test::state::at_day(1), {chain.txs.issue(1, alice, 100, "order-1")});
  pc::test::state::commit_at(chain, pc::test::state::at_day(2), {chain.txs.issue(1, alice, 1'000, "order-2")});
  pc::test::state::commit_at(chain, pc::test::state::at_day(3), {chain.txs.issue(1, alice, 5, "order-3")});
  const auto store = open_for_audit(chain);
  leveldb::DB& db = store->database_for_tests();
  const std::string upgrade = read_value(db, pc::test::tier_changes_key(2));
  REQUIRE(upgrade.size() == 1 + 1 + 68);
  REQUIRE(read_value(db, pc::test::tier_changes_key(3)) == std::string("\x01\x00", 2));
  REQUIRE(ledger::audit_chain(*store).ok);

  std::uint64_t fault_height = 0;
  SECTION("a record whose new tier differs") {
    std::string changed = upgrade;
    changed[1 + 1 + 32 + 1] = 2;  // version, count, customer, from tier: the to tier
    write_value(db, pc::test::tier_changes_key(2), changed);
    fault_height = 2;
  }
  SECTION("a block that changed no tier with another block's changes") {
    write_value(db, pc::test::tier_changes_key(3), upgrade);
    fault_height = 3;
  }
  SECTION("blocks without records, as an earlier release wrote them") {
    for (std::uint64_t height = 1; height <= 3; ++height) delete_key(db, pc::test::tier_changes_key(height));
  }
  const ledger::AuditReport report = ledger::audit_chain(*store);
  INFO(report.fault.message());
  if (fault_height == 0) {
    CHECK(report.ok);
  } else {
    CHECK_FALSE(report.ok);
    CHECK(report.fault.code == ledger::Code::corruption);
    CHECK(report.fault_height == fault_height);
    CHECK(report.fault.detail == "the tier change record differs from the replayed changes");
  }
}
