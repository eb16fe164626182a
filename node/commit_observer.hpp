// Observers of committed blocks (Bitcoin Core's ValidationInterface shape): the history
// index, WebSocket subscriptions, and later analytics or webhooks each subscribe to "block
// committed" through this interface; the commit pipeline (node/commit_pipeline.hpp) calls
// them without knowing them by name.
#pragma once

#include <map>
#include <vector>

#include "ledger/block.hpp"
#include "ledger/state.hpp"

namespace pc::node {

// A committed block with its id, transaction ids and events, shared by the published
// snapshot (recent blocks) and the observers.
struct CommittedBlock {
  ledger::Block block;
  ledger::Hash256 block_hash{};
  std::vector<ledger::Hash256> ids;
  std::vector<ledger::Event> events;
  // The partners whose counters the block changed, with their counters after it: which
  // issuer's points a redemption consumed is known only here (the analytics index).
  std::map<ledger::PartnerId, ledger::PartnerStats> partners;
  std::vector<ledger::TierChange> tier_changes;  // protocol version 4: tiers that changed, in order
};

// Hears about every committed block once, in height order, after it is durable and
// published. Runs on the node's writer thread (CommitPipeline::add_observer) or behind it on
// the observer thread (node/observer_thread.hpp): either way it must never wait for the
// writer (no calls into the node that post to it).
class CommitObserver {
 public:
  virtual ~CommitObserver() = default;
  virtual void block_committed(const CommittedBlock& block) = 0;
};

}  // namespace pc::node
