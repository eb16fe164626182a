#include "node/loyalty_views.hpp"

#include <map>

#include "ledger/limits.hpp"
#include "ledger/voucher.hpp"

namespace pc::node {
namespace {

std::uint16_t big_endian_u16_at(const Bytes& key, std::size_t offset) {
  return static_cast<std::uint16_t>((key[offset] << 8) | key[offset + 1]);
}

std::uint32_t big_endian_u32_at(const Bytes& key, std::size_t offset) {
  return (std::uint32_t{key[offset]} << 24) | (std::uint32_t{key[offset + 1]} << 16) |
         (std::uint32_t{key[offset + 2]} << 8) | std::uint32_t{key[offset + 3]};
}

ledger::Error corrupt(std::string detail) { return ledger::Error{ledger::Code::corruption, std::move(detail)}; }

// Whether one unit could be redeemed in a block at `time_ms` by a customer with this usage.
bool redeemable(const ledger::RewardRecord& reward, ledger::RewardUsage usage, std::uint64_t time_ms) {
  return ledger::check_reward_redemption(reward, usage, 1, time_ms, "").ok();
}

}  // namespace

ledger::Result<RewardPage> read_rewards(const ledger::StoreView& store, std::uint64_t tip_time_ms,
                                        const RewardQuery& query) {
  if (query.limit == 0 || query.limit > rewards_page_max) {
    return ledger::Error{ledger::Code::invalid_field, "limit must be 1 to " + std::to_string(rewards_page_max)};
  }
  Bytes prefix{ledger::record::reward_tag};
  if (query.partner) {
    prefix = ledger::record::reward_key(*query.partner, 0);
    prefix.resize(1 + 2);  // the tag and the partner
  }
  Bytes start;
  if (query.after) {
    // The key after `after`: its reward id + 1, or the next partner's first key.
    const auto [partner, reward_id] = *query.after;
    start = reward_id == UINT32_MAX ? ledger::record::reward_key(static_cast<ledger::PartnerId>(partner + 1), 0)
                                    : ledger::record::reward_key(partner, reward_id + 1);
    if (partner == UINT16_MAX && reward_id == UINT32_MAX) return RewardPage{};
    if (start < prefix) start.clear();
  }
  std::uint64_t spendable = 0;
  if (query.affordable_for) {
    auto account = store.account(*query.affordable_for);
    if (!account) return account.error();
    if (account->has_value()) spendable = (*account)->spendable(tip_time_ms);
  }
  // The catalog holds at most partners_max × rewards_per_partner_max records, read in batches.
  constexpr std::size_t batch_records = 256;
  RewardPage page;
  for (;;) {
    auto records = store.state_records_with_prefix(prefix, start, batch_records);
    if (!records) return records.error();
    for (const ledger::Record& entry : *records) {
      if (entry.key.size() != 7) return corrupt("reward key " + to_hex(entry.key));
      auto record = ledger::record::decode_reward_value(entry.value);
      if (!record) return record.error();
      RewardView view{big_endian_u16_at(entry.key, 1), big_endian_u32_at(entry.key, 3), std::move(*record), false};
      view.redeemable_now = redeemable(view.record, {}, tip_time_ms);
      bool wanted = view.redeemable_now || query.include_unavailable;
      if (query.cost_points_max && view.record.terms.cost_points > *query.cost_points_max) wanted = false;
      if (wanted && query.affordable_for) {
        ledger::RewardUsage usage;
        auto stored = store.state_record(ledger::record::reward_usage_key(view.partner, view.reward_id, *query.affordable_for));
        if (!stored) return stored.error();
        if (stored->has_value()) {
          auto decoded = ledger::record::decode_reward_usage_value(**stored);
          if (!decoded) return decoded.error();
          usage = *decoded;
        }
        wanted = spendable >= view.record.terms.cost_points && redeemable(view.record, usage, tip_time_ms);
      }
      if (!wanted) continue;
      if (page.rewards.size() == query.limit) {
        page.next = ledger::RewardKey{page.rewards.back().partner, page.rewards.back().reward_id};
        return page;
      }
      page.rewards.push_back(std::move(view));
    }
    if (records->size() < batch_records) return page;
    start = records->back().key;
    start.push_back(0);  // the first key after the last one read
  }
}

ledger::Result<VoucherPage> read_vouchers(const ledger::StoreView& store, const crypto::PublicKey& customer,
                                          const std::optional<std::pair<ledger::PartnerId, std::string>>& after,
                                          std::size_t limit) {
  if (limit == 0 || limit > vouchers_page_max) {
    return ledger::Error{ledger::Code::invalid_field, "limit must be 1 to " + std::to_string(vouchers_page_max)};
  }
  Bytes prefix{ledger::record::customer_voucher_tag};
  prefix.insert(prefix.end(), customer.begin(), customer.end());
  Bytes start;
  if (after) {
    start = ledger::record::customer_voucher_key(customer, after->first, after->second);
    start.push_back(0);
  }
  // One more than asked for tells whether a next page exists.
  auto index = store.state_records_with_prefix(prefix, start, limit + 1);
  if (!index) return index.error();
  VoucherPage page;
  std::map<ledger::RewardKey, std::string> names;
  for (const ledger::Record& entry : *index) {
    if (entry.key.size() != 1 + 32 + 2 + ledger::voucher_code_chars) return corrupt("voucher index key " + to_hex(entry.key));
    if (page.vouchers.size() == limit) {
      page.next = std::pair{page.vouchers.back().partner, page.vouchers.back().code};
      break;
    }
    VoucherView view;
    view.partner = big_endian_u16_at(entry.key, 33);
    view.code.assign(entry.key.begin() + 35, entry.key.end());
    auto stored = store.state_record(ledger::record::voucher_key(view.partner, view.code));
    if (!stored) return stored.error();
    if (!stored->has_value()) return corrupt("voucher index without its voucher " + view.code);
    auto voucher = ledger::record::decode_voucher_value(**stored);
    if (!voucher) return voucher.error();
    view.voucher = *voucher;
    const ledger::RewardKey reward_key{view.partner, view.voucher.reward_id};
    if (!names.contains(reward_key)) {
      auto reward = store.state_record(ledger::record::reward_key(reward_key.first, reward_key.second));
      if (!reward) return reward.error();
      if (reward->has_value()) {
        auto decoded = ledger::record::decode_reward_value(**reward);
        if (!decoded) return decoded.error();
        names[reward_key] = decoded->terms.name;
      }
    }
    view.reward_name = names[reward_key];
    page.vouchers.push_back(std::move(view));
  }
  return page;
}

std::string_view voucher_status_name(VoucherCheck::Status status) {
  switch (status) {
    case VoucherCheck::Status::valid: return "valid";
    case VoucherCheck::Status::used: return "used";
    case VoucherCheck::Status::unknown: return "unknown";
    case VoucherCheck::Status::foreign: return "foreign";
  }
  return "unknown";
}

std::string_view payment_status_name(PaymentCheck::Status status) {
  switch (status) {
    case PaymentCheck::Status::unpaid: return "unpaid";
    case PaymentCheck::Status::paid: return "paid";
    case PaymentCheck::Status::expired: return "expired";
  }
  return "unknown";
}

ledger::Result<PaymentCheck> check_payment(const ledger::StoreView& store, const ledger::Hash256& request_id,
                                           std::optional<std::uint64_t> expires_at_ms, std::uint64_t tip_time_ms) {
  PaymentCheck check;
  auto stored = store.state_record(ledger::record::payment_key(request_id));
  if (!stored) return stored.error();
  if (stored->has_value()) {
    auto payment = ledger::record::decode_payment_value(**stored);
    if (!payment) return payment.error();
    check.status = PaymentCheck::Status::paid;
    check.payment = std::move(*payment);
  } else if (expires_at_ms && tip_time_ms > *expires_at_ms) {
    // Block times only grow: no later block can include the payment.
    check.status = PaymentCheck::Status::expired;
  }
  return check;
}

ledger::Result<VoucherCheck> check_voucher(const ledger::StoreView& store, const ledger::Genesis& genesis,
                                           ledger::PartnerId till_partner, const std::string& code) {
  VoucherCheck check;
  auto stored = store.state_record(ledger::record::voucher_key(till_partner, code));
  if (!stored) return stored.error();
  if (stored->has_value()) {
    auto voucher = ledger::record::decode_voucher_value(**stored);
    if (!voucher) return voucher.error();
    VoucherView view{till_partner, code, *voucher, {}};
    auto reward = store.state_record(ledger::record::reward_key(till_partner, voucher->reward_id));
    if (!reward) return reward.error();
    if (reward->has_value()) {
      auto decoded = ledger::record::decode_reward_value(**reward);
      if (!decoded) return decoded.error();
      view.reward_name = decoded->terms.name;
    }
    check.status = voucher->used_at_ms == 0 ? VoucherCheck::Status::valid : VoucherCheck::Status::used;
    check.voucher = std::move(view);
    return check;
  }
  // Another partner's voucher: at most partners_max lookups, so the till can say whose it is.
  for (const ledger::Partner& partner : genesis.partners) {
    if (partner.id == till_partner) continue;
    auto other = store.state_record(ledger::record::voucher_key(partner.id, code));
    if (!other) return other.error();
    if (other->has_value()) {
      check.status = VoucherCheck::Status::foreign;
      check.owner = partner.id;
      return check;
    }
  }
  return check;
}

namespace {

// Every record under `prefix` (definitions: bounded by partners_max × the per-partner limit),
// read in batches.
ledger::Result<std::vector<ledger::Record>> all_records(const ledger::StoreView& store, const Bytes& prefix) {
  constexpr std::size_t batch_records = 256;
  std::vector<ledger::Record> out;
  Bytes start;
  for (;;) {
    auto records = store.state_records_with_prefix(prefix, start, batch_records);
    if (!records) return records.error();
    out.insert(out.end(), records->begin(), records->end());
    if (records->size() < batch_records) return out;
    start = records->back().key;
    start.push_back(0);
  }
}

template <class Value>
ledger::Result<std::optional<Value>> optional_record(const ledger::StoreView& store, const Bytes& key,
                                                     ledger::Result<Value> (*decode)(ByteSpan)) {
  auto stored = store.state_record(key);
  if (!stored) return stored.error();
  if (!stored->has_value()) return std::optional<Value>{};
  auto decoded = decode(**stored);
  if (!decoded) return decoded.error();
  return std::optional<Value>{std::move(*decoded)};
}

}  // namespace

ledger::Result<std::vector<StampCardView>> read_stamp_cards(const ledger::StoreView& store, const crypto::PublicKey& customer,
                                                            std::uint64_t tip_time_ms, bool include_empty) {
  auto definitions = all_records(store, Bytes{ledger::record::stamp_card_tag});
  if (!definitions) return definitions.error();
  std::vector<StampCardView> cards;
  for (const ledger::Record& entry : *definitions) {
    if (entry.key.size() != 1 + 2 + 4) return corrupt("stamp card key " + to_hex(entry.key));
    StampCardView view;
    view.partner = big_endian_u16_at(entry.key, 1);
    view.card_id = big_endian_u32_at(entry.key, 3);
    auto card = ledger::record::decode_stamp_card_value(entry.value);
    if (!card) return card.error();
    view.card = std::move(*card);
    auto progress = optional_record<ledger::StampProgress>(
        store, ledger::record::stamp_progress_key(view.partner, view.card_id, customer), ledger::record::decode_stamp_progress_value);
    if (!progress) return progress.error();
    if (!progress->has_value() && !include_empty) continue;
    view.progress = progress->value_or(ledger::StampProgress{});
    const std::uint16_t card_days = view.card.terms.card_days;
    if (card_days != 0 && view.progress.stamps != 0) {
      view.lapses_at_ms = view.progress.started_at_ms + std::uint64_t{card_days} * ledger::ms_per_day;
      view.current = tip_time_ms < view.lapses_at_ms;
    }
    auto reward = optional_record<ledger::RewardRecord>(
        store, ledger::record::reward_key(view.partner, view.card.terms.reward_id), ledger::record::decode_reward_value);
    if (!reward) return reward.error();
    if (reward->has_value()) view.reward_name = (*reward)->terms.name;
    cards.push_back(std::move(view));
  }
  return cards;
}

ledger::Result<std::vector<BadgeView>> read_badges(const ledger::StoreView& store, const crypto::PublicKey& customer,
                                                   bool include_progress) {
  auto definitions = all_records(store, Bytes{ledger::record::badge_tag});
  if (!definitions) return definitions.error();
  std::vector<BadgeView> badges;
  for (const ledger::Record& entry : *definitions) {
    if (entry.key.size() != 1 + 2 + 4) return corrupt("badge key " + to_hex(entry.key));
    BadgeView view;
    view.partner = big_endian_u16_at(entry.key, 1);
    view.badge_id = big_endian_u32_at(entry.key, 3);
    auto progress = optional_record<ledger::BadgeProgress>(
        store, ledger::record::badge_progress_key(view.partner, view.badge_id, customer), ledger::record::decode_badge_progress_value);
    if (!progress) return progress.error();
    if (!progress->has_value() || (!(*progress)->earned() && !include_progress)) continue;
    auto badge = ledger::record::decode_badge_value(entry.value);
    if (!badge) return badge.error();
    view.badge = std::move(*badge);
    view.progress = **progress;
    badges.push_back(std::move(view));
  }
  return badges;
}

std::vector<ExpiryGroup> expiry_schedule(const ledger::Account& account, std::uint32_t point_expiry_days) {
  std::vector<ExpiryGroup> groups;
  if (point_expiry_days == 0) return groups;
  const std::uint64_t period_ms = std::uint64_t{point_expiry_days} * ledger::ms_per_day;
  // Lots are ordered by earned_at_ms, so their expiries come in order too.
  for (const ledger::Lot& lot : account.lots) {
    const std::uint64_t expires_at_ms = lot.earned_at_ms + period_ms;
    const std::uint64_t day = expires_at_ms / ledger::ms_per_day;
    if (groups.empty() || groups.back().day != day) groups.push_back({day, expires_at_ms, 0});
    groups.back().points += lot.points;
  }
  return groups;
}

}  // namespace pc::node
