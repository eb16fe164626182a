// The audit: replays a store from genesis and checks every hash link, Merkle root,
// signature, commit and state hash, then compares the replayed state with the stored one
// and checks the supply invariant. It trusts nothing in the store but the genesis it is
// given; it stops at the first fault and names its height.
#pragma once

#include "ledger/store.hpp"

namespace pc::ledger {

struct AuditReport {
  bool ok = false;
  std::uint64_t fault_height = 0;  // the block at fault; for the final comparisons the tip
                                   // (tip + 1 for a block stored above it); 0: the genesis
  Error fault{Code::ok, {}};
  std::uint64_t blocks = 0;        // blocks replayed successfully
  std::uint64_t transactions = 0;
  Tip tip;                         // the replayed tip
  Totals totals;
  std::map<PartnerId, PartnerStats> partners;
  std::map<std::pair<PartnerId, PartnerId>, std::uint64_t> settlement;
  // The rewards catalog replayed (protocol version 3 on; all 0 before): rewards published,
  // units redeemed, vouchers and how many of them were used.
  struct Catalog {
    std::uint64_t rewards = 0;
    std::uint64_t redeemed = 0;
    std::uint64_t vouchers = 0;
    std::uint64_t vouchers_used = 0;
  } catalog;
  // Tiers replayed (protocol version 4 with a tier program): customers per tier at the tip
  // (index 0 of the vector: tier 1), and grants running.
  std::vector<std::uint64_t> customers_per_tier;
  std::uint64_t grants_running = 0;
  // Paying with points replayed (protocol version 4 on; empty before): per partner and
  // currency, the payments, their points and their money.
  std::map<PaymentTotalsKey, PaymentTotals> paid_with_points;
  // Every evidence record in the store, in key order, each verified (at most stored_evidence_max).
  std::vector<Evidence> evidence;
};

// Runs `background` and `foreground` (possibly at the same time) and returns when both have
// finished. ledger/ has no threads: a caller that has them overlaps the two.
using Overlap = std::function<void(const std::function<void()>& background, const std::function<void()>& foreground)>;
void run_one_after_other(const std::function<void()>& background, const std::function<void()>& foreground);

// `store` should be opened with ChainStore::Mode::raw. `runner` spreads the stateless checks
// (decoding, Merkle roots, commits, signatures); `overlap` lets the next window's checks run
// while the current window is applied in order. Which work runs where never changes the report.
AuditReport audit_chain(const ChainStore& store, const BatchRunner& runner = run_sequentially,
                        const Overlap& overlap = run_one_after_other);

}  // namespace pc::ledger
