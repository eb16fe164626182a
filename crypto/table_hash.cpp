#include "crypto/table_hash.hpp"

#include <sodium/core.h>
#include <sodium/crypto_shorthash.h>
#include <sodium/randombytes.h>

#include <array>
#include <cstring>

#include "crypto/check.hpp"

namespace pc::crypto {

std::uint64_t table_hash(const Hash256& id) {
  static const std::array<unsigned char, crypto_shorthash_KEYBYTES> key = [] {
    PC_CHECK(sodium_init() >= 0);
    std::array<unsigned char, crypto_shorthash_KEYBYTES> drawn{};
    randombytes_buf(drawn.data(), drawn.size());
    return drawn;
  }();
  std::array<unsigned char, crypto_shorthash_BYTES> out{};
  crypto_shorthash(out.data(), id.data(), id.size(), key.data());
  std::uint64_t value = 0;
  std::memcpy(&value, out.data(), sizeof value);
  return value;
}

}  // namespace pc::crypto
