// The observer thread (node/observer_thread.hpp): the commit observers that run behind the
// node's writer hear every block once, in height order, each in the order given; a reader
// can wait until they have a height; stopping delivers what is queued, and a block committed
// after that is delivered at once on the committing thread.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "node/observer_thread.hpp"

namespace {

using namespace pc;

// Records (name, height) for every block; while `held` is set it waits before recording.
class GatedObserver final : public node::CommitObserver {
 public:
  GatedObserver(std::string name, std::vector<std::pair<std::string, std::uint64_t>>& calls, std::mutex& calls_mutex)
      : name_(std::move(name)), calls_(calls), calls_mutex_(calls_mutex) {}

  void block_committed(const node::CommittedBlock& block) override {
    {
      std::unique_lock lock(gate_mutex_);
      gate_.wait(lock, [this] { return !held_; });
    }
    std::lock_guard lock(calls_mutex_);
    calls_.emplace_back(name_, block.block.header.height);
  }
  void hold() {
    std::lock_guard lock(gate_mutex_);
    held_ = true;
  }
  void release() {
    {
      std::lock_guard lock(gate_mutex_);
      held_ = false;
    }
    gate_.notify_all();
  }

 private:
  std::string name_;
  std::vector<std::pair<std::string, std::uint64_t>>& calls_;
  std::mutex& calls_mutex_;
  std::mutex gate_mutex_;
  std::condition_variable gate_;
  bool held_ = false;
};

std::shared_ptr<const node::CommittedBlock> block_at(std::uint64_t height) {
  auto block = std::make_shared<node::CommittedBlock>();
  block->block.header.height = height;
  return block;
}

}  // namespace

TEST_CASE("observers behind the writer hear every block once, in order, and readers can wait for a height",
          "[node][observers]") {
  // Proves the delivery order (by height, then in the order the observers were given), that
  // nothing counts as delivered while an observer still works on it, and wait_delivered.
  std::vector<std::pair<std::string, std::uint64_t>> calls;
  std::mutex calls_mutex;
  GatedObserver history("history", calls, calls_mutex);
  GatedObserver websocket("websocket", calls, calls_mutex);
  node::ObserverThread thread({&history, &websocket}, 10);
  CHECK(thread.delivered_height() == 10);
  thread.wait_delivered(10);  // returns at once: start-up's indexes hold the tip

  history.hold();
  for (std::uint64_t height = 11; height <= 15; ++height) thread.push(block_at(height));
  CHECK(thread.delivered_height() == 10);  // the history index still works on block 11
  std::thread reader([&] { thread.wait_delivered(15); });
  history.release();
  reader.join();
  CHECK(thread.delivered_height() == 15);

  std::vector<std::pair<std::string, std::uint64_t>> expected;
  for (std::uint64_t height = 11; height <= 15; ++height) {
    expected.emplace_back("history", height);
    expected.emplace_back("websocket", height);
  }
  std::lock_guard lock(calls_mutex);
  CHECK(calls == expected);
}

TEST_CASE("stopping the observer thread delivers what is queued, and later blocks at once", "[node][observers]") {
  // Proves a clean stop leaves no committed block out of the indexes: the queued blocks are
  // delivered before stop() returns, and one committed after it (the writer's last) on the
  // pushing thread, in order.
  std::vector<std::pair<std::string, std::uint64_t>> calls;
  std::mutex calls_mutex;
  GatedObserver history("history", calls, calls_mutex);
  node::ObserverThread thread({&history}, 0);
  history.hold();
  for (std::uint64_t height = 1; height <= node::ObserverThread::queued_blocks_max; ++height) {
    thread.push(block_at(height));
  }
  std::thread stopper([&] { thread.stop(); });
  history.release();
  stopper.join();
  CHECK(thread.delivered_height() == node::ObserverThread::queued_blocks_max);
  thread.push(block_at(node::ObserverThread::queued_blocks_max + 1));
  CHECK(thread.delivered_height() == node::ObserverThread::queued_blocks_max + 1);
  thread.wait_delivered(node::ObserverThread::queued_blocks_max + 1);
  std::lock_guard lock(calls_mutex);
  REQUIRE(calls.size() == node::ObserverThread::queued_blocks_max + 1);
  for (std::size_t i = 0; i < calls.size(); ++i) CHECK(calls[i].second == i + 1);
}
