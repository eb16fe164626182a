// The real pointchain-node on a coalition genesis where it cannot commit alone: it starts
// (it used to refuse), says it has no peers, answers RPC, accepts transactions it cannot
// commit yet, and stops cleanly on SIGTERM, saying what was not committed.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "crypto/address.hpp"
#include "tests/e2e_support.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc::test::e2e;

}  // namespace

TEST_CASE("a validator holding 1/4 of the power runs, says it has no peers, and stops cleanly",
          "[e2e][consensus]") {
  // Proves `run` takes part in a four-validator genesis instead of refusing it: the start-up
  // log and chain_info say it cannot commit without peers, an earn is accepted and stays
  // pending while block intervals pass, /health answers, and SIGTERM ends it with exit code 0
  // and a count of the accepted transactions that were not committed.
  LiveNodeOptions options;
  options.other_validator_powers = {1, 1, 1};
  LiveNode node(options);

  const nlohmann::json info = node.call("chain_info");
  const nlohmann::json& consensus = info.at("consensus");
  CHECK(consensus.at("voting_power") == 1);
  CHECK(consensus.at("total_voting_power") == 4);
  CHECK(consensus.at("commits_alone") == false);
  CHECK(consensus.at("peers") == 0);
  CHECK(consensus.at("status").get<std::string>().find("no peers") != std::string::npos);
  // The banner follows the RPC server's start: wait for its last line.
  for (const Deadline deadline(10s); node.output().find("Stop with Ctrl-C") == std::string::npos && !deadline.passed();) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK(node.output().find("no peers are connected") != std::string::npos);

  const std::string customer = pc::crypto::encode_address(pc::test::seeded_key("e2e consensus customer").public_key());
  const nlohmann::json earned = node.call(
      "earn", {{"customer", customer}, {"amount_minor", 1'000}, {"currency", "EUR"}, {"order_id", "order-1"}},
      node.bearer());
  CHECK(earned.contains("id"));
  // Many block intervals (25 ms) and a propose timeout: still nothing committed.
  std::this_thread::sleep_for(1500ms);
  const nlohmann::json later = node.call("chain_info");
  CHECK(later.at("height") == 0);
  CHECK(later.at("pending_count") == 1);
  CHECK(http_request(node.port(), "GET", "/health").status == 200);

  const ExitStatus stopped = node.stop();
  CHECK(stopped.exited_with(0));
  CHECK(node.output().find("1 accepted transactions were not committed") != std::string::npos);
}
