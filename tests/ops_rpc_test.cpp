// What an operator asks a node over RPC (docs/rpc.md, "Operating a coalition"): net_info,
// consensus_state and GET /metrics, through the Dispatcher on an in-process node driven by a
// ManualClock, with a recording ConsensusPeers standing in for the network. The values come
// from the real engine, transport joins and commit path: the tests check that they change as
// the node votes and commits.
#include <catch2/catch.hpp>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ledger/proposer.hpp"
#include "node/consensus_peers.hpp"
#include "node/network_info.hpp"
#include "node/node.hpp"
#include "rpc/dispatcher.hpp"
#include "rpc/metrics.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc;
using nlohmann::json;
using pc::test::TxFactory;

constexpr std::uint64_t interval_ms = 1'000;

class SilentPeers final : public node::ConsensusPeers {
 public:
  void send_to_all(const consensus::Message&) override {}
  void send_to(ledger::PartnerId, const consensus::Message&) override {}
  std::size_t connected_count() const override { return 0; }
};

// Partner 1 of a genesis with the given voting powers, with a dispatcher in front.
class OpsNode {
 public:
  explicit OpsNode(std::vector<std::uint64_t> powers, std::function<node::NetworkInfo()> network = {})
      : genesis_(test::make_genesis({.partners = powers.size(), .voting_powers = powers})),
        clock_(test::test_genesis_time_ms + 10'000) {
    config_.data_dir = dir_.path();
    config_.block_interval_ms = interval_ms;
    REQUIRE(ledger::ChainStore::create(dir_.path() / "chain", genesis_).ok());
    node_ = std::make_unique<node::Node>(config_, genesis_, 1, test::seeded_key("partner 1 validator"),
                                         TxFactory::partner_issuer(1), clock_, workers_, node::StorageOptions{},
                                         &peers_);
    rpc::DispatcherOptions options;
    options.network_info = std::move(network);
    dispatcher_ = std::make_unique<rpc::Dispatcher>(*node_, options);
  }

  node::Node& node() { return *node_; }
  node::ManualClock& clock() { return clock_; }
  const ledger::Genesis& genesis() const { return genesis_; }

  json result(const std::string& method) {
    const json request{{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}};
    const rpc::Reply reply = dispatcher_->handle(request.dump(), "", "127.0.0.1");
    REQUIRE(reply.status == 200);
    const json answer = json::parse(reply.body);
    INFO(answer.dump());
    REQUIRE(answer.contains("result"));
    return answer["result"];
  }
  std::string metrics() {
    const rpc::Reply reply = dispatcher_->metrics("127.0.0.1");
    REQUIRE(reply.status == 200);
    return reply.body;
  }

  void submit_one() {
    const auto customer = TxFactory::customer(static_cast<int>(++submitted_));
    REQUIRE(node_->submit(txs_.issue(1, customer.public_key(), 10, "order-" + std::to_string(submitted_)).bytes()));
  }
  // Moves the clock 100 ms at a time until a block commits or `limit_ms` pass.
  std::optional<std::uint64_t> run_for(std::uint64_t limit_ms) {
    for (std::uint64_t waited = 0; waited < limit_ms; waited += 100) {
      clock_.advance_ms(100);
      if (auto height = node_->produce_if_due()) return height;
    }
    return std::nullopt;
  }

 private:
  test::TempDir dir_;
  ledger::Genesis genesis_;
  node::ManualClock clock_;
  node::NodeConfig config_;
  node::WorkerPool workers_{1, "pc-ops-test"};
  SilentPeers peers_;
  TxFactory txs_;
  std::size_t submitted_ = 0;
  std::unique_ptr<node::Node> node_;
  std::unique_ptr<rpc::Dispatcher> dispatcher_;
};

ledger::Vote signed_vote(const ledger::Genesis& genesis, ledger::PartnerId validator, ledger::VoteType type,
                         std::uint64_t height, std::uint32_t round, std::optional<ledger::Hash256> block_id) {
  ledger::Vote vote{type, genesis.chain_id, height, round, block_id, validator, {}};
  vote.signature = test::seeded_key("partner " + std::to_string(validator) + " validator").sign(vote.sign_bytes());
  return vote;
}

// The samples of a Prometheus text exposition by "name{labels}", checking its grammar on the
// way: every sample belongs to a family whose # TYPE came first, and every value is an integer.
std::map<std::string, std::uint64_t> parse_exposition(const std::string& text) {
  std::map<std::string, std::uint64_t> samples;
  std::map<std::string, std::string> types;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    INFO("line: " << line);
    REQUIRE_FALSE(line.empty());
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream fields(line.substr(7));
      std::string name;
      std::string type;
      fields >> name >> type;
      CHECK((type == "gauge" || type == "counter" || type == "histogram"));
      CHECK(types.emplace(name, type).second);
      continue;
    }
    const std::size_t space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    const std::string series = line.substr(0, space);
    const std::string value = line.substr(space + 1);
    REQUIRE(value.find_first_not_of("0123456789") == std::string::npos);
    std::string family = series.substr(0, series.find('{'));
    for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
      if (!family.ends_with(suffix)) continue;
      const std::string base = family.substr(0, family.size() - suffix.size());
      if (types.contains(base) && types.at(base) == "histogram") family = base;
    }
    CHECK(types.contains(family));
    CHECK(samples.emplace(series, std::stoull(value)).second);
  }
  return samples;
}

}  // namespace

TEST_CASE("consensus_state shows the engine's height, round, step and who has voted with their power",
          "[rpc][consensus][ops]") {
  // Proves consensus_state reads the engine: a 1-of-4 validator at rest is at height 1, round
  // 0, propose, with no votes; once it proposes it lists its own prevote; the prevotes of
  // partners 2 and 3 for its block show with their power, and with 3 of 4 it precommits, which
  // shows too. A vote whose signature fails is not counted.
  OpsNode harness({1, 1, 1, 1});
  REQUIRE(ledger::ProposerSchedule::for_height(harness.genesis(), 1).proposer(0) == 1);
  json state = harness.result("consensus_state");
  CHECK(state["height"] == 1);
  CHECK(state["round"] == 0);
  CHECK(state["step"] == "propose");
  CHECK(state["decided"] == false);
  CHECK(state["total_voting_power"] == 4);
  CHECK(state["quorum_power"] == 3);
  CHECK(state["prevotes"] == json{{"power", 0}, {"votes", json::array()}});

  harness.submit_one();
  CHECK_FALSE(harness.run_for(interval_ms).has_value());
  state = harness.result("consensus_state");
  CHECK(state["step"] == "prevote");
  REQUIRE(state["prevotes"]["votes"].size() == 1);
  const json own = state["prevotes"]["votes"][0];
  CHECK(own["validator"] == 1);
  CHECK(own["name"] == harness.genesis().partner(1)->name);
  CHECK(own["voting_power"] == 1);
  REQUIRE(own["block_id"].is_string());
  const auto block_id = fixed_from_hex<32>(own["block_id"].get<std::string>());
  REQUIRE(block_id.has_value());

  ledger::Vote forged = signed_vote(harness.genesis(), 4, ledger::VoteType::prevote, 1, 0, *block_id);
  forged.signature[0] ^= 1;
  REQUIRE(harness.node().receive_consensus_message(forged));
  REQUIRE(harness.node().receive_consensus_message(
      signed_vote(harness.genesis(), 2, ledger::VoteType::prevote, 1, 0, *block_id)));
  state = harness.result("consensus_state");
  CHECK(state["prevotes"]["power"] == 2);
  CHECK(state["prevotes"]["votes"].size() == 2);
  CHECK(state["precommits"]["power"] == 0);

  REQUIRE(harness.node().receive_consensus_message(
      signed_vote(harness.genesis(), 3, ledger::VoteType::prevote, 1, 0, *block_id)));
  state = harness.result("consensus_state");
  CHECK(state["prevotes"]["power"] == 3);
  CHECK(state["step"] == "precommit");
  REQUIRE(state["precommits"]["votes"].size() == 1);
  CHECK(state["precommits"]["votes"][0]["validator"] == 1);
  CHECK(state["precommits"]["votes"][0]["block_id"] == own["block_id"]);
  CHECK(harness.node().chain_info().tip.height == 0);
}

TEST_CASE("net_info joins each peer's link counters with its reported tip, and says when there is no network",
          "[rpc][p2p][ops]") {
  // Proves the join of node::network_info (connection ids shared by the transport and the
  // protocol; a connection only one side knows is left out; the sync target is the highest
  // reported tip), the protocol's messages sent by type, and net_info's JSON, including a
  // node without a p2p section.
  OpsNode alone({1});
  const json off = alone.result("net_info");
  CHECK(off["enabled"] == false);
  CHECK(off["peers"] == json::array());
  CHECK(off["sync"] == json{{"target_height", 0}, {"behind", 0}, {"blocks_synced", 0}});

  node::p2p::ConnectionStats link_to_2{7, {2, {}, true, "127.0.0.1:7703"}, 500, 600, 5, 6, 1'700'000'000'000};
  node::p2p::ConnectionStats link_to_3{9, {3, {}, false, "127.0.0.1:40000"}, 50, 60, 1, 2, 1'700'000'000'500};
  node::p2p::ConnectionStats handshaking{11, {4, {}, false, "127.0.0.1:40001"}, 10, 10, 0, 0, 0};
  node::PeerInfo peer_2;
  peer_2.connection = 7;
  peer_2.status_known = true;
  peer_2.status.tip_height = 12;
  node::PeerInfo peer_3;
  peer_3.connection = 9;
  node::PeerProtocolStats stats;
  stats.blocks_synced = 4;
  stats.sent_by_type[static_cast<std::size_t>(node::PeerMessageType::tx_deliver) - 1] = {3, 1'000};
  const node::NetworkInfo network = node::network_info(7701, {link_to_3, handshaking, link_to_2}, {peer_2, peer_3}, stats);
  REQUIRE(network.peers.size() == 2);
  CHECK(network.peers[0].partner == 2);
  CHECK(network.peers[1].partner == 3);
  CHECK(network.sync_target_height == 12);

  OpsNode networked({1, 1, 1, 1}, [network] { return network; });
  const json info = networked.result("net_info");
  CHECK(info["enabled"] == true);
  CHECK(info["listen_port"] == 7701);
  CHECK(info["height"] == 0);
  CHECK(info["sync"] == json{{"target_height", 12}, {"behind", 12}, {"blocks_synced", 4}});
  // What the node sent, by message type: every type is listed, by its name.
  REQUIRE(info["sent"].size() == node::peer_message_type_count);
  CHECK(info["sent"]["tx_deliver"] == json{{"messages", 3}, {"bytes", 1'000}});
  CHECK(info["sent"]["vote"] == json{{"messages", 0}, {"bytes", 0}});
  REQUIRE(info["peers"].size() == 2);
  CHECK(info["peers"][0] == json{{"partner", 2},
                                 {"name", networked.genesis().partner(2)->name},
                                 {"address", "127.0.0.1:7703"},
                                 {"direction", "out"},
                                 {"height", 12},
                                 {"bytes_in", 500},
                                 {"bytes_out", 600},
                                 {"messages_in", 5},
                                 {"messages_out", 6},
                                 {"last_seen_ms", 1'700'000'000'000}});
  CHECK(info["peers"][1]["direction"] == "in");
  CHECK(info["peers"][1]["height"] == nullptr);

  // The same figures in /metrics, labelled by partner.
  const auto samples = parse_exposition(networked.metrics());
  CHECK(samples.at("pointchain_peers") == 2);
  CHECK(samples.at("pointchain_sync_target_height") == 12);
  CHECK(samples.at("pointchain_sync_behind_blocks") == 12);
  CHECK(samples.at("pointchain_peer_bytes_received_total{partner=\"2\"}") == 500);
  CHECK(samples.at("pointchain_peer_bytes_sent_total{partner=\"3\"}") == 60);
  CHECK(samples.at("pointchain_peer_messages_received_total{partner=\"3\"}") == 1);
  CHECK(samples.at("pointchain_peer_messages_sent_total{partner=\"2\"}") == 6);
  CHECK(samples.at("pointchain_peer_height{partner=\"2\"}") == 12);
}

TEST_CASE("/metrics is a valid exposition whose height, mempool and commit histograms move as blocks commit",
          "[rpc][metrics][ops]") {
  // Proves the figures follow the commit path: before any block the height is 0 and the
  // histograms are empty; a pending transaction shows in the mempool gauge; after two commits
  // the height is 2, each histogram counted two blocks, the interval sum is the second block's
  // time minus the genesis time, and the latency sum is what the node's clock says it was.
  OpsNode harness({1});
  auto samples = parse_exposition(harness.metrics());
  CHECK(samples.at("pointchain_height") == 0);
  CHECK(samples.at("pointchain_consensus_height") == 1);
  CHECK(samples.at("pointchain_peers") == 0);
  CHECK(samples.at("pointchain_commit_latency_ms_count") == 0);
  CHECK(samples.at("pointchain_block_interval_ms_bucket{le=\"+Inf\"}") == 0);

  harness.submit_one();
  CHECK(parse_exposition(harness.metrics()).at("pointchain_mempool_transactions") == 1);
  std::uint64_t latency_ms = 0;
  for (std::uint64_t height = 1; height <= 2; ++height) {
    if (height > 1) harness.submit_one();
    REQUIRE(harness.run_for(5 * interval_ms) == height);
    latency_ms += harness.clock().now_ms() - harness.node().block_at(height)->header.time_ms;
  }
  samples = parse_exposition(harness.metrics());
  CHECK(samples.at("pointchain_height") == 2);
  CHECK(samples.at("pointchain_mempool_transactions") == 0);
  CHECK(samples.at("pointchain_blocks_decided_total") == 2);
  CHECK(samples.at("pointchain_blocks_synced_total") == 0);
  CHECK(samples.at("pointchain_rounds_per_height_bucket{le=\"1\"}") == 2);
  CHECK(samples.at("pointchain_rounds_per_height_sum") == 2);
  CHECK(samples.at("pointchain_commit_latency_ms_count") == 2);
  CHECK(samples.at("pointchain_commit_latency_ms_sum") == latency_ms);
  CHECK(samples.at("pointchain_block_interval_ms_count") == 2);
  CHECK(samples.at("pointchain_block_interval_ms_sum") ==
        harness.node().block_at(2)->header.time_ms - harness.genesis().genesis_time_ms);
  // Buckets are cumulative and end with every observation.
  CHECK(samples.at("pointchain_block_interval_ms_bucket{le=\"10\"}") <=
        samples.at("pointchain_block_interval_ms_bucket{le=\"60000\"}"));
  CHECK(samples.at("pointchain_block_interval_ms_bucket{le=\"+Inf\"}") == 2);
}
