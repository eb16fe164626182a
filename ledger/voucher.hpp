// Voucher codes: what a customer shows at the till for a redeemed reward. A code is derived
// from the redemption (its transaction id and the unit's position), so every node computes the
// same code and the wallet can print it before the block is read back. docs/protocol.md,
// "Vouchers", gives the derivation byte by byte.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/hash.hpp"

namespace pc::ledger {

// 12 characters of 5 bits: the first 60 bits of the derivation hash.
inline constexpr std::size_t voucher_code_chars = 12;
// Crockford's base 32: digits and capital letters without I, L, O and U, so that a code read
// aloud or typed from a receipt has no look-alikes.
inline constexpr std::string_view voucher_alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

// The code of unit `unit` (0-based) of the RedeemReward with id `redemption`:
// the first 60 bits of tagged_hash(PCVC, redemption || unit as u16 LE), 5 bits a character,
// most significant first.
std::string voucher_code(const crypto::Hash256& redemption, std::uint16_t unit);

// True for exactly voucher_code_chars characters of voucher_alphabet (the canonical form).
bool is_voucher_code(std::string_view code);

// What a person typed, in canonical form: dashes and spaces dropped, lower case raised, and
// Crockford's look-alikes read as the digit they stand for (I and L as 1, O as 0). nullopt when
// anything else is left or the length is wrong. At most voucher_input_chars_max characters.
inline constexpr std::size_t voucher_input_chars_max = 64;
std::optional<std::string> parse_voucher_code(std::string_view text);

// XXXX-XXXX-XXXX, as the wallet prints it.
std::string format_voucher_code(std::string_view code);

}  // namespace pc::ledger
