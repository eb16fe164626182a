#include "node/analytics_report.hpp"

#include <algorithm>
#include <iomanip>
#include <sstream>
#include <tuple>

#include "node/node.hpp"

namespace pc::node {
namespace {

// A top_rewards line as the table prints it.
std::string reward_table_text(const RewardLine& line) {
  switch (line.kind) {
    case RewardKind::catalog:
      return line.reward + " (partner " + std::to_string(line.partner) + "'s catalog reward " +
             std::to_string(line.reward_id) + ")";
    case RewardKind::payment: return "(" + line.reward + ")";
    case RewardKind::other: return "(other)";
    case RewardKind::redeem: break;
  }
  return line.reward;
}

// Exact products of two u64s; the pedantic warning about the GCC/Clang extension is
// silenced by __extension__.
__extension__ using Wide = unsigned __int128;

constexpr std::int64_t year_min = 1970;
constexpr std::int64_t year_max = 9999;

struct CivilDate {
  std::int64_t year = 1970;
  std::int64_t month = 1;
  std::int64_t day = 1;
};

// Howard Hinnant's days_from_civil and civil_from_days (proleptic Gregorian).
std::int64_t days_from_civil(CivilDate date) {
  const std::int64_t year = date.year - (date.month <= 2 ? 1 : 0);
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const std::int64_t year_of_era = year - era * 400;
  const std::int64_t day_of_year = (153 * (date.month + (date.month > 2 ? -3 : 9)) + 2) / 5 + date.day - 1;
  const std::int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146'097 + day_of_era - 719'468;
}

CivilDate civil_from_days(std::int64_t days) {
  days += 719'468;
  const std::int64_t era = (days >= 0 ? days : days - 146'096) / 146'097;
  const std::int64_t day_of_era = days - era * 146'097;
  const std::int64_t year_of_era =
      (day_of_era - day_of_era / 1'460 + day_of_era / 36'524 - day_of_era / 146'096) / 365;
  const std::int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const std::int64_t month_index = (5 * day_of_year + 2) / 153;
  CivilDate date;
  date.day = day_of_year - (153 * month_index + 2) / 5 + 1;
  date.month = month_index < 10 ? month_index + 3 : month_index - 9;
  date.year = year_of_era + era * 400 + (date.month <= 2 ? 1 : 0);
  return date;
}

std::optional<std::uint64_t> digits_value(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

std::uint64_t power_of_ten(unsigned exponent) {
  std::uint64_t value = 1;
  for (unsigned i = 0; i < exponent; ++i) value *= 10;
  return value;
}

const std::array<ledger::Reason, reason_count> reasons = {
    ledger::Reason::purchase, ledger::Reason::referral, ledger::Reason::review,
    ledger::Reason::social,   ledger::Reason::bonus,    ledger::Reason::cashback};

nlohmann::json optional_number(const std::optional<std::uint64_t>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

// Hundredths as "12.34", or "" when there is no value (CSV and table).
std::string hundredths_text(const std::optional<std::uint64_t>& hundredths) {
  return hundredths ? decimal_text(*hundredths, 2) : std::string();
}

std::optional<std::uint64_t> rate_bp(std::uint64_t part, std::uint64_t whole) {
  return scaled_ratio(part, whole, 10'000);
}

std::optional<std::uint64_t> average_hundredths(const Figures& figures) {
  return scaled_ratio(figures.issued_by_reason[0], figures.purchase_count, 100);
}

nlohmann::json row_json(const Report& report, const ReportRow& row) {
  const Figures& f = row.figures;
  nlohmann::json by_reason = nlohmann::json::object();
  for (std::size_t i = 0; i < reason_count; ++i) by_reason[std::string(ledger::reason_name(reasons[i]))] = f.issued_by_reason[i];
  const std::optional<std::uint64_t> average = average_hundredths(f);
  nlohmann::json json = {
      {"first", iso_date(row.first)},
      {"last", iso_date(row.last)},
      {"issued", f.issued()},
      {"issued_by_reason", by_reason},
      {"issue_count", f.issue_count},
      {"purchase_count", f.purchase_count},
      {"average_points_per_purchase", average ? nlohmann::json(decimal_text(*average, 2)) : nlohmann::json(nullptr)},
      {"issued_redeemed", f.issued_redeemed},
      {"redeemed_at", f.redeemed_at},
      {"redemption_count", f.redemption_count},
      {"expired", f.expired},
      {"reversed", f.reversed},
      {"reversal_shortfall", f.reversal_shortfall},
      {"liability", row.liability_end},
      {"redemption_rate_bp", optional_number(rate_bp(f.issued_redeemed, f.issued()))},
      {"breakage_rate_bp", optional_number(rate_bp(f.expired, f.issued()))},
      {"active_members", row.active_members},
      {"new_members", f.new_members},
  };
  if (const auto& value = report.query.point_value) {
    const std::uint64_t minor = money_minor(*value, row.liability_end);
    json["liability_money_minor"] = minor;
    json["liability_money"] = decimal_text(minor, value->minor_digits);
  }
  return json;
}

}  // namespace

std::optional<Day> parse_iso_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const auto year = digits_value(text.substr(0, 4));
  const auto month = digits_value(text.substr(5, 2));
  const auto day = digits_value(text.substr(8, 2));
  if (!year || !month || !day) return std::nullopt;
  const CivilDate date{static_cast<std::int64_t>(*year), static_cast<std::int64_t>(*month),
                       static_cast<std::int64_t>(*day)};
  if (date.year < year_min || date.year > year_max || date.month < 1 || date.month > 12 || date.day < 1 ||
      date.day > 31) {
    return std::nullopt;
  }
  const std::int64_t days = days_from_civil(date);
  const CivilDate back = civil_from_days(days);
  // 2026-02-30 comes back as 2026-03-02.
  if (back.year != date.year || back.month != date.month || back.day != date.day) return std::nullopt;
  return static_cast<Day>(days);
}

std::string iso_date(Day day) {
  const CivilDate date = civil_from_days(day);
  std::ostringstream out;
  out << std::setfill('0') << std::setw(4) << date.year << '-' << std::setw(2) << date.month << '-' << std::setw(2)
      << date.day;
  return out.str();
}

std::optional<ReportPeriod> report_period_from_name(std::string_view name) {
  if (name == "day") return ReportPeriod::day;
  if (name == "week") return ReportPeriod::week;
  if (name == "month") return ReportPeriod::month;
  return std::nullopt;
}

std::string_view report_period_name(ReportPeriod period) {
  switch (period) {
    case ReportPeriod::day: return "day";
    case ReportPeriod::week: return "week";
    case ReportPeriod::month: return "month";
  }
  return "month";
}

Day next_period_start(Day day, ReportPeriod period) {
  switch (period) {
    case ReportPeriod::day: return day + 1;
    case ReportPeriod::week: {
      // 1970-01-01 (day 0) was a Thursday: Monday is weekday 0.
      const Day weekday = (day + 3) % 7;
      return day - weekday + 7;
    }
    case ReportPeriod::month: {
      const CivilDate date = civil_from_days(day);
      const CivilDate next = date.month == 12 ? CivilDate{date.year + 1, 1, 1} : CivilDate{date.year, date.month + 1, 1};
      return static_cast<Day>(days_from_civil(next));
    }
  }
  return day + 1;
}

std::optional<ReportFormat> report_format_from_name(std::string_view name) {
  if (name == "table") return ReportFormat::table;
  if (name == "json") return ReportFormat::json;
  if (name == "csv") return ReportFormat::csv;
  return std::nullopt;
}

ledger::Result<PointValue> parse_point_value(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return ledger::Error{ledger::Code::invalid_field,
                         "point value \"" + std::string(text) + "\": " + std::string(why) +
                             " (give CURRENCY:AMOUNT, e.g. EUR:0.01 for one cent a point)"};
  };
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) return bad("no colon");
  PointValue value;
  value.currency = std::string(text.substr(0, colon));
  const std::optional<unsigned> digits = currency_minor_digits(value.currency);
  if (!digits) return bad("unknown currency");
  value.minor_digits = *digits;
  const std::string_view amount = text.substr(colon + 1);
  const std::size_t dot = amount.find('.');
  const std::string_view whole = amount.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? std::string_view() : amount.substr(dot + 1);
  // Up to 6 whole and 9 fraction digits keep amount * 10^minor digits (at most 3) below 2^64.
  if (whole.size() > 6 || fraction.size() > 9 || (dot != std::string_view::npos && fraction.empty())) {
    return bad("at most 6 digits before the point and 1 to 9 after it");
  }
  const auto whole_value = digits_value(whole);
  const auto fraction_value = fraction.empty() ? std::optional<std::uint64_t>(0) : digits_value(fraction);
  if (!whole_value || !fraction_value) return bad("the amount is not a decimal number");
  const std::uint64_t scaled = *whole_value * power_of_ten(static_cast<unsigned>(fraction.size())) + *fraction_value;
  if (scaled == 0) return bad("the amount must be more than zero");
  value.minor_per_point_numerator = scaled * power_of_ten(value.minor_digits);
  value.minor_per_point_denominator = power_of_ten(static_cast<unsigned>(fraction.size()));
  value.text = std::string(text);
  return value;
}

std::uint64_t money_minor(const PointValue& value, std::uint64_t points) {
  const Wide product = static_cast<Wide>(points) * value.minor_per_point_numerator / value.minor_per_point_denominator;
  // At most 2^64 points times at most 10^9 minor units a point: saturate rather than wrap.
  return product > UINT64_MAX ? UINT64_MAX : static_cast<std::uint64_t>(product);
}

std::string decimal_text(std::uint64_t minor, unsigned digits) {
  if (digits == 0) return std::to_string(minor);
  const std::uint64_t unit = power_of_ten(digits);
  std::string fraction = std::to_string(minor % unit);
  fraction.insert(0, digits - fraction.size(), '0');
  return std::to_string(minor / unit) + "." + fraction;
}

ledger::Status check_report_query(const ReportQuery& query) {
  if (query.from > query.to) {
    return ledger::Error{ledger::Code::invalid_field, "from " + iso_date(query.from) + " is after to " + iso_date(query.to)};
  }
  if (query.to - query.from + 1 > report_range_days_max) {
    return ledger::Error{ledger::Code::too_large, "a report covers at most " + std::to_string(report_range_days_max) +
                                                      " days"};
  }
  if (query.top_rewards > report_top_rewards_max) {
    return ledger::Error{ledger::Code::invalid_field,
                         "top rewards must be at most " + std::to_string(report_top_rewards_max)};
  }
  return {};
}

std::uint64_t Figures::issued() const {
  std::uint64_t sum = 0;
  for (std::uint64_t points : issued_by_reason) sum += points;
  return sum;
}

Figures& Figures::operator+=(const Figures& other) {
  for (std::size_t i = 0; i < reason_count; ++i) issued_by_reason[i] += other.issued_by_reason[i];
  issue_count += other.issue_count;
  purchase_count += other.purchase_count;
  redeemed_at += other.redeemed_at;
  redemption_count += other.redemption_count;
  issued_redeemed += other.issued_redeemed;
  expired += other.expired;
  reversed += other.reversed;
  reversal_shortfall += other.reversal_shortfall;
  new_members += other.new_members;
  return *this;
}

std::optional<std::uint64_t> scaled_ratio(std::uint64_t part, std::uint64_t whole, std::uint64_t scale) {
  if (whole == 0) return std::nullopt;
  const Wide ratio = static_cast<Wide>(part) * scale / whole;
  return ratio > UINT64_MAX ? UINT64_MAX : static_cast<std::uint64_t>(ratio);
}

std::string_view reward_kind_name(RewardKind kind) {
  switch (kind) {
    case RewardKind::redeem: return "redeem";
    case RewardKind::catalog: return "catalog";
    case RewardKind::payment: return "payment";
    case RewardKind::other: return "other";
  }
  return "unknown";
}

bool ranks_before(const RewardLine& a, const RewardLine& b) {
  if (a.points != b.points) return a.points > b.points;
  if (a.count != b.count) return a.count > b.count;
  return std::tie(a.reward, a.kind, a.partner, a.reward_id) < std::tie(b.reward, b.kind, b.partner, b.reward_id);
}

nlohmann::json report_json(const Report& report) {
  nlohmann::json json = {
      {"scope", {{"partner", report.query.partner ? nlohmann::json(*report.query.partner) : nlohmann::json(nullptr)},
                 {"name", report.scope_name}}},
      {"from", iso_date(report.query.from)},
      {"to", iso_date(report.query.to)},
      {"period", report_period_name(report.query.period)},
      {"time_zone", "UTC"},
      {"indexed_height", report.indexed_height},
      {"liability_start", report.liability_start},
      {"point_value", nullptr},
  };
  if (const auto& value = report.query.point_value) {
    json["point_value"] = {{"text", value->text}, {"currency", value->currency}, {"minor_digits", value->minor_digits}};
    json["liability_start_money_minor"] = money_minor(*value, report.liability_start);
  }
  json["rows"] = nlohmann::json::array();
  for (const ReportRow& row : report.rows) json["rows"].push_back(row_json(report, row));
  json["total"] = row_json(report, report.total);
  json["top_rewards"] = nlohmann::json::array();
  for (const RewardLine& line : report.top_rewards) {
    const bool catalog = line.kind == RewardKind::catalog;
    json["top_rewards"].push_back({{"reward", line.reward},
                                   {"kind", reward_kind_name(line.kind)},
                                   {"partner", catalog ? nlohmann::json(line.partner) : nlohmann::json(nullptr)},
                                   {"reward_id", catalog ? nlohmann::json(line.reward_id) : nlohmann::json(nullptr)},
                                   {"other", line.kind == RewardKind::other},
                                   {"count", line.count},
                                   {"points", line.points}});
  }
  return json;
}

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

std::string report_csv(const Report& report) {
  const std::optional<PointValue>& value = report.query.point_value;
  std::vector<std::string> header = {"row", "period_start", "period_end", "issued"};
  for (ledger::Reason reason : reasons) header.push_back("issued_" + std::string(ledger::reason_name(reason)));
  for (const char* name : {"issue_count", "purchase_count", "average_points_per_purchase", "issued_redeemed",
                           "redeemed_at", "redemption_count", "expired", "reversed", "reversal_shortfall",
                           "liability"}) {
    header.emplace_back(name);
  }
  if (value) {
    for (const char* name : {"liability_money_minor", "liability_money", "currency"}) header.emplace_back(name);
  }
  for (const char* name : {"redemption_rate_percent", "breakage_rate_percent", "active_members", "new_members"}) {
    header.emplace_back(name);
  }
  std::string out;
  const auto line = [&](const std::vector<std::string>& fields) {
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) out += ',';
      out += csv_field(fields[i]);
    }
    out += "\r\n";
  };
  line(header);
  const auto row_line = [&](std::string_view kind, const ReportRow& row) {
    const Figures& f = row.figures;
    std::vector<std::string> fields = {std::string(kind), iso_date(row.first), iso_date(row.last),
                                       std::to_string(f.issued())};
    for (std::uint64_t points : f.issued_by_reason) fields.push_back(std::to_string(points));
    fields.push_back(std::to_string(f.issue_count));
    fields.push_back(std::to_string(f.purchase_count));
    fields.push_back(hundredths_text(average_hundredths(f)));
    for (std::uint64_t number : {f.issued_redeemed, f.redeemed_at, f.redemption_count, f.expired, f.reversed,
                                 f.reversal_shortfall, row.liability_end}) {
      fields.push_back(std::to_string(number));
    }
    if (value) {
      const std::uint64_t minor = money_minor(*value, row.liability_end);
      fields.push_back(std::to_string(minor));
      fields.push_back(decimal_text(minor, value->minor_digits));
      fields.push_back(value->currency);
    }
    fields.push_back(hundredths_text(rate_bp(f.issued_redeemed, f.issued())));
    fields.push_back(hundredths_text(rate_bp(f.expired, f.issued())));
    fields.push_back(std::to_string(row.active_members));
    fields.push_back(std::to_string(f.new_members));
    line(fields);
  };
  for (const ReportRow& row : report.rows) row_line("period", row);
  row_line("total", report.total);
  return out;
}

std::string report_rewards_csv(const Report& report) {
  std::string out = "reward,other,count,points,kind,partner,reward_id\r\n";
  for (const RewardLine& line : report.top_rewards) {
    const bool catalog = line.kind == RewardKind::catalog;
    out += csv_field(line.reward) + ',' + (line.kind == RewardKind::other ? "true" : "false") + ',' +
           std::to_string(line.count) + ',' + std::to_string(line.points) + ',' +
           std::string(reward_kind_name(line.kind)) + ',' + (catalog ? std::to_string(line.partner) : "") + ',' +
           (catalog ? std::to_string(line.reward_id) : "") + "\r\n";
  }
  return out;
}

std::string report_table(const Report& report) {
  std::ostringstream out;
  const std::optional<PointValue>& value = report.query.point_value;
  out << "Report for " << (report.query.partner ? "partner " + std::to_string(*report.query.partner) + " " : "")
      << report.scope_name << ", " << iso_date(report.query.from) << " to " << iso_date(report.query.to)
      << " (UTC days, by " << report_period_name(report.query.period) << "), blocks to height "
      << report.indexed_height << "\n";
  out << "Liability at the start: " << report.liability_start << " points";
  if (value) out << " = " << decimal_text(money_minor(*value, report.liability_start), value->minor_digits) << " " << value->currency;
  out << "\n\n";
  const std::vector<std::pair<std::string, int>> columns = {
      {"period", 23}, {"issued", 12}, {"redeemed", 12}, {"expired", 10}, {"reversed", 10}, {"liability", 14},
      {"redeem %", 9}, {"breakage %", 11}, {"active", 8}, {"new", 7}};
  for (const auto& [name, width] : columns) out << std::setw(width) << name;
  out << "\n";
  const auto print_row = [&](const ReportRow& row, bool total) {
    const Figures& f = row.figures;
    const std::string period = total ? "total" : iso_date(row.first) + ".." + iso_date(row.last).substr(5);
    const std::string redeem = hundredths_text(rate_bp(f.issued_redeemed, f.issued()));
    const std::string breakage = hundredths_text(rate_bp(f.expired, f.issued()));
    out << std::setw(23) << period << std::setw(12) << f.issued() << std::setw(12) << f.issued_redeemed
        << std::setw(10) << f.expired << std::setw(10) << f.reversed << std::setw(14) << row.liability_end
        << std::setw(9) << (redeem.empty() ? "-" : redeem) << std::setw(11) << (breakage.empty() ? "-" : breakage)
        << std::setw(8) << row.active_members << std::setw(7) << f.new_members << "\n";
  };
  for (const ReportRow& row : report.rows) print_row(row, false);
  print_row(report.total, true);

  const Figures& total = report.total.figures;
  out << "\nIssued by reason:";
  for (std::size_t i = 0; i < reason_count; ++i) {
    out << " " << ledger::reason_name(reasons[i]) << " " << total.issued_by_reason[i];
  }
  const std::optional<std::uint64_t> average = average_hundredths(total);
  out << "\nPurchases: " << total.purchase_count << ", average points per purchase "
      << (average ? decimal_text(*average, 2) : "-") << "\n";
  out << "Redeemed at " << (report.query.partner ? "this partner" : "all partners") << ": " << total.redeemed_at
      << " points in " << total.redemption_count << " redemptions\n";
  if (value) {
    out << "Liability at the end: " << decimal_text(money_minor(*value, report.total.liability_end), value->minor_digits)
        << " " << value->currency << " at " << value->text << " a point\n";
  }
  out << "\nTop rewards:\n";
  if (report.top_rewards.empty()) out << "  (none)\n";
  for (const RewardLine& line : report.top_rewards) {
    out << "  " << std::setw(12) << line.points << " points " << std::setw(8) << line.count << "x  "
        << reward_table_text(line) << "\n";
  }
  return out.str();
}

}  // namespace pc::node
