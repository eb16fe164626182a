// SHA-256, the only hash function on the chain, with domain separation.
#pragma once

#include <sodium/crypto_hash_sha256.h>

#include <initializer_list>

#include "crypto/bytes.hpp"
#include "crypto/domains.hpp"

namespace pc::crypto {

using Hash256 = FixedBytes<32>;

// Plain SHA-256 of the bytes (used by known-answer tests and inside tagged_hash).
Hash256 sha256(ByteSpan bytes);

// Incremental SHA-256 over several parts; the parts are concatenated, nothing else is added.
class Sha256 {
 public:
  Sha256();
  Sha256& update(ByteSpan bytes);
  Hash256 finish();

 private:
  crypto_hash_sha256_state state_;
};

// SHA-256(prefix || part_0 || part_1 || ...). Every hash the chain commits to is one of these.
Hash256 tagged_hash(const domain::Prefix& prefix, std::initializer_list<ByteSpan> parts);

}  // namespace pc::crypto
