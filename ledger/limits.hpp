// Every growing thing on the chain has a named limit; units go last. Changing one of these
// changes which blocks are valid, so it is a protocol change (docs/protocol.md, "Limits").
#pragma once

#include <cstddef>
#include <cstdint>

namespace pc::ledger {

inline constexpr std::uint8_t encoding_version = 1;  // transactions and the genesis
// Version 2 added the header's round and the commit certificate's round, with precommit
// signatures (docs/protocol.md, "Blocks"). Version 1 blocks are refused.
inline constexpr std::uint8_t block_version = 2;
inline constexpr std::uint8_t consensus_message_version = 1;  // proposals and votes
// The highest consensus round a proposal, vote, header or certificate may name. Rounds grow
// only by timeouts, so this is months of failed rounds at one height, and it bounds the work
// of finding a round's proposer.
inline constexpr std::uint32_t round_max = 100'000;

inline constexpr std::size_t chain_id_bytes_max = 32;
inline constexpr std::size_t name_bytes_max = 64;        // coalition and partner names
inline constexpr std::size_t reference_bytes_max = 64;   // issuance references (order ids)
inline constexpr std::size_t reward_bytes_max = 64;      // redemption reward references
inline constexpr std::size_t partners_max = 256;
// Rewards one partner may have in its catalog (active or not: an id is never deleted).
inline constexpr std::size_t rewards_per_partner_max = 1'024;
// Units one RedeemReward may take: each becomes a voucher record.
inline constexpr std::uint16_t reward_quantity_max = 20;
inline constexpr std::uint16_t reward_period_days_max = 365;
// Each term of a partner's point value (PointValue: minor units per points): enough for a
// point worth a millionth of a minor unit or a million of them, and small enough that
// amount × term stays within 128 bits.
inline constexpr std::uint64_t point_value_term_max = 1'000'000;
inline constexpr std::size_t tx_bytes_max = 512;
inline constexpr std::size_t tx_bytes_min = 64;  // no transaction is shorter than its signature
inline constexpr std::size_t block_tx_count_max = 10'000;
inline constexpr std::size_t block_bytes_max = 8 * 1024 * 1024;
inline constexpr std::size_t lots_per_account_max = 4'096;
inline constexpr std::uint16_t pending_days_max = 365;
inline constexpr std::uint32_t point_expiry_days_max = 36'500;
// A signed transaction may name a last-valid height at most this far past the block that
// includes it, so a signed transaction cannot be held back and replayed much later.
inline constexpr std::uint64_t tx_validity_blocks_max = 100'000;

inline constexpr std::uint64_t ms_per_day = 86'400'000;
// 9999-12-31T23:59:59Z. Keeps every time + period sum far from 2^64.
inline constexpr std::uint64_t block_time_ms_max = 253'402'300'799'000;

}  // namespace pc::ledger
