// Byte containers shared by every layer, and hex for people and tests.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pc {

using Bytes = std::vector<std::uint8_t>;
using ByteSpan = std::span<const std::uint8_t>;

template <std::size_t N>
using FixedBytes = std::array<std::uint8_t, N>;

// Lowercase hex, two characters a byte.
std::string to_hex(ByteSpan bytes);

// Accepts upper or lower case; nullopt on an odd length or a non-hex character.
std::optional<Bytes> from_hex(std::string_view hex);

// Fixed-size variant: nullopt unless the hex is exactly 2*N characters.
template <std::size_t N>
std::optional<FixedBytes<N>> fixed_from_hex(std::string_view hex) {
  auto bytes = from_hex(hex);
  if (!bytes || bytes->size() != N) return std::nullopt;
  FixedBytes<N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = (*bytes)[i];
  return out;
}

inline ByteSpan as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

}  // namespace pc
