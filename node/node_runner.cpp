#include "node/node_runner.hpp"

#include <pthread.h>

#include <chrono>

namespace pc::node {

ProductionLoop::ProductionLoop(Node& node, const Clock& clock) : node_(node), clock_(clock) {
  node_.set_production_wakeup([this] { wake(); });
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), "pc-produce");
}

ProductionLoop::~ProductionLoop() { stop(); }

void ProductionLoop::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wakeup_.notify_all();
  if (thread_.joinable()) thread_.join();
  node_.set_production_wakeup(nullptr);
}

void ProductionLoop::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wakeup_.notify_all();
}

void ProductionLoop::run() {
  for (;;) {
    const std::uint64_t next_ms = node_.next_check_ms();
    const std::uint64_t now_ms = clock_.now_ms();
    {
      std::unique_lock lock(mutex_);
      if (next_ms > now_ms) {
        wakeup_.wait_for(lock, std::chrono::milliseconds(next_ms - now_ms), [&] { return woken_ || stopping_; });
      }
      if (stopping_) return;
      woken_ = false;
    }
    node_.produce_if_due();
  }
}

}  // namespace pc::node
