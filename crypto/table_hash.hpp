// A keyed hash of 32-byte ids for in-memory hash tables of ids that others choose (a peer's
// announced transaction ids, the ledger's account keys): SipHash-2-4 (libsodium's crypto_shorthash) under a key drawn at
// random once per process, so that ids cannot be picked to fall into one bucket. Never
// stored, sent or signed: it differs from one run to the next.
#pragma once

#include <cstddef>
#include <cstdint>

#include "crypto/hash.hpp"

namespace pc::crypto {

std::uint64_t table_hash(const Hash256& id);

struct TableHash {
  std::size_t operator()(const Hash256& id) const noexcept { return static_cast<std::size_t>(table_hash(id)); }
};

}  // namespace pc::crypto
