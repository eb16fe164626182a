#include "node/mempool.hpp"

#include <algorithm>

#include "crypto/check.hpp"

namespace pc::node {

Mempool::Signer Mempool::signer_of(const ledger::Transaction& tx) {
  if (const auto* top_up = std::get_if<ledger::PrepaidTopUp>(&tx.fields().body)) return Signer{top_up->partner, {}, true};
  if (auto partner = tx.partner_signer()) return partner_signer(*partner);
  return customer_signer(*tx.customer_signer());
}

Mempool::Mempool(const ledger::State& committed, MempoolLimits limits, std::uint64_t now_ms)
    : committed_(committed), limits_(limits) {
  restart_executor(now_ms);
}

void Mempool::restart_executor(std::uint64_t now_ms) {
  const std::uint64_t time_ms = std::max(now_ms, committed_.time_ms() + 1);
  executor_.reset();
  executor_.emplace(committed_, ledger::BlockContext{committed_.height() + 1, time_ms});
}

void Mempool::remember(ledger::Transaction tx) {
  positions_.emplace(tx.id(), pending_.size());
  ++per_signer_[signer_of(tx)];
  if (const auto* issue = std::get_if<ledger::Issue>(&tx.fields().body)) {
    issues_.emplace(Reference{issue->partner, issue->reference}, tx.id());
  } else if (const auto* reverse = std::get_if<ledger::Reverse>(&tx.fields().body)) {
    reverses_.emplace(Reference{reverse->partner, reverse->reference}, tx.id());
  }
  bytes_ += tx.bytes().size();
  pending_.push_back(std::move(tx));
}

ledger::Result<ledger::Hash256> Mempool::admit(const ledger::Transaction& tx, std::uint64_t now_ms) {
  if (positions_.contains(tx.id())) return tx.id();
  if (pending_.size() >= limits_.tx_count_max) {
    return ledger::Error{ledger::Code::too_large,
                         "mempool full: " + std::to_string(limits_.tx_count_max) + " transactions"};
  }
  if (bytes_ + tx.bytes().size() > limits_.bytes_max) {
    return ledger::Error{ledger::Code::too_large, "mempool full: " + std::to_string(limits_.bytes_max) + " bytes"};
  }
  // The per-signer limit keeps one customer from filling the mempool. A partner's issuer key
  // (one of at most partners_max, fixed by the genesis) signs for every till of a busy shop,
  // so it is bounded by the mempool's total limits alone.
  const Signer signer = signer_of(tx);
  if (signer.partner == 0 && pending_count(signer) >= limits_.per_signer_max) {
    return ledger::Error{ledger::Code::too_large, "mempool full for this signer: " +
                                                      std::to_string(limits_.per_signer_max) +
                                                      " pending transactions"};
  }
  // An empty mempool has nothing staged to keep: start again at the current time, so that
  // points whose return window has ended since the last block count as spendable.
  if (pending_.empty()) restart_executor(now_ms);
  PC_CHECK(executor_.has_value());  // take_staged() was not followed by revalidate()
  if (auto status = executor_->apply(tx, ledger::SignatureCheck::already_verified); !status) {
    return status.error();
  }
  remember(tx);
  return tx.id();
}

std::vector<std::pair<ledger::Hash256, ledger::Error>> Mempool::revalidate(
    const std::set<ledger::Hash256>& removed, std::uint64_t now_ms) {
  std::vector<ledger::Transaction> previous = std::move(pending_);
  pending_.clear();
  pending_.reserve(previous.size());
  positions_.clear();
  per_signer_.clear();
  issues_.clear();
  reverses_.clear();
  bytes_ = 0;
  restart_executor(now_ms);
  std::vector<std::pair<ledger::Hash256, ledger::Error>> dropped;
  for (ledger::Transaction& tx : previous) {
    if (removed.contains(tx.id())) continue;
    if (auto status = executor_->apply(tx, ledger::SignatureCheck::already_verified); !status) {
      dropped.emplace_back(tx.id(), status.error());
      continue;
    }
    remember(std::move(tx));
  }
  PC_CHECK(pending_.size() == positions_.size());
  return dropped;
}

std::uint64_t Mempool::staged_time_ms() const {
  PC_CHECK(executor_.has_value());
  return executor_->context().time_ms;
}

ledger::BlockChanges Mempool::take_staged() {
  PC_CHECK(executor_.has_value());
  ledger::BlockChanges changes = std::move(*executor_).finish();
  executor_.reset();
  return changes;
}

ledger::BlockChanges Mempool::staged_changes() const {
  PC_CHECK(executor_.has_value());
  ledger::BlockExecutor copy = *executor_;
  return std::move(copy).finish();
}

const ledger::Transaction* Mempool::find(const ledger::Hash256& tx_id) const {
  auto found = positions_.find(tx_id);
  return found == positions_.end() ? nullptr : &pending_[found->second];
}

std::optional<ledger::Hash256> Mempool::pending_issue(ledger::PartnerId partner,
                                                      const std::string& reference) const {
  auto found = issues_.find(Reference{partner, reference});
  if (found == issues_.end()) return std::nullopt;
  return found->second;
}

std::optional<ledger::Hash256> Mempool::pending_reverse(ledger::PartnerId partner,
                                                        const std::string& reference) const {
  auto found = reverses_.find(Reference{partner, reference});
  if (found == reverses_.end()) return std::nullopt;
  return found->second;
}

std::vector<std::string> Mempool::pending_issue_references_with_prefix(ledger::PartnerId partner,
                                                                       std::string_view prefix,
                                                                       std::size_t count_max) const {
  std::vector<std::string> references;
  for (auto it = issues_.lower_bound(Reference{partner, std::string(prefix)});
       it != issues_.end() && it->first.first == partner && it->first.second.starts_with(prefix) &&
       references.size() < count_max;
       ++it) {
    references.push_back(it->first.second);
  }
  return references;
}

std::size_t Mempool::pending_count(const Signer& signer) const {
  auto found = per_signer_.find(signer);
  return found == per_signer_.end() ? 0 : found->second;
}

}  // namespace pc::node
