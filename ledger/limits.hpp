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
// Stamp cards and badges (protocol version 4). Every qualifying Issue looks at each card and
// badge of its partner, so these bound an Issue's work as well as the state.
inline constexpr std::size_t stamp_cards_per_partner_max = 16;
inline constexpr std::size_t badges_per_partner_max = 64;
inline constexpr std::uint16_t stamp_card_stamps_max = 100;
inline constexpr std::uint16_t stamp_card_days_max = 3'650;
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

// The tier program (protocol version 4, docs/protocol.md "Tiers"). Multipliers are in basis
// points: 10000 earns the points the partner signed, 12500 earns 25 % more.
inline constexpr std::size_t tiers_max = 8;                    // tiers in a program (index 1-8)
inline constexpr std::size_t tier_name_bytes_max = 32;
inline constexpr std::uint32_t tier_multiplier_bp_base = 10'000;   // x1: what tier 0 earns
inline constexpr std::uint32_t tier_multiplier_bp_max = 100'000;   // x10
inline constexpr std::uint16_t tier_window_days_max = 3'660;       // ten years
inline constexpr std::uint16_t tier_grant_days_max = 3'660;        // longest GrantTier period
// Billing terms (protocol version 4). Prices are minor units of the billing currency per
// 1000 points; the cap keeps a fee over any u64 count of points inside 128-bit arithmetic and
// a month's fees far below 2^63. A top-up buys whole blocks of prepaid_block_points.
inline constexpr std::uint64_t billing_price_per_1000_points_minor_max = 1'000'000'000;
inline constexpr std::uint8_t currency_minor_digits_max = 4;
inline constexpr std::uint64_t prepaid_block_points = 1'000;

inline constexpr std::uint64_t ms_per_day = 86'400'000;
// 9999-12-31T23:59:59Z. Keeps every time + period sum far from 2^64.
inline constexpr std::uint64_t block_time_ms_max = 253'402'300'799'000;

}  // namespace pc::ledger
