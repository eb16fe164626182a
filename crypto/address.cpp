#include "crypto/address.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

#include "crypto/hash.hpp"

namespace pc::crypto {
namespace {

constexpr std::string_view prefix = "pc";
constexpr std::string_view alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
constexpr std::uint8_t current_version = 0x01;
constexpr std::size_t checksum_bytes = 4;
constexpr std::size_t payload_bytes = 1 + std::tuple_size_v<PublicKey> + checksum_bytes;  // 37
constexpr std::size_t encoded_chars = (payload_bytes * 8 + 4) / 5;                         // 60
constexpr std::size_t address_chars = prefix.size() + encoded_chars;                       // 62
static_assert(encoded_chars * 5 - payload_bytes * 8 == 4, "the format promises four pad bits");

using Payload = FixedBytes<payload_bytes>;

// Each character's five-bit value, or -1. Upper case and the look-alikes i, l, o decode too,
// because people copy addresses by hand; encode only ever writes the lowercase alphabet.
constexpr std::array<std::int8_t, 256> decode_table = [] {
  std::array<std::int8_t, 256> table{};
  table.fill(-1);
  for (std::size_t value = 0; value < alphabet.size(); ++value) {
    const auto lower = static_cast<unsigned char>(alphabet[value]);
    table[lower] = static_cast<std::int8_t>(value);
    if (lower >= 'a') table[static_cast<std::size_t>(lower - 'a' + 'A')] = static_cast<std::int8_t>(value);
  }
  for (const char one : std::string_view("iIlL")) table[static_cast<unsigned char>(one)] = 1;
  for (const char zero : std::string_view("oO")) table[static_cast<unsigned char>(zero)] = 0;
  return table;
}();

char to_lower_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

FixedBytes<checksum_bytes> checksum(std::uint8_t version, const PublicKey& key) {
  const Hash256 digest = tagged_hash(domain::address_checksum, {ByteSpan(&version, 1), key});
  FixedBytes<checksum_bytes> out{};
  std::copy_n(digest.begin(), checksum_bytes, out.begin());
  return out;
}

}  // namespace

std::string_view describe(AddressError error) {
  switch (error) {
    case AddressError::bad_prefix: return "address does not start with \"pc\"";
    case AddressError::bad_length: return "address is not 62 characters long";
    case AddressError::bad_character: return "address contains a character outside the alphabet";
    case AddressError::bad_padding: return "address has nonzero padding bits in its last character";
    case AddressError::unsupported_version: return "address has an unsupported version";
    case AddressError::bad_checksum: return "address checksum does not match (a typo?)";
    case AddressError::invalid_key: return "address holds an invalid public key";
  }
  return "unknown address error";
}

std::string encode_address(const PublicKey& key) {
  Payload payload{};
  payload[0] = current_version;
  std::copy(key.begin(), key.end(), payload.begin() + 1);
  const auto sum = checksum(current_version, key);
  std::copy(sum.begin(), sum.end(), payload.end() - checksum_bytes);

  std::string address(prefix);
  address.reserve(address_chars);
  std::uint32_t pending = 0;
  unsigned pending_bits = 0;
  for (const std::uint8_t byte : payload) {
    pending = (pending << 8) | byte;
    pending_bits += 8;
    while (pending_bits >= 5) {
      pending_bits -= 5;
      address.push_back(alphabet[(pending >> pending_bits) & 0x1f]);
    }
  }
  address.push_back(alphabet[(pending << (5 - pending_bits)) & 0x1f]);  // the four zero pad bits
  return address;
}

Result<PublicKey, AddressError> decode_address(std::string_view address, KeyCheck check) {
  if (address.size() < prefix.size() || to_lower_ascii(address[0]) != prefix[0] ||
      to_lower_ascii(address[1]) != prefix[1]) {
    return AddressError::bad_prefix;
  }
  if (address.size() != address_chars) return AddressError::bad_length;

  const std::string_view encoded = address.substr(prefix.size());
  std::array<std::uint8_t, encoded_chars> values{};
  for (std::size_t i = 0; i < encoded_chars; ++i) {
    const std::int8_t value = decode_table[static_cast<unsigned char>(encoded[i])];
    if (value < 0) return AddressError::bad_character;
    values[i] = static_cast<std::uint8_t>(value);
  }

  Payload payload{};
  std::size_t filled = 0;
  std::uint32_t pending = 0;
  unsigned pending_bits = 0;
  for (const std::uint8_t value : values) {
    pending = (pending << 5) | value;
    pending_bits += 5;
    if (pending_bits >= 8) {
      pending_bits -= 8;
      payload[filled++] = static_cast<std::uint8_t>(pending >> pending_bits);
    }
  }
  // Nonzero padding would let two strings name one key; only the canonical spelling is valid.
  if ((pending & ((1U << pending_bits) - 1)) != 0) return AddressError::bad_padding;

  if (payload[0] != current_version) return AddressError::unsupported_version;
  PublicKey key{};
  std::copy_n(payload.begin() + 1, key.size(), key.begin());
  if (!std::equal(payload.end() - checksum_bytes, payload.end(), checksum(payload[0], key).begin())) {
    return AddressError::bad_checksum;
  }
  if (check == KeyCheck::full && !is_valid_public_key(key)) return AddressError::invalid_key;
  return key;
}

}  // namespace pc::crypto
