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

// Takes job indexes until none are left. Called with mutex_ unlocked.
void WorkerPool::drain() {
  for (;;) {
    std::size_t index = 0;
    const std::function<void(std::size_t)>* job = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (job_ == nullptr || next_ >= count_) return;
      index = next_++;
      job = job_;
    }
    (*job)(index);
    std::lock_guard lock(mutex_);
    if (++finished_ == count_) done_.notify_all();
  }
}

void WorkerPool::work_loop() {
  std::uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
    }
    drain();
  }
}

void WorkerPool::run(std::size_t count, const std::function<void(std::size_t)>& job) {
  if (count == 0) return;
  std::lock_guard batch(batch_mutex_);
  {
    std::lock_guard lock(mutex_);
    job_ = &job;
    count_ = count;
    next_ = 0;
    finished_ = 0;
    ++generation_;
  }
  wake_.notify_all();
  drain();
  std::unique_lock lock(mutex_);
  done_.wait(lock, [&] { return finished_ == count_; });
  job_ = nullptr;
}

}  // namespace pc::node
