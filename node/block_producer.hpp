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

// Preconditions: `tip` is the tip of `state` and time_ms > tip.time_ms.
ProducedBlock produce_block(const ledger::State& state, const ledger::Tip& tip,
                            std::span<const ledger::Transaction> candidates, std::uint64_t time_ms,
                            const ProposerIdentity& proposer, ledger::SignatureCheck check);

}  // namespace pc::node
