// The worker pool (node/worker_pool.hpp) with several callers at once: every job of every
// batch runs exactly once, and one caller's batch never waits for another's.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "node/worker_pool.hpp"

namespace {

using pc::node::WorkerPool;
using namespace std::chrono_literals;

}  // namespace

TEST_CASE("a worker pool runs every job of a batch exactly once, with several callers at once", "[node][worker_pool]") {
  // Proves the pool's bookkeeping under concurrent batches: four callers each run 20 batches
  // of different sizes (1 to 500 jobs) on a pool of three threads, and every index of every
  // batch ran exactly once before its run() returned.
  WorkerPool pool(3, "pc-pool-test");
  constexpr int callers = 4;
  constexpr int batches_per_caller = 20;
  std::vector<std::future<bool>> results;
  for (int caller = 0; caller < callers; ++caller) {
    results.push_back(std::async(std::launch::async, [&pool, caller] {
      bool all_once = true;
      for (int b = 0; b < batches_per_caller; ++b) {
        const std::size_t count = 1 + static_cast<std::size_t>((caller * 131 + b * 37) % 500);
        std::vector<std::atomic<int>> runs(count);
        pool.run(count, [&](std::size_t index) { runs[index].fetch_add(1); });
        for (const auto& ran : runs) all_once = all_once && ran.load() == 1;
      }
      return all_once;
    }));
  }
  for (auto& result : results) CHECK(result.get());
}

TEST_CASE("a caller never waits for another caller's batch to finish", "[node][worker_pool]") {
  // Proves batches run side by side: a batch whose one job waits until a second batch has
  // returned finishes, since the second batch's caller works through its own jobs. When the
  // pool ran one batch at a time, the second run() waited for the first batch, whose job
  // waited for it: the job gave up after its 30 s and saw the second batch unfinished.
  WorkerPool pool(2, "pc-pool-test");
  std::promise<void> second_done;
  std::shared_future<void> second_finished = second_done.get_future().share();
  std::promise<void> first_started;
  bool second_finished_first = false;
  std::thread first([&] {
    pool.run(1, [&](std::size_t) {
      first_started.set_value();
      second_finished_first = second_finished.wait_for(30s) == std::future_status::ready;
    });
  });
  first_started.get_future().wait();
  std::atomic<int> second_jobs{0};
  pool.run(100, [&](std::size_t) { second_jobs.fetch_add(1); });
  second_done.set_value();
  first.join();
  CHECK(second_jobs.load() == 100);
  CHECK(second_finished_first);
}
