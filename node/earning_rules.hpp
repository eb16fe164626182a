// The earning-rules engine: a partner's rule set (data_dir/earning-rules.json, docs/earning-rules.md)
// and the pure function that turns (rule set, order, customer facts, time) into the points
// and a breakdown naming every rule that contributed. Integers only: multipliers are in
// per mille, amounts in the currency's minor unit, every product overflow-checked. Nothing
// here reads a clock or the chain; the node gathers the customer's facts (node.cpp) and
// passes the time, so `quote` and `earn` call the same function with the same inputs.
//
// Thread-safety: a RuleSet is an immutable value once parsed; evaluate() is reentrant.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/hash.hpp"
#include "crypto/keys.hpp"
#include "ledger/errors.hpp"
#include "ledger/tiers.hpp"
#include "ledger/transaction.hpp"

namespace pc::node::rules {

inline constexpr std::uint32_t rule_set_version = 1;        // the file's "version"
inline constexpr std::size_t rule_set_bytes_max = 256 * 1024;
inline constexpr std::size_t rules_per_kind_max = 256;        // exclusions, multipliers, ...
inline constexpr std::size_t rule_name_bytes_max = 64;
inline constexpr std::size_t order_lines_max = 200;
inline constexpr std::size_t line_text_bytes_max = 64;        // sku, category, each flag
inline constexpr std::size_t line_flags_max = 8;
inline constexpr std::uint32_t line_quantity_max = 100'000;
inline constexpr std::uint32_t per_mille_one = 1'000;         // a multiplier of 1x
inline constexpr std::uint32_t multiplier_per_mille_max_max = 100'000;  // 100x
inline constexpr std::uint64_t points_per_unit_max = 1'000'000;
inline constexpr std::int32_t time_zone_offset_minutes_max = 14 * 60;
// The tag recorded in an issuance's reference: the first 16 bytes of the rule set's
// SHA-256, base64url without padding.
inline constexpr std::size_t rule_tag_chars = 22;
inline constexpr char reference_separator = '~';
// The longest order id `earn` accepts under a rule set: the reference holds
// order id ‖ '~' ‖ tag within ledger::reference_bytes_max (64).
inline constexpr std::size_t rules_order_id_bytes_max = 64 - 1 - rule_tag_chars;

// Which lines a rule applies to: at most one of the three is set; none set: every line.
struct LineSelector {
  std::string sku;
  std::string category;
  std::string flag;
};

// When a rule is in force, in the rule set's time zone: start inclusive, end exclusive (ms
// since the epoch, UTC, converted at parse time), and the weekdays (bit 0 Monday ... bit 6
// Sunday; 0x7f every day).
struct Window {
  std::optional<std::uint64_t> start_ms;
  std::optional<std::uint64_t> end_ms;
  std::uint8_t weekdays = 0x7f;
};

// A count over the customer's issuances at any partner in the last `days` days (block time
// at or after now - days x 24 h), within [min, max]; an unset bound is open.
struct RecentRange {
  std::uint32_t days = 0;
  std::optional<std::uint64_t> min;
  std::optional<std::uint64_t> max;
};
inline constexpr std::uint32_t segment_days_max = 366;

// Which customers a rule targets, from their facts on the chain. Unset: everyone.
struct Segment {
  std::optional<bool> new_customer;             // no purchase at this partner yet
  // The customer's tier (CustomerFacts::tier) is one of these: bit i is tier index i of the
  // genesis tier program. Resolved from the file's tier names at load, so a rule set is
  // loaded against one chain's program.
  std::optional<std::uint16_t> tiers;
  std::optional<std::uint32_t> inactive_days_min;  // no activity on the chain for this long
  std::optional<RecentRange> partners_visited;  // distinct partners that issued to the customer
  std::optional<RecentRange> points_earned;     // points issued to the customer, every partner
};

struct CurrencyRate {
  std::string currency;                  // ISO 4217
  std::uint64_t points_per_unit = 1;     // per whole currency unit
  std::uint64_t minimum_order_minor = 0; // eligible value below this earns nothing
};

struct Exclusion {
  std::string name;
  LineSelector lines;
};

struct Multiplier {
  std::string name;
  LineSelector lines;
  std::uint32_t per_mille = per_mille_one;
  Window window;
  Segment segment;
};

struct FixedPoints {
  std::string name;
  std::string sku;
  std::uint64_t points_per_item = 0;
};

struct FirstPurchaseBonus {
  std::string name;
  std::uint64_t points = 0;
};

enum class Period { day, week, month };
std::string_view period_name(Period period);

struct CustomerCap {
  Period period;
  std::uint64_t points_max = 0;
};

// Event rules: points for something a customer did that is not a purchase, through the
// `earn_event` RPC. Each event has at most one rule.
enum class EventKind { review, social_share, sign_up, birthday };
std::string_view event_kind_name(EventKind kind);
std::optional<EventKind> event_kind_from_name(std::string_view name);
// The Issue's reason: review, social; sign-up and birthday are bonuses.
ledger::Reason event_reason(EventKind kind);

// The period an event's limit counts in, in the rule set's time zone; `ever`: the whole chain.
enum class EventPeriod { day, week, month, year, ever };
std::string_view event_period_name(EventPeriod period);
inline constexpr std::uint32_t event_limit_count_max = 1'000;
// The caller's id of one event (a review id, a share's URL hash): with the event's name and a
// '.', it is the issuance's reference before the rule set's tag.
inline constexpr std::size_t event_id_bytes_max = 24;

struct EventRule {
  std::string name;
  EventKind event = EventKind::review;
  std::uint64_t points = 0;
  std::uint32_t limit_count = 1;                // issuances per customer per period
  EventPeriod limit_period = EventPeriod::ever;
};

// Where the period holding `time_ms` began (UTC ms); 0 for `ever`.
std::uint64_t event_period_start(std::int32_t time_zone_offset_minutes, std::uint64_t time_ms, EventPeriod period);

// Referrals (docs/earning-rules.md, "Referrals"): when a customer's first purchase at this
// partner names another customer's referral code, both get points, each as an Issue with
// reason referral. At most referrer_limit_count referrals per referrer per period.
struct ReferralRule {
  std::string name;
  std::uint64_t referrer_points = 0;
  std::uint64_t referred_points = 0;
  std::uint32_t referrer_limit_count = 1;
  EventPeriod referrer_limit_period = EventPeriod::ever;
};
// The references of the two issuances start with these, then the referred customer's code.
inline constexpr std::string_view referred_reference_prefix = "referral.";
inline constexpr std::string_view referrer_reference_prefix = "referrer.";

struct RuleSet {
  crypto::Hash256 hash{};                // SHA-256 of the file's bytes
  std::string tag;                       // rule_tag_chars of base64url
  std::int32_t time_zone_offset_minutes = 0;  // fixed offset from UTC; no daylight saving
  std::vector<CurrencyRate> currencies;
  std::vector<Exclusion> exclusions;
  std::vector<Multiplier> multipliers;
  std::uint32_t multiplier_per_mille_max = 10 * per_mille_one;  // the combined multiplier of a line
  std::vector<FixedPoints> fixed_points;
  std::optional<FirstPurchaseBonus> first_purchase_bonus;
  std::vector<CustomerCap> customer_caps;  // at most one per period
  std::optional<std::uint64_t> order_points_max;
  std::vector<EventRule> event_rules;    // at most one per EventKind
  std::optional<ReferralRule> referral;
  // The longest window of a partners_visited or points_earned segment, in days (0: none).
  std::uint32_t recent_days_max() const;
  // Whether a rule targets a tier: the node then reads the customer's tier.
  bool has_tier_segments() const;
};

// Parses and validates a rule set for a chain whose genesis tier program is `tiers` (empty: the
// chain has none, and a tier segment is an error). Errors name the rule and the field:
// `multipliers[1] "coffee week": per_mille must be between 1001 and 100000`.
pc::Result<RuleSet, std::string> parse_rule_set(std::string_view text, const ledger::TierProgram& tiers = {});
// Reads `path` and parses it; errors start with the path.
pc::Result<RuleSet, std::string> load_rule_set(const std::filesystem::path& path, const ledger::TierProgram& tiers = {});

struct OrderLine {
  std::string sku;
  std::string category;
  std::uint32_t quantity = 1;
  std::int64_t unit_price_minor = 0;
  std::vector<std::string> flags;        // "gift_card", "discounted", ...
};

struct Order {
  std::string currency;
  std::vector<OrderLine> lines;          // a plain total is one line without sku or category
};

// Checks an order's shape (limits, non-negative prices, a known currency); invalid_field
// naming the line otherwise.
ledger::Status validate_order(const Order& order);

// One issuance to the customer, at any partner: what the recent segments count.
struct RecentIssue {
  std::uint64_t time_ms = 0;             // its block's time; a pending one: now
  ledger::PartnerId partner = 0;
  std::uint64_t points = 0;
};

// What the chain says about the customer, gathered by the node before evaluating.
struct CustomerFacts {
  bool first_purchase = true;                 // no purchase issuance from this partner yet
  std::optional<std::uint64_t> last_activity_ms;  // their newest event on the chain, any partner
  std::array<std::uint64_t, 3> earned_in_period{};  // this partner's points, by Period, now
  // Every issuance to the customer within RuleSet::recent_days_max() days of now.
  std::vector<RecentIssue> recent_issues;
  // The customer's tier index as the state machine computes it at the tip's block time (the
  // higher of the earned and the granted tier, ledger::settle_tier); 0 on a chain without
  // tiers. Read only when RuleSet::has_tier_segments().
  std::uint8_t tier = 0;
};

// Whether `segment` holds for the customer now.
bool in_segment(const Segment& segment, const CustomerFacts& facts, std::uint64_t now_ms);

// The local day, week (Monday first) and month that hold `time_ms`, as UTC ms: where each
// period began. Indexed by Period.
std::array<std::uint64_t, 3> period_starts(std::int32_t time_zone_offset_minutes, std::uint64_t time_ms);

struct Contribution {
  std::string rule;        // the rule's name, or "base", "order maximum", "customer cap (day)"
  std::string kind;        // base, exclusion, minimum_order, multiplier, fixed, first_purchase,
                           // order_maximum, customer_cap
  std::int64_t points = 0; // what it added (negative: what it took away)
  std::string note;        // e.g. "x2 on 3 lines", "capped: 12 points left this week"
};

// The points a referral gives, on top of the purchase's (two more issuances).
struct ReferralAward {
  std::string rule;
  crypto::PublicKey referrer{};
  std::string referred_code;           // the purchasing customer's own code: in both references
  std::uint64_t referrer_points = 0;
  std::uint64_t referred_points = 0;
  std::string note;                    // "2 of 5 this month"
};

struct Breakdown {
  std::uint64_t points = 0;            // the sum of the contributions, never negative
  std::vector<Contribution> contributions;
  bool capped = false;                 // a per-customer cap reduced the points
  std::optional<ReferralAward> referral;  // the order named a referral code
};

// The points an order earns. invalid_field for an order that validate_order refuses or a
// currency the rule set has no rate for; overflow if a product passes 2^63 - 1. The
// contributions, in the documented order, always add up to `points`.
ledger::Result<Breakdown> evaluate(const RuleSet& rules, const Order& order, const CustomerFacts& facts,
                                   std::uint64_t now_ms);

// The points of one event, as a breakdown of one line (the rule). invalid_field when the rule
// set has no rule for `event`; cap_exceeded, naming the limit, when the customer already has
// `count_in_period` >= limit_count issuances of that event in the period.
ledger::Result<Breakdown> evaluate_event(const RuleSet& rules, EventKind event, std::uint64_t count_in_period);

// What the node found out about a referral before evaluating it.
struct ReferralFacts {
  crypto::PublicKey referrer{};
  std::string referred_code;
  bool self = false;                   // the code is the purchasing customer's own
  bool already_referred = false;       // a referral issuance of this partner names the customer
  std::uint64_t referrer_count_in_period = 0;  // this partner's referrer issuances to the referrer
};

// The award, or the abuse case, checked in this order: invalid_field (no referral rule),
// self_referral, already_referred, referral_not_first_purchase (facts.first_purchase false),
// referral_limit_reached.
ledger::Result<ReferralAward> evaluate_referral(const RuleSet& rules, const ReferralFacts& referral,
                                                const CustomerFacts& facts);

}  // namespace pc::node::rules
