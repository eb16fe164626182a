// `pointchain-node report`: the analytics report of a stopped node's data dir, as `audit`
// reads one. It opens data_dir/analytics itself (rebuilding it from the chain if it is
// missing or behind), so it cannot run while a node holds that directory: ask the running
// node's get_report instead. Exit codes in docs/analytics.md.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

#include "node/analytics_report.hpp"

namespace pc::node {

inline constexpr int report_exit_ok = 0;
inline constexpr int report_exit_refused = 1;   // a query the report refuses (its typed error is printed)
inline constexpr int report_exit_unusable = 2;  // bad arguments, or a data dir that cannot be read

// A query as the CLI and the RPC give it, in text. Empty optionals take the defaults (the
// coalition, by month, report_top_rewards_default rewards, no point value).
struct ReportQueryText {
  std::string from;   // YYYY-MM-DD
  std::string to;     // YYYY-MM-DD, included
  std::optional<std::string> partner;
  std::optional<std::string> period;
  std::optional<std::string> top_rewards;
  std::optional<std::string> point_value;
};
// invalid_field naming the bad parameter, or as check_report_query.
ledger::Result<ReportQuery> parse_report_query(const ReportQueryText& text);

// Prints the report of `data_dir` to `out` as `format` says (with `rewards`, CSV prints the
// top rewards table instead of the figures); errors go to `err`. Returns an exit code.
int run_report(const std::filesystem::path& data_dir, const ReportQueryText& query, std::string_view format,
               bool rewards, std::ostream& out, std::ostream& err);

}  // namespace pc::node
