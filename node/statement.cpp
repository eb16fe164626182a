#include "node/statement.hpp"

#include <map>
#include <ostream>

#include "crypto/hash.hpp"
#include "ledger/chain.hpp"
#include "ledger/codec.hpp"
#include "ledger/store.hpp"

namespace pc::node {
namespace {

using ledger::Code;
using ledger::Error;
using ledger::PartnerId;
using Json = nlohmann::json;

// The counters a statement subtracts, as they stood at one moment of the replay.
struct Counters {
  ledger::PartnerStats partner;
  std::map<std::pair<PartnerId, PartnerId>, std::uint64_t> settlement;
  std::optional<std::uint64_t> prepaid_balance;
};

Counters counters_of(const ledger::State& state, PartnerId partner) {
  Counters counters;
  counters.partner = *state.partner(partner);
  counters.settlement = state.settlement_matrix();
  if (const ledger::PrepaidBalance* prepaid = state.prepaid(partner)) counters.prepaid_balance = prepaid->balance_points;
  return counters;
}

std::uint64_t cell(const std::map<std::pair<PartnerId, PartnerId>, std::uint64_t>& matrix, PartnerId issuer,
                   PartnerId redeemer) {
  auto found = matrix.find({issuer, redeemer});
  return found == matrix.end() ? 0 : found->second;
}

std::string signed_decimal_text(std::int64_t minor, unsigned digits) {
  const std::uint64_t magnitude = minor < 0 ? 0 - static_cast<std::uint64_t>(minor) : static_cast<std::uint64_t>(minor);
  // Inserted, not "-" + ...: GCC 12 -O3 reports a false -Wrestrict on a literal + temporary.
  std::string text = decimal_text(magnitude, digits);
  if (minor < 0) text.insert(text.begin(), '-');
  return text;
}

std::string month_text(Day first_day) { return iso_date(first_day).substr(0, 7); }

Json optional_height(const std::optional<std::uint64_t>& height) { return height ? Json(*height) : Json(nullptr); }

Json canonical_object(const Statement& s) {
  const unsigned digits = s.currency_minor_digits;
  Json matrix = Json::array();
  for (const MatrixCell& c : s.matrix) matrix.push_back({{"issuer", c.issuer}, {"redeemer", c.redeemer}, {"points", c.points}});
  Json counterparties = Json::array();
  for (const Counterparty& c : s.counterparties) {
    counterparties.push_back({{"partner", c.partner},
                              {"name", c.name},
                              {"points_redeemed_there", c.points_redeemed_there},
                              {"points_redeemed_here", c.points_redeemed_here},
                              {"payable_rate_per_1000_minor", c.payable_rate_per_1000_minor},
                              {"receivable_rate_per_1000_minor", c.receivable_rate_per_1000_minor},
                              {"payable_minor", c.payable_minor},
                              {"payable", decimal_text(c.payable_minor, digits)},
                              {"receivable_minor", c.receivable_minor},
                              {"receivable", decimal_text(c.receivable_minor, digits)},
                              {"net_minor", c.net_minor},
                              {"net", signed_decimal_text(c.net_minor, digits)}});
  }
  Json top_ups = Json::array();
  for (const TopUpLine& t : s.top_ups) {
    top_ups.push_back({{"height", t.height},
                       {"tx_id", to_hex(t.tx_id)},
                       {"reference", t.reference},
                       {"points", t.points},
                       {"fee_minor", t.fee_minor},
                       {"fee", decimal_text(t.fee_minor, digits)}});
  }
  Json prepaid = nullptr;
  if (s.terms.plan == ledger::BillingPlan::prepaid) {
    prepaid = {{"balance_start_points", *s.prepaid_balance_start}, {"balance_end_points", *s.prepaid_balance_end}};
  }
  return {
      {"format_version", statement_format_version},
      {"chain_id", s.chain_id},
      {"genesis_hash", to_hex(s.genesis_hash)},
      {"partner", {{"id", s.partner}, {"name", s.partner_name}}},
      {"period",
       {{"month", month_text(s.month_first_day)},
        {"first_day", iso_date(s.month_first_day)},
        {"last_day", iso_date(s.month_last_day)},
        {"start_ms", s.period_start_ms},
        {"end_ms", s.period_end_ms},
        {"time_zone", "UTC"},
        {"complete", s.period_complete},
        {"first_height", optional_height(s.first_height)},
        {"last_height", optional_height(s.last_height)}}},
      {"computed_at",
       {{"height", s.computed_height}, {"block_id", to_hex(s.computed_block_id)}, {"block_time_ms", s.computed_block_time_ms}}},
      {"currency", {{"code", s.currency}, {"minor_digits", s.currency_minor_digits}}},
      {"points",
       {{"issued", s.issued},
        {"reversed", s.reversed},
        {"expired", s.expired},
        {"redeemed_at_partner", s.redeemed_at},
        {"partner_points_redeemed", s.issued_redeemed}}},
      {"settlement_matrix", matrix},
      {"valuation", "issuer_billing_price"},
      {"counterparties", counterparties},
      {"net_minor", s.net_minor},
      {"net", signed_decimal_text(s.net_minor, digits)},
      {"fees",
       {{"plan", std::string(ledger::billing_plan_name(s.terms.plan))},
        {"price_per_1000_points_minor", s.terms.price_per_1000_points_minor},
        {"charged_points", s.fee_points},
        {"total_minor", s.fees_minor},
        {"total", decimal_text(s.fees_minor, digits)},
        {"top_ups", top_ups}}},
      {"prepaid", prepaid},
  };
}

}  // namespace

std::uint64_t point_value_per_1000_minor(const ledger::BillingTerms& billing, PartnerId issuer) {
  const ledger::PartnerBilling* terms = billing.of(issuer);
  return terms == nullptr ? 0 : terms->price_per_1000_points_minor;
}

ledger::Result<std::uint64_t> money_of_points(std::uint64_t points, std::uint64_t per_1000_minor) {
  __extension__ using Wide = unsigned __int128;
  const Wide minor = Wide{points} * per_1000_minor / 1000;
  if (minor > static_cast<Wide>(INT64_MAX)) {
    return Error{Code::overflow, std::to_string(points) + " points at " + std::to_string(per_1000_minor) +
                                     " per 1000 pass 2^63 - 1 minor units"};
  }
  return static_cast<std::uint64_t>(minor);
}

std::optional<Day> parse_statement_month(std::string_view text) {
  if (text.size() != 7) return std::nullopt;
  return parse_iso_date(std::string(text) + "-01");
}

ledger::Result<Statement> compute_statement(const ledger::Genesis& genesis, const StatementQuery& query,
                                            std::uint64_t tip_height, const BlockSource& blocks) {
  if (!genesis.policy.billing) {
    return Error{Code::invalid_field, "this chain has no billing terms (protocol version " +
                                          std::to_string(genesis.protocol_version) + "; statements need 4 or later)"};
  }
  const ledger::BillingTerms& billing = *genesis.policy.billing;
  const ledger::Partner* partner = genesis.partner(query.partner);
  if (partner == nullptr) return Error{Code::unknown_partner, "partner " + std::to_string(query.partner)};
  const std::uint64_t height = query.height.value_or(tip_height);
  if (height > tip_height) {
    return Error{Code::invalid_field, "height " + std::to_string(height) + " is above the tip " + std::to_string(tip_height)};
  }
  if (iso_date(query.month_first_day).substr(8) != "01") {
    return Error{Code::invalid_field, iso_date(query.month_first_day) + " is not the first day of a month"};
  }

  Statement s;
  s.chain_id = genesis.chain_id;
  s.genesis_hash = genesis.hash();
  s.partner = partner->id;
  s.partner_name = partner->name;
  s.terms = *billing.of(partner->id);
  s.currency = billing.currency;
  s.currency_minor_digits = billing.currency_minor_digits;
  s.month_first_day = query.month_first_day;
  const Day next_month = next_period_start(query.month_first_day, ReportPeriod::month);
  s.month_last_day = next_month - 1;
  s.period_start_ms = std::uint64_t{query.month_first_day} * ms_per_utc_day;
  s.period_end_ms = std::uint64_t{next_month} * ms_per_utc_day;
  s.computed_height = height;
  s.computed_block_id = s.genesis_hash;
  s.computed_block_time_ms = genesis.genesis_time_ms;
  if (height > 0) {
    auto tip_block = blocks(height);
    if (!tip_block) return tip_block.error();
    s.computed_block_id = tip_block->header.hash();
    s.computed_block_time_ms = tip_block->header.time_ms;
  }

  // Replay: the counters before the period's first block and after its last one.
  ledger::State state(genesis);
  std::optional<Counters> start;
  std::optional<Counters> end;
  for (std::uint64_t h = 1; h <= height; ++h) {
    auto block = blocks(h);
    if (!block) return block.error();
    const std::uint64_t time_ms = block->header.time_ms;
    if (!start && time_ms >= s.period_start_ms) start = counters_of(state, s.partner);
    if (time_ms >= s.period_end_ms) {
      end = counters_of(state, s.partner);
      s.period_complete = true;
      break;
    }
    auto changes = ledger::execute_block(state, *block, ledger::SignatureCheck::already_verified);
    if (!changes) return Error{Code::corruption, "block " + std::to_string(h) + " does not execute: " + changes.error().message()};
    if (start) {
      if (!s.first_height) s.first_height = h;
      s.last_height = h;
      for (const ledger::Transaction& tx : block->transactions) {
        const auto* top_up = std::get_if<ledger::PrepaidTopUp>(&tx.fields().body);
        if (top_up == nullptr || top_up->partner != s.partner) continue;
        auto fee = money_of_points(top_up->points, s.terms.price_per_1000_points_minor);
        if (!fee) return fee.error();
        s.top_ups.push_back({h, tx.id(), top_up->reference, top_up->points, *fee});
      }
    }
    state.apply(std::move(changes).value());
  }
  if (!start) start = counters_of(state, s.partner);
  if (!end) end = counters_of(state, s.partner);

  const ledger::PartnerStats& before = start->partner;
  const ledger::PartnerStats& after = end->partner;
  s.issued = after.issued - before.issued;
  s.reversed = after.reversed - before.reversed;
  s.expired = after.expired - before.expired;
  s.redeemed_at = after.redeemed_at - before.redeemed_at;
  s.issued_redeemed = after.issued_redeemed - before.issued_redeemed;
  std::map<std::pair<PartnerId, PartnerId>, std::uint64_t> period_matrix;
  for (const auto& [key, points] : end->settlement) {
    const std::uint64_t in_period = points - cell(start->settlement, key.first, key.second);
    if (in_period == 0) continue;
    period_matrix[key] = in_period;
    s.matrix.push_back({key.first, key.second, in_period});
  }
  for (const ledger::Partner& other : genesis.partners) {
    if (other.id == s.partner) continue;
    Counterparty line;
    line.partner = other.id;
    line.name = other.name;
    line.points_redeemed_there = cell(period_matrix, s.partner, other.id);
    line.points_redeemed_here = cell(period_matrix, other.id, s.partner);
    line.payable_rate_per_1000_minor = point_value_per_1000_minor(billing, s.partner);
    line.receivable_rate_per_1000_minor = point_value_per_1000_minor(billing, other.id);
    auto payable = money_of_points(line.points_redeemed_there, line.payable_rate_per_1000_minor);
    if (!payable) return payable.error();
    auto receivable = money_of_points(line.points_redeemed_here, line.receivable_rate_per_1000_minor);
    if (!receivable) return receivable.error();
    line.payable_minor = *payable;
    line.receivable_minor = *receivable;
    line.net_minor = static_cast<std::int64_t>(*receivable) - static_cast<std::int64_t>(*payable);
    if (__builtin_add_overflow(s.net_minor, line.net_minor, &s.net_minor)) {
      return Error{Code::overflow, "the net position passes 2^63 - 1 minor units"};
    }
    s.counterparties.push_back(std::move(line));
  }
  if (s.terms.plan == ledger::BillingPlan::postpaid) {
    s.fee_points = s.issued;
    auto fees = money_of_points(s.issued, s.terms.price_per_1000_points_minor);
    if (!fees) return fees.error();
    s.fees_minor = *fees;
  } else {
    for (const TopUpLine& line : s.top_ups) {
      // Top-ups are bounded by the prepaid balance (a u64) and fees each by 2^63 - 1.
      if (__builtin_add_overflow(s.fee_points, line.points, &s.fee_points) ||
          __builtin_add_overflow(s.fees_minor, line.fee_minor, &s.fees_minor) || s.fees_minor > INT64_MAX) {
        return Error{Code::overflow, "the period's top-up fees pass 2^63 - 1 minor units"};
      }
    }
    s.prepaid_balance_start = start->prepaid_balance;
    s.prepaid_balance_end = end->prepaid_balance;
  }
  return s;
}

std::string statement_canonical_json(const Statement& statement) {
  // nlohmann's objects are std::maps: keys come out sorted, and dump() without an indent
  // writes no whitespace. Names are UTF-8 without control characters (genesis rules).
  return canonical_object(statement).dump();
}

std::string statement_content_hash(const Statement& statement) {
  const std::string canonical = statement_canonical_json(statement);
  return to_hex(crypto::sha256(as_bytes(canonical)));
}

Json statement_json(const Statement& statement) {
  Json json = canonical_object(statement);
  json["content_hash"] = statement_content_hash(statement);
  return json;
}

std::string statement_csv(const Statement& s) {
  const unsigned digits = s.currency_minor_digits;
  std::string out;
  const auto row = [&](std::string_view section, std::string_view item, std::string partner, std::string counterparty,
                       std::string points, std::optional<std::int64_t> money_minor, std::string text) {
    const std::vector<std::string> fields = {
        std::string(section),
        std::string(item),
        std::move(partner),
        std::move(counterparty),
        std::move(points),
        money_minor ? std::to_string(*money_minor) : std::string(),
        money_minor ? signed_decimal_text(*money_minor, digits) : std::string(),
        money_minor ? s.currency : std::string(),
        std::move(text)};
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) out += ',';
      out += csv_field(fields[i]);
    }
    out += "\r\n";
  };
  const auto number = [](std::uint64_t value) { return std::to_string(value); };
  const auto money = [](std::uint64_t minor) { return std::optional<std::int64_t>(static_cast<std::int64_t>(minor)); };
  const std::string self = number(s.partner);
  const auto height_text = [](const std::optional<std::uint64_t>& h) { return h ? std::to_string(*h) : std::string(); };

  out += "section,item,partner,counterparty,points,money_minor,money,currency,text\r\n";
  row("statement", "format_version", "", "", "", std::nullopt, number(statement_format_version));
  row("statement", "chain_id", "", "", "", std::nullopt, s.chain_id);
  row("statement", "genesis_hash", "", "", "", std::nullopt, to_hex(s.genesis_hash));
  row("statement", "partner", self, "", "", std::nullopt, s.partner_name);
  row("statement", "month", "", "", "", std::nullopt, month_text(s.month_first_day));
  row("statement", "first_day", "", "", "", std::nullopt, iso_date(s.month_first_day));
  row("statement", "last_day", "", "", "", std::nullopt, iso_date(s.month_last_day));
  row("statement", "time_zone", "", "", "", std::nullopt, "UTC");
  row("statement", "complete", "", "", "", std::nullopt, s.period_complete ? "true" : "false");
  row("statement", "first_height", "", "", "", std::nullopt, height_text(s.first_height));
  row("statement", "last_height", "", "", "", std::nullopt, height_text(s.last_height));
  row("statement", "computed_height", "", "", "", std::nullopt, number(s.computed_height));
  row("statement", "computed_block_id", "", "", "", std::nullopt, to_hex(s.computed_block_id));
  row("statement", "valuation", "", "", "", std::nullopt, "issuer_billing_price");
  row("points", "issued", self, "", number(s.issued), std::nullopt, "");
  row("points", "reversed", self, "", number(s.reversed), std::nullopt, "");
  row("points", "expired", self, "", number(s.expired), std::nullopt, "");
  row("points", "redeemed_at_partner", self, "", number(s.redeemed_at), std::nullopt, "");
  row("points", "partner_points_redeemed", self, "", number(s.issued_redeemed), std::nullopt, "");
  for (const MatrixCell& c : s.matrix) {
    row("matrix", "redeemed", number(c.issuer), number(c.redeemer), number(c.points), std::nullopt, "");
  }
  for (const Counterparty& c : s.counterparties) {
    const std::string other = number(c.partner);
    row("settlement", "payable", self, other, number(c.points_redeemed_there), money(c.payable_minor),
        number(c.payable_rate_per_1000_minor));
    row("settlement", "receivable", self, other, number(c.points_redeemed_here), money(c.receivable_minor),
        number(c.receivable_rate_per_1000_minor));
    row("settlement", "net", self, other, "", c.net_minor, c.name);
  }
  row("settlement", "net_total", self, "", "", s.net_minor, "");
  for (const TopUpLine& t : s.top_ups) {
    row("fee", "top_up", self, "", number(t.points), money(t.fee_minor), number(t.height) + " " + to_hex(t.tx_id) + " " + t.reference);
  }
  row("fee", "total", self, "", number(s.fee_points), money(s.fees_minor),
      std::string(ledger::billing_plan_name(s.terms.plan)) + " " + number(s.terms.price_per_1000_points_minor));
  if (s.prepaid_balance_start) {
    row("prepaid", "balance_start", self, "", number(*s.prepaid_balance_start), std::nullopt, "");
    row("prepaid", "balance_end", self, "", number(*s.prepaid_balance_end), std::nullopt, "");
  }
  row("statement", "content_hash", "", "", "", std::nullopt, statement_content_hash(s));
  return out;
}

ledger::Result<StatementQuery> parse_statement_query(const StatementQueryText& text) {
  StatementQuery query;
  const auto number = [](std::string_view digits, std::uint64_t max) -> std::optional<std::uint64_t> {
    if (digits.empty() || digits.size() > 20) return std::nullopt;
    std::uint64_t value = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      const auto digit = static_cast<std::uint64_t>(c - '0');
      if (value > (max - digit) / 10) return std::nullopt;
      value = value * 10 + digit;
    }
    return value;
  };
  const auto partner = number(text.partner, 65'535);
  if (!partner || *partner == 0) return Error{Code::invalid_field, "partner: must be a partner id from 1 to 65535"};
  query.partner = static_cast<PartnerId>(*partner);
  const auto month = parse_statement_month(text.month);
  if (!month) return Error{Code::invalid_field, "period: \"" + text.month + "\" is not a month YYYY-MM from 1970 to 9999"};
  query.month_first_day = *month;
  if (text.height) {
    const auto height = number(*text.height, UINT64_MAX);
    if (!height) return Error{Code::invalid_field, "height: must be a block height"};
    query.height = *height;
  }
  return query;
}

int run_statement(const std::filesystem::path& data_dir, const StatementQueryText& text, std::string_view format,
                  std::ostream& out, std::ostream& err) {
  if (format != "json" && format != "csv") {
    err << "statement: --format must be json or csv\n";
    return statement_exit_unusable;
  }
  auto query = parse_statement_query(text);
  if (!query) {
    err << "statement: " << query.error().message() << "\n";
    return statement_exit_refused;
  }
  auto genesis = ledger::load_genesis_file(data_dir / "genesis.json");
  if (!genesis) {
    err << "statement: " << genesis.error() << "\n";
    return statement_exit_unusable;
  }
  auto store = ledger::ChainStore::open(data_dir / "chain", *genesis, ledger::ChainStore::Mode::raw);
  if (!store) {
    const std::string message = store.error().message();
    err << "statement: cannot read " << (data_dir / "chain").string() << ": " << message
        << (message.find("lock") != std::string::npos ? " (is a node running on this data dir? ask it with get_statement)"
                                                      : "")
        << "\n";
    return statement_exit_unusable;
  }
  const ledger::ChainStore& chain = **store;
  auto statement = compute_statement(*genesis, *query, chain.tip().height,
                                     [&chain](std::uint64_t height) { return chain.block_at(height); });
  if (!statement) {
    err << "statement: " << statement.error().message() << "\n";
    return statement_exit_refused;
  }
  if (format == "json") {
    out << statement_json(*statement).dump() << "\n";
  } else {
    out << statement_csv(*statement);
  }
  return statement_exit_ok;
}

}  // namespace pc::node
