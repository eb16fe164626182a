// The demo coalition: three partners and five customers with keys derived from fixed,
// public seeds, and a short history that uses every transaction type, a pending return
// window and point expiry. For trying Pointchain out and for tests, never for real points:
// anyone can derive these keys.
#pragma once

#include <filesystem>

#include "crypto/keys.hpp"
#include "ledger/chain.hpp"

namespace pc::node {

// Deterministic demo keys: the seed is SHA-256 of the label.
crypto::SecretKey demo_key(std::string_view label);

ledger::Genesis demo_genesis();

struct DemoResult {
  ledger::Tip tip;
  std::size_t transactions = 0;
};

// Writes `data_dir`/genesis.json and the demo chain into `data_dir`/chain. The directory must
// not hold a chain yet. Throws std::runtime_error on failure (a start-up path, not a ledger one).
DemoResult build_demo_chain(const std::filesystem::path& data_dir);

}  // namespace pc::node
