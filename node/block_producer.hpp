// Builds a block from candidate transactions on top of the committed state: each candidate
// is applied in order, those that fail are left out (with their reason), the header is
// filled in and the commit signed. With one validator its signature is the whole commit;
// the consensus engine of the multi-partner network will gather the others instead.
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
// `changes` (their context gives the height and time), and signs the commit.
void seal_block(ledger::Block& block, const std::string& chain_id, const ledger::Tip& tip,
                const ledger::BlockChanges& changes, const ProposerIdentity& proposer);

// Preconditions: `tip` is the tip of `state` and time_ms > tip.time_ms.
ProducedBlock produce_block(const ledger::State& state, const ledger::Tip& tip,
                            std::span<const ledger::Transaction> candidates, std::uint64_t time_ms,
                            const ProposerIdentity& proposer, ledger::SignatureCheck check);

}  // namespace pc::node
