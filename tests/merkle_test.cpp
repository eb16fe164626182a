// The Merkle tree over transaction ids (docs/protocol.md, "Merkle tree"): RFC 6962's shape
// with Pointchain's domain prefixes, and RFC 9162's inclusion proof verification.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "crypto/domains.hpp"
#include "crypto/hash.hpp"
#include "ledger/merkle.hpp"

namespace {

using namespace pc;
using crypto::Hash256;

std::vector<Hash256> make_ids(std::size_t count) {
  std::vector<Hash256> ids;
  for (std::size_t i = 0; i < count; ++i) ids.push_back(crypto::sha256(as_bytes("tx " + std::to_string(i))));
  return ids;
}

Hash256 leaf(const Hash256& tx_id) { return crypto::tagged_hash(domain::merkle_leaf, {tx_id}); }
Hash256 node(const Hash256& left, const Hash256& right) {
  return crypto::tagged_hash(domain::merkle_node, {left, right});
}

}  // namespace

TEST_CASE("the Merkle root of no transactions is the tagged hash of nothing", "[ledger][merkle]") {
  // Proves the empty-block root: SHA-256 of the four prefix bytes "PCME" alone.
  const Hash256 root = ledger::merkle_root({});
  CHECK(root == crypto::tagged_hash(domain::merkle_empty, {}));
  CHECK(root == crypto::sha256(as_bytes("PCME")));
}

TEST_CASE("Merkle roots for one, two, three and five leaves match a hand computation", "[ledger][merkle]") {
  // Proves the tree shape: a leaf is hashed under its own prefix (so a root is never a bare tx
  // id), and n leaves split at the largest power of two below n, as in RFC 6962.
  const std::vector<Hash256> ids = make_ids(5);
  const Hash256 l0 = leaf(ids[0]), l1 = leaf(ids[1]), l2 = leaf(ids[2]), l3 = leaf(ids[3]), l4 = leaf(ids[4]);
  CHECK(l0 != ids[0]);
  CHECK(ledger::merkle_root(std::span(ids).first(1)) == l0);
  CHECK(ledger::merkle_root(std::span(ids).first(2)) == node(l0, l1));
  CHECK(ledger::merkle_root(std::span(ids).first(3)) == node(node(l0, l1), l2));
  CHECK(ledger::merkle_root(std::span(ids).first(4)) == node(node(l0, l1), node(l2, l3)));
  CHECK(ledger::merkle_root(ids) == node(node(node(l0, l1), node(l2, l3)), l4));
}

TEST_CASE("every Merkle path verifies and every altered proof fails", "[ledger][merkle]") {
  // Proves, for trees of 1 to 33 leaves, that each leaf's path verifies against the root, and
  // that a wrong index, a count that changes the proof's shape, a modified path element, a
  // wrong leaf, and a shortened or lengthened path are all refused.
  const std::vector<Hash256> all_ids = make_ids(2 * 33 + 2);
  const Hash256 stranger = crypto::sha256(as_bytes("not in the tree"));
  std::size_t wrong_counts_tried = 0;
  for (std::size_t n = 1; n <= 33; ++n) {
    const std::span<const Hash256> ids = std::span(all_ids).first(n);
    const Hash256 root = ledger::merkle_root(ids);
    for (std::size_t index = 0; index < n; ++index) {
      INFO("n = " << n << ", index = " << index);
      const std::vector<Hash256> path = ledger::merkle_path(ids, index);
      REQUIRE(ledger::verify_merkle_path(ids[index], index, n, path, root));

      for (std::size_t other = 0; other < n; ++other) {
        if (other != index) CHECK_FALSE(ledger::verify_merkle_path(ids[index], other, n, path, root));
      }
      CHECK_FALSE(ledger::verify_merkle_path(ids[index], n, n, path, root));

      // The root does not commit to the count, so a count whose proof has the same shape as
      // n's would verify the same hashes; any count whose proof has another length must fail.
      CHECK_FALSE(ledger::verify_merkle_path(ids[index], index, 0, path, root));
      for (std::size_t count = index + 1; count <= 2 * n + 2; ++count) {
        if (count == n) continue;
        if (ledger::merkle_path(std::span(all_ids).first(count), index).size() == path.size()) continue;
        ++wrong_counts_tried;
        CHECK_FALSE(ledger::verify_merkle_path(ids[index], index, count, path, root));
      }

      for (std::size_t element = 0; element < path.size(); ++element) {
        std::vector<Hash256> modified = path;
        modified[element][element % 32] ^= 0x01;
        CHECK_FALSE(ledger::verify_merkle_path(ids[index], index, n, modified, root));
      }
      CHECK_FALSE(ledger::verify_merkle_path(stranger, index, n, path, root));
      if (n > 1) CHECK_FALSE(ledger::verify_merkle_path(ids[(index + 1) % n], index, n, path, root));

      if (!path.empty()) {
        CHECK_FALSE(ledger::verify_merkle_path(ids[index], index, n, std::span(path).first(path.size() - 1), root));
        CHECK_FALSE(ledger::verify_merkle_path(ids[index], index, n, std::span(path).subspan(1), root));
      }
      std::vector<Hash256> extended = path;
      extended.push_back(root);
      CHECK_FALSE(ledger::verify_merkle_path(ids[index], index, n, extended, root));
      std::vector<Hash256> prefixed;
      prefixed.reserve(path.size() + 1);  // built by push_back: GCC 12 warns falsely on insert at begin()
      prefixed.push_back(stranger);
      for (const Hash256& element : path) prefixed.push_back(element);
      CHECK_FALSE(ledger::verify_merkle_path(ids[index], index, n, prefixed, root));
    }
  }
  CHECK(wrong_counts_tried > 1000);
}

TEST_CASE("paths from the stored levels and one group of ids equal paths over every id", "[ledger][merkle][store]") {
  // Proves the store's shortcut changes no proof: for counts 1 to 70 and around 2,000 (odd,
  // power of two and one more, a last group of one), every first level from 0 to 4, and every
  // position (first, last, each group's edges), the path built from merkle_levels and the
  // leaf's group alone equals merkle_path over all the ids, and the levels end at the root.
  const std::vector<Hash256> all_ids = make_ids(2'049);
  std::vector<std::size_t> counts;
  for (std::size_t n = 1; n <= 70; ++n) counts.push_back(n);
  for (const std::size_t n : std::initializer_list<std::size_t>{1'023, 1'024, 1'025, 2'000, 2'047, 2'048, 2'049}) counts.push_back(n);
  std::size_t paths_compared = 0;
  for (const std::size_t n : counts) {
    const std::span<const Hash256> ids = std::span(all_ids).first(n);
    for (unsigned first_level = 0; first_level <= 4; ++first_level) {
      const std::size_t group_leaves = std::size_t{1} << first_level;
      const std::vector<Hash256> levels = ledger::merkle_levels(ids, first_level);
      REQUIRE(levels.size() == ledger::merkle_levels_size(n, first_level));
      REQUIRE(ledger::merkle_root_of_levels(levels) == ledger::merkle_root(ids));
      Bytes level_bytes;  // as the store keeps them
      for (const Hash256& level_node : levels) level_bytes.insert(level_bytes.end(), level_node.begin(), level_node.end());
      for (std::size_t index = 0; index < n; ++index) {
        // Big trees: every position of the first and last two groups, and every 37th.
        if (n > 70 && index >= 2 * group_leaves && index + 2 * group_leaves < n && index % 37 != 0) continue;
        INFO("n = " << n << ", first level " << first_level << ", index " << index);
        const std::size_t group_start = index - index % group_leaves;
        const auto group = ids.subspan(group_start, std::min(group_leaves, n - group_start));
        const auto path = ledger::merkle_path_from_levels(group, index, n, first_level, levels);
        REQUIRE(path.has_value());
        CHECK(*path == ledger::merkle_path(ids, index));
        CHECK(ledger::merkle_path_from_levels(group, index, n, first_level, ByteSpan(level_bytes)) == path);
        ++paths_compared;
      }
    }
  }
  CHECK(paths_compared > 10'000);
}

TEST_CASE("a group of ids that is not the one the levels were built from gives no path", "[ledger][merkle][store]") {
  // Proves merkle_path_from_levels notices stored levels and transactions that disagree,
  // rather than returning a path that would not verify.
  const std::vector<Hash256> ids = make_ids(19);
  const std::vector<Hash256> levels = ledger::merkle_levels(ids, 3);
  std::vector<Hash256> group(ids.begin() + 8, ids.begin() + 16);
  REQUIRE(ledger::merkle_path_from_levels(group, 10, ids.size(), 3, levels).has_value());
  group[5][0] ^= 0x01;
  CHECK_FALSE(ledger::merkle_path_from_levels(group, 10, ids.size(), 3, levels).has_value());
  CHECK(ledger::merkle_levels({}, 3).empty());
  CHECK(ledger::merkle_root_of_levels({}) == ledger::merkle_root({}));
}

TEST_CASE("a MerkleTree holds merkle_levels and merkle_root of its ids", "[ledger][merkle]") {
  // Proves the tree a node builds once when it seals or validates a block is the one the store
  // would build: the same levels and, at every size, the recursive root.
  const std::vector<Hash256> all_ids = make_ids(70);
  for (std::size_t n = 0; n <= all_ids.size(); ++n) {
    const std::vector<Hash256> ids(all_ids.begin(), all_ids.begin() + static_cast<std::ptrdiff_t>(n));
    const ledger::MerkleTree tree(ids, 2);
    REQUIRE(tree.tx_ids() == ids);
    REQUIRE(tree.first_level() == 2u);
    REQUIRE(tree.levels() == ledger::merkle_levels(ids, 2));
    REQUIRE(tree.root() == ledger::merkle_root(ids));
  }
}
