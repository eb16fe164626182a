#include "ledger/state.hpp"

#include <algorithm>
#include <limits>

#include "crypto/check.hpp"
#include "crypto/domains.hpp"
#include "ledger/codec.hpp"
#include "ledger/limits.hpp"
#include "ledger/protocol.hpp"
#include "ledger/voucher.hpp"

namespace pc::ledger {
namespace {

constexpr std::uint8_t record_version = 1;
// Issuance records of protocol version 3 chains carry the purchase amount (IssuanceRecord).
constexpr std::uint8_t issuance_record_version_with_purchase = 2;
// Issuance records of protocol version 4 chains add the tier and multiplier used.
constexpr std::uint8_t issuance_record_version_with_tier = 3;
// Account records of protocol version 4 chains append the customer's tier state.
constexpr std::uint8_t account_record_version_with_tier = 2;

std::uint8_t account_record_version(std::uint16_t protocol_version) {
  return has_tiers(protocol_version) ? account_record_version_with_tier : record_version;
}

std::uint8_t issuance_record_version(std::uint16_t protocol_version) {
  if (has_tiers(protocol_version)) return issuance_record_version_with_tier;
  if (has_rewards_catalog(protocol_version)) return issuance_record_version_with_purchase;
  return record_version;
}
constexpr std::uint8_t reward_usage_tag = 'u';
constexpr std::uint8_t account_tag = 'a';
constexpr std::uint8_t issuance_tag = 'i';
constexpr std::uint8_t partner_tag = 'p';
constexpr std::uint8_t settlement_tag = 's';
constexpr std::uint8_t totals_tag = 't';

// Keys are big-endian so that records sort by id.
void big_endian_u16(Bytes& out, std::uint16_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8));
  out.push_back(static_cast<std::uint8_t>(value));
}

// Built with reserve() first: GCC 12 warns (falsely) about inserting into a one-byte vector.
Bytes key_with_tag(std::uint8_t tag, ByteSpan body) {
  Bytes out;
  out.reserve(1 + body.size() + 4);
  out.push_back(tag);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// Whether a chain of this protocol version has the transaction type.
bool add_overflows(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b;
}

bool lot_order(const Lot& a, const Lot& b) {
  return std::tie(a.earned_at_ms, a.issuance) < std::tie(b.earned_at_ms, b.issuance);
}

// Adds points from `lot` to `account`, merging with a lot of the same issuance so that an
// account holds at most one lot per issuance. False if a new lot would pass the limit.
bool receive_lot(Account& account, const Lot& lot) {
  for (Lot& held : account.lots) {
    if (held.issuance == lot.issuance) {
      held.points += lot.points;
      return true;
    }
  }
  if (account.lots.size() >= lots_per_account_max) return false;
  account.lots.insert(std::upper_bound(account.lots.begin(), account.lots.end(), lot, lot_order),
                      lot);
  return true;
}

Error sequence_error(std::uint64_t used, std::uint64_t given) {
  if (given <= used) {
    return Error{Code::sequence_too_low,
                 "sequence " + std::to_string(given) + " is used; next is " + std::to_string(used + 1)};
  }
  return Error{Code::sequence_too_high,
               "sequence " + std::to_string(given) + " skips ahead; next is " + std::to_string(used + 1)};
}

Error insufficient(std::uint64_t spendable, std::uint64_t needed) {
  return Error{Code::insufficient_balance, "has " + std::to_string(spendable) +
                                               " spendable points, needs " + std::to_string(needed)};
}

// The tier part of a version 2 account record: the window number and its points as LEB128
// (a customer's window is small and its points few, so most records spend 1 and 2 bytes on
// them), the three tiers, and the grant's partner and end only while a grant runs.
void encode_tier_part(Writer& out, const TierStatus& status) {
  out.length(status.window);
  out.length(status.window_points);
  out.u8(status.previous_tier);
  out.u8(status.earlier_tier);
  out.u8(status.tier);
  out.u8(status.granted_tier);
  if (status.granted_tier != 0) {
    out.u16(status.granted_by);
    out.u64(status.granted_until_ms);
  } else {
    PC_CHECK(status.granted_by == 0 && status.granted_until_ms == 0);
  }
}

TierStatus decode_tier_part(Reader& in) {
  TierStatus status;
  status.window = in.length(UINT64_MAX, "tier window");
  status.window_points = in.length(UINT64_MAX, "window points");
  status.previous_tier = in.u8();
  status.earlier_tier = in.u8();
  status.tier = in.u8();
  status.granted_tier = in.u8();
  if (status.granted_tier != 0) {
    status.granted_by = in.u16();
    status.granted_until_ms = in.u64();
  }
  return status;
}

Account decode_account(Reader& in, std::uint8_t version) {
  Account account;
  account.record_version = version;
  account.sequence = in.u64();
  const std::uint64_t count = in.length(lots_per_account_max, "lot count");
  for (std::uint64_t i = 0; i < count && in.ok(); ++i) {
    Lot lot;
    lot.partner = in.u16();
    lot.issuance.height = in.u64();
    lot.issuance.index = in.u32();
    lot.points = in.u64();
    lot.earned_at_ms = in.u64();
    lot.spendable_at_ms = in.u64();
    account.lots.push_back(lot);
  }
  if (version >= account_record_version_with_tier) account.tier = decode_tier_part(in);
  return account;
}

PartnerStats decode_partner(Reader& in) {
  PartnerStats stats;
  stats.issuer_sequence = in.u64();
  stats.issued = in.u64();
  stats.redeemed_at = in.u64();
  stats.issued_redeemed = in.u64();
  stats.expired = in.u64();
  stats.reversed = in.u64();
  stats.reversal_shortfall = in.u64();
  return stats;
}

// Version 3 (protocol version 4) has the fields of version 2 and the tier's, with every count
// of points or minor units and the block position as minimal LEB128: they are small, and an
// issuance record is written for every Issue (docs/protocol.md, "State records").
IssuanceRecord decode_issuance_v3(Reader& in) {
  IssuanceRecord issuance;
  issuance.record_version = issuance_record_version_with_tier;
  issuance.id.height = in.length(UINT64_MAX, "height");
  issuance.id.index = static_cast<std::uint32_t>(in.length(UINT32_MAX, "index"));
  issuance.customer = in.fixed<32>();
  issuance.points = in.length(UINT64_MAX, "points");
  issuance.spendable_at_ms = in.u64();
  const std::uint8_t reversed = in.u8();
  if (reversed > 1) in.fail(Code::invalid_field, "reversed flag must be 0 or 1");
  issuance.reversed = reversed == 1;
  issuance.reversed_points = in.length(UINT64_MAX, "reversed points");
  issuance.shortfall_points = in.length(UINT64_MAX, "shortfall points");
  const std::uint8_t has_purchase = in.u8();
  if (has_purchase > 1) in.fail(Code::invalid_field, "purchase flag must be 0 or 1");
  if (has_purchase == 1) issuance.purchase_amount_minor = static_cast<std::int64_t>(in.length(INT64_MAX, "purchase amount"));
  issuance.returned_minor = in.length(UINT64_MAX, "returned amount");
  issuance.tier = in.u8();
  issuance.multiplier_bp = static_cast<std::uint32_t>(in.length(UINT32_MAX, "multiplier"));
  return issuance;
}

void encode_issuance_v3(Writer& out, const IssuanceRecord& issuance) {
  out.length(issuance.id.height);
  out.length(issuance.id.index);
  out.raw(issuance.customer);
  out.length(issuance.points);
  out.u64(issuance.spendable_at_ms);
  out.u8(issuance.reversed ? 1 : 0);
  out.length(issuance.reversed_points);
  out.length(issuance.shortfall_points);
  out.u8(issuance.purchase_amount_minor ? 1 : 0);
  if (issuance.purchase_amount_minor) {
    PC_CHECK(*issuance.purchase_amount_minor >= 0);
    out.length(static_cast<std::uint64_t>(*issuance.purchase_amount_minor));
  }
  out.length(issuance.returned_minor);
  out.u8(issuance.tier);
  out.length(issuance.multiplier_bp);
}

IssuanceRecord decode_issuance(Reader& in, std::uint8_t version) {
  if (version == issuance_record_version_with_tier) return decode_issuance_v3(in);
  IssuanceRecord issuance;
  issuance.record_version = version;
  issuance.id.height = in.u64();
  issuance.id.index = in.u32();
  issuance.customer = in.fixed<32>();
  issuance.points = in.u64();
  issuance.spendable_at_ms = in.u64();
  issuance.reversed = in.u8() != 0;
  issuance.reversed_points = in.u64();
  issuance.shortfall_points = in.u64();
  if (version >= issuance_record_version_with_purchase) {
    const std::uint8_t has_purchase = in.u8();
    if (has_purchase > 1) in.fail(Code::invalid_field, "purchase flag must be 0 or 1");
    if (has_purchase == 1) issuance.purchase_amount_minor = in.i64();
    issuance.returned_minor = in.u64();
  }
  return issuance;
}

RewardRecord decode_reward(Reader& in) {
  RewardRecord reward;
  reward.revision = in.u32();
  reward.updated_height = in.u64();
  reward.redeemed = in.u64();
  reward.terms = decode_reward_terms(in);
  return reward;
}

RewardUsage decode_reward_usage(Reader& in) {
  RewardUsage usage;
  usage.total = in.u64();
  usage.period_start_ms = in.u64();
  usage.in_period = in.u64();
  return usage;
}

// Version 2: a voucher a full stamp card made, with its card id after version 1's fields.
constexpr std::uint8_t voucher_record_version_from_card = 2;

Voucher decode_voucher(Reader& in, std::uint8_t version) {
  Voucher voucher;
  voucher.customer = in.fixed<32>();
  voucher.reward_id = in.u32();
  voucher.redeemed_at_ms = in.u64();
  voucher.used_at_ms = in.u64();
  if (version == voucher_record_version_from_card) voucher.stamp_card_id = in.u32();
  return voucher;
}

StampCardRecord decode_stamp_card(Reader& in) {
  StampCardRecord card;
  card.revision = in.u32();
  card.updated_height = in.u64();
  card.filled = in.u64();
  card.terms = decode_stamp_card_terms(in);
  return card;
}

StampProgress decode_stamp_progress(Reader& in) {
  StampProgress progress;
  progress.card_number = in.u32();
  progress.stamps = in.u16();
  progress.started_at_ms = in.u64();
  progress.last_stamp_ms = in.u64();
  progress.filled = in.u32();
  return progress;
}

std::vector<StampGiven> decode_stamps_given(Reader& in) {
  std::vector<StampGiven> stamps;
  const std::uint64_t count = in.length(stamp_cards_per_partner_max, "stamp count");
  for (std::uint64_t i = 0; i < count && in.ok(); ++i) {
    StampGiven stamp;
    stamp.card_id = in.u32();
    stamp.card_number = in.u32();
    stamp.min_amount_minor = in.u64();
    const std::uint8_t taken_back = in.u8();
    if (taken_back > 1) in.fail(Code::invalid_field, "taken-back flag must be 0 or 1");
    stamp.taken_back = taken_back == 1;
    stamps.push_back(stamp);
  }
  return stamps;
}

BadgeRecord decode_badge(Reader& in) {
  BadgeRecord badge;
  badge.revision = in.u32();
  badge.updated_height = in.u64();
  badge.earned = in.u64();
  badge.terms = decode_badge_terms(in);
  return badge;
}

BadgeProgress decode_badge_progress(Reader& in) {
  BadgeProgress progress;
  progress.progress = in.u64();
  progress.earned_at_ms = in.u64();
  progress.earned_height = in.u64();
  progress.earned_index = in.u32();
  return progress;
}

PrepaidBalance decode_prepaid(Reader& in) {
  PrepaidBalance prepaid;
  prepaid.top_up_sequence = in.u64();
  prepaid.balance_points = in.u64();
  prepaid.topped_up_points = in.u64();
  return prepaid;
}

const PartnerBilling* billing_of(const Genesis& genesis, PartnerId partner) {
  return genesis.policy.billing ? genesis.policy.billing->of(partner) : nullptr;
}

bool is_prepaid(const Genesis& genesis, PartnerId partner) {
  const PartnerBilling* terms = billing_of(genesis, partner);
  return terms != nullptr && terms->plan == BillingPlan::prepaid;
}

PointValueRecord decode_point_value_record(Reader& in) {
  PointValueRecord record;
  record.revision = in.u32();
  record.effective_height = in.u64();
  record.value = decode_point_value(in);
  return record;
}

PaymentRecord decode_payment(Reader& in) {
  PaymentRecord payment;
  payment.partner = in.u16();
  payment.customer = in.fixed<32>();
  payment.order_id = in.string(reference_bytes_max, "order id");
  payment.amount_minor = in.u64();
  const ByteSpan currency = in.raw(3);
  payment.currency.assign(currency.begin(), currency.end());
  payment.points = in.u64();
  payment.paid_height = in.u64();
  payment.paid_at_ms = in.u64();
  payment.tx_id = in.fixed<32>();
  return payment;
}

PaymentTotals decode_payment_totals(Reader& in) {
  PaymentTotals totals;
  totals.payments = in.u64();
  totals.points = in.u64();
  totals.amount_minor = in.u64();
  return totals;
}

void big_endian_u32(Bytes& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(value >> shift));
}

Totals decode_totals(Reader& in) {
  Totals totals;
  totals.issued = in.u64();
  totals.redeemed = in.u64();
  totals.expired = in.u64();
  totals.reversed = in.u64();
  totals.balance_sum = in.u64();
  totals.accounts = in.u64();
  return totals;
}

// The accounts in key order: for the walks whose outcome could depend on the order (which
// broken invariant is reported first), so that it does not depend on the hash table's.
std::vector<const AccountMap::value_type*> in_key_order(const AccountMap& accounts) {
  std::vector<const AccountMap::value_type*> entries;
  entries.reserve(accounts.size());
  for (const auto& entry : accounts) entries.push_back(&entry);
  std::sort(entries.begin(), entries.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
  return entries;
}

template <class Map>
void collect_changed(const Map& map, std::vector<Record>& out, auto key_of, auto encode_value) {
  for (const auto& [key, value] : map) out.push_back({key_of(key), encode_value(value)});
}

// The catalog's records. A voucher written is written with its customer's index record, so
// both are in a block's changes whenever the voucher is (its creation, its use).
void collect_catalog(const std::map<RewardKey, RewardRecord>& rewards,
                     const std::map<RewardUsageKey, RewardUsage>& usage,
                     const std::map<VoucherKey, Voucher>& vouchers, std::vector<Record>& out) {
  collect_changed(rewards, out, [](const RewardKey& key) { return record::reward_key(key.first, key.second); },
                  [](const RewardRecord& value) { return record::encode(value); });
  collect_changed(usage, out,
                  [](const RewardUsageKey& key) {
                    return record::reward_usage_key(std::get<0>(key), std::get<1>(key), std::get<2>(key));
                  },
                  [](const RewardUsage& value) { return record::encode(value); });
  for (const auto& [key, voucher] : vouchers) {
    out.push_back({record::voucher_key(key.first, key.second), record::encode(voucher)});
    out.push_back({record::customer_voucher_key(voucher.customer, key.first, key.second), record::encode_customer_voucher()});
  }
}

// Paying with points' records.
void collect_payments(const std::map<PartnerId, PointValueRecord>& point_values,
                      const std::map<Hash256, PaymentRecord>& payments,
                      const std::map<PaymentTotalsKey, PaymentTotals>& payment_totals, std::vector<Record>& out) {
  collect_changed(point_values, out, record::point_value_key, [](const PointValueRecord& value) { return record::encode(value); });
  collect_changed(payments, out, record::payment_key, [](const PaymentRecord& value) { return record::encode(value); });
  collect_changed(payment_totals, out,
                  [](const PaymentTotalsKey& key) { return record::payment_totals_key(key.first, key.second); },
                  [](const PaymentTotals& value) { return record::encode(value); });
}

}  // namespace

std::string_view event_kind_name(Event::Kind kind) {
  switch (kind) {
    case Event::Kind::earned: return "earned";
    case Event::Kind::redeemed: return "redeemed";
    case Event::Kind::transferred_out: return "transferred_out";
    case Event::Kind::transferred_in: return "transferred_in";
    case Event::Kind::expired: return "expired";
    case Event::Kind::reversed: return "reversed";
  }
  return "unknown";
}

std::uint64_t Account::balance() const {
  std::uint64_t total = 0;
  for (const Lot& lot : lots) total += lot.points;
  return total;
}

std::uint64_t Account::spendable(std::uint64_t time_ms) const {
  std::uint64_t total = 0;
  for (const Lot& lot : lots) {
    if (lot.spendable_at_ms <= time_ms) total += lot.points;
  }
  return total;
}

// ---------------------------------------------------------------------------------------
// Records

namespace record {

Bytes account_key(const PublicKey& key) { return key_with_tag(account_tag, key); }

Bytes partner_key(PartnerId id) {
  Bytes out = key_with_tag(partner_tag, {});
  big_endian_u16(out, id);
  return out;
}

Bytes issuance_key(PartnerId partner, std::string_view reference) {
  Bytes out = key_with_tag(issuance_tag, {});
  big_endian_u16(out, partner);
  out.insert(out.end(), reference.begin(), reference.end());
  return out;
}

Bytes settlement_key(PartnerId issuer, PartnerId redeemer) {
  Bytes out = key_with_tag(settlement_tag, {});
  big_endian_u16(out, issuer);
  big_endian_u16(out, redeemer);
  return out;
}

Bytes totals_key() { return key_with_tag(totals_tag, {}); }

Bytes reward_key(PartnerId partner, std::uint32_t reward_id) {
  Bytes out = key_with_tag(reward_tag, {});
  big_endian_u16(out, partner);
  big_endian_u32(out, reward_id);
  return out;
}

Bytes reward_usage_key(PartnerId partner, std::uint32_t reward_id, const PublicKey& customer) {
  Bytes out = key_with_tag(reward_usage_tag, {});
  big_endian_u16(out, partner);
  big_endian_u32(out, reward_id);
  out.insert(out.end(), customer.begin(), customer.end());
  return out;
}

Bytes voucher_key(PartnerId partner, std::string_view code) {
  Bytes out = key_with_tag(voucher_tag, {});
  big_endian_u16(out, partner);
  out.insert(out.end(), code.begin(), code.end());
  return out;
}

Bytes customer_voucher_key(const PublicKey& customer, PartnerId partner, std::string_view code) {
  Bytes out = key_with_tag(customer_voucher_tag, customer);
  big_endian_u16(out, partner);
  out.insert(out.end(), code.begin(), code.end());
  return out;
}

// (partner, id) and (partner, id, customer) keys of the stamp card and badge records.
Bytes partner_item_key(std::uint8_t tag, PartnerId partner, std::uint32_t id) {
  Bytes out = key_with_tag(tag, {});
  big_endian_u16(out, partner);
  big_endian_u32(out, id);
  return out;
}

Bytes partner_item_customer_key(std::uint8_t tag, PartnerId partner, std::uint32_t id, const PublicKey& customer) {
  Bytes out = partner_item_key(tag, partner, id);
  out.insert(out.end(), customer.begin(), customer.end());
  return out;
}

Bytes stamp_card_key(PartnerId partner, std::uint32_t card_id) { return partner_item_key(stamp_card_tag, partner, card_id); }

Bytes stamp_progress_key(PartnerId partner, std::uint32_t card_id, const PublicKey& customer) {
  return partner_item_customer_key(stamp_progress_tag, partner, card_id, customer);
}

Bytes stamps_given_key(PartnerId partner, std::string_view reference) {
  Bytes out = key_with_tag(stamps_given_tag, {});
  big_endian_u16(out, partner);
  out.insert(out.end(), reference.begin(), reference.end());
  return out;
}

Bytes badge_key(PartnerId partner, std::uint32_t badge_id) { return partner_item_key(badge_tag, partner, badge_id); }

Bytes badge_progress_key(PartnerId partner, std::uint32_t badge_id, const PublicKey& customer) {
  return partner_item_customer_key(badge_progress_tag, partner, badge_id, customer);
}

Bytes encode(const StampCardRecord& card) {
  Writer out;
  out.u8(record_version);
  out.u32(card.revision);
  out.u64(card.updated_height);
  out.u64(card.filled);
  encode_stamp_card_terms(out, card.terms);
  return out.take();
}

Bytes encode(const StampProgress& progress) {
  Writer out;
  out.u8(record_version);
  out.u32(progress.card_number);
  out.u16(progress.stamps);
  out.u64(progress.started_at_ms);
  out.u64(progress.last_stamp_ms);
  out.u32(progress.filled);
  return out.take();
}

Bytes encode(const std::vector<StampGiven>& stamps) {
  PC_CHECK(stamps.size() <= stamp_cards_per_partner_max);
  Writer out;
  out.u8(record_version);
  out.length(stamps.size());
  for (const StampGiven& stamp : stamps) {
    out.u32(stamp.card_id);
    out.u32(stamp.card_number);
    out.u64(stamp.min_amount_minor);
    out.u8(stamp.taken_back ? 1 : 0);
  }
  return out.take();
}

Bytes encode(const BadgeRecord& badge) {
  Writer out;
  out.u8(record_version);
  out.u32(badge.revision);
  out.u64(badge.updated_height);
  out.u64(badge.earned);
  encode_badge_terms(out, badge.terms);
  return out.take();
}

Bytes encode(const BadgeProgress& progress) {
  Writer out;
  out.u8(record_version);
  out.u64(progress.progress);
  out.u64(progress.earned_at_ms);
  out.u64(progress.earned_height);
  out.u32(progress.earned_index);
  return out.take();
}

Bytes encode(const RewardRecord& reward) {
  Writer out;
  out.u8(record_version);
  out.u32(reward.revision);
  out.u64(reward.updated_height);
  out.u64(reward.redeemed);
  encode_reward_terms(out, reward.terms);
  return out.take();
}

Bytes encode(const RewardUsage& usage) {
  Writer out;
  out.u8(record_version);
  out.u64(usage.total);
  out.u64(usage.period_start_ms);
  out.u64(usage.in_period);
  return out.take();
}

Bytes encode(const Voucher& voucher) {
  Writer out;
  out.u8(voucher.stamp_card_id ? voucher_record_version_from_card : record_version);
  out.raw(voucher.customer);
  out.u32(voucher.reward_id);
  out.u64(voucher.redeemed_at_ms);
  out.u64(voucher.used_at_ms);
  if (voucher.stamp_card_id) out.u32(*voucher.stamp_card_id);
  return out.take();
}

Bytes encode_customer_voucher() { return Bytes{record_version}; }

Bytes prepaid_key(PartnerId partner) {
  Bytes out = key_with_tag(prepaid_tag, {});
  big_endian_u16(out, partner);
  return out;
}

Bytes encode(const PrepaidBalance& prepaid) {
  Writer out;
  out.u8(record_version);
  out.u64(prepaid.top_up_sequence);
  out.u64(prepaid.balance_points);
  out.u64(prepaid.topped_up_points);
  return out.take();
}

Bytes point_value_key(PartnerId partner) {
  Bytes out = key_with_tag(point_value_tag, {});
  big_endian_u16(out, partner);
  return out;
}

Bytes payment_totals_key(PartnerId partner, std::string_view currency) {
  Bytes out = point_value_key(partner);
  out.insert(out.end(), currency.begin(), currency.end());
  return out;
}

Bytes payment_key(const Hash256& request_id) { return key_with_tag(payment_tag, request_id); }

Bytes encode(const PointValueRecord& value) {
  Writer out;
  out.u8(record_version);
  out.u32(value.revision);
  out.u64(value.effective_height);
  encode_point_value(out, value.value);
  return out.take();
}

Bytes encode(const PaymentRecord& payment) {
  Writer out;
  out.u8(record_version);
  out.u16(payment.partner);
  out.raw(payment.customer);
  out.string(payment.order_id);
  out.u64(payment.amount_minor);
  out.raw(as_bytes(payment.currency));
  out.u64(payment.points);
  out.u64(payment.paid_height);
  out.u64(payment.paid_at_ms);
  out.raw(payment.tx_id);
  return out.take();
}

Bytes encode(const PaymentTotals& totals) {
  Writer out;
  out.u8(record_version);
  out.u64(totals.payments);
  out.u64(totals.points);
  out.u64(totals.amount_minor);
  return out.take();
}

Bytes encode(const Account& account) {
  Writer out;
  PC_CHECK(account.record_version == record_version || account.record_version == account_record_version_with_tier);
  out.u8(account.record_version);
  out.u64(account.sequence);
  out.length(account.lots.size());
  for (const Lot& lot : account.lots) {
    out.u16(lot.partner);
    out.u64(lot.issuance.height);
    out.u32(lot.issuance.index);
    out.u64(lot.points);
    out.u64(lot.earned_at_ms);
    out.u64(lot.spendable_at_ms);
  }
  if (account.record_version == account_record_version_with_tier) {
    encode_tier_part(out, account.tier);
  } else {
    PC_CHECK(account.tier == TierStatus{});
  }
  return out.take();
}

Bytes encode(const PartnerStats& stats) {
  Writer out;
  out.u8(record_version);
  out.u64(stats.issuer_sequence);
  out.u64(stats.issued);
  out.u64(stats.redeemed_at);
  out.u64(stats.issued_redeemed);
  out.u64(stats.expired);
  out.u64(stats.reversed);
  out.u64(stats.reversal_shortfall);
  return out.take();
}

Bytes encode(const IssuanceRecord& issuance) {
  Writer out;
  PC_CHECK(issuance.record_version >= record_version && issuance.record_version <= issuance_record_version_with_tier);
  out.u8(issuance.record_version);
  if (issuance.record_version == issuance_record_version_with_tier) {
    encode_issuance_v3(out, issuance);
    return out.take();
  }
  PC_CHECK(issuance.tier == 0 && issuance.multiplier_bp == 0);
  out.u64(issuance.id.height);
  out.u32(issuance.id.index);
  out.raw(issuance.customer);
  out.u64(issuance.points);
  out.u64(issuance.spendable_at_ms);
  out.u8(issuance.reversed ? 1 : 0);
  out.u64(issuance.reversed_points);
  out.u64(issuance.shortfall_points);
  if (issuance.record_version >= issuance_record_version_with_purchase) {
    out.u8(issuance.purchase_amount_minor ? 1 : 0);
    if (issuance.purchase_amount_minor) out.i64(*issuance.purchase_amount_minor);
    out.u64(issuance.returned_minor);
  } else {
    PC_CHECK(!issuance.purchase_amount_minor && issuance.returned_minor == 0);
  }
  return out.take();
}

Bytes encode_settlement(std::uint64_t points) {
  Writer out;
  out.u8(record_version);
  out.u64(points);
  return out.take();
}

Bytes encode(const Totals& totals) {
  Writer out;
  out.u8(record_version);
  out.u64(totals.issued);
  out.u64(totals.redeemed);
  out.u64(totals.expired);
  out.u64(totals.reversed);
  out.u64(totals.balance_sum);
  out.u64(totals.accounts);
  return out.take();
}

Hash256 changes_digest(const std::vector<Record>& sorted_records) {
  Writer out;
  out.raw(domain::state_changes);
  out.length(sorted_records.size());
  for (const Record& entry : sorted_records) {
    out.bytes(entry.key);
    out.bytes(entry.value);
  }
  return crypto::sha256(out.view());
}

Hash256 chain_state_hash(const Hash256& previous, const Hash256& digest) {
  return crypto::tagged_hash(domain::state_chain, {previous, digest});
}

}  // namespace record

// ---------------------------------------------------------------------------------------
// State

State::State(Genesis genesis) : genesis_(std::move(genesis)) {
  time_ms_ = genesis_.genesis_time_ms;
  for (const Partner& partner : genesis_.partners) partners_[partner.id] = PartnerStats{};
  if (genesis_.policy.billing) {
    for (const PartnerBilling& terms : genesis_.policy.billing->partners) {
      if (terms.plan == BillingPlan::prepaid) prepaid_[terms.partner] = PrepaidBalance{0, terms.initial_prepaid_points, 0};
    }
  }
  state_hash_ = record::chain_state_hash(genesis_.hash(), record::changes_digest(records()));
}

Result<Account> record::decode_account_value(ByteSpan value) {
  Reader in(value);
  const std::uint8_t version = in.u8();
  if (version != record_version && version != account_record_version_with_tier) {
    return Error{Code::corruption, "unknown record version"};
  }
  Account account = decode_account(in, version);
  if (auto status = in.finish(); !status) return Error{Code::corruption, "account record: " + status.error().message()};
  return account;
}

namespace {

template <class Value>
Result<Value> decode_record_value(ByteSpan value, std::string_view what, Value (*decode)(Reader&)) {
  Reader in(value);
  if (in.u8() != record_version) return Error{Code::corruption, "unknown record version"};
  Value decoded = decode(in);
  if (auto status = in.finish(); !status) {
    return Error{Code::corruption, std::string(what) + " record: " + status.error().message()};
  }
  return decoded;
}

}  // namespace

Result<RewardRecord> record::decode_reward_value(ByteSpan value) {
  return decode_record_value<RewardRecord>(value, "reward", decode_reward);
}

Result<RewardUsage> record::decode_reward_usage_value(ByteSpan value) {
  return decode_record_value<RewardUsage>(value, "reward usage", decode_reward_usage);
}

Result<Voucher> record::decode_voucher_value(ByteSpan value) {
  Reader in(value);
  const std::uint8_t version = in.u8();
  if (version != record_version && version != voucher_record_version_from_card) {
    return Error{Code::corruption, "unknown record version"};
  }
  Voucher voucher = decode_voucher(in, version);
  if (auto status = in.finish(); !status) return Error{Code::corruption, "voucher record: " + status.error().message()};
  return voucher;
}

Result<StampCardRecord> record::decode_stamp_card_value(ByteSpan value) {
  return decode_record_value<StampCardRecord>(value, "stamp card", decode_stamp_card);
}

Result<StampProgress> record::decode_stamp_progress_value(ByteSpan value) {
  return decode_record_value<StampProgress>(value, "stamp progress", decode_stamp_progress);
}

Result<std::vector<StampGiven>> record::decode_stamps_given_value(ByteSpan value) {
  return decode_record_value<std::vector<StampGiven>>(value, "stamps given", decode_stamps_given);
}

Result<BadgeRecord> record::decode_badge_value(ByteSpan value) {
  return decode_record_value<BadgeRecord>(value, "badge", decode_badge);
}

Result<BadgeProgress> record::decode_badge_progress_value(ByteSpan value) {
  return decode_record_value<BadgeProgress>(value, "badge progress", decode_badge_progress);
}

void StampsAndBadges::collect(std::vector<Record>& out) const {
  collect_changed(cards, out, [](const StampCardKey& key) { return record::stamp_card_key(key.first, key.second); },
                  [](const StampCardRecord& value) { return record::encode(value); });
  collect_changed(progress, out,
                  [](const StampProgressKey& key) {
                    return record::stamp_progress_key(std::get<0>(key), std::get<1>(key), std::get<2>(key));
                  },
                  [](const StampProgress& value) { return record::encode(value); });
  collect_changed(stamps_given, out, [](const IssuanceKey& key) { return record::stamps_given_key(key.first, key.second); },
                  [](const std::vector<StampGiven>& value) { return record::encode(value); });
  collect_changed(badges, out, [](const BadgeKey& key) { return record::badge_key(key.first, key.second); },
                  [](const BadgeRecord& value) { return record::encode(value); });
  collect_changed(badge_progress, out,
                  [](const BadgeProgressKey& key) {
                    return record::badge_progress_key(std::get<0>(key), std::get<1>(key), std::get<2>(key));
                  },
                  [](const BadgeProgress& value) { return record::encode(value); });
}

void StampsAndBadges::merge(StampsAndBadges&& changes) {
  for (auto& [key, value] : changes.cards) cards.insert_or_assign(key, std::move(value));
  for (auto& [key, value] : changes.progress) progress.insert_or_assign(key, value);
  for (auto& [key, value] : changes.stamps_given) stamps_given.insert_or_assign(key, std::move(value));
  for (auto& [key, value] : changes.badges) badges.insert_or_assign(key, std::move(value));
  for (auto& [key, value] : changes.badge_progress) badge_progress.insert_or_assign(key, value);
}

Result<PrepaidBalance> record::decode_prepaid_value(ByteSpan value) {
  return decode_record_value<PrepaidBalance>(value, "prepaid", decode_prepaid);
}

Result<PointValueRecord> record::decode_point_value_value(ByteSpan value) {
  return decode_record_value<PointValueRecord>(value, "point value", decode_point_value_record);
}

Result<PaymentRecord> record::decode_payment_value(ByteSpan value) {
  return decode_record_value<PaymentRecord>(value, "payment", decode_payment);
}

Result<PaymentTotals> record::decode_payment_totals_value(ByteSpan value) {
  return decode_record_value<PaymentTotals>(value, "payment totals", decode_payment_totals);
}

Result<State> State::from_records(Genesis genesis, std::uint64_t height, std::uint64_t time_ms,
                                  const Hash256& state_hash, const std::vector<Record>& records) {
  State state(std::move(genesis));
  state.partners_.clear();
  state.prepaid_.clear();
  state.height_ = height;
  state.time_ms_ = time_ms;
  state.state_hash_ = state_hash;
  for (const Record& entry : records) {
    if (entry.key.empty() || entry.value.empty()) return Error{Code::corruption, "empty record"};
    Reader in(entry.value);
    const std::uint8_t version = in.u8();
    // Issuance records are version 2 on chains with the rewards catalog, 3 with tiers; a voucher
    // is version 2 when a stamp card made it (protocol version 4 on).
    std::uint8_t expected_version = record_version;
    if (entry.key[0] == issuance_tag) expected_version = issuance_record_version(state.genesis_.protocol_version);
    if (entry.key[0] == account_tag) expected_version = account_record_version(state.genesis_.protocol_version);
    const bool card_voucher = entry.key[0] == record::voucher_tag && version == voucher_record_version_from_card &&
                              has_stamp_cards(state.genesis_.protocol_version);
    if (version != expected_version && !card_voucher) return Error{Code::corruption, "unknown record version"};
    const std::string key_hex = to_hex(entry.key);
    const ByteSpan key_body = ByteSpan(entry.key).subspan(1);
    const auto id_at = [&](std::size_t offset) {
      return static_cast<PartnerId>((key_body[offset] << 8) | key_body[offset + 1]);
    };
    const auto u32_at = [&](std::size_t offset) {
      return (std::uint32_t{key_body[offset]} << 24) | (std::uint32_t{key_body[offset + 1]} << 16) |
             (std::uint32_t{key_body[offset + 2]} << 8) | std::uint32_t{key_body[offset + 3]};
    };
    switch (entry.key[0]) {
      case account_tag: {
        if (key_body.size() != 32) return Error{Code::corruption, "account key " + key_hex};
        PublicKey key{};
        std::copy(key_body.begin(), key_body.end(), key.begin());
        Account account = decode_account(in, version);
        if (in.ok()) {
          state.reindex_expiry(key, nullptr, account);
          state.reindex_tier(key, account.tier, time_ms);
          state.accounts_.emplace(key, std::move(account));
        }
        break;
      }
      case partner_tag:
        if (key_body.size() != 2) return Error{Code::corruption, "partner key " + key_hex};
        state.partners_[id_at(0)] = decode_partner(in);
        break;
      case issuance_tag: {
        if (key_body.size() < 3) return Error{Code::corruption, "issuance key " + key_hex};
        std::string reference(key_body.begin() + 2, key_body.end());
        state.issuances_[{id_at(0), std::move(reference)}] = decode_issuance(in, version);
        break;
      }
      case record::reward_tag:
      case reward_usage_tag:
      case record::voucher_tag:
      case record::customer_voucher_tag:
        if (!has_rewards_catalog(state.genesis_.protocol_version)) {
          return Error{Code::corruption, "catalog record " + key_hex + " on a chain without the rewards catalog"};
        }
        if (entry.key[0] == record::reward_tag) {
          if (key_body.size() != 6) return Error{Code::corruption, "reward key " + key_hex};
          state.rewards_[{id_at(0), u32_at(2)}] =
              decode_reward(in);
        } else if (entry.key[0] == reward_usage_tag) {
          if (key_body.size() != 38) return Error{Code::corruption, "reward usage key " + key_hex};
          PublicKey customer{};
          std::copy(key_body.begin() + 6, key_body.end(), customer.begin());
          state.reward_usage_[{id_at(0), u32_at(2),
                               customer}] = decode_reward_usage(in);
        } else if (entry.key[0] == record::voucher_tag) {
          if (key_body.size() != 2 + voucher_code_chars) return Error{Code::corruption, "voucher key " + key_hex};
          std::string code(key_body.begin() + 2, key_body.end());
          state.vouchers_[{id_at(0), std::move(code)}] = decode_voucher(in, version);
        }
        // A customer's voucher index record holds nothing of its own: records() derives it
        // from the vouchers, and the comparison below proves the stored one equal.
        break;
      case record::prepaid_tag:
        if (!has_billing_terms(state.genesis_.protocol_version)) {
          return Error{Code::corruption, "prepaid record " + key_hex + " on a chain without billing terms"};
        }
        if (key_body.size() != 2) return Error{Code::corruption, "prepaid key " + key_hex};
        state.prepaid_[id_at(0)] = decode_prepaid(in);
        break;
      case record::stamp_card_tag:
      case record::stamp_progress_tag:
      case record::stamps_given_tag:
      case record::badge_tag:
      case record::badge_progress_tag: {
        if (!has_stamp_cards(state.genesis_.protocol_version)) {
          return Error{Code::corruption, "stamp card or badge record " + key_hex + " on a chain without them"};
        }
        StampsAndBadges& loyalty = state.stamps_and_badges_;
        const auto customer_at_6 = [&] {
          PublicKey customer{};
          std::copy(key_body.begin() + 6, key_body.end(), customer.begin());
          return customer;
        };
        const std::uint8_t tag = entry.key[0];
        const bool has_customer = tag == record::stamp_progress_tag || tag == record::badge_progress_tag;
        if (tag == record::stamps_given_tag) {
          if (key_body.size() < 3) return Error{Code::corruption, "stamps-given key " + key_hex};
          loyalty.stamps_given[{id_at(0), std::string(key_body.begin() + 2, key_body.end())}] = decode_stamps_given(in);
        } else if (key_body.size() != (has_customer ? 38u : 6u)) {
          return Error{Code::corruption, "stamp card or badge key " + key_hex};
        } else if (tag == record::stamp_card_tag) {
          loyalty.cards[{id_at(0), u32_at(2)}] = decode_stamp_card(in);
        } else if (tag == record::stamp_progress_tag) {
          loyalty.progress[{id_at(0), u32_at(2), customer_at_6()}] = decode_stamp_progress(in);
        } else if (tag == record::badge_tag) {
          loyalty.badges[{id_at(0), u32_at(2)}] = decode_badge(in);
        } else {
          loyalty.badge_progress[{id_at(0), u32_at(2), customer_at_6()}] = decode_badge_progress(in);
        }
        break;
      }
      case record::point_value_tag:
      case record::payment_tag:
        if (!has_points_payments(state.genesis_.protocol_version)) {
          return Error{Code::corruption, "payment record " + key_hex + " on a chain without points payments"};
        }
        if (entry.key[0] == record::payment_tag) {
          if (key_body.size() != 32) return Error{Code::corruption, "payment key " + key_hex};
          Hash256 id{};
          std::copy(key_body.begin(), key_body.end(), id.begin());
          state.payments_[id] = decode_payment(in);
        } else if (key_body.size() == 2) {
          state.point_values_[id_at(0)] = decode_point_value_record(in);
        } else if (key_body.size() == 5) {
          state.payment_totals_[{id_at(0), std::string(key_body.begin() + 2, key_body.end())}] = decode_payment_totals(in);
        } else {
          return Error{Code::corruption, "point value key " + key_hex};
        }
        break;
      case settlement_tag:
        if (key_body.size() != 4) return Error{Code::corruption, "settlement key " + key_hex};
        state.settlement_[{id_at(0), id_at(2)}] = in.u64();
        break;
      case totals_tag:
        if (!key_body.empty()) return Error{Code::corruption, "totals key " + key_hex};
        state.totals_ = decode_totals(in);
        break;
      default:
        return Error{Code::corruption, "unknown record key " + key_hex};
    }
    if (auto status = in.finish(); !status) {
      return Error{Code::corruption, "record " + key_hex + ": " + status.error().message()};
    }
  }
  for (const Partner& partner : state.genesis_.partners) {
    if (state.partner(partner.id) == nullptr) {
      return Error{Code::corruption, "no record for partner " + std::to_string(partner.id)};
    }
  }
  if (state.records() != records) {
    return Error{Code::corruption, "stored records are not in canonical form"};
  }
  if (auto status = state.check_invariants(); !status) return status.error();
  return state;
}

const Account* State::account(const PublicKey& key) const {
  auto found = accounts_.find(key);
  return found == accounts_.end() ? nullptr : &found->second;
}

const PartnerStats* State::partner(PartnerId id) const {
  auto found = partners_.find(id);
  return found == partners_.end() ? nullptr : &found->second;
}

const IssuanceRecord* State::issuance(PartnerId partner, const std::string& reference) const {
  auto found = issuances_.find({partner, reference});
  return found == issuances_.end() ? nullptr : &found->second;
}

std::vector<std::string> State::issuance_references_with_prefix(PartnerId partner, std::string_view prefix,
                                                                std::size_t count_max) const {
  std::vector<std::string> references;
  for (auto it = issuances_.lower_bound({partner, std::string(prefix)});
       it != issuances_.end() && it->first.first == partner && it->first.second.starts_with(prefix) &&
       references.size() < count_max;
       ++it) {
    references.push_back(it->first.second);
  }
  return references;
}

std::uint64_t State::settlement(PartnerId issuer, PartnerId redeemer) const {
  auto found = settlement_.find({issuer, redeemer});
  return found == settlement_.end() ? 0 : found->second;
}

const RewardRecord* State::reward(PartnerId partner, std::uint32_t reward_id) const {
  auto found = rewards_.find({partner, reward_id});
  return found == rewards_.end() ? nullptr : &found->second;
}

const RewardUsage* State::reward_usage(PartnerId partner, std::uint32_t reward_id, const PublicKey& customer) const {
  auto found = reward_usage_.find({partner, reward_id, customer});
  return found == reward_usage_.end() ? nullptr : &found->second;
}

const PrepaidBalance* State::prepaid(PartnerId partner) const {
  auto found = prepaid_.find(partner);
  return found == prepaid_.end() ? nullptr : &found->second;
}

const Voucher* State::voucher(PartnerId partner, const std::string& code) const {
  auto found = vouchers_.find({partner, code});
  return found == vouchers_.end() ? nullptr : &found->second;
}

namespace {

template <class Map, class Key>
const typename Map::mapped_type* find_in(const Map& map, const Key& key) {
  auto found = map.find(key);
  return found == map.end() ? nullptr : &found->second;
}

}  // namespace

const StampCardRecord* State::stamp_card(PartnerId partner, std::uint32_t card_id) const {
  return find_in(stamps_and_badges_.cards, StampCardKey{partner, card_id});
}

const StampProgress* State::stamp_progress(PartnerId partner, std::uint32_t card_id, const PublicKey& customer) const {
  return find_in(stamps_and_badges_.progress, StampProgressKey{partner, card_id, customer});
}

const std::vector<StampGiven>* State::stamps_given(PartnerId partner, const std::string& reference) const {
  return find_in(stamps_and_badges_.stamps_given, IssuanceKey{partner, reference});
}

const BadgeRecord* State::badge(PartnerId partner, std::uint32_t badge_id) const {
  return find_in(stamps_and_badges_.badges, BadgeKey{partner, badge_id});
}

const BadgeProgress* State::badge_progress(PartnerId partner, std::uint32_t badge_id, const PublicKey& customer) const {
  return find_in(stamps_and_badges_.badge_progress, BadgeProgressKey{partner, badge_id, customer});
}

const TierStatus* State::tier_status(const PublicKey& customer) const {
  const Account* held = account(customer);
  return held == nullptr ? nullptr : &held->tier;
}

TierStatus State::settled_tier(const PublicKey& customer) const {
  const TierStatus* stored = tier_status(customer);
  return settle_tier(genesis_.policy.tiers, genesis_.genesis_time_ms, stored == nullptr ? TierStatus{} : *stored, time_ms_);
}

const PointValueRecord* State::point_value(PartnerId partner) const {
  auto found = point_values_.find(partner);
  return found == point_values_.end() ? nullptr : &found->second;
}

const PaymentRecord* State::payment(const Hash256& request_id) const {
  auto found = payments_.find(request_id);
  return found == payments_.end() ? nullptr : &found->second;
}

std::vector<Record> State::records() const {
  std::vector<Record> out;
  out.reserve(accounts_.size() + issuances_.size() + partners_.size() + settlement_.size() + rewards_.size() +
              reward_usage_.size() + 2 * vouchers_.size() + stamps_and_badges_.size() +
              prepaid_.size() + point_values_.size() + payments_.size() + payment_totals_.size() + 1);
  collect_catalog(rewards_, reward_usage_, vouchers_, out);
  collect_changed(prepaid_, out, record::prepaid_key, [](const PrepaidBalance& value) { return record::encode(value); });
  collect_payments(point_values_, payments_, payment_totals_, out);
  stamps_and_badges_.collect(out);
  for (const auto* entry : in_key_order(accounts_)) {
    out.push_back({record::account_key(entry->first), record::encode(entry->second)});
  }
  collect_changed(issuances_, out,
                  [](const auto& key) { return record::issuance_key(key.first, key.second); },
                  [](const IssuanceRecord& value) { return record::encode(value); });
  collect_changed(partners_, out, record::partner_key,
                  [](const PartnerStats& value) { return record::encode(value); });
  collect_changed(settlement_, out,
                  [](const auto& key) { return record::settlement_key(key.first, key.second); },
                  record::encode_settlement);
  out.push_back({record::totals_key(), record::encode(totals_)});
  std::sort(out.begin(), out.end(), [](const Record& a, const Record& b) { return a.key < b.key; });
  return out;
}

std::optional<std::uint64_t> State::next_expiry_ms() const {
  if (expiry_queue_.empty()) return std::nullopt;
  return expiry_queue_.begin()->first;
}

std::optional<std::uint64_t> State::next_tier_change_ms() const {
  if (tier_queue_.empty()) return std::nullopt;
  return tier_queue_.begin()->first;
}

void State::reindex_tier(const PublicKey& key, const TierStatus& status, std::uint64_t now) {
  if (genesis_.policy.tiers.tiers.empty()) return;
  const auto next = ledger::next_tier_change_ms(genesis_.policy.tiers, genesis_.genesis_time_ms, status, now);
  auto queued = tier_change_at_.find(key);
  if (queued != tier_change_at_.end()) {
    // Most transactions leave the moment alone: keep its entry rather than take it out and
    // put it back.
    if (next == queued->second) return;
    tier_queue_.erase({queued->second, key});
    if (!next) {
      tier_change_at_.erase(queued);
      return;
    }
    queued->second = *next;
  } else {
    if (!next) return;
    tier_change_at_.emplace(key, *next);
  }
  tier_queue_.insert({*next, key});
}

std::uint64_t State::expiry_ms() const {
  return std::uint64_t{genesis_.policy.point_expiry_days} * ms_per_day;
}

void State::reindex_expiry(const PublicKey& key, const Account* before, const Account& after) {
  const std::uint64_t expiry = expiry_ms();
  if (expiry == 0) return;
  const auto expires_at_ms = [expiry](const Account* account) -> std::optional<std::uint64_t> {
    if (account == nullptr || account->lots.empty()) return std::nullopt;
    return account->lots.front().earned_at_ms + expiry;
  };
  const auto before_ms = expires_at_ms(before);
  const auto after_ms = expires_at_ms(&after);
  // Most transactions leave the oldest lot where it was: keep its entry.
  if (before_ms == after_ms) return;
  if (before_ms) expiry_queue_.erase({*before_ms, key});
  if (after_ms) expiry_queue_.insert({*after_ms, key});
}

void State::apply(BlockChanges&& changes) {
  PC_CHECK(changes.context.height == height_ + 1);
  PC_CHECK(changes.context.time_ms > time_ms_);
  for (auto& [key, account] : changes.accounts) {
    auto [entry, opened] = accounts_.try_emplace(key);
    reindex_expiry(key, opened ? nullptr : &entry->second, account);
    reindex_tier(key, account.tier, changes.context.time_ms);
    entry->second = std::move(account);
  }
  for (auto& [id, stats] : changes.partners) partners_[id] = stats;
  for (auto& [key, issuance] : changes.issuances) issuances_.insert_or_assign(key, std::move(issuance));
  for (auto& [key, points] : changes.settlement) settlement_[key] = points;
  for (auto& [key, reward] : changes.rewards) rewards_.insert_or_assign(key, std::move(reward));
  for (auto& [key, usage] : changes.reward_usage) reward_usage_.insert_or_assign(key, usage);
  for (auto& [key, voucher] : changes.vouchers) vouchers_.insert_or_assign(key, voucher);
  for (auto& [partner, prepaid] : changes.prepaid) prepaid_[partner] = prepaid;
  stamps_and_badges_.merge(std::move(changes.stamps_and_badges));
  for (auto& [key, value] : changes.point_values) point_values_.insert_or_assign(key, std::move(value));
  for (auto& [key, payment] : changes.payments) payments_.insert_or_assign(key, std::move(payment));
  for (auto& [key, totals] : changes.payment_totals) payment_totals_.insert_or_assign(key, totals);
  totals_ = changes.totals;
  height_ = changes.context.height;
  time_ms_ = changes.context.time_ms;
  state_hash_ = changes.state_hash;
}

Status State::check_invariants() const {
  const auto fail = [](std::string detail) { return Error{Code::invariant_violated, std::move(detail)}; };
  std::map<PartnerId, std::uint64_t> held_by_partner;
  std::uint64_t balance_sum = 0;
  const std::vector<const AccountMap::value_type*> accounts = in_key_order(accounts_);
  for (const auto* entry : accounts) {
    const Account& account = entry->second;
    for (std::size_t i = 0; i < account.lots.size(); ++i) {
      const Lot& lot = account.lots[i];
      if (lot.points == 0) return fail("an empty lot is kept");
      if (i > 0 && !lot_order(account.lots[i - 1], lot)) return fail("lots out of order");
      held_by_partner[lot.partner] += lot.points;
      balance_sum += lot.points;
    }
  }
  if (accounts_.size() != totals_.accounts) return fail("account count differs from totals");
  if (balance_sum != totals_.balance_sum) return fail("sum of balances differs from totals");
  if (balance_sum != totals_.issued - totals_.redeemed - totals_.expired - totals_.reversed) {
    return fail("sum of balances != issued - redeemed - expired - reversed");
  }
  Totals from_partners;
  std::map<PartnerId, std::uint64_t> redeemed_at;
  std::map<PartnerId, std::uint64_t> issued_redeemed;
  for (const auto& [key, points] : settlement_) {
    issued_redeemed[key.first] += points;
    redeemed_at[key.second] += points;
  }
  for (const auto& [id, stats] : partners_) {
    if (genesis_.partner(id) == nullptr) return fail("stats for a partner not in genesis");
    if (stats.issued < stats.issued_redeemed + stats.expired + stats.reversed) {
      return fail("partner " + std::to_string(id) + " has negative liability");
    }
    if (stats.outstanding() != held_by_partner[id]) {
      return fail("partner " + std::to_string(id) + " liability differs from the lots held");
    }
    if (stats.issued_redeemed != issued_redeemed[id] || stats.redeemed_at != redeemed_at[id]) {
      return fail("partner " + std::to_string(id) + " redemptions differ from settlement");
    }
    from_partners.issued += stats.issued;
    from_partners.redeemed += stats.redeemed_at;
    from_partners.expired += stats.expired;
    from_partners.reversed += stats.reversed;
  }
  if (from_partners.issued != totals_.issued || from_partners.redeemed != totals_.redeemed ||
      from_partners.expired != totals_.expired || from_partners.reversed != totals_.reversed) {
    return fail("per-partner counters do not add up to totals");
  }
  // The catalog: a reward's units redeemed are its customers' usage and its vouchers.
  std::map<RewardKey, std::uint64_t> used_by_customers;
  std::map<RewardKey, std::uint64_t> voucher_count;
  std::map<PartnerId, std::size_t> rewards_of_partner;
  for (const auto& [key, usage] : reward_usage_) {
    if (usage.in_period > usage.total) return fail("a reward usage counts more in its period than in all");
    used_by_customers[{std::get<0>(key), std::get<1>(key)}] += usage.total;
  }
  std::map<StampCardKey, std::uint64_t> card_vouchers;
  for (const auto& [key, voucher] : vouchers_) {
    if (!rewards_.contains({key.first, voucher.reward_id})) return fail("a voucher of an unknown reward");
    // A full card's voucher is the card's, not a redemption: it does not count as redeemed.
    if (voucher.stamp_card_id) {
      card_vouchers[{key.first, *voucher.stamp_card_id}] += 1;
    } else {
      voucher_count[{key.first, voucher.reward_id}] += 1;
    }
  }
  for (const auto& [key, reward] : rewards_) {
    if (genesis_.partner(key.first) == nullptr) return fail("a reward of a partner not in genesis");
    if (++rewards_of_partner[key.first] > rewards_per_partner_max) return fail("a catalog over its limit");
    if (reward.redeemed != used_by_customers[key] || reward.redeemed != voucher_count[key]) {
      return fail("reward " + std::to_string(key.second) + " of partner " + std::to_string(key.first) +
                  ": redeemed differs from its usage or vouchers");
    }
  }
  if (used_by_customers.size() > rewards_.size() || voucher_count.size() > rewards_.size()) {
    return fail("usage or vouchers of an unknown reward");
  }
  // Tiers: every account's tier is what the program gives at the state's time, so a tier
  // changes only at the moments the rules define. Without a program every tier state is empty.
  const TierProgram& program = genesis_.policy.tiers;
  const std::uint8_t expected_account_version = account_record_version(genesis_.protocol_version);
  const std::uint64_t current_window = window_at(program, genesis_.genesis_time_ms, time_ms_);
  for (const auto* entry : accounts) {
    const Account& account = entry->second;
    if (account.record_version != expected_account_version) return fail("an account record of the wrong version");
    const TierStatus& status = account.tier;
    if (program.tiers.empty()) {
      if (status != TierStatus{}) return fail("a tier state on a chain without a tier program");
      continue;
    }
    const std::uint8_t count = program.count();
    if (status.tier > count || status.previous_tier > count || status.earlier_tier > count || status.granted_tier > count) {
      return fail("a tier state names a tier the program does not have");
    }
    if ((status.granted_tier == 0) != (status.granted_by == 0 && status.granted_until_ms == 0) ||
        (status.granted_by != 0 && genesis_.partner(status.granted_by) == nullptr)) {
      return fail("a tier state's grant is incomplete or names an unknown partner");
    }
    if (status.window > current_window) return fail("a tier state's window is after the state's time");
    if (settle_tier(program, genesis_.genesis_time_ms, status, time_ms_).tier != status.tier) {
      return fail("a tier state's tier differs from what the program gives at the state's time");
    }
  }
  // Billing: exactly the prepaid partners have a prepaid record, and its balance is what the
  // genesis gave plus every top-up less every point the partner issued.
  std::size_t prepaid_partners = 0;
  for (const Partner& partner : genesis_.partners) {
    const PartnerBilling* terms = billing_of(genesis_, partner.id);
    if (terms == nullptr || terms->plan != BillingPlan::prepaid) continue;
    ++prepaid_partners;
    const PrepaidBalance* prepaid = this->prepaid(partner.id);
    if (prepaid == nullptr) return fail("prepaid partner " + std::to_string(partner.id) + " has no prepaid record");
    const PartnerStats* stats = this->partner(partner.id);
    __extension__ using Wide = unsigned __int128;
    const Wide bought = Wide{terms->initial_prepaid_points} + prepaid->topped_up_points;
    if (stats == nullptr || bought < stats->issued || bought - stats->issued != prepaid->balance_points) {
      return fail("prepaid partner " + std::to_string(partner.id) + ": balance differs from initial + top-ups - issued");
    }
  }
  if (prepaid_.size() != prepaid_partners) return fail("a prepaid record of a partner that is not prepaid");
  // Payments: each partner's and currency's totals are the sums of its payment records, and the
  // points paid at a partner are part of the points redeemed there.
  std::map<PaymentTotalsKey, PaymentTotals> summed;
  std::map<PartnerId, std::uint64_t> paid_points;
  for (const auto& [id, payment] : payments_) {
    if (genesis_.partner(payment.partner) == nullptr) return fail("a payment at a partner not in genesis");
    PaymentTotals& sum = summed[{payment.partner, payment.currency}];
    sum.payments += 1;
    sum.points += payment.points;
    sum.amount_minor += payment.amount_minor;
    paid_points[payment.partner] += payment.points;
  }
  if (summed != payment_totals_) return fail("payment totals differ from the payment records");
  for (const auto& [partner, points] : paid_points) {
    if (points > partners_.at(partner).redeemed_at) return fail("partner " + std::to_string(partner) + " was paid more points than were redeemed at it");
  }
  for (const auto& [partner, value] : point_values_) {
    if (genesis_.partner(partner) == nullptr) return fail("a point value of a partner not in genesis");
  }
  return check_stamps_and_badges(card_vouchers);
}

// Each card's filled count is its customers' and its vouchers'; each badge's earned count is
// its holders'; no partner has more cards or badges than the limits allow.
Status State::check_stamps_and_badges(const std::map<StampCardKey, std::uint64_t>& card_vouchers) const {
  const auto fail = [](std::string detail) { return Error{Code::invariant_violated, std::move(detail)}; };
  const StampsAndBadges& loyalty = stamps_and_badges_;
  std::map<StampCardKey, std::uint64_t> filled_by_customers;
  std::map<BadgeKey, std::uint64_t> holders;
  std::map<PartnerId, std::size_t> cards_of_partner;
  std::map<PartnerId, std::size_t> badges_of_partner;
  for (const auto& [key, progress] : loyalty.progress) {
    if (progress.stamps > stamp_card_stamps_max) return fail("a card holds more stamps than any card needs");
    if ((progress.stamps == 0) != (progress.started_at_ms == 0)) return fail("a card's start disagrees with its stamps");
    filled_by_customers[{std::get<0>(key), std::get<1>(key)}] += progress.filled;
  }
  for (const auto& [key, stamps] : loyalty.stamps_given) {
    if (stamps.empty() || !issuances_.contains(key)) return fail("stamps given by an unknown issuance");
    for (const StampGiven& stamp : stamps) {
      if (!loyalty.cards.contains({key.first, stamp.card_id})) return fail("a stamp on an unknown card");
    }
  }
  for (const auto& [key, card] : loyalty.cards) {
    if (genesis_.partner(key.first) == nullptr) return fail("a stamp card of a partner not in genesis");
    if (++cards_of_partner[key.first] > stamp_cards_per_partner_max) return fail("stamp cards over their limit");
    const auto vouchers = card_vouchers.find(key);
    if (card.filled != filled_by_customers[key] || card.filled != (vouchers == card_vouchers.end() ? 0 : vouchers->second)) {
      return fail("stamp card " + std::to_string(key.second) + " of partner " + std::to_string(key.first) +
                  ": filled differs from its customers' cards or vouchers");
    }
  }
  if (filled_by_customers.size() > loyalty.cards.size() || card_vouchers.size() > loyalty.cards.size()) {
    return fail("progress or vouchers of an unknown stamp card");
  }
  for (const auto& [key, progress] : loyalty.badge_progress) {
    if (progress.earned() != (progress.earned_at_ms != 0)) return fail("a badge's earned time disagrees with its block");
    if (progress.earned()) holders[{std::get<0>(key), std::get<1>(key)}] += 1;
    if (!loyalty.badges.contains({std::get<0>(key), std::get<1>(key)})) return fail("progress toward an unknown badge");
  }
  for (const auto& [key, badge] : loyalty.badges) {
    if (genesis_.partner(key.first) == nullptr) return fail("a badge of a partner not in genesis");
    if (++badges_of_partner[key.first] > badges_per_partner_max) return fail("badges over their limit");
    if (badge.earned != holders[key]) {
      return fail("badge " + std::to_string(key.second) + " of partner " + std::to_string(key.first) +
                  ": earned differs from its holders");
    }
  }
  return {};
}

// ---------------------------------------------------------------------------------------
// Signatures

std::optional<PublicKey> receiving_key(const Transaction& tx) {
  if (const auto* issue = std::get_if<Issue>(&tx.fields().body)) return issue->customer;
  if (const auto* transfer = std::get_if<Transfer>(&tx.fields().body)) return transfer->to;
  if (const auto* grant = std::get_if<GrantTier>(&tx.fields().body)) return grant->customer;
  return std::nullopt;
}

Status verify_transaction_signature(const Genesis& genesis, const Transaction& tx,
                                    const State* accounts_from) {
  if (accounts_from == nullptr) return verify_transaction_signature(genesis, tx, [](const PublicKey&) { return false; });
  return verify_transaction_signature(
      genesis, tx, [accounts_from](const PublicKey& key) { return accounts_from->account(key) != nullptr; });
}

Status verify_transaction_signature(const Genesis& genesis, const Transaction& tx,
                                    const std::function<bool(const PublicKey&)>& has_account) {
  const Bytes message = tx.fields().signing_message();
  if (tx.signed_by_billing_key()) {
    // A chain without billing terms has no billing key: the type does not exist there.
    if (!genesis.policy.billing) {
      return Error{Code::unsupported_type, "prepaid_top_up needs protocol version 4 (billing terms)"};
    }
    // The billing key was checked with is_valid_public_key when the genesis was loaded.
    if (!crypto::verify_prevalidated(genesis.policy.billing->billing_key, message, tx.signature())) {
      return Error{Code::bad_signature, "not signed by the coalition's billing key"};
    }
  } else if (auto partner_id = tx.partner_signer()) {
    const Partner* partner = genesis.partner(*partner_id);
    if (partner == nullptr) {
      return Error{Code::unknown_partner, "partner " + std::to_string(*partner_id)};
    }
    // Partner keys were checked with is_valid_public_key when the genesis was loaded.
    if (!crypto::verify_prevalidated(partner->issuer_key, message, tx.signature())) {
      return Error{Code::bad_signature, "not signed by partner " + std::to_string(*partner_id)};
    }
  } else if (!crypto::verify_prevalidated(*tx.customer_signer(), message, tx.signature())) {
    // The customer's key is not subgroup-checked here: a Redeem or Transfer can only succeed
    // from an existing account, and an account is only opened for a key that passed
    // is_valid_public_key. For every transaction that can apply, this equals crypto::verify.
    return Error{Code::bad_signature, "not signed by the customer's key"};
  }
  if (const auto* pay = std::get_if<PayWithPoints>(&tx.fields().body)) {
    const PartnerId partner_id = pay->request.request.partner;
    const Partner* partner = genesis.partner(partner_id);
    if (partner == nullptr) return Error{Code::unknown_partner, "the payment request names partner " + std::to_string(partner_id)};
    if (!pay->request.signed_by(partner->issuer_key)) {
      return Error{Code::payment_request_bad_signature,
                   "the payment request is not signed by partner " + std::to_string(partner_id) + ": it was altered"};
    }
  }
  const std::optional<PublicKey> new_account_key = receiving_key(tx);
  if (new_account_key && !has_account(*new_account_key) && !crypto::is_valid_public_key(*new_account_key)) {
    return Error{Code::invalid_public_key, "the receiving key is not a valid ed25519 key"};
  }
  return {};
}

// ---------------------------------------------------------------------------------------
// Rewards

Status check_reward_redemption(const RewardRecord& reward, RewardUsage& usage, std::uint16_t quantity,
                               std::uint64_t now, std::string_view reward_name) {
  const RewardTerms& terms = reward.terms;
  if (!terms.active) return Error{Code::reward_inactive, std::string(reward_name) + " is not active"};
  if (now < terms.valid_from_ms) {
    return Error{Code::reward_not_yet_valid, std::string(reward_name) + " is valid from " + std::to_string(terms.valid_from_ms)};
  }
  if (terms.valid_until_ms != 0 && now >= terms.valid_until_ms) {
    return Error{Code::reward_expired, std::string(reward_name) + " was valid until " + std::to_string(terms.valid_until_ms)};
  }
  if (terms.stock && *terms.stock < quantity) {
    return Error{Code::reward_out_of_stock, std::string(reward_name) + " has " + std::to_string(*terms.stock) + " left, " +
                                                std::to_string(quantity) + " asked for"};
  }
  if (terms.limit_per_customer != 0 && usage.total + quantity > terms.limit_per_customer) {
    return Error{Code::reward_limit_reached, std::string(reward_name) + ": this customer redeemed " + std::to_string(usage.total) +
                                                 " of at most " + std::to_string(terms.limit_per_customer)};
  }
  if (terms.limit_per_period != 0) {
    // Periods are fixed windows of period_days days counted from 1970-01-01T00:00:00Z.
    const std::uint64_t period_ms = std::uint64_t{terms.period_days} * ms_per_day;
    const std::uint64_t period_start_ms = now - now % period_ms;
    if (usage.period_start_ms != period_start_ms) {
      usage.period_start_ms = period_start_ms;
      usage.in_period = 0;
    }
    if (usage.in_period + quantity > terms.limit_per_period) {
      return Error{Code::reward_period_limit_reached,
                   std::string(reward_name) + ": this customer redeemed " + std::to_string(usage.in_period) + " of at most " +
                       std::to_string(terms.limit_per_period) + " in this period of " +
                       std::to_string(terms.period_days) + " days"};
    }
    usage.in_period += quantity;
  }
  usage.total += quantity;
  return {};
}

// ---------------------------------------------------------------------------------------
// BlockExecutor

BlockExecutor::BlockExecutor(const State& base, BlockContext context) : base_(base) {
  PC_CHECK(context.height == base.height() + 1);
  PC_CHECK(context.time_ms > base.time_ms());
  changes_.context = context;
  changes_.totals = base.totals();
  expire_lots();
  change_tiers();
}

Account BlockExecutor::load_account(const PublicKey& key, bool& exists) const {
  exists = true;
  if (auto staged = changes_.accounts.find(key); staged != changes_.accounts.end()) {
    return staged->second;
  }
  if (const Account* committed = base_.account(key)) return *committed;
  exists = false;
  Account opened;
  opened.record_version = account_record_version(base_.genesis().protocol_version);
  return opened;
}

PartnerStats BlockExecutor::load_partner(PartnerId id) const {
  if (auto staged = changes_.partners.find(id); staged != changes_.partners.end()) return staged->second;
  const PartnerStats* committed = base_.partner(id);
  PC_CHECK(committed != nullptr);
  return *committed;
}

const IssuanceRecord* BlockExecutor::find_issuance(PartnerId partner,
                                                   const std::string& reference) const {
  if (auto staged = changes_.issuances.find({partner, reference}); staged != changes_.issuances.end()) {
    return &staged->second;
  }
  return base_.issuance(partner, reference);
}

std::uint64_t BlockExecutor::load_settlement(PartnerId issuer, PartnerId redeemer) const {
  if (auto staged = changes_.settlement.find({issuer, redeemer}); staged != changes_.settlement.end()) {
    return staged->second;
  }
  return base_.settlement(issuer, redeemer);
}

const RewardRecord* BlockExecutor::find_reward(PartnerId partner, std::uint32_t reward_id) const {
  if (auto staged = changes_.rewards.find({partner, reward_id}); staged != changes_.rewards.end()) return &staged->second;
  return base_.reward(partner, reward_id);
}

std::size_t BlockExecutor::reward_count(PartnerId partner) const {
  const auto& committed = base_.rewards();
  std::size_t count = 0;
  for (auto it = committed.lower_bound({partner, 0}); it != committed.end() && it->first.first == partner; ++it) ++count;
  for (auto it = changes_.rewards.lower_bound({partner, 0}); it != changes_.rewards.end() && it->first.first == partner; ++it) {
    if (!committed.contains(it->first)) ++count;
  }
  return count;
}

RewardUsage BlockExecutor::load_reward_usage(const RewardUsageKey& key) const {
  if (auto staged = changes_.reward_usage.find(key); staged != changes_.reward_usage.end()) return staged->second;
  const RewardUsage* committed = base_.reward_usage(std::get<0>(key), std::get<1>(key), std::get<2>(key));
  return committed == nullptr ? RewardUsage{} : *committed;
}

PrepaidBalance BlockExecutor::load_prepaid(PartnerId partner) const {
  if (auto staged = changes_.prepaid.find(partner); staged != changes_.prepaid.end()) return staged->second;
  const PrepaidBalance* committed = base_.prepaid(partner);
  PC_CHECK(committed != nullptr);
  return *committed;
}

const Voucher* BlockExecutor::find_voucher(PartnerId partner, const std::string& code) const {
  if (auto staged = changes_.vouchers.find({partner, code}); staged != changes_.vouchers.end()) return &staged->second;
  return base_.voucher(partner, code);
}

const PointValueRecord* BlockExecutor::find_point_value(PartnerId partner) const {
  if (auto staged = changes_.point_values.find(partner); staged != changes_.point_values.end()) return &staged->second;
  return base_.point_value(partner);
}

const PaymentRecord* BlockExecutor::find_payment(const Hash256& request_id) const {
  if (auto staged = changes_.payments.find(request_id); staged != changes_.payments.end()) return &staged->second;
  return base_.payment(request_id);
}

PaymentTotals BlockExecutor::load_payment_totals(const PaymentTotalsKey& key) const {
  if (auto staged = changes_.payment_totals.find(key); staged != changes_.payment_totals.end()) return staged->second;
  auto committed = base_.payment_totals().find(key);
  return committed == base_.payment_totals().end() ? PaymentTotals{} : committed->second;
}

void BlockExecutor::expire_lots() {
  const std::uint64_t expiry = base_.expiry_ms();
  if (expiry == 0) return;
  const std::uint64_t now = changes_.context.time_ms;
  for (const auto& [expires_at_ms, key] : base_.expiry_queue_) {
    if (expires_at_ms > now) break;
    bool exists = false;
    Account account = load_account(key, exists);
    auto first_kept = std::find_if(account.lots.begin(), account.lots.end(), [&](const Lot& lot) {
      return lot.earned_at_ms + expiry > now;
    });
    for (auto lot = account.lots.begin(); lot != first_kept; ++lot) {
      PartnerStats stats = load_partner(lot->partner);
      stats.expired += lot->points;
      changes_.partners[lot->partner] = stats;
      changes_.totals.expired += lot->points;
      changes_.totals.balance_sum -= lot->points;
      changes_.events.push_back({Event::Kind::expired, key, lot->partner, lot->points, {}});
    }
    account.lots.erase(account.lots.begin(), first_kept);
    changes_.accounts[key] = std::move(account);
  }
}

TierStatus BlockExecutor::settled_tier(const Account& account) const {
  const Genesis& genesis = base_.genesis();
  return settle_tier(genesis.policy.tiers, genesis.genesis_time_ms, account.tier, changes_.context.time_ms);
}

void BlockExecutor::store_tier_status(const PublicKey& customer, Account account, bool exists, const TierStatus& settled,
                                      std::uint8_t tier_before, PartnerId partner, const Hash256& tx_id) {
  // A GrantTier may reach a customer without points yet: the grant opens its account.
  if (!exists) changes_.totals.accounts += 1;
  account.tier = settled;
  changes_.accounts[customer] = std::move(account);
  if (settled.tier != tier_before) changes_.tier_changes.push_back({customer, tier_before, settled.tier, partner, tx_id});
}

void BlockExecutor::change_tiers() {
  const std::uint64_t now = changes_.context.time_ms;
  for (const auto& [changes_at_ms, key] : base_.tier_queue_) {
    if (changes_at_ms > now) break;
    bool exists = false;
    Account account = load_account(key, exists);
    PC_CHECK(exists);
    const std::uint8_t tier_before = account.tier.tier;
    const TierStatus settled = settled_tier(account);
    // Only a qualification or a grant ending is queued, and the queue holds the first moment
    // the tier changes: so it changes now, and only downwards.
    PC_CHECK(settled.tier < tier_before);
    store_tier_status(key, std::move(account), exists, settled, tier_before, 0, Hash256{});
  }
}

Status BlockExecutor::apply(const Transaction& tx, SignatureCheck check) {
  const UnsignedTransaction& fields = tx.fields();
  const BlockContext& context = changes_.context;
  // A Transaction built in memory (not decoded) may hold fields no decoder accepts; a block of
  // them could be committed but never read back, so the executor checks them again.
  if (auto status = validate_fields(fields); !status) return status;
  // One table says which version brings each type (protocol_version_of_type); the named
  // checks of ledger/protocol.hpp say the same for the rules that come with them.
  if (const std::uint16_t needed = protocol_version_of_type(tx.type()); base_.genesis().protocol_version < needed) {
    return Error{Code::unsupported_type, std::string(tx_type_name(tx.type())) + " needs protocol version " +
                                             std::to_string(needed) + "; this chain runs " +
                                             std::to_string(base_.genesis().protocol_version)};
  }
  if (fields.chain_id != base_.genesis().chain_id) {
    return Error{Code::wrong_chain_id, "transaction is for chain " + fields.chain_id};
  }
  if (context.height > fields.last_valid_height) {
    return Error{Code::expired, "last valid at height " + std::to_string(fields.last_valid_height)};
  }
  if (fields.last_valid_height - context.height > tx_validity_blocks_max) {
    return Error{Code::validity_too_long, "last-valid height is more than " +
                                              std::to_string(tx_validity_blocks_max) + " blocks ahead"};
  }
  if (check == SignatureCheck::verify) {
    if (auto status = verify_transaction_signature(base_.genesis(), tx, &base_); !status) return status;
  }
  Status status = std::visit(
      [&](const auto& body) -> Status {
        using Body = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<Body, Issue>) return apply_issue(tx, body);
        if constexpr (std::is_same_v<Body, Redeem>) return apply_redeem(tx, body);
        if constexpr (std::is_same_v<Body, Transfer>) return apply_transfer(tx, body);
        if constexpr (std::is_same_v<Body, Reverse>) return apply_reverse(tx, body);
        if constexpr (std::is_same_v<Body, PublishReward>) return apply_publish_reward(tx, body);
        if constexpr (std::is_same_v<Body, RedeemReward>) return apply_redeem_reward(tx, body);
        if constexpr (std::is_same_v<Body, UseVoucher>) return apply_use_voucher(tx, body);
        if constexpr (std::is_same_v<Body, PartialReturn>) return apply_partial_return(tx, body);
        if constexpr (std::is_same_v<Body, GrantTier>) return apply_grant_tier(tx, body);
        if constexpr (std::is_same_v<Body, PrepaidTopUp>) return apply_prepaid_top_up(tx, body);
        if constexpr (std::is_same_v<Body, DefineStampCard>) return apply_define_stamp_card(tx, body);
        if constexpr (std::is_same_v<Body, DefineBadge>) return apply_define_badge(tx, body);
        if constexpr (std::is_same_v<Body, AwardBadge>) return apply_award_badge(tx, body);
        if constexpr (std::is_same_v<Body, SetPointValue>) return apply_set_point_value(tx, body);
        if constexpr (std::is_same_v<Body, PayWithPoints>) return apply_pay_with_points(tx, body);
      },
      fields.body);
  if (status) ++changes_.applied_count;
  return status;
}

// Each apply_* reads copies, checks every rule, and only then writes the copies back into
// changes_: an error returns before the first write, so a failed transaction changes nothing.
// Keys of new accounts were checked by verify_transaction_signature (against base_, which
// knows every account that existed before this block; an account opened earlier in this
// block had its key checked then).

Status BlockExecutor::apply_issue(const Transaction& tx, const Issue& issue) {
  const Partner* partner = base_.genesis().partner(issue.partner);
  if (partner == nullptr) return Error{Code::unknown_partner, "partner " + std::to_string(issue.partner)};
  PartnerStats stats = load_partner(issue.partner);
  if (tx.fields().sequence != stats.issuer_sequence + 1) {
    return sequence_error(stats.issuer_sequence, tx.fields().sequence);
  }
  const Genesis& genesis = base_.genesis();
  const std::uint32_t expiry_days = genesis.policy.point_expiry_days;
  if (refuses_unspendable_issues(genesis.protocol_version) && expiry_days != 0 && issue.pending_days >= expiry_days) {
    return Error{Code::issue_never_spendable, "pending_days " + std::to_string(issue.pending_days) +
                                                  " reaches the point expiry of " + std::to_string(expiry_days) +
                                                  " days: the points would expire before they could be spent"};
  }
  if (find_issuance(issue.partner, issue.reference) != nullptr) {
    return Error{Code::duplicate_reference, "reference " + issue.reference + " was issued before"};
  }
  bool exists = false;
  Account account = load_account(issue.customer, exists);
  // From protocol version 4 the customer's tier at block time multiplies the points the
  // partner signed; the multiplied points are what every rule below and the lot see.
  const bool tiered = has_tiers(genesis.protocol_version) && !genesis.policy.tiers.tiers.empty();
  TierStatus tier_status = tiered ? settled_tier(account) : TierStatus{};
  const std::uint32_t multiplier_bp = genesis.policy.tiers.multiplier_bp(tier_status.tier);
  const std::optional<std::uint64_t> credited = multiplied_points(issue.points, multiplier_bp);
  if (!credited) return Error{Code::overflow, "points × tier multiplier would pass 2^64 - 1"};
  const std::uint64_t points = *credited;
  Totals totals = changes_.totals;
  if (add_overflows(totals.issued, points) || add_overflows(totals.balance_sum, points)) {
    return Error{Code::overflow, "total points would pass 2^64 - 1"};
  }
  const std::uint64_t cap = base_.genesis().policy.issuance_cap_points;
  if (cap != 0 && stats.outstanding() + points > cap) {
    return Error{Code::cap_exceeded, "partner outstanding would be " +
                                         std::to_string(stats.outstanding() + points) +
                                         ", cap " + std::to_string(cap)};
  }
  // A prepaid partner issues only what it has bought (protocol version 4 on): the points
  // credited, tier multiplier included, since those are the points it is billed for.
  std::optional<PrepaidBalance> prepaid;
  if (is_prepaid(genesis, issue.partner)) {
    prepaid = load_prepaid(issue.partner);
    if (prepaid->balance_points < points) {
      return Error{Code::prepaid_exhausted, "partner " + std::to_string(issue.partner) + " has " +
                                                std::to_string(prepaid->balance_points) + " prepaid points left, the issue needs " +
                                                std::to_string(points) + ": a PrepaidTopUp must come first"};
    }
    prepaid->balance_points -= points;
  }
  const BlockContext& context = changes_.context;
  const IssuanceId id{context.height, changes_.applied_count};
  const std::uint64_t spendable_at_ms = context.time_ms + issue.pending_days * ms_per_day;
  if (!receive_lot(account, Lot{issue.partner, id, points, context.time_ms, spendable_at_ms})) {
    return Error{Code::account_lots_full, "customer already holds the maximum number of lots"};
  }
  StampsAndBadges stamped;
  std::map<VoucherKey, Voucher> card_vouchers;
  if (has_stamp_cards(genesis.protocol_version)) {
    if (auto status = stamp_and_count(tx, issue, points, stamped, card_vouchers); !status) return status;
  }
  // Totals bound every per-partner and per-account counter, so these cannot overflow.
  stats.issuer_sequence += 1;
  stats.issued += points;
  totals.issued += points;
  totals.balance_sum += points;
  if (!exists) totals.accounts += 1;

  changes_.partners[issue.partner] = stats;
  if (prepaid) changes_.prepaid[issue.partner] = *prepaid;
  IssuanceRecord record{id, issue.customer, points, spendable_at_ms, false, 0, 0};
  record.record_version = issuance_record_version(genesis.protocol_version);
  if (has_rewards_catalog(genesis.protocol_version) && issue.purchase) {
    record.purchase_amount_minor = issue.purchase->amount_minor;
  }
  if (has_tiers(genesis.protocol_version)) {
    record.tier = tier_status.tier;
    record.multiplier_bp = multiplier_bp;
  }
  changes_.issuances[{issue.partner, issue.reference}] = std::move(record);
  changes_.stamps_and_badges.merge(std::move(stamped));
  for (auto& [key, voucher] : card_vouchers) changes_.vouchers[key] = voucher;
  changes_.totals = totals;
  changes_.events.push_back({Event::Kind::earned, issue.customer, issue.partner, points, tx.id()});
  if (tiered) {
    // Qualifying points are the points earned before the multiplier, so a tier does not
    // speed its own requalification. The upgrade is at once; this Issue earned at the old rate.
    // Base points never pass the multiplied ones, which totals bound: no overflow. The account
    // was counted in totals above, so it is stored as existing.
    const std::uint8_t tier_before = tier_status.tier;
    PC_CHECK(!add_overflows(tier_status.window_points, issue.points));
    tier_status.window_points += issue.points;
    tier_status = settle_tier(genesis.policy.tiers, genesis.genesis_time_ms, tier_status, context.time_ms);
    store_tier_status(issue.customer, std::move(account), true, tier_status, tier_before, issue.partner, tx.id());
  } else {
    changes_.accounts[issue.customer] = std::move(account);
  }
  return {};
}

Status BlockExecutor::apply_redeem(const Transaction& tx, const Redeem& redeem) {
  if (base_.genesis().partner(redeem.partner) == nullptr) {
    return Error{Code::unknown_partner, "partner " + std::to_string(redeem.partner)};
  }
  return spend(tx, redeem.customer, redeem.partner, redeem.points);
}

Status BlockExecutor::spend(const Transaction& tx, const PublicKey& customer, PartnerId partner, std::uint64_t points) {
  bool exists = false;
  Account account = load_account(customer, exists);
  if (tx.fields().sequence != account.sequence + 1) {
    return sequence_error(account.sequence, tx.fields().sequence);
  }
  const std::uint64_t now = changes_.context.time_ms;
  const std::uint64_t spendable = account.spendable(now);
  if (spendable < points) return insufficient(spendable, points);

  // The partners the spend touches, and what it settles from each issuer to `partner`. A
  // customer holds the points of a few partners: a short list costs less than two maps.
  struct Touched {
    PartnerId id = 0;
    PartnerStats stats;
    bool settles = false;  // some of its points were spent
    std::uint64_t settled = 0;
  };
  std::vector<Touched> touched;
  const auto touch = [&](PartnerId id) -> Touched& {
    for (Touched& entry : touched) {
      if (entry.id == id) return entry;
    }
    touched.push_back({id, load_partner(id)});
    return touched.back();
  };
  std::uint64_t remaining = points;
  for (Lot& lot : account.lots) {
    if (remaining == 0) break;
    if (lot.spendable_at_ms > now) continue;
    const std::uint64_t taken = std::min(lot.points, remaining);
    lot.points -= taken;
    remaining -= taken;
    Touched& issuer = touch(lot.partner);
    issuer.stats.issued_redeemed += taken;
    issuer.settles = true;
    issuer.settled += taken;
  }
  std::erase_if(account.lots, [](const Lot& lot) { return lot.points == 0; });
  touch(partner).stats.redeemed_at += points;
  account.sequence += 1;

  for (const Touched& entry : touched) {
    changes_.partners[entry.id] = entry.stats;
    if (entry.settles) {
      changes_.settlement[{entry.id, partner}] = load_settlement(entry.id, partner) + entry.settled;
    }
  }
  changes_.accounts[customer] = std::move(account);
  changes_.totals.redeemed += points;
  changes_.totals.balance_sum -= points;
  changes_.events.push_back({Event::Kind::redeemed, customer, partner, points, tx.id()});
  return {};
}

Status BlockExecutor::apply_transfer(const Transaction& tx, const Transfer& transfer) {
  if (!base_.genesis().policy.transfers_allowed) {
    return Error{Code::transfer_not_allowed, "this coalition does not allow transfers"};
  }
  bool from_exists = false;
  Account from = load_account(transfer.from, from_exists);
  if (tx.fields().sequence != from.sequence + 1) return sequence_error(from.sequence, tx.fields().sequence);
  bool to_exists = false;
  Account to = load_account(transfer.to, to_exists);
  const std::uint64_t now = changes_.context.time_ms;
  const std::uint64_t spendable = from.spendable(now);
  if (spendable < transfer.points) return insufficient(spendable, transfer.points);

  std::uint64_t remaining = transfer.points;
  for (Lot& lot : from.lots) {
    if (remaining == 0) break;
    if (lot.spendable_at_ms > now) continue;
    Lot moved = lot;
    moved.points = std::min(lot.points, remaining);
    lot.points -= moved.points;
    remaining -= moved.points;
    if (!receive_lot(to, moved)) {
      return Error{Code::account_lots_full, "recipient already holds the maximum number of lots"};
    }
  }
  std::erase_if(from.lots, [](const Lot& lot) { return lot.points == 0; });
  from.sequence += 1;

  changes_.accounts[transfer.from] = std::move(from);
  changes_.accounts[transfer.to] = std::move(to);
  if (!to_exists) changes_.totals.accounts += 1;
  changes_.events.push_back({Event::Kind::transferred_out, transfer.from, 0, transfer.points, tx.id()});
  changes_.events.push_back({Event::Kind::transferred_in, transfer.to, 0, transfer.points, tx.id()});
  return {};
}

Status BlockExecutor::apply_reverse(const Transaction& tx, const Reverse& reverse) {
  if (base_.genesis().partner(reverse.partner) == nullptr) {
    return Error{Code::unknown_partner, "partner " + std::to_string(reverse.partner)};
  }
  PartnerStats stats = load_partner(reverse.partner);
  if (tx.fields().sequence != stats.issuer_sequence + 1) {
    return sequence_error(stats.issuer_sequence, tx.fields().sequence);
  }
  const IssuanceRecord* found = find_issuance(reverse.partner, reverse.reference);
  if (found == nullptr) {
    return Error{Code::unknown_issuance, "no issuance with reference " + reverse.reference};
  }
  if (found->reversed) return Error{Code::already_reversed, "reference " + reverse.reference};
  IssuanceRecord issuance = *found;
  // Everything not taken back yet is due: after partial returns, the rest of the issuance.
  // On chains without partial returns nothing was taken before, so this is all its points.
  const std::uint64_t due = issuance.points - issuance.reversed_points - issuance.shortfall_points;
  if (issuance.purchase_amount_minor) issuance.returned_minor = static_cast<std::uint64_t>(*issuance.purchase_amount_minor);
  issuance.reversed = true;
  take_back(stats, issuance, due, tx);
  take_back_stamps(reverse.partner, reverse.reference, issuance);
  changes_.partners[reverse.partner] = stats;
  changes_.issuances[{reverse.partner, reverse.reference}] = std::move(issuance);
  return {};
}

// Only what is still in the customer's account can be taken back; points already spent,
// transferred away or expired are recorded as the shortfall rather than charged a second time.
// Invariant: the issuance's lot in the account + reversed_points + shortfall_points never
// passes its points (a shortfall is only recorded once the lot is gone), so `due`, which the
// callers bound by points - reversed_points - shortfall_points, can always be accounted for.
void BlockExecutor::take_back(PartnerStats& stats, IssuanceRecord& issuance, std::uint64_t due, const Transaction& tx) {
  bool exists = false;
  Account account = load_account(issuance.customer, exists);
  PC_CHECK(exists);
  PC_CHECK(issuance.reversed_points + issuance.shortfall_points + due <= issuance.points);
  std::uint64_t removed = 0;
  for (Lot& lot : account.lots) {
    if (lot.issuance != issuance.id) continue;
    removed = std::min(lot.points, due);
    lot.points -= removed;
  }
  std::erase_if(account.lots, [](const Lot& lot) { return lot.points == 0; });
  const std::uint64_t shortfall = due - removed;
  issuance.reversed_points += removed;
  issuance.shortfall_points += shortfall;
  stats.issuer_sequence += 1;
  stats.reversed += removed;
  stats.reversal_shortfall += shortfall;

  changes_.accounts[issuance.customer] = std::move(account);
  changes_.totals.reversed += removed;
  changes_.totals.balance_sum -= removed;
  changes_.events.push_back({Event::Kind::reversed, issuance.customer, *tx.partner_signer(), removed, tx.id()});
}

Status BlockExecutor::apply_partial_return(const Transaction& tx, const PartialReturn& partial) {
  if (base_.genesis().partner(partial.partner) == nullptr) {
    return Error{Code::unknown_partner, "partner " + std::to_string(partial.partner)};
  }
  PartnerStats stats = load_partner(partial.partner);
  if (tx.fields().sequence != stats.issuer_sequence + 1) {
    return sequence_error(stats.issuer_sequence, tx.fields().sequence);
  }
  const IssuanceRecord* found = find_issuance(partial.partner, partial.reference);
  if (found == nullptr) return Error{Code::unknown_issuance, "no issuance with reference " + partial.reference};
  if (found->reversed) return Error{Code::already_reversed, "reference " + partial.reference};
  if (!found->purchase_amount_minor) {
    return Error{Code::no_purchase_amount, "issuance " + partial.reference +
                                               " records no purchase amount to return a part of; reverse it whole"};
  }
  IssuanceRecord issuance = *found;
  const auto order_minor = static_cast<std::uint64_t>(*issuance.purchase_amount_minor);
  if (partial.amount_minor > order_minor - issuance.returned_minor) {
    return Error{Code::return_exceeds_order, "returning " + std::to_string(partial.amount_minor) + " of an order of " +
                                                 std::to_string(order_minor) + ", of which " +
                                                 std::to_string(issuance.returned_minor) + " was returned before"};
  }
  issuance.returned_minor += partial.amount_minor;
  // The points due back in all are points × returned / order, rounded down; each return takes
  // the difference from what earlier returns took, so the returns of one order add up to the
  // issued points exactly when the whole order is back. 128 bits: points × amount < 2^127.
  __extension__ using Wide = unsigned __int128;
  const auto due_in_all =
      static_cast<std::uint64_t>(Wide{issuance.points} * Wide{issuance.returned_minor} / Wide{order_minor});
  const std::uint64_t taken_before = issuance.reversed_points + issuance.shortfall_points;
  PC_CHECK(due_in_all >= taken_before && due_in_all <= issuance.points);
  if (issuance.returned_minor == order_minor) issuance.reversed = true;
  take_back(stats, issuance, due_in_all - taken_before, tx);
  take_back_stamps(partial.partner, partial.reference, issuance);
  changes_.partners[partial.partner] = stats;
  changes_.issuances[{partial.partner, partial.reference}] = std::move(issuance);
  return {};
}

Status BlockExecutor::apply_publish_reward(const Transaction& tx, const PublishReward& publish) {
  if (base_.genesis().partner(publish.partner) == nullptr) {
    return Error{Code::unknown_partner, "partner " + std::to_string(publish.partner)};
  }
  PartnerStats stats = load_partner(publish.partner);
  if (tx.fields().sequence != stats.issuer_sequence + 1) {
    return sequence_error(stats.issuer_sequence, tx.fields().sequence);
  }
  const Genesis& genesis = base_.genesis();
  if (!has_tiers(genesis.protocol_version) && publish.terms.min_tier != 0) {
    return Error{Code::invalid_field, "min_tier must be 0: tiers do not exist in protocol version " +
                                          std::to_string(genesis.protocol_version)};
  }
  if (publish.terms.min_tier > genesis.policy.tiers.count()) {
    return Error{Code::unknown_tier, "min_tier " + std::to_string(publish.terms.min_tier) + ": the tier program has " +
                                         std::to_string(genesis.policy.tiers.count()) + " tiers"};
  }
  const RewardRecord* found = find_reward(publish.partner, publish.reward_id);
  if (found == nullptr && reward_count(publish.partner) >= rewards_per_partner_max) {
    return Error{Code::catalog_full, "partner " + std::to_string(publish.partner) + " has " +
                                         std::to_string(rewards_per_partner_max) + " rewards; update one instead"};
  }
  // An update keeps the id and the units redeemed; everything published is replaced, the
  // stock included (a restock publishes the new number of units left).
  RewardRecord reward = found == nullptr ? RewardRecord{} : *found;
  reward.terms = publish.terms;
  reward.revision += 1;
  reward.updated_height = changes_.context.height;
  stats.issuer_sequence += 1;
  changes_.partners[publish.partner] = stats;
  changes_.rewards[{publish.partner, publish.reward_id}] = std::move(reward);
  return {};
}

Status BlockExecutor::apply_redeem_reward(const Transaction& tx, const RedeemReward& redeem) {
  if (base_.genesis().partner(redeem.partner) == nullptr) {
    return Error{Code::unknown_partner, "partner " + std::to_string(redeem.partner)};
  }
  bool exists = false;
  const Account account = load_account(redeem.customer, exists);
  if (tx.fields().sequence != account.sequence + 1) return sequence_error(account.sequence, tx.fields().sequence);
  const std::string reward_name = "reward " + std::to_string(redeem.reward_id) + " of partner " + std::to_string(redeem.partner);
  const RewardRecord* found = find_reward(redeem.partner, redeem.reward_id);
  if (found == nullptr) return Error{Code::unknown_reward, "partner " + std::to_string(redeem.partner) + " has no reward " + std::to_string(redeem.reward_id)};
  RewardRecord reward = *found;
  const RewardTerms& terms = reward.terms;
  if (terms.min_tier != 0) {
    const std::uint8_t tier = settled_tier(account).tier;
    if (tier < terms.min_tier) {
      const TierProgram& program = base_.genesis().policy.tiers;
      return Error{Code::tier_too_low, reward_name + " needs tier " + program.tier_name(terms.min_tier) +
                                           "; the customer's tier is " + program.tier_name(tier)};
    }
  }
  const std::uint64_t now = changes_.context.time_ms;
  const RewardUsageKey usage_key{redeem.partner, redeem.reward_id, redeem.customer};
  RewardUsage usage = load_reward_usage(usage_key);
  if (auto status = check_reward_redemption(reward, usage, redeem.quantity, now, reward_name); !status) return status;
  std::uint64_t cost = 0;
  if (__builtin_mul_overflow(terms.cost_points, std::uint64_t{redeem.quantity}, &cost)) {
    return Error{Code::overflow, "cost × quantity passes 2^64 - 1"};
  }
  std::vector<std::string> codes;
  for (std::uint16_t unit = 0; unit < redeem.quantity; ++unit) {
    std::string code = voucher_code(tx.id(), unit);
    if (find_voucher(redeem.partner, code) != nullptr || std::find(codes.begin(), codes.end(), code) != codes.end()) {
      return Error{Code::voucher_code_taken, "voucher code " + code + " is taken: sign the redemption again"};
    }
    codes.push_back(std::move(code));
  }
  // The balance check is spend()'s, the last: a refusal above changes nothing, and spend()
  // writes nothing when it refuses.
  if (auto status = spend(tx, redeem.customer, redeem.partner, cost); !status) return status;
  if (terms.stock) reward.terms.stock = *terms.stock - redeem.quantity;
  reward.redeemed += redeem.quantity;
  for (std::string& code : codes) {
    changes_.vouchers[{redeem.partner, std::move(code)}] = Voucher{redeem.customer, redeem.reward_id, now, 0};
  }
  changes_.reward_usage[usage_key] = usage;
  changes_.rewards[{redeem.partner, redeem.reward_id}] = std::move(reward);
  return {};
}

Status BlockExecutor::apply_use_voucher(const Transaction& tx, const UseVoucher& use) {
  if (base_.genesis().partner(use.partner) == nullptr) {
    return Error{Code::unknown_partner, "partner " + std::to_string(use.partner)};
  }
  PartnerStats stats = load_partner(use.partner);
  if (tx.fields().sequence != stats.issuer_sequence + 1) {
    return sequence_error(stats.issuer_sequence, tx.fields().sequence);
  }
  const Voucher* found = find_voucher(use.partner, use.code);
  if (found == nullptr) {
    return Error{Code::unknown_voucher, "partner " + std::to_string(use.partner) + " has no voucher " + format_voucher_code(use.code)};
  }
  if (found->used_at_ms != 0) {
    return Error{Code::voucher_used, "voucher " + format_voucher_code(use.code) + " was used at " + std::to_string(found->used_at_ms)};
  }
  Voucher voucher = *found;
  voucher.used_at_ms = changes_.context.time_ms;
  stats.issuer_sequence += 1;
  changes_.partners[use.partner] = stats;
  changes_.vouchers[{use.partner, use.code}] = voucher;
  return {};
}

Status BlockExecutor::apply_grant_tier(const Transaction& tx, const GrantTier& grant) {
  const Genesis& genesis = base_.genesis();
  if (genesis.partner(grant.partner) == nullptr) {
    return Error{Code::unknown_partner, "partner " + std::to_string(grant.partner)};
  }
  PartnerStats stats = load_partner(grant.partner);
  if (tx.fields().sequence != stats.issuer_sequence + 1) {
    return sequence_error(stats.issuer_sequence, tx.fields().sequence);
  }
  const TierProgram& program = genesis.policy.tiers;
  if (grant.tier > program.count()) {
    return Error{Code::unknown_tier, "tier " + std::to_string(grant.tier) + ": the tier program has " +
                                         std::to_string(program.count()) + " tiers"};
  }
  const std::uint64_t now = changes_.context.time_ms;
  if (grant.until_ms <= now) {
    return Error{Code::tier_grant_ended, "until_ms " + std::to_string(grant.until_ms) + " is not after the block time " +
                                             std::to_string(now)};
  }
  if (grant.until_ms - now > std::uint64_t{tier_grant_days_max} * ms_per_day) {
    return Error{Code::tier_grant_too_long, "a grant runs at most " + std::to_string(tier_grant_days_max) + " days"};
  }
  bool exists = false;
  Account account = load_account(grant.customer, exists);
  TierStatus status = settled_tier(account);
  // One grant at a time: its partner may change or extend it; another partner waits for it
  // to end, so no partner can cut short a membership someone else sold.
  if (status.granted_tier != 0 && status.granted_by != grant.partner) {
    return Error{Code::tier_grant_held, "partner " + std::to_string(status.granted_by) + " granted " +
                                            program.tier_name(status.granted_tier) + " until " +
                                            std::to_string(status.granted_until_ms)};
  }
  const std::uint8_t tier_before = status.tier;
  status.granted_tier = grant.tier;
  status.granted_by = grant.partner;
  status.granted_until_ms = grant.until_ms;
  status = settle_tier(program, genesis.genesis_time_ms, status, now);
  stats.issuer_sequence += 1;
  changes_.partners[grant.partner] = stats;
  store_tier_status(grant.customer, std::move(account), exists, status, tier_before, grant.partner, tx.id());
  return {};
}

Status BlockExecutor::apply_prepaid_top_up(const Transaction& tx, const PrepaidTopUp& top_up) {
  const Genesis& genesis = base_.genesis();
  if (genesis.partner(top_up.partner) == nullptr) {
    return Error{Code::unknown_partner, "partner " + std::to_string(top_up.partner)};
  }
  if (!is_prepaid(genesis, top_up.partner)) {
    return Error{Code::not_prepaid, "partner " + std::to_string(top_up.partner) + " is billed post-paid, not prepaid"};
  }
  PrepaidBalance prepaid = load_prepaid(top_up.partner);
  if (tx.fields().sequence != prepaid.top_up_sequence + 1) {
    return sequence_error(prepaid.top_up_sequence, tx.fields().sequence);
  }
  if (add_overflows(prepaid.balance_points, top_up.points) || add_overflows(prepaid.topped_up_points, top_up.points)) {
    return Error{Code::overflow, "prepaid points would pass 2^64 - 1"};
  }
  prepaid.top_up_sequence += 1;
  prepaid.balance_points += top_up.points;
  prepaid.topped_up_points += top_up.points;
  changes_.prepaid[top_up.partner] = prepaid;
  return {};
}

// ---------------------------------------------------------------------------------------
// Stamp cards and badges (protocol version 4)

const StampCardRecord* BlockExecutor::find_stamp_card(PartnerId partner, std::uint32_t card_id) const {
  const StampsAndBadges& staged = changes_.stamps_and_badges;
  if (auto found = staged.cards.find({partner, card_id}); found != staged.cards.end()) return &found->second;
  return base_.stamp_card(partner, card_id);
}

StampProgress BlockExecutor::load_stamp_progress(const StampProgressKey& key) const {
  const StampsAndBadges& staged = changes_.stamps_and_badges;
  if (auto found = staged.progress.find(key); found != staged.progress.end()) return found->second;
  const StampProgress* committed = base_.stamp_progress(std::get<0>(key), std::get<1>(key), std::get<2>(key));
  return committed == nullptr ? StampProgress{} : *committed;
}

const BadgeRecord* BlockExecutor::find_badge(PartnerId partner, std::uint32_t badge_id) const {
  const StampsAndBadges& staged = changes_.stamps_and_badges;
  if (auto found = staged.badges.find({partner, badge_id}); found != staged.badges.end()) return &found->second;
  return base_.badge(partner, badge_id);
}

BadgeProgress BlockExecutor::load_badge_progress(const BadgeProgressKey& key) const {
  const StampsAndBadges& staged = changes_.stamps_and_badges;
  if (auto found = staged.badge_progress.find(key); found != staged.badge_progress.end()) return found->second;
  const BadgeProgress* committed = base_.badge_progress(std::get<0>(key), std::get<1>(key), std::get<2>(key));
  return committed == nullptr ? BadgeProgress{} : *committed;
}

namespace {

// The (id, record) pairs of one partner in `committed` with `staged` over them, in id order.
template <class Record>
std::vector<std::pair<std::uint32_t, Record>> partner_items(const std::map<std::pair<PartnerId, std::uint32_t>, Record>& committed,
                                                            const std::map<std::pair<PartnerId, std::uint32_t>, Record>& staged,
                                                            PartnerId partner) {
  std::map<std::uint32_t, const Record*> merged;
  for (auto it = committed.lower_bound({partner, 0}); it != committed.end() && it->first.first == partner; ++it) {
    merged[it->first.second] = &it->second;
  }
  for (auto it = staged.lower_bound({partner, 0}); it != staged.end() && it->first.first == partner; ++it) {
    merged[it->first.second] = &it->second;
  }
  std::vector<std::pair<std::uint32_t, Record>> items;
  items.reserve(merged.size());
  for (const auto& [id, record] : merged) items.emplace_back(id, *record);
  return items;
}

bool in_validity(std::uint64_t now, std::uint64_t valid_from_ms, std::uint64_t valid_until_ms) {
  return now >= valid_from_ms && (valid_until_ms == 0 || now < valid_until_ms);
}

}  // namespace

std::vector<std::pair<std::uint32_t, StampCardRecord>> BlockExecutor::stamp_cards_of(PartnerId partner) const {
  return partner_items(base_.stamps_and_badges().cards, changes_.stamps_and_badges.cards, partner);
}

std::vector<std::pair<std::uint32_t, BadgeRecord>> BlockExecutor::badges_of(PartnerId partner) const {
  return partner_items(base_.stamps_and_badges().badges, changes_.stamps_and_badges.badges, partner);
}

Status BlockExecutor::stamp_and_count(const Transaction& tx, const Issue& issue, std::uint64_t credited_points,
                                      StampsAndBadges& staged, std::map<VoucherKey, Voucher>& vouchers) const {
  const std::uint64_t now = changes_.context.time_ms;
  const std::uint64_t day = now / ms_per_day;
  std::vector<StampGiven> given;
  std::uint16_t voucher_unit = 0;
  for (auto& [card_id, card] : stamp_cards_of(issue.partner)) {
    const StampCardTerms& terms = card.terms;
    const bool qualifies = terms.active && in_validity(now, terms.valid_from_ms, terms.valid_until_ms) &&
                           issue.reason == Reason::purchase && issue.purchase &&
                           issue.purchase->currency == terms.currency &&
                           static_cast<std::uint64_t>(issue.purchase->amount_minor) >= terms.min_amount_minor;
    if (!qualifies) continue;
    const StampProgressKey key{issue.partner, card_id, issue.customer};
    StampProgress progress = load_stamp_progress(key);
    // A started card lapses card_days after its first stamp: its stamps are dropped and this
    // purchase starts the next card.
    if (terms.card_days != 0 && progress.stamps != 0 &&
        now >= progress.started_at_ms + std::uint64_t{terms.card_days} * ms_per_day) {
      progress.stamps = 0;
      progress.started_at_ms = 0;
      progress.card_number += 1;
    }
    if (terms.rule == StampRule::per_day && progress.last_stamp_ms != 0 && progress.last_stamp_ms / ms_per_day == day) {
      continue;
    }
    if (progress.stamps == 0) progress.started_at_ms = now;
    progress.stamps += 1;
    progress.last_stamp_ms = now;
    given.push_back(StampGiven{card_id, progress.card_number, terms.min_amount_minor, false});
    // The threshold in force now decides: a card whose threshold was lowered below its stamps
    // fills at its next stamp, and the next card starts empty.
    if (progress.stamps >= terms.stamps_needed) {
      std::string code = voucher_code(tx.id(), voucher_unit++);
      if (find_voucher(issue.partner, code) != nullptr || vouchers.contains({issue.partner, code})) {
        return Error{Code::voucher_code_taken, "voucher code " + code + " is taken: sign the issuance again"};
      }
      vouchers[{issue.partner, std::move(code)}] = Voucher{issue.customer, terms.reward_id, now, 0, card_id};
      progress.stamps = 0;
      progress.started_at_ms = 0;
      progress.card_number += 1;
      progress.filled += 1;
      card.filled += 1;
      staged.cards[{issue.partner, card_id}] = card;
    }
    staged.progress[key] = progress;
  }
  if (!given.empty()) staged.stamps_given[{issue.partner, issue.reference}] = std::move(given);

  for (auto& [badge_id, badge] : badges_of(issue.partner)) {
    const BadgeTerms& terms = badge.terms;
    std::uint64_t counted = 0;
    if (terms.rule == BadgeRule::action_count && terms.reason == issue.reason) counted = 1;
    if (terms.rule == BadgeRule::points_earned) counted = credited_points;
    if (!terms.active || counted == 0) continue;
    const BadgeProgressKey key{issue.partner, badge_id, issue.customer};
    BadgeProgress progress = load_badge_progress(key);
    if (progress.earned()) continue;  // an earned badge's record never changes again
    // The points a partner issued to one customer are bounded by the total issued (< 2^64).
    progress.progress += counted;
    if (progress.progress >= terms.threshold) {
      progress.earned_at_ms = now;
      progress.earned_height = changes_.context.height;
      progress.earned_index = changes_.applied_count;
      badge.earned += 1;
      staged.badges[{issue.partner, badge_id}] = badge;
    }
    staged.badge_progress[key] = progress;
  }
  return {};
}

void BlockExecutor::take_back_stamps(PartnerId partner, const std::string& reference, const IssuanceRecord& after) {
  const IssuanceKey issuance_key{partner, reference};
  StampsAndBadges& staged = changes_.stamps_and_badges;
  std::vector<StampGiven> stamps;
  if (auto found = staged.stamps_given.find(issuance_key); found != staged.stamps_given.end()) {
    stamps = found->second;
  } else if (const std::vector<StampGiven>* committed = base_.stamps_given(partner, reference)) {
    stamps = *committed;
  } else {
    return;
  }
  // Stamps are only given for purchases, whose issuance records their amount.
  PC_CHECK(after.purchase_amount_minor.has_value());
  const std::uint64_t kept_minor = static_cast<std::uint64_t>(*after.purchase_amount_minor) - after.returned_minor;
  bool changed = false;
  for (StampGiven& stamp : stamps) {
    if (stamp.taken_back || (!after.reversed && kept_minor >= stamp.min_amount_minor)) continue;
    stamp.taken_back = true;
    changed = true;
    const StampProgressKey key{partner, stamp.card_id, after.customer};
    StampProgress progress = load_stamp_progress(key);
    // Only a stamp still on the customer's current card comes off: a card that filled (its
    // voucher exists) or lapsed since keeps what it had.
    if (progress.card_number != stamp.card_number) continue;
    PC_CHECK(progress.stamps > 0);
    progress.stamps -= 1;
    if (progress.stamps == 0) progress.started_at_ms = 0;
    staged.progress[key] = progress;
  }
  if (changed) staged.stamps_given[issuance_key] = std::move(stamps);
}

Status BlockExecutor::apply_define_stamp_card(const Transaction& tx, const DefineStampCard& define) {
  if (base_.genesis().partner(define.partner) == nullptr) {
    return Error{Code::unknown_partner, "partner " + std::to_string(define.partner)};
  }
  PartnerStats stats = load_partner(define.partner);
  if (tx.fields().sequence != stats.issuer_sequence + 1) {
    return sequence_error(stats.issuer_sequence, tx.fields().sequence);
  }
  if (find_reward(define.partner, define.terms.reward_id) == nullptr) {
    return Error{Code::unknown_reward, "partner " + std::to_string(define.partner) + " has no reward " +
                                           std::to_string(define.terms.reward_id) + " for the card to give"};
  }
  const StampCardRecord* found = find_stamp_card(define.partner, define.card_id);
  if (found == nullptr && stamp_cards_of(define.partner).size() >= stamp_cards_per_partner_max) {
    return Error{Code::stamp_cards_full, "partner " + std::to_string(define.partner) + " has " +
                                             std::to_string(stamp_cards_per_partner_max) + " stamp cards; update one instead"};
  }
  // An update keeps the id, the cards filled and every customer's stamps.
  StampCardRecord card = found == nullptr ? StampCardRecord{} : *found;
  card.terms = define.terms;
  card.revision += 1;
  card.updated_height = changes_.context.height;
  stats.issuer_sequence += 1;
  changes_.partners[define.partner] = stats;
  changes_.stamps_and_badges.cards[{define.partner, define.card_id}] = std::move(card);
  return {};
}

Status BlockExecutor::apply_define_badge(const Transaction& tx, const DefineBadge& define) {
  if (base_.genesis().partner(define.partner) == nullptr) {
    return Error{Code::unknown_partner, "partner " + std::to_string(define.partner)};
  }
  PartnerStats stats = load_partner(define.partner);
  if (tx.fields().sequence != stats.issuer_sequence + 1) {
    return sequence_error(stats.issuer_sequence, tx.fields().sequence);
  }
  const BadgeRecord* found = find_badge(define.partner, define.badge_id);
  if (found == nullptr && badges_of(define.partner).size() >= badges_per_partner_max) {
    return Error{Code::badges_full, "partner " + std::to_string(define.partner) + " has " +
                                        std::to_string(badges_per_partner_max) + " badges; update one instead"};
  }
  // An update keeps the id, the holders and everyone's progress.
  BadgeRecord badge = found == nullptr ? BadgeRecord{} : *found;
  badge.terms = define.terms;
  badge.revision += 1;
  badge.updated_height = changes_.context.height;
  stats.issuer_sequence += 1;
  changes_.partners[define.partner] = stats;
  changes_.stamps_and_badges.badges[{define.partner, define.badge_id}] = std::move(badge);
  return {};
}

Status BlockExecutor::apply_award_badge(const Transaction& tx, const AwardBadge& award) {
  if (base_.genesis().partner(award.partner) == nullptr) {
    return Error{Code::unknown_partner, "partner " + std::to_string(award.partner)};
  }
  PartnerStats stats = load_partner(award.partner);
  if (tx.fields().sequence != stats.issuer_sequence + 1) {
    return sequence_error(stats.issuer_sequence, tx.fields().sequence);
  }
  const BadgeRecord* found = find_badge(award.partner, award.badge_id);
  if (found == nullptr) {
    return Error{Code::unknown_badge, "partner " + std::to_string(award.partner) + " has no badge " + std::to_string(award.badge_id)};
  }
  if (!found->terms.active) return Error{Code::badge_inactive, "badge " + std::to_string(award.badge_id) + " is not active"};
  bool exists = false;
  (void)load_account(award.customer, exists);
  if (!exists) return Error{Code::unknown_customer, "no account holds this key: a badge goes to a customer of the coalition"};
  const BadgeProgressKey key{award.partner, award.badge_id, award.customer};
  BadgeProgress progress = load_badge_progress(key);
  if (progress.earned()) {
    return Error{Code::badge_already_earned, "the customer earned badge " + std::to_string(award.badge_id) + " at " +
                                                 std::to_string(progress.earned_at_ms)};
  }
  BadgeRecord badge = *found;
  badge.earned += 1;
  progress.earned_at_ms = changes_.context.time_ms;
  progress.earned_height = changes_.context.height;
  progress.earned_index = changes_.applied_count;
  stats.issuer_sequence += 1;
  changes_.partners[award.partner] = stats;
  changes_.stamps_and_badges.badges[{award.partner, award.badge_id}] = std::move(badge);
  changes_.stamps_and_badges.badge_progress[key] = progress;
  return {};
}

Status BlockExecutor::apply_set_point_value(const Transaction& tx, const SetPointValue& set) {
  if (base_.genesis().partner(set.partner) == nullptr) {
    return Error{Code::unknown_partner, "partner " + std::to_string(set.partner)};
  }
  PartnerStats stats = load_partner(set.partner);
  if (tx.fields().sequence != stats.issuer_sequence + 1) {
    return sequence_error(stats.issuer_sequence, tx.fields().sequence);
  }
  const PointValueRecord* found = find_point_value(set.partner);
  PointValueRecord record = found == nullptr ? PointValueRecord{} : *found;
  record.value = set.value;
  record.revision += 1;
  record.effective_height = changes_.context.height;
  stats.issuer_sequence += 1;
  changes_.partners[set.partner] = stats;
  changes_.point_values[set.partner] = std::move(record);
  return {};
}

// The request's signature was checked by verify_transaction_signature (payment_request_bad_signature).
Status BlockExecutor::apply_pay_with_points(const Transaction& tx, const PayWithPoints& pay) {
  const PaymentRequest& request = pay.request.request;
  if (request.chain_id != base_.genesis().chain_id) {
    return Error{Code::payment_request_wrong_chain, "the payment request is for chain " + request.chain_id};
  }
  if (base_.genesis().partner(request.partner) == nullptr) {
    return Error{Code::unknown_partner, "partner " + std::to_string(request.partner)};
  }
  bool exists = false;
  const Account account = load_account(pay.customer, exists);
  if (tx.fields().sequence != account.sequence + 1) return sequence_error(account.sequence, tx.fields().sequence);
  const Hash256 request_id = request.id();
  if (const PaymentRecord* paid = find_payment(request_id)) {
    return Error{Code::payment_request_paid, "order " + request.order_id + " of partner " + std::to_string(request.partner) +
                                                 " was paid at height " + std::to_string(paid->paid_height)};
  }
  const std::uint64_t now = changes_.context.time_ms;
  if (now > request.expires_at_ms) {
    return Error{Code::payment_request_expired, "the payment request expired at " + std::to_string(request.expires_at_ms) +
                                                    "; the block time is " + std::to_string(now)};
  }
  const PointValueRecord* rate = find_point_value(request.partner);
  if (rate == nullptr) {
    return Error{Code::no_point_value, "partner " + std::to_string(request.partner) + " has not declared what its points are worth"};
  }
  const PointValue& value = rate->value;
  const std::optional<std::uint64_t> due = points_for_amount(request.amount_minor, value);
  if (request.currency != value.currency || due != request.points) {
    return Error{Code::point_value_mismatch,
                 "the request asks " + std::to_string(request.points) + " points for " + std::to_string(request.amount_minor) +
                     " " + request.currency + "; at the rate in force (" + std::to_string(value.points) + " points = " +
                     std::to_string(value.minor_units) + " " + value.currency + ") it is " +
                     (request.currency == value.currency && due ? std::to_string(*due) + " points" : "not payable")};
  }
  const PaymentTotalsKey totals_key{request.partner, request.currency};
  PaymentTotals totals = load_payment_totals(totals_key);
  // Points cannot overflow (they are at most the points ever redeemed); money can.
  if (add_overflows(totals.amount_minor, request.amount_minor)) {
    return Error{Code::overflow, "the money paid at partner " + std::to_string(request.partner) + " would pass 2^64 - 1"};
  }
  // spend() checks the balance last and writes nothing when it refuses.
  if (auto status = spend(tx, pay.customer, request.partner, request.points); !status) return status;
  totals.payments += 1;
  totals.points += request.points;
  totals.amount_minor += request.amount_minor;
  changes_.payment_totals[totals_key] = totals;
  changes_.payments[request_id] = PaymentRecord{request.partner,       pay.customer,
                                                request.order_id,      request.amount_minor,
                                                request.currency,      request.points,
                                                changes_.context.height, now,
                                                tx.id()};
  return {};
}

BlockChanges BlockExecutor::finish() && {
  std::vector<Record>& records = changes_.records;
  records.reserve(changes_.accounts.size() + changes_.issuances.size() + changes_.partners.size() +
                  changes_.settlement.size() + changes_.rewards.size() + changes_.reward_usage.size() +
                  2 * changes_.vouchers.size() + changes_.prepaid.size() + changes_.stamps_and_badges.size() +
                  changes_.point_values.size() + changes_.payments.size() + changes_.payment_totals.size() + 1);
  // In key order, as every other kind comes from its map: the sort below then merges runs.
  for (const auto* entry : in_key_order(changes_.accounts)) {
    records.push_back({record::account_key(entry->first), record::encode(entry->second)});
  }
  collect_changed(changes_.issuances, records,
                  [](const auto& key) { return record::issuance_key(key.first, key.second); },
                  [](const IssuanceRecord& value) { return record::encode(value); });
  collect_changed(changes_.partners, records, record::partner_key,
                  [](const PartnerStats& value) { return record::encode(value); });
  collect_changed(changes_.settlement, records,
                  [](const auto& key) { return record::settlement_key(key.first, key.second); },
                  record::encode_settlement);
  collect_catalog(changes_.rewards, changes_.reward_usage, changes_.vouchers, records);
  collect_changed(changes_.prepaid, records, record::prepaid_key,
                  [](const PrepaidBalance& value) { return record::encode(value); });
  changes_.stamps_and_badges.collect(records);
  collect_payments(changes_.point_values, changes_.payments, changes_.payment_totals, records);
  if (!(changes_.totals == base_.totals())) {
    records.push_back({record::totals_key(), record::encode(changes_.totals)});
  }
  std::sort(records.begin(), records.end(), [](const Record& a, const Record& b) { return a.key < b.key; });
  changes_.changes_digest = record::changes_digest(records);
  changes_.state_hash = record::chain_state_hash(base_.state_hash(), changes_.changes_digest);

  // The supply invariant, checked after every block before anything is written.
  const Totals& totals = changes_.totals;
  PC_CHECK(totals.issued >= totals.redeemed + totals.expired + totals.reversed);
  PC_CHECK(totals.balance_sum == totals.issued - totals.redeemed - totals.expired - totals.reversed);
  return std::move(changes_);
}

}  // namespace pc::ledger
