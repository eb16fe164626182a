// The signed messages of consensus (docs/protocol.md, "Consensus messages"): a proposal of a
// block for a height and round, and prevotes and precommits for a block or for nil. They live
// in ledger/ because a block's commit certificate is a set of precommit signatures, which
// the audit, the wallet and sync verify without running consensus.
//
// Each kind signs under its own domain prefix and every field that identifies it (chain id,
// height, round, block id or nil, and for a proposal its POL round), so a signature of one
// kind, round, height or chain never verifies as another.
#pragma once

#include <optional>

#include "ledger/genesis.hpp"

namespace pc::ledger {

enum class VoteType : std::uint8_t { prevote = 1, precommit = 2 };
std::string_view vote_type_name(VoteType type);  // "prevote", "precommit"

struct Vote {
  VoteType type = VoteType::prevote;
  std::string chain_id;
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  std::optional<Hash256> block_id;  // nullopt: a vote for nil
  PartnerId validator = 0;
  Signature signature{};

  // The message the validator signs: prefix (PCPV or PCPC) || chain id || height || round ||
  // block id or nil.
  Bytes sign_bytes() const;
  // The wire and storage form (sign bytes' fields, then validator and signature).
  Bytes encode() const;
  static Result<Vote> decode(ByteSpan bytes);

  bool operator==(const Vote&) const = default;
};

struct Proposal {
  std::string chain_id;
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  // The round of the prevotes that justify re-proposing a block (Tendermint's validRound);
  // nullopt for a fresh block. Always below `round`.
  std::optional<std::uint32_t> pol_round;
  Hash256 block_id{};
  PartnerId proposer = 0;
  Signature signature{};

  // prefix PCPP || chain id || height || round || POL round or none || block id.
  Bytes sign_bytes() const;
  Bytes encode() const;
  static Result<Proposal> decode(ByteSpan bytes);

  bool operator==(const Proposal&) const = default;
};

// Whether `validator` is a genesis partner with voting power, and its signature verifies
// (strictly) over the vote's sign bytes on this genesis's chain. Errors: wrong_chain_id,
// unknown_partner (not a validator), invalid_field (round over round_max), bad_signature.
Status verify_vote(const Genesis& genesis, const Vote& vote);
// The same for a proposal's signer. It does not check that the signer was the round's
// proposer: that needs the ProposerSchedule (ledger/proposer.hpp).
Status verify_proposal(const Genesis& genesis, const Proposal& proposal);

// Two votes that prove a validator equivocated: the same validator, chain, height, round and
// type, different block ids (one may be nil), both signatures valid. Never thrown away.
struct Evidence {
  Vote first;   // the vote with the smaller encoding, so one equivocation has one Evidence
  Vote second;

  Bytes encode() const;  // LEB128 length || first || LEB128 length || second
  static Result<Evidence> decode(ByteSpan bytes);
  bool operator==(const Evidence&) const = default;
};

// Orders the pair, then checks it is evidence: invalid_field if the votes do not conflict,
// or the errors of verify_vote.
Result<Evidence> make_evidence(const Genesis& genesis, Vote a, Vote b);
Status verify_evidence(const Genesis& genesis, const Evidence& evidence);

}  // namespace pc::ledger
