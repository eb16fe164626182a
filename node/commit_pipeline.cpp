#include "node/commit_pipeline.hpp"

#include <mutex>

#include "crypto/check.hpp"

namespace pc::node {

CommitPipeline::CommitPipeline(ledger::ChainStore& store, Mempool& mempool, std::shared_mutex& pending_mutex,
                               PublishedSnapshot& published, const Clock& clock)
    : store_(store), mempool_(mempool), pending_mutex_(pending_mutex), published_(published), clock_(clock) {}

void CommitPipeline::publish_initial() { published_.store(make_snapshot(store_, {})); }

void CommitPipeline::add_observer(CommitObserver& observer) { observers_.push_back(&observer); }

ledger::Result<std::shared_ptr<const CommittedBlock>> CommitPipeline::commit(
    ledger::Block block, ledger::BlockChanges changes, const std::set<ledger::Hash256>& also_removed) {
  // 1. write. Readers keep the previous snapshot throughout.
  if (auto status = store_.write_executed(block, changes); !status) return status.error();

  auto committed = std::make_shared<CommittedBlock>();
  committed->ids = block.tx_ids();
  committed->block_hash = block.header.hash();
  committed->events = changes.events;
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

  // 4. observers.
  for (CommitObserver* observer : observers_) observer->block_committed(*committed);
  return std::shared_ptr<const CommittedBlock>(std::move(committed));
}

}  // namespace pc::node
