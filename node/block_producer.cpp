#include "node/block_producer.hpp"

#include "crypto/check.hpp"
#include "ledger/limits.hpp"
#include "ledger/merkle.hpp"
#include "ledger/store.hpp"

namespace pc::node {
namespace {

// Room left in a block for the header and a full commit (256 validators of 66 bytes).
constexpr std::size_t block_overhead_bytes_max = 64 * 1024;
// A transaction in a block costs its bytes plus a length prefix of at most this many bytes.
constexpr std::size_t tx_length_prefix_bytes_max = 2;

}  // namespace

ProducedBlock build_block(const ledger::State& state, const ledger::Tip& tip,
                          std::span<const ledger::Transaction> candidates, std::uint64_t time_ms,
                          const BlockSlot& slot, ledger::SignatureCheck check) {
  PC_CHECK(tip.height == state.height() && tip.state_hash == state.state_hash());
  ProducedBlock produced;
  ledger::BlockExecutor executor(state, ledger::BlockContext{tip.height + 1, time_ms});
  std::size_t block_bytes = 0;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const ledger::Transaction& tx = candidates[i];
    if (produced.block.transactions.size() >= ledger::block_tx_count_max ||
        block_bytes + tx.bytes().size() + tx_length_prefix_bytes_max >
            ledger::block_bytes_max - block_overhead_bytes_max) {
      break;  // the rest wait for the next block
    }
    if (auto status = executor.apply(tx, check); !status) {
      produced.rejected.emplace_back(i, status.error());
      continue;
    }
    block_bytes += tx.bytes().size() + tx_length_prefix_bytes_max;
    produced.block.transactions.push_back(tx);
  }
  produced.changes = std::move(executor).finish();
  (void)seal_block(produced.block, state.genesis(), tip, produced.changes, slot);
  return produced;
}

ledger::MerkleTree seal_block(ledger::Block& block, const ledger::Genesis& genesis, const ledger::Tip& tip,
                const ledger::BlockChanges& changes, const BlockSlot& slot) {
  PC_CHECK(changes.context.height == tip.height + 1 && changes.context.time_ms > tip.time_ms);
  PC_CHECK(changes.applied_count == block.transactions.size());
  ledger::BlockHeader& header = block.header;
  header.chain_id = genesis.chain_id;
  header.height = changes.context.height;
  header.previous_hash = tip.block_hash;
  header.time_ms = changes.context.time_ms;
  header.proposer = slot.proposer;
  header.round = slot.round;
  ledger::MerkleTree tree(block.tx_ids(), ledger::stored_merkle_first_level);
  header.merkle_root = tree.root();
  header.state_hash = changes.state_hash;
  block.commit = {};
  return tree;
}

}  // namespace pc::node
