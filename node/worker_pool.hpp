// A fixed pool of named worker threads that runs batches of independent jobs (signature
// checks) and returns when all of a batch is done: the BatchRunner that ledger/ leaves to its
// callers.
//
// Several callers may run batches at once (two RPC threads each checking a JSON-RPC batch,
// the writer checking a proposal): each caller works through its own batch, and idle workers
// help the oldest batch that still has jobs to hand out. Before, one batch ran at a time and
// a second caller waited for the first one's batch with nothing to do, which left a core idle
// while the first caller then waited for the writer.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
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

  // Runs job(0..count-1) on the caller and whichever workers are free; returns when every
  // job has returned. Thread-safe.
  void run(std::size_t count, const std::function<void(std::size_t)>& job);
  std::size_t size() const { return workers_.size() + 1; }

 private:
  struct Batch {
    const std::function<void(std::size_t)>* job = nullptr;
    std::size_t count = 0;
    std::size_t next = 0;      // the next job index to hand out
    std::size_t finished = 0;  // jobs that have returned
  };

  void work_loop();
  // Runs `batch`'s next job; `lock` holds mutex_ before and after, not during the job.
  void run_one(Batch& batch, std::unique_lock<std::mutex>& lock);
  // The oldest batch with a job left to hand out; nullptr: none. Called with mutex_ held.
  Batch* batch_with_work();

  std::mutex mutex_;
  std::condition_variable wake_;  // a batch arrived, or stopping_
  std::condition_variable done_;  // some batch's last job returned
  // Guarded by mutex_:
  std::list<Batch*> batches_;  // in arrival order; each lives on its caller's stack
  bool stopping_ = false;

  std::vector<std::thread> workers_;
};

}  // namespace pc::node
