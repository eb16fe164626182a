// Helpers shared by the fuzz targets and the seed generator: one-time library start-up, a
// check that traps (so libFuzzer reports the input), the small seeded genesis the state
// targets run on, and the byte layouts the structured targets read. Nothing here uses
// Catch2 or tests/fixtures: the fuzz build has no test library.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "crypto/hash.hpp"
#include "crypto/keys.hpp"
#include "fuzz/fuzz_check.hpp"
#include "ledger/genesis.hpp"
#include "ledger/limits.hpp"
#include "ledger/state.hpp"

namespace pc::fuzz {

// crypto::initialize() once per process, before the first input.
inline void initialize_once() {
  static const bool initialized = [] {
    crypto::initialize();
    return true;
  }();
  (void)initialized;
}

// The same labels as tests/fixtures.hpp, so fuzz inputs and unit tests speak of the same keys.
inline crypto::SecretKey seeded_key(std::string_view label) {
  return crypto::SecretKey::from_seed(crypto::sha256(as_bytes(label)));
}

inline constexpr char chain_id[] = "test-chain";
inline constexpr std::uint64_t genesis_time_ms = 1'700'000'000'000;
inline constexpr std::size_t partner_count = 3;   // ids 1..3; partner 1 is the only validator
inline constexpr std::size_t customer_count = 4;  // "customer 0" .. "customer 3"

// Keys are derived once per process: deriving a key costs a scalar multiplication.
struct Keys {
  std::vector<crypto::SecretKey> issuers;    // issuers[i] signs for partner i + 1
  std::vector<crypto::SecretKey> customers;
};

inline const Keys& keys() {
  static const Keys all = [] {
    Keys built;
    for (std::size_t i = 1; i <= partner_count; ++i) {
      built.issuers.push_back(seeded_key("partner " + std::to_string(i) + " issuer"));
    }
    for (std::size_t i = 0; i < customer_count; ++i) {
      built.customers.push_back(seeded_key("customer " + std::to_string(i)));
    }
    return built;
  }();
  return all;
}

inline const std::vector<crypto::PublicKey>& validator_keys() {
  static const std::vector<crypto::PublicKey> all = [] {
    std::vector<crypto::PublicKey> built;
    for (std::size_t i = 1; i <= partner_count; ++i) {
      built.push_back(seeded_key("partner " + std::to_string(i) + " validator").public_key());
    }
    return built;
  }();
  return all;
}

// The first byte of a state-target input picks the policy, so one corpus covers coalitions
// with and without expiry, transfers and an issuance cap:
//   bits 0-1  point expiry: 0, 1, 7 or 30 days
//   bit  2    transfers allowed
//   bits 3-4  issuance cap: none, 100, 10'000 or 2^40 points
inline ledger::Policy policy_from_byte(std::uint8_t byte) {
  static constexpr std::uint32_t expiry_days[] = {0, 1, 7, 30};
  static constexpr std::uint64_t caps[] = {0, 100, 10'000, std::uint64_t{1} << 40};
  ledger::Policy policy;
  policy.point_expiry_days = expiry_days[byte & 3];
  policy.transfers_allowed = (byte & 4) != 0;
  policy.issuance_cap_points = caps[(byte >> 3) & 3];
  return policy;
}

// Bit 7 of a policy byte: a chain of protocol version 4 (the rewards catalog, stamp cards and
// badges), else version 1.
inline std::uint16_t protocol_from_byte(std::uint8_t byte) { return (byte & 0x80) != 0 ? 4 : 1; }

inline ledger::Genesis small_genesis(const ledger::Policy& policy,
                                     std::uint16_t protocol_version = ledger::protocol_version_first) {
  ledger::Genesis genesis;
  genesis.protocol_version = protocol_version;
  genesis.chain_id = chain_id;
  genesis.coalition_name = "Fuzz Coalition";
  genesis.genesis_time_ms = genesis_time_ms;
  for (std::size_t i = 1; i <= partner_count; ++i) {
    ledger::Partner partner;
    partner.id = static_cast<ledger::PartnerId>(i);
    partner.name = "Partner " + std::to_string(i);
    partner.issuer_key = keys().issuers[i - 1].public_key();
    partner.validator_key = validator_keys()[i - 1];
    partner.voting_power = i == 1 ? 1 : 0;
    genesis.partners.push_back(partner);
  }
  genesis.policy = policy;
  return genesis;
}

// Reads an input from the front; past the end every read gives zero, so any byte string is
// a valid program for the structured targets.
class ByteCursor {
 public:
  ByteCursor(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  bool empty() const { return position_ >= size_; }
  std::size_t remaining() const { return empty() ? 0 : size_ - position_; }
  std::uint8_t u8() { return empty() ? 0 : data_[position_++]; }
  std::uint64_t little_endian(int width) {
    std::uint64_t value = 0;
    for (int i = 0; i < width; ++i) value |= std::uint64_t{u8()} << (8 * i);
    return value;
  }
  // Up to `count` bytes (fewer at the end of the input).
  Bytes take(std::size_t count) {
    const std::size_t taken = std::min(count, remaining());
    Bytes out(data_ + position_, data_ + position_ + taken);
    position_ += taken;
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t position_ = 0;
};

// fuzz_state_records input after the policy byte: records framed as
//   key length u8 | key | value length u16 little-endian | value
// repeated to the end of the input (a cut-off last record keeps what is there).
inline constexpr std::size_t records_max = 256;

inline std::vector<ledger::Record> split_records(ByteCursor& in) {
  std::vector<ledger::Record> records;
  while (!in.empty() && records.size() < records_max) {
    ledger::Record record;
    record.key = in.take(in.u8());
    record.value = in.take(static_cast<std::size_t>(in.little_endian(2)));
    records.push_back(std::move(record));
  }
  return records;
}

inline Bytes join_records(std::uint8_t policy_byte, const std::vector<ledger::Record>& records) {
  Bytes out{policy_byte};
  for (const ledger::Record& record : records) {
    out.push_back(static_cast<std::uint8_t>(record.key.size()));
    out.insert(out.end(), record.key.begin(), record.key.end());
    out.push_back(static_cast<std::uint8_t>(record.value.size()));
    out.push_back(static_cast<std::uint8_t>(record.value.size() >> 8));
    out.insert(out.end(), record.value.begin(), record.value.end());
  }
  return out;
}

// fuzz_state_machine input after the policy byte: up to state_machine_ops_max operations.
// Each starts with an op byte: bits 0-2 the kind (6 and 7 read as 0 and 1), bits 3-4 a
// sequence-number skew (0 and 3: the right one, 1: one too low, 2: one too high), bit 5 an
// already-expired last-valid height. The arguments follow:
//   issue     partner, customer, amount, reference, pending
//   redeem    customer, partner, amount
//   transfer  from customer, to customer, amount
//   reverse   partner, reference
//   block     advance                  (commits the open block; opens the next)
//   replay    index                    (applies an earlier transaction again)
// partner is byte % 3 + 1; customer byte % 4; reference "ref-" + byte % 8; pending
// {0, 1, 2, 365}[byte % 4] days; advance block_advances_ms[byte % 8]. An amount is one byte
// `a`, alone when a < 0x40 (a + 1 points), else followed by a u16, u32 or u64 little-endian
// value for a >> 6 = 1, 2, 3; the last reaches the overflow paths.
inline constexpr std::size_t state_machine_ops_max = 64;

enum class Op : std::uint8_t { issue = 0, redeem = 1, transfer = 2, reverse = 3, block = 4, replay = 5 };

// A second, an hour, and days around the expiry periods policy_from_byte picks.
inline constexpr std::uint64_t block_advances_ms[] = {
    1'000,                   3'600'000,               ledger::ms_per_day,
    2 * ledger::ms_per_day,  7 * ledger::ms_per_day,  30 * ledger::ms_per_day,
    31 * ledger::ms_per_day, 400 * ledger::ms_per_day};

}  // namespace pc::fuzz
