// The Merkle tree over a block's transaction ids: RFC 6962's shape (split at the largest
// power of two below n, no duplicated leaves) with Pointchain's domain prefixes:
//   leaf  = tagged_hash(merkle_leaf, tx_id)
//   node  = tagged_hash(merkle_node, left || right)
//   empty = tagged_hash(merkle_empty)
#pragma once

#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "crypto/hash.hpp"

namespace pc::ledger {

using crypto::Hash256;

Hash256 merkle_root(std::span<const Hash256> tx_ids);

// The audit path for leaf `index`: sibling hashes from the leaf up to the root.
// Precondition: index < tx_ids.size().
std::vector<Hash256> merkle_path(std::span<const Hash256> tx_ids, std::size_t index);

// The tree built bottom-up, where a level's last node without a partner moves up unchanged
// (which gives the same tree as the split above). Level 0 holds the leaf hashes; level j holds
// ceil(count / 2^j) nodes, node p covering leaves [p * 2^j, (p + 1) * 2^j).
//
// The nodes of levels `first_level` and up, level by level, each left to right, ending with the
// level of one node (the root): what the store keeps per block so that a transaction's path
// needs the 2^first_level transaction ids around it, not all of them. Empty for no
// transactions.
std::vector<Hash256> merkle_levels(std::span<const Hash256> tx_ids, unsigned first_level);
// How many nodes merkle_levels returns for `count` transactions.
std::size_t merkle_levels_size(std::size_t count, unsigned first_level);
// The root from merkle_levels' result (the tagged hash of nothing for no transactions).
Hash256 merkle_root_of_levels(std::span<const Hash256> levels);

// merkle_path(tx_ids, index) from the ids of leaf `index`'s group alone (the group of
// 2^first_level leaves it belongs to: group_ids[0] is leaf index - index % 2^first_level) and
// `levels` from merkle_levels. Returns nothing when the group's own subtree root is not the one
// in `levels` (the caller's records disagree). Preconditions: index < count, group_ids holds
// the whole group, levels.size() == merkle_levels_size(count, first_level).
std::optional<std::vector<Hash256>> merkle_path_from_levels(std::span<const Hash256> group_ids, std::size_t index,
                                                            std::size_t count, unsigned first_level,
                                                            std::span<const Hash256> levels);
// The same with `levels` as the store keeps them: the nodes' 32 bytes one after the other
// (reads only the nodes on the path). Precondition: levels.size() is 32 * merkle_levels_size.
std::optional<std::vector<Hash256>> merkle_path_from_levels(std::span<const Hash256> group_ids, std::size_t index,
                                                            std::size_t count, unsigned first_level,
                                                            ByteSpan levels);

// A block's tree computed once, with the ids it was computed from: a node needs the root when
// it seals or validates a block and the levels when it writes the block, on the writer thread,
// where building the tree a second time cost as much as a block's Merkle work again (two SHA-256
// per transaction). Immutable, so its levels are always those of its ids.
class MerkleTree {
 public:
  MerkleTree(std::vector<Hash256> tx_ids, unsigned first_level)
      : tx_ids_(std::move(tx_ids)), first_level_(first_level), levels_(merkle_levels(tx_ids_, first_level)) {}

  const std::vector<Hash256>& tx_ids() const { return tx_ids_; }
  unsigned first_level() const { return first_level_; }
  // merkle_levels(tx_ids(), first_level()).
  const std::vector<Hash256>& levels() const { return levels_; }
  // merkle_root(tx_ids()).
  Hash256 root() const { return merkle_root_of_levels(levels_); }

 private:
  std::vector<Hash256> tx_ids_;
  unsigned first_level_;
  std::vector<Hash256> levels_;
};

// True when `path` proves that `tx_id` is leaf `index` of a tree of `count` leaves with `root`.
[[nodiscard]] bool verify_merkle_path(const Hash256& tx_id, std::size_t index, std::size_t count,
                                      std::span<const Hash256> path, const Hash256& root);

}  // namespace pc::ledger
