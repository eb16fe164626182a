// Every kind of hashed or signed object has its own four-byte domain prefix, so that a hash
// or signature of one kind can never be taken for another (rippled's HashPrefix). This is
// the only list; docs/protocol.md repeats it byte for byte. A prefix, once used on a chain,
// is never changed or reused.
#pragma once

#include <array>
#include <cstdint>

namespace pc::domain {

using Prefix = std::array<std::uint8_t, 4>;

constexpr Prefix make(const char (&tag)[5]) {
  return {static_cast<std::uint8_t>(tag[0]), static_cast<std::uint8_t>(tag[1]),
          static_cast<std::uint8_t>(tag[2]), static_cast<std::uint8_t>(tag[3])};
}

inline constexpr Prefix tx_id = make("PCTX");          // transaction hash (id)
inline constexpr Prefix tx_signature = make("PCTS");   // message a transaction signer signs
inline constexpr Prefix block_id = make("PCBH");       // block header hash (block id)
// "PCCV" (block version 1's commit vote) is retired: never reuse it.
inline constexpr Prefix proposal = make("PCPP");       // message a proposer signs for a proposal
inline constexpr Prefix prevote = make("PCPV");        // message a validator signs to prevote
inline constexpr Prefix precommit = make("PCPC");      // message a validator signs to precommit
inline constexpr Prefix merkle_leaf = make("PCML");    // Merkle tree leaf
inline constexpr Prefix merkle_node = make("PCMN");    // Merkle tree inner node
inline constexpr Prefix merkle_empty = make("PCME");   // Merkle root of a block with no transactions
inline constexpr Prefix state_changes = make("PCSD");  // digest of one block's state changes
inline constexpr Prefix state_chain = make("PCSH");    // state hash chain link
inline constexpr Prefix genesis = make("PCGN");        // genesis hash
inline constexpr Prefix address_checksum = make("PCAD");  // account address checksum
inline constexpr Prefix p2p_handshake = make("PCHK");  // transcript a node signs in the p2p handshake
inline constexpr Prefix voucher_code = make("PCVC");   // a voucher's code, from its redemption
inline constexpr Prefix referral_code = make("PCRC");  // a referral code's check character (off chain)
inline constexpr Prefix payment_request = make("PCPQ");     // message a partner signs for a payment request
inline constexpr Prefix payment_request_id = make("PCPI");  // a payment request's id

}  // namespace pc::domain
