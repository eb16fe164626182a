#include "ledger/block.hpp"

#include <algorithm>

#include "crypto/domains.hpp"
#include "ledger/codec.hpp"
#include "ledger/limits.hpp"

namespace pc::ledger {
namespace {

void decode_header(Reader& in, BlockHeader& header) {
  const std::uint8_t version = in.u8();
  if (in.ok() && version != block_version) {
    in.fail(Code::unknown_version, "block version " + std::to_string(version));
  }
  header.chain_id = in.string(chain_id_bytes_max, "chain id");
  header.height = in.u64();
  header.previous_hash = in.fixed<32>();
  header.time_ms = in.u64();
  header.proposer = in.u16();
  header.round = in.u32();
  if (header.round > round_max) in.fail(Code::invalid_field, "header round over round_max");
  header.merkle_root = in.fixed<32>();
  header.state_hash = in.fixed<32>();
}

void encode_commit(Writer& out, const Commit& commit) {
  out.u32(commit.round);
  out.length(commit.signatures.size());
  for (const CommitSignature& entry : commit.signatures) {
    out.u16(entry.validator);
    out.raw(entry.signature);
  }
}

void decode_commit(Reader& in, Commit& commit) {
  commit.round = in.u32();
  if (commit.round > round_max) in.fail(Code::invalid_field, "certificate round over round_max");
  const std::uint64_t signature_count = in.length(partners_max, "commit signature count");
  for (std::uint64_t i = 0; i < signature_count && in.ok(); ++i) {
    CommitSignature entry;
    entry.validator = in.u16();
    entry.signature = in.fixed<64>();
    if (!commit.signatures.empty() && entry.validator <= commit.signatures.back().validator) {
      in.fail(Code::non_canonical_order, "commit signatures must be in strictly ascending order");
    }
    commit.signatures.push_back(entry);
  }
}

}  // namespace

Bytes BlockHeader::encode() const {
  Writer out;
  out.u8(block_version);
  out.string(chain_id);
  out.u64(height);
  out.raw(previous_hash);
  out.u64(time_ms);
  out.u16(proposer);
  out.u32(round);
  out.raw(merkle_root);
  out.raw(state_hash);
  return out.take();
}

Hash256 BlockHeader::hash() const { return crypto::tagged_hash(domain::block_id, {encode()}); }

Bytes commit_message(std::string_view chain_id, std::uint64_t height, std::uint32_t round, const Hash256& block_id) {
  return Vote{VoteType::precommit, std::string(chain_id), height, round, block_id, 0, {}}.sign_bytes();
}

CommitSignature sign_commit(PartnerId validator, const crypto::SecretKey& validator_key, std::string_view chain_id,
                            std::uint64_t height, std::uint32_t round, const Hash256& block_id) {
  return {validator, validator_key.sign(commit_message(chain_id, height, round, block_id))};
}

std::uint64_t commit_power(const Genesis& genesis, const Commit& commit) {
  std::uint64_t power = 0;
  for (const CommitSignature& entry : commit.signatures) {
    if (const Partner* partner = genesis.partner(entry.validator)) power += partner->voting_power;
  }
  return power;
}

Status verify_commit(const Genesis& genesis, std::uint64_t height, const Hash256& block_id, const Commit& commit) {
  if (commit.round > round_max) return Error{Code::bad_commit, "certificate round over round_max"};
  const Bytes message = commit_message(genesis.chain_id, height, commit.round, block_id);
  std::uint64_t signed_power = 0;
  PartnerId previous = 0;
  for (const CommitSignature& entry : commit.signatures) {
    const std::string who = "validator " + std::to_string(entry.validator);
    if (entry.validator <= previous) {
      return Error{Code::bad_commit, "commit signatures are not in strictly ascending order"};
    }
    previous = entry.validator;
    const Partner* partner = genesis.partner(entry.validator);
    if (partner == nullptr || partner->voting_power == 0) {
      return Error{Code::bad_commit, who + " is not a validator"};
    }
    // Validator keys were checked with is_valid_public_key when the genesis was loaded.
    if (!crypto::verify_prevalidated(partner->validator_key, message, entry.signature)) {
      return Error{Code::bad_commit, who + " signature does not verify"};
    }
    signed_power += partner->voting_power;
  }
  // Voting powers are at most 2^32 each and at most 256 partners: no overflow here.
  if (signed_power * 3 <= genesis.total_voting_power() * 2) {
    return Error{Code::bad_commit, "signatures carry " + std::to_string(signed_power) + " of " +
                                       std::to_string(genesis.total_voting_power()) +
                                       " voting power, not more than 2/3"};
  }
  return {};
}

Bytes Block::encode() const {
  Writer out;
  out.raw(header.encode());
  out.length(transactions.size());
  for (const Transaction& tx : transactions) out.bytes(tx.bytes());
  encode_commit(out, commit);
  return out.take();
}

Result<Block> Block::decode(ByteSpan bytes) {
  if (bytes.size() > block_bytes_max) {
    return Error{Code::too_large, "block of " + std::to_string(bytes.size()) + " bytes"};
  }
  Reader in(bytes);
  Block block;
  decode_header(in, block.header);
  const std::uint64_t tx_count = in.length(block_tx_count_max, "transaction count");
  // A forged count must not make us allocate for transactions the input cannot hold.
  block.transactions.reserve(std::min(static_cast<std::size_t>(tx_count), in.remaining() / tx_bytes_min));
  for (std::uint64_t i = 0; i < tx_count && in.ok(); ++i) {
    const std::uint64_t size = in.length(tx_bytes_max, "transaction");
    ByteSpan tx_bytes = in.raw(static_cast<std::size_t>(size));
    if (!in.ok()) break;
    auto tx = Transaction::decode(tx_bytes);
    if (!tx) {
      return Error{tx.error().code,
                   "transaction " + std::to_string(i) + ": " + tx.error().detail};
    }
    block.transactions.push_back(std::move(tx).value());
  }
  decode_commit(in, block.commit);
  if (auto status = in.finish(); !status) return status.error();
  return block;
}

Bytes BlockFrame::encode(const Block& block) {
  Writer out;
  out.raw(block.header.encode());
  out.length(block.transactions.size());
  encode_commit(out, block.commit);
  return out.take();
}

Result<BlockFrame> BlockFrame::decode(ByteSpan bytes) {
  Reader in(bytes);
  BlockFrame frame;
  decode_header(in, frame.header);
  frame.tx_count = in.length(block_tx_count_max, "transaction count");
  frame.transactions_offset = in.position();
  decode_commit(in, frame.commit);
  if (auto status = in.finish(); !status) return status.error();
  return frame;
}

std::vector<Hash256> Block::tx_ids() const {
  std::vector<Hash256> ids;
  ids.reserve(transactions.size());
  for (const Transaction& tx : transactions) ids.push_back(tx.id());
  return ids;
}

}  // namespace pc::ledger
