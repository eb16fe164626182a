// What RPC reads: an immutable picture of the chain after one commit, published by the commit
// pipeline and swapped in whole, so a reader holding one sees a single height everywhere
// (tip, totals, partner figures, blocks, accounts) however many blocks commit meanwhile, and
// never waits for the writer, consensus or an fsync.
//
// Cost per commit: the tip, the totals, one PartnerStats per partner (at most partners_max),
// the settlement matrix (at most partners_max^2 cells, in practice a few), the point values,
// payment totals and prepaid balances (a few per partner), 16 block pointers
// and a LevelDB snapshot. Accounts and blocks are read through that LevelDB snapshot, not
// copied: the State is never copied.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "ledger/store.hpp"
#include "node/commit_observer.hpp"

namespace pc::node {

struct Snapshot {
  // The newest committed blocks kept decoded: a wallet waiting for its transaction asks about
  // these, and decoding a block of thousands of transactions per question costs milliseconds.
  static constexpr std::size_t recent_blocks_max = 16;

  ledger::Tip tip;
  ledger::Totals totals;
  std::vector<std::pair<ledger::Partner, ledger::PartnerStats>> partners;  // genesis order
  std::map<std::pair<ledger::PartnerId, ledger::PartnerId>, std::uint64_t> settlement;
  // Paying with points: each partner's point value (at most partners_max) and the money paid
  // with points per partner and currency (a few per partner).
  std::map<ledger::PartnerId, ledger::PointValueRecord> point_values;
  std::map<ledger::PaymentTotalsKey, ledger::PaymentTotals> payment_totals;
  // Billing: the prepaid partners' balances (at most partners_max).
  std::map<ledger::PartnerId, ledger::PrepaidBalance> prepaid;
  std::vector<std::shared_ptr<const CommittedBlock>> recent_blocks;       // oldest first
  ledger::StoreView store;  // the chain store as of `tip`

  // The recent block at `height`, or nullptr.
  std::shared_ptr<const CommittedBlock> recent_block(std::uint64_t height) const;
};

// The snapshot of `store` now. `recent_blocks` from the previous snapshot plus the new block.
std::shared_ptr<const Snapshot> make_snapshot(const ledger::ChainStore& store,
                                              std::vector<std::shared_ptr<const CommittedBlock>> recent_blocks);

// The slot readers load from and the commit pipeline stores to. The mutex is held only to
// copy a pointer, never while a snapshot is built.
class PublishedSnapshot {
 public:
  std::shared_ptr<const Snapshot> load() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  void store(std::shared_ptr<const Snapshot> next) {
    std::lock_guard lock(mutex_);
    current_.swap(next);
    // The previous snapshot is released outside the lock (below, as `next` goes).
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> current_;  // guarded by mutex_
};

}  // namespace pc::node
