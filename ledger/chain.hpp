// Block validation shared by the store (on append) and the audit (on replay): the checks
// that need no execution, signature verification that a caller may spread over threads,
// and execution against a state.
#pragma once

#include <functional>

#include "ledger/block.hpp"
#include "ledger/state.hpp"

namespace pc::ledger {

// The chain's tip: the last committed block (or the genesis, at height 0).
struct Tip {
  std::uint64_t height = 0;
  Hash256 block_hash{};   // the genesis hash at height 0
  Hash256 state_hash{};
  std::uint64_t time_ms = 0;

  bool operator==(const Tip&) const = default;
};

Tip genesis_tip(const State& genesis_state);
Tip tip_after(const Block& block);

// Runs job(0) .. job(count - 1), in any order, possibly in parallel, and returns when all
// are done. ledger/ has no threads: the node passes a thread pool; the default is a loop.
using BatchRunner = std::function<void(std::size_t count, const std::function<void(std::size_t)>& job)>;
void run_sequentially(std::size_t count, const std::function<void(std::size_t)>& job);

// Chain id, height, previous hash, time and proposer: how the header links to the tip.
Status check_block_link(const Genesis& genesis, const Tip& previous, const BlockHeader& header);

// The header's Merkle root against `root`, the one computed from the block's transaction ids.
Status check_merkle_root(const BlockHeader& header, const Hash256& root);

// The commit certificate: the header's round is at most the certificate's, and the
// certificate verifies for this block (verify_commit).
Status check_block_certificate(const Genesis& genesis, const Block& block);

// check_block_certificate, except that the signatures are not verified again when `verified`
// is exactly this block's certificate over this block's id. verify_commit's answer is a
// function of the genesis, the height, the block id and the certificate alone; the height is
// the header's, which the id covers, so equal ids and equal certificates under the same
// genesis give the answer already had. Anything else (nullptr, another id, another
// certificate, one signature more or less) is verified in full.
Status check_block_certificate(const Genesis& genesis, const Block& block, const VerifiedCertificate* verified);

// Merkle root and certificate: what the block says about itself. Needs neither state nor tip, so
// the audit runs it for many blocks at once.
Status check_block_contents(const Genesis& genesis, const Block& block);

// check_block_link followed by check_block_contents.
Status check_block_envelope(const Genesis& genesis, const Tip& previous, const Block& block);

// Whether this exact transaction (its id covers every byte, the signature included) passed
// verify_transaction_signature before, on this chain: a node's mempool. Called on the caller's
// thread, before `runner` starts.
using VerifiedBefore = std::function<bool(const Transaction&)>;

// Runs verify_transaction_signature on every transaction in `block` through `runner`; the
// first failure in block order is returned as invalid_transaction naming its position.
// `accounts_from` as for verify_transaction_signature: the state the block builds on. A
// transaction `verified_before` accepts is not checked again: the result cannot differ, since
// the signature is a function of the bytes and the genesis, and the receiving key's check
// only ever turns from "must be a valid key" to "has an account" (accounts are never deleted).
Status verify_block_signatures(const Genesis& genesis, const Block& block, const BatchRunner& runner,
                               const State* accounts_from = nullptr, const VerifiedBefore& verified_before = {});

// Executes the block's transactions on `state` and checks the resulting state hash against
// the header. Every transaction must apply: a block with a failing one is invalid.
Result<BlockChanges> execute_block(const State& state, const Block& block, SignatureCheck check);

}  // namespace pc::ledger
