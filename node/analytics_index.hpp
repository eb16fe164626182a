// The analytics index: a LevelDB (data_dir/analytics) of per-day figures derived from
// committed blocks, per partner and coalition-wide, so a report over any range is a bounded
// scan (at most report_range_days_max buckets per scope). Like the history index it is derived
// data, never consulted by consensus: deleted, of another genesis or format version, behind
// or ahead of the chain, it is rebuilt by replaying the chain from genesis.
//
// Layout (integers big-endian in keys so they sort; values little-endian, ledger::Writer):
//   "G"                                  genesis hash
//   "V"                                  format version u32 (analytics_format_version)
//   "M"                                  indexed height u64
//   "S" | scope u16                      the scope's counters after the indexed height
//   "B" | scope u16 | day u32            the day's Figures and the liability at its end
//   "R" | scope u16 | day u32 | kind u8 | what
//                                        redemptions at the scope that day: count, points.
//                                        kind (RewardKind) 1: a Redeem's reward text; 2: a
//                                        catalog reward's partner u16 and id u32; 3: payments
//   "N" | partner u16 | reward id u32    a catalog reward's name, as last published
//   "A" | scope u16 | day u32 | key(32)  the member earned or redeemed in the scope that day
//   "F" | scope u16 | key(32)            the member's first day in the scope
//   "E" | scope u16 | day u32 | key(32)  points issued to the member in the scope that day (u64)
// scope: a partner id (1..65535), or 0 for the coalition. A block's entries and the new
// height are one WriteBatch, not synced: after a power cut the index may be behind, and the
// next open rebuilds it.
//
// Thread-safety: add_block() on one thread (the node's observer thread, node/observer_thread.hpp,
// or the writer in tests); report() on any thread at
// once, reading a LevelDB snapshot, so it sees whole blocks only.
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>

#include "ledger/store.hpp"
#include "node/analytics_report.hpp"
#include "node/commit_observer.hpp"

namespace leveldb {
class DB;
}

namespace pc::node {

// Bumped when the layout or a figure's definition changes: an index of another version is
// rebuilt.
// Version 2 added the "E" entries (the leaderboard); version 3 counts catalog redemptions and
// payments with points as redemptions ("R" entries with a kind, "N" entries).
inline constexpr std::uint32_t analytics_format_version = 3;
inline constexpr ledger::PartnerId coalition_scope = 0;

class AnalyticsIndex {
 public:
  // Opens `directory`, rebuilding it from `chain` unless it is this genesis's, this format
  // version's, and at `chain`'s tip. Throws std::runtime_error when it cannot be opened or
  // rebuilt (a running node holding its lock, say).
  AnalyticsIndex(const std::filesystem::path& directory, const ledger::ChainStore& chain);
  ~AnalyticsIndex();
  AnalyticsIndex(const AnalyticsIndex&) = delete;
  AnalyticsIndex& operator=(const AnalyticsIndex&) = delete;

  // Records a committed block. io_error, and nothing written, unless it is the block after
  // indexed_height() (the index then stays behind until the next open rebuilds it).
  ledger::Status add_block(const CommittedBlock& block);

  // The report for `query` over what is indexed. Errors as analytics_report.hpp says;
  // unknown_partner for a partner not in the genesis; too_large when it would read more than
  // report_scan_entries_max entries.
  ledger::Result<Report> report(const ReportQuery& query) const;
  // The leaderboard for `query`: invalid_field for a range that is reversed or longer than
  // report_range_days_max or a limit outside 1..leaderboard_entries_max, unknown_partner,
  // too_large past report_scan_entries_max entries. Points are what Issues gave (returns are
  // not taken off): "points earned", as the badges count them.
  ledger::Result<Leaderboard> leaderboard(const LeaderboardQuery& query) const;

  std::uint64_t indexed_height() const { return indexed_height_.load(); }
  bool rebuilt() const { return rebuilt_; }

  // Members remembered as active on the latest indexed day (see ActiveToday): at most this many
  // (scope, member) pairs, about 80 bytes each; past it, a block reads the index as before.
  static constexpr std::size_t active_today_entries_max = 250'000;

 private:
  class Batch;
  class ActiveToday;
  void open_database(const std::filesystem::path& directory);
  void rebuild(const std::filesystem::path& directory, const ledger::ChainStore& chain);

  ledger::Genesis genesis_;
  std::unique_ptr<leveldb::DB> db_;
  std::atomic<std::uint64_t> indexed_height_ = 0;
  bool rebuilt_ = false;
  std::unique_ptr<ActiveToday> active_today_;  // add_block's thread only
};

// The analytics index as a commit observer: failures are printed, since the index is derived
// and the next start rebuilds it.
class AnalyticsObserver final : public CommitObserver {
 public:
  explicit AnalyticsObserver(AnalyticsIndex& index) : index_(index) {}
  void block_committed(const CommittedBlock& block) override;

 private:
  AnalyticsIndex& index_;
};

}  // namespace pc::node
