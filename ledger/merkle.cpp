#include "ledger/merkle.hpp"

#include <algorithm>
#include <bit>

#include "crypto/check.hpp"

#include "crypto/domains.hpp"

namespace pc::ledger {
namespace {

Hash256 leaf_hash(const Hash256& tx_id) { return crypto::tagged_hash(domain::merkle_leaf, {tx_id}); }

Hash256 node_hash(const Hash256& left, const Hash256& right) {
  return crypto::tagged_hash(domain::merkle_node, {left, right});
}

// The largest power of two strictly below n (n >= 2).
std::size_t split_point(std::size_t n) { return std::bit_floor(n - 1); }

Hash256 subtree_root(std::span<const Hash256> tx_ids) {
  if (tx_ids.size() == 1) return leaf_hash(tx_ids[0]);
  const std::size_t k = split_point(tx_ids.size());
  return node_hash(subtree_root(tx_ids.first(k)), subtree_root(tx_ids.subspan(k)));
}

void collect_path(std::span<const Hash256> tx_ids, std::size_t index, std::vector<Hash256>& path) {
  if (tx_ids.size() <= 1) return;
  const std::size_t k = split_point(tx_ids.size());
  if (index < k) {
    collect_path(tx_ids.first(k), index, path);
    path.push_back(subtree_root(tx_ids.subspan(k)));
  } else {
    collect_path(tx_ids.subspan(k), index - k, path);
    path.push_back(subtree_root(tx_ids.first(k)));
  }
}

// ceil(count / 2^level): the nodes at `level` of a tree of `count` leaves.
std::size_t level_size(std::size_t count, unsigned level) {
  return (count + (std::size_t{1} << level) - 1) >> level;
}

std::vector<Hash256> leaf_hashes(std::span<const Hash256> tx_ids) {
  std::vector<Hash256> leaves;
  leaves.reserve(tx_ids.size());
  for (const Hash256& id : tx_ids) leaves.push_back(leaf_hash(id));
  return leaves;
}

// The next level up: pairs hashed, a last node without a partner moved up as it is.
std::vector<Hash256> level_above(const std::vector<Hash256>& level) {
  std::vector<Hash256> above;
  above.reserve((level.size() + 1) / 2);
  for (std::size_t i = 0; i + 1 < level.size(); i += 2) above.push_back(node_hash(level[i], level[i + 1]));
  if (level.size() % 2 == 1) above.push_back(level.back());
  return above;
}

}  // namespace

std::vector<Hash256> merkle_levels(std::span<const Hash256> tx_ids, unsigned first_level) {
  std::vector<Hash256> levels;
  if (tx_ids.empty()) return levels;
  levels.reserve(merkle_levels_size(tx_ids.size(), first_level));
  std::vector<Hash256> level = leaf_hashes(tx_ids);
  for (unsigned height = 0;; ++height) {
    if (height >= first_level) {
      levels.insert(levels.end(), level.begin(), level.end());
      if (level.size() == 1) break;
    }
    level = level_above(level);
  }
  return levels;
}

std::size_t merkle_levels_size(std::size_t count, unsigned first_level) {
  if (count == 0) return 0;
  std::size_t total = 0;
  for (unsigned height = first_level;; ++height) {
    total += level_size(count, height);
    if (level_size(count, height) == 1) return total;
  }
}

Hash256 merkle_root_of_levels(std::span<const Hash256> levels) {
  return levels.empty() ? crypto::tagged_hash(domain::merkle_empty, {}) : levels.back();
}

namespace {

// merkle_path_from_levels over any way of reading node `i` of the levels.
template <typename NodeAt>
std::optional<std::vector<Hash256>> path_from_levels(std::span<const Hash256> group_ids, std::size_t index,
                                                     std::size_t count, unsigned first_level, std::size_t node_count,
                                                     const NodeAt& node_at) {
  const std::size_t group_leaves = std::size_t{1} << first_level;
  const std::size_t group = index / group_leaves;
  PC_CHECK(index < count && group_ids.size() == std::min(group_leaves, count - group * group_leaves));
  PC_CHECK(node_count == merkle_levels_size(count, first_level));
  std::vector<Hash256> path;
  // Below first_level the group is aligned on its own size, so its pairs are the tree's pairs
  // and a sibling missing from the group is missing from the tree.
  std::vector<Hash256> level = leaf_hashes(group_ids);
  std::size_t position = index % group_leaves;
  for (unsigned height = 0; height < first_level; ++height) {
    if ((position ^ 1) < level.size()) path.push_back(level[position ^ 1]);
    level = level_above(level);
    position >>= 1;
  }
  if (level.size() != 1 || level[0] != node_at(group)) return std::nullopt;
  std::size_t offset = 0;
  for (unsigned height = first_level; level_size(count, height) > 1; ++height) {
    const std::size_t size = level_size(count, height);
    const std::size_t sibling = (index >> height) ^ 1;
    if (sibling < size) path.push_back(node_at(offset + sibling));
    offset += size;
  }
  return path;
}

}  // namespace

std::optional<std::vector<Hash256>> merkle_path_from_levels(std::span<const Hash256> group_ids, std::size_t index,
                                                            std::size_t count, unsigned first_level,
                                                            std::span<const Hash256> levels) {
  return path_from_levels(group_ids, index, count, first_level, levels.size(),
                          [&levels](std::size_t i) { return levels[i]; });
}

std::optional<std::vector<Hash256>> merkle_path_from_levels(std::span<const Hash256> group_ids, std::size_t index,
                                                            std::size_t count, unsigned first_level,
                                                            ByteSpan levels) {
  PC_CHECK(levels.size() % sizeof(Hash256) == 0);
  return path_from_levels(group_ids, index, count, first_level, levels.size() / sizeof(Hash256),
                          [&levels](std::size_t i) {
                            Hash256 node;
                            std::copy_n(levels.begin() + static_cast<std::ptrdiff_t>(i * sizeof(Hash256)),
                                        sizeof(Hash256), node.begin());
                            return node;
                          });
}

Hash256 merkle_root(std::span<const Hash256> tx_ids) {
  if (tx_ids.empty()) return crypto::tagged_hash(domain::merkle_empty, {});
  return subtree_root(tx_ids);
}

std::vector<Hash256> merkle_path(std::span<const Hash256> tx_ids, std::size_t index) {
  std::vector<Hash256> path;
  collect_path(tx_ids, index, path);
  return path;
}

// RFC 9162, section 2.1.3.2, with our leaf and node hashes.
bool verify_merkle_path(const Hash256& tx_id, std::size_t index, std::size_t count,
                        std::span<const Hash256> path, const Hash256& root) {
  if (index >= count) return false;
  std::size_t f_n = index;
  std::size_t s_n = count - 1;
  Hash256 r = leaf_hash(tx_id);
  for (const Hash256& p : path) {
    if (s_n == 0) return false;
    if ((f_n & 1) == 1 || f_n == s_n) {
      r = node_hash(p, r);
      if ((f_n & 1) == 0) {
        while ((f_n & 1) == 0 && f_n != 0) {
          f_n >>= 1;
          s_n >>= 1;
        }
      }
    } else {
      r = node_hash(r, p);
    }
    f_n >>= 1;
    s_n >>= 1;
  }
  return s_n == 0 && r == root;
}

}  // namespace pc::ledger
