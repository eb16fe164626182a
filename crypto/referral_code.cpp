#include "crypto/referral_code.hpp"

#include "crypto/check.hpp"
#include "crypto/hash.hpp"

namespace pc::crypto {
namespace {

constexpr std::string_view alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr std::size_t body_chars = referral_code_key_bits / 5;  // 11
static_assert(body_chars + 1 == referral_code_chars && body_chars * 5 == referral_code_key_bits);
constexpr std::uint8_t last_prefix_byte_mask = 0xfe;  // 55 bits: byte 6 keeps its top 7

char check_character(std::string_view body) {
  const Hash256 digest =
      tagged_hash(domain::referral_code, {ByteSpan(reinterpret_cast<const std::uint8_t*>(body.data()), body.size())});
  return alphabet[digest[0] >> 3];
}

int value_of(char c) {
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  if (c == 'I' || c == 'L') c = '1';
  if (c == 'O') c = '0';
  const std::size_t at = alphabet.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

}  // namespace

std::string_view describe(ReferralCodeError error) {
  switch (error) {
    case ReferralCodeError::bad_length: return "a referral code is 12 characters (XXXX-XXXX-XXXX)";
    case ReferralCodeError::bad_character: return "the referral code holds a character outside 0-9 and A-Z";
    case ReferralCodeError::bad_check: return "the referral code's check character does not match: a typo?";
  }
  return "bad referral code";
}

std::string encode_referral_code(const PublicKey& key) {
  std::uint64_t bits = 0;  // the key's first 64 bits, big-endian
  for (std::size_t i = 0; i < 8; ++i) bits = bits << 8 | key[i];
  std::string code;
  for (std::size_t i = 0; i < body_chars; ++i) code.push_back(alphabet[(bits >> (59 - 5 * i)) & 31]);
  code.push_back(check_character(code));
  PC_CHECK(code.size() == referral_code_chars);
  return code;
}

Result<ReferralCode, ReferralCodeError> decode_referral_code(std::string_view text) {
  if (text.size() > referral_code_input_chars_max) return ReferralCodeError::bad_length;
  ReferralCode out;
  std::uint64_t bits = 0;
  for (char c : text) {
    if (c == '-' || c == ' ') continue;
    const int value = value_of(c);
    if (value < 0) return ReferralCodeError::bad_character;
    if (out.code.size() == referral_code_chars) return ReferralCodeError::bad_length;
    if (out.code.size() < body_chars) bits = bits << 5 | static_cast<std::uint64_t>(value);
    out.code.push_back(alphabet[static_cast<std::size_t>(value)]);
  }
  if (out.code.size() != referral_code_chars) return ReferralCodeError::bad_length;
  if (check_character(std::string_view(out.code).substr(0, body_chars)) != out.code.back()) {
    return ReferralCodeError::bad_check;
  }
  bits <<= 64 - referral_code_key_bits;  // the 55 bits at the top of a u64
  for (std::size_t i = 0; i < out.key_prefix.size(); ++i) {
    out.key_prefix[i] = static_cast<std::uint8_t>(bits >> (56 - 8 * i));
  }
  PC_CHECK((out.key_prefix.back() & ~last_prefix_byte_mask) == 0);
  return out;
}

std::string format_referral_code(std::string_view code) {
  std::string out;
  for (std::size_t i = 0; i < code.size(); ++i) {
    if (i > 0 && i % 4 == 0) out.push_back('-');
    out.push_back(code[i]);
  }
  return out;
}

bool key_has_referral_prefix(const PublicKey& key, const std::array<std::uint8_t, 7>& key_prefix) {
  for (std::size_t i = 0; i + 1 < key_prefix.size(); ++i) {
    if (key[i] != key_prefix[i]) return false;
  }
  return (key[6] & last_prefix_byte_mask) == key_prefix[6];
}

}  // namespace pc::crypto
