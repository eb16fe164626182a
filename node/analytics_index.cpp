#include "node/analytics_index.hpp"
#include "node/derived_index.hpp"

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <stdexcept>
#include <unordered_set>

#include "crypto/check.hpp"
#include "crypto/table_hash.hpp"
#include "ledger/chain.hpp"
#include "ledger/codec.hpp"

namespace pc::node {
namespace {

using ledger::append_big_endian;
using ledger::PartnerId;
using ledger::PartnerStats;
using ledger::read_big_endian;

const std::string genesis_key = "G";
const std::string version_key = "V";
const std::string height_key = "M";
constexpr char counters_prefix = 'S';
constexpr char bucket_prefix = 'B';
constexpr char reward_prefix = 'R';
constexpr char activity_prefix = 'A';
constexpr char first_day_prefix = 'F';
constexpr char earned_prefix = 'E';
constexpr char reward_name_prefix = 'N';
// Blocks replayed per WriteBatch while rebuilding.
constexpr std::uint64_t rebuild_batch_blocks = 1'000;

std::string scope_key(char prefix, PartnerId scope) {
  std::string key(1, prefix);
  append_big_endian(key, scope, 2);
  return key;
}

std::string day_key(char prefix, PartnerId scope, Day day) {
  std::string key = scope_key(prefix, scope);
  append_big_endian(key, day, 4);
  return key;
}

std::string reward_name_key(PartnerId partner, std::uint32_t reward_id) {
  std::string key = scope_key(reward_name_prefix, partner);
  append_big_endian(key, reward_id, 4);
  return key;
}

// What an "R" entry's key holds after the day: the line's kind, then the Redeem's reward
// text, a catalog reward's partner u16 and id u32, or nothing for payments.
std::string reward_entry_id(RewardKind kind, std::string_view text, PartnerId partner, std::uint32_t reward_id) {
  std::string id(1, static_cast<char>(kind));
  if (kind == RewardKind::redeem) id.append(text);
  if (kind == RewardKind::catalog) {
    append_big_endian(id, partner, 2);
    append_big_endian(id, reward_id, 4);
  }
  return id;
}

// The line an "R" entry's id names (its reward text not yet filled in for a catalog reward);
// nullopt when the id is not one reward_entry_id makes.
std::optional<RewardLine> decode_reward_entry_id(std::string_view id) {
  if (id.empty()) return std::nullopt;
  RewardLine line;
  line.kind = static_cast<RewardKind>(static_cast<std::uint8_t>(id.front()));
  id.remove_prefix(1);
  switch (line.kind) {
    case RewardKind::redeem: line.reward = std::string(id); return line;
    case RewardKind::catalog:
      if (id.size() != 6) return std::nullopt;
      line.partner = static_cast<PartnerId>(read_big_endian(id.substr(0, 2)));
      line.reward_id = static_cast<std::uint32_t>(read_big_endian(id.substr(2)));
      return line;
    case RewardKind::payment:
      if (!id.empty()) return std::nullopt;
      line.reward = std::string(payment_line_name);
      return line;
    case RewardKind::other: break;
  }
  return std::nullopt;
}

std::string big_endian(std::uint64_t value, int width) {
  std::string text;
  append_big_endian(text, value, width);
  return text;
}

std::string encode_counters(const PartnerStats& stats) {
  ledger::Writer out;
  for (std::uint64_t value : {stats.issued, stats.redeemed_at, stats.issued_redeemed, stats.expired, stats.reversed,
                              stats.reversal_shortfall}) {
    out.u64(value);
  }
  return std::string(out.view().begin(), out.view().end());
}

// Derived data that does not decode is a broken index: the caller reports it.
std::optional<PartnerStats> decode_counters(std::string_view value) {
  ledger::Reader in(as_bytes(value));
  PartnerStats stats;
  stats.issued = in.u64();
  stats.redeemed_at = in.u64();
  stats.issued_redeemed = in.u64();
  stats.expired = in.u64();
  stats.reversed = in.u64();
  stats.reversal_shortfall = in.u64();
  if (!in.finish()) return std::nullopt;
  return stats;
}

struct Bucket {
  Figures figures;
  std::uint64_t liability_end = 0;
};

std::string encode_bucket(const Bucket& bucket) {
  ledger::Writer out;
  const Figures& f = bucket.figures;
  for (std::uint64_t value : f.issued_by_reason) out.u64(value);
  for (std::uint64_t value : {f.issue_count, f.purchase_count, f.redeemed_at, f.redemption_count, f.issued_redeemed,
                              f.expired, f.reversed, f.reversal_shortfall, f.new_members, bucket.liability_end}) {
    out.u64(value);
  }
  return std::string(out.view().begin(), out.view().end());
}

std::optional<Bucket> decode_bucket(std::string_view value) {
  ledger::Reader in(as_bytes(value));
  Bucket bucket;
  Figures& f = bucket.figures;
  for (std::uint64_t& points : f.issued_by_reason) points = in.u64();
  for (std::uint64_t* field : {&f.issue_count, &f.purchase_count, &f.redeemed_at, &f.redemption_count,
                               &f.issued_redeemed, &f.expired, &f.reversed, &f.reversal_shortfall, &f.new_members,
                               &bucket.liability_end}) {
    *field = in.u64();
  }
  if (!in.finish()) return std::nullopt;
  return bucket;
}

std::string encode_u64(std::uint64_t value) {
  ledger::Writer out;
  out.u64(value);
  return std::string(out.view().begin(), out.view().end());
}

std::optional<std::uint64_t> decode_u64(std::string_view value) {
  ledger::Reader in(as_bytes(value));
  const std::uint64_t decoded = in.u64();
  if (!in.finish()) return std::nullopt;
  return decoded;
}

std::string encode_pair(std::uint64_t first, std::uint64_t second) {
  ledger::Writer out;
  out.u64(first);
  out.u64(second);
  return std::string(out.view().begin(), out.view().end());
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> decode_pair(std::string_view value) {
  ledger::Reader in(as_bytes(value));
  const std::uint64_t first = in.u64();
  const std::uint64_t second = in.u64();
  if (!in.finish()) return std::nullopt;
  return std::pair{first, second};
}

// Adds `after - before` of every counter a report uses to `figures`. Counters never go down.
void add_counter_changes(Figures& figures, const PartnerStats& before, const PartnerStats& after) {
  PC_CHECK(after.issued >= before.issued && after.redeemed_at >= before.redeemed_at &&
           after.issued_redeemed >= before.issued_redeemed && after.expired >= before.expired &&
           after.reversed >= before.reversed && after.reversal_shortfall >= before.reversal_shortfall);
  figures.redeemed_at += after.redeemed_at - before.redeemed_at;
  figures.issued_redeemed += after.issued_redeemed - before.issued_redeemed;
  figures.expired += after.expired - before.expired;
  figures.reversed += after.reversed - before.reversed;
  figures.reversal_shortfall += after.reversal_shortfall - before.reversal_shortfall;
}

void add_counters(PartnerStats& sum, const PartnerStats& before, const PartnerStats& after) {
  sum.issued += after.issued - before.issued;
  sum.redeemed_at += after.redeemed_at - before.redeemed_at;
  sum.issued_redeemed += after.issued_redeemed - before.issued_redeemed;
  sum.expired += after.expired - before.expired;
  sum.reversed += after.reversed - before.reversed;
  sum.reversal_shortfall += after.reversal_shortfall - before.reversal_shortfall;
}

struct ReleaseSnapshot {
  leveldb::DB* db;
  void operator()(const leveldb::Snapshot* snapshot) const { db->ReleaseSnapshot(snapshot); }
};

}  // namespace

// The (scope, member) pairs whose "A" entry of the latest indexed day is in the index: a
// member redeeming on the day they earned (or earning twice in a day) needs neither that entry
// put again nor a read of their "F" entry, which the first activity of the day wrote or found.
// Only what a written batch put goes in, and it empties when the day changes, so it never
// claims an entry the index lacks. When it has seen the day from its first block (block times
// rise, so the index held nothing of the day then) and never filled up, it holds every such
// pair, and a member not in it has no entry of the day: no "E" entry either, which is put only
// with an "A" entry. Keys are customers', so the set hashes them with crypto::table_hash.
class AnalyticsIndex::ActiveToday {
 public:
  using Member = std::pair<PartnerId, crypto::PublicKey>;

  // Forgets everything unless `day` is the day remembered. `first_block`: the block being
  // indexed is the chain's first.
  void start(Day day, bool first_block) {
    if (day == day_) return;
    // A day after one this saw, or the first day of the chain: nothing of it is indexed yet.
    whole_day_ = day_ != 0 || first_block;
    day_ = day;
    members_.clear();
  }
  bool contains(const Member& member) const { return members_.contains(member); }
  // Whether the index certainly has neither an "A" nor an "E" entry of the day for `member`.
  bool known_inactive(const Member& member) const { return whole_day_ && !members_.contains(member); }
  // After the batch that put these members' "A" entries of the current day was written.
  void add(const std::vector<Member>& members) {
    for (const Member& member : members) {
      if (members_.size() >= active_today_entries_max) {
        whole_day_ = false;
        return;
      }
      members_.insert(member);
    }
  }

 private:
  // Not noexcept, for the reason crypto::TableHash is not.
  struct MemberHash {
    std::size_t operator()(const Member& member) const {
      return static_cast<std::size_t>(crypto::table_hash(member.second) + member.first * 0x9e3779b97f4a7c15ULL);
    }
  };
  Day day_ = 0;
  bool whole_day_ = false;  // every member active on day_ is in members_
  std::unordered_set<Member, MemberHash> members_;
};

// One block's (or, while rebuilding, many blocks') writes, readable before they are written:
// a day's bucket is read, added to and put back by every block of that day.
class AnalyticsIndex::Batch {
 public:
  explicit Batch(leveldb::DB& db) : db_(db) {}

  std::optional<std::string> get(const std::string& key) {
    if (auto found = pending_.find(key); found != pending_.end()) return found->second;
    std::string value;
    leveldb::ReadOptions read;
    read.verify_checksums = true;
    auto status = db_.Get(read, key, &value);
    if (status.IsNotFound()) return std::nullopt;
    if (!status.ok()) throw std::runtime_error("analytics index: " + status.ToString());
    return value;
  }
  void put(std::string key, std::string value) { pending_[std::move(key)] = std::move(value); }

  leveldb::Status write() {
    leveldb::WriteBatch batch;
    for (const auto& [key, value] : pending_) batch.Put(key, value);
    pending_.clear();
    return db_.Write(leveldb::WriteOptions(), &batch);
  }

  PartnerStats counters(PartnerId scope) {
    auto value = get(scope_key(counters_prefix, scope));
    if (!value) return {};
    auto stats = decode_counters(*value);
    if (!stats) throw std::runtime_error("analytics index: a damaged counters entry");
    return *stats;
  }

  // `active_today`: what is known to be written already (nullptr while rebuilding); the
  // members this block makes active are in newly_active() once it is written.
  void add_block(const ledger::Block& block, const std::vector<ledger::Event>& events,
                 const std::map<PartnerId, PartnerStats>& partners, ActiveToday* active_today) {
    const Day day = day_of_ms(block.header.time_ms);
    if (active_today != nullptr) active_today->start(day, block.header.height == 1);
    std::map<PartnerId, Figures> added;  // by scope
    std::map<PartnerId, std::uint64_t> liability_end;
    std::map<PartnerId, std::uint64_t> issued;

    PartnerStats coalition = counters(coalition_scope);
    const PartnerStats coalition_before = coalition;
    for (const auto& [id, after] : partners) {
      const PartnerStats before = counters(id);
      add_counter_changes(added[id], before, after);
      add_counters(coalition, before, after);
      issued[id] = after.issued - before.issued;
      liability_end[id] = after.outstanding();
      put(scope_key(counters_prefix, id), encode_counters(after));
    }
    add_counter_changes(added[coalition_scope], coalition_before, coalition);
    issued[coalition_scope] = coalition.issued - coalition_before.issued;
    liability_end[coalition_scope] = coalition.outstanding();
    put(scope_key(counters_prefix, coalition_scope), encode_counters(coalition));

    // What each Issue credited: its points times the customer's tier multiplier on a chain with
    // tiers (protocol version 4), which is what the partners' `issued` counters add up.
    std::map<ledger::Hash256, std::uint64_t> credited;
    for (const ledger::Event& event : events) {
      if (event.kind == ledger::Event::Kind::earned) credited[event.tx_id] = event.points;
    }
    // What each catalog redemption and payment took (a Redeem says its points itself), read
    // off the events the first time one is met: a block of Redeems never builds it.
    std::map<ledger::Hash256, std::uint64_t> taken;
    // Redemptions and their points by scope and reward entry id: one read and one put of each
    // "R" entry.
    std::map<std::pair<PartnerId, std::string>, std::pair<std::uint64_t, std::uint64_t>> redeemed;
    const auto add_redemption = [&](PartnerId partner, const std::string& id, std::uint64_t points) {
      for (PartnerId scope : {partner, coalition_scope}) {
        added[scope].redemption_count += 1;
        auto& [count, sum] = redeemed[{scope, id}];
        count += 1;
        sum += points;
      }
    };
    const auto points_taken = [&](const ledger::Transaction& tx) {
      if (taken.empty()) {
        for (const ledger::Event& event : events) {
          if (event.kind == ledger::Event::Kind::redeemed) taken[event.tx_id] = event.points;
        }
      }
      const auto found = taken.find(tx.id());
      PC_CHECK(found != taken.end());
      return found->second;
    };
    for (const ledger::Transaction& tx : block.transactions) {
      if (const auto* issue = std::get_if<ledger::Issue>(&tx.fields().body)) {
        const auto points = credited.find(tx.id());
        PC_CHECK(points != credited.end());
        for (PartnerId scope : {issue->partner, coalition_scope}) {
          Figures& figures = added[scope];
          figures.issued_by_reason.at(static_cast<std::size_t>(issue->reason) - 1) += points->second;
          figures.issue_count += 1;
          if (issue->reason == ledger::Reason::purchase) figures.purchase_count += 1;
        }
      } else if (const auto* redeem = std::get_if<ledger::Redeem>(&tx.fields().body)) {
        add_redemption(redeem->partner, reward_entry_id(RewardKind::redeem, redeem->reward, 0, 0), redeem->points);
      } else if (const auto* reward = std::get_if<ledger::RedeemReward>(&tx.fields().body)) {
        add_redemption(reward->partner, reward_entry_id(RewardKind::catalog, {}, reward->partner, reward->reward_id),
                       points_taken(tx));
      } else if (const auto* pay = std::get_if<ledger::PayWithPoints>(&tx.fields().body)) {
        add_redemption(pay->request.request.partner, reward_entry_id(RewardKind::payment, {}, 0, 0), points_taken(tx));
      } else if (const auto* published = std::get_if<ledger::PublishReward>(&tx.fields().body)) {
        put(reward_name_key(published->partner, published->reward_id), published->terms.name);
      }
    }
    for (const auto& [scope_and_reward, redemptions] : redeemed) {
      std::string key = day_key(reward_prefix, scope_and_reward.first, day);
      key.append(scope_and_reward.second);
      auto [count, points] = decode_pair(get(key).value_or(encode_pair(0, 0))).value_or(std::pair{0, 0});
      put(std::move(key), encode_pair(count + redemptions.first, points + redemptions.second));
    }
    std::map<ActiveToday::Member, std::uint64_t> earned_today;
    for (const ledger::Event& event : events) {
      if (event.kind != ledger::Event::Kind::earned) continue;
      for (PartnerId scope : {event.partner, coalition_scope}) earned_today[{scope, event.account}] += event.points;
    }
    for (const auto& [member, points] : earned_today) {
      std::string key = day_key(earned_prefix, member.first, day);
      key.append(member.second.begin(), member.second.end());
      // Points issued in one day are bounded by the chain's total issued (< 2^64).
      std::uint64_t before = 0;
      const bool none_before = active_today != nullptr && active_today->known_inactive(member);
      if (auto stored = none_before ? std::nullopt : get(key)) {
        auto decoded = decode_u64(*stored);
        if (!decoded) throw std::runtime_error("analytics index: a damaged earned entry");
        before = *decoded;
      }
      put(std::move(key), encode_u64(before + points));
    }
    for (const ledger::Event& event : events) {
      if (event.kind != ledger::Event::Kind::earned && event.kind != ledger::Event::Kind::redeemed) continue;
      for (PartnerId scope : {event.partner, coalition_scope}) {
        if (active_today != nullptr) {
          ActiveToday::Member member{scope, event.account};
          if (active_today->contains(member)) continue;
          newly_active_.push_back(std::move(member));
        }
        std::string activity = day_key(activity_prefix, scope, day);
        activity.append(event.account.begin(), event.account.end());
        put(std::move(activity), {});
        std::string first_day = scope_key(first_day_prefix, scope);
        first_day.append(event.account.begin(), event.account.end());
        if (!get(first_day)) {
          put(std::move(first_day), big_endian(day, 4));
          added[scope].new_members += 1;
        }
      }
    }

    for (const auto& [scope, figures] : added) {
      // Every scope a transaction or an event names had its counters changed by the block,
      // and the issuances' reasons account for every point issued.
      PC_CHECK(liability_end.contains(scope));
      PC_CHECK(figures.issued() == issued.at(scope));
      const std::string key = day_key(bucket_prefix, scope, day);
      Bucket bucket;
      if (auto stored = get(key)) {
        auto decoded = decode_bucket(*stored);
        if (!decoded) throw std::runtime_error("analytics index: a damaged day entry");
        bucket = *decoded;
      }
      bucket.figures += figures;
      bucket.liability_end = liability_end.at(scope);
      put(key, encode_bucket(bucket));
    }
    put(height_key, big_endian(block.header.height, 8));
  }

  const std::vector<ActiveToday::Member>& newly_active() const { return newly_active_; }

 private:
  leveldb::DB& db_;
  std::map<std::string, std::string> pending_;
  std::vector<ActiveToday::Member> newly_active_;
};

AnalyticsIndex::AnalyticsIndex(const std::filesystem::path& directory, const ledger::ChainStore& chain)
    : genesis_(chain.genesis()) {
  const ledger::Hash256 genesis_hash = chain.genesis().hash();
  bool usable = false;
  try {
    open_database(directory);
    std::string stored_genesis;
    std::string stored_version;
    std::string stored_height;
    leveldb::ReadOptions read;
    read.verify_checksums = true;
    if (db_->Get(read, genesis_key, &stored_genesis).ok() &&
        stored_genesis == std::string(genesis_hash.begin(), genesis_hash.end()) &&
        db_->Get(read, version_key, &stored_version).ok() && stored_version == big_endian(analytics_format_version, 4) &&
        db_->Get(read, height_key, &stored_height).ok() && stored_height.size() == 8) {
      indexed_height_ = read_big_endian(stored_height);
      usable = indexed_height_ == chain.tip().height;
    }
  } catch (const std::runtime_error& error) {
    // A lock held by another process is not damage: rebuilding would fail the same way.
    if (std::string_view(error.what()).find("lock") != std::string_view::npos) throw;
    usable = false;
  }
  if (!usable) rebuild(directory, chain);
}

AnalyticsIndex::~AnalyticsIndex() = default;

void AnalyticsIndex::open_database(const std::filesystem::path& directory) {
  db_.reset();
  db_ = open_derived_index(directory, "analytics index");
}

void AnalyticsIndex::rebuild(const std::filesystem::path& directory, const ledger::ChainStore& chain) {
  rebuilt_ = true;
  db_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(directory, ignored);
  open_database(directory);

  const ledger::Hash256 genesis_hash = genesis_.hash();
  Batch batch(*db_);
  batch.put(genesis_key, std::string(genesis_hash.begin(), genesis_hash.end()));
  batch.put(version_key, big_endian(analytics_format_version, 4));
  batch.put(height_key, big_endian(0, 8));
  const auto write = [&] {
    if (auto status = batch.write(); !status.ok()) {
      throw std::runtime_error("cannot write the analytics index: " + status.ToString());
    }
  };
  // The store verified the blocks when it accepted them; replay only recovers what each
  // block changed.
  ledger::State state(genesis_);
  for (std::uint64_t height = 1; height <= chain.tip().height; ++height) {
    auto block = chain.block_at(height);
    if (!block) throw std::runtime_error("rebuilding the analytics index: " + block.error().message());
    auto changes = ledger::execute_block(state, *block, ledger::SignatureCheck::already_verified);
    if (!changes) throw std::runtime_error("rebuilding the analytics index: " + changes.error().message());
    batch.add_block(*block, changes->events, changes->partners, nullptr);
    state.apply(std::move(changes).value());
    if (height % rebuild_batch_blocks == 0) write();
  }
  write();
  PC_CHECK(state.state_hash() == chain.tip().state_hash);
  indexed_height_ = chain.tip().height;
}

ledger::Status AnalyticsIndex::add_block(const CommittedBlock& block) {
  if (block.block.header.height != indexed_height_ + 1) {
    return ledger::Error{ledger::Code::io_error, "analytics index is behind the chain; it is rebuilt on the next start"};
  }
  if (!active_today_) active_today_ = std::make_unique<ActiveToday>();
  try {
    Batch batch(*db_);
    batch.add_block(block.block, block.events, block.partners, active_today_.get());
    if (auto status = batch.write(); !status.ok()) {
      return ledger::Error{ledger::Code::io_error, "analytics index: " + status.ToString()};
    }
    active_today_->add(batch.newly_active());
  } catch (const std::runtime_error& error) {
    return ledger::Error{ledger::Code::io_error, error.what()};
  }
  indexed_height_ = block.block.header.height;
  return {};
}

void AnalyticsObserver::block_committed(const CommittedBlock& block) {
  if (auto status = index_.add_block(block); !status) {
    std::cerr << "pointchain-node: " << status.error().message() << "\n";
  }
}

// ---- reports ----

ledger::Result<Report> AnalyticsIndex::report(const ReportQuery& query) const {
  if (auto status = check_report_query(query); !status) return status.error();
  const PartnerId scope = query.partner.value_or(coalition_scope);
  Report report;
  report.query = query;
  if (query.partner) {
    const ledger::Partner* partner = genesis_.partner(*query.partner);
    if (partner == nullptr) {
      return ledger::Error{ledger::Code::unknown_partner, "partner " + std::to_string(*query.partner)};
    }
    report.scope_name = partner->name;
  } else {
    report.scope_name = genesis_.coalition_name;
  }

  const std::unique_ptr<const leveldb::Snapshot, ReleaseSnapshot> snapshot(db_->GetSnapshot(),
                                                                           ReleaseSnapshot{db_.get()});
  leveldb::ReadOptions read;
  read.verify_checksums = true;
  read.snapshot = snapshot.get();
  const auto damaged = [](std::string_view what) {
    return ledger::Error{ledger::Code::corruption,
                         "analytics index: a damaged " + std::string(what) +
                             " entry; delete data_dir/analytics to rebuild it"};
  };
  std::string stored_height;
  if (!db_->Get(read, height_key, &stored_height).ok() || stored_height.size() != 8) return damaged("height");
  report.indexed_height = read_big_endian(stored_height);

  // The days' buckets, and the liability before the range: the last bucket before it.
  std::map<Day, Bucket> buckets;
  {
    const std::string prefix = scope_key(bucket_prefix, scope);
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(read));
    it->Seek(day_key(bucket_prefix, scope, query.from));
    for (; it->Valid(); it->Next()) {
      const std::string_view key(it->key().data(), it->key().size());
      if (!key.starts_with(prefix) || key.size() != prefix.size() + 4) break;
      const Day day = static_cast<Day>(read_big_endian(key.substr(prefix.size())));
      if (day > query.to) break;
      auto bucket = decode_bucket(std::string_view(it->value().data(), it->value().size()));
      if (!bucket) return damaged("day");
      buckets.emplace(day, *bucket);
    }
    it->Seek(day_key(bucket_prefix, scope, query.from));
    if (it->Valid()) {
      it->Prev();
    } else {
      it->SeekToLast();
    }
    if (it->Valid()) {
      const std::string_view key(it->key().data(), it->key().size());
      if (key.starts_with(prefix) && key.size() == prefix.size() + 4) {
        auto bucket = decode_bucket(std::string_view(it->value().data(), it->value().size()));
        if (!bucket) return damaged("day");
        report.liability_start = bucket->liability_end;
      }
    }
  }

  // The rows, clipped to the range; the total is the last "row" of the whole range.
  for (Day first = query.from; first <= query.to;) {
    const Day next = next_period_start(first, query.period);
    report.rows.push_back(ReportRow{first, std::min<Day>(next - 1, query.to), {}, 0, 0});
    first = next;
  }
  report.total = ReportRow{query.from, query.to, {}, 0, 0};
  std::uint64_t liability = report.liability_start;
  auto bucket = buckets.begin();
  for (ReportRow& row : report.rows) {
    for (; bucket != buckets.end() && bucket->first <= row.last; ++bucket) {
      row.figures += bucket->second.figures;
      liability = bucket->second.liability_end;
    }
    row.liability_end = liability;
    report.total.figures += row.figures;
  }
  report.total.liability_end = liability;

  std::uint64_t entries_read = 0;
  const auto too_many = [] {
    return ledger::Error{ledger::Code::too_large, "the report would read more than " +
                                                      std::to_string(report_scan_entries_max) +
                                                      " index entries; ask for a shorter range"};
  };

  // Active members at each row's end: a member's last active day, counted by day, so that
  // each row's end sums at most active_window_days counts.
  {
    const Day window_start = query.from >= active_window_days - 1 ? query.from - (active_window_days - 1) : 0;
    const std::string prefix = scope_key(activity_prefix, scope);
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(read));
    it->Seek(day_key(activity_prefix, scope, window_start));
    std::map<crypto::PublicKey, Day> last_day;
    std::map<Day, std::uint64_t> members_by_last_day;
    const auto active_at = [&](Day end) {
      const Day start = end >= active_window_days - 1 ? end - (active_window_days - 1) : 0;
      std::uint64_t active = 0;
      for (auto count = members_by_last_day.lower_bound(start); count != members_by_last_day.end() &&
                                                                 count->first <= end;
           ++count) {
        active += count->second;
      }
      return active;
    };
    for (ReportRow& row : report.rows) {
      for (; it->Valid(); it->Next()) {
        const std::string_view key(it->key().data(), it->key().size());
        if (!key.starts_with(prefix) || key.size() != prefix.size() + 4 + 32) break;
        const Day day = static_cast<Day>(read_big_endian(key.substr(prefix.size(), 4)));
        if (day > row.last) break;
        if (++entries_read > report_scan_entries_max) return too_many();
        crypto::PublicKey member{};
        std::copy(key.begin() + static_cast<std::ptrdiff_t>(prefix.size() + 4), key.end(), member.begin());
        auto [seen, inserted] = last_day.emplace(member, day);
        if (!inserted) {
          if (--members_by_last_day[seen->second] == 0) members_by_last_day.erase(seen->second);
          seen->second = day;
        }
        members_by_last_day[day] += 1;
      }
      row.active_members = active_at(row.last);
    }
    report.total.active_members = report.rows.back().active_members;
  }

  // Rewards redeemed at the scope over the whole range.
  {
    const std::string prefix = scope_key(reward_prefix, scope);
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(read));
    std::map<std::string, RewardLine> rewards;  // by entry id
    for (it->Seek(day_key(reward_prefix, scope, query.from)); it->Valid(); it->Next()) {
      const std::string_view key(it->key().data(), it->key().size());
      if (!key.starts_with(prefix) || key.size() < prefix.size() + 4) break;
      const Day day = static_cast<Day>(read_big_endian(key.substr(prefix.size(), 4)));
      if (day > query.to) break;
      if (++entries_read > report_scan_entries_max) return too_many();
      auto value = decode_pair(std::string_view(it->value().data(), it->value().size()));
      if (!value) return damaged("reward");
      const std::string_view id = key.substr(prefix.size() + 4);
      auto found = rewards.find(std::string(id));
      if (found == rewards.end()) {
        auto line = decode_reward_entry_id(id);
        if (!line) return damaged("reward");
        if (line->kind == RewardKind::catalog) {
          // Every catalog redemption the index holds is of a reward a PublishReward it also
          // indexed named.
          std::string name;
          if (!db_->Get(read, reward_name_key(line->partner, line->reward_id), &name).ok()) {
            return damaged("reward name");
          }
          line->reward = std::move(name);
        }
        found = rewards.emplace(std::string(id), std::move(*line)).first;
      }
      found->second.count += value->first;
      found->second.points += value->second;
    }
    std::vector<RewardLine> lines;
    lines.reserve(rewards.size());
    for (auto& [id, line] : rewards) lines.push_back(std::move(line));
    std::sort(lines.begin(), lines.end(), ranks_before);
    if (lines.size() > query.top_rewards) {
      RewardLine other{RewardKind::other, "other", 0, 0, 0, 0};
      for (std::size_t i = query.top_rewards; i < lines.size(); ++i) {
        other.count += lines[i].count;
        other.points += lines[i].points;
      }
      lines.resize(query.top_rewards);
      lines.push_back(std::move(other));
    }
    report.top_rewards = std::move(lines);
  }
  return report;
}

ledger::Result<Leaderboard> AnalyticsIndex::leaderboard(const LeaderboardQuery& query) const {
  ReportQuery range;
  range.from = query.from;
  range.to = query.to;
  if (auto status = check_report_query(range); !status) return status.error();
  if (query.limit == 0 || query.limit > leaderboard_entries_max) {
    return ledger::Error{ledger::Code::invalid_field, "limit must be 1 to " + std::to_string(leaderboard_entries_max)};
  }
  if (query.partner && genesis_.partner(*query.partner) == nullptr) {
    return ledger::Error{ledger::Code::unknown_partner, "partner " + std::to_string(*query.partner)};
  }
  const PartnerId scope = query.partner.value_or(coalition_scope);
  const std::unique_ptr<const leveldb::Snapshot, ReleaseSnapshot> snapshot(db_->GetSnapshot(), ReleaseSnapshot{db_.get()});
  leveldb::ReadOptions read;
  read.verify_checksums = true;
  read.snapshot = snapshot.get();
  const auto damaged = [](std::string_view what) {
    return ledger::Error{ledger::Code::corruption, "analytics index: a damaged " + std::string(what) +
                                                       " entry; delete data_dir/analytics to rebuild it"};
  };
  Leaderboard board;
  std::string stored_height;
  if (!db_->Get(read, height_key, &stored_height).ok() || stored_height.size() != 8) return damaged("height");
  board.indexed_height = read_big_endian(stored_height);

  std::map<crypto::PublicKey, std::uint64_t> points_of;
  const std::string prefix = scope_key(earned_prefix, scope);
  std::uint64_t entries_read = 0;
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(read));
  for (it->Seek(day_key(earned_prefix, scope, query.from)); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (!key.starts_with(prefix) || key.size() != prefix.size() + 4 + 32) break;
    if (static_cast<Day>(read_big_endian(key.substr(prefix.size(), 4))) > query.to) break;
    if (++entries_read > report_scan_entries_max) {
      return ledger::Error{ledger::Code::too_large, "the leaderboard would read more than " +
                                                        std::to_string(report_scan_entries_max) + " entries; ask for fewer days"};
    }
    auto points = decode_u64(std::string_view(it->value().data(), it->value().size()));
    if (!points) return damaged("earned");
    crypto::PublicKey member{};
    std::copy(key.begin() + static_cast<std::ptrdiff_t>(prefix.size() + 4), key.end(), member.begin());
    points_of[member] += *points;
  }
  board.members = points_of.size();
  std::vector<LeaderboardEntry> entries;
  entries.reserve(points_of.size());
  for (const auto& [member, points] : points_of) entries.push_back({member, points});
  const std::size_t shown = std::min(query.limit, entries.size());
  // Most points first; ties by key, so the order is the same every time.
  std::partial_sort(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(shown), entries.end(),
                    [](const LeaderboardEntry& a, const LeaderboardEntry& b) {
                      return a.points != b.points ? a.points > b.points : a.member < b.member;
                    });
  entries.resize(shown);
  board.entries = std::move(entries);
  return board;
}

}  // namespace pc::node
