// A partner's node under earning rules, in-process on a ManualClock, for the tests of the
// rules (tests/earning_rules_node_test.cpp, tests/referrals_test.cpp).
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "node/node.hpp"
#include "tests/fixtures.hpp"

namespace pc::test::rules_harness {

// 2026-11-29T23:00Z: Monday 30 Nov, 00:00 at UTC+1. A local day starts here.
constexpr std::uint64_t local_midnight_ms = 1'795'993'200'000;

// A one-validator node of partner 1 whose data dir holds `rules_text` as its rules file.
class RulesHarness {
 public:
  explicit RulesHarness(const std::string& rules_text, std::uint64_t start_ms = local_midnight_ms - 3'600'000,
                        const pc::test::GenesisOptions& genesis_options = {})
      : genesis_(pc::test::make_genesis(genesis_options)), clock_(start_ms) {
    config_.data_dir = dir_.path();
    REQUIRE(ledger::ChainStore::create(dir_.path() / "chain", genesis_).ok());
    write_rules(rules_text);
    node_ = std::make_unique<node::Node>(config_, genesis_, 1, pc::test::seeded_key("partner 1 validator"),
                                         pc::test::TxFactory::partner_issuer(1), clock_, workers_);
  }

  void write_rules(const std::string& text) {
    std::ofstream(dir_.path() / node::earning_rules_file_name, std::ios::binary | std::ios::trunc) << text;
  }
  std::filesystem::path rules_path() const { return dir_.path() / node::earning_rules_file_name; }

  node::Node& node() { return *node_; }
  node::ManualClock& clock() { return clock_; }
  const ledger::Genesis& genesis() const { return genesis_; }

  // The Issue committed or pending under `tx_id`.
  ledger::Issue issue(const ledger::Hash256& tx_id) {
    auto status = node_->transaction(tx_id);
    REQUIRE(status);
    return std::get<ledger::Issue>(status->tx.fields().body);
  }

 private:
  pc::test::TempDir dir_;
  ledger::Genesis genesis_;
  node::ManualClock clock_;
  node::NodeConfig config_;
  node::WorkerPool workers_{1, "pc-rules-test"};
  std::unique_ptr<node::Node> node_;
};

inline node::rules::Order coffee_order(std::int64_t price_minor) {
  return node::rules::Order{"EUR", {node::rules::OrderLine{"LATTE", "coffee", 1, price_minor, {}}}};
}

inline std::string tag_of(const std::string& text, const ledger::TierProgram& tiers = {}) {
  auto rules = node::rules::parse_rule_set(text, tiers);
  REQUIRE(rules);
  return rules->tag;
}

inline std::vector<std::string> summary(const node::rules::Breakdown& breakdown) {
  std::vector<std::string> out;
  for (const auto& contribution : breakdown.contributions) {
    out.push_back(contribution.rule + ":" + std::to_string(contribution.points));
  }
  return out;
}

}  // namespace pc::test::rules_harness
