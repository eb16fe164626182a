// Faults in a coalition of four real pointchain-node processes on loopback (tests/e2e_cluster.hpp):
// an observer that follows and audits the chain, a validator killed under load and restarted,
// two of four stopped, hostile connections (another genesis, a key outside the coalition, a
// tampered frame) and a peer that stops reading. Blocks come every 100 ms and the loads are
// small, so each test takes seconds; every wait is bounded and fails the test.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "node/p2p/wire.hpp"
#include "node/peer_messages.hpp"
#include "tests/e2e_cluster.hpp"
#include "tests/raw_p2p_peer.hpp"

namespace {

using namespace pc;
using namespace pc::test::e2e;

const std::vector<std::size_t> all_partners{1, 2, 3, 4};

bool all_connected(Cluster& cluster, const std::vector<std::size_t>& partners) {
  for (std::size_t partner : partners) {
    if (cluster.member(partner).call("chain_info").at("consensus").at("peers") != partners.size() - 1) return false;
  }
  return true;
}

bool all_committed(Cluster& cluster, const std::vector<std::size_t>& members, const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    if (!cluster.committed_on(members, id)) return false;
  }
  return true;
}

bool logged(const ClusterMember& member, const std::string& text) {
  return member.output().find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("an observer follows the coalition and audits clean, an observer key not listed is refused",
          "[e2e][network][observer]") {
  // Proves observer mode: a node made by `init --observer`, whose key every partner lists,
  // syncs each block the four commit (verified as the audit verifies it) and answers
  // read-only RPC, refuses partner methods, has no voting power, and its data dir audits
  // clean with the partners' tip. A second observer, listed nowhere, is refused by every
  // partner and stays at height 0.
  ClusterOptions options;
  options.observers = 2;
  options.listed_observers = 1;
  Cluster cluster(options);
  cluster.start_partners();
  cluster.start(5);
  cluster.start(6);
  REQUIRE(eventually([&] { return all_connected(cluster, all_partners); }));
  std::vector<std::string> ids;
  for (int round = 0; round < 3; ++round) {
    for (std::size_t partner : all_partners) {
      ids.push_back(cluster.earn_at(partner, "observed-" + std::to_string(round) + "-" + std::to_string(partner)));
    }
    REQUIRE(eventually([&] { return all_committed(cluster, all_partners, ids); }));
  }
  const std::uint64_t height = cluster.member(1).height();
  ClusterMember& observer = cluster.member(5);
  INFO(observer.output());
  REQUIRE(eventually([&] { return observer.height() >= height; }));
  CHECK(all_committed(cluster, {5}, ids));
  const nlohmann::json info = observer.call("chain_info");
  CHECK(info.at("partner") == 0);
  CHECK(info.at("consensus").at("voting_power") == 0);
  const nlohmann::json earn = rpc_response(
      observer.rpc_port, "earn", {{"customer", "x"}, {"amount_minor", 100}, {"currency", "EUR"}, {"order_id", "o"}},
      cluster.member(1).bearer);
  CHECK(earn.contains("error"));
  CHECK(cluster.check_identical_chains({1, 2, 3, 4, 5}) >= height);
  CHECK(logged(observer, "observer   key"));
  REQUIRE(eventually([&] { return observer.height() == cluster.member(1).height(); }));
  const nlohmann::json tip = cluster.member(1).call("chain_info");
  const std::string expected_tip = "tip: height " + std::to_string(tip.at("height").get<std::uint64_t>()) + ", block " +
                                   tip.at("block_hash").get<std::string>();

  ClusterMember& stranger = cluster.member(6);
  CHECK(eventually([&] { return logged(cluster.member(1), "is not listed in this node's p2p observer_keys"); }));
  CHECK(stranger.height() == 0);

  REQUIRE(cluster.stop(5));
  const RunResult audit = cluster.audit(5);
  INFO(audit.out);
  CHECK(audit.status.exited_with(0));
  CHECK(audit.out.find("audit: OK") != std::string::npos);
  CHECK(audit.out.find(expected_tip) != std::string::npos);
}

TEST_CASE("a validator killed under load is not missed, and restarted it catches up and audits clean",
          "[e2e][network][fault]") {
  // Proves crash tolerance: SIGKILL of one of four validators, while earns arrive, leaves
  // three (more than 2/3 of the power) committing; restarted on its data dir, the fourth
  // syncs what it missed from its peers, commits a new earn with the others, ends with their
  // chain (same block and state hash at every height) and its data dir audits clean.
  Cluster cluster;
  cluster.start_partners();
  REQUIRE(eventually([&] { return all_connected(cluster, all_partners); }));
  std::vector<std::string> ids{cluster.earn_at(1, "before-kill")};
  REQUIRE(eventually([&] { return all_committed(cluster, all_partners, ids); }));
  const std::uint64_t before = cluster.member(1).height();

  cluster.kill(4);
  for (int round = 0; round < 4; ++round) {
    for (std::size_t partner = 1; partner <= 3; ++partner) {
      ids.push_back(cluster.earn_at(partner, "while-down-" + std::to_string(round) + "-" + std::to_string(partner)));
    }
  }
  REQUIRE(eventually([&] { return all_committed(cluster, {1, 2, 3}, ids); }));
  const std::uint64_t while_down = cluster.member(1).height();
  CHECK(while_down > before);

  cluster.start(4);
  ClusterMember& restarted = cluster.member(4);
  INFO(restarted.output());
  REQUIRE(eventually([&] { return restarted.height() >= while_down; }));
  CHECK(all_committed(cluster, {4}, ids));
  ids.push_back(cluster.earn_at(4, "after-restart"));
  REQUIRE(eventually([&] { return all_committed(cluster, all_partners, ids); }));
  REQUIRE(eventually([&] {
    const std::uint64_t tip = cluster.member(1).height();
    return restarted.height() == tip;
  }));
  const std::uint64_t common = cluster.check_identical_chains(all_partners);
  CHECK(common > while_down);
  const nlohmann::json tip = cluster.member(1).call("chain_info");
  const std::string expected_tip = "tip: height " + std::to_string(tip.at("height").get<std::uint64_t>()) + ", block " +
                                   tip.at("block_hash").get<std::string>();

  REQUIRE(cluster.stop(4));
  const RunResult audit = cluster.audit(4);
  INFO(audit.out);
  CHECK(audit.status.exited_with(0));
  CHECK(audit.out.find("audit: OK") != std::string::npos);
  // No earn came after: the others' tip then is still the tip, and the restarted node's.
  CHECK(audit.out.find(expected_tip) != std::string::npos);
}

TEST_CASE("with two of four validators stopped no block commits and nothing forks, one back and the chain resumes",
          "[e2e][network][fault]") {
  // Proves safety and liveness at the 2/3 line with real processes: two validators hold half
  // the power, so an earn accepted by one of them stays pending and the height does not move
  // over many block intervals, the two hold the same chain; with a third back the earn commits.
  Cluster cluster;
  cluster.start_partners();
  REQUIRE(eventually([&] { return all_connected(cluster, all_partners); }));
  const std::string first = cluster.earn_at(2, "before-stop");
  REQUIRE(eventually([&] { return cluster.committed_on(all_partners, first); }));
  REQUIRE(cluster.stop(3));
  REQUIRE(cluster.stop(4));

  const std::uint64_t height = cluster.member(1).height();
  const std::string stuck = cluster.earn_at(1, "while-half-down");
  // 20 block intervals of 100 ms: a block would have been due many times over.
  std::this_thread::sleep_for(2s);
  CHECK(cluster.member(1).height() == height);
  CHECK(cluster.member(2).height() == height);
  CHECK_FALSE(cluster.committed_on({1}, stuck));
  CHECK(cluster.check_identical_chains({1, 2}) == height);

  cluster.start(3);
  REQUIRE(eventually([&] { return cluster.committed_on({1, 2, 3}, stuck); }));
  CHECK(cluster.member(1).height() > height);
  cluster.check_identical_chains({1, 2, 3});
}

TEST_CASE("another genesis, a key outside the coalition and a tampered frame are refused, the coalition commits on",
          "[e2e][network][fault]") {
  // Proves a node's defences against hostile connections, each from a raw socket at partner
  // 1's p2p port: a hello with another genesis hash, an Auth by a key no partner has, and,
  // after a handshake that succeeds (a listed observer key), a frame with one flipped byte.
  // Partner 1 logs each refusal or disconnection by reason, and the four keep their links
  // and commit an earn made afterwards.
  const crypto::SecretKey raw_key = pc::test::seeded_key("e2e raw observer");
  ClusterOptions options;
  options.extra_observer_keys = {raw_key.public_key()};
  Cluster cluster(options);
  cluster.start_partners();
  REQUIRE(eventually([&] { return all_connected(cluster, all_partners); }));
  const std::uint16_t port = cluster.member(1).p2p_port;

  ledger::Genesis other = cluster.genesis();
  other.chain_id = "another-chain";
  {
    pc::test::RawPeer peer(port);
    CHECK_FALSE(peer.handshake(other, raw_key, 0));
  }
  {
    pc::test::RawPeer peer(port);
    // Both sides send their Auth at once, so partner 1's may arrive before it refuses ours.
    (void)peer.handshake(cluster.genesis(), pc::test::seeded_key("e2e stranger"), 2);
    CHECK(peer.closed_by_peer());
  }
  {
    pc::test::RawPeer peer(port);
    REQUIRE(peer.handshake(cluster.genesis(), raw_key, 0));
    const node::StatusMessage status{0, cluster.genesis().hash(), 1, 0};
    auto frame = peer.sealer().seal(node::p2p::FrameKind::message, node::encode_peer_message(status));
    REQUIRE(frame.ok());
    (*frame)[node::p2p::frame_length_prefix_bytes + 2] ^= 0x01;
    peer.write(*frame);
    CHECK(peer.closed_by_peer());
  }
  ClusterMember& first = cluster.member(1);
  INFO(first.output());
  CHECK(eventually([&] { return logged(first, "another genesis"); }));
  CHECK(eventually([&] { return logged(first, "is not in the coalition (it claims partner 2)"); }));
  CHECK(eventually([&] { return logged(first, "frame fails authentication"); }));

  const std::string after = cluster.earn_at(1, "after-hostile-peers");
  REQUIRE(eventually([&] { return cluster.committed_on(all_partners, after); }));
  CHECK(all_connected(cluster, all_partners));
}

TEST_CASE("a peer that stops reading is disconnected at its send queue limit and stalls no one",
          "[e2e][network][fault]") {
  // Proves a slow reader cannot hold a node up: a raw observer connection to partner 1 asks
  // for block ranges again and again but never reads the answers. Partner 1's send queue to
  // it reaches p2p.limits.send_queue_bytes_max (its smallest allowed value here) and partner
  // 1 drops it; meanwhile and afterwards the four keep committing.
  const crypto::SecretKey raw_key = pc::test::seeded_key("e2e slow reader");
  ClusterOptions options;
  options.extra_observer_keys = {raw_key.public_key()};
  options.p2p_limits = {{"send_queue_bytes_max", node::p2p::frame_bytes_max}};
  Cluster cluster(options);
  cluster.start_partners();
  REQUIRE(eventually([&] { return all_connected(cluster, all_partners); }));
  // Large blocks, so that each range answered is large: a few batches of 1000 earns.
  std::vector<std::string> ids;
  for (int batch = 0; batch < 3; ++batch) {
    const std::vector<std::string> earned =
        cluster.earn_batch_at(1 + static_cast<std::size_t>(batch), 1'000, "bulk-" + std::to_string(batch));
    ids.insert(ids.end(), earned.begin(), earned.end());
  }
  REQUIRE(ids.size() == 3'000);
  REQUIRE(eventually([&] { return cluster.committed_on(all_partners, ids.back()); }));

  ClusterMember& first = cluster.member(1);
  INFO(first.output());
  pc::test::RawPeer peer(first.p2p_port, std::chrono::seconds(5), 4'096);
  REQUIRE(peer.handshake(cluster.genesis(), raw_key, 0));
  const Bytes request = node::encode_peer_message(node::BlocksRequest{1, node::blocks_per_range_max});
  bool refused = false;
  std::vector<std::string> during;
  // Paced below the node's per-peer inbound bound; bounded in rounds.
  for (int round = 0; round < 400 && !refused; ++round) {
    for (int i = 0; i < 10 && !refused; ++i) {
      auto frame = peer.sealer().seal(node::p2p::FrameKind::message, request);
      REQUIRE(frame.ok());
      refused = !peer.try_write(*frame);
    }
    if (round % 50 == 0) during.push_back(cluster.earn_at(2, "during-" + std::to_string(round)));
    refused = refused || logged(first, "send queue over");
    std::this_thread::sleep_for(20ms);
  }
  CHECK(eventually([&] { return logged(first, "send queue over"); }));
  CHECK(eventually([&] { return all_committed(cluster, all_partners, during); }));
  const std::string after = cluster.earn_at(1, "after-slow-reader");
  CHECK(eventually([&] { return cluster.committed_on(all_partners, after); }));
  CHECK(all_connected(cluster, all_partners));
}
