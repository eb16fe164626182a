#include "ledger/merkle.hpp"

#include <bit>

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

}  // namespace

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
