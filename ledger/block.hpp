// Blocks: a header, the transactions, and the commit certificate (validators' precommit
// signatures for the block id in one round). The byte layout is in docs/protocol.md, "Blocks".
#pragma once

#include <vector>

#include "ledger/genesis.hpp"
#include "ledger/transaction.hpp"
#include "ledger/votes.hpp"

namespace pc::ledger {

struct BlockHeader {
  std::string chain_id;
  std::uint64_t height = 0;         // genesis is height 0; the first block is 1
  Hash256 previous_hash{};          // the genesis hash for block 1
  std::uint64_t time_ms = 0;        // strictly after the previous block (or the genesis time)
  PartnerId proposer = 0;           // the schedule's proposer of `round` (ledger/proposer.hpp)
  std::uint32_t round = 0;          // the consensus round this block was first proposed in
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

// The commit certificate: precommits for the block in one round, from validators holding
// more than 2/3 of the voting power, in strictly ascending validator order so that a given
// set has exactly one encoding. It is not part of the block id: nodes may hold different
// valid sets for the same block, and any valid set is accepted (docs/consensus.md).
struct Commit {
  std::uint32_t round = 0;
  std::vector<CommitSignature> signatures;

  bool operator==(const Commit&) const = default;
};

// What a validator signs to commit a block: its precommit for the block id in that round,
// Vote{precommit, chain id, height, round, block id}.sign_bytes().
Bytes commit_message(std::string_view chain_id, std::uint64_t height, std::uint32_t round, const Hash256& block_id);
CommitSignature sign_commit(PartnerId validator, const crypto::SecretKey& validator_key, std::string_view chain_id,
                            std::uint64_t height, std::uint32_t round, const Hash256& block_id);

// Checks signatures, order, that each signer is a validator, and more than 2/3 of the voting
// power. bad_commit with a detail on failure.
Status verify_commit(const Genesis& genesis, std::uint64_t height, const Hash256& block_id, const Commit& commit);

// A commit certificate that verify_commit accepted, on this chain's genesis, for the block
// whose header hashes to `block_id`: the consensus engine verifies the certificate it decides
// on, and hands it to the store with the block so that the same signatures over the same id
// are not verified a second time (check_block_certificate, ledger/chain.hpp).
struct VerifiedCertificate {
  Hash256 block_id{};
  Commit commit;
};

// The voting power of the commit's signers, whether or not the commit is valid.
std::uint64_t commit_power(const Genesis& genesis, const Commit& commit);

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
