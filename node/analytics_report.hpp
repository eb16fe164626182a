// Analytics reports: what a report asks (ReportQuery), what it answers (Report), and how it is
// printed (JSON, CSV, table). The figures are defined exactly in docs/analytics.md; they are
// computed by node/analytics_index.hpp from committed blocks.
//
// Integers only: rates are basis points rounded down, averages hundredths rounded down, money
// minor units rounded down. Days are UTC days of block time (a partner's time zone is out of
// scope). Every bad parameter is a typed ledger::Error: invalid_field (a date, period, format,
// point value or top-N that does not parse, or from after to), too_large (a range over
// report_range_days_max), unknown_partner.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/errors.hpp"
#include "ledger/transaction.hpp"

namespace pc::node {

// Days in one report's range, both ends included: two years and a day, so a year can be
// compared with the one before it.
inline constexpr std::uint32_t report_range_days_max = 732;
// Rewards listed by name in a report; the rest are summed as "other".
inline constexpr std::size_t report_top_rewards_default = 10;
inline constexpr std::size_t report_top_rewards_max = 100;
// "Active" looks back this many days, the report's last day included.
inline constexpr std::uint32_t active_window_days = 90;
// Index entries one report may read (activity and reward entries); a report that would read
// more is refused with too_large rather than holding them all in memory.
inline constexpr std::uint64_t report_scan_entries_max = 4'000'000;
// Reasons an issuance can give (ledger::Reason 1..6).
inline constexpr std::size_t reason_count = 6;

// A day as the number of UTC days since 1970-01-01 (block time_ms / 86'400'000).
using Day = std::uint32_t;
inline constexpr std::uint64_t ms_per_utc_day = 86'400'000;
inline Day day_of_ms(std::uint64_t time_ms) { return static_cast<Day>(time_ms / ms_per_utc_day); }
// "YYYY-MM-DD" (proleptic Gregorian, years 1970..9999) to a Day; nullopt when it is not one.
std::optional<Day> parse_iso_date(std::string_view text);
std::string iso_date(Day day);

enum class ReportPeriod { day, week, month };
std::optional<ReportPeriod> report_period_from_name(std::string_view name);
std::string_view report_period_name(ReportPeriod period);
// The first day of the period after the one holding `day`. Weeks start on Monday (ISO 8601).
Day next_period_start(Day day, ReportPeriod period);

enum class ReportFormat { table, json, csv };
std::optional<ReportFormat> report_format_from_name(std::string_view name);

// What a point is worth, given by whoever asks for the report: the chain does not say yet.
// Parsed from "EUR:0.01" (each point worth 0.01 EUR). money_minor(points) =
// floor(points * minor_per_point_numerator / minor_per_point_denominator).
struct PointValue {
  std::string currency;
  unsigned minor_digits = 2;
  std::uint64_t minor_per_point_numerator = 1;
  std::uint64_t minor_per_point_denominator = 1;
  std::string text;  // as given, for the report's header
};
ledger::Result<PointValue> parse_point_value(std::string_view text);
std::uint64_t money_minor(const PointValue& value, std::uint64_t points);
// Minor units as a decimal: 12345 with 2 digits is "123.45".
std::string decimal_text(std::uint64_t minor, unsigned digits);

// A leaderboard (docs/rpc.md, get_leaderboard): the members with the most points issued to
// them over days from..to (both included), in one scope, by address only.
inline constexpr std::size_t leaderboard_entries_max = 100;
struct LeaderboardQuery {
  Day from = 0;
  Day to = 0;
  std::optional<ledger::PartnerId> partner;  // nullopt: coalition-wide
  std::size_t limit = 10;                    // 1 to leaderboard_entries_max
};
struct LeaderboardEntry {
  crypto::PublicKey member{};
  std::uint64_t points = 0;
};
struct Leaderboard {
  std::uint64_t indexed_height = 0;
  std::uint64_t members = 0;                 // members who earned anything in the range
  std::vector<LeaderboardEntry> entries;     // most points first; ties by address
};

struct ReportQuery {
  Day from = 0;
  Day to = 0;                                   // included
  std::optional<ledger::PartnerId> partner;     // nullopt: coalition-wide
  ReportPeriod period = ReportPeriod::month;
  std::size_t top_rewards = report_top_rewards_default;
  std::optional<PointValue> point_value;
};
// Checks a query's range and top-N (not the partner, which needs the genesis).
ledger::Status check_report_query(const ReportQuery& query);

// Sums over days of one scope (a partner, or the coalition). For a partner, issued, expired,
// reversed, issued_redeemed and liability count the points it issued; redeemed_at and
// redemption_count the redemptions made at it.
struct Figures {
  std::array<std::uint64_t, reason_count> issued_by_reason{};  // index: Reason - 1
  std::uint64_t issue_count = 0;
  std::uint64_t purchase_count = 0;      // issuances with reason purchase
  std::uint64_t redeemed_at = 0;
  std::uint64_t redemption_count = 0;
  std::uint64_t issued_redeemed = 0;
  std::uint64_t expired = 0;
  std::uint64_t reversed = 0;
  std::uint64_t reversal_shortfall = 0;
  std::uint64_t new_members = 0;

  std::uint64_t issued() const;
  Figures& operator+=(const Figures& other);
  bool operator==(const Figures&) const = default;
};

struct ReportRow {
  Day first = 0;
  Day last = 0;                  // included
  Figures figures;
  std::uint64_t liability_end = 0;     // outstanding at the end of `last`
  std::uint64_t active_members = 0;    // earned or redeemed in the active window ending at `last`

  bool operator==(const ReportRow&) const = default;
};

// What a line of top_rewards groups: Redeem transactions by their reward text, RedeemReward
// transactions by catalog reward (partner, reward id), every PayWithPoints as one line, and
// the lines past the top N as one "other" line. The values are the index's (docs/analytics.md).
enum class RewardKind : std::uint8_t { redeem = 1, catalog = 2, payment = 3, other = 4 };
std::string_view reward_kind_name(RewardKind kind);

struct RewardLine {
  RewardKind kind = RewardKind::redeem;
  // A Redeem's reward text; a catalog reward's name as last published; payment_line_name;
  // "other".
  std::string reward;
  ledger::PartnerId partner = 0;  // catalog: whose catalog; else 0
  std::uint32_t reward_id = 0;    // catalog: the reward's id; else 0
  std::uint64_t count = 0;        // redemption transactions
  std::uint64_t points = 0;

  bool operator==(const RewardLine&) const = default;
};
inline constexpr std::string_view payment_line_name = "payments with points";
// The order of top_rewards: most points first, then most redemptions, then by reward text,
// kind, partner and id, so that two lines never tie.
bool ranks_before(const RewardLine& a, const RewardLine& b);

struct Report {
  ReportQuery query;
  std::string scope_name;        // the partner's name, or the coalition's
  std::uint64_t indexed_height = 0;
  std::uint64_t liability_start = 0;   // outstanding at the end of the day before `from`
  std::vector<ReportRow> rows;   // one per period, clipped to the range
  ReportRow total;               // the whole range
  std::vector<RewardLine> top_rewards;  // redeemed at the scope over the whole range
};

// ratio * scale / whole, rounded down; nullopt when whole is 0.
std::optional<std::uint64_t> scaled_ratio(std::uint64_t part, std::uint64_t whole, std::uint64_t scale);

nlohmann::json report_json(const Report& report);
// RFC 4180: CRLF line ends, a header line, fields with a comma, quote, CR or LF quoted and
// their quotes doubled. One line per period and a last line "total".
std::string report_csv(const Report& report);
// The top rewards as RFC 4180 CSV: reward, other, count, points, kind, partner, reward_id.
std::string report_rewards_csv(const Report& report);
std::string report_table(const Report& report);
// An RFC 4180 field.
std::string csv_field(std::string_view text);

}  // namespace pc::node
