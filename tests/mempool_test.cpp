// The mempool (node/mempool.hpp) over a real committed state: what stays pending and what is
// staged after a block that commits the first pending transactions in order, and after one
// that takes pending transactions out of order and spends what another needed; and that a copy
// of the staged changes is the block's while the mempool goes on staging.
#include <catch2/catch.hpp>

#include "node/mempool.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc;
using pc::test::TxFactory;

constexpr std::uint64_t points_each = 100;

std::vector<crypto::Hash256> pending_ids(const node::Mempool& mempool) {
  std::vector<crypto::Hash256> ids;
  for (const ledger::Transaction& tx : mempool.transactions()) ids.push_back(tx.id());
  return ids;
}

// The state hash of a block of `txs` at `time_ms` on `state`, executed afresh.
crypto::Hash256 executed_state_hash(const ledger::State& state, const std::vector<ledger::Transaction>& txs,
                                    std::uint64_t time_ms) {
  ledger::BlockExecutor executor(state, ledger::BlockContext{state.height() + 1, time_ms});
  for (const ledger::Transaction& tx : txs) REQUIRE(executor.apply(tx, ledger::SignatureCheck::verify).ok());
  return std::move(executor).finish().state_hash;
}

// A chain where customers 1 to 4 each hold points_each points of partner 1.
struct Fixture {
  pc::test::TestChain chain;
  Fixture() {
    std::vector<ledger::Transaction> issues;
    for (int i = 1; i <= 4; ++i) {
      issues.push_back(chain.txs.issue(1, TxFactory::customer(i).public_key(), points_each, "order-" + std::to_string(i)));
    }
    chain.commit_all(issues);
  }
  // Later than any block the chain commits (TestChain's blocks are 1 s apart).
  std::uint64_t now_ms() const { return chain.state().time_ms() + 10'000; }
  ledger::Transaction redeem(int customer, std::uint64_t points) {
    return chain.txs.redeem(TxFactory::customer(customer), 1, points);
  }
};

void admit_all(node::Mempool& mempool, const std::vector<ledger::Transaction>& txs, std::uint64_t now_ms) {
  for (const ledger::Transaction& tx : txs) REQUIRE(mempool.admit(tx, now_ms).ok());
}

}  // namespace

TEST_CASE("a copy of the staged changes is the block's, and the mempool goes on admitting", "[node][mempool]") {
  // Proves staged_changes(): its changes are those of executing the pending transactions as
  // one block at the staging time, and unlike take_staged() the mempool keeps its staging, so
  // a later admission applies on top and the staging then covers all three.
  Fixture fixture;
  const std::uint64_t now_ms = fixture.now_ms();
  node::Mempool mempool(fixture.chain.state(), node::MempoolLimits{}, now_ms);
  const ledger::Transaction first = fixture.redeem(1, 10);
  const ledger::Transaction second = fixture.redeem(2, 10);
  admit_all(mempool, {first, second}, now_ms);

  const ledger::BlockChanges copied = mempool.staged_changes();
  CHECK(copied.applied_count == 2);
  CHECK(copied.state_hash == executed_state_hash(fixture.chain.state(), {first, second}, mempool.staged_time_ms()));

  const ledger::Transaction third = fixture.redeem(3, 10);
  REQUIRE(mempool.admit(third, now_ms).ok());
  CHECK(mempool.size() == 3);
  const std::uint64_t staged_time_ms = mempool.staged_time_ms();
  const ledger::BlockChanges taken = mempool.take_staged();
  CHECK(taken.applied_count == 3);
  CHECK(taken.state_hash == executed_state_hash(fixture.chain.state(), {first, second, third}, staged_time_ms));
}

TEST_CASE("after a block of the first pending transactions in order, the rest stay pending and staged",
          "[node][mempool]") {
  // Proves revalidate() after a prefix commit: the block's transactions leave, the others
  // stay in arrival order with nothing dropped, and the staging is theirs on the new state.
  Fixture fixture;
  const std::uint64_t now_ms = fixture.now_ms();
  node::Mempool mempool(fixture.chain.state(), node::MempoolLimits{}, now_ms);
  const std::vector<ledger::Transaction> txs{fixture.redeem(1, 10), fixture.redeem(2, 10), fixture.redeem(3, 10),
                                             fixture.redeem(4, 10)};
  admit_all(mempool, txs, now_ms);

  fixture.chain.commit_all({txs[0], txs[1]});
  const std::uint64_t later_ms = fixture.now_ms();
  const auto dropped = mempool.revalidate({txs[0].id(), txs[1].id()}, later_ms);
  CHECK(dropped.empty());
  CHECK(pending_ids(mempool) == std::vector<crypto::Hash256>{txs[2].id(), txs[3].id()});
  CHECK(mempool.staged_time_ms() == later_ms);
  CHECK(mempool.take_staged().state_hash == executed_state_hash(fixture.chain.state(), {txs[2], txs[3]}, later_ms));
}

TEST_CASE("after a block that takes pending transactions out of order, one it outdates is dropped with its error",
          "[node][mempool]") {
  // Proves revalidate() after a block that is not a prefix of the pending order: the block
  // holds pending 3 and 2 (in that order) and a redeem of customer 1 from elsewhere with the
  // sequence that pending 1 also uses. Pending 1 is dropped with the error the chain now gives
  // it, pending 4 stays, and the staging is pending 4's alone.
  Fixture fixture;
  const std::uint64_t now_ms = fixture.now_ms();
  node::Mempool mempool(fixture.chain.state(), node::MempoolLimits{}, now_ms);
  TxFactory elsewhere;
  const ledger::Transaction rival = elsewhere.redeem(TxFactory::customer(1), 1, 95, "another reward");
  const std::vector<ledger::Transaction> txs{fixture.redeem(1, 10), fixture.redeem(2, 10), fixture.redeem(3, 10),
                                             fixture.redeem(4, 10)};
  admit_all(mempool, txs, now_ms);
  REQUIRE_FALSE(mempool.admit(rival, now_ms).ok());  // the sequence pending 1 uses

  fixture.chain.commit_all({rival, txs[2], txs[1]});
  const std::uint64_t later_ms = fixture.now_ms();
  const auto dropped = mempool.revalidate({rival.id(), txs[2].id(), txs[1].id()}, later_ms);
  REQUIRE(dropped.size() == 1);
  CHECK(dropped[0].first == txs[0].id());
  const ledger::Status now_refused = fixture.chain.try_apply(txs[0]);
  REQUIRE_FALSE(now_refused.ok());
  CHECK(dropped[0].second.code == now_refused.error().code);
  CHECK(pending_ids(mempool) == std::vector<crypto::Hash256>{txs[3].id()});
  CHECK(mempool.take_staged().state_hash == executed_state_hash(fixture.chain.state(), {txs[3]}, later_ms));
}
