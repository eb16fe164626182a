#include "crypto/hash.hpp"

namespace pc::crypto {

Hash256 sha256(ByteSpan bytes) { return Sha256().update(bytes).finish(); }

Sha256::Sha256() { crypto_hash_sha256_init(&state_); }

Sha256& Sha256::update(ByteSpan bytes) {
  crypto_hash_sha256_update(&state_, bytes.data(), bytes.size());
  return *this;
}

Hash256 Sha256::finish() {
  Hash256 digest{};
  crypto_hash_sha256_final(&state_, digest.data());
  return digest;
}

Hash256 tagged_hash(const domain::Prefix& prefix, std::initializer_list<ByteSpan> parts) {
  Sha256 hasher;
  hasher.update(prefix);
  for (const ByteSpan part : parts) hasher.update(part);
  return hasher.finish();
}

}  // namespace pc::crypto
