#include "ledger/votes.hpp"

#include <algorithm>

#include "crypto/domains.hpp"
#include "ledger/codec.hpp"
#include "ledger/limits.hpp"

namespace pc::ledger {
namespace {

// Evidence is two votes; a vote is at most this long (version, type, 32-byte chain id, the
// fixed fields, a block id, validator and signature).
constexpr std::size_t vote_bytes_max = 1 + 1 + 1 + chain_id_bytes_max + 8 + 4 + 1 + 32 + 2 + 64;

void write_optional_block(Writer& out, const std::optional<Hash256>& block_id) {
  out.u8(block_id ? 1 : 0);
  if (block_id) out.raw(*block_id);
}

std::optional<Hash256> read_optional_block(Reader& in) {
  const std::uint8_t flag = in.u8();
  if (flag > 1) in.fail(Code::invalid_field, "block id flag must be 0 or 1");
  if (flag != 1) return std::nullopt;
  return in.fixed<32>();
}

void read_version(Reader& in, std::string_view what) {
  const std::uint8_t version = in.u8();
  if (in.ok() && version != consensus_message_version) {
    in.fail(Code::unknown_version, std::string(what) + " version " + std::to_string(version));
  }
}

std::uint32_t read_round(Reader& in, std::string_view what) {
  const std::uint32_t round = in.u32();
  if (round > round_max) in.fail(Code::invalid_field, std::string(what) + " " + std::to_string(round) + " over round_max");
  return round;
}

// The fields a vote signs, after its prefix: also the start of its encoding.
void write_vote_fields(Writer& out, const Vote& vote) {
  out.string(vote.chain_id);
  out.u64(vote.height);
  out.u32(vote.round);
  write_optional_block(out, vote.block_id);
}

void write_proposal_fields(Writer& out, const Proposal& proposal) {
  out.string(proposal.chain_id);
  out.u64(proposal.height);
  out.u32(proposal.round);
  out.u8(proposal.pol_round ? 1 : 0);
  if (proposal.pol_round) out.u32(*proposal.pol_round);
  out.raw(proposal.block_id);
}

Status check_signer(const Genesis& genesis, std::string_view chain_id, PartnerId signer, std::uint32_t round,
                    ByteSpan message, const Signature& signature) {
  if (chain_id != genesis.chain_id) return Error{Code::wrong_chain_id, "message is for chain " + std::string(chain_id)};
  if (round > round_max) return Error{Code::invalid_field, "round " + std::to_string(round) + " over round_max"};
  const Partner* partner = genesis.partner(signer);
  if (partner == nullptr || partner->voting_power == 0) {
    return Error{Code::unknown_partner, "partner " + std::to_string(signer) + " is not a validator"};
  }
  // Validator keys were checked with is_valid_public_key when the genesis was loaded.
  if (!crypto::verify_prevalidated(partner->validator_key, message, signature)) {
    return Error{Code::bad_signature, "validator " + std::to_string(signer) + " signature does not verify"};
  }
  return {};
}

}  // namespace

std::string_view vote_type_name(VoteType type) {
  return type == VoteType::prevote ? "prevote" : "precommit";
}

Bytes Vote::sign_bytes() const {
  Writer out;
  out.raw(type == VoteType::prevote ? domain::prevote : domain::precommit);
  write_vote_fields(out, *this);
  return out.take();
}

Bytes Vote::encode() const {
  Writer out;
  out.u8(consensus_message_version);
  out.u8(static_cast<std::uint8_t>(type));
  write_vote_fields(out, *this);
  out.u16(validator);
  out.raw(signature);
  return out.take();
}

Result<Vote> Vote::decode(ByteSpan bytes) {
  Reader in(bytes);
  Vote vote;
  read_version(in, "vote");
  const std::uint8_t type = in.u8();
  if (in.ok() && type != 1 && type != 2) in.fail(Code::unknown_type, "vote type " + std::to_string(type));
  vote.type = static_cast<VoteType>(type);
  vote.chain_id = in.string(chain_id_bytes_max, "chain id");
  vote.height = in.u64();
  vote.round = read_round(in, "round");
  vote.block_id = read_optional_block(in);
  vote.validator = in.u16();
  vote.signature = in.fixed<64>();
  if (auto status = in.finish(); !status) return status.error();
  return vote;
}

Bytes Proposal::sign_bytes() const {
  Writer out;
  out.raw(domain::proposal);
  write_proposal_fields(out, *this);
  return out.take();
}

Bytes Proposal::encode() const {
  Writer out;
  out.u8(consensus_message_version);
  write_proposal_fields(out, *this);
  out.u16(proposer);
  out.raw(signature);
  return out.take();
}

Result<Proposal> Proposal::decode(ByteSpan bytes) {
  Reader in(bytes);
  Proposal proposal;
  read_version(in, "proposal");
  proposal.chain_id = in.string(chain_id_bytes_max, "chain id");
  proposal.height = in.u64();
  proposal.round = read_round(in, "round");
  const std::uint8_t has_pol = in.u8();
  if (has_pol > 1) in.fail(Code::invalid_field, "POL round flag must be 0 or 1");
  if (has_pol == 1) {
    proposal.pol_round = in.u32();
    if (in.ok() && *proposal.pol_round >= proposal.round) {
      in.fail(Code::invalid_field, "POL round must be below the proposal's round");
    }
  }
  proposal.block_id = in.fixed<32>();
  proposal.proposer = in.u16();
  proposal.signature = in.fixed<64>();
  if (auto status = in.finish(); !status) return status.error();
  return proposal;
}

Status verify_vote(const Genesis& genesis, const Vote& vote) {
  return check_signer(genesis, vote.chain_id, vote.validator, vote.round, vote.sign_bytes(), vote.signature);
}

Status verify_proposal(const Genesis& genesis, const Proposal& proposal) {
  if (proposal.pol_round && *proposal.pol_round >= proposal.round) {
    return Error{Code::invalid_field, "POL round must be below the proposal's round"};
  }
  return check_signer(genesis, proposal.chain_id, proposal.proposer, proposal.round, proposal.sign_bytes(),
                      proposal.signature);
}

Bytes Evidence::encode() const {
  Writer out;
  out.bytes(first.encode());
  out.bytes(second.encode());
  return out.take();
}

Result<Evidence> Evidence::decode(ByteSpan bytes) {
  Reader in(bytes);
  const auto read_vote = [&in](std::string_view what) -> Result<Vote> {
    const std::uint64_t size = in.length(vote_bytes_max, what);
    ByteSpan vote_bytes = in.raw(static_cast<std::size_t>(size));
    if (!in.ok()) return in.error();
    return Vote::decode(vote_bytes);
  };
  auto first = read_vote("first vote");
  if (!first) return first.error();
  auto second = read_vote("second vote");
  if (!second) return second.error();
  if (auto status = in.finish(); !status) return status.error();
  Evidence evidence{std::move(first).value(), std::move(second).value()};
  if (!(evidence.first.encode() < evidence.second.encode())) {
    return Error{Code::non_canonical_order, "evidence votes must be in ascending byte order"};
  }
  return evidence;
}

Result<Evidence> make_evidence(const Genesis& genesis, Vote a, Vote b) {
  if (b.encode() < a.encode()) std::swap(a, b);
  Evidence evidence{std::move(a), std::move(b)};
  if (auto status = verify_evidence(genesis, evidence); !status) return status.error();
  return evidence;
}

Status verify_evidence(const Genesis& genesis, const Evidence& evidence) {
  const Vote& a = evidence.first;
  const Vote& b = evidence.second;
  if (a.validator != b.validator || a.chain_id != b.chain_id || a.height != b.height || a.round != b.round ||
      a.type != b.type || a.block_id == b.block_id) {
    return Error{Code::invalid_field, "the votes do not conflict"};
  }
  if (!(a.encode() < b.encode())) return Error{Code::non_canonical_order, "evidence votes out of order"};
  if (auto status = verify_vote(genesis, a); !status) return status;
  return verify_vote(genesis, b);
}

}  // namespace pc::ledger
