#include "ledger/chain.hpp"

#include <vector>

#include "ledger/limits.hpp"
#include "ledger/merkle.hpp"

namespace pc::ledger {

Tip genesis_tip(const State& genesis_state) {
  return Tip{0, genesis_state.genesis().hash(), genesis_state.state_hash(),
             genesis_state.genesis().genesis_time_ms};
}

Tip tip_after(const Block& block) {
  return Tip{block.header.height, block.header.hash(), block.header.state_hash, block.header.time_ms};
}

void run_sequentially(std::size_t count, const std::function<void(std::size_t)>& job) {
  for (std::size_t i = 0; i < count; ++i) job(i);
}

Status check_block_link(const Genesis& genesis, const Tip& previous, const BlockHeader& header) {
  if (header.chain_id != genesis.chain_id) {
    return Error{Code::wrong_chain_id, "block is for chain " + header.chain_id};
  }
  if (header.height != previous.height + 1) {
    return Error{Code::wrong_height, "height " + std::to_string(header.height) + ", expected " +
                                         std::to_string(previous.height + 1)};
  }
  if (header.previous_hash != previous.block_hash) {
    return Error{Code::wrong_previous_hash, "does not link to block " + std::to_string(previous.height)};
  }
  if (header.time_ms <= previous.time_ms || header.time_ms > block_time_ms_max) {
    return Error{Code::bad_timestamp, "time " + std::to_string(header.time_ms) +
                                          " is not after the previous block's " +
                                          std::to_string(previous.time_ms)};
  }
  const Partner* proposer = genesis.partner(header.proposer);
  if (proposer == nullptr || proposer->voting_power == 0) {
    return Error{Code::unknown_proposer, "proposer " + std::to_string(header.proposer)};
  }
  return {};
}

Status check_block_certificate(const Genesis& genesis, const Block& block) {
  return check_block_certificate(genesis, block, nullptr);
}

Status check_block_certificate(const Genesis& genesis, const Block& block, const VerifiedCertificate* verified) {
  if (block.header.round > block.commit.round) {
    return Error{Code::bad_commit, "header round " + std::to_string(block.header.round) +
                                       " is after the certificate's round " + std::to_string(block.commit.round)};
  }
  const Hash256 block_id = block.header.hash();
  if (verified != nullptr && verified->block_id == block_id && verified->commit == block.commit) return {};
  return verify_commit(genesis, block.header.height, block_id, block.commit);
}

Status check_merkle_root(const BlockHeader& header, const Hash256& root) {
  if (root != header.merkle_root) {
    return Error{Code::bad_merkle_root, "transactions do not match the header's Merkle root"};
  }
  return {};
}

Status check_block_contents(const Genesis& genesis, const Block& block) {
  if (auto status = check_merkle_root(block.header, merkle_root(block.tx_ids())); !status) return status;
  return check_block_certificate(genesis, block);
}

Status check_block_envelope(const Genesis& genesis, const Tip& previous, const Block& block) {
  if (auto status = check_block_link(genesis, previous, block.header); !status) return status;
  return check_block_contents(genesis, block);
}

Status verify_block_signatures(const Genesis& genesis, const Block& block, const BatchRunner& runner,
                               const State* accounts_from, const VerifiedBefore& verified_before) {
  std::vector<std::size_t> unverified;
  unverified.reserve(block.transactions.size());
  for (std::size_t i = 0; i < block.transactions.size(); ++i) {
    if (!verified_before || !verified_before(block.transactions[i])) unverified.push_back(i);
  }
  std::vector<Status> results(block.transactions.size());
  runner(unverified.size(), [&](std::size_t k) {
    const std::size_t i = unverified[k];
    results[i] = verify_transaction_signature(genesis, block.transactions[i], accounts_from);
  });
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (!results[i]) {
      return Error{Code::invalid_transaction,
                   "transaction " + std::to_string(i) + ": " + results[i].error().message()};
    }
  }
  return {};
}

Result<BlockChanges> execute_block(const State& state, const Block& block, SignatureCheck check) {
  BlockExecutor executor(state, BlockContext{block.header.height, block.header.time_ms});
  for (std::size_t i = 0; i < block.transactions.size(); ++i) {
    if (auto status = executor.apply(block.transactions[i], check); !status) {
      return Error{Code::invalid_transaction,
                   "transaction " + std::to_string(i) + ": " + status.error().message()};
    }
  }
  BlockChanges changes = std::move(executor).finish();
  if (changes.state_hash != block.header.state_hash) {
    return Error{Code::bad_state_hash, "executing the block gives another state hash"};
  }
  return changes;
}

}  // namespace pc::ledger
