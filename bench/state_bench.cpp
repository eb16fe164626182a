// pointchain-bench-state: the CPU the node's writer thread spends in the ledger per
// transaction, without signatures, disk or network: admission into the mempool (a
// BlockExecutor staged over the committed State), the block's changes taken from it (records,
// sort, state hash), State::apply, and the mempool's revalidation. Redeems and Issues of
// existing customers, in blocks like the node's. Every figure is CPU time of the one thread,
// also printed as a ratio to one core's raw ed25519 verify rate measured in the same run
// (per CPU second), so that runs on a busy machine stay comparable. bench/README.md explains
// each line.
//
// The transactions carry a zero signature and are applied with
// SignatureCheck::already_verified, as the node's writer applies them after the RPC threads
// verified them: signing a hundred thousand of them would cost more than the run.

#include <algorithm>
#include <cstdio>
#include <functional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/baseline.hpp"
#include "crypto/hash.hpp"
#include "ledger/protocol.hpp"
#include "ledger/state.hpp"
#include "node/mempool.hpp"
#include "node/worker_pool.hpp"

#ifndef POINTCHAIN_BUILD_TYPE
#define POINTCHAIN_BUILD_TYPE "unknown"
#endif

namespace {

using pc::bench::thread_cpu_seconds;
using pc::ledger::PartnerId;
using pc::ledger::PublicKey;
using pc::ledger::Transaction;

constexpr PartnerId partner_count = 3;
constexpr std::uint64_t genesis_time_ms = 1'700'000'000'000;
constexpr std::uint64_t block_interval_ms = 1'000;
constexpr std::uint64_t last_valid_height = 100'000;
// The node's block_trigger_tx_count.
constexpr std::size_t tx_per_block = 2'000;
constexpr std::uint64_t points_per_customer = 1'000'000;

struct Options {
  std::size_t customers = 40'000;  // accounts in the state; the rpc bench's default run
  std::size_t rounds = 3;          // redeems (and issues) per customer, each round timed apart
  double baseline_seconds = 1.0;
};

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

// CPU seconds of the phases of committing blocks, summed over a round.
struct Phases {
  double admit = 0;       // Mempool::admit of each transaction
  double take = 0;        // Mempool::take_staged: records, sort, changes digest, state hash
  double apply = 0;       // State::apply
  double revalidate = 0;  // Mempool::revalidate with nothing left pending
  double total() const { return admit + take + apply + revalidate; }
};

class Bench {
 public:
  explicit Bench(const Options& options) : options_(options) {
    genesis_.chain_id = "bench-state";
    genesis_.coalition_name = "Bench Coalition";
    genesis_.genesis_time_ms = genesis_time_ms;
    genesis_.protocol_version = pc::ledger::protocol_version_newest;
    for (PartnerId id = 1; id <= partner_count; ++id) {
      pc::ledger::Partner partner;
      partner.id = id;
      partner.name = "Partner " + std::to_string(id);
      partner.issuer_key = pc::bench::seeded_key("bench partner " + std::to_string(id)).public_key();
      partner.validator_key = pc::bench::seeded_key("bench validator " + std::to_string(id)).public_key();
      partner.voting_power = id == 1 ? 1 : 0;
      genesis_.partners.push_back(partner);
    }
    genesis_.policy.billing =
        pc::ledger::no_charge_billing(genesis_.partners, pc::bench::seeded_key("bench billing").public_key());
    genesis_.policy.tiers.window_days = 365;
    genesis_.policy.tiers.grace_days = 30;
    genesis_.policy.tiers.tiers = {{"Silver", 1'000, 12'500}, {"Gold", 5'000, 15'000}};
    state_.emplace(genesis_);
    // The keys need not be curve points: nothing here checks them (already verified).
    customers_.resize(options.customers);
    for (std::size_t i = 0; i < customers_.size(); ++i) {
      const std::string label = "bench customer " + std::to_string(i);
      customers_[i] = pc::crypto::sha256(pc::as_bytes(label));
    }
    customer_sequence_.assign(customers_.size(), 0);
    issuer_sequence_.assign(partner_count, 0);
  }

  // Every customer earns points_per_customer (not timed).
  void seed() {
    std::vector<Transaction> txs;
    for (std::size_t i = 0; i < customers_.size(); ++i) txs.push_back(issue(i, points_per_customer));
    commit_all(txs, nullptr);
  }

  std::vector<Transaction> redeems() {
    std::vector<Transaction> txs;
    txs.reserve(customers_.size());
    for (std::size_t i = 0; i < customers_.size(); ++i) {
      pc::ledger::Redeem redeem;
      redeem.customer = customers_[i];
      redeem.partner = static_cast<PartnerId>(1 + i % partner_count);
      redeem.points = 10 + i % 50;
      redeem.reward = "bench reward";
      txs.push_back(sign(++customer_sequence_[i], std::move(redeem)));
    }
    return txs;
  }

  std::vector<Transaction> issues() {
    std::vector<Transaction> txs;
    txs.reserve(customers_.size());
    for (std::size_t i = 0; i < customers_.size(); ++i) txs.push_back(issue(i, 10 + i % 90));
    return txs;
  }

  // Commits `txs` in blocks of tx_per_block the way the writer does, timing each phase.
  void commit_all(const std::vector<Transaction>& txs, Phases* phases) {
    for (std::size_t first = 0; first < txs.size(); first += tx_per_block) {
      const std::size_t end = std::min(txs.size(), first + tx_per_block);
      now_ms_ += block_interval_ms;
      pc::node::Mempool mempool(*state_, pc::node::MempoolLimits{}, now_ms_);
      double start = thread_cpu_seconds();
      for (std::size_t i = first; i < end; ++i) {
        if (auto admitted = mempool.admit(txs[i], now_ms_); !admitted) fail("not admitted: " + admitted.error().message());
      }
      double now = thread_cpu_seconds();
      if (phases != nullptr) phases->admit += now - start;
      std::set<pc::ledger::Hash256> included;
      for (std::size_t i = first; i < end; ++i) included.insert(txs[i].id());
      start = thread_cpu_seconds();
      pc::ledger::BlockChanges changes = mempool.take_staged();
      now = thread_cpu_seconds();
      if (phases != nullptr) phases->take += now - start;
      if (changes.applied_count != end - first) fail("a block lost transactions");
      start = now;
      state_->apply(std::move(changes));
      now = thread_cpu_seconds();
      if (phases != nullptr) phases->apply += now - start;
      start = now;
      if (!mempool.revalidate(included, now_ms_ + 1).empty()) fail("revalidation dropped a transaction");
      now = thread_cpu_seconds();
      if (phases != nullptr) phases->revalidate += now - start;
    }
  }

  const pc::ledger::State& state() const { return *state_; }

 private:
  Transaction issue(std::size_t customer, std::uint64_t points) {
    const std::size_t partner = customer % partner_count;
    pc::ledger::Issue issue;
    issue.partner = static_cast<PartnerId>(partner + 1);
    issue.customer = customers_[customer];
    issue.points = points;
    issue.reason = pc::ledger::Reason::purchase;
    issue.reference = "order-" + std::to_string(next_reference_++);
    issue.purchase = pc::ledger::Purchase{static_cast<std::int64_t>(points % 1'000) * 100, "EUR"};
    return sign(++issuer_sequence_[partner], std::move(issue));
  }

  template <class Body>
  Transaction sign(std::uint64_t sequence, Body body) {
    pc::ledger::UnsignedTransaction fields;
    fields.chain_id = genesis_.chain_id;
    fields.sequence = sequence;
    fields.last_valid_height = last_valid_height;
    fields.body = std::move(body);
    return Transaction::with_signature(std::move(fields), pc::crypto::Signature{});
  }

  Options options_;
  pc::ledger::Genesis genesis_;
  std::optional<pc::ledger::State> state_;
  std::vector<PublicKey> customers_;
  std::vector<std::uint64_t> customer_sequence_;
  std::vector<std::uint64_t> issuer_sequence_;
  std::uint64_t next_reference_ = 0;
  std::uint64_t now_ms_ = genesis_time_ms;
};

std::size_t parse_count(const char* flag, const char* text) {
  try {
    const long long value = std::stoll(text);
    if (value > 0) return static_cast<std::size_t>(value);
  } catch (const std::exception&) {
  }
  fail(std::string(flag) + " needs a positive count");
}

int run(const Options& options) {
  pc::node::WorkerPool pool;
  pc::bench::VerifyBaseline baseline(pool, options.baseline_seconds, 1);
  baseline.sample();
  Bench bench(options);
  bench.seed();

  // The best round of each kind: the first rounds grow the issuance map and the lots.
  Phases redeem_best;
  Phases issue_best;
  for (std::size_t round = 0; round < options.rounds; ++round) {
    Phases redeem;
    bench.commit_all(bench.redeems(), &redeem);
    if (round == 0 || redeem.total() < redeem_best.total()) redeem_best = redeem;
    Phases issue;
    bench.commit_all(bench.issues(), &issue);
    if (round == 0 || issue.total() < issue_best.total()) issue_best = issue;
  }
  if (!bench.state().check_invariants()) fail("the state's invariants do not hold");
  baseline.sample();

  // Verifies per CPU second divided by transactions per CPU second: how many raw verifies one
  // transaction's ledger work costs.
  const double verify_cpu = 1.0 / baseline.per_cpu_second();
  const double count = static_cast<double>(options.customers);
  std::vector<pc::bench::Row> rows;
  rows.push_back({"raw verify, 1 core, per CPU second", baseline.per_cpu_second(), 0, "verifies/s", 1.0, "", {}});
  const auto add = [&](const std::string& kind, const Phases& phases) {
    const auto row = [&](const std::string& name, double seconds) {
      rows.push_back({kind + ": " + name, 1e6 * seconds / count, 2, "us CPU/tx", verify_cpu * count / seconds, "", {}});
    };
    row("admit", phases.admit);
    row("take staged", phases.take);
    row("State::apply", phases.apply);
    row("revalidate", phases.revalidate);
    row("total", phases.total());
  };
  add("redeem", redeem_best);
  add("issue", issue_best);
  std::printf("pointchain-bench-state (%s build): %zu accounts, blocks of %zu, best of %zu rounds\n",
              POINTCHAIN_BUILD_TYPE, options.customers, tx_per_block, options.rounds);
  pc::bench::print_table(rows);
  std::printf("\nratio: transactions per CPU second over raw verifies per CPU second (higher is cheaper)\n");
  baseline.print_samples();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options options;
    for (int i = 1; i < argc; ++i) {
      const std::string flag = argv[i];
      if (flag == "--quick") {
        options.customers = 4'000;
        options.rounds = 1;
        options.baseline_seconds = 0.25;
      } else if (flag == "--customers" && i + 1 < argc) {
        options.customers = parse_count("--customers", argv[++i]);
      } else if (flag == "--rounds" && i + 1 < argc) {
        options.rounds = parse_count("--rounds", argv[++i]);
      } else {
        std::fprintf(stderr, "usage: pointchain-bench-state [--customers N] [--rounds N] [--quick]\n");
        return 2;
      }
    }
    return run(options);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "pointchain-bench-state: %s\n", error.what());
    return 1;
  }
}
