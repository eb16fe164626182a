// The rewards catalog and partial returns driven through the real binaries, as a loyalty
// manager, a customer and a till would: the partner publishes a reward over RPC, the customer
// earns and redeems it by id with pointchain-wallet, the till checks and uses the printed
// voucher once (a second use and a foreign code are refused), the order is partly returned,
// and pointchain-node audit replays it all clean.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/e2e_support.hpp"
#include "tests/fixtures.hpp"
#include "wallet-cli/terminal_qr.hpp"

namespace {

using namespace pc::test::e2e;
using nlohmann::json;

constexpr char wallet_passphrase[] = "e2e catalog wallet";

// The application error's name (docs/rpc.md: error.data.name) of a call that must fail.
std::string error_name(const json& response) {
  INFO(response.dump());
  REQUIRE(response.contains("error"));
  return response["error"]["data"]["name"].get<std::string>();
}

}  // namespace

TEST_CASE("e2e: publish a reward, earn, redeem it with the wallet, use the voucher once, return part, audit clean",
          "[e2e][catalog]") {
  // Proves the whole path on a live node of protocol version 3 with the real wallet: the
  // reward shows in get_rewards (and as affordable once the customer has the points), the
  // wallet's redeem --reward-id prints a voucher code, check_voucher says valid, use_voucher
  // commits (before that, `vouchers --qr` draws it), then the voucher is used for
  // check_voucher, the wallet and a second use
  // (voucher_used), an unknown code is refused, a partial return takes points in proportion,
  // and the audit of the data dir is OK with the catalog counted.
  LiveNode node;
  const CustomerWallet alice(node, wallet_passphrase);
  const std::string address = alice.create();

  const json published = node.call("publish_reward",
                                    {{"reward_id", 1}, {"name", "Free coffee"}, {"cost_points", 30}, {"stock", 10},
                                     {"limit_per_customer", 2}},
                                    node.bearer());
  node.wait_until_committed(published["id"].get<std::string>());
  const json catalog = node.call("get_rewards", {{"partner", 1}});
  REQUIRE(catalog["rewards"].size() == 1);
  CHECK(catalog["rewards"][0]["terms"]["name"] == "Free coffee");
  CHECK(node.call("get_rewards", {{"affordable_for", address}})["rewards"].empty());

  node.earn_and_commit(address, 10'000, "till-1-0001");  // EUR 100.00: 100 points
  CHECK(node.call("get_rewards", {{"affordable_for", address}})["rewards"].size() == 1);

  const RunResult redeemed = alice.run({"redeem", "--partner", "1", "--reward-id", "1"});
  INFO(redeemed.out << redeemed.err);
  REQUIRE(redeemed.status.exited_with(0));
  const std::size_t at = redeemed.out.find("Voucher ");
  REQUIRE(at != std::string::npos);
  const std::string code = redeemed.out.substr(at + 8, 14);  // XXXX-XXXX-XXXX

  CHECK(node.call("check_voucher", {{"code", code}}, node.bearer())["status"] == "valid");
  // The unused voucher is drawn as a QR code of its code (the drawing itself: terminal_qr_test).
  const RunResult drawn = alice.run({"vouchers", "--qr"});
  INFO(drawn.out << drawn.err);
  REQUIRE(drawn.status.exited_with(0));
  CHECK(drawn.out.find(pc::wallet::draw_qr(pc::wallet::encode_qr(code))) != std::string::npos);
  const json used = node.call("use_voucher", {{"code", code}}, node.bearer());
  node.wait_until_committed(used["id"].get<std::string>());
  CHECK(node.call("check_voucher", {{"code", code}}, node.bearer())["status"] == "used");
  CHECK(error_name(node.response("use_voucher", {{"code", code}}, node.bearer())) == "voucher_used");
  CHECK(node.call("check_voucher", {{"code", "0000-0000-0000"}}, node.bearer())["status"] == "unknown");
  CHECK(error_name(node.response("use_voucher", {{"code", "0000-0000-0000"}}, node.bearer())) == "unknown_voucher");

  const RunResult vouchers = alice.run({"vouchers"});
  INFO(vouchers.out << vouchers.err);
  REQUIRE(vouchers.status.exited_with(0));
  CHECK(vouchers.out.find(code) != std::string::npos);
  CHECK(vouchers.out.find("used") != std::string::npos);

  // A quarter of the order comes back: 25 of its 100 points; then more than the rest is refused.
  const json returned = node.call("return", {{"order_id", "till-1-0001"}, {"amount_minor", 2'500}}, node.bearer());
  node.wait_until_committed(returned["id"].get<std::string>());
  CHECK(node.call("get_account", {{"address", address}})["balance"] == 100 - 30 - 25);
  CHECK(error_name(node.response("return", {{"order_id", "till-1-0001"}, {"amount_minor", 7'501}}, node.bearer())) ==
        "return_exceeds_order");

  node.stop();
  const RunResult audit = node.audit();
  INFO(audit.out);
  CHECK(audit.status.exited_with(0));
  CHECK(audit.out.find("audit: OK") != std::string::npos);
  CHECK(audit.out.find("catalog: 1 rewards, 1 units redeemed, 1 vouchers (1 used)") != std::string::npos);
}
