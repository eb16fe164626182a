// Tiers driven through the real binaries (protocol version 4): a customer earns at a partner's
// till until a threshold is crossed, the WebSocket subscriber hears tier_upgraded, get_account
// and pointchain-wallet balance show the tier, the date it is held until and what the next
// tier needs, the next earn is multiplied, and pointchain-node audit replays it all clean.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "ledger/limits.hpp"
#include "tests/e2e_support.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc::test::e2e;
using nlohmann::json;

constexpr char wallet_passphrase[] = "e2e tiers wallet";

}  // namespace

TEST_CASE("e2e: earning reaches a tier, the subscriber hears it, the wallet shows it, the next earn is multiplied",
          "[e2e][tiers]") {
  // Proves the tier path on a live node whose genesis holds test_tier_program() (Silver from
  // 1000 qualifying points at ×1.25): 600 points leave Alice 400 short of Silver; the earn of
  // 400 more upgrades her (a tier_upgraded notification naming partner 1 and the earn's
  // transaction) while itself crediting ×1 (the tier at the tip); get_account then says Silver,
  // held until the end of the next window plus the grace period; the wallet's balance prints
  // it; the next earn of 100 credits 125; and the audit of the data dir is OK.
  LiveNodeOptions options;
  options.tiers = pc::test::test_tier_program();
  LiveNode node(options);
  const CustomerWallet alice(node, wallet_passphrase);
  const std::string address = alice.create();

  WebSocketClient subscriber;
  REQUIRE(subscriber.connect(node.port(), {}, 10s));
  REQUIRE(subscriber.send_text(json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "subscribe"}, {"params", {{"account", address}}}}.dump(), 10s));
  const auto subscribed = subscriber.read_text(10s);
  REQUIRE(subscribed);
  REQUIRE(json::parse(*subscribed).contains("result"));

  node.earn_and_commit(address, 60'000, "till-1");  // EUR 600.00: 600 points
  json tier = node.call("get_account", {{"address", address}})["tier"];
  INFO(tier.dump());
  CHECK(tier["tier"] == 0);
  CHECK(tier["name"] == "none");
  CHECK(tier["held_until_ms"].is_null());
  CHECK(tier["next"]["name"] == "Silver");
  CHECK(tier["next"]["points_needed"] == 400);

  const json crossing = node.earn_and_commit(address, 40'000, "till-2");
  CHECK(crossing["points"] == 400);
  CHECK(crossing["tier"] == 0);
  CHECK(crossing["credited_points"] == 400);
  json upgraded = nullptr;
  for (int i = 0; i < 10 && upgraded.is_null(); ++i) {
    const auto message = subscriber.read_text(10s);
    REQUIRE(message);
    const json notification = json::parse(*message);
    if (notification["params"]["kind"] == "tier_upgraded") upgraded = notification["params"];
  }
  INFO(upgraded.dump());
  REQUIRE(upgraded.is_object());
  CHECK(upgraded["account"] == address);
  CHECK(upgraded["tier"] == 1);
  CHECK(upgraded["previous_tier"] == 0);
  CHECK(upgraded["partner"] == 1);
  CHECK(upgraded["tx_id"] == crossing["id"]);

  tier = node.call("get_account", {{"address", address}})["tier"];
  CHECK(tier["tier"] == 1);
  CHECK(tier["name"] == "Silver");
  CHECK(tier["multiplier_bp"] == 12'500);
  CHECK(tier["window_points"] == 1'000);
  const auto window_end_ms = tier["window_end_ms"].get<std::uint64_t>();
  CHECK(tier["held_until_ms"] == window_end_ms + (30 + 10) * pc::ledger::ms_per_day);
  CHECK(tier["next"]["name"] == "Gold");
  CHECK(tier["next"]["points_needed"] == 4'000);

  const RunResult balance = alice.run({"balance"});
  INFO(balance.out << balance.err);
  REQUIRE(balance.status.exited_with(0));
  CHECK(balance.out.find("Tier:       Silver (held until ") != std::string::npos);
  CHECK(balance.out.find("4000 more qualifying points by ") != std::string::npos);

  const json multiplied = node.earn_and_commit(address, 10'000, "till-3");
  CHECK(multiplied["points"] == 100);
  CHECK(multiplied["tier"] == 1);
  CHECK(multiplied["credited_points"] == 125);
  CHECK(node.call("get_account", {{"address", address}})["balance"] == 600 + 400 + 125);

  node.stop();
  const RunResult audit = node.audit();
  INFO(audit.out);
  CHECK(audit.status.exited_with(0));
  CHECK(audit.out.find("audit: OK") != std::string::npos);
}
