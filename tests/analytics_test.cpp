// The analytics index (node/analytics_index.hpp) and its reports: figures over a generated
// chain against a plain recount from the raw blocks, the index rebuilt after deletion, the
// typed errors, and the report formats (docs/analytics.md).
#include <catch2/catch.hpp>
#include <leveldb/db.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "ledger/chain.hpp"
#include "node/analytics_index.hpp"
#include "node/report_command.hpp"
#include "tests/fixtures.hpp"

namespace pc::test {
namespace {

using node::Day;
using node::ReportPeriod;
using node::ReportQuery;

constexpr std::uint32_t expiry_days = 30;
constexpr int customer_count = 14;
constexpr ledger::PartnerId partner_count = 3;
const std::vector<std::string> reward_names = {"Free coffee", "Cinema, 2 tickets", "The \"big\" hamper",
                                               "Tea; milk, sugar", "Spa day", "Book", "Mug", "Umbrella"};

// Each partner's catalog: rewards 1 and 2, costing 10 × id + partner points a unit at first.
constexpr std::uint32_t catalog_rewards = 2;
// Every partner takes points for payments at 1 EUR cent a point.
const ledger::PointValue cent_a_point{"EUR", 1, 1};

// A chain of about 90 days: issuances for every reason (purchases with amounts), redemptions
// of varied rewards, catalog redemptions, payments with points, transfers, reversals, and
// expiry, from a seeded generator. At block 41, partner 1 renames and reprices its catalog reward 1.
struct GeneratedChain {
  TestChain chain{GenesisOptions{partner_count, {}, expiry_days, true, 0, 4}};
  std::vector<crypto::SecretKey> customers;
  std::vector<std::pair<ledger::PartnerId, std::string>> reversible;  // not yet reversed
  std::map<std::pair<ledger::PartnerId, std::uint32_t>, std::string> catalog_names;  // as last published
  std::map<std::pair<ledger::PartnerId, std::uint32_t>, std::uint64_t> catalog_costs;  // in force

  ledger::Transaction publish(ledger::PartnerId partner, std::uint32_t reward_id, std::string name,
                              std::uint64_t cost_points) {
    ledger::RewardTerms terms;
    terms.name = name;
    terms.cost_points = cost_points;
    catalog_names[{partner, reward_id}] = std::move(name);
    catalog_costs[{partner, reward_id}] = cost_points;
    return chain.txs.publish_reward(partner, reward_id, terms);
  }

  // `blocks` in all, the catalogs' first.
  explicit GeneratedChain(std::uint32_t seed, int blocks = 160) {
    for (int i = 0; i < customer_count; ++i) customers.push_back(TxFactory::customer(i));
    std::vector<ledger::Transaction> catalogs;
    for (ledger::PartnerId partner = 1; partner <= partner_count; ++partner) {
      for (std::uint32_t id = 1; id <= catalog_rewards; ++id) {
        catalogs.push_back(
            publish(partner, id, "Partner " + std::to_string(partner) + ", reward " + std::to_string(id), 10 * id + partner));
      }
      catalogs.push_back(chain.txs.set_point_value(partner, cent_a_point));
    }
    chain.commit_all(catalogs, 3'600'000);
    std::mt19937 random(seed);
    const auto pick = [&](std::uint64_t below) { return std::uniform_int_distribution<std::uint64_t>(0, below - 1)(random); };
    int reference = 0;
    for (int b = 1; b < blocks; ++b) {  // after the catalogs' block
      // From 1 hour to 30 hours later: several blocks on some days, none on others.
      const std::uint64_t advance_ms = (1 + pick(30)) * 3'600'000;
      const std::uint64_t block_time = chain.store().tip().time_ms + advance_ms;
      std::vector<ledger::Transaction> txs;
      std::set<int> busy;  // a customer signs or loses points at most once per block
      const std::uint64_t tx_count = 1 + pick(6);
      for (std::uint64_t t = 0; t < tx_count; ++t) {
        const int who = static_cast<int>(pick(customer_count));
        const crypto::PublicKey key = customers[static_cast<std::size_t>(who)].public_key();
        const std::uint64_t action = pick(10);
        const auto partner = static_cast<ledger::PartnerId>(1 + pick(partner_count));
        if (action < 5) {
          const auto reason = static_cast<ledger::Reason>(1 + pick(node::reason_count));
          const std::uint64_t points = 1 + pick(500);
          std::optional<ledger::Purchase> purchase;
          if (reason == ledger::Reason::purchase) {
            purchase = ledger::Purchase{static_cast<std::int64_t>(points * 100 + pick(100)), "EUR"};
          }
          std::string ref = "order-" + std::to_string(reference++);
          txs.push_back(chain.txs.issue_for(partner, key, points, ref, reason, purchase));
          reversible.emplace_back(partner, ref);
        } else if (action < 8 && !busy.contains(who)) {
          const std::uint64_t spendable = spendable_at(key, block_time);
          if (spendable == 0) continue;
          busy.insert(who);
          const std::uint64_t points = 1 + pick(spendable);
          const crypto::SecretKey& customer = customers[static_cast<std::size_t>(who)];
          const std::uint64_t kind = pick(4);
          const auto reward_id = static_cast<std::uint32_t>(1 + pick(catalog_rewards));
          const std::uint64_t cost = catalog_costs.at({partner, reward_id});
          if (action < 7 && kind == 2 && spendable >= cost) {
            const std::uint64_t units = 1 + pick(std::min<std::uint64_t>(3, spendable / cost));
            txs.push_back(chain.txs.redeem_reward(customer, partner, reward_id, static_cast<std::uint16_t>(units)));
          } else if (action < 7 && kind == 3) {
            const auto request = chain.txs.payment_request(partner, "till-" + std::to_string(reference++), points,
                                                           "EUR", points, block_time);
            txs.push_back(chain.txs.pay_with_points(customer, request));
          } else if (action < 7) {
            txs.push_back(chain.txs.redeem(customer, partner, points, reward_names[pick(reward_names.size())]));
          } else {
            const int to = static_cast<int>((static_cast<std::uint64_t>(who) + 1 + pick(customer_count - 1)) % customer_count);
            txs.push_back(chain.txs.transfer(customers[static_cast<std::size_t>(who)],
                                             customers[static_cast<std::size_t>(to)].public_key(), points));
          }
        } else if (action == 9 && !reversible.empty()) {
          const std::size_t index = pick(reversible.size());
          const auto [issuer, ref] = reversible[index];
          const ledger::IssuanceRecord* issued = chain.state().issuance(issuer, ref);
          if (issued == nullptr) continue;  // issued in this very block
          const auto owner = std::find_if(customers.begin(), customers.end(), [&](const crypto::SecretKey& customer) {
            return customer.public_key() == issued->customer;
          });
          const int owner_index = static_cast<int>(owner - customers.begin());
          if (busy.contains(owner_index)) continue;
          busy.insert(owner_index);
          txs.push_back(chain.txs.reverse(issuer, ref));
          reversible.erase(reversible.begin() + static_cast<std::ptrdiff_t>(index));
        }
      }
      // Last in its block: the block's own redemptions of it were at the old price.
      if (b == 40) txs.push_back(publish(1, 1, "Partner 1, reward 1 (renamed)", 17));
      chain.commit_all(txs, advance_ms);
    }
  }

  // Spendable at `time_ms` in the next block: expired lots go before its transactions.
  std::uint64_t spendable_at(const crypto::PublicKey& key, std::uint64_t time_ms) const {
    const ledger::Account* account = chain.state().account(key);
    if (account == nullptr) return 0;
    std::uint64_t points = 0;
    for (const ledger::Lot& lot : account->lots) {
      if (lot.spendable_at_ms <= time_ms && lot.earned_at_ms + expiry_days * node::ms_per_utc_day > time_ms) {
        points += lot.points;
      }
    }
    return points;
  }
};

// What a report should say, counted the plain way: every block read back from the store and
// replayed, issuances and redemptions read off its transactions, expiry and reversal off its
// events, issuer redemptions off the settlement matrix, and the liability as the points left
// in the customers' lots at each day's end.
struct Recount {
  // A top_rewards line's kind, text (a Redeem's), partner and id (a catalog reward's).
  using RewardKey = std::tuple<node::RewardKind, std::string, ledger::PartnerId, std::uint32_t>;
  struct Day_ {
    node::Figures figures;
    std::map<RewardKey, std::pair<std::uint64_t, std::uint64_t>> rewards;
    std::set<crypto::PublicKey> active;
  };
  std::map<std::pair<ledger::PartnerId, std::uint32_t>, std::string> catalog_names;
  std::map<std::pair<ledger::PartnerId, std::uint32_t>, std::uint64_t> costs;  // in force, as replayed
  std::uint64_t redeemed_after_reprice = 0;  // RedeemRewards of partner 1's reward 1 at its new cost
  // scope -> day -> what happened; scope -> day -> liability at its end (days with a block).
  std::map<ledger::PartnerId, std::map<Day, Day_>> days;
  std::map<ledger::PartnerId, std::map<Day, std::uint64_t>> liability;
  std::map<ledger::PartnerId, std::map<crypto::PublicKey, Day>> first_day;
  std::map<std::pair<ledger::PartnerId, std::string>, std::uint64_t> issued_points;

  explicit Recount(GeneratedChain& generated) : catalog_names(generated.catalog_names) {
    const ledger::ChainStore& store = generated.chain.store();
    ledger::State state(store.genesis());
    for (std::uint64_t height = 1; height <= store.tip().height; ++height) {
      auto block = store.block_at(height);
      REQUIRE(block.ok());
      const Day day = node::day_of_ms(block->header.time_ms);
      auto settlement_before = state.settlement_matrix();
      auto changes = ledger::execute_block(state, *block, ledger::SignatureCheck::verify);
      REQUIRE(changes.ok());
      const std::vector<ledger::Event> events = changes->events;
      state.apply(std::move(changes).value());

      const auto redeemed = [&](ledger::PartnerId partner, const RewardKey& key, std::uint64_t points) {
        for (ledger::PartnerId scope : {partner, node::coalition_scope}) {
          Day_& entry = days[scope][day];
          entry.figures.redeemed_at += points;
          entry.figures.redemption_count += 1;
          entry.rewards[key].first += 1;
          entry.rewards[key].second += points;
        }
      };
      const auto active = [&](ledger::PartnerId partner, const crypto::PublicKey& key) {
        for (ledger::PartnerId scope : {partner, node::coalition_scope}) {
          days[scope][day].active.insert(key);
          if (first_day[scope].emplace(key, day).second) days[scope][day].figures.new_members += 1;
        }
      };
      for (const ledger::Transaction& tx : block->transactions) {
        if (const auto* issue = std::get_if<ledger::Issue>(&tx.fields().body)) {
          for (ledger::PartnerId scope : {issue->partner, node::coalition_scope}) {
            node::Figures& figures = days[scope][day].figures;
            figures.issued_by_reason[static_cast<std::size_t>(issue->reason) - 1] += issue->points;
            figures.issue_count += 1;
            if (issue->reason == ledger::Reason::purchase) figures.purchase_count += 1;
          }
          active(issue->partner, issue->customer);
          issued_points[{issue->partner, issue->reference}] = issue->points;
        } else if (const auto* redeem = std::get_if<ledger::Redeem>(&tx.fields().body)) {
          redeemed(redeem->partner, {node::RewardKind::redeem, redeem->reward, 0, 0}, redeem->points);
          active(redeem->partner, redeem->customer);
        } else if (const auto* published = std::get_if<ledger::PublishReward>(&tx.fields().body)) {
          costs[{published->partner, published->reward_id}] = published->terms.cost_points;
        } else if (const auto* reward = std::get_if<ledger::RedeemReward>(&tx.fields().body)) {
          redeemed(reward->partner, {node::RewardKind::catalog, "", reward->partner, reward->reward_id},
                   costs.at({reward->partner, reward->reward_id}) * reward->quantity);
          if (reward->partner == 1 && reward->reward_id == 1 && costs.at({1, 1}) == 17) redeemed_after_reprice += 1;
          active(reward->partner, reward->customer);
        } else if (const auto* pay = std::get_if<ledger::PayWithPoints>(&tx.fields().body)) {
          redeemed(pay->request.request.partner, {node::RewardKind::payment, "", 0, 0}, pay->request.request.points);
          active(pay->request.request.partner, pay->customer);
        } else if (const auto* reverse = std::get_if<ledger::Reverse>(&tx.fields().body)) {
          // What the Reverse could not take back: the issuance less what its event removed.
          const auto removed = std::find_if(events.begin(), events.end(), [&](const ledger::Event& event) {
            return event.kind == ledger::Event::Kind::reversed && event.tx_id == tx.id();
          });
          REQUIRE(removed != events.end());
          const std::uint64_t issued = issued_points.at({reverse->partner, reverse->reference});
          for (ledger::PartnerId scope : {reverse->partner, node::coalition_scope}) {
            days[scope][day].figures.reversal_shortfall += issued - removed->points;
          }
        }
      }
      for (const ledger::Event& event : events) {
        for (ledger::PartnerId scope : {event.partner, node::coalition_scope}) {
          if (event.kind == ledger::Event::Kind::expired) days[scope][day].figures.expired += event.points;
          if (event.kind == ledger::Event::Kind::reversed) days[scope][day].figures.reversed += event.points;
        }
      }
      for (const auto& [pair, points] : state.settlement_matrix()) {
        const std::uint64_t before = settlement_before.contains(pair) ? settlement_before.at(pair) : 0;
        for (ledger::PartnerId scope : {pair.first, node::coalition_scope}) {
          if (points > before) days[scope][day].figures.issued_redeemed += points - before;
        }
      }
      std::map<ledger::PartnerId, std::uint64_t> held;
      for (const crypto::SecretKey& customer : generated.customers) {
        if (const ledger::Account* account = state.account(customer.public_key())) {
          for (const ledger::Lot& lot : account->lots) {
            held[lot.partner] += lot.points;
            held[node::coalition_scope] += lot.points;
          }
        }
      }
      for (ledger::PartnerId scope = 0; scope <= partner_count; ++scope) liability[scope][day] = held[scope];
    }
  }

  std::uint64_t liability_at(ledger::PartnerId scope, Day day) const {
    const auto& by_day = liability.at(scope);
    auto after = by_day.upper_bound(day);
    return after == by_day.begin() ? 0 : std::prev(after)->second;
  }

  node::Report expected(const ReportQuery& query) const {
    const ledger::PartnerId scope = query.partner.value_or(node::coalition_scope);
    node::Report report;
    report.liability_start = query.from == 0 ? 0 : liability_at(scope, query.from - 1);
    const auto& scope_days = days.contains(scope) ? days.at(scope) : std::map<Day, Day_>{};
    const auto row = [&](Day first, Day last) {
      node::ReportRow out{first, last, {}, liability_at(scope, last), 0};
      std::set<crypto::PublicKey> active;
      for (const auto& [day, entry] : scope_days) {
        if (day >= first && day <= last) out.figures += entry.figures;
        if (day + node::active_window_days > last && day <= last) active.insert(entry.active.begin(), entry.active.end());
      }
      out.active_members = active.size();
      return out;
    };
    for (Day first = query.from; first <= query.to;) {
      const Day next = node::next_period_start(first, query.period);
      report.rows.push_back(row(first, std::min<Day>(next - 1, query.to)));
      first = next;
    }
    report.total = row(query.from, query.to);
    std::map<RewardKey, std::pair<std::uint64_t, std::uint64_t>> rewards;
    for (const auto& [day, entry] : scope_days) {
      if (day < query.from || day > query.to) continue;
      for (const auto& [key, sums] : entry.rewards) {
        rewards[key].first += sums.first;
        rewards[key].second += sums.second;
      }
    }
    std::vector<node::RewardLine> lines;
    for (const auto& [key, sums] : rewards) {
      const auto& [kind, text, partner, id] = key;
      std::string name = text;
      if (kind == node::RewardKind::catalog) name = catalog_names.at({partner, id});
      if (kind == node::RewardKind::payment) name = "payments with points";
      lines.push_back({kind, name, partner, id, sums.first, sums.second});
    }
    std::sort(lines.begin(), lines.end(), [](const auto& a, const auto& b) {
      return std::tie(b.points, b.count, a.reward, a.kind, a.partner, a.reward_id) <
             std::tie(a.points, a.count, b.reward, b.kind, b.partner, b.reward_id);
    });
    if (lines.size() > query.top_rewards) {
      node::RewardLine other{node::RewardKind::other, "other", 0, 0, 0, 0};
      for (std::size_t i = query.top_rewards; i < lines.size(); ++i) {
        other.count += lines[i].count;
        other.points += lines[i].points;
      }
      lines.resize(query.top_rewards);
      lines.push_back(other);
    }
    report.top_rewards = lines;
    return report;
  }
};

std::vector<ReportQuery> queries_over(GeneratedChain& generated) {
  const Day first = node::day_of_ms(generated.chain.genesis().genesis_time_ms);
  const Day last = node::day_of_ms(generated.chain.store().tip().time_ms);
  std::vector<ReportQuery> queries;
  for (std::optional<ledger::PartnerId> partner :
       {std::optional<ledger::PartnerId>(), std::optional<ledger::PartnerId>(1), std::optional<ledger::PartnerId>(2),
        std::optional<ledger::PartnerId>(3)}) {
    for (ReportPeriod period : {ReportPeriod::day, ReportPeriod::week, ReportPeriod::month}) {
      ReportQuery whole;
      whole.from = first - 3;  // before the chain starts: empty rows
      whole.to = last + 2;
      whole.partner = partner;
      whole.period = period;
      whole.top_rewards = 3;
      queries.push_back(whole);
      ReportQuery middle = whole;  // starts and ends mid-period, with a liability before it
      middle.from = first + 17;
      middle.to = first + 61;
      middle.top_rewards = node::report_top_rewards_default;
      queries.push_back(middle);
    }
  }
  return queries;
}

std::string describe(const node::Figures& f) {
  std::string text;
  for (std::uint64_t points : f.issued_by_reason) text += std::to_string(points) + " ";
  for (std::uint64_t value : {f.issue_count, f.purchase_count, f.redeemed_at, f.redemption_count, f.issued_redeemed,
                              f.expired, f.reversed, f.reversal_shortfall, f.new_members}) {
    text += std::to_string(value) + " ";
  }
  return text;
}

void check_report(const node::AnalyticsIndex& index, const Recount& recount, const ReportQuery& query) {
  auto report = index.report(query);
  REQUIRE(report.ok());
  const node::Report expected = recount.expected(query);
  INFO("partner " << (query.partner ? *query.partner : 0) << " " << node::iso_date(query.from) << ".."
                  << node::iso_date(query.to) << " by " << node::report_period_name(query.period));
  CHECK(report->liability_start == expected.liability_start);
  REQUIRE(report->rows.size() == expected.rows.size());
  for (std::size_t i = 0; i < expected.rows.size(); ++i) {
    INFO("row " << i << " " << node::iso_date(expected.rows[i].first) << ": " << describe(report->rows[i].figures)
                 << "/ expected " << describe(expected.rows[i].figures));
    CHECK(report->rows[i].figures == expected.rows[i].figures);
    CHECK(report->rows[i].liability_end == expected.rows[i].liability_end);
    CHECK(report->rows[i].active_members == expected.rows[i].active_members);
    CHECK(report->rows[i] == expected.rows[i]);
  }
  CHECK(report->total == expected.total);
  CHECK(report->top_rewards == expected.top_rewards);
}

}  // namespace

TEST_CASE("analytics figures agree with a plain recount from the raw blocks", "[analytics]") {
  // Proves that every figure of every report (per partner and coalition-wide, by day, week
  // and month, ranges clipped mid-period and reaching past the chain) equals a recount from
  // the stored blocks, for an index rebuilt from the chain and for one fed block by block.
  const std::uint32_t seed = GENERATE(1u, 2u);
  INFO("seed " << seed);
  GeneratedChain generated(seed);
  const Recount recount(generated);
  // The chain really has what the figures count.
  node::Figures sums;
  for (const auto& [day, entry] : recount.days.at(node::coalition_scope)) sums += entry.figures;
  REQUIRE(sums.expired > 0);
  REQUIRE(sums.reversed > 0);
  REQUIRE(sums.redemption_count > 0);
  REQUIRE(sums.issued_by_reason[5] > 0);
  std::set<node::RewardKind> kinds_redeemed;
  std::set<std::uint32_t> catalog_rewards_redeemed_at_1;  // partner 1's reward ids
  for (const auto& [day, entry] : recount.days.at(node::coalition_scope)) {
    for (const auto& [key, sums_of_key] : entry.rewards) {
      kinds_redeemed.insert(std::get<0>(key));
      if (std::get<0>(key) == node::RewardKind::catalog && std::get<2>(key) == 1) {
        catalog_rewards_redeemed_at_1.insert(std::get<3>(key));
      }
    }
  }
  REQUIRE(kinds_redeemed.size() == 3);
  REQUIRE(catalog_rewards_redeemed_at_1.contains(1));  // the renamed reward
  REQUIRE(recount.redeemed_after_reprice > 0);

  const node::AnalyticsIndex rebuilt(generated.chain.directory() / "analytics", generated.chain.store());
  CHECK(rebuilt.rebuilt());
  CHECK(rebuilt.indexed_height() == generated.chain.store().tip().height);
  for (const ReportQuery& query : queries_over(generated)) check_report(rebuilt, recount, query);
}

TEST_CASE("the leaderboard ranks members by points issued in the range, as a recount of the Issues says",
          "[analytics][leaderboard]") {
  // Proves get_leaderboard's figures: for the coalition and each partner, over the whole chain
  // and over a middle range, the members and their points equal a recount of the stored
  // blocks' Issues (returns not subtracted), in the order most points first and ties by key;
  // the limit cuts the list but not the member count; and the refusals are typed.
  GeneratedChain generated(3);
  const node::AnalyticsIndex index(generated.chain.directory() / "analytics", generated.chain.store());
  const ledger::ChainStore& store = generated.chain.store();
  std::map<ledger::PartnerId, std::map<Day, std::map<crypto::PublicKey, std::uint64_t>>> earned;
  for (std::uint64_t height = 1; height <= store.tip().height; ++height) {
    auto block = store.block_at(height);
    REQUIRE(block.ok());
    const Day day = node::day_of_ms(block->header.time_ms);
    for (const ledger::Transaction& tx : block->transactions) {
      if (const auto* issue = std::get_if<ledger::Issue>(&tx.fields().body)) {
        earned[issue->partner][day][issue->customer] += issue->points;
        earned[node::coalition_scope][day][issue->customer] += issue->points;
      }
    }
  }
  const Day first = node::day_of_ms(generated.chain.genesis().genesis_time_ms);
  const Day last = node::day_of_ms(store.tip().time_ms);
  for (ledger::PartnerId scope = 0; scope <= partner_count; ++scope) {
    for (const auto& [from, to] : {std::pair{first, last}, std::pair{first + 20, first + 40}}) {
      INFO("scope " << scope << " " << node::iso_date(from) << ".." << node::iso_date(to));
      std::map<crypto::PublicKey, std::uint64_t> totals;
      for (const auto& [day, members] : earned[scope]) {
        if (day < from || day > to) continue;
        for (const auto& [member, points] : members) totals[member] += points;
      }
      std::vector<node::LeaderboardEntry> expected;
      for (const auto& [member, points] : totals) expected.push_back({member, points});
      std::sort(expected.begin(), expected.end(), [](const auto& a, const auto& b) {
        return a.points != b.points ? a.points > b.points : a.member < b.member;
      });
      REQUIRE(expected.size() > 5);
      node::LeaderboardQuery query{from, to, scope == 0 ? std::nullopt : std::optional<ledger::PartnerId>(scope), 5};
      auto board = index.leaderboard(query);
      REQUIRE(board.ok());
      CHECK(board->members == expected.size());
      CHECK(board->indexed_height == store.tip().height);
      REQUIRE(board->entries.size() == 5);
      for (std::size_t i = 0; i < 5; ++i) {
        CHECK(board->entries[i].member == expected[i].member);
        CHECK(board->entries[i].points == expected[i].points);
      }
    }
  }
  CHECK(index.leaderboard({last, first, std::nullopt, 5}).error().code == ledger::Code::invalid_field);
  CHECK(index.leaderboard({first, first + node::report_range_days_max, std::nullopt, 5}).error().code ==
        ledger::Code::too_large);
  CHECK(index.leaderboard({first, last, std::nullopt, 0}).error().code == ledger::Code::invalid_field);
  CHECK(index.leaderboard({first, last, std::nullopt, node::leaderboard_entries_max + 1}).error().code ==
        ledger::Code::invalid_field);
  CHECK(index.leaderboard({first, last, ledger::PartnerId{9}, 5}).error().code == ledger::Code::unknown_partner);
}

TEST_CASE("the analytics index fed block by block equals one rebuilt from the chain", "[analytics]") {
  // Proves that the observer path (add_block after each commit, one batch a block) and the
  // rebuild (replay, one batch per thousand blocks) give the same reports, and that a block
  // out of order is refused without writing.
  TestChain chain(GenesisOptions{partner_count, {}, expiry_days, true, 0, ledger::protocol_version_first});
  node::AnalyticsIndex fed(chain.directory() / "fed", chain.store());
  ledger::State shadow(chain.genesis());
  const crypto::SecretKey alice = TxFactory::customer(1);
  const auto commit = [&](const std::vector<ledger::Transaction>& txs, std::uint64_t advance_ms) {
    chain.commit_all(txs, advance_ms);
    auto block = chain.store().block_at(chain.store().tip().height);
    REQUIRE(block.ok());
    auto changes = ledger::execute_block(shadow, *block, ledger::SignatureCheck::already_verified);
    REQUIRE(changes.ok());
    node::CommittedBlock committed{*block, block->header.hash(), block->tx_ids(), changes->events, changes->partners,
                                     changes->tier_changes};
    shadow.apply(std::move(changes).value());
    REQUIRE(fed.add_block(committed).ok());
    return committed;
  };
  commit({chain.txs.issue_for(1, alice.public_key(), 100, "a", ledger::Reason::purchase, ledger::Purchase{1000, "EUR"})}, 1000);
  commit({chain.txs.issue_for(2, alice.public_key(), 50, "b", ledger::Reason::referral)}, 3'600'000);
  const node::CommittedBlock third = commit({chain.txs.redeem(alice, 3, 120, "Free coffee")}, node::ms_per_utc_day);
  commit({chain.txs.reverse(2, "b")}, 2 * node::ms_per_utc_day);
  commit({}, (expiry_days + 1) * node::ms_per_utc_day);  // the rest expires

  const auto again = fed.add_block(third);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == ledger::Code::io_error);

  const node::AnalyticsIndex rebuilt(chain.directory() / "rebuilt", chain.store());
  ReportQuery query;
  query.from = node::day_of_ms(test_genesis_time_ms);
  query.to = query.from + 60;
  query.period = ReportPeriod::week;
  for (std::optional<ledger::PartnerId> partner : {std::optional<ledger::PartnerId>(), std::optional<ledger::PartnerId>(1),
                                                   std::optional<ledger::PartnerId>(2), std::optional<ledger::PartnerId>(3)}) {
    query.partner = partner;
    auto from_fed = fed.report(query);
    auto from_rebuilt = rebuilt.report(query);
    REQUIRE(from_fed.ok());
    REQUIRE(from_rebuilt.ok());
    CHECK(node::report_json(*from_fed) == node::report_json(*from_rebuilt));
  }
  // The figures themselves: 150 issued, 120 redeemed at partner 3 (100 of partner 1's points
  // and 20 of partner 2's), 30 of partner 2's reversed, nothing left to expire.
  query.partner.reset();
  auto coalition = fed.report(query);
  REQUIRE(coalition.ok());
  CHECK(coalition->total.figures.issued() == 150);
  CHECK(coalition->total.figures.issued_by_reason[0] == 100);
  CHECK(coalition->total.figures.issued_by_reason[1] == 50);
  CHECK(coalition->total.figures.redeemed_at == 120);
  CHECK(coalition->total.figures.reversed == 30);
  CHECK(coalition->total.figures.reversal_shortfall == 20);
  CHECK(coalition->total.liability_end == 0);
  CHECK(coalition->total.figures.new_members == 1);
  query.partner = 1;
  auto partner1 = fed.report(query);
  REQUIRE(partner1.ok());
  CHECK(partner1->total.figures.issued_redeemed == 100);
  CHECK(partner1->total.figures.redeemed_at == 0);

  // Alice's last activity, the redemption, keeps her active for 90 days, that day included;
  // the reversal after it is not activity.
  ReportQuery daily;
  daily.from = node::day_of_ms(test_genesis_time_ms + 1000);
  daily.to = daily.from + 120;
  daily.period = ReportPeriod::day;
  const Day redeemed_on = node::day_of_ms(third.block.header.time_ms);
  auto by_day = fed.report(daily);
  REQUIRE(by_day.ok());
  REQUIRE(by_day->rows.size() == 121);
  for (const node::ReportRow& row : by_day->rows) {
    INFO(node::iso_date(row.last));
    CHECK(row.active_members == (row.last < redeemed_on + node::active_window_days ? 1u : 0u));
  }
}

// Every entry of the LevelDB in `directory`, in key order.
std::vector<std::pair<std::string, std::string>> database_entries(const std::filesystem::path& directory) {
  leveldb::DB* raw_db = nullptr;
  REQUIRE(leveldb::DB::Open(leveldb::Options(), directory.string(), &raw_db).ok());
  const std::unique_ptr<leveldb::DB> db(raw_db);
  std::vector<std::pair<std::string, std::string>> entries;
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(leveldb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) entries.emplace_back(it->key().ToString(), it->value().ToString());
  REQUIRE(it->status().ok());
  return entries;
}

TEST_CASE("an analytics index fed block by block holds exactly the entries of one rebuilt from the chain",
          "[analytics]") {
  // Proves that what the observer path remembers of the day's active members (it skips the
  // entries the day already has for them) leaves the index byte for byte what the rebuild
  // writes: over a generated chain with several blocks on some days, members active again the
  // same day, at several partners, and on the days after.
  const GenesisOptions options{partner_count, {}, expiry_days, true, 0, 4};
  TestChain empty(options);
  GeneratedChain generated(11, 120);
  REQUIRE(generated.chain.genesis().hash() == empty.genesis().hash());
  const std::filesystem::path fed_directory = empty.directory() / "fed";
  const std::filesystem::path rebuilt_directory = empty.directory() / "rebuilt";
  {
    node::AnalyticsIndex fed(fed_directory, empty.store());  // at height 0: fed every block
    ledger::State state(generated.chain.genesis());
    const ledger::ChainStore& store = generated.chain.store();
    for (std::uint64_t height = 1; height <= store.tip().height; ++height) {
      auto block = store.block_at(height);
      REQUIRE(block.ok());
      auto changes = ledger::execute_block(state, *block, ledger::SignatureCheck::already_verified);
      REQUIRE(changes.ok());
      const node::CommittedBlock committed{*block, block->header.hash(), block->tx_ids(), changes->events,
                                          changes->partners, changes->tier_changes};
      state.apply(std::move(changes).value());
      REQUIRE(fed.add_block(committed).ok());
    }
    const node::AnalyticsIndex rebuilt(rebuilt_directory, store);
    CHECK(rebuilt.rebuilt());
    CHECK(fed.indexed_height() == rebuilt.indexed_height());
  }
  const auto fed_entries = database_entries(fed_directory);
  const auto rebuilt_entries = database_entries(rebuilt_directory);
  // Active-member entries ("A") on more days than there are blocks: the chain has what the
  // comparison needs.
  CHECK(std::count_if(fed_entries.begin(), fed_entries.end(), [](const auto& entry) { return entry.first[0] == 'A'; }) >
        120);
  CHECK(fed_entries == rebuilt_entries);
}

TEST_CASE("an analytics index reopened in the middle of a day and fed on holds exactly the entries of one rebuilt",
          "[analytics]") {
  // Proves that after a restart the observer path does not take a member it has not seen
  // active that day as inactive: their points of the day, written before the restart, are
  // added to. An index rebuilt up to a block, then fed the rest block by block, is byte for
  // byte the index rebuilt from the whole chain, for restarts just before a block that
  // credits a member credited earlier that day.
  GeneratedChain generated(11, 120);
  const ledger::ChainStore& store = generated.chain.store();
  std::vector<node::CommittedBlock> blocks;
  ledger::State state(generated.chain.genesis());
  for (std::uint64_t height = 1; height <= store.tip().height; ++height) {
    auto block = store.block_at(height);
    REQUIRE(block.ok());
    auto changes = ledger::execute_block(state, *block, ledger::SignatureCheck::already_verified);
    REQUIRE(changes.ok());
    blocks.push_back({*block, block->header.hash(), block->tx_ids(), changes->events, changes->partners,
                      changes->tier_changes});
    state.apply(std::move(changes).value());
  }
  // The heights after which such a block comes.
  std::vector<std::size_t> cuts;
  std::set<crypto::PublicKey> credited_today;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    if (i > 0 && node::day_of_ms(blocks[i].block.header.time_ms) != node::day_of_ms(blocks[i - 1].block.header.time_ms)) {
      credited_today.clear();
    }
    bool again = false;
    for (const ledger::Event& event : blocks[i].events) {
      if (event.kind != ledger::Event::Kind::earned) continue;
      again = again || credited_today.contains(event.account);
      credited_today.insert(event.account);
    }
    if (again && cuts.size() < 3) cuts.push_back(i);  // the height before block i + 1
  }
  REQUIRE(cuts.size() == 3);

  const std::filesystem::path rebuilt_directory = generated.chain.directory() / "rebuilt";
  { const node::AnalyticsIndex rebuilt(rebuilt_directory, store); }
  const auto rebuilt_entries = database_entries(rebuilt_directory);
  for (const std::size_t cut : cuts) {
    INFO("reopened at height " << cut);
    GeneratedChain prefix(11, static_cast<int>(cut));  // the same blocks up to `cut`
    REQUIRE(prefix.chain.store().tip().block_hash == blocks[cut - 1].block_hash);
    const std::filesystem::path fed_directory = prefix.chain.directory() / "fed";
    {
      node::AnalyticsIndex fed(fed_directory, prefix.chain.store());  // rebuilt up to `cut`
      for (std::size_t i = cut; i < blocks.size(); ++i) REQUIRE(fed.add_block(blocks[i]).ok());
    }
    CHECK(database_entries(fed_directory) == rebuilt_entries);
  }
}

TEST_CASE("issued figures count the points a tier multiplier credited, not the points signed", "[analytics][tiers]") {
  // Proves the index on a chain with tiers (protocol version 4): Alice earns 1000 points,
  // which makes her Silver (x1.25), then an Issue of 100 credits 125. The partners' `issued`
  // counters say 1125, and so must the issued-by-reason figures, which the index checks
  // against them (before the fix it summed the signed 1100 and stopped on that check).
  pc::test::GenesisOptions options;
  options.protocol_version = 4;
  options.tiers = pc::test::test_tier_program();
  TestChain chain(options);
  const crypto::PublicKey alice = TxFactory::customer(1).public_key();
  chain.commit_all({chain.txs.issue(1, alice, 1'000, "a")});
  chain.commit_all({chain.txs.issue(1, alice, 100, "b")});
  REQUIRE(chain.state().partner(1)->issued == 1'125);

  const node::AnalyticsIndex rebuilt(chain.directory() / "rebuilt", chain.store());
  ReportQuery query;
  query.from = node::day_of_ms(test_genesis_time_ms);
  query.to = query.from + 1;
  query.period = ReportPeriod::day;
  auto coalition = rebuilt.report(query);
  REQUIRE(coalition.ok());
  CHECK(coalition->total.figures.issued() == 1'125);
}

TEST_CASE("an analytics index deleted or of another chain is rebuilt with the same answers", "[analytics]") {
  // Proves that deleting data_dir/analytics, or finding another genesis's index there, makes
  // the next open rebuild it, and that the rebuilt index answers exactly as before.
  GeneratedChain generated(7, 60);
  const std::filesystem::path directory = generated.chain.directory() / "analytics";
  std::vector<nlohmann::json> before;
  const auto queries = queries_over(generated);
  {
    const node::AnalyticsIndex index(directory, generated.chain.store());
    CHECK(index.rebuilt());
    for (const ReportQuery& query : queries) before.push_back(node::report_json(index.report(query).value()));
  }
  {
    const node::AnalyticsIndex reopened(directory, generated.chain.store());
    CHECK_FALSE(reopened.rebuilt());  // at the tip: kept
  }
  std::filesystem::remove_all(directory);
  const node::AnalyticsIndex rebuilt(directory, generated.chain.store());
  CHECK(rebuilt.rebuilt());
  for (std::size_t i = 0; i < queries.size(); ++i) CHECK(node::report_json(rebuilt.report(queries[i]).value()) == before[i]);

  // An index of another chain in the directory.
  TestChain other(GenesisOptions{1, {}, 0, true, 0, ledger::protocol_version_first});
  other.commit_all({other.txs.issue(1, TxFactory::customer(1).public_key(), 5, "x")});
  { const node::AnalyticsIndex foreign(other.directory() / "analytics", other.store()); }
  const node::AnalyticsIndex replaced(other.directory() / "analytics", generated.chain.store());
  CHECK(replaced.rebuilt());
  CHECK(node::report_json(replaced.report(queries.front()).value()) == before.front());
}

TEST_CASE("a report refuses bad ranges, partners, periods and point values with typed errors", "[analytics]") {
  // Proves that each bad parameter is a typed error naming it, and that a good query passes.
  TestChain chain;
  const node::AnalyticsIndex index(chain.directory() / "analytics", chain.store());
  const auto code_of = [](const node::ReportQueryText& text) {
    auto query = node::parse_report_query(text);
    return query ? std::optional<ledger::Code>() : std::optional<ledger::Code>(query.error().code);
  };
  CHECK(code_of({"2026-11-01", "2026-11-30", {}, {}, {}, {}}) == std::nullopt);
  CHECK(code_of({"2026-11-31", "2026-12-01", {}, {}, {}, {}}) == ledger::Code::invalid_field);
  CHECK(code_of({"2026-02-29", "2026-03-01", {}, {}, {}, {}}) == ledger::Code::invalid_field);
  CHECK(code_of({"2024-02-29", "2024-03-01", {}, {}, {}, {}}) == std::nullopt);
  CHECK(code_of({"26-11-01", "2026-12-01", {}, {}, {}, {}}) == ledger::Code::invalid_field);
  CHECK(code_of({"2026-12-01", "2026-11-01", {}, {}, {}, {}}) == ledger::Code::invalid_field);
  CHECK(code_of({"2024-01-01", "2026-01-01", {}, {}, {}, {}}) == std::nullopt);  // 732 days
  CHECK(code_of({"2024-01-01", "2026-01-02", {}, {}, {}, {}}) == ledger::Code::too_large);
  CHECK(code_of({"2026-11-01", "2026-11-30", std::string("0"), {}, {}, {}}) == ledger::Code::invalid_field);
  CHECK(code_of({"2026-11-01", "2026-11-30", std::string("x"), {}, {}, {}}) == ledger::Code::invalid_field);
  CHECK(code_of({"2026-11-01", "2026-11-30", {}, std::string("year"), {}, {}}) == ledger::Code::invalid_field);
  CHECK(code_of({"2026-11-01", "2026-11-30", {}, {}, std::string("101"), {}}) == ledger::Code::invalid_field);
  CHECK(code_of({"2026-11-01", "2026-11-30", {}, {}, {}, std::string("EUR:0.01")}) == std::nullopt);
  for (const char* value : {"EUR", "XXX:1", "EUR:0", "EUR:1.", "EUR:-1", "EUR:1e3", "EUR:1234567", "EUR:0.0000000001"}) {
    INFO(value);
    CHECK(code_of({"2026-11-01", "2026-11-30", {}, {}, {}, std::string(value)}) == ledger::Code::invalid_field);
  }
  ReportQuery query = node::parse_report_query({"2026-11-01", "2026-11-30", std::string("9"), {}, {}, {}}).value();
  auto unknown = index.report(query);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == ledger::Code::unknown_partner);
}

TEST_CASE("report dates, periods, money and rates are exact integers", "[analytics]") {
  // Proves the calendar (leap years, ISO weeks from Monday, month ends), the money and rate
  // arithmetic (rounded down, no floating point, no overflow) and the decimal text.
  CHECK(node::parse_iso_date("1970-01-01") == Day{0});
  CHECK(node::iso_date(node::parse_iso_date("2000-02-29").value()) == "2000-02-29");
  CHECK(node::parse_iso_date("1900-02-28") == std::nullopt);
  CHECK_FALSE(node::parse_iso_date("2100-02-29").has_value());
  const Day sunday = node::parse_iso_date("2026-11-29").value();
  CHECK(node::iso_date(node::next_period_start(sunday, ReportPeriod::week)) == "2026-11-30");
  CHECK(node::iso_date(node::next_period_start(sunday + 1, ReportPeriod::week)) == "2026-12-07");
  CHECK(node::iso_date(node::next_period_start(node::parse_iso_date("2026-12-15").value(), ReportPeriod::month)) == "2027-01-01");
  CHECK(node::iso_date(node::next_period_start(node::parse_iso_date("2024-02-10").value(), ReportPeriod::month)) == "2024-03-01");

  const node::PointValue cent = node::parse_point_value("EUR:0.01").value();
  CHECK(node::money_minor(cent, 12'345) == 12'345);
  const node::PointValue half_cent = node::parse_point_value("EUR:0.005").value();
  CHECK(node::money_minor(half_cent, 12'345) == 6'172);
  const node::PointValue yen = node::parse_point_value("JPY:2").value();
  CHECK(node::money_minor(yen, 7) == 14);
  CHECK(node::decimal_text(6'172, 2) == "61.72");
  CHECK(node::decimal_text(5, 3) == "0.005");
  CHECK(node::decimal_text(14, 0) == "14");
  CHECK(node::money_minor(node::parse_point_value("KWD:999999.999999999").value(), UINT64_MAX) == UINT64_MAX);

  CHECK(node::scaled_ratio(1, 3, 10'000) == 3'333u);
  CHECK(node::scaled_ratio(UINT64_MAX, UINT64_MAX - 1, 10'000) == 10'000u);
  CHECK(node::scaled_ratio(5, 0, 10'000) == std::nullopt);
}

TEST_CASE("a report's reward lines say what kind of redemption they group in JSON, CSV and table",
          "[analytics][csv]") {
  // Proves the documented shape of top_rewards (docs/analytics.md, "The figures"): a catalog
  // line carries its partner and reward id, the others null (JSON) or empty (CSV), and only
  // the "other" line has other = true.
  node::Report report;
  report.query.from = node::parse_iso_date("2026-11-01").value();
  report.query.to = node::parse_iso_date("2026-11-30").value();
  report.top_rewards = {{node::RewardKind::catalog, "Free coffee, large", 2, 7, 3, 60},
                        {node::RewardKind::payment, "payments with points", 0, 0, 2, 45},
                        {node::RewardKind::redeem, "Free coffee, large", 0, 0, 1, 20},
                        {node::RewardKind::other, "other", 0, 0, 4, 12}};
  const nlohmann::json json = node::report_json(report);
  CHECK(json["top_rewards"] == nlohmann::json::parse(R"([
    {"reward": "Free coffee, large", "kind": "catalog", "partner": 2, "reward_id": 7, "other": false, "count": 3, "points": 60},
    {"reward": "payments with points", "kind": "payment", "partner": null, "reward_id": null, "other": false, "count": 2, "points": 45},
    {"reward": "Free coffee, large", "kind": "redeem", "partner": null, "reward_id": null, "other": false, "count": 1, "points": 20},
    {"reward": "other", "kind": "other", "partner": null, "reward_id": null, "other": true, "count": 4, "points": 12}])"));
  CHECK(node::report_rewards_csv(report) ==
        "reward,other,count,points,kind,partner,reward_id\r\n"
        "\"Free coffee, large\",false,3,60,catalog,2,7\r\n"
        "payments with points,false,2,45,payment,,\r\n"
        "\"Free coffee, large\",false,1,20,redeem,,\r\n"
        "other,true,4,12,other,,\r\n");
  const std::string table = node::report_table(report);
  CHECK(table.find("60 points        3x  Free coffee, large (partner 2's catalog reward 7)\n") != std::string::npos);
  CHECK(table.find("45 points        2x  (payments with points)\n") != std::string::npos);
  CHECK(table.find("20 points        1x  Free coffee, large\n") != std::string::npos);
  CHECK(table.find("12 points        4x  (other)\n") != std::string::npos);
}

TEST_CASE("report CSV is RFC 4180 with ISO dates, integer points and money columns", "[analytics][csv]") {
  // Proves the CSV an accountant opens: CRLF lines, a header, quoted fields with doubled
  // quotes, ISO dates, integer points, money in minor units and as a decimal, and the top
  // rewards (with commas and quotes in their names) quoted the same way.
  CHECK(node::csv_field("plain") == "plain");
  CHECK(node::csv_field("a,b") == "\"a,b\"");
  CHECK(node::csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(node::csv_field("two\r\nlines") == "\"two\r\nlines\"");

  GeneratedChain generated(3, 40);
  const node::AnalyticsIndex index(generated.chain.directory() / "analytics", generated.chain.store());
  ReportQuery query;
  query.from = node::day_of_ms(test_genesis_time_ms);
  query.to = query.from + 40;
  query.period = ReportPeriod::month;
  query.top_rewards = node::report_top_rewards_max;
  query.point_value = node::parse_point_value("EUR:0.005").value();
  const node::Report report = index.report(query).value();
  const std::string csv = node::report_csv(report);

  std::vector<std::string> lines;
  for (std::size_t start = 0; start < csv.size();) {
    const std::size_t end = csv.find("\r\n", start);
    REQUIRE(end != std::string::npos);  // every line ends in CRLF
    lines.push_back(csv.substr(start, end - start));
    start = end + 2;
  }
  REQUIRE(lines.size() == report.rows.size() + 2);
  CHECK(lines.front().starts_with("row,period_start,period_end,issued,issued_purchase,"));
  CHECK(lines.front().find(",liability,liability_money_minor,liability_money,currency,") != std::string::npos);
  const node::ReportRow& total = report.total;
  const std::uint64_t money = node::money_minor(*query.point_value, total.liability_end);
  CHECK(lines.back().starts_with("total," + node::iso_date(query.from) + "," + node::iso_date(query.to) + "," +
                                 std::to_string(total.figures.issued()) + ","));
  CHECK(lines.back().find("," + std::to_string(total.liability_end) + "," + std::to_string(money) + "," +
                          node::decimal_text(money, 2) + ",EUR,") != std::string::npos);
  // Past the row kind and the currency, a data line holds only integers, ISO dates and
  // fixed-point decimals: no exponent, no quotes, no spaces.
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::string fields = lines[i].substr(lines[i].find(',') + 1);
    fields.erase(fields.find(",EUR,"), 4);
    INFO(lines[i]);
    CHECK(fields.find_first_not_of("0123456789,-.") == std::string::npos);
  }

  const std::string rewards = node::report_rewards_csv(report);
  CHECK(rewards.starts_with("reward,other,count,points,kind,partner,reward_id\r\n"));
  CHECK(rewards.find("\r\n\"Cinema, 2 tickets\",false,1,736,redeem,,\r\n") != std::string::npos);
  CHECK(rewards.find("\r\n\"The \"\"big\"\" hamper\",false,1,189,redeem,,\r\n") != std::string::npos);
  CHECK(rewards.find("\r\n\"Partner 2, reward 1\",false,2,48,catalog,2,1\r\n") != std::string::npos);
  CHECK(rewards.find("\r\npayments with points,false,1,81,payment,,\r\n") != std::string::npos);

  // Without a point value the money columns are left out.
  query.point_value.reset();
  CHECK(node::report_csv(index.report(query).value()).find("liability_money") == std::string::npos);
}

}  // namespace pc::test
