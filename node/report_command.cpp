#include "node/report_command.hpp"

#include <ostream>
#include <stdexcept>

#include "ledger/genesis.hpp"
#include "ledger/store.hpp"
#include "node/analytics_index.hpp"

namespace pc::node {
namespace {

ledger::Error invalid(std::string_view name, std::string_view problem) {
  return ledger::Error{ledger::Code::invalid_field, std::string(name) + ": " + std::string(problem)};
}

std::optional<std::uint64_t> small_number(std::string_view text, std::uint64_t max) {
  if (text.empty() || text.size() > 6) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

}  // namespace

ledger::Result<ReportQuery> parse_report_query(const ReportQueryText& text) {
  ReportQuery query;
  const auto from = parse_iso_date(text.from);
  if (!from) return invalid("from", "\"" + text.from + "\" is not a date YYYY-MM-DD from 1970 to 9999");
  const auto to = parse_iso_date(text.to);
  if (!to) return invalid("to", "\"" + text.to + "\" is not a date YYYY-MM-DD from 1970 to 9999");
  query.from = *from;
  query.to = *to;
  if (text.partner) {
    const auto partner = small_number(*text.partner, 65'535);
    if (!partner || *partner == 0) return invalid("partner", "must be a partner id from 1 to 65535");
    query.partner = static_cast<ledger::PartnerId>(*partner);
  }
  if (text.period) {
    const auto period = report_period_from_name(*text.period);
    if (!period) return invalid("period", "must be day, week or month");
    query.period = *period;
  }
  if (text.top_rewards) {
    const auto top = small_number(*text.top_rewards, report_top_rewards_max);
    if (!top) return invalid("top", "must be a number from 0 to " + std::to_string(report_top_rewards_max));
    query.top_rewards = static_cast<std::size_t>(*top);
  }
  if (text.point_value) {
    auto value = parse_point_value(*text.point_value);
    if (!value) return value.error();
    query.point_value = std::move(value).value();
  }
  if (auto status = check_report_query(query); !status) return status.error();
  return query;
}

int run_report(const std::filesystem::path& data_dir, const ReportQueryText& text, std::string_view format_name,
               bool rewards, std::ostream& out, std::ostream& err) {
  const auto format = report_format_from_name(format_name);
  if (!format) {
    err << "report: --format must be table, json or csv\n";
    return report_exit_unusable;
  }
  auto query = parse_report_query(text);
  if (!query) {
    err << "report: " << query.error().message() << "\n";
    return report_exit_refused;
  }
  auto genesis = ledger::load_genesis_file(data_dir / "genesis.json");
  if (!genesis) {
    err << "report: " << genesis.error() << "\n";
    return report_exit_unusable;
  }
  auto store = ledger::ChainStore::open(data_dir / "chain", *genesis, ledger::ChainStore::Mode::raw);
  if (!store) {
    const std::string message = store.error().message();
    err << "report: cannot read " << (data_dir / "chain").string() << ": " << message
        << (message.find("lock") != std::string::npos ? " (is a node running on this data dir? ask it with get_report)"
                                                      : "")
        << "\n";
    return report_exit_unusable;
  }
  std::optional<AnalyticsIndex> index;
  try {
    index.emplace(data_dir / "analytics", **store);
  } catch (const std::runtime_error& error) {
    err << "report: " << error.what() << "\n";
    return report_exit_unusable;
  }
  auto report = index->report(*query);
  if (!report) {
    err << "report: " << report.error().message() << "\n";
    return report_exit_refused;
  }
  switch (*format) {
    case ReportFormat::table: out << report_table(*report); break;
    case ReportFormat::json: out << report_json(*report).dump(2) << "\n"; break;
    case ReportFormat::csv: out << (rewards ? report_rewards_csv(*report) : report_csv(*report)); break;
  }
  return report_exit_ok;
}

}  // namespace pc::node
