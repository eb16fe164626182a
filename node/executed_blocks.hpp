// Blocks this node has executed and not yet seen decided: its own proposals, and the
// proposals of others it validated for consensus. Kept by block id, so that deciding a
// block costs a write, not a second execution. Bounded by executed_blocks_max (the oldest
// height goes first); a commit drops everything at or below its height.
//
// Thread-safety: none; the writer thread owns it.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "ledger/block.hpp"
#include "ledger/merkle.hpp"
#include "ledger/state.hpp"

namespace pc::node {

struct ExecutedBlock {
  ledger::Block block;
  ledger::BlockChanges changes;
  std::set<ledger::Hash256> left_out;  // candidates that failed against it (dropped on commit)
  std::uint64_t executed_ms = 0;       // when this node built it or executed another's proposal
  // Its Merkle tree as built when it was sealed or validated, for the store's write (built
  // once, not again at the commit).
  std::optional<ledger::MerkleTree> tree;
};

class ExecutedBlocks {
 public:
  // A few rounds' proposals at the next height or two.
  static constexpr std::size_t executed_blocks_max = 64;

  // Returns the block's id.
  ledger::Hash256 add(ExecutedBlock executed) {
    const ledger::Hash256 id = executed.block.header.hash();
    if (blocks_.size() >= executed_blocks_max) {
      auto oldest = std::min_element(blocks_.begin(), blocks_.end(), [](const auto& a, const auto& b) {
        return a.second.block.header.height < b.second.block.header.height;
      });
      blocks_.erase(oldest);
    }
    blocks_.insert_or_assign(id, std::move(executed));
    return id;
  }

  // The executed block with this id, removed; nullopt if it was never executed here.
  std::optional<ExecutedBlock> take(const ledger::Hash256& block_id) {
    auto found = blocks_.find(block_id);
    if (found == blocks_.end()) return std::nullopt;
    ExecutedBlock executed = std::move(found->second);
    blocks_.erase(found);
    return executed;
  }

  // After a commit at `height`: what was executed for it or below can never be decided.
  void forget_through(std::uint64_t height) {
    std::erase_if(blocks_, [height](const auto& entry) { return entry.second.block.header.height <= height; });
  }

  bool contains(const ledger::Hash256& block_id) const { return blocks_.contains(block_id); }
  std::size_t size() const { return blocks_.size(); }

 private:
  std::map<ledger::Hash256, ExecutedBlock> blocks_;
};

}  // namespace pc::node
