// Builds a block from candidate transactions on top of the committed state: each candidate
// is applied in order, those that fail are left out (with their reason), and the header is
// filled in for the round and proposer consensus gives it (the engine's BuildProposal). The
// block has no commit certificate: the engine's precommits make it once the block is decided.
#pragma once

#include <span>

#include "ledger/chain.hpp"
#include "ledger/merkle.hpp"

namespace pc::node {

struct ProducedBlock {
  ledger::Block block;
  ledger::BlockChanges changes;
  // (index into the candidates, why it was left out)
  std::vector<std::pair<std::size_t, ledger::Error>> rejected;
};

// Where consensus puts the block: the round it is first proposed in, and that round's proposer.
struct BlockSlot {
  std::uint32_t round = 0;
  ledger::PartnerId proposer = 0;
};

// Fills in the header of `block`, whose transactions were executed on top of `tip` into
// `changes` (their context gives the height and time). Leaves block.commit empty. Returns the
// block's Merkle tree as the store keeps it (stored_merkle_first_level), for its write.
ledger::MerkleTree seal_block(ledger::Block& block, const ledger::Genesis& genesis, const ledger::Tip& tip,
                const ledger::BlockChanges& changes, const BlockSlot& slot);

// Preconditions: `tip` is the tip of `state` and time_ms > tip.time_ms.
ProducedBlock build_block(const ledger::State& state, const ledger::Tip& tip,
                          std::span<const ledger::Transaction> candidates, std::uint64_t time_ms,
                          const BlockSlot& slot, ledger::SignatureCheck check);

}  // namespace pc::node
