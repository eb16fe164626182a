// Stamp cards and badges driven through the real binaries, as a loyalty manager, a customer
// and a till would: the partner defines a card and badges over RPC, three purchases at the
// till fill the card, the wallet shows the stamps, the card's voucher and the badges, the till
// uses the voucher, the partner's CRM hears badge_earned by webhook, the leaderboard ranks the
// customer, and pointchain-node audit replays it all clean.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "node/analytics_report.hpp"
#include "tests/e2e_support.hpp"
#include "tests/fixtures.hpp"
#include "tests/webhook_receiver.hpp"

namespace {

using namespace pc::test::e2e;
using nlohmann::json;
using pc::test::WebhookReceiver;

constexpr char wallet_passphrase[] = "e2e stamps wallet";
const std::string webhook_secret = "e2e-stamps-webhook-secret-0123";

}  // namespace

TEST_CASE("e2e: define a stamp card and badges, fill the card at the till, see stamps, voucher and badges in the wallet",
          "[e2e][stamps]") {
  // Proves the whole path on a live node of protocol version 4 with the real wallet: the card
  // and badges are defined with the API token; after one purchase `cards` shows 1/3; the third
  // purchase fills the card: `cards` shows 0/3 with one card filled, get_vouchers and the
  // wallet list the card's voucher, and check_voucher/use_voucher take it once; the "Regular"
  // badge (3 purchases) and an awarded badge show in `badges`, and each reached the webhook
  // receiver as a signed badge_earned event; get_leaderboard ranks the customer with the
  // points of the three purchases; the audit of the data dir is OK.
  WebhookReceiver receiver;
  LiveNodeOptions options;
  options.config = {{"webhooks",
                     {{"endpoints", {{{"url", receiver.url()}, {"events", {"badge_earned"}}, {"secret", webhook_secret}}}},
                      {"retry_initial_ms", 50},
                      {"retry_max_ms", 200}}}};
  LiveNode node(options);
  const CustomerWallet alice(node, wallet_passphrase);
  const std::string address = alice.create();

  node.partner_call_and_commit("publish_reward", {{"reward_id", 1}, {"name", "Free coffee"}, {"cost_points", 300}, {"stock", 0}});
  node.partner_call_and_commit("define_stamp_card",
                      {{"card_id", 1}, {"name", "Coffee card"}, {"stamps_needed", 3}, {"min_amount_minor", 500},
                       {"currency", "EUR"}, {"reward_id", 1}});
  node.partner_call_and_commit("define_badge",
                      {{"badge_id", 1}, {"name", "Regular"}, {"rule", "action_count"}, {"reason", "purchase"}, {"threshold", 3}});
  node.partner_call_and_commit("define_badge", {{"badge_id", 2}, {"name", "Founding member"}, {"rule", "awarded"}});

  const json first = node.earn_and_commit(address, 1'000, "till-1-0001");
  const RunResult one_stamp = alice.run({"cards"});
  INFO(one_stamp.out << one_stamp.err);
  REQUIRE(one_stamp.status.exited_with(0));
  CHECK(one_stamp.out.find("Coffee card  1/3  [x][ ][ ]") != std::string::npos);

  node.earn_and_commit(address, 1'200, "till-1-0002");
  const json filling = node.earn_and_commit(address, 1'500, "till-1-0003");
  const json cards = node.call("get_stamp_cards", {{"address", address}});
  REQUIRE(cards["cards"].size() == 1);
  CHECK(cards["cards"][0]["stamps"] == 0);
  CHECK(cards["cards"][0]["card_number"] == 2);
  CHECK(cards["cards"][0]["filled"] == 1);
  const RunResult full = alice.run({"cards"});
  INFO(full.out << full.err);
  REQUIRE(full.status.exited_with(0));
  CHECK(full.out.find("Coffee card  0/3  [ ][ ][ ]") != std::string::npos);
  CHECK(full.out.find("a full card gives: Free coffee; cards filled: 1") != std::string::npos);

  // The card's voucher: listed for the customer, valid at the till once, then used.
  const json vouchers = node.call("get_vouchers", {{"address", address}});
  REQUIRE(vouchers["vouchers"].size() == 1);
  const std::string code = vouchers["vouchers"][0]["code"].get<std::string>();
  CHECK(vouchers["vouchers"][0]["reward_name"] == "Free coffee");
  const RunResult listed = alice.run({"vouchers"});
  INFO(listed.out << listed.err);
  CHECK(listed.out.find(code) != std::string::npos);
  CHECK(node.call("check_voucher", {{"code", code}}, node.bearer())["status"] == "valid");
  node.partner_call_and_commit("use_voucher", {{"code", code}});
  CHECK(node.call("check_voucher", {{"code", code}}, node.bearer())["status"] == "used");

  node.partner_call_and_commit("award_badge", {{"badge_id", 2}, {"customer", address}});
  const RunResult badges = alice.run({"badges"});
  INFO(badges.out << badges.err);
  REQUIRE(badges.status.exited_with(0));
  CHECK(badges.out.find("Regular  from ") != std::string::npos);
  CHECK(badges.out.find("Founding member  from ") != std::string::npos);
  const json earned = node.call("get_badges", {{"address", address}});
  REQUIRE(earned["badges"].size() == 2);
  CHECK(earned["badges"][0]["earned_height"] == node.call("get_transaction", {{"id", filling["id"]}})["height"]);

  // Both badges reach the partner's CRM, each once, signed, with the documented id.
  REQUIRE(receiver.wait_until([](const auto& requests) { return requests.size() >= 2; }, 20s));
  std::vector<std::string> names;
  for (const auto& request : receiver.requests()) {
    CHECK(request.header("x-pointchain-signature") ==
          pc::test::expected_webhook_signature(webhook_secret, request.header("x-pointchain-timestamp"), request.body));
    const json event = json::parse(request.body);
    CHECK(event["type"] == "badge_earned");
    CHECK(event["data"]["customer"] == address);
    CHECK(event["id"].get<std::string>().ends_with(".badge_earned." + std::to_string(event["data"]["badge_id"].get<int>())));
    names.push_back(event["data"]["badge_name"].get<std::string>());
  }
  CHECK(names == std::vector<std::string>{"Regular", "Founding member"});

  // The leaderboard over the days of the purchases (block times are the wall clock's): the
  // three purchases' 10 + 12 + 15 points, the customer alone and first.
  const auto day_of = [&](const json& earned_result) {
    const json committed = node.call("get_transaction", {{"id", earned_result["id"]}});
    const json block = node.call("get_block", {{"height", committed["height"]}});
    return pc::node::iso_date(pc::node::day_of_ms(block["time_ms"].get<std::uint64_t>()));
  };
  const json board = node.call("get_leaderboard", {{"from", day_of(first)}, {"to", day_of(filling)}, {"partner", 1}});
  CHECK(board["members"] == 1);
  REQUIRE(board["entries"].size() == 1);
  CHECK(board["entries"][0]["rank"] == 1);
  CHECK(board["entries"][0]["address"] == address);
  CHECK(board["entries"][0]["points"] == 10 + 12 + 15);
  node.stop();
  const RunResult audit = node.audit();
  INFO(audit.out);
  CHECK(audit.status.exited_with(0));
  CHECK(audit.out.find("audit: OK") != std::string::npos);
}
