// Evidence through the node and JSON-RPC: Node::record_evidence keeps it in the chain store
// (once, across restarts), and get_evidence pages it with a cursor and typed errors.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/dispatched_node.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc;
using nlohmann::json;

// The shared one-validator node, with get_evidence called through its dispatcher.
class EvidenceNode : public test::DispatchedNode {
 public:
  json call(const json& params) {
    const json request{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "get_evidence"}, {"params", params}};
    const rpc::Reply reply = handle(request.dump());
    REQUIRE(reply.status == 200);
    return json::parse(reply.body);
  }
};

ledger::Evidence equivocation(const ledger::Genesis& genesis, std::uint64_t height, std::uint32_t round) {
  const crypto::SecretKey key = test::seeded_key("partner 1 validator");
  ledger::Vote a{ledger::VoteType::precommit, test::test_chain_id, height, round,
                 crypto::sha256(as_bytes(std::string_view("a"))), 1, {}};
  a.signature = key.sign(a.sign_bytes());
  ledger::Vote b = a;
  b.block_id = crypto::sha256(as_bytes(std::string_view("b")));
  b.signature = key.sign(b.sign_bytes());
  auto evidence = ledger::make_evidence(genesis, a, b);
  REQUIRE(evidence.ok());
  return std::move(evidence).value();
}

}  // namespace

TEST_CASE("evidence recorded by the node is shown by get_evidence, once, and survives a restart",
          "[node][rpc][evidence]") {
  // Proves the path the consensus driver takes: Node::record_evidence keeps a new equivocation
  // (true), answers false for the same one again, and get_evidence shows it after the node
  // restarts, paged in key order with a next_cursor that continues where the page ended.
  EvidenceNode harness;
  CHECK(harness.call(json::object())["result"] == json{{"evidence", json::array()}, {"next_cursor", nullptr}});
  for (std::uint32_t round = 0; round < 3; ++round) {
    REQUIRE(harness.node().record_evidence(equivocation(harness.genesis(), 5, round)).value() == true);
  }
  CHECK(harness.node().record_evidence(equivocation(harness.genesis(), 5, 1)).value() == false);
  harness.stop();
  harness.start();

  const json first = harness.call({{"limit", 2}});
  REQUIRE(first.contains("result"));
  REQUIRE(first["result"]["evidence"].size() == 2);
  CHECK(first["result"]["evidence"][0]["height"] == 5);
  CHECK(first["result"]["evidence"][0]["round"] == 0);
  CHECK(first["result"]["evidence"][1]["round"] == 1);
  CHECK(first["result"]["evidence"][0]["type"] == "precommit");
  CHECK(first["result"]["evidence"][0]["validator"] == 1);
  CHECK(first["result"]["evidence"][0]["hex"] == to_hex(equivocation(harness.genesis(), 5, 0).encode()));
  REQUIRE(first["result"]["next_cursor"].is_string());
  const json rest = harness.call({{"cursor", first["result"]["next_cursor"]}, {"limit", 2}});
  REQUIRE(rest["result"]["evidence"].size() == 1);
  CHECK(rest["result"]["evidence"][0]["round"] == 2);
  CHECK(rest["result"]["next_cursor"].is_null());
}

TEST_CASE("get_evidence refuses bad params with -32602 and node refuses evidence that proves nothing",
          "[node][rpc][evidence]") {
  // Proves the typed errors: a limit of 0 or over 100, a cursor that is not 15 bytes of hex,
  // an unknown field; and Node::record_evidence refuses a forged pair, storing nothing.
  EvidenceNode harness;
  for (const json& params : {json{{"limit", 0}}, json{{"limit", 101}}, json{{"cursor", "00"}},
                             json{{"cursor", "zz"}}, json{{"height", 1}}}) {
    INFO(params.dump());
    CHECK(harness.call(params)["error"]["code"] == -32602);
  }
  ledger::Evidence forged = equivocation(harness.genesis(), 2, 0);
  forged.first.signature[0] ^= 0x01;
  CHECK(harness.node().record_evidence(forged).error().code == ledger::Code::bad_signature);
  CHECK(harness.call(json::object())["result"]["evidence"].empty());
}
