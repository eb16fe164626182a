#include "node/observer_thread.hpp"

#include <pthread.h>

#include "crypto/check.hpp"

namespace pc::node {

ObserverThread::ObserverThread(std::vector<CommitObserver*> observers, std::uint64_t delivered_height)
    : observers_(std::move(observers)), delivered_height_(delivered_height), pushed_height_(delivered_height) {
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), "pc-observers");
}

ObserverThread::~ObserverThread() { stop(); }

void ObserverThread::push(std::shared_ptr<const CommittedBlock> block) {
  PC_CHECK(block != nullptr);
  std::unique_lock lock(mutex_);
  PC_CHECK(block->block.header.height == pushed_height_ + 1);
  pushed_height_ = block->block.header.height;
  changed_.wait(lock, [this] { return queue_.size() < queued_blocks_max || stopped_; });
  if (!stopped_) {
    queue_.push_back(std::move(block));
    changed_.notify_all();
    return;
  }
  // Nothing runs behind any more (the node is closing), and the queue is empty: deliver
  // here, in order.
  lock.unlock();
  deliver(*block);
  lock.lock();
  delivered_height_ = block->block.header.height;
  changed_.notify_all();
}

void ObserverThread::wait_delivered(std::uint64_t height) const {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return delivered_height_ >= height || (stopped_ && delivered_height_ >= pushed_height_); });
}

std::uint64_t ObserverThread::delivered_height() const {
  std::lock_guard lock(mutex_);
  return delivered_height_;
}

void ObserverThread::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    changed_.notify_all();
  }
  thread_.join();
}

void ObserverThread::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) break;  // stopping, with everything delivered
    std::shared_ptr<const CommittedBlock> block = queue_.front();
    lock.unlock();
    deliver(*block);
    lock.lock();
    queue_.pop_front();
    delivered_height_ = block->block.header.height;
    changed_.notify_all();
  }
  stopped_ = true;
  changed_.notify_all();
}

void ObserverThread::deliver(const CommittedBlock& block) {
  for (CommitObserver* observer : observers_) observer->block_committed(block);
}

}  // namespace pc::node
