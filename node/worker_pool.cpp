#include "node/worker_pool.hpp"

#include <pthread.h>

namespace pc::node {

WorkerPool::WorkerPool(std::size_t threads, std::string name) {
  if (threads == 0) threads = std::max<std::size_t>(1, std::thread::hardware_concurrency());
  // The caller works too, so the pool needs one thread fewer than the parallelism wanted.
  for (std::size_t i = 0; i + 1 < threads; ++i) {
    workers_.emplace_back([this] { work_loop(); });
    const std::string thread_name = (name + "-" + std::to_string(i)).substr(0, 15);
    pthread_setname_np(workers_.back().native_handle(), thread_name.c_str());
  }
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

WorkerPool::Batch* WorkerPool::batch_with_work() {
  for (Batch* batch : batches_) {
    if (batch->next < batch->count) return batch;
  }
  return nullptr;
}

// Hands out `batch`'s next job under the lock and runs it without: until its `finished`
// counts this job, the batch's caller waits, so the batch outlives the job.
void WorkerPool::run_one(Batch& batch, std::unique_lock<std::mutex>& lock) {
  const std::size_t index = batch.next++;
  lock.unlock();
  (*batch.job)(index);
  lock.lock();
  if (++batch.finished == batch.count) done_.notify_all();
}

void WorkerPool::work_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    Batch* batch = nullptr;
    wake_.wait(lock, [&] { return stopping_ || (batch = batch_with_work()) != nullptr; });
    if (stopping_) return;
    run_one(*batch, lock);
  }
}

void WorkerPool::run(std::size_t count, const std::function<void(std::size_t)>& job) {
  if (count == 0) return;
  Batch batch{&job, count};
  std::unique_lock lock(mutex_);
  const auto listed = batches_.insert(batches_.end(), &batch);
  if (count > 1) wake_.notify_all();
  while (batch.next < batch.count) run_one(batch, lock);
  done_.wait(lock, [&] { return batch.finished == batch.count; });
  batches_.erase(listed);
}

}  // namespace pc::node
