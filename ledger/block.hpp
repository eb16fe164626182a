// Blocks: a header, the transactions, and the commit (validators' signatures over the block
// id). The byte layout is in docs/protocol.md, "Blocks".
#pragma once

#include <vector>

#include "ledger/genesis.hpp"
#include "ledger/transaction.hpp"

namespace pc::ledger {

struct BlockHeader {
  std::string chain_id;
  std::uint64_t height = 0;         // genesis is height 0; the first block is 1
  Hash256 previous_hash{};          // the genesis hash for block 1
  std::uint64_t time_ms = 0;        // strictly after the previous block (or the genesis time)
  PartnerId proposer = 0;           // a partner with voting power
  Hash256 merkle_root{};            // over the transaction ids
  Hash256 state_hash{};             // chains this block's state changes onto the previous one

  Bytes encode() const;
  Hash256 hash() const;  // tagged_hash(block_id, encode()): the block id

  bool operator==(const BlockHeader&) const = default;
};

struct CommitSignature {
  PartnerId validator = 0;
  Signature signature{};

  bool operator==(const CommitSignature&) const = default;
};

// Signatures in strictly ascending validator order, so a commit has exactly one encoding.
struct Commit {
  std::vector<CommitSignature> signatures;

  bool operator==(const Commit&) const = default;
};

// What a validator signs to commit a block: commit_vote prefix || chain id || block id.
Bytes commit_message(std::string_view chain_id, const Hash256& block_id);
CommitSignature sign_commit(PartnerId validator, const crypto::SecretKey& validator_key,
                            std::string_view chain_id, const Hash256& block_id);

// Checks signatures, order, that each signer is a validator, and more than 2/3 of the voting
// power. bad_commit with a detail on failure.
Status verify_commit(const Genesis& genesis, const Hash256& block_id, const Commit& commit);

struct Block {
  BlockHeader header;
  std::vector<Transaction> transactions;
  Commit commit;

  Bytes encode() const;
  static Result<Block> decode(ByteSpan bytes);
  std::vector<Hash256> tx_ids() const;
};

// A block's encoding with each transaction's length-prefixed bytes left out: header ||
// transaction count || commit. The store keeps this frame apart from the transactions
// (docs/protocol.md, "Store layout"), so that one transaction is read without the others; the
// block's encoding is the frame with the transactions put back at `transactions_offset`.
struct BlockFrame {
  BlockHeader header;
  std::uint64_t tx_count = 0;
  Commit commit;
  std::size_t transactions_offset = 0;  // decode only: where the transactions go

  static Bytes encode(const Block& block);
  // Canonical or rejected, like Block::decode, with the same limits.
  static Result<BlockFrame> decode(ByteSpan bytes);
};

}  // namespace pc::ledger
