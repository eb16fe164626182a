// The real pointchain-node under earning rules, driven as a partner's till would over JSON-RPC
// on loopback: quote and earn with order lines, the rule set's tag in the reference, and a
// reload by SIGHUP and by the reload_rules method without a restart (docs/earning-rules.md).
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <thread>

#include "crypto/address.hpp"
#include "node/earning_rules.hpp"
#include "tests/e2e_support.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc::test::e2e;
using nlohmann::json;

const std::string first_rules = R"({"version": 1,
  "currencies": [{"currency": "EUR", "points_per_unit": 1}],
  "exclusions": [{"name": "gift cards", "flag": "gift_card"}],
  "multipliers": [{"name": "coffee", "category": "coffee", "per_mille": 2000}]})";
const std::string second_rules = R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 3}]})";

void write_rules(const std::filesystem::path& data_dir, const std::string& text) {
  std::ofstream(data_dir / "earning-rules.json", std::ios::binary | std::ios::trunc) << text;
}

std::string tag_of(const std::string& text) {
  auto rules = pc::node::rules::parse_rule_set(text);
  REQUIRE(rules);
  return rules->tag;
}

json coffee_and_gift_card(const std::string& customer) {
  return json{{"customer", customer},
              {"currency", "EUR"},
              {"lines", json::array({json{{"sku", "LATTE"}, {"category", "coffee"}, {"unit_price_minor", 4'200}},
                                     json{{"sku", "GC"}, {"unit_price_minor", 2'000}, {"flags", {"gift_card"}}}})}};
}

}  // namespace

TEST_CASE("a till quotes and earns with order lines, and the node reloads its rules on SIGHUP and reload_rules",
          "[e2e][rules]") {
  // Proves the RPC surface of the earning rules on the real binary: quote = earn with the
  // breakdown, the tag in the committed Issue's reference, SIGHUP and reload_rules taking a new
  // file without a restart, a bad file refused with its field named while the old rules stay.
  LiveNode node;
  node.stop();
  write_rules(node.data_dir(), first_rules);
  node.start();
  CHECK(node.output().find("earning rules") != std::string::npos);
  const std::string customer = pc::crypto::encode_address(pc::test::seeded_key("e2e rules customer").public_key());

  const json quoted = node.call("quote", coffee_and_gift_card(customer), node.bearer());
  CHECK(quoted["points"] == 84);
  CHECK(quoted["rules"]["tag"] == tag_of(first_rules));
  json earn_params = coffee_and_gift_card(customer);
  earn_params["order_id"] = "till-9-0001";
  const json earned = node.call("earn", earn_params, node.bearer());
  CHECK(earned["points"] == 84);
  CHECK(earned["breakdown"] == quoted["breakdown"]);
  CHECK(earned["reference"] == "till-9-0001~" + tag_of(first_rules));
  const json committed = node.wait_until_committed(earned["id"].get<std::string>());
  CHECK(committed.dump().find("till-9-0001~" + tag_of(first_rules)) != std::string::npos);

  // Without the token: refused like every partner method.
  CHECK(node.response("reload_rules", json::object())["error"]["code"] == 4001);

  write_rules(node.data_dir(), second_rules);
  REQUIRE(::kill(node.pid(), SIGHUP) == 0);
  const Deadline deadline(20s);
  json after;
  do {
    std::this_thread::sleep_for(50ms);
    after = node.call("quote", {{"customer", customer}, {"currency", "EUR"}, {"amount_minor", 1'000}}, node.bearer());
  } while (after["rules"]["tag"] != tag_of(second_rules) && !deadline.passed());
  CHECK(after["rules"]["tag"] == tag_of(second_rules));
  CHECK(after["points"] == 30);

  write_rules(node.data_dir(), R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 0}]})");
  const json refused = node.response("reload_rules", json::object(), node.bearer());
  REQUIRE(refused.contains("error"));
  CHECK(refused["error"]["code"] == 1106);
  CHECK(refused["error"]["message"].get<std::string>().find(
            "earning-rules.json: currencies[0]: points_per_unit must be an integer between 1 and 1000000") !=
        std::string::npos);
  write_rules(node.data_dir(), first_rules);
  CHECK(node.call("reload_rules", json::object(), node.bearer())["rules"]["tag"] == tag_of(first_rules));

  // Both amount_minor and lines: a params error naming the field.
  json both = coffee_and_gift_card(customer);
  both["amount_minor"] = 100;
  both["order_id"] = "both";
  CHECK(node.response("earn", both, node.bearer())["error"]["code"] == -32602);
  CHECK(node.stop().exited_with(0));
}
