#include "node/subscriptions.hpp"

#include <algorithm>

namespace pc::node {
namespace {

bool matches(const EventFilter& filter, const Notification& notification) {
  if (notification.kind == Notification::Kind::block) return filter.blocks;
  if (notification.kind == Notification::Kind::tier) {
    const ledger::TierChange& change = notification.tier_change;
    return (filter.account && *filter.account == change.customer) ||
           (filter.partner && change.partner != 0 && *filter.partner == change.partner);
  }
  if (notification.kind == Notification::Kind::payment) {
    return (filter.payment_request && *filter.payment_request == notification.request_id) ||
           (filter.partner && *filter.partner == notification.payment.partner) ||
           (filter.account && *filter.account == notification.payment.customer);
  }
  const ledger::Event& event = notification.event;
  return (filter.account && *filter.account == event.account) ||
         (filter.partner && event.partner != 0 && *filter.partner == event.partner);
}

}  // namespace

std::vector<Notification> Subscription::take(std::size_t max_count) {
  std::lock_guard lock(mutex_);
  const std::size_t count = std::min(max_count, queue_.size());
  std::vector<Notification> out(std::make_move_iterator(queue_.begin()),
                                std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(count)));
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(count));
  return out;
}

bool Subscription::overflowed() const {
  std::lock_guard lock(mutex_);
  return overflowed_;
}

void Subscription::set_wakeup(std::function<void()> wakeup) {
  std::lock_guard lock(mutex_);
  wakeup_ = std::move(wakeup);
}

std::shared_ptr<Subscription> SubscriptionHub::subscribe(EventFilter filter, std::size_t queue_max) {
  std::lock_guard lock(mutex_);
  if (subscriptions_.size() >= subscriptions_max) return nullptr;
  auto subscription = std::make_shared<Subscription>();
  subscription->filter_ = std::move(filter);
  subscription->queue_max_ = std::max<std::size_t>(queue_max, 1);
  subscriptions_.push_back(subscription);
  return subscription;
}

void SubscriptionHub::unsubscribe(const std::shared_ptr<Subscription>& subscription) {
  std::lock_guard lock(mutex_);
  std::erase(subscriptions_, subscription);
}

void SubscriptionHub::block_committed(const CommittedBlock& committed) {
  std::vector<std::shared_ptr<Subscription>> subscriptions;
  {
    std::lock_guard lock(mutex_);
    subscriptions = subscriptions_;
  }
  if (subscriptions.empty()) return;
  // A filter never changes after subscribe(). With block subscribers only (a bench, a block
  // explorer) no notification per event is built just to match none.
  const bool events_wanted = std::any_of(subscriptions.begin(), subscriptions.end(), [](const auto& subscription) {
    const EventFilter& filter = subscription->filter_;
    return filter.account || filter.partner || filter.payment_request;
  });
  const std::uint64_t height = committed.block.header.height;
  const std::size_t tx_count = committed.block.transactions.size();
  std::vector<Notification> notifications;
  notifications.push_back(Notification{Notification::Kind::block, height, committed.block_hash, tx_count, {}, {}, {}, {}});
  if (events_wanted) {
    notifications.reserve(committed.events.size() + committed.tier_changes.size() + 1);
    for (const ledger::Event& event : committed.events) {
      notifications.push_back(Notification{Notification::Kind::event, height, committed.block_hash, tx_count, event, {}, {}, {}});
    }
    for (const ledger::TierChange& change : committed.tier_changes) {
      notifications.push_back(Notification{Notification::Kind::tier, height, committed.block_hash, tx_count, {}, change, {}, {}});
    }
    // Every transaction of a committed block was applied, so each PayWithPoints here paid its
    // request: the till waiting for it hears it from this block.
    for (const ledger::Transaction& tx : committed.block.transactions) {
      const auto* pay = std::get_if<ledger::PayWithPoints>(&tx.fields().body);
      if (pay == nullptr) continue;
      const ledger::PaymentRequest& request = pay->request.request;
      Notification notification{Notification::Kind::payment, height, committed.block_hash, tx_count, {}, {}, request.id(), {}};
      notification.payment = ledger::PaymentRecord{request.partner,  pay->customer, request.order_id,
                                                   request.amount_minor, request.currency, request.points,
                                                   height, committed.block.header.time_ms, tx.id()};
      notifications.push_back(std::move(notification));
    }
  }

  for (const auto& subscription : subscriptions) {
    std::function<void()> wakeup;
    {
      std::lock_guard lock(subscription->mutex_);
      if (subscription->overflowed_) continue;
      bool changed = false;
      for (const Notification& notification : notifications) {
        if (!matches(subscription->filter_, notification)) continue;
        changed = true;
        if (subscription->queue_.size() >= subscription->queue_max_) {
          subscription->overflowed_ = true;
          break;
        }
        subscription->queue_.push_back(notification);
      }
      if (changed) wakeup = subscription->wakeup_;
    }
    if (wakeup) wakeup();
  }
}

}  // namespace pc::node
