// Evaluation of a rule set; the file format is in earning_rules_file.cpp. The order of the
// steps is the documented one (docs/earning-rules.md, "Order of application").
#include "node/earning_rules.hpp"

#include <algorithm>
#include <limits>
#include <set>

#include "crypto/check.hpp"
#include "crypto/referral_code.hpp"
#include "ledger/limits.hpp"
#include "node/node.hpp"

namespace pc::node::rules {
namespace {

constexpr std::uint64_t ms_per_day = 86'400'000;
constexpr std::uint64_t signed_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

ledger::Error overflow_error(std::string_view what) {
  return ledger::Error{ledger::Code::overflow, std::string(what) + " passes 2^63 - 1"};
}

// a * b, or nullopt past 2^63 - 1 (contributions are signed).
std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b) {
  std::uint64_t product = 0;
  if (__builtin_mul_overflow(a, b, &product) || product > signed_max) return std::nullopt;
  return product;
}

std::optional<std::uint64_t> checked_add(std::uint64_t a, std::uint64_t b) {
  std::uint64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum) || sum > signed_max) return std::nullopt;
  return sum;
}

bool matches(const LineSelector& selector, const OrderLine& line) {
  if (!selector.sku.empty()) return line.sku == selector.sku;
  if (!selector.category.empty()) return line.category == selector.category;
  if (!selector.flag.empty()) return std::find(line.flags.begin(), line.flags.end(), selector.flag) != line.flags.end();
  return true;
}

// Days since 1970-01-01 of a local time in ms (which may be before the epoch for a negative
// offset near it: floor division).
std::int64_t local_days(std::uint64_t time_ms, std::int32_t offset_minutes) {
  const std::int64_t local_ms = static_cast<std::int64_t>(time_ms) + std::int64_t{offset_minutes} * 60'000;
  const std::int64_t day = static_cast<std::int64_t>(ms_per_day);
  return local_ms >= 0 ? local_ms / day : -((-local_ms + day - 1) / day);
}

bool in_window(const Window& window, std::int32_t offset_minutes, std::uint64_t now_ms) {
  if (window.start_ms && now_ms < *window.start_ms) return false;
  if (window.end_ms && now_ms >= *window.end_ms) return false;
  // 1970-01-01 was a Thursday: weekday 3 with Monday 0.
  const std::int64_t days = local_days(now_ms, offset_minutes);
  const auto weekday = static_cast<unsigned>(((days % 7) + 7 + 3) % 7);
  return (window.weekdays >> weekday & 1U) != 0;
}

bool in_range(const RecentRange& range, std::uint64_t value) {
  return (!range.min || value >= *range.min) && (!range.max || value <= *range.max);
}

std::uint64_t window_start_ms(const RecentRange& range, std::uint64_t now_ms) {
  const std::uint64_t span_ms = std::uint64_t{range.days} * ms_per_day;
  return now_ms > span_ms ? now_ms - span_ms : 0;
}

}  // namespace

bool in_segment(const Segment& segment, const CustomerFacts& facts, std::uint64_t now_ms) {
  if (segment.new_customer && *segment.new_customer != facts.first_purchase) return false;
  if (segment.tiers && (facts.tier >= ledger::tiers_max + 1 || (*segment.tiers >> facts.tier & 1U) == 0)) return false;
  if (segment.partners_visited) {
    const std::uint64_t since_ms = window_start_ms(*segment.partners_visited, now_ms);
    std::set<ledger::PartnerId> partners;
    for (const RecentIssue& issue : facts.recent_issues) {
      if (issue.time_ms >= since_ms) partners.insert(issue.partner);
    }
    if (!in_range(*segment.partners_visited, partners.size())) return false;
  }
  if (segment.points_earned) {
    const std::uint64_t since_ms = window_start_ms(*segment.points_earned, now_ms);
    std::uint64_t points = 0;
    for (const RecentIssue& issue : facts.recent_issues) {
      if (issue.time_ms >= since_ms && __builtin_add_overflow(points, issue.points, &points)) points = UINT64_MAX;
    }
    if (!in_range(*segment.points_earned, points)) return false;
  }
  if (segment.inactive_days_min) {
    // A customer never seen on the chain has been inactive for ever.
    if (facts.last_activity_ms) {
      const std::uint64_t idle_ms = now_ms > *facts.last_activity_ms ? now_ms - *facts.last_activity_ms : 0;
      if (idle_ms < std::uint64_t{*segment.inactive_days_min} * ms_per_day) return false;
    }
  }
  return true;
}

namespace {

// Civil date of a day count (Howard Hinnant's days_from_civil inverse), and back.
struct CivilDate {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

CivilDate civil_from_days(std::int64_t days) {
  days += 719'468;
  const std::int64_t era = (days >= 0 ? days : days - 146'096) / 146'097;
  const auto day_of_era = static_cast<unsigned>(days - era * 146'097);
  const unsigned year_of_era = (day_of_era - day_of_era / 1'460 + day_of_era / 36'524 - day_of_era / 146'096) / 365;
  const unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned month_index = (5 * day_of_year + 2) / 153;
  const unsigned day = day_of_year - (153 * month_index + 2) / 5 + 1;
  const unsigned month = month_index < 10 ? month_index + 3 : month_index - 9;
  return {static_cast<std::int64_t>(year_of_era) + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146'097 + static_cast<std::int64_t>(day_of_era) - 719'468;
}

// The UTC ms at which local day `days` began (0 if that is before the epoch).
std::uint64_t local_day_start_ms(std::int64_t days, std::int32_t offset_minutes) {
  const std::int64_t start = days * static_cast<std::int64_t>(ms_per_day) - std::int64_t{offset_minutes} * 60'000;
  return start < 0 ? 0 : static_cast<std::uint64_t>(start);
}

std::string multiplier_text(std::uint64_t per_mille) {
  // Appended, not "x" + to_string(...): GCC 12 at -O3 warns falsely (-Wrestrict) on the latter.
  std::string text = "x";
  text += std::to_string(per_mille / per_mille_one);
  if (per_mille % per_mille_one != 0) {
    std::string fraction = std::to_string(per_mille % per_mille_one);
    fraction.insert(0, 3 - fraction.size(), '0');
    while (fraction.back() == '0') fraction.pop_back();
    text += "." + fraction;
  }
  return text;
}

}  // namespace

std::string_view period_name(Period period) {
  switch (period) {
    case Period::day: return "day";
    case Period::week: return "week";
    case Period::month: return "month";
  }
  return "?";
}

std::array<std::uint64_t, 3> period_starts(std::int32_t time_zone_offset_minutes, std::uint64_t time_ms) {
  const std::int64_t days = local_days(time_ms, time_zone_offset_minutes);
  const std::int64_t weekday = ((days % 7) + 7 + 3) % 7;
  const CivilDate date = civil_from_days(days);
  return {local_day_start_ms(days, time_zone_offset_minutes),
          local_day_start_ms(days - weekday, time_zone_offset_minutes),
          local_day_start_ms(days_from_civil(date.year, date.month, 1), time_zone_offset_minutes)};
}

namespace {
struct NamedEvent {
  std::string_view name;
  EventKind kind;
};
constexpr std::array<NamedEvent, 4> event_names{{{"review", EventKind::review},
                                                 {"social_share", EventKind::social_share},
                                                 {"sign_up", EventKind::sign_up},
                                                 {"birthday", EventKind::birthday}}};
}  // namespace

std::string_view event_kind_name(EventKind kind) {
  for (const NamedEvent& named : event_names) {
    if (named.kind == kind) return named.name;
  }
  return "unknown";
}

std::optional<EventKind> event_kind_from_name(std::string_view name) {
  for (const NamedEvent& named : event_names) {
    if (named.name == name) return named.kind;
  }
  return std::nullopt;
}

ledger::Reason event_reason(EventKind kind) {
  switch (kind) {
    case EventKind::review: return ledger::Reason::review;
    case EventKind::social_share: return ledger::Reason::social;
    case EventKind::sign_up:
    case EventKind::birthday: return ledger::Reason::bonus;
  }
  return ledger::Reason::bonus;
}

std::string_view event_period_name(EventPeriod period) {
  switch (period) {
    case EventPeriod::day: return "day";
    case EventPeriod::week: return "week";
    case EventPeriod::month: return "month";
    case EventPeriod::year: return "year";
    case EventPeriod::ever: return "ever";
  }
  return "ever";
}

std::uint64_t event_period_start(std::int32_t time_zone_offset_minutes, std::uint64_t time_ms, EventPeriod period) {
  switch (period) {
    case EventPeriod::day:
    case EventPeriod::week:
    case EventPeriod::month:
      return period_starts(time_zone_offset_minutes, time_ms)[static_cast<std::size_t>(period)];
    case EventPeriod::year: {
      const CivilDate date = civil_from_days(local_days(time_ms, time_zone_offset_minutes));
      return local_day_start_ms(days_from_civil(date.year, 1, 1), time_zone_offset_minutes);
    }
    case EventPeriod::ever: return 0;
  }
  return 0;
}

ledger::Result<Breakdown> evaluate_event(const RuleSet& rules, EventKind event, std::uint64_t count_in_period) {
  const EventRule* rule = nullptr;
  for (const EventRule& candidate : rules.event_rules) {
    if (candidate.event == event) rule = &candidate;
  }
  if (rule == nullptr) {
    return ledger::Error{ledger::Code::invalid_field,
                         "the earning rules have no rule for the event " + std::string(event_kind_name(event))};
  }
  if (count_in_period >= rule->limit_count) {
    const std::string per = rule->limit_period == EventPeriod::ever
                                ? std::string(" in all")
                                : " per " + std::string(event_period_name(rule->limit_period));
    return ledger::Error{ledger::Code::cap_exceeded, "event limit reached: \"" + rule->name + "\" gives at most " +
                                                         std::to_string(rule->limit_count) + " " +
                                                         std::string(event_kind_name(event)) + per +
                                                         " to a customer"};
  }
  Breakdown breakdown;
  breakdown.points = rule->points;
  breakdown.contributions.push_back(
      {rule->name, "event", static_cast<std::int64_t>(rule->points),
       std::to_string(count_in_period + 1) + " of " + std::to_string(rule->limit_count) +
           (rule->limit_period == EventPeriod::ever ? std::string() : " this " + std::string(event_period_name(rule->limit_period)))});
  return breakdown;
}

std::uint32_t RuleSet::recent_days_max() const {
  std::uint32_t days = 0;
  for (const Multiplier& multiplier : multipliers) {
    if (multiplier.segment.partners_visited) days = std::max(days, multiplier.segment.partners_visited->days);
    if (multiplier.segment.points_earned) days = std::max(days, multiplier.segment.points_earned->days);
  }
  return days;
}

bool RuleSet::has_tier_segments() const {
  return std::any_of(multipliers.begin(), multipliers.end(),
                     [](const Multiplier& multiplier) { return multiplier.segment.tiers.has_value(); });
}

ledger::Result<ReferralAward> evaluate_referral(const RuleSet& rules, const ReferralFacts& referral,
                                                const CustomerFacts& facts) {
  if (!rules.referral) {
    return ledger::Error{ledger::Code::invalid_field, "the earning rules have no referrals rule"};
  }
  const ReferralRule& rule = *rules.referral;
  if (referral.self) {
    return ledger::Error{ledger::Code::self_referral, "the referral code " +
                                                          crypto::format_referral_code(referral.referred_code) +
                                                          " is the customer's own"};
  }
  if (referral.already_referred) {
    return ledger::Error{ledger::Code::already_referred,
                         "this partner has given referral points for customer " +
                             crypto::format_referral_code(referral.referred_code) + " before"};
  }
  if (!facts.first_purchase) {
    return ledger::Error{ledger::Code::referral_not_first_purchase,
                         "a referral counts on the customer's first purchase here, and this is not it"};
  }
  const std::string per = rule.referrer_limit_period == EventPeriod::ever
                              ? std::string(" in all")
                              : " per " + std::string(event_period_name(rule.referrer_limit_period));
  if (referral.referrer_count_in_period >= rule.referrer_limit_count) {
    return ledger::Error{ledger::Code::referral_limit_reached,
                         "\"" + rule.name + "\" gives a referrer at most " + std::to_string(rule.referrer_limit_count) +
                             " referrals" + per + ", and the referrer has had them"};
  }
  ReferralAward award;
  award.rule = rule.name;
  award.referrer = referral.referrer;
  award.referred_code = referral.referred_code;
  award.referrer_points = rule.referrer_points;
  award.referred_points = rule.referred_points;
  award.note = std::to_string(referral.referrer_count_in_period + 1) + " of " + std::to_string(rule.referrer_limit_count) +
               (rule.referrer_limit_period == EventPeriod::ever
                    ? std::string(" in all")
                    : " this " + std::string(event_period_name(rule.referrer_limit_period))) +
               " for the referrer";
  return award;
}

ledger::Status validate_order(const Order& order) {
  const auto invalid = [](std::string message) { return ledger::Error{ledger::Code::invalid_field, std::move(message)}; };
  if (!currency_minor_digits(order.currency)) return invalid("unknown currency \"" + order.currency + "\"");
  if (order.lines.empty()) return invalid("the order has no lines");
  if (order.lines.size() > order_lines_max) {
    return invalid("the order has " + std::to_string(order.lines.size()) + " lines, at most " +
                   std::to_string(order_lines_max));
  }
  for (std::size_t i = 0; i < order.lines.size(); ++i) {
    const OrderLine& line = order.lines[i];
    const std::string where = "lines[" + std::to_string(i) + "]: ";
    if (line.sku.size() > line_text_bytes_max || line.category.size() > line_text_bytes_max) {
      return invalid(where + "sku and category are at most " + std::to_string(line_text_bytes_max) + " bytes");
    }
    if (line.quantity == 0 || line.quantity > line_quantity_max) {
      return invalid(where + "quantity must be between 1 and " + std::to_string(line_quantity_max));
    }
    if (line.unit_price_minor < 0) return invalid(where + "unit_price_minor is negative");
    if (line.flags.size() > line_flags_max) {
      return invalid(where + "at most " + std::to_string(line_flags_max) + " flags");
    }
    for (const std::string& flag : line.flags) {
      if (flag.empty() || flag.size() > line_text_bytes_max) {
        return invalid(where + "a flag is 1 to " + std::to_string(line_text_bytes_max) + " bytes");
      }
    }
  }
  return {};
}

ledger::Result<Breakdown> evaluate(const RuleSet& rules, const Order& order, const CustomerFacts& facts,
                                   std::uint64_t now_ms) {
  if (auto status = validate_order(order); !status) return status.error();
  const CurrencyRate* rate = nullptr;
  for (const CurrencyRate& candidate : rules.currencies) {
    if (candidate.currency == order.currency) rate = &candidate;
  }
  if (rate == nullptr) {
    return ledger::Error{ledger::Code::invalid_field, "the earning rules have no rate for " + order.currency};
  }
  std::uint64_t minor_per_unit = 1;
  for (unsigned i = 0; i < *currency_minor_digits(order.currency); ++i) minor_per_unit *= 10;

  Breakdown breakdown;
  std::int64_t total = 0;
  const auto add = [&](std::string rule, std::string kind, std::int64_t points, std::string note) {
    total += points;
    breakdown.contributions.push_back({std::move(rule), std::move(kind), points, std::move(note)});
  };

  // Line values, and the scaled base of each: value * points_per_unit, in points * minor_per_unit,
  // so no fraction of a point is lost line by line.
  const std::size_t count = order.lines.size();
  std::vector<std::uint64_t> value(count);
  std::vector<std::uint64_t> scaled(count);
  std::uint64_t all_scaled = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const OrderLine& line = order.lines[i];
    auto line_value = checked_mul(static_cast<std::uint64_t>(line.unit_price_minor), line.quantity);
    if (!line_value) return overflow_error("a line's quantity times its unit price");
    auto line_scaled = checked_mul(*line_value, rate->points_per_unit);
    auto sum = line_scaled ? checked_add(all_scaled, *line_scaled) : std::nullopt;
    if (!sum) return overflow_error("the order's value times points_per_unit");
    value[i] = *line_value;
    scaled[i] = *line_scaled;
    all_scaled = *sum;
  }

  // 1. Base points on every line.
  add("base", "base", static_cast<std::int64_t>(all_scaled / minor_per_unit),
      std::to_string(rate->points_per_unit) + " per " + order.currency);

  // 2. Exclusions, in file order: a line goes to the first exclusion that matches it. Each
  // takes away the base points its lines added; the differences telescope, so the base left
  // is exactly the eligible lines' base, rounded down once.
  std::vector<bool> excluded(count, false);
  std::uint64_t remaining_scaled = all_scaled;
  for (const Exclusion& exclusion : rules.exclusions) {
    std::uint64_t removed_scaled = 0;
    std::size_t lines = 0;
    for (std::size_t i = 0; i < count; ++i) {
      if (excluded[i] || !matches(exclusion.lines, order.lines[i])) continue;
      excluded[i] = true;
      removed_scaled += scaled[i];  // at most all_scaled: no overflow
      ++lines;
    }
    if (lines == 0) continue;
    const std::uint64_t before = remaining_scaled / minor_per_unit;
    remaining_scaled -= removed_scaled;
    add(exclusion.name, "exclusion", -static_cast<std::int64_t>(before - remaining_scaled / minor_per_unit),
        std::to_string(lines) + (lines == 1 ? " line" : " lines") + " excluded");
  }

  // 3. Minimum order value, on the eligible lines: below it the order earns nothing.
  std::uint64_t eligible_value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (!excluded[i]) eligible_value += value[i];  // each value is at most all_scaled
  }
  if (eligible_value < rate->minimum_order_minor) {
    add("minimum order", "minimum_order", -total,
        "eligible value " + std::to_string(eligible_value) + " is below " + std::to_string(rate->minimum_order_minor));
    breakdown.points = 0;
    return breakdown;
  }

  // 4. Multipliers, in file order. They add: each contributes (its multiplier - 1) times the
  // base of the lines it matches, while a line's combined multiplier stays within
  // multiplier_per_mille_max (the later rule gets what is left).
  std::vector<std::uint64_t> extra_left(count, rules.multiplier_per_mille_max - per_mille_one);
  for (const Multiplier& multiplier : rules.multipliers) {
    if (!in_window(multiplier.window, rules.time_zone_offset_minutes, now_ms)) continue;
    if (!in_segment(multiplier.segment, facts, now_ms)) continue;
    std::uint64_t extra_scaled = 0;  // in points * minor_per_unit * per_mille_one
    std::size_t lines = 0;
    bool clipped = false;
    for (std::size_t i = 0; i < count; ++i) {
      if (excluded[i] || !matches(multiplier.lines, order.lines[i])) continue;
      const std::uint64_t extra = std::min<std::uint64_t>(multiplier.per_mille - per_mille_one, extra_left[i]);
      clipped = clipped || extra < multiplier.per_mille - per_mille_one;
      extra_left[i] -= extra;
      auto product = checked_mul(scaled[i], extra);
      auto sum = product ? checked_add(extra_scaled, *product) : std::nullopt;
      if (!sum) return overflow_error("a multiplier's points");
      extra_scaled = *sum;
      ++lines;
    }
    if (lines == 0) continue;
    std::string note = multiplier_text(multiplier.per_mille) + " on " + std::to_string(lines) +
                       (lines == 1 ? " line" : " lines");
    if (clipped) note += ", limited by multiplier_per_mille_max " + multiplier_text(rules.multiplier_per_mille_max);
    add(multiplier.name, "multiplier", static_cast<std::int64_t>(extra_scaled / (minor_per_unit * per_mille_one)),
        std::move(note));
  }

  // 5. Fixed points per item of a SKU, not multiplied.
  for (const FixedPoints& fixed : rules.fixed_points) {
    std::uint64_t points = 0;
    std::uint64_t items = 0;
    for (std::size_t i = 0; i < count; ++i) {
      if (excluded[i] || order.lines[i].sku != fixed.sku) continue;
      auto product = checked_mul(fixed.points_per_item, order.lines[i].quantity);
      auto sum = product ? checked_add(points, *product) : std::nullopt;
      if (!sum) return overflow_error("fixed points");
      points = *sum;
      items += order.lines[i].quantity;
    }
    if (items == 0) continue;
    add(fixed.name, "fixed", static_cast<std::int64_t>(points),
        std::to_string(fixed.points_per_item) + " x " + std::to_string(items));
  }

  // 6. First purchase bonus.
  if (rules.first_purchase_bonus && facts.first_purchase) {
    add(rules.first_purchase_bonus->name, "first_purchase", static_cast<std::int64_t>(rules.first_purchase_bonus->points),
        "first purchase here");
  }
  // Each contribution so far is at most 2^63 - 1 and there are a bounded number, but their
  // sum may still not fit: check it.
  {
    std::uint64_t sum = 0;
    for (const Contribution& contribution : breakdown.contributions) {
      if (contribution.points > 0) {
        auto next = checked_add(sum, static_cast<std::uint64_t>(contribution.points));
        if (!next) return overflow_error("the order's points");
        sum = *next;
      }
    }
  }

  // 7. The per-order maximum.
  if (rules.order_points_max && static_cast<std::uint64_t>(total) > *rules.order_points_max) {
    add("order maximum", "order_maximum", -static_cast<std::int64_t>(static_cast<std::uint64_t>(total) - *rules.order_points_max),
        "at most " + std::to_string(*rules.order_points_max) + " per order");
  }

  // 8. Per-customer caps, day then week then month: an earn over a cap is reduced to what is
  // left of it.
  for (const CustomerCap& cap : rules.customer_caps) {
    const std::uint64_t earned = facts.earned_in_period[static_cast<std::size_t>(cap.period)];
    const std::uint64_t left = earned >= cap.points_max ? 0 : cap.points_max - earned;
    if (static_cast<std::uint64_t>(total) <= left) continue;
    breakdown.capped = true;
    add("customer cap (" + std::string(period_name(cap.period)) + ")", "customer_cap",
        -static_cast<std::int64_t>(static_cast<std::uint64_t>(total) - left),
        "capped: " + std::to_string(left) + " points left this " + std::string(period_name(cap.period)));
  }

  PC_CHECK(total >= 0);
  breakdown.points = static_cast<std::uint64_t>(total);
  return breakdown;
}

}  // namespace pc::node::rules
