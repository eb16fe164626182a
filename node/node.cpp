#include "node/node.hpp"

#include <algorithm>
#include <iostream>
#include <set>
#include <stdexcept>

#include "crypto/check.hpp"
#include "ledger/limits.hpp"
#include "node/block_producer.hpp"
#include "node/height_claims.hpp"
#include "node/history_index.hpp"
#include "node/mempool.hpp"

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

bool matches(const EventFilter& filter, const Notification& notification) {
  if (notification.kind == Notification::Kind::block) return filter.blocks;
  const ledger::Event& event = notification.event;
  return (filter.account && *filter.account == event.account) ||
         (filter.partner && event.partner != 0 && *filter.partner == event.partner);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Subscription

std::vector<Notification> Subscription::take(std::size_t max_count) {
  std::lock_guard lock(mutex_);
  const std::size_t count = std::min(max_count, queue_.size());
  std::vector<Notification> out(std::make_move_iterator(queue_.begin()),
                                std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(count)));
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(count));
  return out;
}

bool Subscription::overflowed() const {
  std::lock_guard lock(mutex_);
  return overflowed_;
}

void Subscription::set_wakeup(std::function<void()> wakeup) {
  std::lock_guard lock(mutex_);
  wakeup_ = std::move(wakeup);
}

// ---------------------------------------------------------------------------------------
// Node::Impl: everything behind the node lock.

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
  }

  // Requires mutex. Stops block production for good: says so loudly, once.
  void stop_production_locked(std::uint64_t height, const std::string& reason) {
    if (storage_failure) return;
    storage_failure = StorageFailure{height, reason};
    std::cerr << "pointchain-node: STORAGE FAILURE: " << reason << "\n"
              << "pointchain-node: block production has stopped for good in this process: a store is never\n"
              << "  written again after a failed write (LevelDB must be reopened first). The node keeps\n"
              << "  answering reads and refuses new transactions; " << mempool->size()
              << " accepted transactions are not committed.\n"
              << "  Fix the storage (free space), then stop the node (SIGTERM) and start it again; those\n"
              << "  transactions must then be submitted again. GET /health answers 503 until then.\n"
              << std::flush;
  }

  // Admits a transaction whose signature is checked; wakes the production loop when the
  // admission may have made a block due sooner.
  ledger::Result<ledger::Hash256> admit(const ledger::Transaction& tx) {
    std::function<void()> wakeup;
    ledger::Result<ledger::Hash256> result = [&] {
      std::lock_guard lock(mutex);
      return admit_locked(tx, wakeup);
    }();
    if (wakeup) wakeup();
    return result;
  }

  // Whether `key` has an account. Its key was checked when the account was opened, and
  // accounts are never removed, so a true answer stays true after the lock is released.
  bool has_account(const crypto::PublicKey& key) const {
    std::lock_guard lock(mutex);
    return store->state().account(key) != nullptr;
  }

  // Requires mutex. Sets `wakeup` when the production loop should look again.
  ledger::Result<ledger::Hash256> admit_locked(const ledger::Transaction& tx, std::function<void()>& wakeup) {
    if (storage_failure) {
      // It could never be committed in this process.
      return ledger::Error{ledger::Code::io_error, "block production stopped after a storage failure (" +
                                                       storage_failure->reason + "); restart the node"};
    }
    auto result = mempool->admit(tx, clock.now_ms());
    if (result && (mempool->size() == 1 || mempool->size() >= config.block_trigger_tx_count)) {
      wakeup = production_wakeup;
    }
    return result;
  }

  // Requires mutex. The transaction already issued under this partner's `reference`, pending
  // or committed.
  ledger::Result<std::optional<EarnResult>> known_issuance_locked(const std::string& reference) const {
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

  // Requires mutex. Signs `body` with the issuer key at this partner's next sequence.
  ledger::Transaction sign_locked(ledger::TxBody body) const {
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
    // a signature check, so it runs outside the lock, and only for a customer new to the chain.
    if (!has_account(body.customer) && !crypto::is_valid_public_key(body.customer)) {
      return ledger::Error{ledger::Code::invalid_public_key, "the customer's key is not a valid ed25519 key"};
    }
    std::function<void()> wakeup;
    ledger::Result<EarnResult> result = [&]() -> ledger::Result<EarnResult> {
      std::lock_guard lock(mutex);
      auto known = known_issuance_locked(body.reference);
      if (!known) return known.error();
      if (known->has_value()) return **known;
      const ledger::Transaction tx = sign_locked(body);
      auto admitted = admit_locked(tx, wakeup);
      if (!admitted) return admitted.error();
      return EarnResult{tx.id(), body.points, false};
    }();
    if (wakeup) wakeup();
    return result;
  }

  const NodeConfig& config;
  const ledger::Genesis& genesis;
  const ledger::PartnerId partner;
  const crypto::SecretKey validator_key;
  const crypto::SecretKey issuer_key;
  const Clock& clock;
  WorkerPool& workers;

  // One producer at a time, held through delivery so that subscribers see blocks in order.
  // Taken before `mutex`, never while holding it.
  std::mutex production_mutex;
  // The node lock. Guards everything below except `history`, whose LevelDB is thread-safe
  // and whose pointer never changes after construction (add_block runs under the lock).
  mutable std::mutex mutex;
  std::unique_ptr<ledger::ChainStore> store;                 // guarded by mutex
  std::unique_ptr<CommittedHeightFile> committed_height;     // only the producing thread
  std::optional<StorageFailure> storage_failure;             // guarded by mutex
  std::unique_ptr<HistoryIndex> history;
  std::unique_ptr<Mempool> mempool;                          // guarded by mutex
  std::vector<std::shared_ptr<Subscription>> subscriptions;  // guarded by mutex
  std::function<void()> production_wakeup;                   // guarded by mutex

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
  // Outside the lock; a receiving key is checked only if it has no account yet.
  const auto has_account = [this](const crypto::PublicKey& key) { return impl_->has_account(key); };
  if (auto status = ledger::verify_transaction_signature(genesis_, *tx, has_account); !status) return status.error();
  return impl_->admit(*tx);
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
  std::vector<ledger::Result<ledger::Hash256>> results;
  results.reserve(txs.size());
  std::function<void()> wakeup;
  {
    std::lock_guard lock(impl_->mutex);
    for (std::size_t i = 0; i < txs.size(); ++i) {
      if (!checked[i]) {
        results.emplace_back(checked[i].error());
      } else {
        results.push_back(impl_->admit_locked(*decoded[i], wakeup));
      }
    }
  }
  if (wakeup) wakeup();
  return results;
}

std::optional<std::uint64_t> Node::produce_if_due() { return produce(false); }

std::optional<std::uint64_t> Node::produce_pending() { return produce(true); }

std::optional<std::uint64_t> Node::produce(bool force) {
  std::lock_guard production(impl_->production_mutex);
  Impl& node = *impl_;
  std::optional<ProducedBlock> produced;
  std::set<ledger::Hash256> removed;
  bool expiry_due = false;
  {
    std::lock_guard lock(node.mutex);
    if (node.storage_failure) return std::nullopt;
    const std::uint64_t now_ms = node.clock.now_ms();
    const ledger::Tip tip = node.store->tip();
    const auto next_expiry_ms = node.store->state().next_expiry_ms();
    expiry_due = next_expiry_ms && *next_expiry_ms <= now_ms;
    const std::size_t pending = node.mempool->size();
    const bool due = expiry_due || pending >= config_.block_trigger_tx_count ||
                     (pending > 0 && (force || now_ms >= tip.time_ms + config_.block_interval_ms));
    if (!due) return std::nullopt;

    const std::uint64_t time_ms = std::max(now_ms, tip.time_ms + 1);
    produced = produce_block(node.store->state(), tip, node.mempool->transactions(), time_ms,
                             ProposerIdentity{partner_, &node.validator_key}, ledger::SignatureCheck::already_verified);
    for (const ledger::Transaction& tx : produced->block.transactions) removed.insert(tx.id());
    for (const auto& [index, error] : produced->rejected) removed.insert(node.mempool->transactions()[index].id());
    if (produced->block.transactions.empty() && !expiry_due) {
      // Every candidate failed against the block (an expiry since admission, say): they are
      // dropped, and no empty block is made for them.
      (void)node.mempool->revalidate(removed, now_ms);
      return std::nullopt;
    }
  }

  // The synced write runs without the node lock, so submissions and queries go on meanwhile:
  // until publish() they see the old tip, and the block's transactions are still pending.
  // Only this thread (production_mutex) changes the store.
  const std::uint64_t height = produced->block.header.height;
  if (auto status = node.store->write_executed(produced->block, produced->changes); !status) {
    // Nothing changed in memory, and the mempool still holds every candidate; but LevelDB's
    // log may now end in a torn record, so this store is never written again.
    std::lock_guard lock(node.mutex);
    node.stop_production_locked(height, status.error().message());
    return std::nullopt;
  }
  // Synced before anyone hears of the block. If it fails, the block is still committed (it is
  // in the store), so it is published; production stops, since the height is not safe.
  const ledger::Status height_recorded = node.committed_height->record(height);

  const std::vector<ledger::Event> events = produced->changes.events;
  const ledger::Block& written = produced->block;
  {
    std::lock_guard lock(node.mutex);
    node.store->publish(written, std::move(produced->changes));
    if (auto status = node.history->add_block(written, events); !status) {
      std::cerr << "pointchain-node: " << status.error().message() << "\n";
    }
    // Transactions admitted during the write are re-applied on the new tip with the rest.
    (void)node.mempool->revalidate(removed, node.clock.now_ms());
    if (!height_recorded) node.stop_production_locked(height, height_recorded.error().message());
  }

  const ledger::Hash256 block_hash = written.header.hash();
  const std::size_t tx_count = written.transactions.size();
  std::vector<Notification> notifications;
  notifications.reserve(events.size() + 1);
  notifications.push_back(Notification{Notification::Kind::block, height, block_hash, tx_count, {}});
  for (const ledger::Event& event : events) {
    notifications.push_back(Notification{Notification::Kind::event, height, block_hash, tx_count, event});
  }
  deliver(notifications);
  return height;
}

void Node::deliver(const std::vector<Notification>& notifications) {
  std::vector<std::shared_ptr<Subscription>> subscriptions;
  {
    std::lock_guard lock(impl_->mutex);
    subscriptions = impl_->subscriptions;
  }
  for (const auto& subscription : subscriptions) {
    std::function<void()> wakeup;
    {
      std::lock_guard lock(subscription->mutex_);
      if (subscription->overflowed_) continue;
      bool changed = false;
      for (const Notification& notification : notifications) {
        if (!matches(subscription->filter_, notification)) continue;
        changed = true;
        if (subscription->queue_.size() >= subscription->queue_max_) {
          subscription->overflowed_ = true;
          break;
        }
        subscription->queue_.push_back(notification);
      }
      if (changed) wakeup = subscription->wakeup_;
    }
    if (wakeup) wakeup();
  }
}

std::uint64_t Node::next_check_ms() const {
  std::lock_guard lock(impl_->mutex);
  const std::uint64_t now_ms = impl_->clock.now_ms();
  // With nothing pending a submission wakes the loop, so this is only a slow safety poll.
  std::uint64_t next_ms = now_ms + config_.block_interval_ms;
  if (!impl_->mempool->empty()) {
    next_ms = impl_->mempool->size() >= config_.block_trigger_tx_count
                  ? now_ms
                  : std::min(next_ms, impl_->store->tip().time_ms + config_.block_interval_ms);
  }
  if (auto expiry_ms = impl_->store->state().next_expiry_ms()) next_ms = std::min(next_ms, *expiry_ms);
  return next_ms;
}

void Node::set_production_wakeup(std::function<void()> wakeup) {
  std::lock_guard lock(impl_->mutex);
  impl_->production_wakeup = std::move(wakeup);
}

std::optional<StorageFailure> Node::storage_failure() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->storage_failure;
}

ChainInfo Node::chain_info() const {
  std::lock_guard lock(impl_->mutex);
  return ChainInfo{genesis_.chain_id,     genesis_.coalition_name,           impl_->store->tip(),
                   impl_->mempool->size(), impl_->store->state().totals(), partner_};
}

ledger::Result<ledger::Block> Node::block_at(std::uint64_t height) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->store->block_at(height);
}

ledger::Result<ledger::Block> Node::block_by_hash(const ledger::Hash256& hash) const {
  std::lock_guard lock(impl_->mutex);
  auto height = impl_->store->height_of(hash);
  if (!height) return height.error();
  return impl_->store->block_at(*height);
}

ledger::Result<TxStatus> Node::transaction(const ledger::Hash256& tx_id) const {
  ledger::TxLocation location;
  {
    std::lock_guard lock(impl_->mutex);
    if (const ledger::Transaction* pending = impl_->mempool->find(tx_id)) {
      return TxStatus{TxStatus::Where::pending, *pending, 0, 0, {}, {}, 0, {}};
    }
    auto found = impl_->store->find_transaction(tx_id);
    if (!found) return found.error();
    location = *found;
  }
  // Read without the lock: LevelDB reads are thread-safe, and a committed block never changes.
  // The proof reads the transaction's chunk and the block's Merkle record, never the block.
  auto proof = impl_->store->transaction_proof(tx_id, location);
  if (!proof) return proof.error();
  return TxStatus{TxStatus::Where::committed,
                  std::move(proof->tx),
                  location.height,
                  location.index,
                  proof->header.hash(),
                  std::move(proof->merkle_path),
                  static_cast<std::size_t>(proof->tx_count),
                  proof->header.merkle_root};
}

AccountView Node::account(const crypto::PublicKey& key) const {
  std::lock_guard lock(impl_->mutex);
  AccountView view;
  view.key = key;
  if (const ledger::Account* account = impl_->store->state().account(key)) {
    view.exists = true;
    view.account = *account;
  }
  view.balance = view.account.balance();
  view.spendable = view.account.spendable(impl_->store->tip().time_ms);
  view.pending = view.balance - view.spendable;
  view.pending_sequence =
      view.account.sequence + impl_->mempool->pending_count(Mempool::customer_signer(key)) + 1;
  return view;
}

std::vector<HistoryEntry> Node::history(const crypto::PublicKey& key, HistoryCursor before,
                                        std::size_t limit) const {
  return impl_->history->entries(key, before, std::min(limit, history_page_max));
}

std::vector<std::pair<ledger::Partner, ledger::PartnerStats>> Node::partners() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<std::pair<ledger::Partner, ledger::PartnerStats>> out;
  for (const ledger::Partner& partner : genesis_.partners) {
    const ledger::PartnerStats* stats = impl_->store->state().partner(partner.id);
    PC_CHECK(stats != nullptr);
    out.emplace_back(partner, *stats);
  }
  return out;
}

std::map<std::pair<ledger::PartnerId, ledger::PartnerId>, std::uint64_t> Node::settlement() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->store->state().settlement_matrix();
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
  std::function<void()> wakeup;
  ledger::Result<ledger::Hash256> result = [&]() -> ledger::Result<ledger::Hash256> {
    std::lock_guard lock(impl_->mutex);
    if (auto pending = impl_->mempool->pending_reverse(partner_, order_id)) return *pending;
    return impl_->admit_locked(impl_->sign_locked(body), wakeup);
  }();
  if (wakeup) wakeup();
  return result;
}

std::shared_ptr<Subscription> Node::subscribe(EventFilter filter, std::size_t queue_max) {
  std::lock_guard lock(impl_->mutex);
  if (impl_->subscriptions.size() >= subscriptions_max) return nullptr;
  auto subscription = std::make_shared<Subscription>();
  subscription->filter_ = std::move(filter);
  subscription->queue_max_ = std::max<std::size_t>(queue_max, 1);
  impl_->subscriptions.push_back(subscription);
  return subscription;
}

void Node::unsubscribe(const std::shared_ptr<Subscription>& subscription) {
  std::lock_guard lock(impl_->mutex);
  std::erase(impl_->subscriptions, subscription);
}

}  // namespace pc::node
