// The one way a block becomes committed, whoever decided it (the local proposer, consensus,
// and later a block fetched by sync):
//
//   1. write   the block, its indexes and its state changes: one synced LevelDB batch;
//   2. publish the store's tip and state, then a new Snapshot for readers;
//   3. revalidate the mempool on the new tip;
//   4. notify  every CommitObserver added here (the webhook queue, which reads the state as
//              of the block), in the order they were added, on the writer; then hand the
//              block to the ObserverThread, if any, whose observers (history and analytics
//              indexes, WebSocket subscriptions) run behind the writer
//              (node/observer_thread.hpp).
//
// Between 1 and 2 the block's height goes durably into data_dir/committed-height
// (node/height_claims.hpp), so the file is never below a height anyone was told about.
//
// A failed write stops at step 1: nothing is published, the mempool and the observers see
// nothing, and the error is returned. When LevelDB failed the write (ChainStore::
// write_failure()), it also stops the pipeline for good: the log may now end in a torn
// record, so the store is never written again in this process, and every later commit
// returns an io_error at once. A failed height record stops it too, after the block
// (durable in the store) is published. Either way failure() says why, and the log says so
// loudly, once. The pipeline does not know its observers by name.
//
// Thread-safety: none, but failure(); it runs on the node's writer thread
// (node/event_loop.hpp).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <vector>

#include "ledger/store.hpp"
#include "node/clock.hpp"
#include "node/commit_observer.hpp"
#include "node/height_claims.hpp"
#include "node/mempool.hpp"
#include "node/observer_thread.hpp"
#include "node/snapshot.hpp"
#include "node/storage_failure.hpp"

namespace pc::node {

class CommitPipeline {
 public:
  // `pending_mutex` is the node's lock over the mempool for readers on other threads: it is
  // held exclusively from the snapshot swap through the mempool's revalidation, so a reader
  // holding it shared sees a snapshot and a mempool of the same height.
  // `committed_height` records each committed block's height.
  CommitPipeline(ledger::ChainStore& store, Mempool& mempool, std::shared_mutex& pending_mutex,
                 PublishedSnapshot& published, CommittedHeightFile& committed_height, const Clock& clock);

  // Publishes the snapshot of the store as it is (at start-up).
  void publish_initial();
  // Runs on the writer thread, within commit().
  void add_observer(CommitObserver& observer);
  // Gets every committed block after the observers above; nullptr: none.
  void set_observer_thread(ObserverThread* behind) { behind_ = behind; }

  // Commits `block`, executed into `changes` on the store's tip. `also_removed`: pending
  // transactions the proposer left out of the block because they failed, dropped with the
  // block's own. Returns the committed block, or the write's error (nothing changed); after
  // a failure, that error at once. `verified`: the block's certificate as the consensus
  // engine verified it (ChainStore::write_executed); nullptr verifies it here. `tree`: the
  // block's Merkle tree if built already (ChainStore::write_executed); nullptr builds it here.
  ledger::Result<std::shared_ptr<const CommittedBlock>> commit(ledger::Block block, ledger::BlockChanges changes,
                                                               const std::set<ledger::Hash256>& also_removed = {},
                                                               const ledger::VerifiedCertificate* verified = nullptr,
                                                               const ledger::MerkleTree* tree = nullptr);

  // Set once a block could not be committed or its height recorded; any thread.
  std::optional<StorageFailure> failure() const;

 private:
  // Records the first failure and says so loudly.
  void stop(std::uint64_t height, const std::string& reason);

  ledger::ChainStore& store_;
  Mempool& mempool_;
  std::shared_mutex& pending_mutex_;
  PublishedSnapshot& published_;
  CommittedHeightFile& committed_height_;
  const Clock& clock_;
  std::vector<CommitObserver*> observers_;
  ObserverThread* behind_ = nullptr;
  mutable std::mutex failure_mutex_;
  std::optional<StorageFailure> failure_;  // guarded by failure_mutex_
};

}  // namespace pc::node
