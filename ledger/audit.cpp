#include "ledger/audit.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "crypto/keys.hpp"
#include "ledger/codec.hpp"
#include "ledger/merkle.hpp"
#include "ledger/proposer.hpp"

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
  Result<std::optional<Bytes>> tier_changes = std::optional<Bytes>();  // the stored record
};

// Receiving keys that passed the strict key check. The check depends on the key alone, so a
// key that passed once passes again: skipping it changes no verdict. Every account the replay
// opens has its key among these (its transaction's key check passed).
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
  if (auto status = check_merkle_root(block.header, merkle_root_of_levels(levels)); !status) return status;
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
    pending.tier_changes = store.stored_tier_changes(pending.height);
    window.push_back(std::move(pending));
  }
  return window;
}

// The block's tier change record (docs/protocol.md, "Store layout"), if it has one, is exactly
// the encoding of what the replay changed. A block without one was written by a release that
// kept none: its changes are unknown, which the chain's validity does not depend on.
Status check_tier_changes(const PendingBlock& pending, const std::vector<TierChange>& replayed) {
  if (!pending.tier_changes) return pending.tier_changes.error();
  const std::optional<Bytes>& stored = *pending.tier_changes;
  if (stored && *stored != encode_tier_changes(replayed)) {
    return Error{Code::corruption, "the tier change record differs from the replayed changes"};
  }
  return {};
}

// Checks every receiving key of the window not yet in `checked` once, and adds those that pass.
// The accounts a window opens are not known before it executes, so without this a customer
// credited many times in one window had their key checked by each of those transactions,
// each check costing about a signature verification. A key that fails stays out, and each of
// its transactions then fails the check itself with its usual error.
void check_new_keys(CheckedKeys& checked, const std::vector<PendingBlock>& window, const BatchRunner& runner) {
  CheckedKeys unchecked;
  for (const PendingBlock& pending : window) {
    if (!pending.block || !pending.contents) continue;
    for (const Transaction& tx : pending.block->transactions) {
      if (auto key = receiving_key(tx); key && !checked.contains(*key)) unchecked.insert(*key);
    }
  }
  const std::vector<PublicKey> keys(unchecked.begin(), unchecked.end());
  std::vector<std::uint8_t> valid(keys.size(), 0);
  runner(keys.size(), [&](std::size_t i) { valid[i] = crypto::is_valid_public_key(keys[i]) ? 1 : 0; });
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (valid[i] != 0) checked.insert(keys[i]);
  }
}

// Everything that needs no state: decoding, Merkle roots, commits, signatures, index entries.
// Adds the receiving keys that pass the strict key check to `checked`.
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

  check_new_keys(checked, window, runner);

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
    if (!results[i] && pending.transactions) pending.transactions = results[i];
  }
}


// Both lists are sorted by key. Names the first key at which they differ: a record only one
// side has, or a record whose value differs.
Status compare_records(const std::vector<Record>& stored, const std::vector<Record>& replayed) {
  const auto differs = [](std::string what, const Bytes& key) {
    return Error{Code::state_mismatch, "stored state differs from the replayed state at record " + to_hex(key) +
                                           ": " + what};
  };
  std::size_t s = 0;
  std::size_t r = 0;
  while (s < stored.size() || r < replayed.size()) {
    if (r == replayed.size() || (s < stored.size() && stored[s].key < replayed[r].key)) {
      return differs("stored, but the replay has no such record", stored[s].key);
    }
    if (s == stored.size() || replayed[r].key < stored[s].key) {
      return differs("the replay has it, the store does not", replayed[r].key);
    }
    if (stored[s].value != replayed[r].value) return differs("the values differ", stored[s].key);
    ++s, ++r;
  }
  return {};
}

// Whether an index entry is one the chain made: `H` names the block stored at its height, and
// `X` the transaction at its location. Only runs when the counts show a stray entry.
bool index_entry_is_the_chains(const ChainStore& store, const ChainStore::Entry& entry, std::uint64_t tip_height) {
  if (entry.value.size() != (entry.kind == ChainStore::KeyKind::block_index ? 8u : 12u)) return false;
  const std::string_view value(reinterpret_cast<const char*>(entry.value.data()), entry.value.size());
  const std::uint64_t height = read_big_endian(value.substr(0, 8));
  if (height == 0 || height > tip_height) return false;
  auto block = store.block_at(height);
  if (!block) return false;
  if (entry.kind == ChainStore::KeyKind::block_index) return std::ranges::equal(block->header.hash(), entry.id);
  const std::uint64_t index = read_big_endian(value.substr(8));
  return index < block->transactions.size() && std::ranges::equal(block->transactions[index].id(), entry.id);
}

// Every key in the store must be one the replayed chain accounts for (docs/protocol.md, "Store
// layout"): G, T, a block frame, chunk, Merkle record or tier change record at a replayed
// height (the replay read each block's exact chunks and compared its Merkle record and tier
// change record), the state records (compared
// above), the block and transaction index entries, and the evidence records (checked by
// check_evidence). The replay already checked that every block and every
// transaction has its right index entry, and ids on a valid chain are unique, so there is no
// stray index entry exactly when the counts match; only then is each entry looked at alone.
Status account_for_every_key(const ChainStore& store, const AuditReport& report) {
  const auto stray = [](const ChainStore::Entry& entry, const char* why) {
    return Error{Code::corruption, std::string("the store holds a key the chain does not account for (") + why +
                                       "): " + to_hex(entry.key)};
  };
  std::uint64_t block_index_entries = 0;
  std::uint64_t tx_index_entries = 0;
  std::optional<Error> first_outside;
  const auto check_fixed = [&](const ChainStore::Entry& entry) -> std::optional<Error> {
    if (entry.kind == ChainStore::KeyKind::outside_layout) return stray(entry, "outside the key layout");
    if (entry.kind == ChainStore::KeyKind::block || entry.kind == ChainStore::KeyKind::block_chunk ||
        entry.kind == ChainStore::KeyKind::merkle || entry.kind == ChainStore::KeyKind::tier_changes) {
      const std::uint64_t height =
          read_big_endian(std::string_view(reinterpret_cast<const char*>(entry.id.data()), 8));
      if (height == 0 || height > report.tip.height) return stray(entry, "a block record at no replayed height");
    }
    return std::nullopt;
  };
  auto scanned = store.for_each_entry([&](const ChainStore::Entry& entry) {
    if (auto error = check_fixed(entry)) {
      first_outside = std::move(error);
      return false;
    }
    block_index_entries += entry.kind == ChainStore::KeyKind::block_index ? 1 : 0;
    tx_index_entries += entry.kind == ChainStore::KeyKind::tx_index ? 1 : 0;
    return true;
  });
  if (!scanned) return scanned.error();
  if (block_index_entries == report.blocks && tx_index_entries == report.transactions) {
    if (first_outside) return *first_outside;
    return {};
  }
  // A stray index entry: find the first offending key of any kind, in key order.
  std::optional<Error> first;
  scanned = store.for_each_entry([&](const ChainStore::Entry& entry) {
    first = check_fixed(entry);
    if (!first && (entry.kind == ChainStore::KeyKind::block_index || entry.kind == ChainStore::KeyKind::tx_index) &&
        !index_entry_is_the_chains(store, entry, report.tip.height)) {
      first = stray(entry, entry.kind == ChainStore::KeyKind::block_index ? "a block index entry for no block"
                                                                          : "a transaction index entry for no transaction");
    }
    return !first;
  });
  if (!scanned) return scanned.error();
  if (first) return *first;
  return Error{Code::corruption, "the index entries number " + std::to_string(block_index_entries) + " blocks and " +
                                     std::to_string(tx_index_entries) + " transactions, the chain " +
                                     std::to_string(report.blocks) + " and " + std::to_string(report.transactions)};
}

// Every evidence record (docs/protocol.md, "Store layout") decodes, sits under its own
// position's key, and proves an equivocation under the genesis keys (verify_evidence: both
// signatures by that validator's key, the same chain, height, round and type, different block
// ids, canonical order); and the records keep within the bounds the node writes them under.
Status check_evidence(const ChainStore& store, std::vector<Evidence>& kept) {
  constexpr std::size_t page_records_max = 256;
  EvidencePosition from;
  std::map<std::uint64_t, std::size_t> per_height;
  for (;;) {
    auto page = store.evidence_page(from, page_records_max);
    if (!page) return page.error();
    for (Evidence& evidence : page->evidence) {
      const Vote& vote = evidence.first;
      if (auto status = verify_evidence(store.genesis(), evidence); !status) {
        return Error{status.error().code, "evidence against validator " + std::to_string(vote.validator) +
                                              " at height " + std::to_string(vote.height) + ", round " +
                                              std::to_string(vote.round) + ", " + std::string(vote_type_name(vote.type)) +
                                              " proves nothing: " + status.error().detail};
      }
      if (++per_height[vote.height] > stored_evidence_per_height_max || kept.size() >= stored_evidence_max) {
        return Error{Code::corruption, "more evidence records than a node keeps (" +
                                           std::to_string(stored_evidence_per_height_max) + " per height, " +
                                           std::to_string(stored_evidence_max) + " in all), at height " +
                                           std::to_string(vote.height)};
      }
      kept.push_back(std::move(evidence));
    }
    if (!page->next) return {};
    from = *page->next;
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
      if (auto status = check_tier_changes(pending, changes->tier_changes); !status) {
        return fault(pending.height, status.error()), false;
      }
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
  // window being prepared checks each key once and skips every key checked in the windows
  // before it, the one being executed included (whose accounts are not opened yet).
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
  if (auto status = compare_records(*stored_records, state.records()); !status) {
    return fault(final_height, status.error());
  }
  if (auto status = account_for_every_key(store, report); !status) return fault(final_height, status.error());
  if (auto status = check_evidence(store, report.evidence); !status) return fault(final_height, status.error());
  if (auto status = state.check_invariants(); !status) return fault(final_height, status.error());

  report.ok = true;
  report.totals = state.totals();
  for (const Partner& partner : genesis.partners) report.partners[partner.id] = *state.partner(partner.id);
  report.settlement = state.settlement_matrix();
  for (const auto& [key, reward] : state.rewards()) {
    report.catalog.rewards += 1;
    report.catalog.redeemed += reward.redeemed;
  }
  for (const auto& [key, voucher] : state.vouchers()) {
    report.catalog.vouchers += 1;
    if (voucher.used_at_ms != 0) report.catalog.vouchers_used += 1;
  }
  report.customers_per_tier.assign(genesis.policy.tiers.tiers.size(), 0);
  for (const auto& [key, account] : state.accounts()) {
    const TierStatus& status = account.tier;
    if (status.tier != 0) report.customers_per_tier[status.tier - 1] += 1;
    if (status.granted_tier != 0) report.grants_running += 1;
  }
  report.paid_with_points = state.payment_totals();
  return report;
}

}  // namespace pc::ledger
