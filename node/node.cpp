#include "node/node.hpp"

#include <algorithm>
#include <iostream>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <stdexcept>

#include "crypto/check.hpp"
#include "ledger/limits.hpp"
#include "ledger/merkle.hpp"
#include "crypto/bytes.hpp"
#include "node/block_producer.hpp"
#include "node/commit_pipeline.hpp"
#include "node/event_loop.hpp"
#include "node/executed_blocks.hpp"
#include "node/height_claims.hpp"
#include "node/history_index.hpp"
#include "node/mempool.hpp"
#include "node/snapshot.hpp"

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

// Room left in a block for the header and a full commit, as block_producer.cpp reserves.
constexpr std::size_t staged_block_bytes_max = ledger::block_bytes_max - 64 * 1024 - 2 * ledger::block_tx_count_max;

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

}  // namespace

// ---------------------------------------------------------------------------------------
// Node::Impl. The members after `loop` belong to the writer thread; readers use `published`
// and, for the mempool, `pending_mutex` (shared).

class Node::Impl {
 public:
  Impl(const NodeConfig& node_config, const ledger::Genesis& chain_genesis, ledger::PartnerId partner_id,
       crypto::SecretKey validator, crypto::SecretKey issuer, const Clock& node_clock, WorkerPool& pool,
       const StorageOptions& storage)
      : config(node_config),
        genesis(chain_genesis),
        partner(partner_id),
        validator_key(std::move(validator)),
        issuer_key(std::move(issuer)),
        clock(node_clock),
        workers(pool) {
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

    history = std::make_unique<HistoryIndex>(config.data_dir / "history", *store);
    mempool = std::make_unique<Mempool>(store->state(), config.mempool, clock.now_ms());
    pipeline = std::make_unique<CommitPipeline>(*store, *mempool, pending_mutex, published, *committed_height, clock);
    history_observer = std::make_unique<HistoryObserver>(*history);
    pipeline->add_observer(*history_observer);
    pipeline->add_observer(subscriptions);
    pipeline->publish_initial();
    // Last: from here on only the writer thread touches what is above.
    loop = std::make_unique<EventLoop>("pc-writer", writer_inbox_events_max, clock);
  }

  ~Impl() {
    loop->stop();
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
    if (auto failure = pipeline->failure()) {
      // It could never be committed in this process.
      return ledger::Error{ledger::Code::io_error, "block production stopped after a storage failure (" +
                                                       failure->reason + "); restart the node"};
    }
    std::unique_lock pending(pending_mutex);
    return mempool->admit(tx, clock.now_ms());
  }

  // The transaction already issued under this partner's `reference`, pending or committed.
  ledger::Result<std::optional<EarnResult>> known_issuance(const std::string& reference) const {
    if (auto pending = mempool->pending_issue(partner, reference)) {
      const ledger::Transaction* tx = mempool->find(*pending);
      PC_CHECK(tx != nullptr);
      return std::optional<EarnResult>(EarnResult{*pending, std::get<ledger::Issue>(tx->fields().body).points, true});
    }
    const ledger::IssuanceRecord* record = store->state().issuance(partner, reference);
    if (record == nullptr) return std::optional<EarnResult>();
    auto block = store->block_at(record->id.height);
    if (!block) return block.error();
    if (record->id.index >= block->transactions.size()) {
      return ledger::Error{ledger::Code::corruption, "issuance " + reference + " points past its block"};
    }
    return std::optional<EarnResult>(
        EarnResult{block->transactions[record->id.index].id(), record->points, true});
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

  // Issue signed by this node: idempotent by reference.
  ledger::Result<EarnResult> issue(const ledger::Issue& body) {
    ledger::UnsignedTransaction draft;
    draft.chain_id = genesis.chain_id;
    draft.body = body;
    if (auto status = ledger::validate_fields(draft); !status) return status.error();
    // The ledger relies on every new account's key having passed this check; it costs about
    // a signature check, so it runs before the writer, and only for a customer new to the chain.
    if (!has_account(body.customer) && !crypto::is_valid_public_key(body.customer)) {
      return ledger::Error{ledger::Code::invalid_public_key, "the customer's key is not a valid ed25519 key"};
    }
    return on_writer<EarnResult>([&]() -> ledger::Result<EarnResult> {
      auto known = known_issuance(body.reference);
      if (!known) return known.error();
      if (known->has_value()) return **known;
      const ledger::Transaction tx = sign(body);
      auto admitted = admit(tx);
      if (!admitted) return admitted.error();
      return EarnResult{tx.id(), body.points, false};
    });
  }

  // Whether a block is due now; `force`: anything pending makes it due.
  bool block_due(bool force, std::uint64_t now_ms) const {
    const ledger::Tip& tip = store->tip();
    const auto next_expiry_ms = store->state().next_expiry_ms();
    const bool expiry_due = next_expiry_ms && *next_expiry_ms <= now_ms;
    const std::size_t pending = mempool->size();
    return expiry_due || pending >= config.block_trigger_tx_count ||
           (pending > 0 && (force || now_ms >= tip.time_ms + config.block_interval_ms));
  }

  // When the block timer should look again (ms since epoch).
  std::uint64_t next_check_ms() const {
    const std::uint64_t now_ms = clock.now_ms();
    // With nothing pending an admission runs the timer anyway, so this is a slow safety poll.
    std::uint64_t next_ms = now_ms + config.block_interval_ms;
    if (!mempool->empty()) {
      next_ms = mempool->size() >= config.block_trigger_tx_count
                    ? now_ms
                    : std::min(next_ms, store->tip().time_ms + config.block_interval_ms);
    }
    if (auto expiry_ms = store->state().next_expiry_ms()) next_ms = std::min(next_ms, *expiry_ms);
    return next_ms;
  }

  // The local proposer: executes the next block from the mempool and keeps it by id. Where
  // the mempool already staged every pending transaction as that block (they all fit, and no
  // lot expiry falls due after the staging time), the block takes the staged changes at the
  // staging time instead of executing the transactions a second time.
  std::optional<ledger::Hash256> propose(bool force) {
    const std::uint64_t now_ms = clock.now_ms();
    if (!block_due(force, now_ms)) return std::nullopt;
    const ledger::Tip tip = store->tip();
    const auto next_expiry_ms = store->state().next_expiry_ms();
    const bool staged_fits = !mempool->empty() && mempool->size() <= ledger::block_tx_count_max &&
                             mempool->bytes() <= staged_block_bytes_max &&
                             (!next_expiry_ms || *next_expiry_ms > now_ms);
    const ProposerIdentity proposer{partner, &validator_key};
    ExecutedBlock executed;
    if (staged_fits) {
      std::unique_lock pending(pending_mutex);
      const std::span<const ledger::Transaction> candidates = mempool->transactions();
      executed.block.transactions.assign(candidates.begin(), candidates.end());
      executed.changes = mempool->take_staged();
      PC_CHECK(executed.changes.applied_count == executed.block.transactions.size());
      seal_block(executed.block, genesis, tip, executed.changes, proposer);
    } else {
      const std::uint64_t time_ms = std::max(now_ms, tip.time_ms + 1);
      ProducedBlock produced = produce_block(store->state(), tip, mempool->transactions(), time_ms, proposer,
                                             ledger::SignatureCheck::already_verified);
      for (const auto& [index, error] : produced.rejected) {
        executed.left_out.insert(mempool->transactions()[index].id());
      }
      const bool expiry_due = next_expiry_ms && *next_expiry_ms <= now_ms;
      if (produced.block.transactions.empty() && !expiry_due) {
        // Every candidate failed against the block (an expiry since admission, say): they are
        // dropped, and no empty block is made for them.
        std::unique_lock pending(pending_mutex);
        (void)mempool->revalidate(executed.left_out, now_ms);
        return std::nullopt;
      }
      executed.block = std::move(produced.block);
      executed.changes = std::move(produced.changes);
    }
    return executed_blocks.add(std::move(executed));
  }

  // Consensus decided `block_id`: commit it through the pipeline. The block must have been
  // executed here (proposed, or validated as someone else's proposal).
  std::optional<std::uint64_t> decided(const ledger::Hash256& block_id) {
    std::optional<ExecutedBlock> executed = executed_blocks.take(block_id);
    PC_CHECK(executed.has_value());
    const std::uint64_t height = executed->block.header.height;
    auto committed = pipeline->commit(std::move(executed->block), std::move(executed->changes), executed->left_out);
    if (!committed) {
      // Nothing changed on disk or in the store; the mempool may have handed its staged
      // changes to the block, so its transactions are staged again (all of them are kept).
      std::cerr << "pointchain-node: block " << height << " was not committed: " << committed.error().message()
                << "\n";
      std::unique_lock pending(pending_mutex);
      (void)mempool->revalidate({}, clock.now_ms());
      return std::nullopt;
    }
    executed_blocks.forget_through(height);
    return height;
  }

  // One validator holding more than 2/3 of the power decides alone: its proposal is the
  // decision (a round of one). Consensus between partners replaces this step: the writer
  // then feeds proposals, votes and timeouts to node/consensus and carries out its actions,
  // and decided() is its "commit this block".
  std::optional<std::uint64_t> produce(bool force) {
    if (pipeline->failure()) return std::nullopt;
    auto proposed = propose(force);
    if (!proposed) return std::nullopt;
    return decided(*proposed);
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
  std::unique_ptr<ledger::ChainStore> store;
  std::unique_ptr<CommittedHeightFile> committed_height;
  std::unique_ptr<HistoryIndex> history;   // its reads are LevelDB's, thread-safe
  std::unique_ptr<Mempool> mempool;
  std::unique_ptr<CommitPipeline> pipeline;
  std::unique_ptr<HistoryObserver> history_observer;
  ExecutedBlocks executed_blocks;
  std::unique_ptr<EventLoop> loop;  // the writer thread; stopped first
};

// ---------------------------------------------------------------------------------------
// Node

Node::Node(NodeConfig config, ledger::Genesis genesis, ledger::PartnerId partner, crypto::SecretKey validator_key,
           crypto::SecretKey issuer_key, const Clock& clock, WorkerPool& workers, const StorageOptions& storage)
    : config_(std::move(config)), genesis_(std::move(genesis)), partner_(partner) {
  check_config(config_);
  const ledger::Partner* me = genesis_.partner(partner_);
  if (me == nullptr) throw std::runtime_error("partner " + std::to_string(partner_) + " is not in the genesis");
  if (me->validator_key != validator_key.public_key() || me->issuer_key != issuer_key.public_key()) {
    throw std::runtime_error("this node's keys are not partner " + std::to_string(partner_) +
                             "'s validator and issuer keys in the genesis");
  }
  // One validator commits alone until the consensus engine gathers the others' signatures.
  if (me->voting_power * 3 <= genesis_.total_voting_power() * 2) {
    throw std::runtime_error("partner " + std::to_string(partner_) + " holds " + std::to_string(me->voting_power) +
                             " of " + std::to_string(genesis_.total_voting_power()) +
                             " voting power: not enough to commit blocks alone, which this node needs");
  }
  impl_ = std::make_unique<Impl>(config_, genesis_, partner_, std::move(validator_key), std::move(issuer_key),
                                 clock, workers, storage);
}

Node::~Node() = default;

ledger::Result<ledger::Hash256> Node::submit(ByteSpan tx_bytes) {
  auto tx = ledger::Transaction::decode(tx_bytes);
  if (!tx) return tx.error();
  // Before the writer; a receiving key is checked only if it has no account yet.
  const auto has_account = [this](const crypto::PublicKey& key) { return impl_->has_account(key); };
  if (auto status = ledger::verify_transaction_signature(genesis_, *tx, has_account); !status) return status.error();
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
  using Results = std::vector<ledger::Result<ledger::Hash256>>;
  auto admitted = impl_->loop->call([&] {
    Results results;
    results.reserve(txs.size());
    for (std::size_t i = 0; i < txs.size(); ++i) {
      if (!checked[i]) {
        results.emplace_back(checked[i].error());
      } else {
        results.push_back(impl_->admit(*decoded[i]));
      }
    }
    return results;
  });
  if (!admitted) return Results(txs.size(), ledger::Result<ledger::Hash256>(admitted.error()));
  return std::move(*admitted);
}

std::optional<std::uint64_t> Node::produce_if_due() {
  auto height = impl_->loop->call([this] { return impl_->produce(false); });
  return height ? *height : std::nullopt;
}

std::optional<std::uint64_t> Node::produce_pending() {
  auto height = impl_->loop->call([this] { return impl_->produce(true); });
  return height ? *height : std::nullopt;
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

std::optional<StorageFailure> Node::storage_failure() const { return impl_->pipeline->failure(); }

ChainInfo Node::chain_info() const {
  std::shared_lock pending(impl_->pending_mutex);
  const std::shared_ptr<const Snapshot> snapshot = impl_->snapshot();
  return ChainInfo{genesis_.chain_id, genesis_.coalition_name, snapshot->tip, impl_->mempool->size(),
                   snapshot->totals,  partner_};
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
  return view;
}

std::vector<HistoryEntry> Node::history(const crypto::PublicKey& key, HistoryCursor before,
                                        std::size_t limit) const {
  return impl_->history->entries(key, before, std::min(limit, history_page_max));
}

std::vector<std::pair<ledger::Partner, ledger::PartnerStats>> Node::partners() const {
  return impl_->snapshot()->partners;
}

std::map<std::pair<ledger::PartnerId, ledger::PartnerId>, std::uint64_t> Node::settlement() const {
  return impl_->snapshot()->settlement;
}

ledger::Result<EarnResult> Node::earn(const crypto::PublicKey& customer, std::int64_t amount_minor,
                                      const std::string& currency, const std::string& order_id) {
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
  return impl_->issue(body);
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
    if (auto pending = impl_->mempool->pending_reverse(partner_, order_id)) return *pending;
    return impl_->admit(impl_->sign(body));
  });
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
