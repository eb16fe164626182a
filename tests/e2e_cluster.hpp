// A coalition of real pointchain-node processes on loopback for the end-to-end network
// tests: four partners, each with keys made by its own `init` and its own data dir, joined by
// node.json's "p2p" section, plus optional observers (`init --observer`). Members can be
// started, killed (SIGKILL) and stopped one by one; the data dirs stay, so a member restarts
// where it was. Every wait is bounded, and the processes die with the Cluster.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "ledger/genesis.hpp"
#include "tests/e2e_support.hpp"

namespace pc::test::e2e {

inline constexpr std::size_t cluster_partners = 4;

struct ClusterOptions {
  std::uint64_t block_interval_ms = 100;
  // Observers made by `init --observer`, members cluster_partners + 1, ...; each dials every
  // partner. The first `listed_observers` of them are in every partner's p2p.observer_keys.
  std::size_t observers = 0;
  std::size_t listed_observers = 0;
  // More keys every partner lists in p2p.observer_keys (a test's raw peer, say).
  std::vector<crypto::PublicKey> extra_observer_keys;
  // node.json p2p.limits of every member (empty: the defaults).
  nlohmann::json p2p_limits = nlohmann::json::object();
};

struct ClusterMember {
  std::filesystem::path data_dir;
  std::uint16_t rpc_port = 0;
  std::uint16_t p2p_port = 0;
  std::string bearer;  // partners only
  bool observer = false;
  crypto::PublicKey key{};  // its validator key: its node key on the network
  std::unique_ptr<Process> process;

  nlohmann::json call(const std::string& method, const nlohmann::json& params = nlohmann::json::object(),
                      const std::string& authorization = {}) const {
    return rpc_result(rpc_port, method, params, authorization);
  }
  std::uint64_t height() const { return call("chain_info").at("height").get<std::uint64_t>(); }
  // What the running process, or the last one, printed (stdout and stderr together).
  std::string output() const { return process ? process->stdout_text() : std::string(); }
};

class Cluster {
 public:
  explicit Cluster(const ClusterOptions& options = {});
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // `run` for member `index` (1..4 partners, then observers); returns once its RPC answers.
  void start(std::size_t index);
  void start_partners();
  // SIGKILL, as a crash or a pulled plug.
  void kill(std::size_t index);
  // SIGTERM; whether it exited with code 0.
  bool stop(std::size_t index);
  // `pointchain-node audit` of a stopped member's data dir.
  RunResult audit(std::size_t index) const;

  ClusterMember& member(std::size_t index) { return members_.at(index - 1); }
  const ledger::Genesis& genesis() const { return genesis_; }
  std::size_t size() const { return members_.size(); }

  // An earn at partner `partner` for a customer of its own; the id.
  std::string earn_at(std::size_t partner, const std::string& order_id);
  // earn_batch of `count` purchases at partner `partner` (order ids prefix-0, prefix-1, ...);
  // the ids of those earned.
  std::vector<std::string> earn_batch_at(std::size_t partner, std::size_t count, const std::string& prefix);
  // Whether each running member in `indexes` reports the transaction committed.
  bool committed_on(const std::vector<std::size_t>& indexes, const std::string& tx_id);
  // Every height up to the lowest tip among `indexes` holds the same block hash and state hash
  // on each (Catch2 CHECKs); returns that height.
  std::uint64_t check_identical_chains(const std::vector<std::size_t>& indexes);

 private:
  std::vector<std::string> init(const ClusterMember& member, std::size_t partner) const;
  SpawnOptions spawn() const;
  std::uint16_t distinct_port();

  TempDir dir_;
  std::filesystem::path genesis_path_;
  std::set<std::uint16_t> ports_;
  ledger::Genesis genesis_;
  std::vector<ClusterMember> members_;
  int orders_ = 0;
};

// Polls `condition` every 50 ms until it holds or `timeout` passes; whether it held.
bool eventually(const std::function<bool()>& condition, Milliseconds timeout = 60s);

}  // namespace pc::test::e2e
