// pointchain-bench-ledger: how fast the ledger commits, validates and audits issuances, and
// how much disk one issuance costs. The machine may be shared and noisy, so every rate is
// printed as a ratio to the raw ed25519 verification rate of one core measured in the same
// run, and every phase is repeated with the best run kept. bench/README.md explains each line.

#include <leveldb/db.h>
#include <leveldb/iterator.h>
#include <leveldb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/baseline.hpp"
#include "crypto/hash.hpp"
#include "crypto/keys.hpp"
#include "ledger/audit.hpp"
#include "ledger/protocol.hpp"
#include "ledger/store.hpp"
#include "ledger/voucher.hpp"
#include "node/audit_command.hpp"
#include "node/demo.hpp"
#include "node/worker_pool.hpp"

// --profile-audit marks what callgrind should count; without the header the marks do nothing.
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#define CALLGRIND_DUMP_STATS_AT(name) ((void)(name))
#endif

#ifndef POINTCHAIN_BUILD_TYPE
#define POINTCHAIN_BUILD_TYPE "unknown"
#endif

namespace {

using pc::bench::best_of;
using pc::bench::Row;
using pc::bench::seconds_between;
using pc::bench::seeded_key;
using pc::bench::SignedMessage;
using pc::bench::SteadyClock;
using pc::crypto::PublicKey;
using pc::crypto::SecretKey;
using pc::ledger::Block;
using pc::ledger::ChainStore;
using pc::ledger::PartnerId;
using pc::ledger::Transaction;

constexpr std::size_t tx_per_block = 1'000;
constexpr std::size_t customer_pool_size = 10'000;
constexpr PartnerId partner_count = 3;
constexpr PartnerId validator_partner = 1;
constexpr std::uint64_t genesis_time_ms = 1'700'000'000'000;
constexpr std::uint64_t block_interval_ms = 1'000;
// Beyond every height the bench reaches, and within tx_validity_blocks_max of all of them.
constexpr std::uint64_t last_valid_height = 100'000;
// Which pool customers each block credits; printed so a run can be repeated exactly.
constexpr std::uint64_t customer_draw_seed = 20'240'601;
constexpr std::size_t fsync_probe_writes = 20;
// A mixed block of protocol version 4's loyalty types (bench/README.md): per block of
// tx_per_block, these many of each kind once earlier blocks made vouchers and orders to take
// back; the rest are purchase Issues, which stamp cards and count toward badges.
constexpr std::size_t mixed_redemptions_per_block = 100;
constexpr std::size_t mixed_voucher_uses_per_block = 100;
constexpr std::size_t mixed_partial_returns_per_block = 50;
constexpr std::size_t mixed_awards_per_block = 50;

constexpr std::size_t default_blocks = 20;
constexpr std::size_t default_repeats = 3;
constexpr double default_raw_loop_seconds = 1.0;
constexpr std::size_t quick_blocks = 2;
constexpr std::size_t quick_repeats = 1;
constexpr double quick_raw_loop_seconds = 0.25;

constexpr double commit_goal_ratio = 0.8;
constexpr double audit_goal_ratio = 1.6;
constexpr double disk_goal_bytes_per_issuance = 300.0;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

void require_ok(const pc::ledger::Status& status, const std::string& what) {
  if (!status) fail(what + ": " + status.error().message());
}

// ---------------------------------------------------------------------------------------
// Command line

struct Options {
  std::size_t blocks = default_blocks;
  std::size_t customers = customer_pool_size;
  bool profile_audit = false;
  // 1 keeps the figures comparable with every earlier run; the newest version adds what its
  // rules store per issuance (docs/protocol.md): the tier state in each account record, bigger
  // issuance records.
  std::uint16_t protocol_version = pc::ledger::protocol_version_first;
  std::size_t repeats = default_repeats;
  double raw_loop_seconds = default_raw_loop_seconds;
  std::filesystem::path base_directory;
};

void print_usage() {
  std::printf(
      "usage: pointchain-bench-ledger [--blocks N] [--repeats N] [--quick] [--dir DIR]\n"
      "                              [--customers N] [--profile-audit] [--protocol-version N]\n"
      "  --blocks N   blocks of %zu issuances in each timed run (default %zu)\n"
      "  --repeats N  runs of each phase; the best is reported (default %zu)\n"
      "  --quick      %zu blocks, %zu run, short baseline: a smoke run, not a measurement\n"
      "  --dir DIR    where the scratch directory is made (default: the system temp dir)\n"
      "  --customers N  accounts the pool chain opens before its timed blocks (default %zu)\n"
      "  --profile-audit  build the pool chain once and audit it once, with callgrind marks\n"
      "               around 1000 one-core raw verifies and the audit (bench/README.md)\n"
      "  --protocol-version N  the chain's protocol version, 1 (default) to %u; from 4 the genesis\n"
      "               holds no-charge billing terms and docs/loyalty.md's tier program\n",
      tx_per_block, default_blocks, default_repeats, quick_blocks, quick_repeats, customer_pool_size,
      unsigned{pc::ledger::protocol_version_newest});
}

std::size_t parse_count(const std::string& flag, const char* text) {
  std::size_t used = 0;
  unsigned long value = 0;
  try {
    value = std::stoul(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || text[used] != '\0' || value == 0 || value > 100'000) {
    fail(flag + " needs a whole number from 1 to 100000, not '" + text + "'");
  }
  return value;
}

// nullopt when the usage was printed and there is nothing to run.
std::optional<Options> parse_options(int argc, char** argv) {
  Options options;
  options.base_directory = std::filesystem::temp_directory_path();
  std::optional<std::size_t> blocks;
  std::optional<std::size_t> repeats;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const bool has_value = i + 1 < argc;
    if (flag == "--quick") {
      quick = true;
    } else if (flag == "--blocks" && has_value) {
      blocks = parse_count(flag, argv[++i]);
    } else if (flag == "--repeats" && has_value) {
      repeats = parse_count(flag, argv[++i]);
    } else if (flag == "--customers" && has_value) {
      options.customers = parse_count(flag, argv[++i]);
    } else if (flag == "--protocol-version" && has_value) {
      const std::size_t version = parse_count(flag, argv[++i]);
      if (!pc::ledger::is_supported_protocol_version(static_cast<std::uint16_t>(std::min<std::size_t>(version, 0xffff)))) {
        fail("--protocol-version must be 1 to " + std::to_string(pc::ledger::protocol_version_newest));
      }
      options.protocol_version = static_cast<std::uint16_t>(version);
    } else if (flag == "--profile-audit") {
      options.profile_audit = true;
    } else if (flag == "--dir" && has_value) {
      options.base_directory = argv[++i];
    } else if (flag == "--help" || flag == "-h") {
      print_usage();
      return std::nullopt;
    } else {
      print_usage();
      fail("unknown or incomplete option " + flag);
    }
  }
  if (quick) {
    options.blocks = quick_blocks;
    options.repeats = quick_repeats;
    options.raw_loop_seconds = quick_raw_loop_seconds;
  }
  // Explicit counts win over --quick, whatever the order on the command line.
  if (blocks) options.blocks = *blocks;
  if (repeats) options.repeats = *repeats;
  return options;
}

// ---------------------------------------------------------------------------------------
// The chain: a proposer's store and a validator's store fed the same blocks

struct StageSeconds {
  double verify = 0;   // verify_block_signatures across the pool (wall time)
  double produce = 0;  // produce_block: execution, records, state hash, commit signature
  double append = 0;   // append_executed (proposer) or append (validator: executes as well)
  double total() const { return verify + produce + append; }
};

struct RunResult {
  std::size_t transactions = 0;
  StageSeconds proposer;
  StageSeconds validator;

  double proposer_rate() const { return static_cast<double>(transactions) / proposer.total(); }
  double validator_rate() const { return static_cast<double>(transactions) / validator.total(); }
};

class BenchChain {
 public:
  BenchChain(const std::filesystem::path& directory, pc::node::WorkerPool& pool, std::uint16_t protocol_version)
      : directory_(directory),
        pool_(pool),
        runner_([&pool](std::size_t count, const std::function<void(std::size_t)>& job) {
          pool.run(count, job);
        }),
        validator_key_(seeded_key("bench partner 1 validator")),
        next_sequence_(partner_count, 0) {
    genesis_.chain_id = "bench-chain";
    genesis_.coalition_name = "Bench Coalition";
    genesis_.genesis_time_ms = genesis_time_ms;
    // The newest rules, so that the disk per issuance counts the newest records.
    genesis_.protocol_version = pc::ledger::protocol_version_newest;
    for (PartnerId id = 1; id <= partner_count; ++id) {
      issuer_keys_.push_back(seeded_key("bench partner " + std::to_string(id) + " issuer"));
      pc::ledger::Partner partner;
      partner.id = id;
      partner.name = "Partner " + std::to_string(id);
      partner.issuer_key = issuer_keys_.back().public_key();
      partner.validator_key =
          id == validator_partner ? validator_key_.public_key()
                                  : seeded_key("bench partner " + std::to_string(id) + " validator").public_key();
      partner.voting_power = id == validator_partner ? 1 : 0;
      genesis_.partners.push_back(partner);
    }
    genesis_.protocol_version = protocol_version;
    if (pc::ledger::has_billing_terms(protocol_version)) {
      genesis_.policy.billing =
          pc::ledger::no_charge_billing(genesis_.partners, seeded_key("bench coalition billing").public_key());
    }
    if (pc::ledger::has_tiers(protocol_version)) {
      genesis_.policy.tiers.window_days = 365;
      genesis_.policy.tiers.grace_days = 30;
      genesis_.policy.tiers.tiers = {{"Silver", 1'000, 12'500}, {"Gold", 5'000, 15'000}};
    }
    std::filesystem::create_directories(directory_);
    proposer_ = create_store(proposer_directory());
    validator_ = create_store(directory_ / "validator");
  }

  const pc::ledger::Genesis& genesis() const { return genesis_; }
  const pc::ledger::BatchRunner& runner() const { return runner_; }
  pc::node::WorkerPool& pool() { return pool_; }
  std::filesystem::path proposer_directory() const { return directory_ / "proposer"; }
  std::uint64_t issuances() const { return issuances_; }
  std::uint64_t height() const { return proposer_->tip().height; }

  std::unique_ptr<ChainStore> create_store(const std::filesystem::path& path) const {
    auto created = ChainStore::create(path, genesis_);
    if (!created) fail("cannot create a store in " + path.string() + ": " + created.error().message());
    return std::move(created).value();
  }

  std::unique_ptr<ChainStore> open_store(const std::filesystem::path& path, ChainStore::Mode mode) const {
    auto opened = ChainStore::open(path, genesis_, mode);
    if (!opened) fail("cannot open the store in " + path.string() + ": " + opened.error().message());
    return std::move(opened).value();
  }

  // Closes both stores, so the proposer's can be reopened raw for the audit.
  void close() {
    proposer_.reset();
    validator_.reset();
  }

  // The public keys of seeded_key(prefix + n) for n in [first, first + count), derived
  // across the pool (each derivation costs about one signature).
  std::vector<PublicKey> derive_customers(const std::string& prefix, std::size_t first, std::size_t count) {
    std::vector<PublicKey> keys(count);
    pool_.run(count, [&](std::size_t i) { keys[i] = seeded_key(prefix + std::to_string(first + i)).public_key(); });
    return keys;
  }

  // One block's worth of signed issuances, one per customer, the partners taking turns.
  // Signed across the pool; never part of a timed stage.
  std::vector<Transaction> sign_issuances(std::span<const PublicKey> customers) {
    std::vector<pc::ledger::UnsignedTransaction> fields(customers.size());
    std::vector<std::size_t> signer(customers.size());
    for (std::size_t i = 0; i < customers.size(); ++i) {
      signer[i] = i % partner_count;
      const std::uint64_t reference = next_reference_++;
      pc::ledger::Issue issue;
      issue.partner = static_cast<PartnerId>(signer[i] + 1);
      issue.customer = customers[i];
      issue.points = 10 + reference % 90;
      issue.reason = pc::ledger::Reason::purchase;
      issue.reference = "order-" + std::to_string(reference);
      issue.purchase = pc::ledger::Purchase{static_cast<std::int64_t>(issue.points) * 100, "EUR"};
      fields[i].chain_id = genesis_.chain_id;
      fields[i].sequence = ++next_sequence_[signer[i]];
      fields[i].last_valid_height = last_valid_height;
      fields[i].body = std::move(issue);
    }
    std::vector<std::optional<Transaction>> signed_txs(customers.size());
    pool_.run(customers.size(), [&](std::size_t i) {
      signed_txs[i].emplace(Transaction::sign(std::move(fields[i]), issuer_keys_[signer[i]]));
    });
    std::vector<Transaction> txs;
    txs.reserve(signed_txs.size());
    for (auto& tx : signed_txs) txs.push_back(std::move(*tx));
    return txs;
  }

  // Protocol version 4's program at every partner, signed (not timed): reward 1 (1 point),
  // stamp card 1 (5 purchases of any amount in EUR), badges 1 (3 purchases), 2 (500 points)
  // and 3 (awarded only).
  std::vector<Transaction> sign_loyalty_definitions() {
    std::vector<Transaction> txs;
    for (PartnerId partner = 1; partner <= partner_count; ++partner) {
      pc::ledger::RewardTerms reward;
      reward.name = "Free coffee";
      reward.cost_points = 1;
      pc::ledger::StampCardTerms card;
      card.name = "Coffee card";
      card.stamps_needed = 5;
      card.currency = "EUR";
      card.reward_id = 1;
      const std::vector<pc::ledger::TxBody> bodies = {
          pc::ledger::PublishReward{partner, 1, reward},
          pc::ledger::DefineStampCard{partner, 1, card},
          pc::ledger::DefineBadge{partner, 1, {"Regular", pc::ledger::BadgeRule::action_count, pc::ledger::Reason::purchase, 3, true}},
          pc::ledger::DefineBadge{partner, 2, {"Big spender", pc::ledger::BadgeRule::points_earned, std::nullopt, 500, true}},
          pc::ledger::DefineBadge{partner, 3, {"Founder", pc::ledger::BadgeRule::awarded, std::nullopt, 0, true}}};
      for (const pc::ledger::TxBody& body : bodies) txs.push_back(sign_as_partner(partner, body));
    }
    return txs;
  }

  // One mixed block (see mixed_*_per_block): purchases by `customers`, then RedeemRewards by
  // pool customers in turn (`pool`: the public keys of seeded_key("bench customer " + n)),
  // UseVouchers of earlier blocks' vouchers, PartialReturns of earlier blocks' orders and
  // AwardBadges. Signed across the pool; never part of a timed stage.
  std::vector<Transaction> sign_mixed(std::span<const PublicKey> customers, std::span<const PublicKey> pool) {
    struct Draft {
      pc::ledger::UnsignedTransaction fields;
      std::optional<std::size_t> customer;  // the pool customer who signs; nullopt: the partner's issuer key
      std::size_t partner_index = 0;
    };
    std::vector<Draft> drafts;
    const auto partner_draft = [&](PartnerId partner, pc::ledger::TxBody body) {
      Draft draft;
      draft.fields.chain_id = genesis_.chain_id;
      draft.fields.sequence = ++next_sequence_[partner - 1];
      draft.fields.last_valid_height = last_valid_height;
      draft.fields.body = std::move(body);
      draft.partner_index = partner - 1;
      drafts.push_back(std::move(draft));
    };
    const std::size_t returns = std::min(mixed_partial_returns_per_block, returnable_.size());
    const std::size_t uses = std::min(mixed_voucher_uses_per_block, usable_vouchers_.size());
    const std::size_t special = mixed_redemptions_per_block + uses + returns + mixed_awards_per_block;
    const std::size_t purchases = customers.size() > special ? customers.size() - special : 0;
    std::vector<std::pair<PartnerId, std::string>> issued;
    for (std::size_t i = 0; i < purchases; ++i) {
      const auto partner = static_cast<PartnerId>(i % partner_count + 1);
      const std::uint64_t reference = next_reference_++;
      pc::ledger::Issue issue;
      issue.partner = partner;
      issue.customer = customers[i];
      issue.points = 10 + reference % 90;
      issue.reference = "order-" + std::to_string(reference);
      issue.purchase = pc::ledger::Purchase{static_cast<std::int64_t>(issue.points) * 100, "EUR"};
      issued.emplace_back(partner, issue.reference);
      partner_draft(partner, std::move(issue));
    }
    std::vector<std::size_t> redemptions;
    for (std::size_t i = 0; i < mixed_redemptions_per_block; ++i) {
      // Each pool customer was seeded with at least 10 points; one point a turn.
      const std::size_t who = next_redeemer_++ % pool.size();
      const auto partner = static_cast<PartnerId>(who % partner_count + 1);
      Draft draft;
      draft.fields.chain_id = genesis_.chain_id;
      draft.fields.sequence = ++customer_sequence_[who];
      draft.fields.last_valid_height = last_valid_height;
      draft.fields.body = pc::ledger::RedeemReward{pool[who], partner, 1, 1};
      draft.customer = who;
      redemptions.push_back(drafts.size());
      drafts.push_back(std::move(draft));
    }
    for (std::size_t i = 0; i < uses; ++i) {
      auto [partner, code] = std::move(usable_vouchers_.front());
      usable_vouchers_.pop_front();
      partner_draft(partner, pc::ledger::UseVoucher{partner, std::move(code)});
    }
    for (std::size_t i = 0; i < returns; ++i) {
      auto [partner, reference] = std::move(returnable_.front());
      returnable_.pop_front();
      partner_draft(partner, pc::ledger::PartialReturn{partner, std::move(reference), 1});
    }
    for (std::size_t i = 0; i < mixed_awards_per_block; ++i) {
      // Each (partner, customer) pair once.
      const std::size_t turn = next_awardee_++;
      const auto partner = static_cast<PartnerId>(turn % partner_count + 1);
      partner_draft(partner, pc::ledger::AwardBadge{partner, 3, pool[(turn / partner_count) % pool.size()]});
    }
    std::vector<std::optional<Transaction>> signed_txs(drafts.size());
    pool_.run(drafts.size(), [&](std::size_t i) {
      Draft& draft = drafts[i];
      if (draft.customer) {
        const SecretKey key = seeded_key("bench customer " + std::to_string(*draft.customer));
        signed_txs[i].emplace(Transaction::sign(std::move(draft.fields), key));
      } else {
        signed_txs[i].emplace(Transaction::sign(std::move(draft.fields), issuer_keys_[draft.partner_index]));
      }
    });
    std::vector<Transaction> txs;
    txs.reserve(signed_txs.size());
    for (auto& tx : signed_txs) txs.push_back(std::move(*tx));
    for (std::size_t index : redemptions) {
      const auto& redeem = std::get<pc::ledger::RedeemReward>(txs[index].fields().body);
      usable_vouchers_.emplace_back(redeem.partner, pc::ledger::voucher_code(txs[index].id(), 0));
    }
    for (auto& order : issued) returnable_.push_back(std::move(order));
    return txs;
  }

  // Commits `blocks` on the proposer (verify, produce, append_executed), then feeds the
  // produced blocks to the validator (verify, append), timing each stage.
  RunResult run_blocks(std::vector<std::vector<Transaction>> blocks) {
    RunResult result;
    std::vector<Block> committed;
    committed.reserve(blocks.size());
    const pc::node::ProposerIdentity identity{validator_partner, &validator_key_};
    for (std::vector<Transaction>& txs : blocks) {
      const std::size_t count = txs.size();
      const auto start = SteadyClock::now();
      // verify_block_signatures takes a block; only its transactions are read.
      Block candidates;
      candidates.transactions = std::move(txs);
      require_ok(pc::ledger::verify_block_signatures(genesis_, candidates, runner_, &proposer_->state()),
                 "proposer: verify_block_signatures");
      const auto verified = SteadyClock::now();
      pc::node::ProducedBlock produced =
          pc::node::produce_block(proposer_->state(), proposer_->tip(), candidates.transactions,
                                  proposer_->tip().time_ms + block_interval_ms, identity,
                                  pc::ledger::SignatureCheck::already_verified);
      const auto executed = SteadyClock::now();
      if (!produced.rejected.empty()) {
        fail("produce_block left out a transaction: " + produced.rejected.front().second.message());
      }
      if (produced.block.transactions.size() != count) fail("produce_block did not take the whole block");
      require_ok(proposer_->append_executed(produced.block, std::move(produced.changes)),
                 "proposer: append_executed");
      const auto appended = SteadyClock::now();
      result.proposer.verify += seconds_between(start, verified);
      result.proposer.produce += seconds_between(verified, executed);
      result.proposer.append += seconds_between(executed, appended);
      result.transactions += count;
      committed.push_back(std::move(produced.block));
    }
    for (const Block& block : committed) {
      const auto start = SteadyClock::now();
      require_ok(pc::ledger::verify_block_signatures(genesis_, block, runner_, &validator_->state()),
                 "validator: verify_block_signatures");
      const auto verified = SteadyClock::now();
      auto appended = validator_->append(block, pc::ledger::SignatureCheck::already_verified);
      if (!appended) fail("validator: append: " + appended.error().message());
      const auto end = SteadyClock::now();
      result.validator.verify += seconds_between(start, verified);
      result.validator.append += seconds_between(verified, end);
    }
    if (validator_->tip() != proposer_->tip()) fail("the validator's tip differs from the proposer's");
    issuances_ += result.transactions;
    return result;
  }

 private:
  std::filesystem::path directory_;
  pc::node::WorkerPool& pool_;
  pc::ledger::BatchRunner runner_;
  pc::ledger::Genesis genesis_;
  std::vector<SecretKey> issuer_keys_;  // issuer_keys_[p - 1] signs partner p's issuances
  SecretKey validator_key_;
  std::vector<std::uint64_t> next_sequence_;  // per partner, index p - 1
  std::uint64_t next_reference_ = 0;
  std::uint64_t issuances_ = 0;
  std::unique_ptr<ChainStore> proposer_;
  std::unique_ptr<ChainStore> validator_;
  // The mixed blocks' state (sign_mixed): what later blocks may use or take back.
  std::deque<std::pair<PartnerId, std::string>> usable_vouchers_;
  std::deque<std::pair<PartnerId, std::string>> returnable_;
  std::map<std::size_t, std::uint64_t> customer_sequence_;
  std::size_t next_redeemer_ = 0;
  std::size_t next_awardee_ = 0;

  Transaction sign_as_partner(PartnerId partner, pc::ledger::TxBody body) {
    pc::ledger::UnsignedTransaction fields;
    fields.chain_id = genesis_.chain_id;
    fields.sequence = ++next_sequence_[partner - 1];
    fields.last_valid_height = last_valid_height;
    fields.body = std::move(body);
    return Transaction::sign(std::move(fields), issuer_keys_[partner - 1]);
  }
};

struct PhaseResult {
  RunResult best_proposer;   // the run with the highest proposer rate
  RunResult best_validator;  // the run with the highest validator rate
};

PhaseResult run_phase(BenchChain& chain, const Options& options,
                      const std::function<std::vector<Transaction>()>& sign_block) {
  PhaseResult phase;
  for (std::size_t run = 0; run < options.repeats; ++run) {
    std::vector<std::vector<Transaction>> blocks;
    for (std::size_t b = 0; b < options.blocks; ++b) blocks.push_back(sign_block());
    const RunResult result = chain.run_blocks(std::move(blocks));
    if (run == 0 || result.proposer_rate() > phase.best_proposer.proposer_rate()) phase.best_proposer = result;
    if (run == 0 || result.validator_rate() > phase.best_validator.validator_rate()) phase.best_validator = result;
  }
  return phase;
}

// The cost of one synced LevelDB write of a tiny batch: the fsync floor every block pays,
// whatever it holds. The median of several writes, in seconds.
double synced_write_seconds(const std::filesystem::path& path) {
  leveldb::Options options;
  options.create_if_missing = true;
  leveldb::DB* raw_db = nullptr;
  if (auto status = leveldb::DB::Open(options, path.string(), &raw_db); !status.ok()) {
    fail("fsync probe: " + status.ToString());
  }
  const std::unique_ptr<leveldb::DB> db(raw_db);
  leveldb::WriteOptions write;
  write.sync = true;
  std::vector<double> samples;
  for (std::size_t i = 0; i < fsync_probe_writes; ++i) {
    leveldb::WriteBatch batch;
    batch.Put("probe", std::to_string(i));
    const auto start = SteadyClock::now();
    if (auto status = db->Write(write, &batch); !status.ok()) fail("fsync probe: " + status.ToString());
    samples.push_back(seconds_between(start, SteadyClock::now()));
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

// ---------------------------------------------------------------------------------------
// Output

void print_breakdown_line(const char* name, const StageSeconds& stages, std::size_t transactions, bool proposer) {
  const double per_tx_us = 1e6 / static_cast<double>(transactions);
  char produce[16] = "-";
  if (proposer) std::snprintf(produce, sizeof produce, "%.1f", stages.produce * per_tx_us);
  std::printf("  %-34s %8.1f %8s %8.1f %8.1f\n", name, stages.verify * per_tx_us, produce,
              stages.append * per_tx_us, stages.total() * per_tx_us);
}

// What the audit and the size measurement found in one chain's proposer store.
struct StoredChain {
  std::uint64_t blocks = 0;
  std::uint64_t issuances = 0;
  double audit_rate = 0;  // transactions per second, best run
  double disk_bytes_before_compaction = 0;
  double disk_bytes_after_compaction = 0;
  // Key and value bytes by kind of entry, before LevelDB's compression and overheads.
  std::vector<std::pair<std::string, double>> logical_bytes;
};

// Sums key and value bytes by the store's key prefixes (docs/protocol.md, "Store"), so the
// size per issuance can be split into blocks, indexes and state records.
std::vector<std::pair<std::string, double>> logical_bytes_by_kind(ChainStore& store) {
  double blocks = 0, merkle = 0, block_index = 0, tx_index = 0, accounts = 0, issuances = 0, other = 0;
  // Read-only use of the accessor meant for tests: ChainStore has no other way to list
  // entries by kind, and this is diagnostics, not a node path.
  std::unique_ptr<leveldb::Iterator> it(store.database_for_tests().NewIterator(leveldb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const leveldb::Slice key = it->key();
    const double bytes = static_cast<double>(key.size() + it->value().size());
    const char kind = key.size() > 0 ? key[0] : '\0';
    const char record_kind = key.size() > 1 ? key[1] : '\0';
    if (kind == 'B') {
      blocks += bytes;
    } else if (kind == 'M') {
      merkle += bytes;
    } else if (kind == 'H') {
      block_index += bytes;
    } else if (kind == 'X') {
      tx_index += bytes;
    } else if (kind == 'S' && record_kind == 'a') {
      accounts += bytes;
    } else if (kind == 'S' && record_kind == 'i') {
      issuances += bytes;
    } else {
      other += bytes;
    }
  }
  if (!it->status().ok()) fail("reading the store: " + it->status().ToString());
  return {{"blocks", blocks},       {"Merkle records", merkle},    {"tx index", tx_index},
          {"issuance records", issuances}, {"account records", accounts}, {"block index", block_index},
          {"other", other}};
}

// Closes `chain`, reopens its proposer store raw as an auditor would, audits it (best of
// the repeats), then measures its size before and after a full compaction.
StoredChain audit_and_measure(BenchChain& chain, const Options& options) {
  StoredChain result;
  result.issuances = chain.issuances();
  result.blocks = chain.height();
  chain.close();
  const std::unique_ptr<ChainStore> store = chain.open_store(chain.proposer_directory(), ChainStore::Mode::raw);
  result.audit_rate = best_of(options.repeats, [&] {
    const auto start = SteadyClock::now();
    // What `pointchain-node audit` runs: checks of the next window overlap the current one.
    const pc::ledger::AuditReport report = pc::node::audit_in_parallel(*store, chain.pool());
    const double seconds = seconds_between(start, SteadyClock::now());
    if (!report.ok) {
      fail("audit fault at height " + std::to_string(report.fault_height) + ": " + report.fault.message());
    }
    if (report.transactions != result.issuances) fail("the audit replayed another number of transactions");
    return static_cast<double>(report.transactions) / seconds;
  });
  result.disk_bytes_before_compaction = static_cast<double>(store->disk_bytes());
  store->compact();
  result.disk_bytes_after_compaction = static_cast<double>(store->disk_bytes());
  result.logical_bytes = logical_bytes_by_kind(*store);
  return result;
}

void print_logical_bytes(const char* name, const StoredChain& chain) {
  const double issuances = static_cast<double>(chain.issuances);
  double total = 0;
  std::printf("  %s:", name);
  for (const auto& [kind, bytes] : chain.logical_bytes) {
    std::printf(" %s %.1f,", kind.c_str(), bytes / issuances);
    total += bytes;
  }
  std::printf(" total %.1f; on disk %.1f\n", total / issuances, chain.disk_bytes_after_compaction / issuances);
}

// The pool chain: every customer has an account before the timed blocks, as in a
// coalition whose customers come back.
PhaseResult build_pool_chain(BenchChain& pool_chain, const Options& options) {
  std::fprintf(stderr, "seeding %zu customer accounts (not timed)...\n", options.customers);
  const std::vector<PublicKey> pool_customers = pool_chain.derive_customers("bench customer ", 0, options.customers);
  {
    std::vector<std::vector<Transaction>> seeding;
    for (std::size_t first = 0; first < pool_customers.size(); first += tx_per_block) {
      const std::size_t count = std::min(tx_per_block, pool_customers.size() - first);
      seeding.push_back(pool_chain.sign_issuances(std::span(pool_customers).subspan(first, count)));
    }
    (void)pool_chain.run_blocks(std::move(seeding));
  }
  std::fprintf(stderr, "apply and commit, customers from the pool...\n");
  std::mt19937_64 draw(customer_draw_seed);
  return run_phase(pool_chain, options, [&] {
    std::vector<PublicKey> customers(tx_per_block);
    for (PublicKey& customer : customers) customer = pool_customers[draw() % pool_customers.size()];
    return pool_chain.sign_issuances(customers);
  });
}

// The mixed chain: the pool chain's seeding, the loyalty program defined, then blocks that
// mix purchases (stamping cards, counting badges) with RedeemReward, UseVoucher,
// PartialReturn and AwardBadge (sign_mixed).
PhaseResult build_mixed_chain(BenchChain& chain, const Options& options) {
  std::fprintf(stderr, "seeding %zu customer accounts for the mixed chain (not timed)...\n", options.customers);
  const std::vector<PublicKey> pool_customers = chain.derive_customers("bench customer ", 0, options.customers);
  {
    std::vector<std::vector<Transaction>> seeding;
    for (std::size_t first = 0; first < pool_customers.size(); first += tx_per_block) {
      const std::size_t count = std::min(tx_per_block, pool_customers.size() - first);
      seeding.push_back(chain.sign_issuances(std::span(pool_customers).subspan(first, count)));
    }
    seeding.push_back(chain.sign_loyalty_definitions());
    (void)chain.run_blocks(std::move(seeding));
  }
  std::fprintf(stderr, "apply and commit, mixed loyalty types...\n");
  std::mt19937_64 draw(customer_draw_seed);
  return run_phase(chain, options, [&] {
    std::vector<PublicKey> customers(tx_per_block);
    for (PublicKey& customer : customers) customer = pool_customers[draw() % pool_customers.size()];
    return chain.sign_mixed(customers, pool_customers);
  });
}

// Instruction counts do not depend on the machine's load, so under
// `valgrind --tool=callgrind --instr-atstart=no` this counts the work of one-core verify and of
// the audit exactly, in two dumps: "raw-verify" (raw_message_count verifies on this thread)
// and "audit" (audit_in_parallel of the pool chain, every thread). bench/README.md reads them.
int run_profile(const Options& options) {
  pc::crypto::initialize();
  pc::node::WorkerPool pool(0, "bench-worker");
  if (!RUNNING_ON_VALGRIND) {
    std::printf("warning: not under valgrind, nothing is counted (see bench/README.md, \"Profiling the audit\")\n");
  }
  const pc::bench::ScratchDirectory scratch(options.base_directory, "pointchain-bench-");
  const std::vector<SignedMessage> messages = pc::bench::make_signed_messages();
  CALLGRIND_ZERO_STATS;
  CALLGRIND_START_INSTRUMENTATION;
  for (const SignedMessage& entry : messages) {
    if (!pc::bench::raw_verify(entry)) fail("a baseline signature does not verify");
  }
  CALLGRIND_STOP_INSTRUMENTATION;
  CALLGRIND_DUMP_STATS_AT("raw-verify");

  BenchChain pool_chain(scratch.path() / "pool-chain", pool, options.protocol_version);
  (void)build_pool_chain(pool_chain, options);
  const std::uint64_t issuances = pool_chain.issuances();
  pool_chain.close();
  const std::unique_ptr<ChainStore> store = pool_chain.open_store(pool_chain.proposer_directory(), ChainStore::Mode::raw);
  std::fprintf(stderr, "audit of the pool chain...\n");
  CALLGRIND_ZERO_STATS;
  CALLGRIND_START_INSTRUMENTATION;
  const pc::ledger::AuditReport report = pc::node::audit_in_parallel(*store, pool);
  CALLGRIND_STOP_INSTRUMENTATION;
  CALLGRIND_DUMP_STATS_AT("audit");
  if (!report.ok) fail("audit fault at height " + std::to_string(report.fault_height) + ": " + report.fault.message());
  if (report.transactions != issuances) fail("the audit replayed another number of transactions");
  std::printf("profiled: %zu raw verifies; the audit of %llu blocks, %llu transactions, %zu accounts opened\n",
              messages.size(), static_cast<unsigned long long>(report.blocks),
              static_cast<unsigned long long>(report.transactions), options.customers);
  return 0;
}

int run(const Options& options) {
  if (options.profile_audit) return run_profile(options);
  pc::crypto::initialize();
  pc::node::WorkerPool pool(0, "bench-worker");
  std::printf("pointchain-bench-ledger (%s build): %zu threads verify, %zu blocks x %zu issuances per run, "
              "best of %zu runs\n",
              POINTCHAIN_BUILD_TYPE, pool.size(), options.blocks, tx_per_block, options.repeats);
  if (std::string_view(POINTCHAIN_BUILD_TYPE) == "Debug") {
    std::printf("warning: a Debug build; its figures are not worth comparing\n");
  }
  // Declared before the chains, so the stores close before their directory is removed.
  const pc::bench::ScratchDirectory scratch(options.base_directory, "pointchain-bench-");
  std::printf("scratch directory %s (removed at exit); customer draw seed %llu\n", scratch.path().c_str(),
              static_cast<unsigned long long>(customer_draw_seed));
  std::fflush(stdout);

  std::fprintf(stderr, "baseline: raw verify on one core, then on the pool...\n");
  const std::vector<SignedMessage> messages = pc::bench::make_signed_messages();
  const auto raw_rate = [&] { return pc::bench::raw_verify_rate(messages, options.raw_loop_seconds); };
  const auto parallel_rate = [&] { return pc::bench::parallel_verify_rate(messages, options.raw_loop_seconds, pool); };
  const double raw_rate_start = best_of(options.repeats, raw_rate);
  const double parallel_rate_start = best_of(options.repeats, parallel_rate);
  // crypto::verify adds the key's subgroup check: what a new account's key costs.
  const double strict_rate = best_of(options.repeats, [&] {
    return pc::bench::verify_rate(messages, options.raw_loop_seconds, [](const SignedMessage& entry) {
      return pc::crypto::verify(entry.key, entry.message, entry.signature);
    });
  });

  BenchChain pool_chain(scratch.path() / "pool-chain", pool, options.protocol_version);
  const PhaseResult reused = build_pool_chain(pool_chain, options);

  // The worst case, on a chain of its own so it does not dilute the pool chain's audit and
  // size: every issuance opens an account, whose key must pass the subgroup check.
  BenchChain fresh_chain(scratch.path() / "fresh-chain", pool, options.protocol_version);
  std::fprintf(stderr, "apply and commit, every customer new...\n");
  std::size_t next_new_customer = 0;
  const PhaseResult fresh = run_phase(fresh_chain, options, [&] {
    std::vector<PublicKey> customers =
        fresh_chain.derive_customers("bench new customer ", next_new_customer, tx_per_block);
    next_new_customer += tx_per_block;
    return fresh_chain.sign_issuances(customers);
  });
  // The mixed blocks use the newest version's types (stamp cards, badges, tiers, payments).
  BenchChain mixed_chain(scratch.path() / "mixed-chain", pool, pc::ledger::protocol_version_newest);
  const PhaseResult mixed = build_mixed_chain(mixed_chain, options);

  std::fprintf(stderr, "audit replay and size, pool chain (%llu blocks)...\n",
               static_cast<unsigned long long>(pool_chain.height()));
  const StoredChain pool_stored = audit_and_measure(pool_chain, options);
  std::fprintf(stderr, "audit replay and size, every customer new (%llu blocks)...\n",
               static_cast<unsigned long long>(fresh_chain.height()));
  const StoredChain fresh_stored = audit_and_measure(fresh_chain, options);
  std::fprintf(stderr, "audit replay and size, mixed chain (%llu blocks)...\n",
               static_cast<unsigned long long>(mixed_chain.height()));
  const StoredChain mixed_stored = audit_and_measure(mixed_chain, options);
  const double fsync_seconds = synced_write_seconds(scratch.path() / "fsync-probe");

  // A second baseline sample: if the machine got busier or quieter during the run, the two
  // differ, and the ratios are only as good as that difference.
  std::fprintf(stderr, "baseline again...\n");
  const double raw_rate_end = best_of(options.repeats, raw_rate);
  const double parallel_rate_end = best_of(options.repeats, parallel_rate);
  const double baseline = std::max(raw_rate_start, raw_rate_end);
  const double parallel_baseline = std::max(parallel_rate_start, parallel_rate_end);

  const auto ratio = [&](double rate) { return rate / baseline; };
  const auto rate_row = [&](std::string name, double rate, std::optional<double> goal_ratio) {
    Row row{std::move(name), rate, 0, "tx/s", ratio(rate), "", std::nullopt};
    if (goal_ratio) {
      char goal[16];
      std::snprintf(goal, sizeof goal, ">= %.2fx", *goal_ratio);
      row.goal = goal;
      row.met = ratio(rate) >= *goal_ratio;
    }
    return row;
  };
  const auto size_row = [&](std::string name, double bytes, const StoredChain& chain, bool with_goal) {
    const double per_issuance = bytes / static_cast<double>(chain.issuances);
    Row row{std::move(name), per_issuance, 1, "bytes/issuance", std::nullopt, "", std::nullopt};
    if (with_goal) {
      row.goal = "<= " + std::to_string(static_cast<int>(disk_goal_bytes_per_issuance));
      row.met = per_issuance <= disk_goal_bytes_per_issuance;
    }
    return row;
  };

  std::vector<Row> rows;
  rows.push_back({"raw verify, 1 core (baseline)", baseline, 0, "verifies/s", 1.0, "", std::nullopt});
  rows.push_back({"raw verify, " + std::to_string(pool.size()) + " threads (calibration)", parallel_baseline, 0,
                  "verifies/s", ratio(parallel_baseline), "", std::nullopt});
  rows.push_back({"strict verify with key check, 1 core", strict_rate, 0, "verifies/s", ratio(strict_rate), "",
                  std::nullopt});
  rows.push_back(rate_row("commit, customers from pool", reused.best_proposer.proposer_rate(), commit_goal_ratio));
  rows.push_back(rate_row("commit, every customer new (worst)", fresh.best_proposer.proposer_rate(), std::nullopt));
  rows.push_back(rate_row("commit, mixed loyalty types (v4)", mixed.best_proposer.proposer_rate(), std::nullopt));
  rows.push_back(rate_row("validate, customers from pool", reused.best_validator.validator_rate(), std::nullopt));
  rows.push_back(rate_row("validate, every customer new (worst)", fresh.best_validator.validator_rate(), std::nullopt));
  rows.push_back(rate_row("validate, mixed loyalty types (v4)", mixed.best_validator.validator_rate(), std::nullopt));
  rows.push_back(rate_row("audit replay, pool chain", pool_stored.audit_rate, audit_goal_ratio));
  rows.push_back(rate_row("audit replay, every customer new", fresh_stored.audit_rate, std::nullopt));
  rows.push_back(rate_row("audit replay, mixed chain", mixed_stored.audit_rate, std::nullopt));
  rows.push_back(size_row("disk before compaction, pool chain", pool_stored.disk_bytes_before_compaction,
                          pool_stored, false));
  rows.push_back(size_row("disk after compaction, pool chain", pool_stored.disk_bytes_after_compaction,
                          pool_stored, true));
  rows.push_back(size_row("disk after compaction, every new", fresh_stored.disk_bytes_after_compaction,
                          fresh_stored, false));
  rows.push_back(size_row("disk after compaction, mixed (per tx)", mixed_stored.disk_bytes_after_compaction,
                          mixed_stored, false));
  pc::bench::print_table(rows);

  std::printf("\nbaseline samples: %.0f at the start, %.0f at the end (%+.1f%%); the higher is the baseline\n",
              raw_rate_start, raw_rate_end, 100.0 * (raw_rate_end - raw_rate_start) / raw_rate_start);
  std::printf("calibration samples on %zu threads: %.2fx at the start, %.2fx at the end (%.2fx on an idle machine)\n",
              pool.size(), ratio(parallel_rate_start), ratio(parallel_rate_end), static_cast<double>(pool.size()));
  std::printf("pool chain: %llu blocks, %llu issuances (%zu of them seeding the pool); every-new chain: %llu blocks\n",
              static_cast<unsigned long long>(pool_stored.blocks),
              static_cast<unsigned long long>(pool_stored.issuances), options.customers,
              static_cast<unsigned long long>(fresh_stored.blocks));

  std::printf("\nwhere the time goes, microseconds per transaction (best run; verify is wall time on %zu threads)\n",
              pool.size());
  std::printf("  %-34s %8s %8s %8s %8s\n", "path", "verify", "produce", "append", "total");
  print_breakdown_line("proposer, customers from pool", reused.best_proposer.proposer,
                       reused.best_proposer.transactions, true);
  print_breakdown_line("proposer, every customer new", fresh.best_proposer.proposer, fresh.best_proposer.transactions,
                       true);
  print_breakdown_line("proposer, mixed loyalty types", mixed.best_proposer.proposer, mixed.best_proposer.transactions,
                       true);
  print_breakdown_line("validator, mixed loyalty types", mixed.best_validator.validator,
                       mixed.best_validator.transactions, false);
  print_breakdown_line("validator, customers from pool", reused.best_validator.validator,
                       reused.best_validator.transactions, false);
  print_breakdown_line("validator, every customer new", fresh.best_validator.validator,
                       fresh.best_validator.transactions, false);
  std::printf("  for scale: one raw verify on one core %.1f us; one synced LevelDB write of a tiny batch %.2f ms\n"
              "  (median of %zu), that is %.1f us per transaction in a block of %zu\n",
              1e6 / baseline, fsync_seconds * 1e3, fsync_probe_writes,
              fsync_seconds * 1e6 / static_cast<double>(tx_per_block), tx_per_block);

  std::printf("\nwhere the bytes go, per issuance (keys and values before LevelDB's compression and overheads)\n");
  print_logical_bytes("pool chain", pool_stored);
  print_logical_bytes("every customer new", fresh_stored);
  print_logical_bytes("mixed chain (per transaction)", mixed_stored);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::optional<Options> options = parse_options(argc, argv);
    if (!options) return 0;
    return run(*options);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "pointchain-bench-ledger: %s\n", error.what());
    return 1;
  }
}
