#include "ledger/audit.hpp"

#include <cstdint>

namespace pc::ledger {
namespace {

// Blocks are verified in windows, so that many small blocks still give the runner enough
// signatures to spread over threads.
constexpr std::size_t audit_window_signatures_max = 4096;
constexpr std::size_t audit_window_blocks_max = 256;

struct PendingBlock {
  std::uint64_t height = 0;
  Result<Block> block = Error{Code::not_found, {}};
  Status commit;
  Status signatures;
};

// Job index `tx` == commit_job verifies the block's commit instead of a transaction.
constexpr std::size_t commit_job = SIZE_MAX;

}  // namespace

AuditReport audit_chain(const ChainStore& store, const BatchRunner& runner) {
  AuditReport report;
  const Genesis& genesis = store.genesis();
  State state(genesis);
  report.tip = genesis_tip(state);
  const auto fault = [&report](std::uint64_t height, Error error) {
    report.ok = false;
    report.fault_height = height;
    report.fault = std::move(error);
    return report;
  };

  auto stored_tip = store.stored_tip();
  if (!stored_tip) return fault(0, stored_tip.error());

  std::uint64_t next_height = 1;
  while (next_height <= stored_tip->height) {
    // Decode a window of blocks and verify their signatures (transactions and commits).
    std::vector<PendingBlock> window;
    std::size_t signature_count = 0;
    while (next_height <= stored_tip->height && window.size() < audit_window_blocks_max &&
           signature_count < audit_window_signatures_max) {
      PendingBlock pending;
      pending.height = next_height++;
      pending.block = store.block_at(pending.height);
      if (pending.block) signature_count += pending.block->transactions.size();
      window.push_back(std::move(pending));
    }
    struct Job {
      std::size_t block;
      std::size_t tx;
    };
    std::vector<Job> jobs;
    for (std::size_t b = 0; b < window.size(); ++b) {
      if (!window[b].block) continue;
      jobs.push_back({b, commit_job});
      for (std::size_t t = 0; t < window[b].block->transactions.size(); ++t) jobs.push_back({b, t});
    }
    std::vector<Status> results(jobs.size());
    runner(jobs.size(), [&](std::size_t i) {
      const Block& block = *window[jobs[i].block].block;
      if (jobs[i].tx == commit_job) {
        results[i] = verify_commit(genesis, block.header.hash(), block.commit);
      } else {
        results[i] = verify_transaction_signature(genesis, block.transactions[jobs[i].tx], &state);
      }
    });
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      PendingBlock& pending = window[jobs[i].block];
      if (jobs[i].tx == commit_job) {
        pending.commit = results[i];
      } else if (!results[i] && pending.signatures) {
        pending.signatures = Error{Code::invalid_transaction, "transaction " + std::to_string(jobs[i].tx) +
                                                                  ": " + results[i].error().message()};
      }
    }

    for (PendingBlock& pending : window) {
      if (!pending.block) return fault(pending.height, pending.block.error());
      const Block& block = *pending.block;
      if (auto status = check_block_envelope(genesis, report.tip, block, SignatureCheck::already_verified);
          !status) {
        return fault(pending.height, status.error());
      }
      if (!pending.commit) return fault(pending.height, pending.commit.error());
      if (!pending.signatures) return fault(pending.height, pending.signatures.error());
      auto changes = execute_block(state, block, SignatureCheck::already_verified);
      if (!changes) return fault(pending.height, changes.error());
      const Hash256 block_id = block.header.hash();
      auto indexed_height = store.height_of(block_id);
      if (!indexed_height || *indexed_height != pending.height) {
        return fault(pending.height, Error{Code::corruption, "block hash index does not point here"});
      }
      for (std::size_t i = 0; i < block.transactions.size(); ++i) {
        auto location = store.find_transaction(block.transactions[i].id());
        if (!location || location->height != pending.height || location->index != i) {
          return fault(pending.height, Error{Code::corruption, "transaction index entry for transaction " +
                                                                   std::to_string(i)});
        }
      }
      state.apply(std::move(changes).value());
      report.tip = tip_after(block);
      report.blocks += 1;
      report.transactions += block.transactions.size();
    }
  }

  const std::uint64_t final_height = stored_tip->height;
  if (store.block_bytes_at(final_height + 1)) {
    return fault(final_height + 1, Error{Code::corruption, "a block is stored above the tip"});
  }
  if (*stored_tip != report.tip) {
    return fault(final_height, Error{Code::corruption, "the tip record differs from the replayed tip"});
  }
  auto stored_records = store.stored_records();
  if (!stored_records) return fault(final_height, stored_records.error());
  const std::vector<Record> replayed = state.records();
  if (*stored_records != replayed) {
    std::string detail = "stored state differs from the replayed state";
    for (std::size_t i = 0; i < std::min(stored_records->size(), replayed.size()); ++i) {
      if (!((*stored_records)[i] == replayed[i])) {
        detail += " at record " + to_hex(replayed[i].key);
        break;
      }
    }
    return fault(final_height, Error{Code::state_mismatch, detail});
  }
  if (auto status = state.check_invariants(); !status) return fault(final_height, status.error());

  report.ok = true;
  report.totals = state.totals();
  for (const Partner& partner : genesis.partners) report.partners[partner.id] = *state.partner(partner.id);
  report.settlement = state.settlement_matrix();
  return report;
}

}  // namespace pc::ledger
