// A customer's referral code: short enough to read out or type from a flyer, derived from the
// customer's public key alone, so every partner's node resolves it against the chain's
// accounts without new chain state (docs/earning-rules.md, "Referrals").
//
//   bits  = the first 55 bits of the public key
//   check = the first 5 bits of tagged_hash(PCRC, the 11 characters of bits, as ASCII)
//   code  = 11 characters of bits, 5 bits each, most significant first, then 1 of check
//
// in Crockford's base 32 upper case ("0123456789ABCDEFGHJKMNPQRSTVWXYZ", as voucher codes),
// printed XXXX-XXXX-XXXX. The check character turns most typos into bad_check instead of
// another customer's code. 55 bits are a prefix that two accounts share with probability about
// accounts^2 / 2^56 (0.14% that any two of 10 million do): the node refuses an ambiguous code
// rather than guessing (node/referrals.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/keys.hpp"
#include "crypto/result.hpp"

namespace pc::crypto {

inline constexpr std::size_t referral_code_chars = 12;
inline constexpr std::size_t referral_code_key_bits = 55;
// What a person may type: dashes and spaces are dropped, so allow some.
inline constexpr std::size_t referral_code_input_chars_max = 32;

enum class ReferralCodeError {
  bad_length,     // not 12 characters once dashes and spaces are dropped
  bad_character,  // a character outside the alphabet
  bad_check,      // a typo: the last character does not match the others
};
std::string_view describe(ReferralCodeError error);

// The canonical code (12 upper-case characters) of `key`.
std::string encode_referral_code(const PublicKey& key);

struct ReferralCode {
  std::string code;  // canonical: 12 characters, upper case
  // The first 55 bits of the key, in the first 7 bytes, the eighth bit of byte 6 zero.
  std::array<std::uint8_t, 7> key_prefix{};
};

// What a person typed: dashes and spaces dropped, lower case raised, I and L read as 1 and O
// as 0 (as for vouchers and addresses).
Result<ReferralCode, ReferralCodeError> decode_referral_code(std::string_view text);

// XXXX-XXXX-XXXX.
std::string format_referral_code(std::string_view code);

// Whether the key's first 55 bits are `key_prefix`'s.
bool key_has_referral_prefix(const PublicKey& key, const std::array<std::uint8_t, 7>& key_prefix);

}  // namespace pc::crypto
