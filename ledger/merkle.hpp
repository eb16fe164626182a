// The Merkle tree over a block's transaction ids: RFC 6962's shape (split at the largest
// power of two below n, no duplicated leaves) with Pointchain's domain prefixes:
//   leaf  = tagged_hash(merkle_leaf, tx_id)
//   node  = tagged_hash(merkle_node, left || right)
//   empty = tagged_hash(merkle_empty)
#pragma once

#include <span>
#include <vector>

#include "crypto/hash.hpp"

namespace pc::ledger {

using crypto::Hash256;

Hash256 merkle_root(std::span<const Hash256> tx_ids);

// The audit path for leaf `index`: sibling hashes from the leaf up to the root.
// Precondition: index < tx_ids.size().
std::vector<Hash256> merkle_path(std::span<const Hash256> tx_ids, std::size_t index);

// True when `path` proves that `tx_id` is leaf `index` of a tree of `count` leaves with `root`.
[[nodiscard]] bool verify_merkle_path(const Hash256& tx_id, std::size_t index, std::size_t count,
                                      std::span<const Hash256> path, const Hash256& root);

}  // namespace pc::ledger
