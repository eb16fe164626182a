// The whole loyalty program of protocol version 4 in one customer's story, driven through the
// real binaries (issue 10 §7): she earns at two partners of a coalition, reaches a tier, fills
// a stamp card and gets its voucher, redeems a catalog reward that needs her tier and has its
// voucher used at the till, pays with points at the till, and pointchain-node audit on the
// stopped node's data dir verifies it all. Each piece alone has its own test
// (e2e_tiers_test.cpp, e2e_stamps_test.cpp, e2e_catalog_test.cpp, e2e_payments_test.cpp); this
// one proves they hold together on one chain, with the figures checked at every step.
#include <catch2/catch.hpp>

#include <string>

#include "crypto/address.hpp"
#include "tests/e2e_support.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc::test::e2e;
using nlohmann::json;

constexpr char wallet_passphrase[] = "e2e loyalty program wallet";

// Partner 2's till has no node here: it signs its Issue with its issuer key (seeded, as
// LiveNodeOptions documents) and submits it to partner 1's node, as any partner's systems may.
json earn_at_partner_2(const LiveNode& node, const std::string& customer_address, std::uint64_t points,
                       const std::string& order_id) {
  const auto customer = pc::crypto::decode_address(customer_address);
  REQUIRE(customer.ok());
  pc::test::TxFactory partner_2(node.call("chain_info")["chain_id"].get<std::string>());
  const pc::ledger::Transaction issue =
      partner_2.issue_for(2, *customer, points, order_id, pc::ledger::Reason::purchase,
                          pc::ledger::Purchase{static_cast<std::int64_t>(points) * 100, "EUR"});
  const json submitted = node.call("submit_transaction", {{"hex", pc::to_hex(issue.bytes())}});
  return node.wait_until_committed(submitted["id"].get<std::string>());
}

// The voucher code the wallet printed ("Voucher XXXX-XXXX-XXXX").
std::string printed_voucher(const RunResult& redeemed) {
  const std::size_t at = redeemed.out.find("Voucher ");
  REQUIRE(at != std::string::npos);
  return redeemed.out.substr(at + 8, 14);
}

}  // namespace

TEST_CASE("e2e: earn at two partners, reach Silver, fill a stamp card, redeem a Silver reward, pay at the till, audit",
          "[e2e][loyalty]") {
  // Proves on one live chain of protocol version 4 (test_tier_program(): Silver from 1000
  // qualifying points at ×1.25) with partner 1's node, a second partner and the real wallet:
  // 600 points at partner 1 (one stamp on its 3-stamp card) and 400 at partner 2 make 1000
  // qualifying points, so Alice is Silver with balance 1000; two more purchases at partner 1
  // credit ×1.25 (10 → 12, 20 → 25) and fill the card (0 stamps on card 2, 1 filled) into a
  // "Free coffee" voucher, valid and then used at the till; the wallet redeems "Tote bag"
  // (200 points, Silver only) and its voucher is used at the till; a payment request of EUR
  // 25.00 at 10 cents a point is 250 points, `pay --yes` commits it and the request is paid;
  // her balance is 1037 − 200 − 250 = 587 throughout the wallet and RPC; and the audit of the
  // stopped node is OK with these figures in its tiers, catalog and payments lines.
  LiveNodeOptions options;
  options.tiers = pc::test::test_tier_program();
  options.other_validator_powers = {0};  // partner 2: a partner without a vote or a node here
  LiveNode node(options);
  const CustomerWallet alice(node, wallet_passphrase);
  const std::string address = alice.create();
  const auto account = [&] { return node.call("get_account", {{"address", address}}); };

  // Partner 1's loyalty manager: the card's reward, a Silver-only reward, the card, a point value.
  node.partner_call_and_commit("publish_reward", {{"reward_id", 1}, {"name", "Free coffee"}, {"cost_points", 300}, {"stock", 0}});
  node.partner_call_and_commit("publish_reward",
                               {{"reward_id", 2}, {"name", "Tote bag"}, {"cost_points", 200}, {"stock", 5}, {"min_tier", 1}});
  node.partner_call_and_commit("define_stamp_card", {{"card_id", 1}, {"name", "Coffee card"}, {"stamps_needed", 3},
                                                     {"min_amount_minor", 500}, {"currency", "EUR"}, {"reward_id", 1}});
  node.partner_call_and_commit("set_point_value", {{"currency", "EUR"}, {"minor_units", 10}, {"points", 1}});

  // Earning at two partners: 600 + 400 qualifying points reach Silver.
  CHECK(node.earn_and_commit(address, 60'000, "p1-0001")["credited_points"] == 600);
  CHECK(account()["tier"]["name"] == "none");
  CHECK(account()["tier"]["next"]["points_needed"] == 400);
  const json at_partner_2 = earn_at_partner_2(node, address, 400, "p2-0001");
  CHECK(at_partner_2["status"] == "committed");
  json tier = account()["tier"];
  INFO(tier.dump());
  CHECK(tier["name"] == "Silver");
  CHECK(tier["window_points"] == 1'000);
  CHECK(account()["balance"] == 1'000);
  CHECK(node.call("get_stamp_cards", {{"address", address}})["cards"][0]["stamps"] == 1);  // partner 2 gave none

  // Two more purchases at partner 1, multiplied, fill the card into its voucher.
  CHECK(node.earn_and_commit(address, 1'000, "p1-0002")["credited_points"] == 12);
  CHECK(node.earn_and_commit(address, 2'000, "p1-0003")["credited_points"] == 25);
  const json card = node.call("get_stamp_cards", {{"address", address}})["cards"][0];
  INFO(card.dump());
  CHECK(card["stamps"] == 0);
  CHECK(card["card_number"] == 2);
  CHECK(card["filled"] == 1);
  const RunResult cards = alice.run({"cards"});
  INFO(cards.out << cards.err);
  CHECK(cards.out.find("Coffee card  0/3  [ ][ ][ ]") != std::string::npos);
  const json card_vouchers = node.call("get_vouchers", {{"address", address}})["vouchers"];
  REQUIRE(card_vouchers.size() == 1);
  CHECK(card_vouchers[0]["reward_name"] == "Free coffee");
  const std::string card_code = card_vouchers[0]["code"].get<std::string>();
  CHECK(node.call("check_voucher", {{"code", card_code}}, node.bearer())["status"] == "valid");
  node.partner_call_and_commit("use_voucher", {{"code", card_code}});
  CHECK(node.call("check_voucher", {{"code", card_code}}, node.bearer())["status"] == "used");
  CHECK(account()["balance"] == 1'037);  // a card's voucher costs no points

  // The Silver-only reward, redeemed with the wallet; its voucher is used at the till.
  const RunResult redeemed = alice.run({"redeem", "--partner", "1", "--reward-id", "2"});
  INFO(redeemed.out << redeemed.err);
  REQUIRE(redeemed.status.exited_with(0));
  const std::string tote_code = printed_voucher(redeemed);
  CHECK(node.call("check_voucher", {{"code", tote_code}}, node.bearer())["status"] == "valid");
  node.partner_call_and_commit("use_voucher", {{"code", tote_code}});
  CHECK(node.call("check_voucher", {{"code", tote_code}}, node.bearer())["status"] == "used");
  CHECK(account()["balance"] == 1'037 - 200);

  // Paying EUR 25.00 with points at the till: 250 points at 10 cents a point.
  const json request = node.call("create_payment_request",
                                 {{"amount_minor", 2'500}, {"currency", "EUR"}, {"order_id", "till-1-0099"}}, node.bearer());
  CHECK(request["points"] == 250);
  const RunResult paid = alice.run({"pay", request["text"].get<std::string>(), "--yes"});
  INFO(paid.out << paid.err);
  REQUIRE(paid.status.exited_with(0));
  const json payment = node.call("get_payment_request", {{"id", request["id"]}});
  CHECK(payment["status"] == "paid");
  CHECK(payment["payment"]["customer"] == address);
  node.wait_until_committed(payment["payment"]["tx_id"].get<std::string>());
  CHECK(account()["balance"] == 587);
  CHECK(account()["tier"]["name"] == "Silver");

  const RunResult balance = alice.run({"balance"});
  INFO(balance.out << balance.err);
  REQUIRE(balance.status.exited_with(0));
  CHECK(balance.out.find("587") != std::string::npos);
  CHECK(balance.out.find("Tier:       Silver (held until ") != std::string::npos);
  const RunResult vouchers = alice.run({"vouchers"});
  INFO(vouchers.out << vouchers.err);
  CHECK(vouchers.out.find(card_code) != std::string::npos);
  CHECK(vouchers.out.find(tote_code) != std::string::npos);

  node.stop();
  const RunResult audit = node.audit();
  INFO(audit.out);
  CHECK(audit.status.exited_with(0));
  CHECK(audit.out.find("audit: OK") != std::string::npos);
  CHECK(audit.out.find("supply: issued 1037, redeemed 450, expired 0, reversed 0, outstanding 587 in 1 accounts") !=
        std::string::npos);
  CHECK(audit.out.find("tiers: Silver 1, Gold 0 customers; 0 grants running") != std::string::npos);
  CHECK(audit.out.find("catalog: 2 rewards, 1 units redeemed, 2 vouchers (2 used)") != std::string::npos);
  CHECK(audit.out.find("E2E Partner: 1 payments, 250 points, 2500 EUR minor units") != std::string::npos);
}
