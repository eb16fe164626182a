// The coalition state machine. Deterministic: no clock (block time comes in a BlockContext),
// no threads, no I/O. The state is a set of canonical records (docs/protocol.md, "State
// records"); a block's state hash chains the digest of the records it changed onto the
// previous state hash, so two nodes that agree on the hash agree on every record.
//
//   State          the committed state, in memory. Read-only to everyone but apply().
//   BlockExecutor  stages one block's changes over a State; each transaction is all or
//                  nothing; finish() yields the BlockChanges to commit.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "crypto/table_hash.hpp"
#include "ledger/genesis.hpp"
#include "ledger/transaction.hpp"

namespace pc::ledger {

// An issuance is named by where it was included: (block height, position in the block).
struct IssuanceId {
  std::uint64_t height = 0;
  std::uint32_t index = 0;

  auto operator<=>(const IssuanceId&) const = default;
};

// Points from one issuance held by one account.
struct Lot {
  PartnerId partner = 0;          // who issued them (and owes them)
  IssuanceId issuance;
  std::uint64_t points = 0;       // still unspent
  std::uint64_t earned_at_ms = 0;     // block time of the issuance; expiry counts from here
  std::uint64_t spendable_at_ms = 0;  // pending until this block time (the return window)

  bool operator==(const Lot&) const = default;
};

struct Account {
  std::uint64_t sequence = 0;  // last sequence used by this account's key; next must be +1
  std::vector<Lot> lots;       // oldest first: by (earned_at_ms, issuance)
  // Record version 2 (protocol version 4 on) appends the customer's tier state, so that a
  // customer who earns costs one record, not an account and a tier record. Version 1 records
  // (earlier chains) have no tier, and keep their bytes.
  std::uint8_t record_version = 1;
  TierStatus tier;

  std::uint64_t balance() const;                          // pending included
  std::uint64_t spendable(std::uint64_t time_ms) const;   // pending excluded

  bool operator==(const Account&) const = default;
};

struct PartnerStats {
  std::uint64_t issuer_sequence = 0;
  std::uint64_t issued = 0;             // all points it ever issued
  std::uint64_t redeemed_at = 0;        // points customers redeemed at this partner
  std::uint64_t issued_redeemed = 0;    // its points that were redeemed, at any partner
  std::uint64_t expired = 0;            // its points that expired unspent (breakage)
  std::uint64_t reversed = 0;           // its points taken back by Reverse
  std::uint64_t reversal_shortfall = 0; // points a Reverse could not take back (spent or moved)

  // Liability: its points still held by customers.
  std::uint64_t outstanding() const { return issued - issued_redeemed - expired - reversed; }

  bool operator==(const PartnerStats&) const = default;
};

struct IssuanceRecord {
  IssuanceId id;
  PublicKey customer{};
  std::uint64_t points = 0;
  std::uint64_t spendable_at_ms = 0;
  bool reversed = false;             // nothing more can be taken back (Reverse, or returned in full)
  std::uint64_t reversed_points = 0; // taken back so far
  std::uint64_t shortfall_points = 0;  // due back so far but no longer in the account
  // Record version 2 (protocol version 3 on): the order's purchase amount, kept so that a
  // PartialReturn can take back points in proportion, and the sum of the amounts returned.
  // Version 1 records (earlier chains) have none of these three, and keep their bytes.
  std::uint8_t record_version = 1;
  std::optional<std::int64_t> purchase_amount_minor{};
  std::uint64_t returned_minor = 0;
  // Record version 3 (protocol version 4 on): the customer's tier when the Issue applied and
  // its multiplier; `points` is the Issue's points × multiplier_bp / 10000, rounded down.
  std::uint8_t tier = 0;
  std::uint32_t multiplier_bp = 0;

  bool operator==(const IssuanceRecord&) const = default;
};

// A reward in a partner's catalog: the terms last published, and counters.
struct RewardRecord {
  RewardTerms terms;
  std::uint32_t revision = 0;         // how many times it was published: 1 for the first
  std::uint64_t updated_height = 0;   // the block of the last PublishReward
  std::uint64_t redeemed = 0;         // units ever redeemed

  bool operator==(const RewardRecord&) const = default;
};

using RewardKey = std::pair<PartnerId, std::uint32_t>;  // (partner, reward id)

// What one customer redeemed of one reward, for its limits.
struct RewardUsage {
  std::uint64_t total = 0;             // units ever
  std::uint64_t period_start_ms = 0;   // the period `in_period` counts (periods: docs/protocol.md)
  std::uint64_t in_period = 0;         // units in that period

  bool operator==(const RewardUsage&) const = default;
};

using RewardUsageKey = std::tuple<PartnerId, std::uint32_t, PublicKey>;

// One redeemed unit of a reward, shown at the partner's till by its code.
struct Voucher {
  PublicKey customer{};
  std::uint32_t reward_id = 0;
  std::uint64_t redeemed_at_ms = 0;  // block time of the redemption (or of the stamp that filled the card)
  std::uint64_t used_at_ms = 0;      // block time of the UseVoucher; 0: not used (block times are > 0)
  // The stamp card whose full card made it (record version 2, protocol version 4 on);
  // nullopt: a RedeemReward made it (record version 1).
  std::optional<std::uint32_t> stamp_card_id{};

  bool operator==(const Voucher&) const = default;
};

using VoucherKey = std::pair<PartnerId, std::string>;  // (partner, code)

// Accounts by key, hashed (a keyed SipHash: customers choose their keys): looked up for
// nearly every transaction, in a state of many accounts. Nothing iterates one where the order
// could show: records are sorted by key before they are hashed or written, and
// check_invariants walks the accounts in key order.
using AccountMap = std::unordered_map<PublicKey, Account, crypto::TableHash>;

struct Record {
  Bytes key;
  Bytes value;
  bool operator==(const Record&) const = default;
};

// A partner's stamp card: the terms last defined, and how many cards customers filled.
struct StampCardRecord {
  StampCardTerms terms;
  std::uint32_t revision = 0;        // how many times it was defined: 1 for the first
  std::uint64_t updated_height = 0;  // the block of the last DefineStampCard
  std::uint64_t filled = 0;          // cards filled, each one a voucher

  bool operator==(const StampCardRecord&) const = default;
};

using StampCardKey = std::pair<PartnerId, std::uint32_t>;  // (partner, card id)

// One customer's card of one stamp card definition.
struct StampProgress {
  std::uint32_t card_number = 1;    // 1 for the first card; +1 when a card fills or lapses
  std::uint16_t stamps = 0;         // on the current card
  std::uint64_t started_at_ms = 0;  // block time of the current card's first stamp; 0: no stamps
  std::uint64_t last_stamp_ms = 0;  // block time of the last stamp given; 0: none yet
  std::uint32_t filled = 0;         // cards this customer filled

  bool operator==(const StampProgress&) const = default;
};

using StampProgressKey = std::tuple<PartnerId, std::uint32_t, PublicKey>;  // (partner, card id, customer)

// A stamp one Issue gave, kept under the issuance so that a return can take it back.
struct StampGiven {
  std::uint32_t card_id = 0;
  std::uint32_t card_number = 0;         // the customer's card it went on
  std::uint64_t min_amount_minor = 0;    // the card's minimum when the stamp was given
  bool taken_back = false;

  bool operator==(const StampGiven&) const = default;
};

using IssuanceKey = std::pair<PartnerId, std::string>;  // (partner, reference)

// A partner's badge: the terms last defined, and how many customers earned it.
struct BadgeRecord {
  BadgeTerms terms;
  std::uint32_t revision = 0;
  std::uint64_t updated_height = 0;
  std::uint64_t earned = 0;

  bool operator==(const BadgeRecord&) const = default;
};

using BadgeKey = std::pair<PartnerId, std::uint32_t>;  // (partner, badge id)

// One customer's progress toward one badge, and the badge once earned (never taken away).
struct BadgeProgress {
  std::uint64_t progress = 0;        // actions or points counted while not yet earned
  std::uint64_t earned_at_ms = 0;    // block time it was earned; 0: not earned
  std::uint64_t earned_height = 0;   // the block that gave it; 0: not earned
  std::uint32_t earned_index = 0;    // the position in that block of the transaction that gave it

  bool earned() const { return earned_height != 0; }
  bool operator==(const BadgeProgress&) const = default;
};

using BadgeProgressKey = std::tuple<PartnerId, std::uint32_t, PublicKey>;  // (partner, badge id, customer)

// The stamp cards and badges of protocol version 4, committed or staged by one block.
struct StampsAndBadges {
  std::map<StampCardKey, StampCardRecord> cards;
  std::map<StampProgressKey, StampProgress> progress;
  std::map<IssuanceKey, std::vector<StampGiven>> stamps_given;
  std::map<BadgeKey, BadgeRecord> badges;
  std::map<BadgeProgressKey, BadgeProgress> badge_progress;

  std::size_t size() const {
    return cards.size() + progress.size() + stamps_given.size() + badges.size() + badge_progress.size();
  }
  // Every entry as a record (keys and values of docs/protocol.md), appended to `out`.
  void collect(std::vector<Record>& out) const;
  // Overwrites this one's entries with `changes`' (State::apply).
  void merge(StampsAndBadges&& changes);
};

// A prepaid partner's prepaid points (protocol version 4 on): what its Issues may still use.
struct PrepaidBalance {
  std::uint64_t top_up_sequence = 0;   // the last PrepaidTopUp sequence for this partner
  std::uint64_t balance_points = 0;    // initial + topped_up_points - points it issued
  std::uint64_t topped_up_points = 0;  // all points ever added by PrepaidTopUp

  bool operator==(const PrepaidBalance&) const = default;
};

// What a partner's points are worth at its tills: the last SetPointValue (record 'm').
struct PointValueRecord {
  PointValue value;
  std::uint32_t revision = 0;          // how many times it was set: 1 for the first
  std::uint64_t effective_height = 0;  // the block of the last SetPointValue: in force from it on

  bool operator==(const PointValueRecord&) const = default;
};

// A paid payment request (record 'q', keyed by the request's id): what makes a request
// payable once, and what a till reads back to apply the discount.
struct PaymentRecord {
  PartnerId partner = 0;
  PublicKey customer{};
  std::string order_id;
  std::uint64_t amount_minor = 0;
  std::string currency;
  std::uint64_t points = 0;
  std::uint64_t paid_height = 0;
  std::uint64_t paid_at_ms = 0;   // block time
  Hash256 tx_id{};                // the PayWithPoints

  bool operator==(const PaymentRecord&) const = default;
};

// The money value of what customers paid with points at one partner in one currency (record
// 'm' with the currency): the sums over its payment records.
struct PaymentTotals {
  std::uint64_t payments = 0;
  std::uint64_t points = 0;
  std::uint64_t amount_minor = 0;

  bool operator==(const PaymentTotals&) const = default;
};

using PaymentTotalsKey = std::pair<PartnerId, std::string>;  // (partner, currency)

struct Totals {
  std::uint64_t issued = 0;
  std::uint64_t redeemed = 0;
  std::uint64_t expired = 0;
  std::uint64_t reversed = 0;
  std::uint64_t balance_sum = 0;  // kept apart from the counters so the invariant can be checked
  std::uint64_t accounts = 0;

  bool operator==(const Totals&) const = default;
};

// A customer's tier changed (protocol version 4): at an Issue or a GrantTier (tx_id set), or at
// the start of a block when a qualification or a grant ended (tx_id zero). Derived from
// execution; not part of the state hash.
struct TierChange {
  PublicKey customer{};
  std::uint8_t from_tier = 0;
  std::uint8_t to_tier = 0;
  PartnerId partner = 0;  // the issuing or granting partner; 0 at the start of a block
  Hash256 tx_id{};

  bool upgraded() const { return to_tier > from_tier; }
  bool operator==(const TierChange&) const = default;
};

// Something a partner's systems may want to hear about (earned, redeemed, ...). Derived
// from execution; not part of the state hash.
struct Event {
  enum class Kind { earned, redeemed, transferred_out, transferred_in, expired, reversed };
  Kind kind;
  PublicKey account{};
  PartnerId partner = 0;     // issuer for earned/expired/reversed, redeeming partner for redeemed
  std::uint64_t points = 0;
  Hash256 tx_id{};           // zero for expiry
};
std::string_view event_kind_name(Event::Kind kind);

struct BlockContext {
  std::uint64_t height = 0;
  std::uint64_t time_ms = 0;
};

// already_verified: the caller has run verify_transaction_signature on the transaction (or
// on the block, with verify_block_signatures) against this chain's genesis.
enum class SignatureCheck { verify, already_verified };

// What one block changed, ready to commit to a State and to write to the store.
struct BlockChanges {
  BlockContext context;
  std::vector<Record> records;  // every changed record, sorted by key
  Hash256 changes_digest{};
  Hash256 state_hash{};
  std::vector<Event> events;
  std::vector<TierChange> tier_changes;
  std::uint32_t applied_count = 0;

  // The staged values, moved into the State by State::apply.
  AccountMap accounts;
  std::map<PartnerId, PartnerStats> partners;
  std::map<std::pair<PartnerId, std::string>, IssuanceRecord> issuances;
  std::map<std::pair<PartnerId, PartnerId>, std::uint64_t> settlement;
  std::map<RewardKey, RewardRecord> rewards;
  std::map<RewardUsageKey, RewardUsage> reward_usage;
  std::map<VoucherKey, Voucher> vouchers;
  std::map<PartnerId, PrepaidBalance> prepaid;
  StampsAndBadges stamps_and_badges;
  std::map<PartnerId, PointValueRecord> point_values;
  std::map<Hash256, PaymentRecord> payments;
  std::map<PaymentTotalsKey, PaymentTotals> payment_totals;
  Totals totals;
};

class State {
 public:
  // The state before the first block.
  explicit State(Genesis genesis);
  // Rebuilds a state from stored records (as State::records() wrote them). corruption if a
  // record does not decode or the records break an invariant.
  static Result<State> from_records(Genesis genesis, std::uint64_t height, std::uint64_t time_ms,
                                    const Hash256& state_hash, const std::vector<Record>& records);

  const Genesis& genesis() const { return genesis_; }
  std::uint64_t height() const { return height_; }
  std::uint64_t time_ms() const { return time_ms_; }
  const Hash256& state_hash() const { return state_hash_; }

  const Account* account(const PublicKey& key) const;
  // Unordered: iterate only where the order cannot show (a count, a sum).
  const AccountMap& accounts() const { return accounts_; }
  const PartnerStats* partner(PartnerId id) const;
  const IssuanceRecord* issuance(PartnerId partner, const std::string& reference) const;
  // The references of `partner`'s issuances that start with `prefix`, in byte order, at most
  // `count_max` of them: O(log issuances + count_max).
  std::vector<std::string> issuance_references_with_prefix(PartnerId partner, std::string_view prefix,
                                                           std::size_t count_max) const;
  std::uint64_t settlement(PartnerId issuer, PartnerId redeemer) const;
  const RewardRecord* reward(PartnerId partner, std::uint32_t reward_id) const;
  const std::map<RewardKey, RewardRecord>& rewards() const { return rewards_; }
  const RewardUsage* reward_usage(PartnerId partner, std::uint32_t reward_id, const PublicKey& customer) const;
  const Voucher* voucher(PartnerId partner, const std::string& code) const;
  const std::map<VoucherKey, Voucher>& vouchers() const { return vouchers_; }
  const std::map<std::pair<PartnerId, PartnerId>, std::uint64_t>& settlement_matrix() const {
    return settlement_;
  }
  const PointValueRecord* point_value(PartnerId partner) const;
  const PaymentRecord* payment(const Hash256& request_id) const;
  const std::map<PaymentTotalsKey, PaymentTotals>& payment_totals() const { return payment_totals_; }
  const Totals& totals() const { return totals_; }
  // The customer's tier state as last written in its account (nullptr: no account). Its
  // `tier` is the tier at the state's time; settle_tier gives the rest at a later time.
  const TierStatus* tier_status(const PublicKey& customer) const;
  // The customer's tier state settled at the state's time (a default one without an account).
  TierStatus settled_tier(const PublicKey& customer) const;
  // nullptr unless `partner` is prepaid on a chain with billing terms.
  const PrepaidBalance* prepaid(PartnerId partner) const;
  const std::map<PartnerId, PrepaidBalance>& prepaid_balances() const { return prepaid_; }
  const StampCardRecord* stamp_card(PartnerId partner, std::uint32_t card_id) const;
  const StampProgress* stamp_progress(PartnerId partner, std::uint32_t card_id, const PublicKey& customer) const;
  const std::vector<StampGiven>* stamps_given(PartnerId partner, const std::string& reference) const;
  const BadgeRecord* badge(PartnerId partner, std::uint32_t badge_id) const;
  const BadgeProgress* badge_progress(PartnerId partner, std::uint32_t badge_id, const PublicKey& customer) const;
  const StampsAndBadges& stamps_and_badges() const { return stamps_and_badges_; }

  // Every record of the state, sorted by key: what the store holds.
  std::vector<Record> records() const;

  // The block time at which the next lot expires (the earliest over all accounts), or nullopt
  // when none can. A block whose time is at or after it expires that lot; a node uses this to
  // produce a block on time even when no transaction is pending.
  std::optional<std::uint64_t> next_expiry_ms() const;
  // The same for tiers: the earliest block time at which some customer's tier changes by
  // itself (a qualification or a grant ends), or nullopt.
  std::optional<std::uint64_t> next_tier_change_ms() const;

  // Commits an executed block. Precondition: `changes` came from a BlockExecutor over this
  // state (heights strictly increase; asserted).
  void apply(BlockChanges&& changes);

  // Recomputes every balance and counter from scratch and compares: O(state). The audit and
  // the tests call it; apply() checks the cheap form (totals against per-partner counters).
  Status check_invariants() const;

 private:
  friend class BlockExecutor;
  void reindex_expiry(const PublicKey& key, const Account* before, const Account& after);
  void reindex_tier(const PublicKey& key, const TierStatus& status, std::uint64_t now);
  std::uint64_t expiry_ms() const;
  Status check_stamps_and_badges(const std::map<StampCardKey, std::uint64_t>& card_vouchers) const;

  Genesis genesis_;
  std::uint64_t height_ = 0;
  std::uint64_t time_ms_ = 0;
  Hash256 state_hash_{};
  AccountMap accounts_;
  std::map<PartnerId, PartnerStats> partners_;
  std::map<std::pair<PartnerId, std::string>, IssuanceRecord> issuances_;
  std::map<std::pair<PartnerId, PartnerId>, std::uint64_t> settlement_;
  std::map<RewardKey, RewardRecord> rewards_;
  std::map<RewardUsageKey, RewardUsage> reward_usage_;
  std::map<VoucherKey, Voucher> vouchers_;
  std::map<PartnerId, PrepaidBalance> prepaid_;
  StampsAndBadges stamps_and_badges_;
  std::map<PartnerId, PointValueRecord> point_values_;
  std::map<Hash256, PaymentRecord> payments_;
  std::map<PaymentTotalsKey, PaymentTotals> payment_totals_;
  Totals totals_;
  // Derived, not stored: accounts by the time their oldest lot expires.
  std::set<std::pair<std::uint64_t, PublicKey>> expiry_queue_;
  // Derived, not stored: customers by the time their tier next changes by itself, and back.
  std::set<std::pair<std::uint64_t, PublicKey>> tier_queue_;
  std::unordered_map<PublicKey, std::uint64_t, crypto::TableHash> tier_change_at_;
};

// Everything about a transaction that can be checked without changing state, so callers can
// spread it over threads and then apply with SignatureCheck::already_verified:
//  - the signature, against the partner's issuer key (Issue, Reverse) or the customer's key
//    (Redeem, Transfer);
//  - a PayWithPoints' payment request, against its partner's issuer key
//    (payment_request_bad_signature: tampered with, or not the partner's);
//  - that every key the transaction could open a new account for (Issue's customer,
//    Transfer's recipient) passes crypto::is_valid_public_key. That check costs about as
//    much as a signature check, so keys that already have an account in `accounts_from` are
//    skipped: they were checked when the account was opened, and accounts are never removed.
// Thread-safe while nobody modifies `accounts_from` (nullptr: check every key).
Status verify_transaction_signature(const Genesis& genesis, const Transaction& tx,
                                    const State* accounts_from = nullptr);
// The key a transaction may open an account for: Issue's customer, Transfer's recipient.
std::optional<PublicKey> receiving_key(const Transaction& tx);

// The same, with the accounts known to exist given by a predicate (thread-safe if it is):
// the audit checks one window while the previous one is being applied to its State.
Status verify_transaction_signature(const Genesis& genesis, const Transaction& tx,
                                    const std::function<bool(const PublicKey&)>& has_account);

// The reward's own rules for redeeming `quantity` units at block time `now`, in the order
// docs/protocol.md lists them: reward_inactive, reward_not_yet_valid, reward_expired,
// reward_out_of_stock, reward_limit_reached, reward_period_limit_reached. On success `usage`
// counts the units (its period moved to now's); on failure it may be changed: discard it.
// `reward_name` goes into the error's detail.
Status check_reward_redemption(const RewardRecord& reward, RewardUsage& usage, std::uint16_t quantity,
                               std::uint64_t now, std::string_view reward_name);

class BlockExecutor {
 public:
  // Starts a block on top of `base`: expires every lot whose expiry falls at or before the
  // block time. Precondition: context.height == base.height() + 1 and the time is later.
  BlockExecutor(const State& base, BlockContext context);

  // Applies one transaction; on any error nothing it touched is changed.
  Status apply(const Transaction& tx, SignatureCheck check);

  // The block's changes and new state hash. Asserts the supply invariant.
  BlockChanges finish() &&;

  const BlockContext& context() const { return changes_.context; }

 private:
  Account load_account(const PublicKey& key, bool& exists) const;
  PartnerStats load_partner(PartnerId id) const;
  const IssuanceRecord* find_issuance(PartnerId partner, const std::string& reference) const;
  std::uint64_t load_settlement(PartnerId issuer, PartnerId redeemer) const;
  const RewardRecord* find_reward(PartnerId partner, std::uint32_t reward_id) const;
  std::size_t reward_count(PartnerId partner) const;
  RewardUsage load_reward_usage(const RewardUsageKey& key) const;
  const Voucher* find_voucher(PartnerId partner, const std::string& code) const;
  PrepaidBalance load_prepaid(PartnerId partner) const;
  const PointValueRecord* find_point_value(PartnerId partner) const;
  const PaymentRecord* find_payment(const Hash256& request_id) const;
  PaymentTotals load_payment_totals(const PaymentTotalsKey& key) const;
  void expire_lots();
  // Settles every customer whose tier changes by itself at or before the block time.
  void change_tiers();
  // The account's tier state settled at the block time.
  TierStatus settled_tier(const Account& account) const;
  // Puts `settled` into the account and stages it (opening it if new), noting a tier change.
  void store_tier_status(const PublicKey& customer, Account account, bool exists, const TierStatus& settled,
                         std::uint8_t tier_before, PartnerId partner, const Hash256& tx_id);
  // Takes `due` more points of `issuance` back from its customer: from the issuance's lot in
  // the account (pending or spendable alike: one issuance is one lot there), the rest as
  // shortfall. Shared by Reverse and PartialReturn; cannot fail.
  void take_back(PartnerStats& stats, IssuanceRecord& issuance, std::uint64_t due, const Transaction& tx);

  Status apply_issue(const Transaction& tx, const Issue& issue);
  Status apply_redeem(const Transaction& tx, const Redeem& redeem);
  Status apply_transfer(const Transaction& tx, const Transfer& transfer);
  Status apply_reverse(const Transaction& tx, const Reverse& reverse);
  Status apply_publish_reward(const Transaction& tx, const PublishReward& publish);
  Status apply_redeem_reward(const Transaction& tx, const RedeemReward& redeem);
  Status apply_use_voucher(const Transaction& tx, const UseVoucher& use);
  Status apply_partial_return(const Transaction& tx, const PartialReturn& partial);
  Status apply_grant_tier(const Transaction& tx, const GrantTier& grant);
  Status apply_prepaid_top_up(const Transaction& tx, const PrepaidTopUp& top_up);
  Status apply_define_stamp_card(const Transaction& tx, const DefineStampCard& define);
  Status apply_define_badge(const Transaction& tx, const DefineBadge& define);
  Status apply_award_badge(const Transaction& tx, const AwardBadge& award);
  // What a purchase Issue does to its partner's stamp cards and badges (protocol version 4),
  // written into `staged` and `vouchers`; the caller writes them into changes_ once every
  // rule passed. Fails only with voucher_code_taken.
  // `credited_points`: the Issue's points times the customer's tier multiplier.
  Status stamp_and_count(const Transaction& tx, const Issue& issue, std::uint64_t credited_points,
                         StampsAndBadges& staged, std::map<VoucherKey, Voucher>& vouchers) const;
  // Takes back the stamps of `reference`'s order that a return leaves below its card's
  // minimum (all of them when `whole` or the order is back in full); cannot fail.
  void take_back_stamps(PartnerId partner, const std::string& reference, const IssuanceRecord& after);
  const StampCardRecord* find_stamp_card(PartnerId partner, std::uint32_t card_id) const;
  StampProgress load_stamp_progress(const StampProgressKey& key) const;
  const BadgeRecord* find_badge(PartnerId partner, std::uint32_t badge_id) const;
  BadgeProgress load_badge_progress(const BadgeProgressKey& key) const;
  // A partner's cards or badges, committed and staged, in id order.
  std::vector<std::pair<std::uint32_t, StampCardRecord>> stamp_cards_of(PartnerId partner) const;
  std::vector<std::pair<std::uint32_t, BadgeRecord>> badges_of(PartnerId partner) const;
  Status apply_set_point_value(const Transaction& tx, const SetPointValue& set);
  Status apply_pay_with_points(const Transaction& tx, const PayWithPoints& pay);
  // Spends `points` of the account's spendable points at `partner` (Redeem, RedeemReward).
  Status spend(const Transaction& tx, const PublicKey& customer, PartnerId partner, std::uint64_t points);

  const State& base_;
  BlockChanges changes_;
};

// Record keys and codecs, shared by the store, the audit and docs/protocol.md's examples.
namespace record {
Bytes account_key(const PublicKey& key);
Bytes partner_key(PartnerId id);
Bytes issuance_key(PartnerId partner, std::string_view reference);
Bytes settlement_key(PartnerId issuer, PartnerId redeemer);
Bytes totals_key();
Bytes reward_key(PartnerId partner, std::uint32_t reward_id);
Bytes reward_usage_key(PartnerId partner, std::uint32_t reward_id, const PublicKey& customer);
Bytes voucher_key(PartnerId partner, std::string_view code);
// The customer's index of its vouchers: 'w' || customer || partner || code, value 01 alone.
Bytes customer_voucher_key(const PublicKey& customer, PartnerId partner, std::string_view code);
// 'T' was the tier record's tag while protocol version 4 was unreleased; the tier state moved
// into the account record (version 2) before release. The tag stays retired, so that a store a
// pre-release build wrote is refused as corruption rather than misread.
Bytes encode(const RewardRecord& reward);
Bytes encode(const RewardUsage& usage);
Bytes encode(const Voucher& voucher);
Bytes encode_customer_voucher();
Result<RewardRecord> decode_reward_value(ByteSpan value);
Result<Voucher> decode_voucher_value(ByteSpan value);
// Paying with points: 'm' || partner (the point value), 'm' || partner || currency (the payment
// totals), 'q' || request id (a paid request).
Bytes point_value_key(PartnerId partner);
Bytes payment_totals_key(PartnerId partner, std::string_view currency);
Bytes payment_key(const Hash256& request_id);
Bytes encode(const PointValueRecord& value);
Bytes encode(const PaymentRecord& payment);
Bytes encode(const PaymentTotals& totals);
Result<PointValueRecord> decode_point_value_value(ByteSpan value);
Result<PaymentRecord> decode_payment_value(ByteSpan value);
Result<PaymentTotals> decode_payment_totals_value(ByteSpan value);
inline constexpr std::uint8_t point_value_tag = 'm';
inline constexpr std::uint8_t payment_tag = 'q';
Result<RewardUsage> decode_reward_usage_value(ByteSpan value);
// A prepaid partner's balance (protocol version 4): 'B' || partner u16 BE.
Bytes prepaid_key(PartnerId partner);
Bytes encode(const PrepaidBalance& prepaid);
Result<PrepaidBalance> decode_prepaid_value(ByteSpan value);
inline constexpr std::uint8_t prepaid_tag = 'B';
// The tags of the catalog's records, for prefix reads of the store.
inline constexpr std::uint8_t reward_tag = 'r';
inline constexpr std::uint8_t voucher_tag = 'v';
inline constexpr std::uint8_t customer_voucher_tag = 'w';
// Stamp cards and badges (protocol version 4).
inline constexpr std::uint8_t stamp_card_tag = 'c';
inline constexpr std::uint8_t stamp_progress_tag = 'l';
inline constexpr std::uint8_t stamps_given_tag = 'd';
inline constexpr std::uint8_t badge_tag = 'k';
inline constexpr std::uint8_t badge_progress_tag = 'b';
Bytes stamp_card_key(PartnerId partner, std::uint32_t card_id);
Bytes stamp_progress_key(PartnerId partner, std::uint32_t card_id, const PublicKey& customer);
Bytes stamps_given_key(PartnerId partner, std::string_view reference);
Bytes badge_key(PartnerId partner, std::uint32_t badge_id);
Bytes badge_progress_key(PartnerId partner, std::uint32_t badge_id, const PublicKey& customer);
Bytes encode(const StampCardRecord& card);
Bytes encode(const StampProgress& progress);
Bytes encode(const std::vector<StampGiven>& stamps);
Bytes encode(const BadgeRecord& badge);
Bytes encode(const BadgeProgress& progress);
// Their values as the encoders above wrote them; corruption if one does not decode exactly.
Result<StampCardRecord> decode_stamp_card_value(ByteSpan value);
Result<StampProgress> decode_stamp_progress_value(ByteSpan value);
Result<std::vector<StampGiven>> decode_stamps_given_value(ByteSpan value);
Result<BadgeRecord> decode_badge_value(ByteSpan value);
Result<BadgeProgress> decode_badge_progress_value(ByteSpan value);
Bytes encode(const Account& account);
Bytes encode(const PartnerStats& stats);
Bytes encode(const IssuanceRecord& issuance);
Bytes encode_settlement(std::uint64_t points);
Bytes encode(const Totals& totals);
// An account record's value as encode(const Account&) wrote it; corruption if it does not
// decode exactly.
Result<Account> decode_account_value(ByteSpan value);
// tagged_hash(state_changes, count || (key, value)...) over records sorted by key.
Hash256 changes_digest(const std::vector<Record>& sorted_records);
Hash256 chain_state_hash(const Hash256& previous, const Hash256& digest);
}  // namespace record

}  // namespace pc::ledger
