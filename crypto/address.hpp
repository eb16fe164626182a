// Account addresses a person can read aloud and type: see docs/crypto.md.
//
//   address = "pc" || base32(version || public_key || checksum)
//
// with version = 0x01, checksum = the first four bytes of
// tagged_hash(address_checksum, version || public_key), and base32 Crockford's alphabet
// "0123456789abcdefghjkmnpqrstvwxyz" over the 37 bytes, most significant bit first, padded
// with four zero bits: 60 characters, so 62 with the prefix. Decoding is case-insensitive
// and reads i and l as 1 and o as 0; anything else is an error.
#pragma once

#include <string>
#include <string_view>

#include "crypto/keys.hpp"
#include "crypto/result.hpp"

namespace pc::crypto {

enum class AddressError {
  bad_prefix,           // does not start with "pc"
  bad_length,           // not 62 characters
  bad_character,        // a character outside the alphabet
  bad_padding,          // the four padding bits are not zero
  unsupported_version,  // version byte is not 0x01
  bad_checksum,         // a typo: the checksum does not match
  invalid_key,          // checksum fine but the key fails is_valid_public_key
};

// A one-line English description, for CLI and RPC error messages.
std::string_view describe(AddressError error);

std::string encode_address(const PublicKey& key);

// checksum_only skips is_valid_public_key (about the cost of a signature check): for looking
// an account up, since an account is only ever opened for a key that passed it.
enum class KeyCheck { full, checksum_only };
Result<PublicKey, AddressError> decode_address(std::string_view address, KeyCheck check = KeyCheck::full);

}  // namespace pc::crypto
