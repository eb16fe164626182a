// A token bucket per client (its IP address): each request takes a token, tokens come back
// at `per_second` up to `burst`. Integer arithmetic in thousandths of a token, so there is no
// rounding drift. Time comes from a function so tests can drive it.
//
// Thread-safe. Remembers at most rate_clients_max clients: when full, it forgets the buckets
// that have refilled completely (indistinguishable from new ones) and, failing that, the least
// recently used one.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace pc::rpc {

struct RateLimit {
  std::uint64_t per_second = 0;  // 0: no limit
  std::uint64_t burst = 0;       // bucket size; a new client starts full
};

class RateLimiter {
 public:
  // `now_ms` is a monotonic clock in milliseconds.
  RateLimiter(RateLimit limit, std::function<std::uint64_t()> now_ms);

  // Takes `cost` tokens from `client`'s bucket if it holds that many; false (taking nothing)
  // otherwise.
  bool try_take(std::string_view client, std::uint64_t cost);

  std::size_t clients() const;

 private:
  struct Bucket {
    std::uint64_t milli_tokens = 0;
    std::uint64_t updated_ms = 0;
  };
  void refill(Bucket& bucket, std::uint64_t now_ms) const;
  void forget_some(std::uint64_t now_ms);  // guarded by mutex_ (caller holds it)

  const RateLimit limit_;
  const std::function<std::uint64_t()> now_ms_;
  mutable std::mutex mutex_;
  std::map<std::string, Bucket, std::less<>> buckets_;  // guarded by mutex_
};

// Milliseconds from std::chrono::steady_clock.
std::uint64_t steady_now_ms();

}  // namespace pc::rpc
