// Billing terms and prepaid issuance (protocol version 4; docs/protocol.md "Genesis",
// "State machine rules", docs/billing.md): the genesis carries the terms in JSON and binary
// and only from version 4, a prepaid partner's Issue consumes its prepaid balance and is
// refused past it, PrepaidTopUp by the billing key adds to it, and every refusal changes nothing.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "ledger/audit.hpp"
#include "ledger/genesis.hpp"
#include "ledger/limits.hpp"
#include "ledger/protocol.hpp"
#include "ledger/state.hpp"
#include "tests/dispatched_node.hpp"
#include "tests/fixtures.hpp"
#include "tests/state_support.hpp"

namespace {

using namespace pc;
using ledger::BillingPlan;
using ledger::Code;
using pc::test::GenesisOptions;
using pc::test::TestChain;
using pc::test::TxFactory;
using namespace pc::test::state;

// Partner 1 post-paid at 250 minor units per 1000 points; partner 2 prepaid with 1000 points
// at 200 per 1000; partner 3 post-paid at no charge.
ledger::BillingTerms test_billing() {
  const ledger::Genesis plain = pc::test::make_genesis();
  ledger::BillingTerms billing = ledger::no_charge_billing(plain.partners, TxFactory::billing_key().public_key());
  billing.partners[0].price_per_1000_points_minor = 250;
  billing.partners[1] = {2, BillingPlan::prepaid, 200, 1'000};
  return billing;
}

GenesisOptions billing_options() {
  GenesisOptions options;
  options.protocol_version = 4;
  options.billing = test_billing();
  return options;
}

nlohmann::json genesis_json(const ledger::Genesis& genesis) {
  return nlohmann::json::parse(ledger::genesis_to_json(genesis));
}

std::string parse_error(const nlohmann::json& json) {
  auto parsed = ledger::parse_genesis_json(json.dump());
  REQUIRE_FALSE(parsed.ok());
  return parsed.error();
}

std::uint64_t prepaid_balance(const TestChain& chain, ledger::PartnerId partner) {
  const ledger::PrepaidBalance* prepaid = chain.state().prepaid(partner);
  REQUIRE(prepaid != nullptr);
  return prepaid->balance_points;
}

}  // namespace

TEST_CASE("a version 4 genesis carries its billing terms through JSON and the binary form", "[ledger][genesis][billing]") {
  // Proves the billing member round-trips through JSON and the canonical binary form, that the
  // binary form appends it after issuance_cap_points, and that the genesis state holds a
  // prepaid record for the prepaid partner only, with its initial balance.
  const ledger::Genesis genesis = pc::test::make_genesis(billing_options());
  auto parsed = ledger::parse_genesis_json(ledger::genesis_to_json(genesis));
  REQUIRE(parsed.ok());
  CHECK(*parsed == genesis);
  const Bytes bytes = genesis.encode();
  auto decoded = ledger::decode_genesis(bytes);
  REQUIRE(decoded.ok());
  CHECK(*decoded == genesis);

  ledger::Genesis without = genesis;
  without.protocol_version = 3;
  without.policy.billing.reset();
  const Bytes prefix = without.encode();
  // Same fields up to the cap, apart from the version u16 at offset 1.
  REQUIRE(bytes.size() > prefix.size());
  CHECK(std::equal(prefix.begin() + 3, prefix.end(), bytes.begin() + 3));
  CHECK(to_hex(ByteSpan(bytes).subspan(prefix.size(), 4 + 32)) ==
        "455552" "02" + to_hex(TxFactory::billing_key().public_key()));

  const ledger::State state(genesis);
  CHECK(state.prepaid(1) == nullptr);
  REQUIRE(state.prepaid(2) != nullptr);
  CHECK(*state.prepaid(2) == ledger::PrepaidBalance{0, 1'000, 0});
  CHECK(state.check_invariants().ok());
}

TEST_CASE("billing terms are required from version 4 and refused before it", "[ledger][genesis][billing]") {
  // Proves that the version decides whether the member exists, in JSON and in binary.
  nlohmann::json v4 = genesis_json(pc::test::make_genesis(billing_options()));
  v4["policy"].erase("billing");
  CHECK(parse_error(v4) == "genesis: policy.billing: missing (required from protocol_version 4)");

  nlohmann::json v3 = genesis_json(pc::test::make_genesis(billing_options()));
  v3["protocol_version"] = 3;
  CHECK(parse_error(v3) == "genesis: policy.billing: needs protocol_version 4 or later");

  // A version 3 genesis with billing bytes appended is trailing bytes, not a billing genesis.
  ledger::Genesis genesis = pc::test::make_genesis(billing_options());
  Bytes bytes = genesis.encode();
  bytes[1] = 3;
  auto decoded = ledger::decode_genesis(bytes);
  REQUIRE_FALSE(decoded.ok());
  CHECK(decoded.error().code == Code::trailing_bytes);
}

TEST_CASE("billing terms list every partner once in order, with a known plan and bounded prices",
          "[ledger][genesis][billing]") {
  // Proves each rule of the billing member names the member that breaks it, and that the
  // binary decoder refuses the same terms with invalid_field.
  const nlohmann::json good = genesis_json(pc::test::make_genesis(billing_options()));
  auto broken = [&](auto change) {
    nlohmann::json json = good;
    change(json["policy"]["billing"]);
    return parse_error(json);
  };
  CHECK(broken([](nlohmann::json& b) { b["currency"] = "eur"; }) ==
        "genesis: policy.billing.currency: must be three capital letters (ISO 4217)");
  CHECK(broken([](nlohmann::json& b) { b["currency_minor_digits"] = 5; }) ==
        "genesis: policy.billing.currency_minor_digits: must be an integer from 0 to 4");
  CHECK(broken([](nlohmann::json& b) { b["partners"].erase(2); }) ==
        "genesis: billing terms must list every partner once, in genesis order");
  CHECK(broken([](nlohmann::json& b) { std::swap(b["partners"][0], b["partners"][1]); }) ==
        "genesis: billing terms must list every partner once, in genesis order");
  CHECK(broken([](nlohmann::json& b) { b["partners"][0]["plan"] = "monthly"; }) ==
        "genesis: policy.billing.partners[0].plan: must be \"postpaid\" or \"prepaid\"");
  CHECK(broken([](nlohmann::json& b) { b["partners"][0]["price_per_1000_points_minor"] = 1'000'000'001; }) ==
        "genesis: policy.billing.partners[0].price_per_1000_points_minor: must be an integer from 0 to 1000000000");
  CHECK(broken([](nlohmann::json& b) { b["partners"][0]["initial_prepaid_points"] = 5; }) ==
        "genesis: policy.billing.partners[0].initial_prepaid_points: unknown member");
  CHECK(broken([](nlohmann::json& b) { b["partners"][1].erase("initial_prepaid_points"); }) ==
        "genesis: policy.billing.partners[1].initial_prepaid_points: missing");
  CHECK(broken([](nlohmann::json& b) { b["billing_key"] = std::string(64, '0'); }) == "genesis: invalid billing key");

  ledger::Genesis genesis = pc::test::make_genesis(billing_options());
  Bytes bytes = genesis.encode();
  // The first billing entry's plan byte: after currency (3), digits (1), key (32), count (1), id (2).
  // The three entries are followed by the tier program, here empty: window and grace days (2 + 2)
  // and a tier count of 0 (1).
  const std::size_t plan_at = bytes.size() - (2 + 2 + 1) - (2 + 1 + 8) - (2 + 1 + 8 + 8) - (2 + 1 + 8) + 2;
  REQUIRE(bytes[plan_at] == 1);
  bytes[plan_at] = 3;
  auto decoded = ledger::decode_genesis(bytes);
  REQUIRE_FALSE(decoded.ok());
  CHECK(decoded.error().code == Code::invalid_field);
}

TEST_CASE("a prepaid partner issues up to its prepaid balance and no further", "[ledger][billing]") {
  // Proves that an Issue consumes the prepaid balance point for point, that reaching 0 exactly
  // is allowed, and that one point more is prepaid_exhausted and changes nothing; a post-paid
  // partner is not limited.
  TestChain chain(billing_options());
  const auto alice = TxFactory::customer(1).public_key();
  commit_at(chain, at_day(1), {chain.txs.issue(2, alice, 600, "p2-1"), chain.txs.issue(1, alice, 50'000, "p1-1")});
  CHECK(prepaid_balance(chain, 2) == 400);
  commit_at(chain, at_day(2), {chain.txs.issue(2, alice, 400, "p2-2")});
  CHECK(prepaid_balance(chain, 2) == 0);
  CHECK(stats_of(chain, 2).issued == 1'000);

  const auto refused = chain.txs.issue(2, alice, 1, "p2-3");
  expect_refused(chain, refused, Code::prepaid_exhausted);
  CHECK(chain.try_apply(refused).error().detail ==
        "partner 2 has 0 prepaid points left, the issue needs 1: a PrepaidTopUp must come first");
  CHECK(prepaid_balance(chain, 2) == 0);
  CHECK(stats_of(chain, 2).issued == 1'000);
}

TEST_CASE("a top-up by the billing key adds prepaid points and issuance resumes", "[ledger][billing]") {
  // Proves PrepaidTopUp's effect (balance and topped-up total grow, the per-partner top-up
  // sequence moves), that an Issue in the same block may use it, and that the records reload
  // from the store and pass the audit.
  TestChain chain(billing_options());
  const auto alice = TxFactory::customer(1).public_key();
  commit_at(chain, at_day(1), {chain.txs.issue(2, alice, 1'000, "p2-1")});
  commit_at(chain, at_day(2), {chain.txs.prepaid_top_up(2, 5'000, "INV-2026-001"), chain.txs.issue(2, alice, 3'000, "p2-2")});
  CHECK(*chain.state().prepaid(2) == ledger::PrepaidBalance{1, 2'000, 5'000});
  commit_at(chain, at_day(3), {chain.txs.prepaid_top_up(2, 1'000, "INV-2026-002")});
  CHECK(*chain.state().prepaid(2) == ledger::PrepaidBalance{2, 3'000, 6'000});

  chain.reopen();
  CHECK(*chain.state().prepaid(2) == ledger::PrepaidBalance{2, 3'000, 6'000});
  chain.close();
  auto store = ledger::ChainStore::open(chain.store_path(), chain.genesis(), ledger::ChainStore::Mode::raw);
  REQUIRE(store.ok());
  const ledger::AuditReport report = ledger::audit_chain(**store);
  INFO(report.fault.message());
  CHECK(report.ok);
}

TEST_CASE("a top-up signed by another key, for a post-paid partner or out of sequence is refused",
          "[ledger][billing]") {
  // Proves the top-up's own rules: only the billing key signs it (a partner's issuer key is
  // bad_signature), only a prepaid partner takes one (not_prepaid), a genesis partner
  // (unknown_partner), sequences per partner; each refusal changes nothing.
  TestChain chain(billing_options());
  const crypto::SecretKey partner_key = TxFactory::partner_issuer(2);
  const auto by_partner = chain.txs.prepaid_top_up(2, 1'000, "INV-1", &partner_key);
  expect_refused(chain, by_partner, Code::bad_signature);
  chain.txs.next_top_up_sequence[2] = 0;
  expect_refused(chain, chain.txs.prepaid_top_up(1, 1'000, "INV-2"), Code::not_prepaid);
  expect_refused(chain, chain.txs.prepaid_top_up(9, 1'000, "INV-3"), Code::unknown_partner);
  chain.txs.next_top_up_sequence[2] = 1;
  expect_refused(chain, chain.txs.prepaid_top_up(2, 1'000, "INV-4"), Code::sequence_too_high);
  chain.txs.next_top_up_sequence[2] = 0;
  commit_at(chain, at_day(1), {chain.txs.prepaid_top_up(2, 1'000, "INV-5")});
  chain.txs.next_top_up_sequence[2] = 0;
  expect_refused(chain, chain.txs.prepaid_top_up(2, 1'000, "INV-5"), Code::sequence_too_low);
  CHECK(prepaid_balance(chain, 2) == 2'000);
}

TEST_CASE("a top-up is a whole number of point blocks", "[ledger][billing][encoding]") {
  // Proves the decoder's field rules for PrepaidTopUp: points a positive multiple of 1000, a
  // partner, a printable reference.
  const auto sign = [](ledger::PrepaidTopUp body) {
    ledger::UnsignedTransaction fields;
    fields.chain_id = pc::test::test_chain_id;
    fields.sequence = 1;
    fields.last_valid_height = 10;
    fields.body = std::move(body);
    const ledger::Transaction tx = ledger::Transaction::sign(fields, TxFactory::billing_key());
    auto decoded = ledger::Transaction::decode(tx.bytes());
    return decoded ? Code::ok : decoded.error().code;
  };
  CHECK(sign({2, 1'000, "INV-1"}) == Code::ok);
  CHECK(sign({2, 1'500, "INV-1"}) == Code::invalid_field);
  CHECK(sign({2, 0, "INV-1"}) == Code::invalid_field);
  CHECK(sign({0, 1'000, "INV-1"}) == Code::invalid_field);
  CHECK(sign({2, 1'000, "INV 1"}) == Code::invalid_field);
}

TEST_CASE("a top-up on a chain before version 4 is unsupported_type", "[ledger][billing]") {
  // Proves that earlier chains do not have the type, whoever signs it.
  GenesisOptions options;
  options.protocol_version = 3;
  TestChain chain(options);
  expect_refused(chain, chain.txs.prepaid_top_up(2, 1'000, "INV-1"), Code::unsupported_type);
  CHECK(chain.state().prepaid_balances().empty());
}

TEST_CASE("get_partners shows each partner's billing plan and a prepaid partner's balance and top-up sequence",
          "[rpc][billing]") {
  // Proves what docs/rpc.md ("get_partners") gives a prepaid partner's till and the coalition's
  // billing operator: the plan and price of every partner, the balance an Issue draws on, the
  // points topped up so far and the last top-up sequence (the next top-up carries it + 1), each
  // moving with a committed Issue and PrepaidTopUp; and no billing member before version 4.
  pc::test::DispatchedNode node({}, billing_options());
  const auto partners = [&] {
    const pc::rpc::Reply reply = node.handle(R"({"jsonrpc":"2.0","id":1,"method":"get_partners"})");
    REQUIRE(reply.status == 200);
    return nlohmann::json::parse(reply.body).at("result");
  };
  nlohmann::json before = partners();
  REQUIRE(before.size() == 3);
  CHECK(before[0]["billing"] == nlohmann::json::parse(R"({"plan":"postpaid","price_per_1000_points_minor":250,"prepaid":null})"));
  CHECK(before[1]["billing"] == nlohmann::json::parse(R"({"plan":"prepaid","price_per_1000_points_minor":200,
      "prepaid":{"balance_points":1000,"topped_up_points":0,"top_up_sequence":0}})"));
  CHECK(before[2]["billing"]["prepaid"].is_null());

  TxFactory txs;
  node.submit_all({txs.issue(2, TxFactory::customer(1).public_key(), 300, "order-1"),
                   txs.prepaid_top_up(2, 2'000, "INV-1")});
  node.produce();
  const nlohmann::json after = partners();
  CHECK(after[1]["billing"]["prepaid"] ==
        nlohmann::json::parse(R"({"balance_points":2700,"topped_up_points":2000,"top_up_sequence":1})"));

  pc::test::DispatchedNode version_1;
  const pc::rpc::Reply reply = version_1.handle(R"({"jsonrpc":"2.0","id":1,"method":"get_partners"})");
  CHECK_FALSE(nlohmann::json::parse(reply.body).at("result")[0].contains("billing"));
}
