#include "crypto/bytes.hpp"

#include <array>
#include <cstdint>

namespace pc {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// Each byte's digit value, or -1: one load per digit, since every submitted transaction
// arrives as hex.
constexpr std::array<std::int8_t, 256> hex_values = [] {
  std::array<std::int8_t, 256> values{};
  values.fill(-1);
  for (int digit = 0; digit < 10; ++digit) values[static_cast<std::size_t>('0' + digit)] = static_cast<std::int8_t>(digit);
  for (int digit = 0; digit < 6; ++digit) {
    values[static_cast<std::size_t>('a' + digit)] = static_cast<std::int8_t>(10 + digit);
    values[static_cast<std::size_t>('A' + digit)] = static_cast<std::int8_t>(10 + digit);
  }
  return values;
}();

int hex_value(char digit) { return hex_values[static_cast<unsigned char>(digit)]; }

}  // namespace

std::string to_hex(ByteSpan bytes) {
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (const std::uint8_t byte : bytes) {
    hex.push_back(hex_digits[byte >> 4]);
    hex.push_back(hex_digits[byte & 0x0f]);
  }
  return hex;
}

std::optional<Bytes> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  // Sized once and written by index: a push_back per byte checked the capacity each time.
  Bytes bytes(hex.size() / 2);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const int high = hex_value(hex[2 * i]);
    const int low = hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    bytes[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return bytes;
}

}  // namespace pc
