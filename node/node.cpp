#include "node/node.hpp"

#include <leveldb/env.h>
#include <pthread.h>
#include <sodium/randombytes.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <iostream>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <stdexcept>
#include <thread>
#include <unordered_set>

#include "crypto/check.hpp"
#include "crypto/referral_code.hpp"
#include "crypto/table_hash.hpp"
#include "ledger/limits.hpp"
#include "ledger/merkle.hpp"
#include "ledger/protocol.hpp"
#include "ledger/voucher.hpp"
#include "crypto/bytes.hpp"
#include "node/analytics_index.hpp"
#include "node/block_producer.hpp"
#include "node/commit_pipeline.hpp"
#include "node/consensus/consensus.hpp"
#include "node/consensus_files.hpp"
#include "node/consensus_peers.hpp"
#include "node/event_loop.hpp"
#include "node/executed_blocks.hpp"
#include "node/height_claims.hpp"
#include "node/history_index.hpp"
#include "node/mempool.hpp"
#include "node/observer_thread.hpp"
#include "node/snapshot.hpp"
#include "node/webhook_queue.hpp"
#include "node/webhook_sender.hpp"

namespace pc::node {
namespace {

void check_config(const NodeConfig& config) {
  const auto require = [](bool condition, const char* what) {
    if (!condition) throw std::invalid_argument(std::string("node config: ") + what);
  };
  require(!config.data_dir.empty(), "data_dir is empty");
  require(config.block_interval_ms > 0, "block_interval_ms must be positive");
  require(config.block_trigger_tx_count > 0, "block_trigger_tx_count must be positive");
  require(config.tx_validity_blocks > 0 && config.tx_validity_blocks <= ledger::tx_validity_blocks_max,
          "tx_validity_blocks out of range");
  require(config.return_window_days <= ledger::pending_days_max, "return_window_days is over 365");
  require(config.mempool.tx_count_max > 0 && config.mempool.per_signer_max > 0, "mempool limits must be positive");
}

// The lull rule (docs/node.md, "Block production"), for a validator that commits alone: the
// pending transactions become a block once none has arrived for this long, instead of
// waiting out the interval ...
constexpr std::uint64_t block_lull_ms = 50;
// ... but no sooner than a tenth of block_interval_ms after the tip's time, so that a trickle
// of transactions makes at most ten times the blocks the interval would.
constexpr std::uint64_t block_lull_interval_divisor = 10;

// Consensus timers held at once: a few of the current round and the rebroadcast timer.
constexpr std::size_t consensus_timeouts_max = 64;
// Transaction ids remembered as verified (Impl::verified_ids): about a block's worth of
// seconds at the bench's rates; 2 MiB.
constexpr std::size_t verified_tx_ids_max = 65'536;

// Room left in a block for the header and a full commit, as block_producer.cpp reserves.
constexpr std::size_t staged_block_bytes_max = ledger::block_bytes_max - 64 * 1024 - 2 * ledger::block_tx_count_max;

// LevelDB runs the compactions of every database in the process on one thread, started by the
// first database that needs one and named after the thread that started it: the writer's or
// the observers' CPU then included every database's compactions. Started here, before any
// database opens, under a name of its own (a later call queues a no-op).
void name_leveldb_compaction_thread() {
  std::thread([] {
    pthread_setname_np(pthread_self(), "pc-leveldb");
    leveldb::Env::Default()->Schedule([](void*) {}, nullptr);
  }).join();
}

// The history index as a commit observer. Its failures are printed: it is derived data,
// rebuilt at the next start when it falls behind.
class HistoryObserver final : public CommitObserver {
 public:
  explicit HistoryObserver(HistoryIndex& index) : index_(index) {}
  void block_committed(const CommittedBlock& block) override {
    if (auto status = index_.add_block(block.block, block.events); !status) {
      std::cerr << "pointchain-node: " << status.error().message() << "\n";
    }
  }

 private:
  HistoryIndex& index_;
};

// data_dir/earning-rules.json, its tier names checked against the genesis tier program; no
// rule set when the file is absent.
pc::Result<std::shared_ptr<const rules::RuleSet>, std::string> read_rules_file(const std::filesystem::path& data_dir,
                                                                                const ledger::TierProgram& tiers) {
  const std::filesystem::path path = data_dir / earning_rules_file_name;
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    if (error) return "cannot read " + path.string() + ": " + error.message();
    return std::shared_ptr<const rules::RuleSet>();
  }
  auto loaded = rules::load_rule_set(path, tiers);
  if (!loaded) return loaded.error();
  return std::make_shared<const rules::RuleSet>(std::move(loaded).value());
}

// A customer's history entries read to gather their facts: a bound on the cost of one earn
// (each entry from this partner costs a transaction lookup in the chain store).
constexpr std::size_t facts_history_entries_max = 1'000;
// Candidates looked at when finding an order's tagged reference (docs/earning-rules.md).
constexpr std::size_t order_reference_candidates_max = 16;

// The account a referral code names (crypto/referral_code.hpp): a seek to the first account
// record at or after the code's 55 bits; the two records from there tell unknown, one, or two.
ledger::Result<crypto::PublicKey> resolve_referral_code(const ledger::StoreView& store, std::string_view text) {
  auto code = crypto::decode_referral_code(text);
  if (!code) {
    return ledger::Error{ledger::Code::referral_code_invalid, std::string(crypto::describe(code.error()))};
  }
  crypto::PublicKey lowest{};
  std::copy(code->key_prefix.begin(), code->key_prefix.end(), lowest.begin());
  const Bytes start = ledger::record::account_key(lowest);
  // The records sharing the code's first 48 bits; the 55-bit matches come first from `start`.
  const Bytes prefix(start.begin(), start.end() - static_cast<std::ptrdiff_t>(lowest.size() - 6));
  auto records = store.state_records_with_prefix(prefix, start, 2);
  if (!records) return records.error();
  std::vector<crypto::PublicKey> matches;
  for (const ledger::Record& record : *records) {
    PC_CHECK(record.key.size() == start.size());
    crypto::PublicKey key{};
    std::copy(record.key.end() - static_cast<std::ptrdiff_t>(key.size()), record.key.end(), key.begin());
    if (crypto::key_has_referral_prefix(key, code->key_prefix)) matches.push_back(key);
  }
  const std::string shown = crypto::format_referral_code(code->code);
  if (matches.empty()) {
    return ledger::Error{ledger::Code::referral_code_unknown, "no customer on the chain has the referral code " + shown};
  }
  if (matches.size() > 1) {
    return ledger::Error{ledger::Code::referral_code_ambiguous,
                         "two customers on the chain share the referral code " + shown +
                             ": it cannot name a referrer"};
  }
  return matches.front();
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Node::Impl. The members after `loop` belong to the writer thread; readers use `published`
// and, for the mempool, `pending_mutex` (shared).

class Node::Impl {
 public:
  Impl(const NodeConfig& node_config, const ledger::Genesis& chain_genesis, ledger::PartnerId partner_id,
       crypto::SecretKey validator, crypto::SecretKey issuer, const Clock& node_clock, WorkerPool& pool,
       const StorageOptions& storage, ConsensusPeers* consensus_peers)
      : config(node_config),
        genesis(chain_genesis),
        partner(partner_id),
        validator_key(std::move(validator)),
        issuer_key(std::move(issuer)),
        clock(node_clock),
        workers(pool) {
    name_leveldb_compaction_thread();
    const std::filesystem::path chain_directory = config.data_dir / "chain";
    auto opened = ledger::ChainStore::open(chain_directory, genesis, ledger::ChainStore::Mode::load_state, storage.env);
    if (!opened) {
      const bool missing = opened.error().code == ledger::Code::not_found;
      throw std::runtime_error("cannot open the chain store: " + opened.error().message() +
                               (missing ? " (`pointchain-node init` creates a data dir's store; if chain/ is on a "
                                          "volume of its own, is it mounted?)"
                                        : ""));
    }
    store = std::move(opened).value();

    // Before the history index opens: it would rebuild itself down to a shorter chain.
    const std::filesystem::path height_path = config.data_dir / CommittedHeightFile::file_name;
    std::vector<HeightClaim> claims;
    if (auto height = CommittedHeightFile::read(height_path)) claims.push_back({height_path.string(), *height});
    if (auto height = HistoryIndex::recorded_height(config.data_dir / "history", genesis)) {
      claims.push_back({"the history index " + (config.data_dir / "history").string(), *height});
    }
    check_height_claims(chain_directory, store->tip().height, claims, storage.accept_lost_blocks, std::cerr);
    committed_height = std::make_unique<CommittedHeightFile>(height_path, store->tip().height);
    // Before anything publishes a snapshot or derives an index: a consensus file that refuses
    // to open stops the start here, with nothing changed.
    open_consensus_stores(storage.accept_lost_blocks);

    history = std::make_unique<HistoryIndex>(config.data_dir / "history", *store);
    analytics = std::make_unique<AnalyticsIndex>(config.data_dir / "analytics", *store);
    mempool = std::make_unique<Mempool>(store->state(), config.mempool, clock.now_ms());
    pipeline = std::make_unique<CommitPipeline>(*store, *mempool, pending_mutex, published, *committed_height, clock);
    history_observer = std::make_unique<HistoryObserver>(*history);
    analytics_observer = std::make_unique<AnalyticsObserver>(*analytics);
    // Behind the writer, in this order: a subscriber told of a block finds it in the indexes.
    observer_thread = std::make_unique<ObserverThread>(
        std::vector<CommitObserver*>{history_observer.get(), analytics_observer.get(), &subscriptions},
        store->tip().height);
    pipeline->set_observer_thread(observer_thread.get());
    if (!config.webhooks.endpoints.empty()) {
      webhook_queue = std::make_unique<WebhookQueue>(config.data_dir / "webhooks", *store, partner, config.webhooks);
      pipeline->add_observer(*webhook_queue);
      webhook_sender = std::make_unique<WebhookSender>(*webhook_queue, config.webhooks);
    }
    pipeline->publish_initial();

    const ledger::Partner* me = genesis.partner(partner);
    PC_CHECK(me != nullptr || partner == observer_partner);
    // A partner with no voting power, or an observer, follows: its engine never signs.
    if (me != nullptr && me->voting_power > 0) signer = std::make_unique<consensus::SignerGuard>(validator_key, *signer_state);
    commits_alone = signer != nullptr && me->voting_power * 3 > genesis.total_voting_power() * 2;
    engine = std::make_unique<consensus::Engine>(genesis, partner, signer.get(), *consensus_log);
    if (consensus_peers == nullptr) {
      no_peers = std::make_unique<NoConsensusPeers>();
      consensus_peers = no_peers.get();
    }
    peers = consensus_peers;
    schedule = ledger::ProposerSchedule::for_height(genesis, store->tip().height + 1);
    start_height();
    // Last: from here on only the writer thread touches what is above.
    loop = std::make_unique<EventLoop>("pc-writer", writer_inbox_events_max, clock);
  }

  ~Impl() {
    loop->stop();
    observer_thread->stop();  // the indexes get every committed block before they close
    webhook_sender.reset();  // its thread reads the queue
    // Snapshots hold LevelDB snapshots of the store: they go before it.
    published.store(nullptr);
  }

  std::shared_ptr<const Snapshot> snapshot() const { return published.load(); }

  // Whether `key` has an account. Its key was checked when the account was opened, and
  // accounts are never removed, so a true answer stays true.
  bool has_account(const crypto::PublicKey& key) const {
    auto account = snapshot()->store.account(key);
    return account && account->has_value();
  }

  // Runs `work` (which returns a Result) on the writer; the inbox-full error otherwise.
  template <class Value, class Work>
  ledger::Result<Value> on_writer(Work&& work) {
    auto result = loop->call(std::forward<Work>(work));
    if (!result) return result.error();
    return std::move(*result);
  }

  // --- Writer thread only ------------------------------------------------------------

  // Admits a transaction whose signature is checked.
  ledger::Result<ledger::Hash256> admit(const ledger::Transaction& tx) {
    PC_CHECK(loop == nullptr || loop->on_loop_thread());
    if (partner == observer_partner) {
      // It never proposes, and relaying would make an auditor's node a way into the mempools.
      return ledger::Error{ledger::Code::invalid_field,
                           "this node is an observer: it takes no transactions (send them to a partner's node)"};
    }
    if (auto failure = pipeline->failure()) {
      // It could never be committed in this process.
      return ledger::Error{ledger::Code::io_error, "block production stopped after a storage failure (" +
                                                       failure->reason + "); restart the node"};
    }
    std::unique_lock pending(pending_mutex);
    const bool known = mempool->find(tx.id()) != nullptr;
    const std::uint64_t now_ms = clock.now_ms();
    auto admitted = mempool->admit(tx, now_ms);
    pending.unlock();
    if (admitted && !known) {
      last_admission_ms = now_ms;
      peers->transactions_admitted({*admitted});
    }
    return admitted;
  }

  // Admits, on the writer, those of `decoded` whose check passed, and remembers those it
  // verified; results in input order. `unverified[i]`: not checked here, because it was
  // verified before (remembered already).
  std::vector<ledger::Result<ledger::Hash256>> admit_checked(const std::vector<std::optional<ledger::Transaction>>& decoded,
                                                             const std::vector<ledger::Status>& checked,
                                                             const std::vector<bool>& unverified) {
    using Results = std::vector<ledger::Result<ledger::Hash256>>;
    std::vector<ledger::Hash256> verified;
    for (std::size_t i = 0; i < decoded.size(); ++i) {
      if (decoded[i] && checked[i] && !(i < unverified.size() && unverified[i])) verified.push_back(decoded[i]->id());
    }
    remember_verified(verified);
    auto admitted = loop->call([&] {
      Results results;
      results.reserve(decoded.size());
      for (std::size_t i = 0; i < decoded.size(); ++i) {
        if (!checked[i]) {
          results.emplace_back(checked[i].error());
        } else {
          results.push_back(admit(*decoded[i]));
        }
      }
      return results;
    });
    if (!admitted) return Results(decoded.size(), ledger::Result<ledger::Hash256>(admitted.error()));
    return std::move(*admitted);
  }

  // The transaction already issued under this partner's `reference`, pending or committed.
  ledger::Result<std::optional<EarnResult>> known_issuance(const std::string& reference) const {
    if (auto pending = mempool->pending_issue(partner, reference)) {
      const ledger::Transaction* tx = mempool->find(*pending);
      PC_CHECK(tx != nullptr);
      return std::optional<EarnResult>(EarnResult{*pending, std::get<ledger::Issue>(tx->fields().body).points, true, reference, std::nullopt, std::nullopt, 0, 0, {}, {}, {}});
    }
    const ledger::IssuanceRecord* record = store->state().issuance(partner, reference);
    if (record == nullptr) return std::optional<EarnResult>();
    auto block = store->block_at(record->id.height);
    if (!block) return block.error();
    if (record->id.index >= block->transactions.size()) {
      return ledger::Error{ledger::Code::corruption, "issuance " + reference + " points past its block"};
    }
    const ledger::Transaction& tx = block->transactions[record->id.index];
    // `points` is what the partner signed, as for a new issuance; on a chain with tiers the
    // record says what was credited, and at which tier.
    EarnResult known{tx.id(), std::get<ledger::Issue>(tx.fields().body).points, true, reference, std::nullopt, std::nullopt, 0, 0, {}, {}, {}};
    if (!genesis.policy.tiers.tiers.empty()) {
      known.tier = record->tier;
      known.multiplier_bp = record->multiplier_bp;
      known.credited_points = record->points;
    }
    return std::optional<EarnResult>(std::move(known));
  }

  // Signs `body` with the issuer key at this partner's next sequence.
  ledger::Transaction sign(ledger::TxBody body) const {
    ledger::UnsignedTransaction fields;
    fields.chain_id = genesis.chain_id;
    const ledger::PartnerStats* stats = store->state().partner(partner);
    PC_CHECK(stats != nullptr);
    fields.sequence = stats->issuer_sequence + mempool->pending_count(Mempool::partner_signer(partner)) + 1;
    fields.last_valid_height = store->tip().height + config.tx_validity_blocks;
    fields.body = std::move(body);
    return ledger::Transaction::sign(std::move(fields), issuer_key);
  }

  // A new issuance's answer: on a chain with tiers, the tier the chain will most likely apply
  // (the customer's at the tip) and what it credits. Writer thread.
  EarnResult new_issuance(const ledger::Transaction& tx, const ledger::Issue& body,
                          std::optional<rules::Breakdown> breakdown) const {
    EarnResult result{tx.id(), body.points, false, body.reference, std::move(breakdown), std::nullopt, 0, 0, {}, {}, {}};
    if (!genesis.policy.tiers.tiers.empty()) {
      const std::uint8_t tier = store->state().settled_tier(body.customer).tier;
      result.tier = tier;
      result.multiplier_bp = genesis.policy.tiers.multiplier_bp(tier);
      result.credited_points = ledger::multiplied_points(body.points, result.multiplier_bp).value_or(0);
    }
    return result;
  }

  // An issuance the earning rules priced: checked, signed and admitted, with the breakdown
  // that gave its points.
  ledger::Result<EarnResult> issue_priced(const ledger::Issue& body, rules::Breakdown breakdown) {
    ledger::UnsignedTransaction draft;
    draft.chain_id = genesis.chain_id;
    draft.body = body;
    if (auto status = ledger::validate_fields(draft); !status) return status.error();
    const ledger::Transaction tx = sign(body);
    auto admitted = admit(tx);
    if (!admitted) return admitted.error();
    return new_issuance(tx, body, std::move(breakdown));
  }

  // Issue signed by this node: idempotent by reference.
  ledger::Result<EarnResult> issue(const ledger::Issue& body) {
    auto work = prepare_issue(body);
    if (!work) return work.error();
    return on_writer<EarnResult>(std::move(*work));
  }

  // The checks of issue() that need no state, before the writer; then what the writer does.
  ledger::Result<EarnWork> prepare_issue(const ledger::Issue& body) {
    ledger::UnsignedTransaction draft;
    draft.chain_id = genesis.chain_id;
    draft.body = body;
    if (auto status = ledger::validate_fields(draft); !status) return status.error();
    // The ledger relies on every new account's key having passed this check; it costs about
    // a signature check, so it runs before the writer, and only for a customer new to the chain.
    if (!has_account(body.customer) && !crypto::is_valid_public_key(body.customer)) {
      return ledger::Error{ledger::Code::invalid_public_key, "the customer's key is not a valid ed25519 key"};
    }
    return EarnWork([this, body]() -> ledger::Result<EarnResult> {
      // The order may have been earned under earning rules, its reference tagged.
      auto known = known_issuance(order_reference(body.reference).value_or(body.reference));
      if (!known) return known.error();
      if (known->has_value()) return **known;
      const ledger::Transaction tx = sign(body);
      auto admitted = admit(tx);
      if (!admitted) return admitted.error();
      return new_issuance(tx, body, std::nullopt);
    });
  }

  // The reference this partner issued `order_id` under, pending or committed: the order id
  // itself, or (earning rules) the order id, '~' and a rule set's tag, whichever rule set
  // was in force then. Writer thread, or with pending_mutex held.
  std::optional<std::string> order_reference(const std::string& order_id) const {
    if (mempool->pending_issue(partner, order_id) || store->state().issuance(partner, order_id)) return order_id;
    if (order_id.find(rules::reference_separator) != std::string::npos) return std::nullopt;
    const std::string prefix = order_id + rules::reference_separator;
    const auto tagged = [&](const std::string& reference) {
      return reference.size() == prefix.size() + rules::rule_tag_chars &&
             reference.find(rules::reference_separator, prefix.size()) == std::string::npos;
    };
    for (const std::string& reference :
         mempool->pending_issue_references_with_prefix(partner, prefix, order_reference_candidates_max)) {
      if (tagged(reference)) return reference;
    }
    for (const std::string& reference :
         store->state().issuance_references_with_prefix(partner, prefix, order_reference_candidates_max)) {
      if (tagged(reference)) return reference;
    }
    return std::nullopt;
  }

  // The customer's tier state in `view` (part of the account record), settled at its tip's block time: what the state
  // machine's State::settled_tier gives at that height.
  ledger::Result<ledger::TierStatus> settled_tier(const Snapshot& view, const crypto::PublicKey& customer) const {
    auto account = view.store.account(customer);
    if (!account) return account.error();
    const ledger::TierStatus status = account->has_value() ? (*account)->tier : ledger::TierStatus{};
    return ledger::settle_tier(genesis.policy.tiers, genesis.genesis_time_ms, status, view.tip.time_ms);
  }

  std::shared_ptr<const rules::RuleSet> current_rules() const {
    std::lock_guard lock(rules_mutex);
    return active_rules;
  }

  // The customer's issuances still pending: this partner's purchases count in every period
  // (they are now), and every partner's in the recent segments, at `now_ms`. Writer thread, or
  // with pending_mutex held: O(pending).
  void add_pending_facts(const rules::RuleSet& rule_set, const crypto::PublicKey& customer, std::uint64_t now_ms,
                         rules::CustomerFacts& facts) const {
    const bool needs_recent = rule_set.recent_days_max() > 0;
    for (const ledger::Transaction& tx : mempool->transactions()) {
      const auto* issue = std::get_if<ledger::Issue>(&tx.fields().body);
      if (issue == nullptr || issue->customer != customer) continue;
      if (needs_recent) facts.recent_issues.push_back({now_ms, issue->partner, issue->points});
      if (issue->partner != partner || issue->reason != ledger::Reason::purchase) continue;
      facts.first_purchase = false;
      for (std::uint64_t& earned : facts.earned_in_period) earned = saturating_add(earned, issue->points);
    }
  }

  static std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
    std::uint64_t sum = 0;
    return __builtin_add_overflow(a, b, &sum) ? UINT64_MAX : sum;
  }

  // What the chain says about the customer (docs/earning-rules.md, "Customer facts"): their
  // history, newest first, from the history index, at most facts_history_entries_max entries.
  // Each entry the rules need (this partner's issuances; any issuance within the recent
  // segments' window; the newest activity) is looked up in the chain store for its block time.
  // The scan stops once every fact the rules ask for is known.
  ledger::Status add_chain_facts(const rules::RuleSet& rule_set, const crypto::PublicKey& customer,
                                 std::uint64_t now_ms, rules::CustomerFacts& facts) const {
    // The tier at the published tip, as the state machine settles it at the tip's block time.
    // On the writer the snapshot is the writer's own state (both move in one step at a commit),
    // so quote and earn read the same tier; pending issuances do not move it.
    if (rule_set.has_tier_segments()) {
      auto settled = settled_tier(*snapshot(), customer);
      if (!settled) return settled.error();
      facts.tier = settled->tier;
    }
    const auto starts = rules::period_starts(rule_set.time_zone_offset_minutes, now_ms);
    std::uint64_t oldest_needed_ms = UINT64_MAX;  // no cap: no period needed
    for (const rules::CustomerCap& cap : rule_set.customer_caps) {
      oldest_needed_ms = std::min(oldest_needed_ms, starts[static_cast<std::size_t>(cap.period)]);
    }
    bool needs_activity = false;
    bool needs_first_purchase = rule_set.first_purchase_bonus.has_value() || rule_set.referral.has_value();
    for (const rules::Multiplier& multiplier : rule_set.multipliers) {
      needs_activity = needs_activity || multiplier.segment.inactive_days_min.has_value();
      needs_first_purchase = needs_first_purchase || multiplier.segment.new_customer.has_value();
    }
    const std::uint64_t recent_span_ms = std::uint64_t{rule_set.recent_days_max()} * 86'400'000;
    bool needs_recent = recent_span_ms > 0;
    const std::uint64_t recent_since_ms = now_ms > recent_span_ms ? now_ms - recent_span_ms : 0;
    bool periods_done = oldest_needed_ms == UINT64_MAX;
    const auto known_enough = [&] {
      return periods_done && !needs_recent && (!needs_activity || facts.last_activity_ms) &&
             (!needs_first_purchase || !facts.first_purchase);
    };
    if (known_enough()) return {};
    const std::shared_ptr<const Snapshot> view = snapshot();
    // The index is written behind the writer: every committed earn must be in it. Entries
    // above the snapshot are skipped.
    observer_thread->wait_delivered(view->tip.height);
    HistoryCursor cursor{view->tip.height + 1, 0};
    std::size_t scanned = 0;
    while (true) {
      const std::vector<HistoryEntry> page = history->entries(customer, cursor, history_page_max);
      if (page.empty()) return {};
      for (const HistoryEntry& entry : page) {
        if (scanned++ == facts_history_entries_max) {
          if (!periods_done || needs_recent) {
            return ledger::Error{ledger::Code::too_large,
                                 "the customer's history holds more than " +
                                     std::to_string(facts_history_entries_max) +
                                     " entries in the capped periods or the segments' window: the rules cannot be applied"};
          }
          // Not seen within the bound: no first purchase bonus (the cautious answer).
          facts.first_purchase = false;
          return {};
        }
        // An expiry (no transaction) is not something the customer did.
        const bool earned = entry.event.kind == ledger::Event::Kind::earned;
        const bool ours = earned && entry.event.partner == partner;
        const bool activity = needs_activity && !facts.last_activity_ms && entry.event.tx_id != ledger::Hash256{};
        const bool recent = needs_recent && earned;
        if (!ours && !activity && !recent) continue;
        // The transaction and its block's header, without reading the block.
        auto location = view->store.find_transaction(entry.event.tx_id);
        if (!location) return location.error();
        auto proof = view->store.transaction_proof(entry.event.tx_id, *location);
        if (!proof) return proof.error();
        const std::uint64_t time_ms = proof->header.time_ms;
        if (activity) facts.last_activity_ms = time_ms;
        if (needs_recent && time_ms < recent_since_ms) needs_recent = false;  // newest first: the rest is older
        if (recent && needs_recent) facts.recent_issues.push_back({time_ms, entry.event.partner, entry.event.points});
        if (known_enough()) return {};
        if (!ours) continue;
        const auto* issue = std::get_if<ledger::Issue>(&proof->tx.fields().body);
        if (issue == nullptr || issue->reason != ledger::Reason::purchase) continue;
        facts.first_purchase = false;
        if (periods_done) {
          // Known already: nothing to count.
        } else if (time_ms < oldest_needed_ms) {
          periods_done = true;  // older than every period: so is the rest
        } else {
          for (std::size_t period = 0; period < starts.size(); ++period) {
            if (time_ms >= starts[period]) {
              facts.earned_in_period[period] = saturating_add(facts.earned_in_period[period], issue->points);
            }
          }
        }
        if (known_enough()) return {};
      }
      cursor = HistoryCursor{page.back().height, page.back().position};
    }
  }

  // This partner's issuances to `customer` whose reference starts with `prefix`: pending ones
  // and those whose block time is at or after `since_ms` (the history index, newest first),
  // counted up to `limit`. too_large past facts_history_entries_max entries. Writer thread.
  ledger::Result<std::uint64_t> count_issuances(const crypto::PublicKey& customer, std::string_view prefix,
                                                std::uint64_t since_ms, std::uint64_t limit) const {
    const auto matches = [&](const ledger::Issue* issue) {
      return issue != nullptr && issue->partner == partner && issue->customer == customer &&
             issue->reference.starts_with(prefix);
    };
    std::uint64_t count = 0;
    for (const ledger::Transaction& tx : mempool->transactions()) {
      if (matches(std::get_if<ledger::Issue>(&tx.fields().body))) ++count;
    }
    const std::shared_ptr<const Snapshot> view = snapshot();
    observer_thread->wait_delivered(view->tip.height);  // every committed issuance counted
    HistoryCursor cursor{view->tip.height + 1, 0};
    std::size_t scanned = 0;
    while (count < limit) {
      const std::vector<HistoryEntry> page = history->entries(customer, cursor, history_page_max);
      if (page.empty()) break;
      for (const HistoryEntry& entry : page) {
        if (scanned++ == facts_history_entries_max) {
          return ledger::Error{ledger::Code::too_large, "the customer's history holds more than " +
                                                            std::to_string(facts_history_entries_max) +
                                                            " entries in the period: its limit cannot be applied"};
        }
        if (entry.event.kind != ledger::Event::Kind::earned || entry.event.partner != partner) continue;
        auto location = view->store.find_transaction(entry.event.tx_id);
        if (!location) return location.error();
        auto proof = view->store.transaction_proof(entry.event.tx_id, *location);
        if (!proof) return proof.error();
        if (proof->header.time_ms < since_ms) return count;
        if (matches(std::get_if<ledger::Issue>(&proof->tx.fields().body)) && ++count >= limit) return count;
      }
      cursor = HistoryCursor{page.back().height, page.back().position};
    }
    return count;
  }

  // The referral an order of `customer` naming `referral_code` earns (docs/earning-rules.md,
  // "Referrals"), or the abuse case. Writer thread, or with pending_mutex held.
  ledger::Result<rules::ReferralAward> referral_for(const rules::RuleSet& rule_set, const crypto::PublicKey& customer,
                                                    const std::string& referral_code,
                                                    const rules::CustomerFacts& facts, std::uint64_t now_ms) const {
    if (!rule_set.referral) {
      return ledger::Error{ledger::Code::invalid_field, "the earning rules have no referrals rule"};
    }
    auto referrer = node::resolve_referral_code(snapshot()->store, referral_code);
    if (!referrer) return referrer.error();
    rules::ReferralFacts referral;
    referral.referrer = *referrer;
    referral.referred_code = crypto::encode_referral_code(customer);
    referral.self = *referrer == customer;
    // The partner's referral issuance for this customer: its reference names the customer's code.
    referral.already_referred =
        order_reference(std::string(rules::referred_reference_prefix) + referral.referred_code).has_value();
    if (!referral.self && !referral.already_referred && facts.first_purchase) {
      const rules::ReferralRule& rule = *rule_set.referral;
      auto count = count_issuances(
          *referrer, rules::referrer_reference_prefix,
          rules::event_period_start(rule_set.time_zone_offset_minutes, now_ms, rule.referrer_limit_period),
          rule.referrer_limit_count);
      if (!count) return count.error();
      referral.referrer_count_in_period = *count;
    }
    return rules::evaluate_referral(rule_set, referral, facts);
  }

  // Whether a block is due now; `force`: anything pending makes it due.
  bool block_due(bool force, std::uint64_t now_ms) const {
    const auto next_expiry_ms = store->state().next_expiry_ms();
    const bool expiry_due = next_expiry_ms && *next_expiry_ms <= now_ms;
    const std::size_t pending = mempool->size();
    return expiry_due || pending >= config.block_trigger_tx_count ||
           (pending > 0 && (force || now_ms >= interval_end_ms() || (lull_ms() && now_ms >= *lull_ms())));
  }

  // When the interval rule makes pending transactions due: block_interval_ms after the tip's
  // time, and, for a validator that needs the others' votes, also after this node built or
  // executed the tip as a proposal. The tip's time is when its transactions began staging, up
  // to an interval before it was proposed, so counted from it alone the next block was due
  // the moment the tip committed, with only what arrived during its round (blocks alternated
  // ~220 and ~20 transactions at 1,100 tx/s in the four-node bench, each small block costing
  // a round of votes and synced writes on every node for a few transactions). After a quiet
  // spell both moments are long past: nothing waits.
  std::uint64_t interval_end_ms() const {
    const std::uint64_t start_ms = commits_alone ? store->tip().time_ms : std::max(store->tip().time_ms, tip_executed_ms);
    return start_ms + config.block_interval_ms;
  }

  // For a validator that commits alone, when the lull rule makes the pending transactions
  // due: block_lull_ms after the last admission, and a tenth of the interval after the tip.
  // nullopt for a validator that needs the others' votes: a proposal there costs a network
  // round, and the interval lets the transactions reach the others first.
  std::optional<std::uint64_t> lull_ms() const {
    if (!commits_alone) return std::nullopt;
    return std::max(last_admission_ms + block_lull_ms,
                    store->tip().time_ms + config.block_interval_ms / block_lull_interval_divisor);
  }

  // When the writer should look again (ms since epoch): a block could be due, or a consensus
  // timeout falls due.
  std::uint64_t next_check_ms() const {
    const std::uint64_t now_ms = clock.now_ms();
    // With nothing pending an admission runs the timer anyway, so this is a slow safety poll.
    std::uint64_t next_ms = now_ms + config.block_interval_ms;
    // Once the height's rounds run (or production stopped), a due block changes nothing:
    // only the engine's timeouts move it on.
    if (!rounds_running && !engine->decided() && !pipeline->failure()) {
      if (!mempool->empty()) {
        next_ms = mempool->size() >= config.block_trigger_tx_count
                      ? now_ms
                      : std::min(next_ms, interval_end_ms());
        if (auto lull = lull_ms()) next_ms = std::min(next_ms, *lull);
      }
      if (auto expiry_ms = store->state().next_expiry_ms()) next_ms = std::min(next_ms, *expiry_ms);
    }
    if (!timeouts.empty()) next_ms = std::min(next_ms, timeouts.begin()->first);
    return next_ms;
  }

  // Executes the next block's transactions from the mempool at `time_ms`; the header is
  // sealed later, for the round consensus gives it. Where the mempool already staged every
  // pending transaction as that block (they all fit, and no lot expiry falls due after the
  // staging time), the block takes the staged changes at the staging time instead of
  // executing the transactions a second time.
  ExecutedBlock execute_candidates(std::uint64_t time_ms) {
    const ledger::Tip tip = store->tip();
    const auto next_expiry_ms = store->state().next_expiry_ms();
    const bool staged_fits = !mempool->empty() && mempool->size() <= ledger::block_tx_count_max &&
                             mempool->bytes() <= staged_block_bytes_max &&
                             (!next_expiry_ms || *next_expiry_ms > time_ms);
    ExecutedBlock executed;
    if (staged_fits) {
      std::unique_lock pending(pending_mutex);
      const std::span<const ledger::Transaction> candidates = mempool->transactions();
      executed.block.transactions.assign(candidates.begin(), candidates.end());
      if (commits_alone) {
        executed.changes = mempool->take_staged();
        staged_taken = true;
      } else {
        // Decided a round later at the earliest: the mempool keeps staging, so nothing is
        // applied again (restore_staged) when this block is not decided.
        executed.changes = mempool->staged_changes();
      }
      PC_CHECK(executed.changes.applied_count == executed.block.transactions.size());
      return executed;
    }
    ProducedBlock produced = build_block(store->state(), tip, mempool->transactions(), std::max(time_ms, tip.time_ms + 1),
                                         BlockSlot{}, ledger::SignatureCheck::already_verified);
    for (const auto& [index, error] : produced.rejected) executed.left_out.insert(mempool->transactions()[index].id());
    executed.block = std::move(produced.block);
    executed.changes = std::move(produced.changes);
    return executed;
  }

  // The block this validator proposes in round 0 when it calls the height's work available,
  // executed first so that a round starts only for a block with something in it: when every
  // candidate failed (an expiry since admission, say) and no expiry is due, they are dropped,
  // and no round starts for an empty block. false then.
  bool prepare_proposal(std::uint64_t now_ms) {
    ExecutedBlock executed = execute_candidates(now_ms);
    const auto next_expiry_ms = store->state().next_expiry_ms();
    const bool expiry_due = next_expiry_ms && *next_expiry_ms <= now_ms;
    if (executed.block.transactions.empty() && !expiry_due) {
      std::unique_lock pending(pending_mutex);
      (void)mempool->revalidate(executed.left_out, now_ms);
      return false;
    }
    prepared = std::move(executed);
    return true;
  }

  // Fires the consensus timeouts that are due, then, if a block is due and this height's
  // rounds have not begun, tells the engine there is work. Returns the height committed
  // meanwhile, if any (with one validator holding more than 2/3, a due block is proposed,
  // voted on and committed within this call: a round of one).
  std::optional<std::uint64_t> produce(bool force) {
    const std::uint64_t before = store->tip().height;
    fire_due_timeouts();
    if (pipeline->failure()) return std::nullopt;
    // A decided block whose commit failed without stopping the pipeline: the height starts
    // again, its log replays the decision, and the commit is tried once more.
    if (engine->decided()) start_height();
    const std::uint64_t now_ms = clock.now_ms();
    if (!rounds_running && !engine->decided() && block_due(force, now_ms)) {
      const bool proposer = signer != nullptr && schedule.proposer(0) == partner;
      if (!proposer || prepare_proposal(now_ms)) perform(engine_call([&] { return engine->on_work_available(now_ms); }));
      prepared.reset();
    }
    const std::uint64_t after = store->tip().height;
    return after > before ? std::optional<std::uint64_t>(after) : std::nullopt;
  }

  // --- Consensus: the writer drives the engine (node/consensus/consensus.hpp's contract) ---

  // The consensus write-ahead log and signer state, in data_dir/consensus/ (docs/consensus.md,
  // "Persistence"): what this validator signed survives a crash, so it never signs twice.
  void open_consensus_stores(bool accept_lost_blocks) {
    auto files = open_consensus_files(config.data_dir);
    if (!files) throw std::runtime_error("cannot open the consensus files: " + files.error().message());
    // This validator signed past the next height: blocks it helped decide are gone from the
    // store. Making new blocks at those heights means signing votes that conflict with the ones
    // it signed for the lost blocks, so that is the operator's decision, as for the store.
    const std::uint64_t next_height = store->tip().height + 1;
    if (const auto last = files->signer_state->load(); last && last->height > next_height) {
      const std::filesystem::path directory = config.data_dir / consensus_directory_name;
      const std::string what = directory.string() + " says this validator signed at height " +
                               std::to_string(last->height) + ", but the chain store ends at height " +
                               std::to_string(store->tip().height);
      if (!accept_lost_blocks) {
        throw std::runtime_error(what + " (docs/node.md, \"Lost blocks\"; `run --accept-lost-blocks` gives them up)");
      }
      std::cerr << "pointchain-node: WARNING: " << what << ".\n  --accept-lost-blocks: its signing record and "
                << "consensus log are cleared; it will sign new blocks at heights " << next_height << " to "
                << last->height << ", which conflicts with what it signed there before\n";
      *files = ConsensusFiles{};  // closes them before they are removed
      std::filesystem::remove_all(directory);
      files = open_consensus_files(config.data_dir);
      if (!files) throw std::runtime_error("cannot open the consensus files: " + files.error().message());
    }
    if (files->log->torn_records_dropped() > 0) {
      std::cerr << "pointchain-node: dropped " << files->log->torn_records_dropped()
                << " torn record(s) at the end of the consensus log (a crash in the middle of a write)\n";
    }
    consensus_log = std::move(files->log);
    signer_state = std::move(files->signer_state);
  }

  // Runs one call into the engine. When a consensus file cannot be written, the vote being
  // signed is not durable and must not leave: consensus stops in this process for good, loudly
  // (the chain and reads go on; a restart resumes from what was synced).
  template <class Call>
  consensus::Actions engine_call(Call&& call) {
    if (consensus_failure) return {};
    try {
      return call();
    } catch (const ConsensusStorageError& error) {
      consensus_failure = error.what();
      std::cerr << "pointchain-node: CONSENSUS STORAGE FAILURE: " << error.what()
                << "; this node signs and votes no more until it is restarted\n";
      pending_actions.clear();
      loopback.clear();
      timeouts.clear();
      return {};
    }
  }

  void start_height() {
    const ledger::Tip& tip = store->tip();
    PC_CHECK(schedule.height() == tip.height + 1);
    consensus::HeightStart start;
    start.height = tip.height + 1;
    start.previous_block_id = tip.block_hash;
    start.previous_time_ms = tip.time_ms;
    start.schedule = schedule;
    std::erase_if(timeouts, [&](const auto& entry) { return entry.second.height < start.height; });
    rounds_running = false;
    perform(engine_call([&] { return engine->start_height(start, clock.now_ms()); }));
  }

  void fire_due_timeouts() {
    while (!timeouts.empty() && timeouts.begin()->first <= clock.now_ms()) {
      const consensus::ScheduleTimeout timeout = timeouts.begin()->second;
      timeouts.erase(timeouts.begin());
      perform(engine_call([&] { return engine->on_timeout(timeout, clock.now_ms()); }));
    }
  }

  // Carries out the engine's actions in order. Broadcasts come back to this engine after the
  // actions before them (as from a network with no delay); actions that answers produce are
  // queued behind the rest, so the engine is never entered from inside one of its own calls.
  void perform(consensus::Actions actions) {
    for (consensus::Action& action : actions) pending_actions.push_back(std::move(action));
    if (performing) return;
    performing = true;
    while (!pending_actions.empty() || !loopback.empty()) {
      if (pending_actions.empty()) {
        const consensus::Message message = std::move(loopback.front());
        loopback.pop_front();
        for (consensus::Action& action : engine_call([&] { return engine->on_message(message, clock.now_ms()); })) {
          pending_actions.push_back(std::move(action));
        }
        continue;
      }
      consensus::Action action = std::move(pending_actions.front());
      pending_actions.pop_front();
      std::visit([this](auto& each) { act(each); }, action);
    }
    performing = false;
    restore_staged();
    consensus_height.store(engine->height());
    consensus_round.store(engine->round());
  }

  void act(consensus::Broadcast& broadcast) {
    peers->send_to_all(broadcast.message);
    loopback.push_back(std::move(broadcast.message));
  }

  void act(consensus::SendDecision& request) {
    if (request.height == 0 || request.height > store->tip().height) return;
    auto block = store->block_at(request.height);
    if (block) peers->send_to(request.to, consensus::DecisionMessage{std::move(block).value()});
  }

  void act(consensus::ScheduleTimeout& timeout) {
    if (timeout.height == engine->height()) rounds_running = true;
    // A timeout of an earlier round is ignored by the engine; only the rebroadcast timer
    // runs across rounds. What is left is a few timers of the current round.
    std::erase_if(timeouts, [&](const auto& entry) {
      const consensus::ScheduleTimeout& held = entry.second;
      return held.height < engine->height() ||
             (held.kind != consensus::TimeoutKind::rebroadcast && held.round < engine->round());
    });
    timeouts.emplace(timeout.at_ms, timeout);
    PC_CHECK(timeouts.size() <= consensus_timeouts_max);
  }

  void act(consensus::BuildProposal& request) {
    const ledger::Tip tip = store->tip();
    if (request.height != tip.height + 1) return;  // the height moved on
    ExecutedBlock executed = prepared ? std::move(*prepared) : execute_candidates(request.time_ms);
    prepared.reset();
    executed.tree = seal_block(executed.block, genesis, tip, executed.changes, BlockSlot{request.round, request.proposer});
    executed.executed_ms = clock.now_ms();
    // The engine keeps its own copy of the block; it reads this one only within the call, so
    // the block moves into executed_blocks afterwards instead of being copied for the call.
    // Its actions (a round of one commits at once, from executed_blocks) run only after that.
    consensus::Actions actions = engine_call([&] { return engine->on_block_built(executed.block, clock.now_ms()); });
    executed_blocks.add(std::move(executed));
    perform(std::move(actions));
  }

  // Executes a block proposed by another validator (or this one, before a restart) on the
  // tip; kept by id, so the commit costs a write. nullopt if it is not valid there. By value:
  // the engine's request is not read again, so its block moves in instead of being copied.
  std::optional<ExecutedBlock> execute_proposal(ledger::Block block) const {
    ledger::MerkleTree tree(block.tx_ids(), ledger::stored_merkle_first_level);
    if (tree.root() != block.header.merkle_root) return std::nullopt;
    const std::vector<ledger::Hash256>& ids = tree.tx_ids();
    const auto runner = [this](std::size_t count, const std::function<void(std::size_t)>& job) {
      workers.run(count, job);
    };
    // Every mempool entry was verified under its exact bytes when it was admitted (submit,
    // submit_batch): a gossiped transaction is not checked a second time in the proposal.
    const auto verified_before = [this](const ledger::Transaction& tx) {
      return mempool->find(tx.id()) != nullptr || was_verified(tx.id());
    };
    if (!ledger::verify_block_signatures(genesis, block, runner, &store->state(), verified_before)) return std::nullopt;
    remember_verified(ids);
    auto changes = ledger::execute_block(store->state(), block, ledger::SignatureCheck::already_verified);
    if (!changes) return std::nullopt;
    ExecutedBlock executed;
    executed.block = std::move(block);
    executed.block.commit = {};
    executed.changes = std::move(changes).value();
    executed.executed_ms = clock.now_ms();
    executed.tree = std::move(tree);
    return executed;
  }

  void act(consensus::ValidateBlock& request) {
    if (request.block.header.height != store->tip().height + 1) return;  // the height moved on
    bool valid = executed_blocks.contains(request.block_id);
    if (!valid) {
      if (auto executed = execute_proposal(std::move(request.block))) {
        executed_blocks.add(std::move(*executed));
        valid = true;
      }
    }
    perform(engine_call([&] { return engine->on_block_validated(request.block_id, valid, clock.now_ms()); }));
  }

  // The engine decided: commit through the pipeline, then start the next height.
  void act(consensus::CommitBlock& commit) {
    const std::uint64_t height = commit.block.header.height;
    PC_CHECK(height == store->tip().height + 1);
    std::optional<ExecutedBlock> executed = executed_blocks.take(commit.block.header.hash());
    // The engine decides only blocks validated here; one executed long ago may have been
    // let go (executed_blocks_max), or validated before a restart: it executes again.
    if (!executed) executed = execute_proposal(commit.block);
    PC_CHECK(executed.has_value());
    const ledger::BlockHeader header = commit.block.header;
    const std::uint64_t previous_time_ms = store->tip().time_ms;
    auto committed = pipeline->commit(std::move(commit.block), std::move(executed->changes), executed->left_out,
                                      &commit.certificate, executed->tree ? &*executed->tree : nullptr);
    if (!committed) {
      // Nothing changed on disk or in the store; the engine stays decided, and the next
      // produce tries again unless the pipeline stopped for good.
      std::cerr << "pointchain-node: block " << height << " was not committed: " << committed.error().message()
                << "\n";
      return;
    }
    staged_taken = false;  // the commit revalidated the mempool
    tip_executed_ms = executed->executed_ms;
    metrics.record_decided(header, previous_time_ms, clock.now_ms(), engine->round());
    executed_blocks.forget_through(height);
    schedule = schedule.next_height();
    start_height();
  }

  // A block fetched by sync (Node::commit_synced_block): the audit's checks of one block,
  // then the commit pipeline, then the next height.
  // `contents_checked`: Node::check_synced_blocks has run the checks that need no state.
  ledger::Status commit_synced(const ledger::Block& block, bool contents_checked) {
    if (auto failure = pipeline->failure()) {
      return ledger::Error{ledger::Code::io_error, "block production stopped after a storage failure (" +
                                                       failure->reason + "); restart the node"};
    }
    const ledger::Tip tip = store->tip();
    const std::uint64_t height = block.header.height;
    if (height <= tip.height) {
      auto ours = store->block_at(height);
      if (!ours) return ours.error();
      if (ours->header.hash() == block.header.hash()) return {};
      return ledger::Error{ledger::Code::corruption, "a certified block at height " + std::to_string(height) +
                                                         " that is not the one committed here"};
    }
    if (height != tip.height + 1) {
      return ledger::Error{ledger::Code::wrong_height, "block " + std::to_string(height) + " does not follow the tip " +
                                                           std::to_string(tip.height)};
    }
    if (contents_checked) {
      if (auto status = ledger::check_block_link(genesis, tip, block.header); !status) return status;
    } else {
      if (auto status = ledger::check_block_envelope(genesis, tip, block); !status) return status;
      const auto runner = [this](std::size_t count, const std::function<void(std::size_t)>& job) {
        workers.run(count, job);
      };
      if (auto status = ledger::verify_block_signatures(genesis, block, runner, &store->state()); !status) {
        return status;
      }
    }
    auto changes = ledger::execute_block(store->state(), block, ledger::SignatureCheck::already_verified);
    if (!changes) return changes.error();
    auto committed = pipeline->commit(block, std::move(changes).value());
    if (!committed) return committed.error();
    staged_taken = false;  // the commit revalidated the mempool
    tip_executed_ms = 0;
    metrics.record_synced(block.header, tip.time_ms);
    executed_blocks.forget_through(height);
    schedule = ledger::ProposerSchedule::for_height(genesis, height + 1);
    start_height();
    return {};
  }

  void act(consensus::EvidenceFound& found) { (void)record_evidence(found.evidence); }

  // A proposal that took the mempool's staged changes and was not committed gives them back.
  void restore_staged() {
    if (!staged_taken) return;
    staged_taken = false;
    std::unique_lock pending(pending_mutex);
    (void)mempool->revalidate({}, clock.now_ms());
  }

  // Keeps evidence the consensus engine found (its EvidenceFound action), and says so in the log.
  ledger::Result<bool> record_evidence(const ledger::Evidence& evidence) {
    PC_CHECK(loop == nullptr || loop->on_loop_thread());
    const ledger::Vote& vote = evidence.first;
    const std::string what = "evidence that validator " + std::to_string(vote.validator) + " signed two " +
                             std::string(ledger::vote_type_name(vote.type)) + "s at height " +
                             std::to_string(vote.height) + ", round " + std::to_string(vote.round);
    auto kept = store->record_evidence(evidence);
    if (!kept) {
      std::cerr << "pointchain-node: " << what << " was not kept: " << kept.error().message() << "\n";
    } else if (*kept) {
      std::cerr << "pointchain-node: " << what << ": kept (get_evidence)\n";
    }
    return kept;
  }

  const NodeConfig& config;
  const ledger::Genesis& genesis;
  const ledger::PartnerId partner;
  const crypto::SecretKey validator_key;
  const crypto::SecretKey issuer_key;
  const Clock& clock;
  WorkerPool& workers;

  PublishedSnapshot published;
  SubscriptionHub subscriptions;
  // Held exclusively by the writer while it changes the mempool (and across a commit's
  // publish and revalidation); shared by readers of the mempool.
  mutable std::shared_mutex pending_mutex;
  // Ids of the transactions whose signatures this node verified (on admission, or in another
  // validator's proposal), the latest verified_tx_ids_max of them: Bitcoin Core's signature
  // cache. An id covers every byte, the signature included, so a transaction proposed before
  // its gossip arrives, or gossiped after its proposal was checked, is verified once, not
  // twice (ledger::VerifiedBefore says why the result cannot differ).
  mutable std::mutex verified_mutex;
  // A cache: filled from const paths (execute_proposal) as well.
  mutable std::unordered_set<ledger::Hash256, crypto::TableHash> verified_ids;  // guarded by verified_mutex
  mutable std::deque<ledger::Hash256> verified_order;                           // guarded by verified_mutex

  void remember_verified(std::span<const ledger::Hash256> ids) const {
    std::lock_guard lock(verified_mutex);
    for (const ledger::Hash256& id : ids) {
      if (!verified_ids.insert(id).second) continue;
      verified_order.push_back(id);
      if (verified_order.size() > verified_tx_ids_max) {
        verified_ids.erase(verified_order.front());
        verified_order.pop_front();
      }
    }
  }
  bool was_verified(const ledger::Hash256& id) const {
    std::lock_guard lock(verified_mutex);
    return verified_ids.contains(id);
  }
  std::unique_ptr<ledger::ChainStore> store;
  std::unique_ptr<CommittedHeightFile> committed_height;
  std::unique_ptr<HistoryIndex> history;   // its reads are LevelDB's, thread-safe
  std::unique_ptr<AnalyticsIndex> analytics;  // reports read a LevelDB snapshot, thread-safe
  std::unique_ptr<Mempool> mempool;
  std::unique_ptr<CommitPipeline> pipeline;
  std::unique_ptr<HistoryObserver> history_observer;
  std::unique_ptr<AnalyticsObserver> analytics_observer;
  std::unique_ptr<ObserverThread> observer_thread;  // runs the two observers above and subscriptions
  std::unique_ptr<WebhookQueue> webhook_queue;    // null without webhook endpoints
  std::unique_ptr<WebhookSender> webhook_sender;  // delivers webhook_queue on its own thread
  ExecutedBlocks executed_blocks;

  // Consensus: the writer's alone, but the two atomics readers see.
  std::unique_ptr<consensus::WriteAheadLog> consensus_log;
  std::unique_ptr<consensus::SignerStateStore> signer_state;
  std::unique_ptr<consensus::SignerGuard> signer;  // null for a follower
  std::unique_ptr<consensus::Engine> engine;
  std::optional<std::string> consensus_failure;     // set once a consensus file write failed
  std::unique_ptr<NoConsensusPeers> no_peers;
  ConsensusPeers* peers = nullptr;
  ledger::ProposerSchedule schedule;                // of the tip's height + 1
  std::multimap<std::uint64_t, consensus::ScheduleTimeout> timeouts;  // by when they fall due
  std::deque<consensus::Action> pending_actions;
  std::deque<consensus::Message> loopback;          // this validator's broadcasts, to itself
  bool performing = false;
  bool rounds_running = false;                      // at the current height
  bool staged_taken = false;                        // the mempool's staged changes are in a block
  bool commits_alone = false;                       // this validator holds more than 2/3 of the power
  std::uint64_t last_admission_ms = 0;              // when the mempool last took a new transaction
  std::uint64_t tip_executed_ms = 0;                // the tip's ExecutedBlock::executed_ms (0: synced, or before this process)
  std::optional<ExecutedBlock> prepared;            // this validator's round-0 block, while it is due
  std::atomic<std::uint64_t> consensus_height{0};
  std::atomic<std::uint32_t> consensus_round{0};
  NodeMetrics metrics;  // thread-safe

  std::unique_ptr<EventLoop> loop;  // the writer thread; stopped first

  // The earning rules in force, replaced whole by a reload; nullptr without a rules file.
  mutable std::mutex rules_mutex;
  std::shared_ptr<const rules::RuleSet> active_rules;  // guarded by rules_mutex
};

// ---------------------------------------------------------------------------------------
// Node

Node::Node(NodeConfig config, ledger::Genesis genesis, ledger::PartnerId partner, crypto::SecretKey validator_key,
           crypto::SecretKey issuer_key, const Clock& clock, WorkerPool& workers, const StorageOptions& storage,
           ConsensusPeers* peers)
    : config_(std::move(config)), genesis_(std::move(genesis)), partner_(partner) {
  check_config(config_);
  if (partner_ == observer_partner) {
    for (const ledger::Partner& holder : genesis_.partners) {
      if (holder.validator_key == validator_key.public_key()) {
        throw std::runtime_error("an observer's key must be no partner's, and this one is partner " +
                                 std::to_string(holder.id) + "'s validator key");
      }
    }
    // The partner methods sign with a partner's issuer key, which an observer does not have.
    if (!config_.api_token.empty()) throw std::runtime_error("an observer has no partner methods: its api_token must be empty");
  }
  const ledger::Partner* me = genesis_.partner(partner_);
  if (me == nullptr && partner_ != observer_partner) {
    throw std::runtime_error("partner " + std::to_string(partner_) + " is not in the genesis");
  }
  if (me != nullptr &&
      (me->validator_key != validator_key.public_key() || me->issuer_key != issuer_key.public_key())) {
    throw std::runtime_error("this node's keys are not partner " + std::to_string(partner_) +
                             "'s validator and issuer keys in the genesis");
  }
  auto rule_set = read_rules_file(config_.data_dir, genesis_.policy.tiers);
  if (!rule_set) throw std::runtime_error(rule_set.error());
  impl_ = std::make_unique<Impl>(config_, genesis_, partner_, std::move(validator_key), std::move(issuer_key),
                                 clock, workers, storage, peers);
  impl_->active_rules = std::move(rule_set).value();
}

Node::~Node() = default;

ledger::Result<ledger::Hash256> Node::submit(ByteSpan tx_bytes) {
  auto tx = ledger::Transaction::decode(tx_bytes);
  if (!tx) return tx.error();
  // Before the writer; a receiving key is checked only if it has no account yet.
  const auto has_account = [this](const crypto::PublicKey& key) { return impl_->has_account(key); };
  if (auto status = ledger::verify_transaction_signature(genesis_, *tx, has_account); !status) return status.error();
  const ledger::Hash256 id = tx->id();
  impl_->remember_verified({&id, 1});
  return impl_->on_writer<ledger::Hash256>([&] { return impl_->admit(*tx); });
}

std::vector<ledger::Result<ledger::Hash256>> Node::submit_batch(const std::vector<Bytes>& txs) {
  std::vector<std::optional<ledger::Transaction>> decoded(txs.size());
  std::vector<ledger::Status> checked(txs.size());
  const auto has_account = [this](const crypto::PublicKey& key) { return impl_->has_account(key); };
  impl_->workers.run(txs.size(), [&](std::size_t i) {
    auto tx = ledger::Transaction::decode(txs[i]);
    if (!tx) {
      checked[i] = tx.error();
      return;
    }
    checked[i] = ledger::verify_transaction_signature(genesis_, *tx, has_account);
    decoded[i] = std::move(tx).value();
  });
  return impl_->admit_checked(decoded, checked, {});
}

std::vector<ledger::Result<ledger::Hash256>> Node::submit_decoded(const std::vector<ledger::Transaction>& txs) {
  std::vector<std::optional<ledger::Transaction>> decoded(txs.begin(), txs.end());
  std::vector<ledger::Status> checked(txs.size());
  // Verified before here (pending, or checked in a proposal): not again.
  std::vector<bool> verified(txs.size());
  for (std::size_t i = 0; i < txs.size(); ++i) verified[i] = impl_->was_verified(txs[i].id());
  const auto has_account = [this](const crypto::PublicKey& key) { return impl_->has_account(key); };
  impl_->workers.run(txs.size(), [&](std::size_t i) {
    if (!verified[i]) checked[i] = ledger::verify_transaction_signature(genesis_, txs[i], has_account);
  });
  return impl_->admit_checked(decoded, checked, verified);
}

bool Node::receive_consensus_message(consensus::Message message) {
  return impl_->loop->post([this, message = std::move(message)] {
    impl_->perform(impl_->engine_call([&] { return impl_->engine->on_message(message, impl_->clock.now_ms()); }));
  });
}

ledger::Status Node::commit_synced_block(const ledger::Block& block) {
  auto committed = impl_->loop->call([&] { return impl_->commit_synced(block, false); });
  if (!committed) return committed.error();
  return *committed;
}

ledger::Result<CheckedBlocks> Node::check_synced_blocks(std::vector<ledger::Block> blocks) const {
  // One job per block for the certificate and Merkle root, one per transaction for its
  // signature: a batch of small blocks and one large block both spread over the pool.
  std::vector<std::pair<std::size_t, std::optional<std::size_t>>> jobs;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    jobs.emplace_back(b, std::nullopt);
    for (std::size_t t = 0; t < blocks[b].transactions.size(); ++t) jobs.emplace_back(b, t);
  }
  std::vector<ledger::Status> results(jobs.size());
  // Accounts of the published snapshot: a key with an account there was checked when it was opened.
  const auto has_account = [this](const crypto::PublicKey& key) { return impl_->has_account(key); };
  impl_->workers.run(jobs.size(), [&](std::size_t i) {
    const ledger::Block& block = blocks[jobs[i].first];
    if (!jobs[i].second) {
      results[i] = ledger::check_block_contents(genesis_, block);
      return;
    }
    results[i] = ledger::verify_transaction_signature(genesis_, block.transactions[*jobs[i].second], has_account);
  });
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    if (results[i]) continue;
    const std::string where = "block " + std::to_string(blocks[jobs[i].first].header.height) + ": ";
    if (!jobs[i].second) return ledger::Error{results[i].error().code, where + results[i].error().detail};
    // As verify_block_signatures names it.
    return ledger::Error{ledger::Code::invalid_transaction, where + "transaction " + std::to_string(*jobs[i].second) +
                                                                ": " + results[i].error().message()};
  }
  return CheckedBlocks(std::move(blocks));
}

bool Node::commit_checked_blocks(CheckedBlocks blocks, std::function<void(const SyncCommit&)> done) {
  // Shared: an event is copyable, the blocks are not worth copying.
  auto shared = std::make_shared<const CheckedBlocks>(std::move(blocks));
  return impl_->loop->post([this, shared, done = std::move(done)] {
    SyncCommit commit;
    for (const ledger::Block& block : shared->blocks()) {
      commit.status = impl_->commit_synced(block, true);
      if (!commit.status) {
        const ledger::Error& error = commit.status.error();
        commit.status = ledger::Error{error.code, "block " + std::to_string(block.header.height) + ": " + error.detail};
        break;
      }
      ++commit.committed;
    }
    done(commit);
  });
}

std::vector<ledger::Hash256> Node::pending_transaction_ids(std::size_t limit) const {
  std::shared_lock pending(impl_->pending_mutex);
  const std::span<const ledger::Transaction> transactions = impl_->mempool->transactions();
  std::vector<ledger::Hash256> ids;
  ids.reserve(std::min(limit, transactions.size()));
  for (const ledger::Transaction& tx : transactions.first(std::min(limit, transactions.size()))) ids.push_back(tx.id());
  return ids;
}

std::vector<ledger::Transaction> Node::pending_transactions(std::span<const ledger::Hash256> ids) const {
  std::vector<ledger::Transaction> found;
  std::shared_lock pending(impl_->pending_mutex);
  for (const ledger::Hash256& id : ids) {
    if (const ledger::Transaction* tx = impl_->mempool->find(id)) found.push_back(*tx);
  }
  return found;
}

bool Node::knows_transaction(const ledger::Hash256& tx_id) const {
  std::shared_ptr<const Snapshot> snapshot;
  {
    std::shared_lock pending(impl_->pending_mutex);
    if (impl_->mempool->find(tx_id) != nullptr) return true;
    // Taken with the mempool: a transaction that left it is in this snapshot's blocks.
    snapshot = impl_->snapshot();
  }
  return snapshot->store.find_transaction(tx_id).ok();
}

std::optional<std::uint64_t> Node::produce_if_due() {
  auto height = impl_->loop->call([this] { return impl_->produce(false); });
  if (!height || !*height) return std::nullopt;
  impl_->observer_thread->wait_delivered(**height);
  return *height;
}

std::optional<std::uint64_t> Node::produce_pending() {
  auto height = impl_->loop->call([this] { return impl_->produce(true); });
  if (!height || !*height) return std::nullopt;
  impl_->observer_thread->wait_delivered(**height);
  return *height;
}

void Node::start_block_timer() {
  impl_->loop->set_ticker([this] {
    (void)impl_->produce(false);
    return impl_->next_check_ms();
  });
}

void Node::stop_block_timer() { impl_->loop->set_ticker(nullptr); }

std::uint64_t Node::next_check_ms() const {
  auto next_ms = impl_->loop->call([this] { return impl_->next_check_ms(); });
  // A full inbox: look again at once.
  return next_ms ? *next_ms : impl_->clock.now_ms();
}

std::string consensus_status(const ConsensusInfo& info) {
  const std::string power =
      std::to_string(info.voting_power) + " of " + std::to_string(info.total_voting_power) + " voting power";
  if (info.commits_alone) return "committing: this validator holds " + power + ", more than 2/3";
  const std::string peers = info.peers == 0 ? "no peers are connected"
                                            : std::to_string(info.peers) + " peers are connected";
  if (info.voting_power == 0) return "following: no voting power; blocks come from the validators, and " + peers;
  return "not committing alone: this validator holds " + power + ", blocks need more than 2/3, and " + peers;
}

ConsensusInfo Node::consensus_info() const {
  ConsensusInfo info;
  const ledger::Partner* me = genesis_.partner(partner_);
  info.voting_power = me == nullptr ? 0 : me->voting_power;
  info.total_voting_power = genesis_.total_voting_power();
  info.commits_alone = info.voting_power * 3 > info.total_voting_power * 2;
  info.peers = impl_->peers->connected_count();
  info.height = impl_->consensus_height.load();
  info.round = impl_->consensus_round.load();
  // The writer publishes a block's snapshot before the engine moves to the next height, so a
  // reader could see the new tip with the old height: the height being decided is never
  // below tip + 1, and a height starts at round 0.
  const std::uint64_t deciding = impl_->snapshot()->tip.height + 1;
  if (info.height < deciding) {
    info.height = deciding;
    info.round = 0;
  }
  return info;
}

ledger::Result<ConsensusState> Node::consensus_state() const {
  return impl_->on_writer<ConsensusState>([this]() -> ledger::Result<ConsensusState> {
    const consensus::Engine& engine = *impl_->engine;
    ConsensusState state;
    state.height = engine.height();
    state.round = engine.round();
    state.step = engine.step();
    state.decided = engine.decided();
    state.total_voting_power = genesis_.total_voting_power();
    const consensus::RoundVotesView votes = engine.votes_in_round(state.round);
    const auto voters = [this](const std::vector<ledger::Vote>& cast) {
      std::vector<VoteSeen> seen;
      for (const ledger::Vote& vote : cast) {
        seen.push_back(VoteSeen{vote.validator, genesis_.partner(vote.validator)->voting_power, vote.block_id});
      }
      return seen;
    };
    state.prevotes = voters(votes.prevotes);
    state.precommits = voters(votes.precommits);
    return state;
  });
}

MetricsSnapshot Node::metrics() const { return impl_->metrics.snapshot(); }

std::optional<StorageFailure> Node::storage_failure() const { return impl_->pipeline->failure(); }

ChainInfo Node::chain_info() const {
  std::shared_lock pending(impl_->pending_mutex);
  const std::shared_ptr<const Snapshot> snapshot = impl_->snapshot();
  return ChainInfo{genesis_.chain_id, genesis_.coalition_name, snapshot->tip, impl_->mempool->size(),
                   snapshot->totals,  partner_,         consensus_info()};
}

ledger::Result<ledger::Block> Node::block_at(std::uint64_t height) const {
  return impl_->snapshot()->store.block_at(height);
}

ledger::Result<ledger::Block> Node::block_by_hash(const ledger::Hash256& hash) const {
  const std::shared_ptr<const Snapshot> snapshot = impl_->snapshot();
  auto height = snapshot->store.height_of(hash);
  if (!height) return height.error();
  return snapshot->store.block_at(*height);
}

ledger::Result<TxStatus> Node::transaction(const ledger::Hash256& tx_id) const {
  std::shared_ptr<const Snapshot> snapshot;
  {
    std::shared_lock pending(impl_->pending_mutex);
    if (const ledger::Transaction* tx = impl_->mempool->find(tx_id)) {
      return TxStatus{TxStatus::Where::pending, *tx, 0, 0, {}, {}, 0, {}};
    }
    // Taken with the mempool: a transaction that left it is in this snapshot's blocks.
    snapshot = impl_->snapshot();
  }
  auto location = snapshot->store.find_transaction(tx_id);
  if (!location) return location.error();
  // The proof reads the transaction's chunk and the block's Merkle record, never the block.
  auto proof = snapshot->store.transaction_proof(tx_id, *location);
  if (!proof) return proof.error();
  return TxStatus{TxStatus::Where::committed,
                  std::move(proof->tx),
                  location->height,
                  location->index,
                  proof->header.hash(),
                  std::move(proof->merkle_path),
                  static_cast<std::size_t>(proof->tx_count),
                  proof->header.merkle_root};
}

AccountView Node::account(const crypto::PublicKey& key) const {
  AccountView view;
  view.key = key;
  std::shared_ptr<const Snapshot> snapshot;
  std::size_t pending_count = 0;
  {
    // The committed sequence and the pending count of one height.
    std::shared_lock pending(impl_->pending_mutex);
    snapshot = impl_->snapshot();
    pending_count = impl_->mempool->pending_count(Mempool::customer_signer(key));
  }
  auto account = snapshot->store.account(key);
  if (!account) {
    std::cerr << "pointchain-node: reading account " << to_hex(key) << ": " << account.error().message() << "\n";
  } else if (account->has_value()) {
    view.exists = true;
    view.account = std::move(**account);
  }
  view.balance = view.account.balance();
  view.spendable = view.account.spendable(snapshot->tip.time_ms);
  view.pending = view.balance - view.spendable;
  view.pending_sequence = view.account.sequence + pending_count + 1;
  const ledger::TierProgram& program = impl_->genesis.policy.tiers;
  if (!program.tiers.empty()) {
    // The tier state is part of the account record (a default one without an account).
    const std::uint64_t now = snapshot->tip.time_ms;
    const std::uint64_t genesis_time_ms = impl_->genesis.genesis_time_ms;
    view.tier = ledger::describe_tier(program, genesis_time_ms,
                                      ledger::settle_tier(program, genesis_time_ms, view.account.tier, now), now);
  }
  return view;
}

std::vector<HistoryEntry> Node::history(const crypto::PublicKey& key, HistoryCursor before,
                                        std::size_t limit) const {
  // As of the published snapshot at least, as when the index was written on the writer.
  impl_->observer_thread->wait_delivered(impl_->snapshot()->tip.height);
  return impl_->history->entries(key, before, std::min(limit, history_page_max));
}

std::vector<std::pair<ledger::Partner, ledger::PartnerStats>> Node::partners() const {
  return impl_->snapshot()->partners;
}

std::map<std::pair<ledger::PartnerId, ledger::PartnerId>, std::uint64_t> Node::settlement() const {
  return impl_->snapshot()->settlement;
}

ledger::Result<Report> Node::report(const ReportQuery& query) const {
  impl_->observer_thread->wait_delivered(impl_->snapshot()->tip.height);
  return impl_->analytics->report(query);
}

std::vector<WebhookEndpointStatus> Node::webhook_status() const {
  return impl_->webhook_queue ? impl_->webhook_queue->status() : std::vector<WebhookEndpointStatus>{};
}

ledger::Result<EarnResult> Node::earn(const crypto::PublicKey& customer, std::int64_t amount_minor,
                                      const std::string& currency, const std::string& order_id) {
  auto work = prepare_earn(EarnRequest{customer, amount_minor, currency, order_id});
  if (!work) return work.error();
  return impl_->on_writer<EarnResult>(std::move(*work));
}

std::vector<ledger::Result<EarnResult>> Node::earn_batch(std::span<const EarnRequest> requests) {
  std::vector<std::optional<ledger::Result<EarnWork>>> prepared(requests.size());
  impl_->workers.run(requests.size(), [&](std::size_t i) { prepared[i] = prepare_earn(requests[i]); });
  using Results = std::vector<ledger::Result<EarnResult>>;
  auto earned = impl_->loop->call([&] {
    Results results;
    results.reserve(requests.size());
    for (std::optional<ledger::Result<EarnWork>>& work : prepared) {
      if (!*work) {
        results.emplace_back((*work).error());
      } else {
        results.push_back((**work)());
      }
    }
    return results;
  });
  if (!earned) return Results(requests.size(), ledger::Result<EarnResult>(earned.error()));
  return std::move(*earned);
}

ledger::Result<Node::EarnWork> Node::prepare_earn(const EarnRequest& request) const {
  if (impl_->current_rules()) {
    rules::Order order;
    order.currency = request.currency;
    order.lines.push_back(rules::OrderLine{{}, {}, 1, request.amount_minor, {}});
    return prepare_earn_order(request.customer, order, request.order_id, std::nullopt);
  }
  const crypto::PublicKey& customer = request.customer;
  const std::int64_t amount_minor = request.amount_minor;
  const std::string& currency = request.currency;
  const std::string& order_id = request.order_id;
  auto points = points_for_purchase(config_.earn_rates, amount_minor, currency);
  if (!points) return points.error();
  if (*points == 0) return ledger::Error{ledger::Code::invalid_field, "purchase earns no points"};
  ledger::Issue body;
  body.partner = partner_;
  body.customer = customer;
  body.points = *points;
  body.reason = ledger::Reason::purchase;
  body.reference = order_id;
  body.pending_days = config_.return_window_days;
  body.purchase = ledger::Purchase{amount_minor, currency};
  return impl_->prepare_issue(body);
}

ledger::Result<EarnResult> Node::bonus(const crypto::PublicKey& customer, std::uint64_t points, ledger::Reason reason,
                                       const std::string& reference) {
  if (reason == ledger::Reason::purchase) {
    return ledger::Error{ledger::Code::invalid_field, "a bonus cannot have reason purchase: use earn"};
  }
  ledger::Issue body;
  body.partner = partner_;
  body.customer = customer;
  body.points = points;
  body.reason = reason;
  body.reference = reference;
  return impl_->issue(body);
}

ledger::Result<ledger::Hash256> Node::return_purchase(const std::string& order_id) {
  const ledger::Reverse body{partner_, order_id};
  ledger::UnsignedTransaction draft;
  draft.chain_id = genesis_.chain_id;
  draft.body = body;
  if (auto status = ledger::validate_fields(draft); !status) return status.error();
  return impl_->on_writer<ledger::Hash256>([&]() -> ledger::Result<ledger::Hash256> {
    // Under earning rules the issuance's reference carries the rule set's tag.
    const ledger::Reverse reverse{partner_, impl_->order_reference(order_id).value_or(order_id)};
    if (auto pending = impl_->mempool->pending_reverse(partner_, reverse.reference)) return *pending;
    return impl_->admit(impl_->sign(reverse));
  });
}

ledger::Result<ledger::Hash256> Node::return_part(const std::string& order_id, std::uint64_t amount_minor) {
  ledger::UnsignedTransaction draft;
  draft.chain_id = genesis_.chain_id;
  draft.body = ledger::PartialReturn{partner_, order_id, amount_minor};
  if (auto status = ledger::validate_fields(draft); !status) return status.error();
  return impl_->on_writer<ledger::Hash256>([&]() -> ledger::Result<ledger::Hash256> {
    const std::string reference = impl_->order_reference(order_id).value_or(order_id);
    return impl_->admit(impl_->sign(ledger::PartialReturn{partner_, reference, amount_minor}));
  });
}

ledger::Result<RewardPage> Node::rewards(const RewardQuery& query) const {
  const std::shared_ptr<const Snapshot> snapshot = impl_->snapshot();
  return read_rewards(snapshot->store, snapshot->tip.time_ms, query);
}

ledger::Result<VoucherPage> Node::vouchers(const crypto::PublicKey& customer,
                                           const std::optional<std::pair<ledger::PartnerId, std::string>>& after,
                                           std::size_t limit) const {
  return read_vouchers(impl_->snapshot()->store, customer, after, limit);
}

ledger::Result<VoucherCheck> Node::check_voucher(const std::string& code) const {
  return node::check_voucher(impl_->snapshot()->store, genesis_, partner_, code);
}

ledger::Result<ledger::Hash256> Node::publish_reward(std::uint32_t reward_id, const ledger::RewardTerms& terms) {
  return sign_and_admit(ledger::PublishReward{partner_, reward_id, terms});
}

ledger::Result<ledger::Hash256> Node::sign_and_admit(ledger::TxBody body) {
  ledger::UnsignedTransaction draft;
  draft.chain_id = genesis_.chain_id;
  draft.body = std::move(body);
  if (auto status = ledger::validate_fields(draft); !status) return status.error();
  return impl_->on_writer<ledger::Hash256>(
      [&]() -> ledger::Result<ledger::Hash256> { return impl_->admit(impl_->sign(draft.body)); });
}

ledger::Result<std::vector<StampCardView>> Node::stamp_cards(const crypto::PublicKey& customer, bool include_empty) const {
  const std::shared_ptr<const Snapshot> snapshot = impl_->snapshot();
  return read_stamp_cards(snapshot->store, customer, snapshot->tip.time_ms, include_empty);
}

ledger::Result<std::vector<BadgeView>> Node::badges(const crypto::PublicKey& customer, bool include_progress) const {
  return read_badges(impl_->snapshot()->store, customer, include_progress);
}

ledger::Result<Leaderboard> Node::leaderboard(const LeaderboardQuery& query) const {
  impl_->observer_thread->wait_delivered(impl_->snapshot()->tip.height);
  return impl_->analytics->leaderboard(query);
}

ledger::Result<ledger::Hash256> Node::define_stamp_card(std::uint32_t card_id, const ledger::StampCardTerms& terms) {
  return sign_and_admit(ledger::DefineStampCard{partner_, card_id, terms});
}

ledger::Result<ledger::Hash256> Node::define_badge(std::uint32_t badge_id, const ledger::BadgeTerms& terms) {
  return sign_and_admit(ledger::DefineBadge{partner_, badge_id, terms});
}

ledger::Result<ledger::Hash256> Node::award_badge(std::uint32_t badge_id, const crypto::PublicKey& customer) {
  return sign_and_admit(ledger::AwardBadge{partner_, badge_id, customer});
}

ledger::Result<ledger::Hash256> Node::grant_tier(const crypto::PublicKey& customer, std::uint8_t tier,
                                                 std::uint64_t until_ms) {
  ledger::UnsignedTransaction draft;
  draft.chain_id = genesis_.chain_id;
  draft.body = ledger::GrantTier{partner_, customer, tier, until_ms};
  if (auto status = ledger::validate_fields(draft); !status) return status.error();
  // As in Impl::issue: a key that could never sign is refused before the writer.
  if (!impl_->has_account(customer) && !crypto::is_valid_public_key(customer)) {
    return ledger::Error{ledger::Code::invalid_public_key, "the customer's key is not a valid ed25519 key"};
  }
  return impl_->on_writer<ledger::Hash256>(
      [&]() -> ledger::Result<ledger::Hash256> { return impl_->admit(impl_->sign(draft.body)); });
}

ledger::Result<ledger::Hash256> Node::use_voucher(const std::string& code) {
  ledger::UnsignedTransaction draft;
  draft.chain_id = genesis_.chain_id;
  draft.body = ledger::UseVoucher{partner_, code};
  if (auto status = ledger::validate_fields(draft); !status) return status.error();
  // The chain would say unknown_voucher; the till is better told whose voucher it is.
  auto check = check_voucher(code);
  if (!check) return check.error();
  if (check->status == VoucherCheck::Status::foreign) {
    return ledger::Error{ledger::Code::unknown_voucher, "voucher " + ledger::format_voucher_code(code) +
                                                            " is partner " + std::to_string(check->owner) +
                                                            "'s, not this partner's"};
  }
  return impl_->on_writer<ledger::Hash256>(
      [&]() -> ledger::Result<ledger::Hash256> { return impl_->admit(impl_->sign(draft.body)); });
}

ledger::Result<ledger::Hash256> Node::set_point_value(const ledger::PointValue& value) {
  ledger::UnsignedTransaction draft;
  draft.chain_id = genesis_.chain_id;
  draft.body = ledger::SetPointValue{partner_, value};
  if (auto status = ledger::validate_fields(draft); !status) return status.error();
  if (!ledger::has_points_payments(genesis_.protocol_version)) {
    return ledger::Error{ledger::Code::unsupported_type, "set_point_value needs protocol version 4; this chain runs " +
                                                             std::to_string(genesis_.protocol_version)};
  }
  return impl_->on_writer<ledger::Hash256>(
      [&]() -> ledger::Result<ledger::Hash256> { return impl_->admit(impl_->sign(draft.body)); });
}

ledger::Result<ledger::SignedPaymentRequest> Node::create_payment_request(std::uint64_t amount_minor,
                                                                          const std::string& currency,
                                                                          const std::string& order_id,
                                                                          std::uint64_t expires_in_ms) const {
  if (expires_in_ms == 0 || expires_in_ms > payment_request_expiry_ms_max) {
    return ledger::Error{ledger::Code::invalid_field,
                         "expires_in_ms must be 1 to " + std::to_string(payment_request_expiry_ms_max)};
  }
  const std::shared_ptr<const Snapshot> snapshot = impl_->snapshot();
  auto rate = snapshot->point_values.find(partner_);
  if (rate == snapshot->point_values.end()) {
    return ledger::Error{ledger::Code::no_point_value, "this partner has not declared what its points are worth (set_point_value)"};
  }
  const ledger::PointValue& value = rate->second.value;
  if (currency != value.currency) {
    return ledger::Error{ledger::Code::point_value_mismatch,
                         "this partner's points are worth " + value.currency + ", not " + currency};
  }
  ledger::PaymentRequest request;
  request.chain_id = genesis_.chain_id;
  request.partner = partner_;
  request.order_id = order_id;
  request.amount_minor = amount_minor;
  request.currency = currency;
  const std::optional<std::uint64_t> points = ledger::points_for_amount(amount_minor, value);
  if (!points) return ledger::Error{ledger::Code::overflow, "the amount is worth more than 2^64 - 1 points"};
  request.points = *points;
  request.expires_at_ms = impl_->clock.now_ms() + expires_in_ms;
  // Two requests for one order (a till that asks again) must have different ids.
  randombytes_buf(&request.nonce, sizeof request.nonce);
  if (auto status = ledger::validate_payment_request(request); !status) return status.error();
  return ledger::sign_payment_request(std::move(request), impl_->issuer_key);
}

ledger::Result<PaymentCheck> Node::payment_status(const ledger::Hash256& request_id,
                                                  std::optional<std::uint64_t> expires_at_ms) const {
  const std::shared_ptr<const Snapshot> snapshot = impl_->snapshot();
  return check_payment(snapshot->store, request_id, expires_at_ms, snapshot->tip.time_ms);
}

std::map<ledger::PaymentTotalsKey, ledger::PaymentTotals> Node::payment_totals() const {
  return impl_->snapshot()->payment_totals;
}

std::map<ledger::PartnerId, ledger::PointValueRecord> Node::point_values() const {
  return impl_->snapshot()->point_values;
}

std::map<ledger::PartnerId, ledger::PrepaidBalance> Node::prepaid_balances() const {
  return impl_->snapshot()->prepaid;
}

namespace {

ledger::Error no_rules_error() {
  return ledger::Error{ledger::Code::invalid_field, "this node has no earning rules (" +
                                                        std::string(earning_rules_file_name) + " in its data dir)"};
}

// The order's total in minor units, recorded as the Issue's purchase amount.
ledger::Result<std::int64_t> order_total_minor(const rules::Order& order) {
  std::int64_t total = 0;
  for (const rules::OrderLine& line : order.lines) {
    std::int64_t value = 0;
    if (__builtin_mul_overflow(line.unit_price_minor, static_cast<std::int64_t>(line.quantity), &value) ||
        __builtin_add_overflow(total, value, &total)) {
      return ledger::Error{ledger::Code::overflow, "the order's total passes 2^63 - 1"};
    }
  }
  return total;
}

}  // namespace

ledger::Result<rules::Breakdown> Node::quote(const crypto::PublicKey& customer, const rules::Order& order,
                                             const std::optional<std::string>& referral_code) const {
  const std::shared_ptr<const rules::RuleSet> rule_set = impl_->current_rules();
  if (!rule_set) return no_rules_error();
  if (auto status = rules::validate_order(order); !status) return status.error();
  const std::uint64_t now_ms = impl_->clock.now_ms();
  rules::CustomerFacts facts;
  {
    std::shared_lock pending(impl_->pending_mutex);
    impl_->add_pending_facts(*rule_set, customer, now_ms, facts);
  }
  if (auto status = impl_->add_chain_facts(*rule_set, customer, now_ms, facts); !status) return status.error();
  auto breakdown = rules::evaluate(*rule_set, order, facts, now_ms);
  // A purchase that earns nothing is refused by earn, so it qualifies for no referral.
  if (!breakdown || !referral_code || breakdown->points == 0) return breakdown;
  // The referral's checks read the mempool too.
  std::shared_lock pending(impl_->pending_mutex);
  auto referral = impl_->referral_for(*rule_set, customer, *referral_code, facts, now_ms);
  if (!referral) return referral.error();
  breakdown->referral = std::move(referral).value();
  return breakdown;
}

ledger::Result<EarnResult> Node::earn_order(const crypto::PublicKey& customer, const rules::Order& order,
                                            const std::string& order_id,
                                            const std::optional<std::string>& referral_code) {
  auto work = prepare_earn_order(customer, order, order_id, referral_code);
  if (!work) return work.error();
  return impl_->on_writer<EarnResult>(std::move(*work));
}

ledger::Result<ReferralCodeInfo> Node::referral_code(const crypto::PublicKey& customer) const {
  ReferralCodeInfo info;
  info.code = crypto::encode_referral_code(customer);
  auto resolved = resolve_referral_code(info.code);
  if (!resolved && resolved.error().code != ledger::Code::referral_code_unknown &&
      resolved.error().code != ledger::Code::referral_code_ambiguous) {
    return resolved.error();
  }
  info.resolves = resolved && *resolved == customer;
  info.ambiguous = !resolved && resolved.error().code == ledger::Code::referral_code_ambiguous;
  return info;
}

ledger::Result<crypto::PublicKey> Node::resolve_referral_code(std::string_view text) const {
  return node::resolve_referral_code(impl_->snapshot()->store, text);
}

ledger::Result<Node::EarnWork> Node::prepare_earn_order(const crypto::PublicKey& customer, const rules::Order& order,
                                                        const std::string& order_id,
                                                        const std::optional<std::string>& referral_code) const {
  if (!impl_->current_rules()) return no_rules_error();
  if (order_id.size() > rules::rules_order_id_bytes_max ||
      order_id.find(rules::reference_separator) != std::string::npos) {
    return ledger::Error{ledger::Code::invalid_field,
                         "under earning rules an order id is at most " +
                             std::to_string(rules::rules_order_id_bytes_max) + " bytes without '~'"};
  }
  if (auto status = rules::validate_order(order); !status) return status.error();
  auto total_minor = order_total_minor(order);
  if (!total_minor) return total_minor.error();
  // As in Impl::issue: the key check costs about a signature check, so it runs before the writer.
  if (!impl_->has_account(customer) && !crypto::is_valid_public_key(customer)) {
    return ledger::Error{ledger::Code::invalid_public_key, "the customer's key is not a valid ed25519 key"};
  }
  if (referral_code) {
    if (auto code = crypto::decode_referral_code(*referral_code); !code) {
      return ledger::Error{ledger::Code::referral_code_invalid, std::string(crypto::describe(code.error()))};
    }
  }
  return EarnWork([this, customer, order, order_id, referral_code,
                   total_minor = *total_minor]() -> ledger::Result<EarnResult> {
    if (auto reference = impl_->order_reference(order_id)) {
      auto known = impl_->known_issuance(*reference);
      if (!known) return known.error();
      PC_CHECK(known->has_value());
      return **known;
    }
    // Read on the writer: every earn evaluates under the rule set in force when it runs.
    const std::shared_ptr<const rules::RuleSet> rule_set = impl_->current_rules();
    if (!rule_set) return no_rules_error();
    const std::uint64_t now_ms = impl_->clock.now_ms();
    rules::CustomerFacts facts;
    impl_->add_pending_facts(*rule_set, customer, now_ms, facts);
    if (auto status = impl_->add_chain_facts(*rule_set, customer, now_ms, facts); !status) return status.error();
    auto breakdown = rules::evaluate(*rule_set, order, facts, now_ms);
    if (!breakdown) return breakdown.error();
    if (breakdown->points == 0) {
      return ledger::Error{ledger::Code::invalid_field, "purchase earns no points under the earning rules"};
    }
    if (referral_code) {
      auto referral = impl_->referral_for(*rule_set, customer, *referral_code, facts, now_ms);
      if (!referral) return referral.error();
      breakdown->referral = std::move(referral).value();
    }
    ledger::Issue body;
    body.partner = partner_;
    body.customer = customer;
    body.points = breakdown->points;
    body.reason = ledger::Reason::purchase;
    body.reference = order_id + rules::reference_separator + rule_set->tag;
    body.pending_days = config_.return_window_days;
    body.purchase = ledger::Purchase{total_minor, order.currency};
    std::optional<rules::ReferralAward> award = breakdown->referral;
    auto earned = impl_->issue_priced(body, std::move(breakdown).value());
    if (!earned || !award) return earned;
    // The two referral issuances (docs/earning-rules.md, "Referrals"): references that name
    // the referred customer's code, so "once per customer" is one prefix seek on the chain.
    // Pending for the order's return window, like the purchase's points.
    const std::string suffix = award->referred_code + rules::reference_separator + rule_set->tag;
    const auto referral_issue = [&](const crypto::PublicKey& to, std::uint64_t points, std::string_view prefix) {
      ledger::Issue issue;
      issue.partner = partner_;
      issue.customer = to;
      issue.points = points;
      issue.reason = ledger::Reason::referral;
      issue.reference = std::string(prefix) + suffix;
      issue.pending_days = config_.return_window_days;
      return impl_->issue_priced(issue, rules::Breakdown{});
    };
    auto referred = referral_issue(customer, award->referred_points, rules::referred_reference_prefix);
    if (!referred) {
      earned->referral_refused = referred.error();
      return earned;
    }
    earned->referred_tx_id = referred->tx_id;
    auto referrer = referral_issue(award->referrer, award->referrer_points, rules::referrer_reference_prefix);
    if (!referrer) {
      earned->referral_refused = referrer.error();
      return earned;
    }
    earned->referrer_tx_id = referrer->tx_id;
    return earned;
  });
}

ledger::Result<EarnResult> Node::earn_event(const crypto::PublicKey& customer, const std::string& event,
                                            const std::string& event_id) {
  if (!impl_->current_rules()) return no_rules_error();
  const auto kind = rules::event_kind_from_name(event);
  if (!kind) {
    return ledger::Error{ledger::Code::invalid_field,
                         "unknown event \"" + event + "\" (review, social_share, sign_up, birthday)"};
  }
  const bool id_ok = !event_id.empty() && event_id.size() <= rules::event_id_bytes_max &&
                     std::all_of(event_id.begin(), event_id.end(),
                                 [](char c) { return c >= 0x21 && c <= 0x7e && c != rules::reference_separator; });
  if (!id_ok) {
    return ledger::Error{ledger::Code::invalid_field, "event_id must be 1 to " +
                                                          std::to_string(rules::event_id_bytes_max) +
                                                          " printable ASCII characters without spaces or '~'"};
  }
  if (!impl_->has_account(customer) && !crypto::is_valid_public_key(customer)) {
    return ledger::Error{ledger::Code::invalid_public_key, "the customer's key is not a valid ed25519 key"};
  }
  const std::string prefix = event + ".";
  return impl_->on_writer<EarnResult>([&]() -> ledger::Result<EarnResult> {
    if (auto reference = impl_->order_reference(prefix + event_id)) {
      auto known = impl_->known_issuance(*reference);
      if (!known) return known.error();
      PC_CHECK(known->has_value());
      return **known;
    }
    const std::shared_ptr<const rules::RuleSet> rule_set = impl_->current_rules();
    if (!rule_set) return no_rules_error();
    const rules::EventRule* rule = nullptr;
    for (const rules::EventRule& candidate : rule_set->event_rules) {
      if (candidate.event == *kind) rule = &candidate;
    }
    // This partner's issuances of the event to the customer in the period: by reference prefix,
    // pending ones and those whose block time falls in it.
    std::uint64_t count = 0;
    if (rule != nullptr) {
      auto counted = impl_->count_issuances(
          customer, prefix,
          rules::event_period_start(rule_set->time_zone_offset_minutes, impl_->clock.now_ms(), rule->limit_period),
          rule->limit_count);
      if (!counted) return counted.error();
      count = *counted;
    }
    auto breakdown = rules::evaluate_event(*rule_set, *kind, count);
    if (!breakdown) return breakdown.error();
    ledger::Issue body;
    body.partner = partner_;
    body.customer = customer;
    body.points = breakdown->points;
    body.reason = rules::event_reason(*kind);
    body.reference = prefix + event_id + rules::reference_separator + rule_set->tag;
    return impl_->issue_priced(body, std::move(breakdown).value());
  });
}

pc::Result<std::optional<RulesInfo>, std::string> Node::reload_rules() {
  auto rule_set = read_rules_file(config_.data_dir, genesis_.policy.tiers);
  if (!rule_set) return rule_set.error();
  {
    std::lock_guard lock(impl_->rules_mutex);
    impl_->active_rules = *rule_set;
  }
  return rules_info();
}

std::optional<RulesInfo> Node::rules_info() const {
  const std::shared_ptr<const rules::RuleSet> rule_set = impl_->current_rules();
  if (!rule_set) return std::nullopt;
  return RulesInfo{config_.data_dir / earning_rules_file_name, rule_set->hash, rule_set->tag};
}

ledger::Result<bool> Node::record_evidence(const ledger::Evidence& evidence) {
  if (impl_->loop->on_loop_thread()) return impl_->record_evidence(evidence);
  return impl_->on_writer<bool>([&] { return impl_->record_evidence(evidence); });
}

ledger::Result<ledger::EvidencePage> Node::evidence(const ledger::EvidencePosition& from, std::size_t limit) const {
  return impl_->store->evidence_page(from, std::clamp<std::size_t>(limit, 1, evidence_page_max));
}

std::shared_ptr<Subscription> Node::subscribe(EventFilter filter, std::size_t queue_max) {
  return impl_->subscriptions.subscribe(std::move(filter), queue_max);
}

void Node::unsubscribe(const std::shared_ptr<Subscription>& subscription) {
  impl_->subscriptions.unsubscribe(subscription);
}

}  // namespace pc::node
