// The node's single writer: one named thread that runs events from a bounded inbox, one at a
// time, in arrival order. Whatever changes the chain store or the mempool runs here
// (admissions, the partner's signing, block production and commits; consensus messages and
// timeouts when they come), so none of it needs a lock against the rest. Callers wait for
// the result of what they post (call()); readers never post: they read the published
// snapshot (node/snapshot.hpp).
//
// Timing: with a ticker set, the loop runs it after every batch of events and when the
// deadline it last returned comes (wall time to wait = deadline - clock.now_ms()). Without
// one (tests on a ManualClock) the loop only runs what is posted.
//
// Thread-safety: post(), call() and set_ticker() are thread-safe; call() must not be used
// from the loop's own thread (asserted: it would wait for itself).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "ledger/errors.hpp"
#include "node/clock.hpp"

namespace pc::node {

class EventLoop {
 public:
  using Event = std::function<void()>;
  // Returns when the ticker wants to run next (ms since epoch, by the loop's clock).
  using Ticker = std::function<std::uint64_t()>;

  // Starts the thread, named `thread_name` (at most 15 characters). At most inbox_events_max
  // events wait at once.
  EventLoop(std::string thread_name, std::size_t inbox_events_max, const Clock& clock);
  ~EventLoop();  // stop()s
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Queues `event`. false, and nothing queued, when the inbox is full or the loop stopped.
  [[nodiscard]] bool post(Event event);

  // Runs `work` on the loop and returns its result. too_large ("node busy: ...", naming
  // the limit) when the inbox is full or the loop has stopped; nothing runs then.
  template <class Work>
  auto call(Work&& work) -> ledger::Result<decltype(work())> {
    using Value = decltype(work());
    check_not_on_loop_thread();
    std::promise<Value> promise;
    std::future<Value> future = promise.get_future();
    if (!post([&promise, &work] { promise.set_value(work()); })) return busy_error();
    return future.get();
  }

  // Installs (or, with nullptr, removes) the ticker, and wakes the loop to run it.
  void set_ticker(Ticker ticker);

  // Runs what is queued, then joins the thread. Idempotent; later posts are refused.
  void stop();

  bool on_loop_thread() const { return std::this_thread::get_id() == thread_id_; }
  std::size_t inbox_events_max() const { return inbox_events_max_; }

 private:
  void check_not_on_loop_thread() const;
  ledger::Error busy_error() const;
  void run();

  const std::size_t inbox_events_max_;
  const Clock& clock_;
  std::mutex mutex_;
  std::condition_variable wakeup_;
  std::deque<Event> inbox_;            // guarded by mutex_
  Ticker ticker_;                      // guarded by mutex_
  bool ticker_changed_ = false;        // guarded by mutex_
  bool stopping_ = false;              // guarded by mutex_
  std::thread thread_;
  std::thread::id thread_id_;
};

}  // namespace pc::node
