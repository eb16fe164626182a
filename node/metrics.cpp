#include "node/metrics.hpp"

namespace pc::node {

namespace {

// Block times only grow (the protocol's rule), but a clock set back makes `now` the smaller.
std::uint64_t elapsed(std::uint64_t from, std::uint64_t to) { return to > from ? to - from : 0; }

}  // namespace

void NodeMetrics::record_decided(const ledger::BlockHeader& header, std::uint64_t previous_time_ms,
                                 std::uint64_t now_ms, std::uint32_t decided_round) {
  std::lock_guard lock(mutex_);
  ++values_.blocks_decided;
  values_.block_interval_ms.observe(elapsed(previous_time_ms, header.time_ms));
  values_.commit_latency_ms.observe(elapsed(header.time_ms, now_ms));
  values_.rounds_per_height.observe(std::uint64_t{decided_round} + 1);
}

void NodeMetrics::record_synced(const ledger::BlockHeader& header, std::uint64_t previous_time_ms) {
  std::lock_guard lock(mutex_);
  ++values_.blocks_synced;
  values_.block_interval_ms.observe(elapsed(previous_time_ms, header.time_ms));
}

MetricsSnapshot NodeMetrics::snapshot() const {
  std::lock_guard lock(mutex_);
  return values_;
}

}  // namespace pc::node
