// Read-only views of the loyalty program for RPC and the wallet (docs/loyalty.md): the rewards
// catalog with its filters, a customer's vouchers, a voucher as a partner's till sees it, and
// a customer's upcoming expiries grouped by date. Each reads one StoreView (a snapshot of one
// height), so an answer never mixes heights; none waits for the writer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ledger/store.hpp"

namespace pc::node {

inline constexpr std::size_t rewards_page_max = 100;
inline constexpr std::size_t vouchers_page_max = 100;

struct RewardQuery {
  std::optional<ledger::PartnerId> partner;        // one partner's catalog; nullopt: the coalition's
  std::optional<std::uint64_t> cost_points_max;     // only rewards costing at most this per unit
  // Only rewards this customer can redeem one unit of now: redeemable (below), its spendable
  // points cover the cost, and its own limits for the reward leave room.
  std::optional<crypto::PublicKey> affordable_for;
  bool include_unavailable = false;  // also rewards that are inactive, out of stock or out of validity
  std::optional<ledger::RewardKey> after;  // the page starts after this (partner, reward id)
  std::size_t limit = rewards_page_max;    // 1 to rewards_page_max
};

struct RewardView {
  ledger::PartnerId partner = 0;
  std::uint32_t reward_id = 0;
  ledger::RewardRecord record;
  bool redeemable_now = false;  // active, within validity at the tip's time, in stock
};

struct RewardPage {
  std::vector<RewardView> rewards;
  std::optional<ledger::RewardKey> next;  // where the next page starts (after=), when there may be one
};

// The catalog at the snapshot's height, filtered, in (partner, reward id) order. corruption for
// a record that does not decode; invalid_field for a limit outside 1..rewards_page_max.
ledger::Result<RewardPage> read_rewards(const ledger::StoreView& store, std::uint64_t tip_time_ms,
                                        const RewardQuery& query);

struct VoucherView {
  ledger::PartnerId partner = 0;
  std::string code;          // canonical (ledger/voucher.hpp)
  ledger::Voucher voucher;
  std::string reward_name;   // the reward's name now ("" if the reward record is missing: corruption)
};

struct VoucherPage {
  std::vector<VoucherView> vouchers;
  std::optional<std::pair<ledger::PartnerId, std::string>> next;  // after= for the next page
};

// A customer's vouchers in (partner, code) order, after `after`, at most `limit`
// (1..vouchers_page_max).
ledger::Result<VoucherPage> read_vouchers(const ledger::StoreView& store, const crypto::PublicKey& customer,
                                          const std::optional<std::pair<ledger::PartnerId, std::string>>& after,
                                          std::size_t limit);

// A voucher code as the till of partner `till_partner` sees it.
struct VoucherCheck {
  enum class Status { valid, used, unknown, foreign } status = Status::unknown;
  std::optional<VoucherView> voucher;   // valid and used: this partner's voucher
  ledger::PartnerId owner = 0;          // foreign: the partner whose voucher it is
};
std::string_view voucher_status_name(VoucherCheck::Status status);  // "valid", "used", ...
// `code` is canonical. A foreign voucher is one another partner issued: the till is told whose
// it is, and must refuse it.
ledger::Result<VoucherCheck> check_voucher(const ledger::StoreView& store, const ledger::Genesis& genesis,
                                           ledger::PartnerId till_partner, const std::string& code);

// One stamp card of the coalition as one customer holds it (docs/loyalty.md, "Stamp cards").
struct StampCardView {
  ledger::PartnerId partner = 0;
  std::uint32_t card_id = 0;
  ledger::StampCardRecord card;
  ledger::StampProgress progress;  // the customer's; all zero but card_number 1 before the first stamp
  std::string reward_name;         // the catalog reward a full card gives
  // The tip's view of the current card: its stamps count toward the next voucher (false when
  // the card lapsed: the next stamp starts card_number + 1), and when it lapses (0: never).
  bool current = true;
  std::uint64_t lapses_at_ms = 0;
};

// Every stamp card defined in the coalition with this customer's stamps on it, in (partner,
// card id) order: at most partners_max × stamp_cards_per_partner_max lookups. Cards the
// customer has no stamp on are included only when `include_empty` (a wallet shows what it can
// collect); corruption for a record that does not decode.
ledger::Result<std::vector<StampCardView>> read_stamp_cards(const ledger::StoreView& store, const crypto::PublicKey& customer,
                                                            std::uint64_t tip_time_ms, bool include_empty);

struct BadgeView {
  ledger::PartnerId partner = 0;
  std::uint32_t badge_id = 0;
  ledger::BadgeRecord badge;
  ledger::BadgeProgress progress;  // the customer's (progress.earned(): held)
};

// The badges this customer holds, and (with `include_progress`) the ones it is counting
// toward, in (partner, badge id) order: at most partners_max × badges_per_partner_max lookups.
ledger::Result<std::vector<BadgeView>> read_badges(const ledger::StoreView& store, const crypto::PublicKey& customer,
                                                   bool include_progress);

// A payment request as a till sees it (docs/loyalty.md, "Paying with points"): paid (with the
// payment record), or not yet; once the tip's block time is past the request's expiry, an
// unpaid request can never be paid.
struct PaymentCheck {
  enum class Status { unpaid, paid, expired } status = Status::unpaid;
  std::optional<ledger::PaymentRecord> payment;  // paid only
};
std::string_view payment_status_name(PaymentCheck::Status status);  // "unpaid", "paid", "expired"
// `expires_at_ms`: the request's expiry when the caller has the request; nullopt when it has
// only its id (an unpaid request is then "unpaid", whatever its age).
ledger::Result<PaymentCheck> check_payment(const ledger::StoreView& store, const ledger::Hash256& request_id,
                                           std::optional<std::uint64_t> expires_at_ms, std::uint64_t tip_time_ms);

// Points that expire on one UTC date (docs/loyalty.md, "Expiry").
struct ExpiryGroup {
  std::uint64_t day = 0;            // UTC days since 1970-01-01
  std::uint64_t first_expiry_ms = 0;  // the earliest lot expiry that day
  std::uint64_t points = 0;
};
// Every upcoming expiry of the account, by date, earliest first: each lot expires
// point_expiry_days after it was earned. Empty when points never expire.
std::vector<ExpiryGroup> expiry_schedule(const ledger::Account& account, std::uint32_t point_expiry_days);

}  // namespace pc::node
