#include "node/event_loop.hpp"

#include <pthread.h>

#include <chrono>

#include "crypto/check.hpp"

namespace pc::node {

EventLoop::EventLoop(std::string thread_name, std::size_t inbox_events_max, const Clock& clock)
    : inbox_events_max_(inbox_events_max), clock_(clock) {
  PC_CHECK(inbox_events_max_ > 0);
  std::promise<void> started;
  auto running = started.get_future();
  thread_ = std::thread([this, &started] {
    thread_id_ = std::this_thread::get_id();
    started.set_value();
    run();
  });
  running.wait();
  pthread_setname_np(thread_.native_handle(), thread_name.substr(0, 15).c_str());
}

EventLoop::~EventLoop() { stop(); }

void EventLoop::check_not_on_loop_thread() const { PC_CHECK(!on_loop_thread()); }

ledger::Error EventLoop::busy_error() const {
  return ledger::Error{ledger::Code::too_large, "node busy: the writer's inbox holds " +
                                                    std::to_string(inbox_events_max_) +
                                                    " events (writer_inbox_events_max), or the node is stopping"};
}

bool EventLoop::post(Event event) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || inbox_.size() >= inbox_events_max_) return false;
    inbox_.push_back(std::move(event));
  }
  wakeup_.notify_one();
  return true;
}

void EventLoop::set_ticker(Ticker ticker) {
  {
    std::lock_guard lock(mutex_);
    ticker_ = std::move(ticker);
    ticker_changed_ = true;
  }
  wakeup_.notify_one();
}

void EventLoop::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wakeup_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void EventLoop::run() {
  std::optional<std::uint64_t> deadline_ms;
  for (;;) {
    std::deque<Event> batch;
    Ticker ticker;
    bool tick = false;
    {
      std::unique_lock lock(mutex_);
      const auto ready = [&] { return stopping_ || !inbox_.empty() || ticker_changed_; };
      if (deadline_ms && ticker_) {
        const std::uint64_t now_ms = clock_.now_ms();
        if (*deadline_ms > now_ms) {
          wakeup_.wait_for(lock, std::chrono::milliseconds(*deadline_ms - now_ms), ready);
        }
        tick = clock_.now_ms() >= *deadline_ms;
      } else {
        wakeup_.wait(lock, ready);
      }
      // Everything queued runs, even when stopping: a caller waits for each event.
      batch.swap(inbox_);
      if (stopping_ && batch.empty()) return;
      tick = tick || ticker_changed_ || !batch.empty();
      ticker_changed_ = false;
      ticker = ticker_;
    }
    for (Event& event : batch) event();
    if (ticker && tick) {
      deadline_ms = ticker();
    } else if (!ticker) {
      deadline_ms.reset();
    }
  }
}

}  // namespace pc::node
