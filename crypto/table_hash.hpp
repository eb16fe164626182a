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

// Deliberately not noexcept: libstdc++ then stores each key's hash in its node. A noexcept
// hash counts as cheap there, and its tables hash a node's key again at every step along a
// bucket's chain (to see where the bucket ends) and compare all 32 bytes of each key they pass;
// a SipHash per step costs more than the node's extra 8 bytes.
struct TableHash {
  std::size_t operator()(const Hash256& id) const { return static_cast<std::size_t>(table_hash(id)); }
};

}  // namespace pc::crypto
