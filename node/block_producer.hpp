// Builds a block from candidate transactions on top of the committed state: each candidate
// is applied in order, those that fail are left out (with their reason), the header is
// filled in and the commit signed. This is the path of a validator that holds more than 2/3
// of the voting power alone: it proposes in the first round the proposer schedule gives it
// at this height (round 0 with one validator) and its precommit for that round is the whole
// commit certificate. With several validators, node/consensus/ gathers the precommits.
#pragma once

#include <span>

#include "crypto/keys.hpp"
#include "ledger/chain.hpp"

namespace pc::node {

struct ProducedBlock {
  ledger::Block block;
  ledger::BlockChanges changes;
  // (index into the candidates, why it was left out)
  std::vector<std::pair<std::size_t, ledger::Error>> rejected;
};

struct ProposerIdentity {
  ledger::PartnerId partner = 0;
  const crypto::SecretKey* validator_key = nullptr;
};

// Fills in the header of `block`, whose transactions were executed on top of `tip` into
// `changes` (their context gives the height and time), in this proposer's first round of the
// schedule, and signs the round's commit certificate.
void seal_block(ledger::Block& block, const ledger::Genesis& genesis, const ledger::Tip& tip,
                const ledger::BlockChanges& changes, const ProposerIdentity& proposer);

// Preconditions: `tip` is the tip of `state` and time_ms > tip.time_ms.
ProducedBlock produce_block(const ledger::State& state, const ledger::Tip& tip,
                            std::span<const ledger::Transaction> candidates, std::uint64_t time_ms,
                            const ProposerIdentity& proposer, ledger::SignatureCheck check);

}  // namespace pc::node
