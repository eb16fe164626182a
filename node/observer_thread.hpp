// Commit observers that run behind the writer, on a thread of their own ("pc-observers"):
// the history index, the analytics index and the WebSocket subscriptions. Their work per
// block (LevelDB reads and writes of derived data, a third of the writer's time in a
// 2,000-redeem block, bench/README.md) no longer holds up the next admission or block.
//
// The commit pipeline hands each committed block over once it is durable and published
// (push); the thread calls every observer with it, in the order they were given, in height
// order, each block once. What they write is derived data: an index behind the chain after a
// crash is rebuilt from the chain when the node starts (node/history_index.hpp,
// node/analytics_index.hpp), exactly as after a power cut before.
//
// Readers that need an index as of a height (a history page for a snapshot, a cap on the
// writer counting a customer's committed earns) call wait_delivered(height) first.
//
// Bounded: at most queued_blocks_max blocks wait; push() then waits for room, so a slow
// index slows the writer down instead of growing memory. The thread never waits for the
// writer or a reader, so none of these waits can close a cycle.
//
// Thread-safety: every member is thread-safe. push() from one thread (the writer).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "node/commit_observer.hpp"

namespace pc::node {

class ObserverThread {
 public:
  // A few blocks: the observers of one 2,000-transaction block take milliseconds.
  static constexpr std::size_t queued_blocks_max = 8;

  // Starts the thread. `delivered_height`: the height every observer has already seen (the
  // chain's tip at start-up, where the indexes were opened or rebuilt).
  ObserverThread(std::vector<CommitObserver*> observers, std::uint64_t delivered_height);
  ~ObserverThread();  // stop()s
  ObserverThread(const ObserverThread&) = delete;
  ObserverThread& operator=(const ObserverThread&) = delete;

  // Queues the next committed block (height delivered + queued + 1, asserted), waiting while
  // queued_blocks_max are queued. After stop() the block is delivered on the caller's thread.
  void push(std::shared_ptr<const CommittedBlock> block);

  // Returns once every observer has seen every block up to `height` (at once if they have,
  // or if nothing up to it was ever pushed and the thread stopped).
  void wait_delivered(std::uint64_t height) const;

  std::uint64_t delivered_height() const;

  // Delivers what is queued, then joins the thread. Idempotent.
  void stop();

 private:
  void run();
  void deliver(const CommittedBlock& block);

  const std::vector<CommitObserver*> observers_;
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::deque<std::shared_ptr<const CommittedBlock>> queue_;  // guarded by mutex_
  std::uint64_t delivered_height_ = 0;                       // guarded by mutex_
  std::uint64_t pushed_height_ = 0;                          // guarded by mutex_
  bool stopping_ = false;                                    // guarded by mutex_
  bool stopped_ = false;                                     // guarded by mutex_
  std::thread thread_;
};

}  // namespace pc::node
