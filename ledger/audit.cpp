#include "ledger/audit.hpp"

#include <cstdint>
#include <set>

#include "ledger/proposer.hpp"
#include "ledger/merkle.hpp"

namespace pc::ledger {
namespace {

// Blocks are checked in windows: everything that needs no state (decoding, Merkle roots,
// commits, signatures, index lookups) runs through the runner for the whole window, then the
// window is executed in order. Many small blocks still give the runner enough work, and a
// window is what one pipeline stage holds in memory.
constexpr std::size_t audit_window_bytes_max = 1 << 20;
constexpr std::size_t audit_window_blocks_max = 256;

struct PendingBlock {
  std::uint64_t height = 0;
  Result<Bytes> bytes = Error{Code::not_found, {}};
  Result<Block> block = Error{Code::not_found, {}};
  Status contents;       // Merkle root and commit
  Status transactions;   // the first failing signature, key or index entry
};

// Receiving keys that passed the strict key check in a window already prepared. The check
// depends on the key alone, so a key that passed once passes again: skipping it changes no
// verdict. Every account the replay opens has its key among these (its transaction passed).
using CheckedKeys = std::set<PublicKey>;

// Signature, new-account keys, and the transaction index entry of one transaction.
Status check_transaction(const ChainStore& store, const CheckedKeys& checked, const PendingBlock& pending,
                         std::size_t index) {
  const Transaction& tx = pending.block->transactions[index];
  const auto has_account = [&checked](const PublicKey& key) { return checked.contains(key); };
  if (auto status = verify_transaction_signature(store.genesis(), tx, has_account); !status) {
    return Error{Code::invalid_transaction, "transaction " + std::to_string(index) + ": " +
                                                status.error().message()};
  }
  auto location = store.find_transaction(tx.id());
  if (!location || location->height != pending.height || location->index != index) {
    return Error{Code::corruption, "transaction index entry for transaction " + std::to_string(index)};
  }
  return {};
}

// check_block_contents, with the Merkle tree computed once for both the header's root and the
// block's stored Merkle record (a derived record, so it must equal the computed levels).
Status check_contents_and_merkle_record(const ChainStore& store, const Block& block) {
  const std::vector<Hash256> levels = merkle_levels(block.tx_ids(), stored_merkle_first_level);
  if (merkle_root_of_levels(levels) != block.header.merkle_root) {
    return Error{Code::bad_merkle_root, "transactions do not match the header's Merkle root"};
  }
  if (auto status = check_block_certificate(store.genesis(), block); !status) return status;
  auto stored = store.stored_merkle_levels(block.header.height, block.transactions.size());
  if (!stored) return stored.error();
  if (*stored != levels) return Error{Code::corruption, "the Merkle record differs from the block's Merkle tree"};
  return {};
}

// Reads the blocks of the next window, from `next_height` up to the stored tip.
std::vector<PendingBlock> load_window(const ChainStore& store, std::uint64_t& next_height,
                                      std::uint64_t tip_height) {
  std::vector<PendingBlock> window;
  std::size_t window_bytes = 0;
  while (next_height <= tip_height && window.size() < audit_window_blocks_max &&
         window_bytes < audit_window_bytes_max) {
    PendingBlock pending;
    pending.height = next_height++;
    pending.bytes = store.block_bytes_at(pending.height);
    if (pending.bytes) window_bytes += pending.bytes->size();
    window.push_back(std::move(pending));
  }
  return window;
}

// Everything that needs no state: decoding, Merkle roots, commits, signatures, index entries.
// Adds the receiving keys of the transactions that passed to `checked`.
void prepare_window(const ChainStore& store, CheckedKeys& checked, std::vector<PendingBlock>& window,
                    const BatchRunner& runner) {
  runner(window.size(), [&](std::size_t b) {
    PendingBlock& pending = window[b];
    if (!pending.bytes) return;
    pending.block = Block::decode(*pending.bytes);
    if (!pending.block) {
      pending.block = Error{Code::corruption, "block does not decode: " + pending.block.error().message()};
    } else if (pending.block->header.height != pending.height) {
      pending.block = Error{Code::corruption, "block stored here says height " +
                                                  std::to_string(pending.block->header.height)};
    } else {
      pending.contents = check_contents_and_merkle_record(store, *pending.block);
    }
  });

  struct Job {
    std::size_t block;
    std::size_t tx;
  };
  std::vector<Job> jobs;
  for (std::size_t b = 0; b < window.size(); ++b) {
    if (!window[b].block || !window[b].contents) continue;
    for (std::size_t t = 0; t < window[b].block->transactions.size(); ++t) jobs.push_back({b, t});
  }
  std::vector<Status> results(jobs.size());
  runner(jobs.size(), [&](std::size_t i) { results[i] = check_transaction(store, checked, window[jobs[i].block], jobs[i].tx); });
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    PendingBlock& pending = window[jobs[i].block];
    if (!results[i]) {
      if (pending.transactions) pending.transactions = results[i];
    } else if (auto key = receiving_key(pending.block->transactions[jobs[i].tx])) {
      checked.insert(*key);
    }
  }
}

}  // namespace

void run_one_after_other(const std::function<void()>& background, const std::function<void()>& foreground) {
  background();
  foreground();
}

AuditReport audit_chain(const ChainStore& store, const BatchRunner& runner, const Overlap& overlap) {
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

  // Who may propose each height; one rotation step per height.
  ProposerSchedule schedule = ProposerSchedule::for_height(genesis, 1);

  // Executes a prepared window in order; false at the first fault (recorded in the report).
  const auto execute_window = [&](std::vector<PendingBlock>& window) {
    for (PendingBlock& pending : window) {
      if (!pending.bytes) return fault(pending.height, pending.bytes.error()), false;
      if (!pending.block) return fault(pending.height, pending.block.error()), false;
      const Block& block = *pending.block;
      if (auto status = check_block_link(genesis, report.tip, block.header); !status) {
        return fault(pending.height, status.error()), false;
      }
      if (!pending.contents) return fault(pending.height, pending.contents.error()), false;
      if (auto status = check_block_proposer(schedule, block.header); !status) {
        return fault(pending.height, status.error()), false;
      }
      schedule = schedule.next_height();
      if (!pending.transactions) return fault(pending.height, pending.transactions.error()), false;
      auto changes = execute_block(state, block, SignatureCheck::already_verified);
      if (!changes) return fault(pending.height, changes.error()), false;
      const Tip tip = tip_after(block);
      auto indexed_height = store.height_of(tip.block_hash);
      if (!indexed_height || *indexed_height != pending.height) {
        return fault(pending.height, Error{Code::corruption, "block hash index does not point here"}), false;
      }
      state.apply(std::move(changes).value());
      report.tip = tip;
      report.blocks += 1;
      report.transactions += block.transactions.size();
    }
    return true;
  };

  // A pipeline of two windows: while one executes in order (foreground), the next is read and
  // checked across the runner (background). Only the background touches `checked`, so the
  // window being prepared skips every key checked in the windows before it, the one being
  // executed included (not only the accounts that window opens, which are not known yet).
  CheckedKeys checked;
  std::uint64_t next_height = 1;
  std::vector<PendingBlock> current = load_window(store, next_height, stored_tip->height);
  prepare_window(store, checked, current, runner);
  while (!current.empty()) {
    std::vector<PendingBlock> next;
    bool executed = false;
    overlap(
        [&] {
          next = load_window(store, next_height, stored_tip->height);
          prepare_window(store, checked, next, runner);
        },
        [&] { executed = execute_window(current); });
    if (!executed) return report;
    current = std::move(next);
  }

  const std::uint64_t final_height = stored_tip->height;
  // A transaction chunk without its block above the tip is corruption too, not not_found.
  if (auto above = store.block_bytes_at(final_height + 1); above || above.error().code != Code::not_found) {
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
