// Time reaches the node through this interface, so the same production logic runs under a
// simulated clock in tests. ledger/ never sees a clock: only block timestamps.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace pc::node {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual std::uint64_t now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::uint64_t now_ms() const override {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  }
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::uint64_t start_ms) : now_ms_(start_ms) {}
  std::uint64_t now_ms() const override { return now_ms_.load(); }
  void advance_ms(std::uint64_t delta_ms) { now_ms_ += delta_ms; }
  void set_ms(std::uint64_t value_ms) { now_ms_ = value_ms; }

 private:
  std::atomic<std::uint64_t> now_ms_;
};

}  // namespace pc::node
