// Webhooks the way a partner's CRM receives them from the real pointchain-node
// (docs/webhooks.md): configured in node.json, retried while the receiver fails, and still
// delivered, with the same event id, after the node is killed in the middle of the retries;
// and a tier change committed while the node ran without webhooks, delivered when they are
// configured again.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "crypto/address.hpp"
#include "tests/e2e_support.hpp"
#include "tests/fixtures.hpp"
#include "tests/webhook_receiver.hpp"

namespace {

using namespace pc::test::e2e;
using pc::test::WebhookReceiver;

const std::string secret = "e2e-webhook-secret-0123456789";

nlohmann::json webhooks_config(const WebhookReceiver& receiver, const std::vector<std::string>& events) {
  return {{"endpoints", {{{"url", receiver.url()}, {"events", events}, {"secret", secret}}}},
          {"retry_initial_ms", 50},
          {"retry_max_ms", 200}};
}

std::string customer_address(int n) {
  return pc::crypto::encode_address(pc::test::seeded_key("e2e webhook customer " + std::to_string(n)).public_key());
}

}  // namespace

TEST_CASE("webhooks: the real node retries a failing receiver and delivers after being killed mid-retry",
          "[e2e][webhooks]") {
  // Proves that an earn through the node's RPC reaches the receiver configured in node.json as
  // a signed POST whose id is the issuance's chain position; that while the receiver answers
  // 500 the node keeps sending the same id and body; that after SIGKILL and a restart the
  // event is delivered once the receiver answers 200, with the same id; and that an earn after
  // the restart follows it, so nothing is lost; webhook_status then shows an empty queue.
  WebhookReceiver receiver;
  receiver.answer_with(500);
  LiveNodeOptions options;
  options.config = {{"webhooks", webhooks_config(receiver, {"earn", "redemption"})}};
  LiveNode node(options);
  const nlohmann::json earned = node.earn_and_commit(customer_address(1), 4'250, "till-1-0001");
  const nlohmann::json committed = node.wait_until_committed(earned["id"].get<std::string>());
  const std::string event_id = std::to_string(committed["height"].get<std::uint64_t>()) + "." +
                               std::to_string(committed["index"].get<std::uint32_t>()) + ".earn";
  REQUIRE(receiver.wait_until([](const auto& requests) { return requests.size() >= 2; }, 20s));
  REQUIRE(node.kill().signal == 9);
  const std::size_t failed_attempts = receiver.requests().size();

  receiver.answer_with(200);
  node.start();
  const nlohmann::json second = node.earn_and_commit(customer_address(2), 1'000, "till-1-0002");
  REQUIRE(receiver.wait_until(
      [](const auto& requests) {
        std::size_t delivered = 0;
        for (const auto& request : requests) delivered += request.answered_status == 200 ? 1 : 0;
        return delivered >= 2;
      },
      20s));
  const auto requests = receiver.requests();
  std::string first_body;
  std::vector<std::string> delivered;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto& request = requests[i];
    const std::string timestamp = request.header("x-pointchain-timestamp");
    CHECK(request.header("x-pointchain-signature") == pc::test::expected_webhook_signature(secret, timestamp, request.body));
    const auto body = nlohmann::json::parse(request.body);
    CHECK(body["id"] == request.header("x-pointchain-event-id"));
    if (i < failed_attempts) {
      CHECK(request.answered_status == 500);
      CHECK(body["id"] == event_id);
      if (first_body.empty()) first_body = request.body;
      CHECK(request.body == first_body);
    }
    if (request.answered_status == 200) delivered.push_back(body["id"]);
  }
  REQUIRE(delivered.size() == 2);
  CHECK(delivered[0] == event_id);
  CHECK(requests[failed_attempts].body == first_body);  // the redelivery after the restart
  const auto second_event = nlohmann::json::parse(requests.back().body);
  CHECK(second_event["type"] == "earn");
  CHECK(second_event["data"]["tx_id"] == second["id"]);
  CHECK(second_event["data"]["customer"] == customer_address(2));
  CHECK(second_event["data"]["points"] == 10);
  CHECK(second_event["data"]["reference"] == "till-1-0002");
  const nlohmann::json status = node.call("webhook_status", nlohmann::json::object(), node.bearer());
  REQUIRE(status["endpoints"].size() == 1);
  CHECK(status["endpoints"][0]["url"] == receiver.url());
  CHECK(status["endpoints"][0]["queued"] == 0);
  CHECK(status["endpoints"][0]["dropped_total"] == 0);
  CHECK(node.response("webhook_status").contains("error"));  // the partner's token is needed
  CHECK(node.stop().exited_with(0));
}

TEST_CASE("webhooks: a tier change committed while the real node ran without webhooks is delivered when they are back",
          "[e2e][webhooks][tiers]") {
  // Proves that the queue's catch-up at start, which reads the blocks committed while node.json
  // had no webhooks back from the chain store, still finds their tier changes (the store's
  // tier change records, docs/protocol.md "Store layout"): execution's tier changes are not
  // state, and before the store kept them this tier_changed event was silently lost. The
  // earn that crosses into Silver is its cause, so the event has the earn's chain position.
  WebhookReceiver receiver;
  LiveNodeOptions options;
  options.tiers = pc::test::test_tier_program();  // Silver from 1000 qualifying points
  options.config = {{"webhooks", webhooks_config(receiver, {"tier_changed"})}};
  LiveNode node(options);  // opens the queue, at the tip
  REQUIRE(node.stop().exited_with(0));

  node.set_config({{"webhooks", nullptr}});
  node.start();
  const nlohmann::json earned = node.earn_and_commit(customer_address(3), 100'000, "till-1-0001");  // 1000 points
  const nlohmann::json committed = node.wait_until_committed(earned["id"].get<std::string>());
  REQUIRE(node.call("get_account", {{"address", customer_address(3)}})["tier"]["name"] == "Silver");
  REQUIRE(node.stop().exited_with(0));
  CHECK(receiver.requests().empty());

  node.set_config({{"webhooks", webhooks_config(receiver, {"tier_changed"})}});
  node.start();
  const bool delivered = receiver.wait_until([](const auto& requests) { return !requests.empty(); }, 20s);
  INFO(node.output());
  REQUIRE(delivered);
  const auto request = receiver.requests().front();
  CHECK(request.header("x-pointchain-signature") ==
        pc::test::expected_webhook_signature(secret, request.header("x-pointchain-timestamp"), request.body));
  const auto event = nlohmann::json::parse(request.body);
  INFO(request.body);
  CHECK(event["id"] == std::to_string(committed["height"].get<std::uint64_t>()) + "." +
                           std::to_string(committed["index"].get<std::uint32_t>()) + ".tier_changed");
  CHECK(event["id"] == request.header("x-pointchain-event-id"));
  CHECK(event["type"] == "tier_changed");
  CHECK(event["data"]["customer"] == customer_address(3));
  CHECK(event["data"]["direction"] == "upgraded");
  CHECK(event["data"]["to_tier_name"] == "Silver");
  CHECK(event["data"]["cause"] == "earn");
  CHECK(event["data"]["tx_id"] == earned["id"]);
  CHECK(node.stop().exited_with(0));
}
