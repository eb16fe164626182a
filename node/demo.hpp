// The demo coalition: three partners and five customers with keys derived from fixed,
// public seeds, and a short history that uses every transaction type, a pending return
// window and point expiry. For trying Pointchain out and for tests, never for real points:
// anyone can derive these keys.
#pragma once

#include <filesystem>

#include "crypto/keys.hpp"
#include "ledger/chain.hpp"
#include "node/block_producer.hpp"

namespace pc::node {

// A block built and certified by one validator alone, outside consensus: how the demo chain,
// the tests' fixtures and the benchmarks make chains without running rounds. The block is
// put in the first round of this height's proposer schedule that names `proposer.partner`,
// and its certificate is that validator's precommit alone, which verifies only when it holds
// more than 2/3 of the power. The node never does this: its certificates are the engine's.
struct ProposerIdentity {
  ledger::PartnerId partner = 0;
  const crypto::SecretKey* validator_key = nullptr;
};
ProducedBlock produce_block(const ledger::State& state, const ledger::Tip& tip,
                            std::span<const ledger::Transaction> candidates, std::uint64_t time_ms,
                            const ProposerIdentity& proposer, ledger::SignatureCheck check);

// Deterministic demo keys: the seed is SHA-256 of the label.
crypto::SecretKey demo_key(std::string_view label);
// The demo coalition's billing key (signs PrepaidTopUp): demo_key("demo coalition billing").
crypto::SecretKey demo_billing_key();

ledger::Genesis demo_genesis();

struct DemoResult {
  ledger::Tip tip;
  std::size_t transactions = 0;
};

// Writes `data_dir`/genesis.json and the demo chain into `data_dir`/chain. The directory must
// not hold a chain yet. Throws std::runtime_error on failure (a start-up path, not a ledger one).
DemoResult build_demo_chain(const std::filesystem::path& data_dir);

}  // namespace pc::node
