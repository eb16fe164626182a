// The audit: replays a store from genesis and checks every hash link, Merkle root,
// signature, commit and state hash, then compares the replayed state with the stored one
// and checks the supply invariant. It trusts nothing in the store but the genesis it is
// given; it stops at the first fault and names its height.
#pragma once

#include "ledger/store.hpp"

namespace pc::ledger {

struct AuditReport {
  bool ok = false;
  std::uint64_t fault_height = 0;  // the block at fault (0: the genesis or the final state)
  Error fault{Code::ok, {}};
  std::uint64_t blocks = 0;        // blocks replayed successfully
  std::uint64_t transactions = 0;
  Tip tip;                         // the replayed tip
  Totals totals;
  std::map<PartnerId, PartnerStats> partners;
  std::map<std::pair<PartnerId, PartnerId>, std::uint64_t> settlement;
};

// `store` should be opened with ChainStore::Mode::raw. `runner` spreads signature checks.
AuditReport audit_chain(const ChainStore& store, const BatchRunner& runner = run_sequentially);

}  // namespace pc::ledger
