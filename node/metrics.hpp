// Counters and histograms of the node's commits, for GET /metrics (docs/rpc.md, "Metrics").
// Integers only: times in milliseconds, rounds as counts. The writer records each block it
// commits; readers take a copy.
//
// Thread-safety: the record calls and snapshot() may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>

#include "ledger/block.hpp"

namespace pc::node {

// Cumulative-style buckets as Prometheus wants them: counts[i] is the observations at most
// bounds[i] (not cumulative here; the exposition sums them), the rest only in count and sum.
template <std::size_t Buckets>
struct Histogram {
  std::array<std::uint64_t, Buckets> bounds{};
  std::array<std::uint64_t, Buckets> counts{};
  std::uint64_t count = 0;
  std::uint64_t sum = 0;

  void observe(std::uint64_t value) {
    for (std::size_t i = 0; i < Buckets; ++i) {
      if (value <= bounds[i]) {
        ++counts[i];
        break;
      }
    }
    ++count;
    sum += value;
  }
};

// Bucket bounds, in ms: from a one-node loopback coalition (tens of ms) to a partner far away
// timing out several rounds (tens of seconds).
inline constexpr std::array<std::uint64_t, 12> time_buckets_ms{10,   25,   50,    100,   250,   500,
                                                                1000, 2500, 5000, 10000, 30000, 60000};
// Rounds a height took (the decided round + 1).
inline constexpr std::array<std::uint64_t, 5> round_buckets{1, 2, 3, 5, 10};

struct MetricsSnapshot {
  // Blocks this node's consensus decided, and blocks it fetched by sync.
  std::uint64_t blocks_decided = 0;
  std::uint64_t blocks_synced = 0;
  // Decided blocks only: the node's clock at commit minus the block's time (when its first
  // transaction reached the proposer's mempool, or the previous commit), and the rounds the
  // height took here.
  Histogram<time_buckets_ms.size()> commit_latency_ms{time_buckets_ms};
  Histogram<round_buckets.size()> rounds_per_height{round_buckets};
  // Every block: its time minus the previous block's (the genesis time before block 1).
  Histogram<time_buckets_ms.size()> block_interval_ms{time_buckets_ms};
};

class NodeMetrics {
 public:
  // A block just committed; `previous_time_ms` is the time of the block (or genesis) before
  // it. Decided by this node's consensus in `decided_round` (which may be later than the
  // header's round: a block proposed again keeps its first round), or fetched by sync.
  void record_decided(const ledger::BlockHeader& header, std::uint64_t previous_time_ms, std::uint64_t now_ms,
                      std::uint32_t decided_round);
  void record_synced(const ledger::BlockHeader& header, std::uint64_t previous_time_ms);
  MetricsSnapshot snapshot() const;

 private:
  mutable std::mutex mutex_;
  MetricsSnapshot values_;  // guarded by mutex_
};

}  // namespace pc::node
