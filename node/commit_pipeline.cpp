#include "node/commit_pipeline.hpp"

#include <iostream>
#include <mutex>

#include "crypto/check.hpp"

namespace pc::node {

CommitPipeline::CommitPipeline(ledger::ChainStore& store, Mempool& mempool, std::shared_mutex& pending_mutex,
                               PublishedSnapshot& published, CommittedHeightFile& committed_height,
                               const Clock& clock)
    : store_(store),
      mempool_(mempool),
      pending_mutex_(pending_mutex),
      published_(published),
      committed_height_(committed_height),
      clock_(clock) {}

void CommitPipeline::publish_initial() { published_.store(make_snapshot(store_, {})); }

void CommitPipeline::add_observer(CommitObserver& observer) { observers_.push_back(&observer); }

ledger::Result<std::shared_ptr<const CommittedBlock>> CommitPipeline::commit(
    ledger::Block block, ledger::BlockChanges changes, const std::set<ledger::Hash256>& also_removed,
    const ledger::VerifiedCertificate* verified, const ledger::MerkleTree* tree) {
  if (auto stopped = failure()) {
    return ledger::Error{ledger::Code::io_error, "block production stopped after a storage failure (" +
                                                     stopped->reason + "); restart the node"};
  }
  const std::uint64_t height = block.header.height;
  // 1. write. Readers keep the previous snapshot throughout.
  if (auto status = store_.write_executed(block, changes, verified, tree); !status) {
    // Nothing changed in memory, and the mempool still holds every candidate. A block the
    // store refused before LevelDB (changes not its own) leaves the store writable; one LevelDB
    // failed to write may have left a torn record, and the store never writes again.
    if (store_.write_failure()) stop(height, status.error().message());
    return status.error();
  }
  // Synced before anyone hears of the block. If it fails, the block is still committed (it is
  // in the store), so it is published; the pipeline stops, since the height is not safe.
  const ledger::Status height_recorded = committed_height_.record(height);

  auto committed = std::make_shared<CommittedBlock>();
  committed->ids = block.tx_ids();
  committed->block_hash = block.header.hash();
  committed->events = changes.events;
  committed->tier_changes = changes.tier_changes;
  committed->partners = changes.partners;
  committed->block = std::move(block);
  std::set<ledger::Hash256> removed = also_removed;
  removed.insert(committed->ids.begin(), committed->ids.end());

  {
    // 2. publish, 3. revalidate: one step for readers of the mempool.
    std::unique_lock pending(pending_mutex_);
    store_.publish(committed->block, std::move(changes));
    PC_CHECK(store_.tip().block_hash == committed->block_hash);
    std::shared_ptr<const Snapshot> previous = published_.load();
    std::vector<std::shared_ptr<const CommittedBlock>> recent = previous ? previous->recent_blocks
                                                                         : std::vector<std::shared_ptr<const CommittedBlock>>{};
    recent.push_back(committed);
    published_.store(make_snapshot(store_, std::move(recent)));
    (void)mempool_.revalidate(removed, clock_.now_ms());
  }
  if (!height_recorded) stop(height, height_recorded.error().message());

  // 4. observers.
  for (CommitObserver* observer : observers_) observer->block_committed(*committed);
  std::shared_ptr<const CommittedBlock> shared = std::move(committed);
  if (behind_ != nullptr) behind_->push(shared);
  return shared;
}

std::optional<StorageFailure> CommitPipeline::failure() const {
  std::lock_guard lock(failure_mutex_);
  return failure_;
}

void CommitPipeline::stop(std::uint64_t height, const std::string& reason) {
  {
    std::lock_guard lock(failure_mutex_);
    if (failure_) return;
    failure_ = StorageFailure{height, reason};
  }
  std::size_t pending = 0;
  {
    std::shared_lock lock(pending_mutex_);
    pending = mempool_.size();
  }
  std::cerr << "pointchain-node: STORAGE FAILURE: " << reason << "\n"
            << "pointchain-node: block production has stopped for good in this process: a store is never\n"
            << "  written again after a failed write (LevelDB must be reopened first). The node keeps\n"
            << "  answering reads and refuses new transactions; " << pending
            << " accepted transactions are not committed.\n"
            << "  Fix the storage (free space), then stop the node (SIGTERM) and start it again; those\n"
            << "  transactions must then be submitted again. GET /health answers 503 until then.\n"
            << std::flush;
}

}  // namespace pc::node
