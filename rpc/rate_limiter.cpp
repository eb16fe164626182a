#include "rpc/rate_limiter.hpp"

#include <algorithm>
#include <chrono>

#include "rpc/limits.hpp"

namespace pc::rpc {

namespace {
constexpr std::uint64_t milli = 1'000;

// a * b, saturating instead of wrapping.
std::uint64_t saturating_multiply(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > UINT64_MAX / a) return UINT64_MAX;
  return a * b;
}
}  // namespace

std::uint64_t steady_now_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

RateLimiter::RateLimiter(RateLimit limit, std::function<std::uint64_t()> now_ms)
    : limit_(limit), now_ms_(std::move(now_ms)) {}

void RateLimiter::refill(Bucket& bucket, std::uint64_t now_ms) const {
  const std::uint64_t capacity = saturating_multiply(limit_.burst, milli);
  const std::uint64_t elapsed_ms = now_ms > bucket.updated_ms ? now_ms - bucket.updated_ms : 0;
  // per_second tokens a second is per_second thousandths of a token a millisecond.
  const std::uint64_t gained = saturating_multiply(elapsed_ms, limit_.per_second);
  bucket.milli_tokens = gained >= capacity - std::min(capacity, bucket.milli_tokens)
                            ? capacity
                            : bucket.milli_tokens + gained;
  bucket.updated_ms = std::max(bucket.updated_ms, now_ms);
}

bool RateLimiter::try_take(std::string_view client, std::uint64_t cost) {
  if (limit_.per_second == 0) return true;
  const std::uint64_t now_ms = now_ms_();
  const std::uint64_t cost_milli = saturating_multiply(cost, milli);
  std::lock_guard lock(mutex_);
  auto found = buckets_.find(client);
  if (found == buckets_.end()) {
    if (buckets_.size() >= rate_clients_max) forget_some(now_ms);
    found = buckets_.emplace(std::string(client), Bucket{saturating_multiply(limit_.burst, milli), now_ms}).first;
  } else {
    refill(found->second, now_ms);
  }
  Bucket& bucket = found->second;
  if (bucket.milli_tokens < cost_milli) return false;
  bucket.milli_tokens -= cost_milli;
  return true;
}

void RateLimiter::forget_some(std::uint64_t now_ms) {
  const std::uint64_t capacity = saturating_multiply(limit_.burst, milli);
  auto oldest = buckets_.end();
  std::uint64_t oldest_seen_ms = UINT64_MAX;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const std::uint64_t seen_ms = it->second.updated_ms;  // refill() moves it to now
    refill(it->second, now_ms);
    if (it->second.milli_tokens >= capacity) {
      it = buckets_.erase(it);
      continue;
    }
    if (seen_ms < oldest_seen_ms) {
      oldest = it;
      oldest_seen_ms = seen_ms;
    }
    ++it;
  }
  if (buckets_.size() >= rate_clients_max && oldest != buckets_.end()) buckets_.erase(oldest);
}

std::size_t RateLimiter::clients() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace pc::rpc
