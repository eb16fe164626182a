// A one-validator node (partner 1 of the test genesis) on a ManualClock, answering JSON-RPC
// through the dispatcher the HTTP server uses. It can be stopped and started again over its
// data dir, and two built alike are in the same state after the same calls.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "node/node.hpp"
#include "rpc/dispatcher.hpp"
#include "tests/fixtures.hpp"

namespace pc::test {

class DispatchedNode {
 public:
  static constexpr std::uint64_t interval_ms = 1'000;

  explicit DispatchedNode(rpc::DispatcherOptions options = {}, const GenesisOptions& genesis_options = {})
      : options_(std::move(options)), genesis_(make_genesis(genesis_options)), clock_(test_genesis_time_ms + 10'000) {
    config_.data_dir = dir_.path();
    config_.block_interval_ms = interval_ms;
    REQUIRE(ledger::ChainStore::create(dir_.path() / "chain", genesis_).ok());
    start();
  }
  ~DispatchedNode() { stop(); }
  DispatchedNode(const DispatchedNode&) = delete;
  DispatchedNode& operator=(const DispatchedNode&) = delete;

  void start() {
    node_ = std::make_unique<node::Node>(config_, genesis_, 1, seeded_key("partner 1 validator"),
                                         TxFactory::partner_issuer(1), clock_, workers_);
    dispatcher_ = std::make_unique<rpc::Dispatcher>(*node_, options_);
  }
  void stop() {
    dispatcher_.reset();
    node_.reset();
  }

  node::Node& node() { return *node_; }
  const ledger::Genesis& genesis() const { return genesis_; }

  void submit_all(const std::vector<ledger::Transaction>& txs) {
    for (const ledger::Transaction& tx : txs) REQUIRE(node_->submit(tx.bytes()));
  }
  // The next block, one interval later; its height.
  std::uint64_t produce() {
    clock_.advance_ms(interval_ms);
    const auto height = node_->produce_if_due();
    REQUIRE(height.has_value());
    return *height;
  }
  rpc::Reply handle(const std::string& body) { return dispatcher_->handle(body, "", "127.0.0.1"); }

 private:
  rpc::DispatcherOptions options_;
  TempDir dir_;
  ledger::Genesis genesis_;
  node::ManualClock clock_;
  node::NodeConfig config_;
  node::WorkerPool workers_{1, "pc-rpc-test"};
  std::unique_ptr<node::Node> node_;
  std::unique_ptr<rpc::Dispatcher> dispatcher_;
};

}  // namespace pc::test
