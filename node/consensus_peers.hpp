// Where this validator's consensus messages and newly admitted transactions go beyond itself.
// The writer hands every broadcast to its own engine as well (a validator counts its own
// votes by receiving them), so an implementation only reaches the other validators. With the
// network on, node::PeerProtocol (node/peer_protocol.hpp) implements it; without it,
// NoConsensusPeers, and a validator holding at most 2/3 of the power takes part in rounds but
// commits nothing.
//
// Thread-safety: send_to_all(), send_to() and transactions_admitted() are called on the
// node's writer thread and must not block on the network; connected_count() may be called
// from any thread.
#pragma once

#include <cstddef>
#include <vector>

#include "node/consensus/consensus.hpp"

namespace pc::node {

class ConsensusPeers {
 public:
  virtual ~ConsensusPeers() = default;
  // To every other validator (a broadcast).
  virtual void send_to_all(const consensus::Message& message) = 0;
  // To one validator (a decision for one that is behind).
  virtual void send_to(ledger::PartnerId validator, const consensus::Message& message) = 0;
  // Validators this node can reach now.
  virtual std::size_t connected_count() const = 0;
  // Transactions the mempool has just admitted (from a client, this partner's signing, or a
  // peer), so that they reach every validator.
  virtual void transactions_admitted(const std::vector<crypto::Hash256>& ids) { (void)ids; }
};

// No network yet: messages go nowhere.
class NoConsensusPeers final : public ConsensusPeers {
 public:
  void send_to_all(const consensus::Message&) override {}
  void send_to(ledger::PartnerId, const consensus::Message&) override {}
  std::size_t connected_count() const override { return 0; }
};

}  // namespace pc::node
