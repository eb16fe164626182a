// Event subscriptions (what WebSocket clients of rpc/ hold): one bounded queue per
// subscriber, filled by the SubscriptionHub, a CommitObserver, as blocks commit.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "ledger/state.hpp"
#include "node/commit_observer.hpp"

namespace pc::node {

// What a subscriber wants; a notification is queued once if any field matches.
struct EventFilter {
  bool blocks = false;                            // every new block
  std::optional<crypto::PublicKey> account;       // events of one account
  std::optional<ledger::PartnerId> partner;       // events involving one partner
  std::optional<ledger::Hash256> payment_request; // the payment of one payment request (a till)
};

struct Notification {
  // A payment is a committed PayWithPoints, after the events of its block's transactions.
  enum class Kind { block, event, tier, payment } kind = Kind::block;
  std::uint64_t height = 0;
  ledger::Hash256 block_hash{};
  std::size_t tx_count = 0;
  ledger::Event event{};               // Kind::event only
  ledger::TierChange tier_change{};    // Kind::tier only
  ledger::Hash256 request_id{};        // Kind::payment only: the request that was paid
  ledger::PaymentRecord payment{};     // Kind::payment only: as its record holds it
};

// One subscriber's bounded queue of events. A subscriber that falls queue_max behind is
// closed (overflowed() becomes true, nothing more is queued for it) rather than letting the
// queue grow; what was queued before stays takeable.
class Subscription {
 public:
  // Takes up to max_count queued notifications (non-blocking).
  std::vector<Notification> take(std::size_t max_count);
  bool overflowed() const;
  // Called (from the node's writer thread) when notifications arrive.
  void set_wakeup(std::function<void()> wakeup);

 private:
  friend class SubscriptionHub;
  mutable std::mutex mutex_;
  EventFilter filter_;
  std::deque<Notification> queue_;     // guarded by mutex_
  std::size_t queue_max_ = 0;
  bool overflowed_ = false;            // guarded by mutex_
  std::function<void()> wakeup_;       // guarded by mutex_
};

// Every open subscription. Thread-safe: subscribe/unsubscribe from any thread,
// block_committed from the observer thread (node/observer_thread.hpp).
class SubscriptionHub final : public CommitObserver {
 public:
  inline static constexpr std::size_t subscriptions_max = 1'024;

  // nullptr when subscriptions_max are open.
  std::shared_ptr<Subscription> subscribe(EventFilter filter, std::size_t queue_max);
  void unsubscribe(const std::shared_ptr<Subscription>& subscription);

  // Queues the block's notification and its events for every subscriber they match.
  void block_committed(const CommittedBlock& block) override;

 private:
  std::mutex mutex_;
  std::vector<std::shared_ptr<Subscription>> subscriptions_;  // guarded by mutex_
};

}  // namespace pc::node
