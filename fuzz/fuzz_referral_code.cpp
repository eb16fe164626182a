// crypto::decode_referral_code on arbitrary text, as a till hands over what a customer typed
// (docs/earning-rules.md, "Referrals"). Properties:
//  - a decoded code is 12 characters of the alphabet whose check matches, and decoding it or
//    its printed form gives the same code and key prefix back;
//  - the key prefix leaves the bit after the 55 clear, and a key built from it has that code;
//  - text longer than referral_code_input_chars_max never decodes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/referral_code.hpp"
#include "fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace crypto = pc::crypto;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = crypto::decode_referral_code(text);
  if (!decoded) return 0;
  FUZZ_CHECK(size <= crypto::referral_code_input_chars_max);
  FUZZ_CHECK(decoded->code.size() == crypto::referral_code_chars);
  FUZZ_CHECK((decoded->key_prefix[6] & 0x01) == 0);
  crypto::PublicKey key{};
  for (std::size_t i = 0; i < decoded->key_prefix.size(); ++i) key[i] = decoded->key_prefix[i];
  FUZZ_CHECK(crypto::key_has_referral_prefix(key, decoded->key_prefix));
  FUZZ_CHECK(crypto::encode_referral_code(key) == decoded->code);
  for (const std::string& again : {decoded->code, crypto::format_referral_code(decoded->code)}) {
    auto round_trip = crypto::decode_referral_code(again);
    FUZZ_CHECK(round_trip && round_trip->code == decoded->code && round_trip->key_prefix == decoded->key_prefix);
  }
  return 0;
}
