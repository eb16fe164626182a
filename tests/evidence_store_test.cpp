// Evidence in the chain store (ledger/store.hpp): kept once per validator, height, round and
// type, verified before it is written, bounded, paged in key order, and checked by the audit,
// which shows it in its text and --json output.
#include <catch2/catch.hpp>
#include <leveldb/db.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ledger/audit.hpp"
#include "node/audit_command.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc;

// Partner 1 is the test genesis's only validator.
ledger::Vote signed_vote(ledger::VoteType type, std::uint64_t height, std::uint32_t round,
                         std::optional<crypto::Hash256> block_id) {
  ledger::Vote vote{type, test::test_chain_id, height, round, block_id, 1, {}};
  vote.signature = test::seeded_key("partner 1 validator").sign(vote.sign_bytes());
  return vote;
}

crypto::Hash256 block_id_of(std::string_view label) { return crypto::sha256(as_bytes(label)); }

ledger::Evidence equivocation(std::uint64_t height, std::uint32_t round, ledger::VoteType type = ledger::VoteType::prevote,
                              std::string_view block = "a") {
  auto evidence = ledger::make_evidence(test::make_genesis(), signed_vote(type, height, round, block_id_of(block)),
                                        signed_vote(type, height, round, std::nullopt));
  REQUIRE(evidence.ok());
  return std::move(evidence).value();
}

std::string evidence_key(const ledger::Evidence& evidence) {
  const Bytes id = ledger::EvidencePosition::of(evidence).encode();
  return "E" + std::string(id.begin(), id.end());
}

void put(leveldb::DB& db, const std::string& key, const Bytes& value) {
  leveldb::WriteOptions options;
  options.sync = true;
  REQUIRE(db.Put(options, key, std::string(value.begin(), value.end())).ok());
}

std::unique_ptr<ledger::ChainStore> open_raw(test::TestChain& chain) {
  chain.close();
  auto opened = ledger::ChainStore::open(chain.store_path(), chain.genesis(), ledger::ChainStore::Mode::raw);
  REQUIRE(opened.ok());
  return std::move(opened).value();
}

}  // namespace

TEST_CASE("evidence is stored once per validator, height, round and type, and survives a reopen",
          "[ledger][store][evidence]") {
  // Proves record_evidence writes a new equivocation, answers false for the same one again (a
  // replayed height) and for another pair at the same position, keeps it across a reopen, and
  // pages records in key order with a cursor that loses and repeats nothing.
  test::TestChain chain;
  const ledger::Evidence first = equivocation(4, 1);
  REQUIRE(chain.store().record_evidence(first).value() == true);
  CHECK(chain.store().record_evidence(first).value() == false);
  CHECK(chain.store().record_evidence(equivocation(4, 1, ledger::VoteType::prevote, "b")).value() == false);
  REQUIRE(chain.store().record_evidence(equivocation(4, 1, ledger::VoteType::precommit)).value() == true);
  REQUIRE(chain.store().record_evidence(equivocation(2, 9)).value() == true);
  chain.reopen();
  auto page = chain.store().evidence_page({}, 2);
  REQUIRE(page.ok());
  REQUIRE(page->evidence.size() == 2);
  CHECK(page->evidence[0] == equivocation(2, 9));
  CHECK(page->evidence[1] == first);
  REQUIRE(page->next.has_value());
  CHECK(*page->next == ledger::EvidencePosition{4, 1, 2, 1});
  auto rest = chain.store().evidence_page(*page->next, 2);
  REQUIRE(rest.ok());
  CHECK(rest->evidence == std::vector<ledger::Evidence>{equivocation(4, 1, ledger::VoteType::precommit)});
  CHECK_FALSE(rest->next.has_value());
}

TEST_CASE("evidence that does not verify is refused and nothing is written", "[ledger][store][evidence]") {
  // Proves record_evidence checks the pair against the genesis first: a bad signature or two
  // votes that do not conflict are typed errors, and the store holds no record afterwards.
  test::TestChain chain;
  ledger::Evidence forged = equivocation(3, 0);
  forged.second.signature[5] ^= 0x01;
  CHECK(chain.store().record_evidence(forged).error().code == ledger::Code::bad_signature);
  ledger::Evidence same = equivocation(3, 0);
  same.second = same.first;
  CHECK(chain.store().record_evidence(same).error().code == ledger::Code::invalid_field);
  CHECK(chain.store().evidence_page({}, 10)->evidence.empty());
}

TEST_CASE("evidence past the per-height bound is refused with too_large", "[ledger][store][evidence]") {
  // Proves stored_evidence_per_height_max: a validator equivocating in more rounds of one
  // height than the bound fills that height and no more; other heights still take evidence.
  test::TestChain chain;
  for (std::uint32_t round = 0; round < ledger::stored_evidence_per_height_max; ++round) {
    REQUIRE(chain.store().record_evidence(equivocation(6, round)).value() == true);
  }
  const auto refused = chain.store().record_evidence(equivocation(6, 1000));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ledger::Code::too_large);
  CHECK(chain.store().record_evidence(equivocation(7, 0)).value() == true);
  CHECK(chain.store().evidence_page({6, 0, 0, 0}, 100)->evidence.size() == ledger::stored_evidence_per_height_max + 1);
  CHECK(ledger::audit_chain(*open_raw(chain)).ok);
}

TEST_CASE("an evidence record has the documented key and value", "[ledger][store][evidence][golden]") {
  // Proves the worked example of docs/protocol.md ("Store layout", evidence): the key and the
  // value (the Evidence encoding) of partner 1's conflicting prevotes at height 4, round 1.
  const ledger::Evidence evidence = equivocation(4, 1);
  CHECK(to_hex(as_bytes(std::string_view(evidence_key(evidence)))) == "450000000000000004000000010100" "01");
  CHECK(to_hex(evidence.encode()) == "5c01010a746573742d636861696e040000000000000001000000000100a1f2fcc74729c9554190121e6df7325e7ca292"
        "2eb5e135e8cee1d71dee1150ed6d3ba106b11c831f800335ec65ea5af56cc24255a334a9b9c1650cea04f3750d7c0101"
        "0a746573742d636861696e04000000000000000100000001ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72"
        "b9807785afee48bb0100805b19701f8c43d21bf519a20bfbd4826258928aeab4265a31e664f24a00fa7a95c1adbae885"
        "852150320159854047b77edbc8852c3e3c70806fdb7974c91e0d");
}

TEST_CASE("the audit verifies evidence records and shows them", "[ledger][audit][evidence]") {
  // Proves a store with evidence audits clean and reports each record, in text and --json,
  // and that a record that proves nothing (a flipped signature byte), one under another
  // position's key, or one that does not decode is an audit fault naming it.
  test::TestChain chain;
  const auto alice = test::TxFactory::customer(1);
  chain.commit_all({chain.txs.issue(1, alice.public_key(), 500, "order-1")});
  const ledger::Evidence evidence = equivocation(2, 0);
  REQUIRE(chain.store().record_evidence(evidence).value() == true);
  {
    std::ofstream file(chain.directory() / "genesis.json");
    file << ledger::genesis_to_json(chain.genesis());
  }
  chain.close();
  {
    std::ostringstream text;
    CHECK(node::run_audit(chain.directory(), false, text) == node::audit_exit_ok);
    // The nil vote encodes smaller, so it is the first of the pair.
    CHECK_THAT(text.str(), Catch::Contains("(validator 1) at height 2, round 0, prevote: nil and " +
                                           to_hex(*evidence.second.block_id)));
    std::ostringstream json_text;
    CHECK(node::run_audit(chain.directory(), true, json_text) == node::audit_exit_ok);
    const nlohmann::json json = nlohmann::json::parse(json_text.str());
    REQUIRE(json["evidence"].size() == 1);
    CHECK(json["evidence"][0]["height"] == 2);
    CHECK(json["evidence"][0]["type"] == "prevote");
    CHECK(json["evidence"][0]["validator"] == 1);
    CHECK(json["evidence"][0]["block_ids"][0].is_null());
    CHECK(json["evidence"][0]["block_ids"][1] == to_hex(*evidence.second.block_id));
    CHECK(json["evidence"][0]["hex"] == to_hex(evidence.encode()));
  }
  auto store = open_raw(chain);
  const ledger::AuditReport clean = ledger::audit_chain(*store);
  REQUIRE(clean.ok);
  CHECK(clean.evidence == std::vector<ledger::Evidence>{evidence});

  leveldb::DB& db = store->database_for_tests();
  Bytes value = evidence.encode();
  std::string key = evidence_key(evidence);
  std::string expected;
  ledger::Code code = ledger::Code::corruption;
  SECTION("a flipped signature byte") {
    value[value.size() - 3] ^= 0x01;
    code = ledger::Code::bad_signature;
    expected = "evidence against validator 1 at height 2, round 0, prevote proves nothing";
  }
  SECTION("under another position's key") {
    key = evidence_key(equivocation(3, 0));
    expected = "another height, round, type or validator";
  }
  SECTION("a value that does not decode") {
    value.pop_back();
    expected = "does not decode";
  }
  put(db, key, value);
  const ledger::AuditReport report = ledger::audit_chain(*store);
  INFO(report.fault.message());
  CHECK_FALSE(report.ok);
  CHECK(report.fault.code == code);
  CHECK_THAT(report.fault.detail, Catch::Contains(expected));
}

TEST_CASE("an evidence key of the wrong length is a key the audit cannot account for", "[ledger][audit][evidence]") {
  // Proves the audit's key accounting knows the evidence tag exactly: an E key one byte short
  // is outside the layout.
  test::TestChain chain;
  auto store = open_raw(chain);
  put(store->database_for_tests(), evidence_key(equivocation(2, 0)).substr(0, 15), equivocation(2, 0).encode());
  const ledger::AuditReport report = ledger::audit_chain(*store);
  CHECK_FALSE(report.ok);
  CHECK_THAT(report.fault.detail, Catch::Contains("outside the key layout"));
}
