// The rule set's JSON file (docs/earning-rules.md, "The file"): strict, like node.json: an
// unknown field, a wrong type or a value out of range is an error naming the rule and field.
#include <sodium/utils.h>

#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "crypto/check.hpp"
#include "ledger/limits.hpp"
#include "node/earning_rules.hpp"
#include "node/node.hpp"

namespace pc::node::rules {
namespace {

using Json = nlohmann::json;
using ParseError = std::string;

constexpr std::array<std::string_view, 7> weekday_names{"monday", "tuesday", "wednesday", "thursday",
                                                        "friday", "saturday", "sunday"};
constexpr std::uint32_t inactive_days_max = 36'500;

std::optional<ParseError> unknown_field(const Json& object, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : object.items()) {
    bool listed = false;
    for (std::string_view name : known) listed = listed || key == name;
    if (!listed) return "unknown field \"" + key + "\"";
  }
  return std::nullopt;
}

template <class Int>
std::optional<ParseError> read_unsigned(const Json& object, const char* name, std::uint64_t min, std::uint64_t max,
                                        Int& out, bool required = false) {
  auto found = object.find(name);
  if (found == object.end()) {
    if (required) return std::string(name) + " is required";
    return std::nullopt;
  }
  if (!found->is_number_unsigned() || found->get<std::uint64_t>() < min || found->get<std::uint64_t>() > max) {
    return std::string(name) + " must be an integer between " + std::to_string(min) + " and " + std::to_string(max);
  }
  out = static_cast<Int>(found->get<std::uint64_t>());
  return std::nullopt;
}

std::optional<ParseError> read_text(const Json& object, const char* name, std::size_t max_bytes, std::string& out,
                                    bool required = false) {
  auto found = object.find(name);
  if (found == object.end()) {
    if (required) return std::string(name) + " is required";
    return std::nullopt;
  }
  if (!found->is_string()) return std::string(name) + " must be a string";
  out = found->get<std::string>();
  if (out.empty() || out.size() > max_bytes) {
    return std::string(name) + " must be 1 to " + std::to_string(max_bytes) + " bytes";
  }
  return std::nullopt;
}

// "YYYY-MM-DDTHH:MM" local time in the rule set's time zone, as UTC ms.
std::optional<ParseError> read_local_time(const Json& object, const char* name, std::int32_t offset_minutes,
                                          std::optional<std::uint64_t>& out) {
  auto found = object.find(name);
  if (found == object.end()) return std::nullopt;
  const std::string problem = std::string(name) + " must be a local time \"YYYY-MM-DDTHH:MM\" from 1970 to 9999";
  if (!found->is_string()) return problem;
  const std::string text = found->get<std::string>();
  if (text.size() != 16 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':') return problem;
  const auto number = [&](std::size_t at, std::size_t digits) -> std::optional<unsigned> {
    unsigned value = 0;
    for (std::size_t i = at; i < at + digits; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      value = value * 10 + static_cast<unsigned>(text[i] - '0');
    }
    return value;
  };
  const auto year = number(0, 4), month = number(5, 2), day = number(8, 2), hour = number(11, 2),
             minute = number(14, 2);
  if (!year || !month || !day || !hour || !minute || *year < 1970 || *month < 1 || *month > 12 || *day < 1 ||
      *hour > 23 || *minute > 59) {
    return problem;
  }
  // Validated by a round trip through the day count: 2026-02-30 does not come back.
  const std::array<unsigned, 12> month_days{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (*year % 4 == 0 && *year % 100 != 0) || *year % 400 == 0;
  if (*day > month_days[*month - 1] || (*month == 2 && *day == 29 && !leap)) return problem;
  // Days from 1970-01-01 to year-month-day (proleptic Gregorian).
  std::int64_t days = 0;
  for (unsigned y = 1970; y < *year; ++y) days += ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 366 : 365;
  for (unsigned m = 1; m < *month; ++m) days += m == 2 ? (leap ? 29 : 28) : month_days[m - 1];
  days += *day - 1;
  const std::int64_t local_ms = (days * 1'440 + *hour * 60 + *minute) * 60'000;
  const std::int64_t utc_ms = local_ms - std::int64_t{offset_minutes} * 60'000;
  out = utc_ms < 0 ? 0 : static_cast<std::uint64_t>(utc_ms);
  return std::nullopt;
}

// sku, category or flag: at most one.
std::optional<ParseError> read_selector(const Json& object, LineSelector& out, bool required) {
  for (const char* name : {"sku", "category", "flag"}) {
    if (auto error = read_text(object, name, line_text_bytes_max,
                               name[0] == 's' ? out.sku : name[0] == 'c' ? out.category : out.flag)) {
      return error;
    }
  }
  const int set = int{!out.sku.empty()} + int{!out.category.empty()} + int{!out.flag.empty()};
  if (set > 1) return std::string("name one of sku, category or flag, not several");
  if (required && set == 0) return std::string("name one of sku, category or flag");
  return std::nullopt;
}

class Reader {
 public:
  explicit Reader(const ledger::TierProgram& tiers) : tiers_(tiers) {}

  std::optional<ParseError> read(const Json& json, RuleSet& rules) {
    if (!json.is_object()) return "the top level must be an object";
    if (auto error = unknown_field(json, {"version", "time_zone_offset_minutes", "currencies", "exclusions",
                                          "multipliers", "multiplier_per_mille_max", "fixed_points",
                                          "first_purchase_bonus", "customer_caps", "order_points_max",
                                          "event_rules", "referrals"})) {
      return error;
    }
    std::uint32_t version = 0;
    if (auto error = read_unsigned(json, "version", rule_set_version, rule_set_version, version, true)) return error;
    if (auto found = json.find("time_zone_offset_minutes"); found != json.end()) {
      // An unsigned value is compared as one: read as int64, 2^64 - 1 would pass as -1.
      const bool in_range =
          found->is_number_unsigned()
              ? found->get<std::uint64_t>() <= std::uint64_t{time_zone_offset_minutes_max}
              : found->is_number_integer() && found->get<std::int64_t>() >= -time_zone_offset_minutes_max &&
                    found->get<std::int64_t>() <= time_zone_offset_minutes_max;
      if (!in_range) {
        return "time_zone_offset_minutes must be an integer between -" + std::to_string(time_zone_offset_minutes_max) +
               " and " + std::to_string(time_zone_offset_minutes_max);
      }
      rules.time_zone_offset_minutes = static_cast<std::int32_t>(found->get<std::int64_t>());
    }
    if (auto error = read_currencies(json, rules)) return error;
    if (auto error = each(json, "exclusions", [&](const Json& item, std::string& name) -> std::optional<ParseError> {
          if (auto problem = unknown_field(item, {"name", "sku", "category", "flag"})) return problem;
          Exclusion exclusion{name, {}};
          if (auto problem = read_selector(item, exclusion.lines, true)) return problem;
          rules.exclusions.push_back(std::move(exclusion));
          return std::nullopt;
        })) {
      return error;
    }
    if (auto error = read_unsigned(json, "multiplier_per_mille_max", per_mille_one, multiplier_per_mille_max_max,
                                   rules.multiplier_per_mille_max)) {
      return error;
    }
    if (auto error = each(json, "multipliers", [&](const Json& item, std::string& name) {
          return read_multiplier(item, name, rules);
        })) {
      return error;
    }
    if (auto error = each(json, "fixed_points", [&](const Json& item, std::string& name) -> std::optional<ParseError> {
          if (auto problem = unknown_field(item, {"name", "sku", "points_per_item"})) return problem;
          FixedPoints fixed{name, {}, 0};
          if (auto problem = read_text(item, "sku", line_text_bytes_max, fixed.sku, true)) return problem;
          if (auto problem = read_unsigned(item, "points_per_item", 1, points_per_unit_max, fixed.points_per_item, true)) {
            return problem;
          }
          rules.fixed_points.push_back(std::move(fixed));
          return std::nullopt;
        })) {
      return error;
    }
    if (auto found = json.find("first_purchase_bonus"); found != json.end()) {
      FirstPurchaseBonus bonus;
      if (auto error = named(*found, "first_purchase_bonus", bonus.name, [&](const Json& item) {
            if (auto problem = unknown_field(item, {"name", "points"})) return problem;
            return read_unsigned(item, "points", 1, points_per_unit_max, bonus.points, true);
          })) {
        return error;
      }
      rules.first_purchase_bonus = std::move(bonus);
    }
    if (auto found = json.find("customer_caps"); found != json.end()) {
      if (!found->is_object()) return "customer_caps must be an object {day, week, month}";
      if (auto error = unknown_field(*found, {"day", "week", "month"})) return "customer_caps: " + *error;
      for (Period period : {Period::day, Period::week, Period::month}) {
        const std::string field(period_name(period));
        if (found->contains(field)) {
          std::uint64_t value = 0;
          if (auto error = read_unsigned(*found, field.c_str(), 1, std::numeric_limits<std::int64_t>::max(), value)) {
            return "customer_caps." + *error;
          }
          rules.customer_caps.push_back({period, value});
        }
      }
    }
    std::uint64_t order_max = 0;
    if (json.contains("order_points_max")) {
      if (auto error = read_unsigned(json, "order_points_max", 1, std::numeric_limits<std::int64_t>::max(), order_max)) {
        return error;
      }
      rules.order_points_max = order_max;
    }
    if (auto error = each(json, "event_rules", [&](const Json& item, std::string& name) {
          return read_event_rule(item, name, rules);
        })) {
      return error;
    }
    if (auto found = json.find("referrals"); found != json.end()) {
      ReferralRule rule;
      if (auto error = named(*found, "referrals", rule.name, [&](const Json& item) { return read_referral(item, rule); })) {
        return error;
      }
      rules.referral = std::move(rule);
    }
    return std::nullopt;
  }

 private:
  std::optional<ParseError> read_currencies(const Json& json, RuleSet& rules) {
    auto found = json.find("currencies");
    if (found == json.end() || !found->is_array() || found->empty()) {
      return "currencies must be a non-empty array of {currency, points_per_unit, minimum_order_minor}";
    }
    for (std::size_t i = 0; i < found->size(); ++i) {
      const Json& item = (*found)[i];
      const std::string where = "currencies[" + std::to_string(i) + "]: ";
      if (!item.is_object()) return where + "must be an object";
      if (auto error = unknown_field(item, {"currency", "points_per_unit", "minimum_order_minor"})) return where + *error;
      CurrencyRate rate;
      if (auto error = read_text(item, "currency", 3, rate.currency, true)) return where + *error;
      if (!currency_minor_digits(rate.currency)) return where + "unknown currency \"" + rate.currency + "\"";
      if (auto error = read_unsigned(item, "points_per_unit", 1, points_per_unit_max, rate.points_per_unit, true)) {
        return where + *error;
      }
      if (auto error = read_unsigned(item, "minimum_order_minor", 0, std::numeric_limits<std::int64_t>::max(),
                                     rate.minimum_order_minor)) {
        return where + *error;
      }
      for (const CurrencyRate& seen : rules.currencies) {
        if (seen.currency == rate.currency) return where + rate.currency + " is listed twice";
      }
      rules.currencies.push_back(std::move(rate));
    }
    return std::nullopt;
  }

  static std::optional<ParseError> read_period(const Json& item, const char* field, EventPeriod& out) {
    std::string period(event_period_name(out));
    if (auto error = read_text(item, field, 8, period)) return error;
    for (EventPeriod candidate :
         {EventPeriod::day, EventPeriod::week, EventPeriod::month, EventPeriod::year, EventPeriod::ever}) {
      if (event_period_name(candidate) == period) {
        out = candidate;
        return std::nullopt;
      }
    }
    return std::string(field) + " must be day, week, month, year or ever";
  }

  static std::optional<ParseError> read_referral(const Json& item, ReferralRule& rule) {
    if (auto error = unknown_field(item, {"name", "referrer_points", "referred_points", "referrer_limit_count",
                                          "referrer_limit_period"})) {
      return error;
    }
    if (auto error = read_unsigned(item, "referrer_points", 1, points_per_unit_max, rule.referrer_points, true)) {
      return error;
    }
    if (auto error = read_unsigned(item, "referred_points", 1, points_per_unit_max, rule.referred_points, true)) {
      return error;
    }
    if (auto error = read_unsigned(item, "referrer_limit_count", 1, event_limit_count_max, rule.referrer_limit_count)) {
      return error;
    }
    return read_period(item, "referrer_limit_period", rule.referrer_limit_period);
  }

  // {"days": N, "min": A, "max": B}: at least one bound, min <= max.
  static std::optional<ParseError> read_recent_range(const Json& segment, const char* field,
                                                     std::optional<RecentRange>& out) {
    auto found = segment.find(field);
    if (found == segment.end()) return std::nullopt;
    const std::string where = std::string("segment.") + field;
    if (!found->is_object()) return where + " must be an object {days, min, max}";
    if (auto error = unknown_field(*found, {"days", "min", "max"})) return where + ": " + *error;
    RecentRange range;
    if (auto error = read_unsigned(*found, "days", 1, segment_days_max, range.days, true)) return where + "." + *error;
    for (const char* bound : {"min", "max"}) {
      if (!found->contains(bound)) continue;
      std::uint64_t value = 0;
      if (auto error = read_unsigned(*found, bound, 0, std::numeric_limits<std::int64_t>::max(), value)) {
        return where + "." + *error;
      }
      (bound[1] == 'i' ? range.min : range.max) = value;
    }
    if (!range.min && !range.max) return where + " needs min, max or both";
    if (range.min && range.max && *range.min > *range.max) return where + ": min is above max";
    out = range;
    return std::nullopt;
  }

  std::optional<ParseError> read_event_rule(const Json& item, const std::string& name, RuleSet& rules) {
    if (auto error = unknown_field(item, {"name", "event", "points", "limit_count", "limit_period"})) return error;
    EventRule rule;
    rule.name = name;
    std::string event;
    if (auto error = read_text(item, "event", rule_name_bytes_max, event, true)) return error;
    const auto kind = event_kind_from_name(event);
    if (!kind) return "unknown event \"" + event + "\" (review, social_share, sign_up, birthday)";
    rule.event = *kind;
    for (const EventRule& seen : rules.event_rules) {
      if (seen.event == rule.event) return "another rule is for the event " + event;
    }
    if (auto error = read_unsigned(item, "points", 1, points_per_unit_max, rule.points, true)) return error;
    if (auto error = read_unsigned(item, "limit_count", 1, event_limit_count_max, rule.limit_count)) return error;
    if (auto error = read_period(item, "limit_period", rule.limit_period)) return error;
    rules.event_rules.push_back(std::move(rule));
    return std::nullopt;
  }

  std::optional<ParseError> read_multiplier(const Json& item, const std::string& name, RuleSet& rules) {
    if (auto error = unknown_field(item, {"name", "sku", "category", "flag", "per_mille", "start", "end", "weekdays",
                                          "segment"})) {
      return error;
    }
    Multiplier multiplier;
    multiplier.name = name;
    if (auto error = read_selector(item, multiplier.lines, false)) return error;
    if (auto error = read_unsigned(item, "per_mille", per_mille_one + 1, multiplier_per_mille_max_max,
                                   multiplier.per_mille, true)) {
      return error;
    }
    if (auto error = read_local_time(item, "start", rules.time_zone_offset_minutes, multiplier.window.start_ms)) {
      return error;
    }
    if (auto error = read_local_time(item, "end", rules.time_zone_offset_minutes, multiplier.window.end_ms)) {
      return error;
    }
    if (multiplier.window.start_ms && multiplier.window.end_ms && *multiplier.window.end_ms <= *multiplier.window.start_ms) {
      return std::string("end must be after start");
    }
    if (auto found = item.find("weekdays"); found != item.end()) {
      const std::string problem = "weekdays must be a non-empty array of day names (\"monday\" ... \"sunday\")";
      if (!found->is_array() || found->empty()) return problem;
      multiplier.window.weekdays = 0;
      for (const Json& day : *found) {
        if (!day.is_string()) return problem;
        bool known = false;
        for (std::size_t i = 0; i < weekday_names.size(); ++i) {
          if (weekday_names[i] == day.get<std::string>()) {
            known = true;
            multiplier.window.weekdays = static_cast<std::uint8_t>(multiplier.window.weekdays | (1U << i));
          }
        }
        if (!known) return "weekdays: unknown day \"" + day.get<std::string>() + "\"";
      }
    }
    if (auto found = item.find("segment"); found != item.end()) {
      if (!found->is_object()) {
        return std::string(
            "segment must be an object {new_customer, inactive_days, partners_visited, points_earned, tier}");
      }
      if (auto error =
              unknown_field(*found, {"new_customer", "inactive_days", "partners_visited", "points_earned", "tier"})) {
        return "segment: " + *error;
      }
      if (auto error = read_tier_segment(*found, multiplier.segment.tiers)) return error;
      if (auto error = read_recent_range(*found, "partners_visited", multiplier.segment.partners_visited)) return error;
      if (auto error = read_recent_range(*found, "points_earned", multiplier.segment.points_earned)) return error;
      if (auto flag = found->find("new_customer"); flag != found->end()) {
        if (!flag->is_boolean()) return std::string("segment.new_customer must be true or false");
        multiplier.segment.new_customer = flag->get<bool>();
      }
      std::uint32_t days = 0;
      if (found->contains("inactive_days")) {
        if (auto error = read_unsigned(*found, "inactive_days", 1, inactive_days_max, days)) return "segment." + *error;
        multiplier.segment.inactive_days_min = days;
      }
    }
    rules.multipliers.push_back(std::move(multiplier));
    return std::nullopt;
  }

  // The tier index of a name in the chain's tier program, as the genesis spells it.
  std::optional<ParseError> tier_index(const Json& name, const std::string& where, std::uint8_t& out) const {
    if (!name.is_string()) return where + " must be a tier name (a string)";
    std::size_t matches = 0;
    for (std::uint8_t index = 1; index <= tiers_.count(); ++index) {
      if (tiers_.tier_name(index) == name.get<std::string>()) {
        out = index;
        ++matches;
      }
    }
    // The genesis does not require distinct names; a shared one cannot say which tier is meant.
    if (matches > 1) {
      return where + ": the chain has " + std::to_string(matches) + " tiers named \"" + name.get<std::string>() + "\"";
    }
    if (matches == 1) return std::nullopt;
    std::string known;
    for (std::uint8_t index = 1; index <= tiers_.count(); ++index) {
      known += (index == 1 ? "" : ", ") + tiers_.tier_name(index);
    }
    return where + ": unknown tier \"" + name.get<std::string>() + "\" (the chain's tiers: " + known + ")";
  }

  // {"one_of": [names]} or {"at_least": name}, as a mask of tier indexes (bit i: tier i).
  static_assert(ledger::tiers_max < 16, "a tier segment's mask holds tier indexes 0 to tiers_max");
  std::optional<ParseError> read_tier_segment(const Json& segment, std::optional<std::uint16_t>& out) const {
    auto found = segment.find("tier");
    if (found == segment.end()) return std::nullopt;
    if (tiers_.tiers.empty()) {
      return std::string("segment.tier: this chain has no tier program (tiers need protocol version 4 and "
                         "policy.tiers in the genesis)");
    }
    const std::string shape = "segment.tier must be {\"one_of\": [tier names]} or {\"at_least\": tier name}";
    if (!found->is_object() || found->size() != 1) return shape;
    if (auto error = unknown_field(*found, {"one_of", "at_least"})) return "segment.tier: " + *error;
    std::uint16_t mask = 0;
    if (auto at_least = found->find("at_least"); at_least != found->end()) {
      std::uint8_t lowest = 0;
      if (auto error = tier_index(*at_least, "segment.tier.at_least", lowest)) return error;
      for (std::uint8_t index = lowest; index <= tiers_.count(); ++index) {
        mask = static_cast<std::uint16_t>(mask | 1U << index);
      }
    } else {
      const Json& names = found->at("one_of");
      if (!names.is_array() || names.empty()) {
        return std::string("segment.tier.one_of must be a non-empty array of tier names");
      }
      for (std::size_t i = 0; i < names.size(); ++i) {
        std::uint8_t index = 0;
        if (auto error = tier_index(names[i], "segment.tier.one_of[" + std::to_string(i) + "]", index)) return error;
        if ((mask >> index & 1U) != 0) {
          return "segment.tier.one_of: \"" + tiers_.tier_name(index) + "\" is listed twice";
        }
        mask = static_cast<std::uint16_t>(mask | 1U << index);
      }
    }
    out = mask;
    return std::nullopt;
  }

  // Reads the rule's name (required, unique in the file), then the rest with `body`; an error
  // is prefixed with where the rule is: `multipliers[1] "coffee week": `.
  template <class Body>
  std::optional<ParseError> named(const Json& item, const std::string& where, std::string& name, Body&& body) {
    if (!item.is_object()) return where + ": must be an object";
    if (auto error = read_text(item, "name", rule_name_bytes_max, name, true)) return where + ": " + *error;
    const std::string located = where + " \"" + name + "\": ";
    if (!names_.insert(name).second) return located + "another rule has this name";
    if (auto error = body(item)) return located + *error;
    return std::nullopt;
  }

  template <class Body>
  std::optional<ParseError> each(const Json& json, const char* field, Body&& body) {
    auto found = json.find(field);
    if (found == json.end()) return std::nullopt;
    if (!found->is_array()) return std::string(field) + " must be an array";
    if (found->size() > rules_per_kind_max) {
      return std::string(field) + " has " + std::to_string(found->size()) + " rules, at most " +
             std::to_string(rules_per_kind_max);
    }
    for (std::size_t i = 0; i < found->size(); ++i) {
      std::string name;
      if (auto error = named((*found)[i], std::string(field) + "[" + std::to_string(i) + "]", name,
                             [&](const Json& item) { return body(item, name); })) {
        return error;
      }
    }
    return std::nullopt;
  }

  const ledger::TierProgram& tiers_;
  // Names the breakdown uses for its own entries are reserved, so a line can be told apart.
  std::set<std::string> names_{"base", "minimum order", "order maximum", "customer cap (day)",
                               "customer cap (week)", "customer cap (month)"};
};

std::string base64url(const std::uint8_t* bytes, std::size_t size) {
  std::string out(sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes, size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.find('\0'));
  return out;
}

}  // namespace

pc::Result<RuleSet, std::string> parse_rule_set(std::string_view text, const ledger::TierProgram& tiers) {
  if (text.size() > rule_set_bytes_max) {
    return "the rule set is " + std::to_string(text.size()) + " bytes, at most " + std::to_string(rule_set_bytes_max);
  }
  Json json;
  try {
    json = Json::parse(text);
  } catch (const Json::exception& error) {
    // parse_error, and out_of_range for a number too large even for a double ("1e999"):
    // the node reloads this file while running, so nothing in it may throw past here.
    return std::string("not valid JSON: ") + error.what();
  }
  RuleSet rules;
  Reader reader(tiers);
  if (auto error = reader.read(json, rules)) return *error;
  rules.hash = crypto::sha256(ByteSpan(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  rules.tag = base64url(rules.hash.data(), 16);
  PC_CHECK(rules.tag.size() == rule_tag_chars);
  return rules;
}

pc::Result<RuleSet, std::string> load_rule_set(const std::filesystem::path& path, const ledger::TierProgram& tiers) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return "cannot read " + path.string();
  std::ostringstream text;
  text << file.rdbuf();
  auto rules = parse_rule_set(text.str(), tiers);
  if (!rules) return path.string() + ": " + rules.error();
  return rules;
}

}  // namespace pc::node::rules
