// Settlement statements (docs/billing.md): on a generated chain of three partners (post-paid,
// prepaid, free), every figure of every partner's monthly statement equals a straightforward
// recount from the raw blocks, and the statement's bytes and content hash are reproducible.
#include <catch2/catch.hpp>

#include <deque>
#include <map>
#include <random>

#include "crypto/hash.hpp"
#include "node/statement.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc;
using ledger::BillingPlan;
using ledger::PartnerId;
using pc::test::TestChain;
using pc::test::TxFactory;

constexpr int customer_count = 5;
constexpr std::uint64_t half_day_ms = 43'200'000;

ledger::BillingTerms statement_billing() {
  const ledger::Genesis plain = pc::test::make_genesis();
  ledger::BillingTerms billing = ledger::no_charge_billing(plain.partners, TxFactory::billing_key().public_key());
  billing.partners[0].price_per_1000_points_minor = 250;
  billing.partners[1] = {2, BillingPlan::prepaid, 200, 1'000};
  return billing;
}

pc::test::GenesisOptions statement_options() {
  pc::test::GenesisOptions options;
  options.protocol_version = 4;
  options.billing = statement_billing();
  return options;
}

// Builds a chain of `blocks` blocks 12 hours apart (from 2023-11-15 on) of random issues and
// redemptions; partner 2 (prepaid) is topped up whenever it would run out.
void generate_chain(TestChain& chain, std::uint64_t seed, int blocks) {
  std::mt19937_64 random(seed);
  std::map<int, std::uint64_t> balance;  // the generator's own view, to pick valid redemptions
  for (int customer = 1; customer <= customer_count; ++customer) {
    const ledger::Account* account = chain.state().account(TxFactory::customer(customer).public_key());
    balance[customer] = account == nullptr ? 0 : account->balance();
  }
  std::uint64_t prepaid = chain.state().prepaid(2)->balance_points;
  int order = 0;
  int invoice = 0;
  for (int b = 0; b < blocks; ++b) {
    std::vector<ledger::Transaction> txs;
    const int count = 1 + static_cast<int>(random() % 4);
    for (int i = 0; i < count; ++i) {
      const int customer = 1 + static_cast<int>(random() % customer_count);
      const auto partner = static_cast<PartnerId>(1 + random() % 3);
      if (random() % 3 != 0 || balance[customer] == 0) {
        const std::uint64_t points = 1 + random() % 400;
        if (partner == 2 && prepaid < points) {
          txs.push_back(chain.txs.prepaid_top_up(2, 2'000, "INV-" + std::to_string(seed) + "-" + std::to_string(++invoice)));
          prepaid += 2'000;
        }
        if (partner == 2) prepaid -= points;
        txs.push_back(chain.txs.issue(partner, TxFactory::customer(customer).public_key(), points,
                                      "order-" + std::to_string(seed) + "-" + std::to_string(++order)));
        balance[customer] += points;
      } else {
        const std::uint64_t points = 1 + random() % balance[customer];
        txs.push_back(chain.txs.redeem(TxFactory::customer(customer), partner, points));
        balance[customer] -= points;
      }
    }
    chain.commit_all(txs, half_day_ms);
  }
}

struct Lot {
  PartnerId partner;
  std::uint64_t points;
};

// What a statement should say, recounted from the blocks with nothing but a queue of lots per
// customer (no pending days, no expiry, no transfers: a redemption takes the oldest points).
struct Recount {
  std::map<PartnerId, std::uint64_t> issued;
  std::map<std::pair<PartnerId, PartnerId>, std::uint64_t> matrix;
  std::map<PartnerId, std::uint64_t> redeemed_at;
  std::vector<std::pair<std::uint64_t, ledger::PrepaidTopUp>> top_ups;  // height, body
  std::uint64_t prepaid_start = 0;
  std::uint64_t prepaid_end = 0;
  std::optional<std::uint64_t> first_height;
  std::optional<std::uint64_t> last_height;
  bool complete = false;
};

Recount recount(const ledger::ChainStore& store, std::uint64_t start_ms, std::uint64_t end_ms) {
  Recount result;
  std::map<crypto::PublicKey, std::deque<Lot>> lots;
  std::uint64_t prepaid = 1'000;
  bool started = false;
  for (std::uint64_t h = 1; h <= store.tip().height; ++h) {
    auto block = store.block_at(h);
    REQUIRE(block.ok());
    const std::uint64_t time_ms = block->header.time_ms;
    if (time_ms >= end_ms) {
      result.complete = true;
      break;
    }
    if (!started && time_ms >= start_ms) {
      started = true;
      result.prepaid_start = prepaid;
    }
    for (const ledger::Transaction& tx : block->transactions) {
      const ledger::TxBody& body = tx.fields().body;
      if (const auto* issue = std::get_if<ledger::Issue>(&body)) {
        lots[issue->customer].push_back({issue->partner, issue->points});
        if (issue->partner == 2) prepaid -= issue->points;
        if (started) result.issued[issue->partner] += issue->points;
      } else if (const auto* redeem = std::get_if<ledger::Redeem>(&body)) {
        std::uint64_t needed = redeem->points;
        auto& queue = lots[redeem->customer];
        while (needed > 0) {
          REQUIRE_FALSE(queue.empty());
          const std::uint64_t taken = std::min(needed, queue.front().points);
          if (started) result.matrix[{queue.front().partner, redeem->partner}] += taken;
          queue.front().points -= taken;
          needed -= taken;
          if (queue.front().points == 0) queue.pop_front();
        }
        if (started) result.redeemed_at[redeem->partner] += redeem->points;
      } else if (const auto* top_up = std::get_if<ledger::PrepaidTopUp>(&body)) {
        prepaid += top_up->points;
        if (started) result.top_ups.emplace_back(h, *top_up);
      }
    }
    if (started) {
      if (!result.first_height) result.first_height = h;
      result.last_height = h;
    }
  }
  if (!started) result.prepaid_start = prepaid;
  result.prepaid_end = prepaid;
  return result;
}

std::uint64_t value_or_zero(const std::map<std::pair<PartnerId, PartnerId>, std::uint64_t>& map, PartnerId a, PartnerId b) {
  auto found = map.find({a, b});
  return found == map.end() ? 0 : found->second;
}

ledger::Result<node::Statement> statement_of(TestChain& chain, PartnerId partner, std::string_view month,
                                              std::optional<std::uint64_t> height = std::nullopt) {
  const ledger::ChainStore& store = chain.store();
  node::StatementQuery query{partner, *node::parse_statement_month(month), height};
  return node::compute_statement(chain.genesis(), query, store.tip().height,
                                 [&store](std::uint64_t h) { return store.block_at(h); });
}

}  // namespace

TEST_CASE("every statement figure equals a recount from the raw blocks", "[node][statement]") {
  // Proves, for each partner and for a complete month (2023-12) and the month still running at
  // the tip (2024-01), that issued points, the period's settlement matrix, what each pair owes
  // at the issuer's price, the fees (post-paid on points issued, prepaid on top-ups) and the
  // prepaid balances are what a plain recount of the blocks gives.
  const std::uint64_t seed = GENERATE(as<std::uint64_t>{}, 1, 2, 3);
  INFO("seed " << seed);
  TestChain chain(statement_options());
  generate_chain(chain, seed, 120);  // 2023-11-15 to 2024-01-14
  const ledger::BillingTerms billing = statement_billing();

  for (const std::string month : {"2023-12", "2024-01"}) {
    INFO("month " << month);
    const node::Day first_day = *node::parse_statement_month(month);
    const std::uint64_t start_ms = std::uint64_t{first_day} * node::ms_per_utc_day;
    const std::uint64_t end_ms =
        std::uint64_t{node::next_period_start(first_day, node::ReportPeriod::month)} * node::ms_per_utc_day;
    const Recount expected = recount(chain.store(), start_ms, end_ms);
    REQUIRE(expected.first_height.has_value());
    for (PartnerId partner = 1; partner <= 3; ++partner) {
      INFO("partner " << partner);
      auto statement = statement_of(chain, partner, month);
      REQUIRE(statement.ok());
      const node::Statement& s = *statement;
      CHECK(s.period_start_ms == start_ms);
      CHECK(s.period_end_ms == end_ms);
      CHECK(s.period_complete == expected.complete);
      CHECK(s.first_height == expected.first_height);
      CHECK(s.last_height == expected.last_height);
      CHECK(s.computed_height == chain.store().tip().height);
      CHECK(s.computed_block_id == chain.store().tip().block_hash);
      CHECK(s.issued == (expected.issued.contains(partner) ? expected.issued.at(partner) : 0));
      CHECK(s.redeemed_at == (expected.redeemed_at.contains(partner) ? expected.redeemed_at.at(partner) : 0));

      std::map<std::pair<PartnerId, PartnerId>, std::uint64_t> matrix;
      for (const node::MatrixCell& cell : s.matrix) matrix[{cell.issuer, cell.redeemer}] = cell.points;
      CHECK(matrix == expected.matrix);

      std::int64_t net = 0;
      REQUIRE(s.counterparties.size() == 2);
      for (const node::Counterparty& line : s.counterparties) {
        const PartnerId other = line.partner;
        const std::uint64_t there = value_or_zero(expected.matrix, partner, other);
        const std::uint64_t here = value_or_zero(expected.matrix, other, partner);
        const std::uint64_t payable = there * billing.of(partner)->price_per_1000_points_minor / 1000;
        const std::uint64_t receivable = here * billing.of(other)->price_per_1000_points_minor / 1000;
        CHECK(line.points_redeemed_there == there);
        CHECK(line.points_redeemed_here == here);
        CHECK(line.payable_minor == payable);
        CHECK(line.receivable_minor == receivable);
        CHECK(line.net_minor == static_cast<std::int64_t>(receivable) - static_cast<std::int64_t>(payable));
        net += line.net_minor;
      }
      CHECK(s.net_minor == net);

      if (partner == 2) {
        std::uint64_t bought = 0;
        REQUIRE(s.top_ups.size() == expected.top_ups.size());
        for (std::size_t i = 0; i < s.top_ups.size(); ++i) {
          CHECK(s.top_ups[i].height == expected.top_ups[i].first);
          CHECK(s.top_ups[i].reference == expected.top_ups[i].second.reference);
          CHECK(s.top_ups[i].points == expected.top_ups[i].second.points);
          CHECK(s.top_ups[i].fee_minor == expected.top_ups[i].second.points / 1000 * 200);
          bought += expected.top_ups[i].second.points;
        }
        CHECK(s.fee_points == bought);
        CHECK(s.fees_minor == bought / 1000 * 200);
        CHECK(s.prepaid_balance_start == expected.prepaid_start);
        CHECK(s.prepaid_balance_end == expected.prepaid_end);
      } else {
        CHECK(s.top_ups.empty());
        CHECK(s.fee_points == s.issued);
        CHECK(s.fees_minor == s.issued * billing.of(partner)->price_per_1000_points_minor / 1000);
        CHECK_FALSE(s.prepaid_balance_start.has_value());
      }
    }
  }
}

TEST_CASE("a statement's bytes and content hash are reproducible at its height", "[node][statement]") {
  // Proves that the content hash is SHA-256 of the canonical JSON without it, that computing
  // again at the same height after more blocks gives the same bytes (JSON and CSV), and that a
  // statement at the new tip differs only where the height and block id are printed.
  TestChain chain(statement_options());
  generate_chain(chain, 7, 100);
  const std::uint64_t height = chain.store().tip().height;
  auto first = statement_of(chain, 1, "2023-12");
  REQUIRE(first.ok());
  const nlohmann::json json = node::statement_json(*first);
  nlohmann::json without_hash = json;
  without_hash.erase("content_hash");
  CHECK(json.at("content_hash") == to_hex(crypto::sha256(as_bytes(without_hash.dump()))));
  CHECK(node::statement_canonical_json(*first) == without_hash.dump());
  const std::string csv = node::statement_csv(*first);
  CHECK(csv.starts_with("section,item,partner,counterparty,points,money_minor,money,currency,text\r\n"));
  CHECK(csv.ends_with("statement,content_hash,,,,,,," + json.at("content_hash").get<std::string>() + "\r\n"));

  generate_chain(chain, 8, 20);
  auto again = statement_of(chain, 1, "2023-12", height);
  REQUIRE(again.ok());
  CHECK(node::statement_json(*again).dump() == json.dump());
  CHECK(node::statement_csv(*again) == csv);

  auto at_tip = statement_of(chain, 1, "2023-12");
  REQUIRE(at_tip.ok());
  CHECK(at_tip->computed_height == height + 20);
  node::Statement same_figures = *at_tip;
  same_figures.computed_height = first->computed_height;
  same_figures.computed_block_id = first->computed_block_id;
  same_figures.computed_block_time_ms = first->computed_block_time_ms;
  CHECK(same_figures == *first);
}

TEST_CASE("a statement is refused for an unknown partner, a height above the tip or a chain without billing",
          "[node][statement]") {
  // Proves the typed refusals of compute_statement and of the query parser.
  TestChain chain(statement_options());
  generate_chain(chain, 9, 3);
  CHECK(statement_of(chain, 9, "2023-11").error().code == ledger::Code::unknown_partner);
  CHECK(statement_of(chain, 1, "2023-11", 4).error().code == ledger::Code::invalid_field);
  CHECK(node::parse_statement_query({"1", "2023-13", std::nullopt}).error().code == ledger::Code::invalid_field);
  CHECK(node::parse_statement_query({"0", "2023-11", std::nullopt}).error().code == ledger::Code::invalid_field);
  CHECK(node::parse_statement_query({"1", "2023-11", std::string("x")}).error().code == ledger::Code::invalid_field);

  TestChain version_3(pc::test::GenesisOptions{3, {}, 0, true, 0, 3});
  const ledger::ChainStore& store = version_3.store();
  auto refused = node::compute_statement(version_3.genesis(), {1, *node::parse_statement_month("2023-11"), std::nullopt},
                                         0, [&store](std::uint64_t h) { return store.block_at(h); });
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ledger::Code::invalid_field);
}
