// Settlement statements: what one partner issued, redeemed and owes in one calendar month,
// computed from the chain alone so that any partner or auditor gets the same bytes
// (docs/billing.md defines every figure, the period, the rounding and the content hash).
//
// A statement is computed by replaying the chain from genesis through ledger::State (the
// settlement split of a redemption depends on which lots it consumed, which only execution
// knows): the cumulative counters at the period's start and end are subtracted. So it needs
// the genesis and the blocks, nothing derived; its cost is O(blocks up to the period's end).
//
// Integers only: points are u64, money is minor units of the billing currency, each figure
// rounded down once (floor(points × price per 1000 / 1000)); a net position is signed.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ledger/block.hpp"
#include "ledger/genesis.hpp"
#include "node/analytics_report.hpp"

namespace pc::node {

// Bumped when a figure's definition or the layout of the JSON or CSV changes; printed in every
// statement so that two statements of different versions are never compared byte for byte.
inline constexpr std::uint32_t statement_format_version = 1;

// The money value of `points` of `issuer`'s points, in minor units of the billing currency per
// 1000 points. Points have no money value on chain yet, so this is the issuer's billing price
// (docs/billing.md, "Money value"): the one place a per-partner point value will plug in.
std::uint64_t point_value_per_1000_minor(const ledger::BillingTerms& billing, ledger::PartnerId issuer);
// floor(points × per_1000_minor / 1000), exactly; overflow past 2^63 - 1 (so that net
// positions, which subtract two of these, stay in an i64).
ledger::Result<std::uint64_t> money_of_points(std::uint64_t points, std::uint64_t per_1000_minor);

struct StatementQuery {
  ledger::PartnerId partner = 0;
  Day month_first_day = 0;               // the first day of a calendar month (UTC)
  std::optional<std::uint64_t> height;   // compute at this height; nullopt: the tip
};
// "2026-11" to the first day of that month; nullopt unless YYYY-MM with a month 1-12.
std::optional<Day> parse_statement_month(std::string_view text);

struct MatrixCell {
  ledger::PartnerId issuer = 0;
  ledger::PartnerId redeemer = 0;
  std::uint64_t points = 0;
  bool operator==(const MatrixCell&) const = default;
};

// The statement's partner against one other partner, over the period.
struct Counterparty {
  ledger::PartnerId partner = 0;
  std::string name;
  std::uint64_t points_redeemed_there = 0;  // our points redeemed at them: we owe them
  std::uint64_t points_redeemed_here = 0;   // their points redeemed at us: they owe us
  std::uint64_t payable_rate_per_1000_minor = 0;     // our points' value
  std::uint64_t receivable_rate_per_1000_minor = 0;  // theirs
  std::uint64_t payable_minor = 0;
  std::uint64_t receivable_minor = 0;
  std::int64_t net_minor = 0;               // receivable - payable: > 0, they owe us
  bool operator==(const Counterparty&) const = default;
};

struct TopUpLine {
  std::uint64_t height = 0;
  ledger::Hash256 tx_id{};
  std::string reference;
  std::uint64_t points = 0;
  std::uint64_t fee_minor = 0;
  bool operator==(const TopUpLine&) const = default;
};

struct Statement {
  std::string chain_id;
  ledger::Hash256 genesis_hash{};
  ledger::PartnerId partner = 0;
  std::string partner_name;
  ledger::PartnerBilling terms;            // the partner's billing terms
  std::string currency;
  unsigned currency_minor_digits = 2;

  Day month_first_day = 0;
  Day month_last_day = 0;
  std::uint64_t period_start_ms = 0;       // included
  std::uint64_t period_end_ms = 0;         // excluded
  bool period_complete = false;            // a block at or after period_end_ms is in the chain
  std::optional<std::uint64_t> first_height;  // the period's blocks; nullopt: none
  std::optional<std::uint64_t> last_height;

  std::uint64_t computed_height = 0;
  ledger::Hash256 computed_block_id{};     // the genesis hash at height 0
  std::uint64_t computed_block_time_ms = 0;

  // The partner's counters over the period (ledger::PartnerStats differences).
  std::uint64_t issued = 0;
  std::uint64_t reversed = 0;
  std::uint64_t expired = 0;
  std::uint64_t redeemed_at = 0;           // redeemed at this partner, whoever issued them
  std::uint64_t issued_redeemed = 0;       // its points redeemed, at any partner
  std::vector<MatrixCell> matrix;          // every non-zero cell of the period, by (issuer, redeemer)
  std::vector<Counterparty> counterparties;  // every other genesis partner, by id
  std::int64_t net_minor = 0;              // sum of the counterparties' net_minor

  std::uint64_t fee_points = 0;            // issued (post-paid) or topped up (prepaid) in the period
  std::uint64_t fees_minor = 0;
  std::vector<TopUpLine> top_ups;          // prepaid: the period's PrepaidTopUps, in chain order
  std::optional<std::uint64_t> prepaid_balance_start;  // prepaid: points at the period's start
  std::optional<std::uint64_t> prepaid_balance_end;    // and at its end (or at computed_height)

  bool operator==(const Statement&) const = default;
};

// Reads block `height` (1..tip) of the chain the statement is computed from.
using BlockSource = std::function<ledger::Result<ledger::Block>(std::uint64_t height)>;

// The statement of `query` over the chain of `genesis` whose tip is `tip_height`. Errors:
// unknown_partner; invalid_field for a height above the tip, a month that is not a month's
// first day, or a chain without billing terms (protocol version 4 on); the blocks' own errors
// (a block that does not execute is corruption); overflow for money past 2^63 - 1.
ledger::Result<Statement> compute_statement(const ledger::Genesis& genesis, const StatementQuery& query,
                                            std::uint64_t tip_height, const BlockSource& blocks);

// The statement as JSON without `content_hash`, serialized canonically: keys sorted, no
// whitespace, UTF-8. The content hash is SHA-256 of exactly these bytes.
std::string statement_canonical_json(const Statement& statement);
std::string statement_content_hash(const Statement& statement);  // 64 lower-case hex digits
// The JSON the command and the RPC give: the canonical object plus `content_hash`.
nlohmann::json statement_json(const Statement& statement);
// RFC 4180, one table (columns in docs/billing.md); its last row carries the content hash.
std::string statement_csv(const Statement& statement);

inline constexpr int statement_exit_ok = 0;
inline constexpr int statement_exit_refused = 1;
inline constexpr int statement_exit_unusable = 2;

struct StatementQueryText {
  std::string partner;
  std::string month;                  // YYYY-MM
  std::optional<std::string> height;
};
// invalid_field naming the bad parameter.
ledger::Result<StatementQuery> parse_statement_query(const StatementQueryText& text);

// `pointchain-node statement`: the statement of a stopped node's data dir (read-only), printed
// as `format` (json or csv). Exit codes as report's.
int run_statement(const std::filesystem::path& data_dir, const StatementQueryText& query, std::string_view format,
                  std::ostream& out, std::ostream& err);

}  // namespace pc::node
