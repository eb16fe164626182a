// Paying with points at a till, driven through the real binaries as a loyalty manager, a till
// and a customer would: the partner declares its point value over RPC, the till asks its node
// for a payment request and subscribes to it on the WebSocket, the customer pays it with
// pointchain-wallet pay, the till hears it committed, a second payment of the same request is
// refused, and pointchain-node audit replays it all clean.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/e2e_support.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc::test::e2e;
using nlohmann::json;

constexpr char wallet_passphrase[] = "e2e payments wallet";
constexpr Milliseconds websocket_timeout = 15s;

std::string error_name(const json& response) {
  INFO(response.dump());
  REQUIRE(response.contains("error"));
  return response["error"]["data"]["name"].get<std::string>();
}

}  // namespace

TEST_CASE("e2e: a till's payment request is paid with the wallet, heard on the WebSocket, and refused a second time",
          "[e2e][payments]") {
  // Proves the whole path on a live node of protocol version 4 with the real wallet: the
  // partner sets a point of 10 cents, create_payment_request prices EUR 2.50 at 25 points,
  // `pay` without --yes and no answer signs nothing (exit 12) and the request stays unpaid;
  // `pay --yes` shows the partner, amount and points and commits; the till's subscription to
  // the request hears a "paid" notification; get_payment_request says paid with the customer;
  // paying again is refused (payment_request_paid); get_partners and get_settlement carry the
  // money paid; the audit is OK.
  LiveNode node;
  const CustomerWallet alice(node, wallet_passphrase);
  const std::string address = alice.create();
  node.earn_and_commit(address, 10'000, "order-1");  // EUR 100.00: 100 points

  CHECK(error_name(node.response("create_payment_request", {{"amount_minor", 250}, {"currency", "EUR"}, {"order_id", "till-1-0042"}},
                                 node.bearer())) == "no_point_value");
  const json set = node.call("set_point_value", {{"currency", "EUR"}, {"minor_units", 10}, {"points", 1}}, node.bearer());
  node.wait_until_committed(set["id"].get<std::string>());
  const json request = node.call("create_payment_request",
                                 {{"amount_minor", 250}, {"currency", "EUR"}, {"order_id", "till-1-0042"}}, node.bearer());
  CHECK(request["points"] == 25);
  const std::string text = request["text"].get<std::string>();
  const std::string request_id = request["id"].get<std::string>();
  CHECK(node.call("get_payment_request", {{"id", request_id}})["status"] == "unpaid");

  WebSocketClient till;
  REQUIRE(till.connect(node.port(), "", websocket_timeout));
  REQUIRE(till.send_text(rpc_request("subscribe", {{"payment_request", request_id}}, 1).dump(), websocket_timeout));
  const std::optional<std::string> subscribed = till.read_text(websocket_timeout);
  REQUIRE(subscribed.has_value());
  const std::uint64_t subscription = json::parse(*subscribed).at("result").at("subscription").get<std::uint64_t>();

  // No terminal and no --yes: the wallet reads no "y" and signs nothing.
  const RunResult declined = alice.run({"pay", text});
  INFO(declined.out << declined.err);
  CHECK(declined.status.exited_with(12));
  CHECK(node.call("get_payment_request", {{"request", text}})["status"] == "unpaid");

  const RunResult paid = alice.run({"pay", text, "--yes"});
  INFO(paid.out << paid.err);
  REQUIRE(paid.status.exited_with(0));
  CHECK(paid.out.find("Pay E2E Partner") != std::string::npos);
  CHECK(paid.out.find("250 EUR") != std::string::npos);
  CHECK(paid.out.find("25 points") != std::string::npos);

  // The till hears the payment of its request, once it is committed.
  json heard;
  while (heard.is_null()) {
    const std::optional<std::string> message = till.read_text(websocket_timeout);
    REQUIRE(message.has_value());
    const json parsed = json::parse(*message);
    if (parsed.value("method", "") == "notification" && parsed["params"]["subscription"] == subscription) heard = parsed["params"];
  }
  CHECK(heard["kind"] == "paid");
  CHECK(heard["request_id"] == request_id);
  CHECK(heard["order_id"] == "till-1-0042");
  CHECK(heard["amount_minor"] == 250);
  CHECK(heard["points"] == 25);
  CHECK(heard["customer"] == address);

  const json status = node.call("get_payment_request", {{"id", request_id}});
  CHECK(status["status"] == "paid");
  CHECK(status["payment"]["customer"] == address);
  CHECK(status["payment"]["tx_id"] == heard["tx_id"]);
  CHECK(node.call("get_account", {{"address", address}})["balance"] == 75);

  const RunResult twice = alice.run({"pay", text, "--yes"});
  INFO(twice.out << twice.err);
  CHECK(twice.status.exited_with(6));
  CHECK(twice.err.find("payment_request_paid") != std::string::npos);
  CHECK(node.call("get_account", {{"address", address}})["balance"] == 75);

  const json partners = node.call("get_partners");
  CHECK(partners[0]["point_value"]["minor_units"] == 10);
  REQUIRE(partners[0]["paid_with_points"].size() == 1);
  const json& paid_at_partner = partners[0]["paid_with_points"][0];
  CHECK(paid_at_partner["currency"] == "EUR");
  CHECK(paid_at_partner["payments"] == 1);
  CHECK(paid_at_partner["points"] == 25);
  CHECK(paid_at_partner["amount_minor"] == 250);
  const json settlement = node.call("get_settlement", {{"money", true}});
  CHECK(settlement["paid_with_points"][0]["amount_minor"] == 250);
  CHECK(settlement["matrix"][0]["points"] == 25);

  node.stop();
  const RunResult audit = node.audit();
  INFO(audit.out);
  CHECK(audit.status.exited_with(0));
  CHECK(audit.out.find("audit: OK") != std::string::npos);
}
