// Four real pointchain-node processes, one per partner, each with its own keys made by
// `init` and its own data dir, joined over loopback TCP by node.json's "p2p" section, as a
// coalition runs on one machine: they connect, commit the same chain, and a transaction
// earned at a node that does not propose is committed on every node.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ledger/proposer.hpp"
#include "tests/e2e_cluster.hpp"

namespace {

using namespace pc;
using namespace pc::test::e2e;

}  // namespace

TEST_CASE("four pointchain-node processes on loopback commit identical chains, and an earn at a non-proposer commits",
          "[e2e][network]") {
  // Proves the wiring of `run` with a "p2p" section: four processes with their own keys
  // connect (each sees three peers), an earn at a node that is not height 1's round-0
  // proposer is committed on all four, and after earns at every node each height holds the
  // same block id and state hash on every node; each stops cleanly on SIGTERM.
  Cluster cluster;
  cluster.start_partners();
  const std::vector<std::size_t> all{1, 2, 3, 4};
  REQUIRE(eventually([&] {
    for (std::size_t partner : all) {
      if (cluster.member(partner).call("chain_info").at("consensus").at("peers") != cluster_partners - 1) return false;
    }
    return true;
  }));

  const ledger::PartnerId proposer = ledger::ProposerSchedule::for_height(cluster.genesis(), 1).proposer(0);
  const std::size_t other = proposer == 4 ? 3 : 4;
  INFO("height 1's round-0 proposer is partner " << proposer << "; the first earn went to partner " << other);
  const std::string first = cluster.earn_at(other, "order-0");
  REQUIRE(eventually([&] { return cluster.committed_on(all, first); }));

  std::vector<std::string> ids;
  for (std::size_t partner : all) ids.push_back(cluster.earn_at(partner, "order-" + std::to_string(partner)));
  REQUIRE(eventually([&] {
    for (const std::string& id : ids) {
      if (!cluster.committed_on(all, id)) return false;
    }
    return true;
  }));
  CHECK(cluster.check_identical_chains(all) >= 1);
  for (std::size_t partner : all) {
    INFO(cluster.member(partner).output());
    CHECK(cluster.stop(partner));
  }
}
