// The pending transactions, in arrival order, checked against the committed state plus each
// other: a BlockExecutor staged over the committed State holds every pending transaction
// applied, so admitting one is applying it there. A transaction that would fail in the next
// block (a reused sequence, points already spent by a pending redeem, a reference already
// pending) is refused at the door with the ledger's own typed error, and what is pending is
// always a block that would apply in this order.
//
// Thread-safety: none. The node holds it behind its lock. It refers to the committed State
// it was built on: after that state changes (a block commits), call revalidate() before
// anything else.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <span>
#include <unordered_map>
#include <vector>

#include "crypto/table_hash.hpp"
#include "ledger/state.hpp"
#include "node/node.hpp"

namespace pc::node {

class Mempool {
 public:
  // Who signs a transaction: a partner's issuer key (Issue, Reverse), a customer's key, or the
  // coalition's billing key for one partner's top-ups (their sequence counts per partner).
  struct Signer {
    ledger::PartnerId partner = 0;  // 0 for a customer (partner ids start at 1)
    crypto::PublicKey customer{};   // zero for a partner
    bool billing = false;           // a PrepaidTopUp for `partner`

    auto operator<=>(const Signer&) const = default;
  };
  // Keyed like the ids (crypto/table_hash.hpp): customers choose their keys. Not noexcept,
  // for the reason TableHash is not.
  struct SignerHash {
    std::size_t operator()(const Signer& signer) const {
      return crypto::TableHash{}(signer.customer) ^ (std::size_t{signer.partner} << 1) ^ std::size_t{signer.billing};
    }
  };
  static Signer signer_of(const ledger::Transaction& tx);
  static Signer partner_signer(ledger::PartnerId partner) { return Signer{partner, {}}; }
  static Signer customer_signer(const crypto::PublicKey& key) { return Signer{0, key}; }

  Mempool(const ledger::State& committed, MempoolLimits limits, std::uint64_t now_ms);

  // Admits a transaction whose signature the caller has checked with
  // ledger::verify_transaction_signature (it is applied with SignatureCheck::already_verified).
  // Already pending: its id, and nothing changes. Over a limit: too_large naming the limit.
  // Any ledger error leaves the mempool as it was.
  ledger::Result<ledger::Hash256> admit(const ledger::Transaction& tx, std::uint64_t now_ms);

  // After the committed state changed: forgets `removed` (included in the block, or refused
  // by it), re-applies the rest in arrival order at `now_ms` and drops those that no longer
  // apply. Returns what was dropped, with why.
  std::vector<std::pair<ledger::Hash256, ledger::Error>> revalidate(const std::set<ledger::Hash256>& removed,
                                                                    std::uint64_t now_ms);

  // Every pending transaction is staged as one block at height committed + 1 and this time:
  // a block of all of them, in arrival order, at this time has exactly take_staged()'s
  // changes.
  std::uint64_t staged_time_ms() const;
  // The staged changes, for a proposer whose block is every pending transaction at
  // staged_time_ms(): it need not execute them again. Afterwards nothing can be admitted
  // until revalidate() (asserted), which a commit runs anyway.
  ledger::BlockChanges take_staged();
  // The same changes, copied: the mempool goes on staging (admitting) as if nothing were
  // taken. For a proposer whose block needs other validators' votes, so commits a round later
  // at the earliest or not at all: a copy costs less than applying every pending transaction
  // again, which take_staged() leaves to revalidate() when the round ends without the block.
  ledger::BlockChanges staged_changes() const;

  // Arrival order: the block producer's candidates.
  std::span<const ledger::Transaction> transactions() const { return pending_; }
  const ledger::Transaction* find(const ledger::Hash256& tx_id) const;
  // The pending Issue or Reverse of a partner's reference, if any.
  std::optional<ledger::Hash256> pending_issue(ledger::PartnerId partner, const std::string& reference) const;
  std::optional<ledger::Hash256> pending_reverse(ledger::PartnerId partner, const std::string& reference) const;
  // The references of a partner's pending Issues that start with `prefix`, in byte order, at
  // most `count_max`.
  std::vector<std::string> pending_issue_references_with_prefix(ledger::PartnerId partner, std::string_view prefix,
                                                                std::size_t count_max) const;
  // How many pending transactions this signer has: its sequences run on from the committed one.
  std::size_t pending_count(const Signer& signer) const;

  std::size_t size() const { return pending_.size(); }
  std::size_t bytes() const { return bytes_; }
  bool empty() const { return pending_.empty(); }
  const MempoolLimits& limits() const { return limits_; }

 private:
  using Reference = std::pair<ledger::PartnerId, std::string>;

  // A new executor over the committed state at max(now, committed time + 1).
  void restart_executor(std::uint64_t now_ms);
  void remember(ledger::Transaction tx);

  const ledger::State& committed_;
  MempoolLimits limits_;
  std::optional<ledger::BlockExecutor> executor_;     // every pending transaction applied
  std::vector<ledger::Transaction> pending_;          // arrival order
  // id -> index in pending_. Hashed, not ordered: it is looked up for every transaction a
  // peer announces, delivers or proposes, and rebuilt at every commit.
  std::unordered_map<ledger::Hash256, std::size_t, crypto::TableHash> positions_;
  // Hashed, not ordered: looked up and counted at every admission, and rebuilt at every commit.
  std::unordered_map<Signer, std::size_t, SignerHash> per_signer_;
  std::map<Reference, ledger::Hash256> issues_;
  std::map<Reference, ledger::Hash256> reverses_;
  std::size_t bytes_ = 0;
};

}  // namespace pc::node
