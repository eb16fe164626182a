// Helpers for tests of the ledger state machine: see tests/state_support.hpp.
#include "tests/state_support.hpp"

#include <catch2/catch.hpp>

#include <map>

namespace pc::test::state {

using crypto::Hash256;
using crypto::PublicKey;
using ledger::Code;
using ledger::IssuanceRecord;
using ledger::Lot;
using ledger::PartnerId;
using ledger::PartnerStats;
using ledger::SignatureCheck;
using ledger::Totals;
using ledger::Transaction;

namespace {

template <class Key>
std::uint64_t value_or_zero(const std::map<Key, std::uint64_t>& map, const Key& key) {
  auto found = map.find(key);
  return found == map.end() ? 0 : found->second;
}

// ---------------------------------------------------------------------------------------------
// The supply invariant, recomputed from the raw record bytes with a decoder written here from
// docs/protocol.md ("State records"), so that it does not lean on the ledger's own decoder or
// on its running totals.

class RecordBytes {
 public:
  explicit RecordBytes(const Bytes& bytes) : bytes_(bytes) {}

  std::uint8_t u8() {
    REQUIRE(position_ < bytes_.size());
    return bytes_[position_++];
  }
  std::uint16_t u16() {
    REQUIRE(position_ + 2 <= bytes_.size());
    const auto value = static_cast<std::uint16_t>(bytes_[position_] | (bytes_[position_ + 1] << 8));
    position_ += 2;
    return value;
  }
  std::uint64_t u64() {
    REQUIRE(position_ + 8 <= bytes_.size());
    std::uint64_t value = 0;
    for (std::size_t i = 8; i-- > 0;) value = (value << 8) | bytes_[position_ + i];
    position_ += 8;
    return value;
  }
  std::uint64_t leb128() {
    std::uint64_t value = 0;
    for (unsigned shift = 0;; shift += 7) {
      REQUIRE(shift < 64);
      const std::uint8_t byte = u8();
      value |= std::uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80u) == 0) return value;
    }
  }
  void skip(std::size_t count) {
    REQUIRE(position_ + count <= bytes_.size());
    position_ += count;
  }
  bool at_end() const { return position_ == bytes_.size(); }

 private:
  const Bytes& bytes_;
  std::size_t position_ = 0;
};

struct PartnerCounters {
  std::uint64_t issued = 0;
  std::uint64_t redeemed_at = 0;
  std::uint64_t issued_redeemed = 0;
  std::uint64_t expired = 0;
  std::uint64_t reversed = 0;
};

struct RecordSums {
  std::uint64_t account_records = 0;
  std::uint64_t lot_points = 0;
  std::map<PartnerId, std::uint64_t> lot_points_by_issuer;
  std::map<PartnerId, PartnerCounters> partners;
  std::map<PartnerId, std::uint64_t> settled_by_issuer;
  std::map<PartnerId, std::uint64_t> settled_at_redeemer;
  std::uint64_t settled = 0;
  std::optional<Totals> totals;
};

PartnerId big_endian_id(const Bytes& key, std::size_t offset) {
  return static_cast<PartnerId>((key[offset] << 8) | key[offset + 1]);
}

RecordSums sum_records(const std::vector<ledger::Record>& records) {
  RecordSums sums;
  for (const ledger::Record& record : records) {
    REQUIRE_FALSE(record.key.empty());
    RecordBytes value(record.value);
    const std::uint8_t version = value.u8();
    // Issuance records are version 2 on chains with the rewards catalog (3 with tiers), account
    // records version 2 with tiers, and a full stamp card's voucher is version 2; all others 1.
    REQUIRE((version == 1 || ((version == 2 || version == 3) && record.key[0] == 'i') ||
             (version == 2 && (record.key[0] == 'v' || record.key[0] == 'a'))));
    switch (record.key[0]) {
      case 'a': {
        sums.account_records += 1;
        value.skip(8);  // sequence
        const std::uint64_t lot_count = value.leb128();
        for (std::uint64_t i = 0; i < lot_count; ++i) {
          const PartnerId issuer = value.u16();
          value.skip(8 + 4);  // issuance height and index
          const std::uint64_t points = value.u64();
          value.skip(8 + 8);  // earned_at_ms, spendable_at_ms
          CHECK(points > 0);
          sums.lot_points += points;
          sums.lot_points_by_issuer[issuer] += points;
        }
        if (version == 2) {
          // The tier state holds no supply: window and its points, three tiers, the grant.
          value.leb128();
          value.leb128();
          value.skip(3);
          if (value.u8() != 0) value.skip(2 + 8);
        }
        break;
      }
      case 'p': {
        REQUIRE(record.key.size() == 3);
        PartnerCounters& counters = sums.partners[big_endian_id(record.key, 1)];
        value.skip(8);  // issuer_sequence
        counters.issued = value.u64();
        counters.redeemed_at = value.u64();
        counters.issued_redeemed = value.u64();
        counters.expired = value.u64();
        counters.reversed = value.u64();
        value.skip(8);  // reversal_shortfall
        break;
      }
      case 's': {
        REQUIRE(record.key.size() == 5);
        const std::uint64_t points = value.u64();
        sums.settled_by_issuer[big_endian_id(record.key, 1)] += points;
        sums.settled_at_redeemer[big_endian_id(record.key, 3)] += points;
        sums.settled += points;
        break;
      }
      case 't': {
        Totals totals;
        totals.issued = value.u64();
        totals.redeemed = value.u64();
        totals.expired = value.u64();
        totals.reversed = value.u64();
        totals.balance_sum = value.u64();
        totals.accounts = value.u64();
        sums.totals = totals;
        break;
      }
      case 'i':
      case 'r':
      case 'u':
      case 'v':
      case 'w':
      case 'c':
      case 'l':
      case 'd':
      case 'k':
      case 'b':
      case 'B':
      case 'm':
      case 'q':
        // Issuances, the catalog, stamp cards, badges, prepaid balances and payments hold
        // no supply (payments' sums are checked by State::check_invariants below).
        value.skip(record.value.size() - 1);
        break;
      default:
        FAIL("unknown record tag " << int{record.key[0]});
    }
    CHECK(value.at_end());
  }
  return sums;
}

}  // namespace

std::uint64_t at_day(std::uint64_t day) { return pc::test::test_genesis_time_ms + day * day_ms; }

PublicKey issuer_key(PartnerId id) { return TxFactory::partner_issuer(id).public_key(); }

void give_back_sequence(TxFactory& txs, const PublicKey& signer) { --txs.next_sequence.at(signer); }


// Sum of every lot = issued − redeemed − expired − reversed, in total and per issuing partner,
// and the settlement matrix adds up to each partner's redemptions; all from the record bytes.
void check_supply_from_records(const ledger::State& state) {
  INFO("state at height " << state.height());
  const RecordSums sums = sum_records(state.records());
  REQUIRE(sums.totals.has_value());
  const Totals& totals = *sums.totals;
  REQUIRE(totals.issued >= totals.redeemed + totals.expired + totals.reversed);
  CHECK(sums.lot_points == totals.issued - totals.redeemed - totals.expired - totals.reversed);
  CHECK(sums.lot_points == totals.balance_sum);
  CHECK(sums.account_records == totals.accounts);
  CHECK(sums.settled == totals.redeemed);

  PartnerCounters summed;
  for (const auto& [id, counters] : sums.partners) {
    INFO("partner " << id);
    REQUIRE(counters.issued >= counters.issued_redeemed + counters.expired + counters.reversed);
    CHECK(counters.issued - counters.issued_redeemed - counters.expired - counters.reversed ==
          value_or_zero(sums.lot_points_by_issuer, id));
    CHECK(counters.issued_redeemed == value_or_zero(sums.settled_by_issuer, id));
    CHECK(counters.redeemed_at == value_or_zero(sums.settled_at_redeemer, id));
    summed.issued += counters.issued;
    summed.redeemed_at += counters.redeemed_at;
    summed.expired += counters.expired;
    summed.reversed += counters.reversed;
  }
  CHECK(summed.issued == totals.issued);
  CHECK(summed.redeemed_at == totals.redeemed);
  CHECK(summed.expired == totals.expired);
  CHECK(summed.reversed == totals.reversed);

  CHECK(state.totals() == totals);
  const ledger::Status invariants = state.check_invariants();
  INFO((invariants ? std::string() : invariants.error().message()));
  CHECK(invariants.ok());
}

// Commits `txs` in one block at `time_ms`, requiring every one to apply, then checks the
// supply invariant from the records.
void commit_at(TestChain& chain, std::uint64_t time_ms, const std::vector<Transaction>& txs) {
  const std::uint64_t tip_time_ms = chain.store().tip().time_ms;
  REQUIRE(time_ms > tip_time_ms);
  chain.commit_all(txs, time_ms - tip_time_ms);
  check_supply_from_records(chain.state());
}

// Proves that `refused` fails with `code` and changes nothing, in two ways:
//  - in a block executor, after `applied_first`: the block's records and state hash are those
//    of the same block without `refused`, and the committed state is untouched;
//  - through the block producer and the store: it is left out of the block, and the state
//    after the block equals the state the block without it gives.
// When the block changes nothing else (no `applied_first`, nothing expiring), the committed
// records, balances and totals after the block are exactly those before it.
void expect_refused(TestChain& chain, const Transaction& refused, Code code,
                    const std::vector<Transaction>& applied_first, std::optional<std::uint64_t> time_ms) {
  const ledger::State& state = chain.state();
  const std::vector<ledger::Record> records_before = state.records();
  const Hash256 state_hash_before = state.state_hash();
  const Totals totals_before = state.totals();
  const ledger::BlockContext context{chain.store().tip().height + 1,
                                     time_ms.value_or(chain.store().tip().time_ms + 1'000)};

  ledger::BlockExecutor with_refused(state, context);
  ledger::BlockExecutor without_refused(state, context);
  for (const Transaction& tx : applied_first) {
    REQUIRE(with_refused.apply(tx, SignatureCheck::verify).ok());
    REQUIRE(without_refused.apply(tx, SignatureCheck::verify).ok());
  }
  const ledger::Status status = with_refused.apply(refused, SignatureCheck::verify);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code == code);
  CHECK_FALSE(status.error().detail.empty());
  ledger::BlockChanges changes_with = std::move(with_refused).finish();
  ledger::BlockChanges changes_without = std::move(without_refused).finish();
  CHECK(changes_with.records == changes_without.records);
  CHECK(changes_with.state_hash == changes_without.state_hash);
  CHECK(changes_with.totals == changes_without.totals);
  CHECK(changes_with.applied_count == applied_first.size());
  CHECK(changes_with.events.size() == changes_without.events.size());
  CHECK(state.records() == records_before);
  CHECK(state.state_hash() == state_hash_before);
  const bool block_changes_nothing_else = changes_without.records.empty();

  ledger::State expected = chain.state();
  expected.apply(std::move(changes_without));
  std::vector<Transaction> candidates = applied_first;
  candidates.push_back(refused);
  const node::ProducedBlock produced = chain.commit(candidates, context.time_ms - chain.store().tip().time_ms);
  REQUIRE(produced.rejected.size() == 1);
  CHECK(produced.rejected[0].first == applied_first.size());
  CHECK(produced.rejected[0].second.code == code);
  CHECK(produced.block.transactions.size() == applied_first.size());
  CHECK(chain.state().state_hash() == expected.state_hash());
  CHECK(chain.state().records() == expected.records());
  CHECK(chain.state().totals() == expected.totals());
  if (block_changes_nothing_else) {
    CHECK(chain.state().records() == records_before);
    CHECK(chain.state().totals() == totals_before);
  }
  check_supply_from_records(chain.state());
}

const std::vector<Lot>& lots_of(const TestChain& chain, const PublicKey& customer) {
  const ledger::Account* account = chain.state().account(customer);
  REQUIRE(account != nullptr);
  return account->lots;
}

std::uint64_t balance_of(const TestChain& chain, const PublicKey& customer) {
  const ledger::Account* account = chain.state().account(customer);
  return account == nullptr ? 0 : account->balance();
}

const PartnerStats& stats_of(const TestChain& chain, PartnerId id) {
  const PartnerStats* stats = chain.state().partner(id);
  REQUIRE(stats != nullptr);
  return *stats;
}

const IssuanceRecord& issuance_of(const TestChain& chain, PartnerId partner, const std::string& reference) {
  const IssuanceRecord* issuance = chain.state().issuance(partner, reference);
  REQUIRE(issuance != nullptr);
  return *issuance;
}

}  // namespace pc::test::state
