// A fixed pool of named worker threads that runs a batch of independent jobs (signature
// checks) and returns when all are done: the BatchRunner that ledger/ leaves to its callers.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pc::node {

class WorkerPool {
 public:
  // threads == 0 means one per hardware thread. The calling thread also works on each batch.
  explicit WorkerPool(std::size_t threads = 0, std::string name = "pc-worker");
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs job(0..count-1) across the pool and the caller. One batch at a time (serialised).
  void run(std::size_t count, const std::function<void(std::size_t)>& job);
  std::size_t size() const { return workers_.size() + 1; }

 private:
  void work_loop();
  void drain();

  std::mutex batch_mutex_;  // one batch at a time
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  // Guarded by mutex_:
  const std::function<void(std::size_t)>* job_ = nullptr;
  std::size_t count_ = 0;
  std::size_t next_ = 0;
  std::size_t finished_ = 0;
  std::uint64_t generation_ = 0;
  bool stopping_ = false;

  std::vector<std::thread> workers_;
};

}  // namespace pc::node
