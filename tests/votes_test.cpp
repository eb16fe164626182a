// Consensus formats in ledger/: proposals and votes (sign bytes, encodings, domain separation),
// commit certificates with rounds, evidence, and the proposer schedule the audit checks.
#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "ledger/audit.hpp"
#include "ledger/block.hpp"
#include "ledger/proposer.hpp"
#include "ledger/votes.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc;

ledger::Genesis four_validators(std::vector<std::uint64_t> powers = {1, 1, 1, 1}) {
  ledger::Genesis genesis = test::make_genesis({.partners = powers.size()});
  for (std::size_t i = 0; i < powers.size(); ++i) genesis.partners[i].voting_power = powers[i];
  return genesis;
}

crypto::SecretKey validator_key(ledger::PartnerId id) {
  return test::seeded_key("partner " + std::to_string(id) + " validator");
}

ledger::Vote signed_vote(ledger::VoteType type, std::uint64_t height, std::uint32_t round,
                         std::optional<crypto::Hash256> block_id, ledger::PartnerId validator) {
  ledger::Vote vote{type, test::test_chain_id, height, round, block_id, validator, {}};
  vote.signature = validator_key(validator).sign(vote.sign_bytes());
  return vote;
}

crypto::Hash256 block_id_of(std::string_view label) { return crypto::sha256(as_bytes(label)); }

}  // namespace

TEST_CASE("a vote round-trips and its signature binds kind, round, height, chain and block", "[ledger][votes]") {
  // Proves that changing any signed field of a vote makes its signature fail: a prevote can
  // never be taken for a precommit, nor a vote for another round, height, chain or block.
  const ledger::Genesis genesis = four_validators();
  const ledger::Vote vote = signed_vote(ledger::VoteType::prevote, 5, 2, block_id_of("a"), 3);
  auto decoded = ledger::Vote::decode(vote.encode());
  REQUIRE(decoded.ok());
  CHECK(*decoded == vote);
  CHECK(ledger::verify_vote(genesis, vote).ok());

  std::vector<std::pair<std::string, ledger::Vote>> altered;
  altered.emplace_back("type", vote);
  altered.back().second.type = ledger::VoteType::precommit;
  altered.emplace_back("round", vote);
  altered.back().second.round = 3;
  altered.emplace_back("height", vote);
  altered.back().second.height = 6;
  altered.emplace_back("block", vote);
  altered.back().second.block_id = block_id_of("b");
  altered.emplace_back("nil", vote);
  altered.back().second.block_id.reset();
  altered.emplace_back("validator", vote);
  altered.back().second.validator = 2;
  for (const auto& [what, changed] : altered) {
    INFO(what);
    CHECK(ledger::verify_vote(genesis, changed).error().code == ledger::Code::bad_signature);
  }
  ledger::Genesis other_chain = genesis;
  other_chain.chain_id = "other-chain";
  CHECK(ledger::verify_vote(other_chain, vote).error().code == ledger::Code::wrong_chain_id);
}

TEST_CASE("a proposal signature cannot verify as a vote, and POL rounds are below the round", "[ledger][votes]") {
  // Proves the proposal prefix separates proposals from votes over the same fields, and that
  // the decoder refuses a POL round that is not below the round.
  const ledger::Genesis genesis = four_validators();
  ledger::Proposal proposal{test::test_chain_id, 5, 2, 1u, block_id_of("a"), 3, {}};
  proposal.signature = validator_key(3).sign(proposal.sign_bytes());
  CHECK(ledger::verify_proposal(genesis, proposal).ok());
  auto decoded = ledger::Proposal::decode(proposal.encode());
  REQUIRE(decoded.ok());
  CHECK(*decoded == proposal);

  ledger::Vote as_vote{ledger::VoteType::prevote, test::test_chain_id, 5, 2, block_id_of("a"), 3, proposal.signature};
  CHECK_FALSE(ledger::verify_vote(genesis, as_vote).ok());

  proposal.pol_round = 2;
  CHECK(ledger::Proposal::decode(proposal.encode()).error().code == ledger::Code::invalid_field);
  CHECK(ledger::verify_proposal(genesis, proposal).error().code == ledger::Code::invalid_field);
}

TEST_CASE("vote and proposal decoders refuse bad flags, types, versions and trailing bytes", "[ledger][votes]") {
  // Proves each decoder rule of the consensus messages gives its typed error.
  const ledger::Vote vote = signed_vote(ledger::VoteType::precommit, 1, 0, std::nullopt, 1);
  Bytes bytes = vote.encode();
  Bytes bad_version = bytes;
  bad_version[0] = 9;
  CHECK(ledger::Vote::decode(bad_version).error().code == ledger::Code::unknown_version);
  Bytes bad_type = bytes;
  bad_type[1] = 3;
  CHECK(ledger::Vote::decode(bad_type).error().code == ledger::Code::unknown_type);
  Bytes trailing = bytes;
  trailing.push_back(0);
  CHECK(ledger::Vote::decode(trailing).error().code == ledger::Code::trailing_bytes);
  Bytes truncated(bytes.begin(), bytes.end() - 1);
  CHECK(ledger::Vote::decode(truncated).error().code == ledger::Code::truncated);
  // The nil flag sits after version, type, chain id (1 + 10), height and round.
  Bytes bad_flag = bytes;
  bad_flag[2 + 11 + 8 + 4] = 2;
  CHECK(ledger::Vote::decode(bad_flag).error().code == ledger::Code::invalid_field);
}

TEST_CASE("evidence needs two conflicting votes of one validator at one height, round and type", "[ledger][votes]") {
  // Proves make_evidence accepts a real equivocation in either order with one canonical form,
  // and refuses two votes that do not conflict.
  const ledger::Genesis genesis = four_validators();
  const ledger::Vote a = signed_vote(ledger::VoteType::prevote, 4, 1, block_id_of("a"), 2);
  const ledger::Vote b = signed_vote(ledger::VoteType::prevote, 4, 1, std::nullopt, 2);
  auto one = ledger::make_evidence(genesis, a, b);
  auto two = ledger::make_evidence(genesis, b, a);
  REQUIRE(one.ok());
  REQUIRE(two.ok());
  CHECK(*one == *two);
  auto decoded = ledger::Evidence::decode(one->encode());
  REQUIRE(decoded.ok());
  CHECK(*decoded == *one);
  CHECK(ledger::verify_evidence(genesis, *decoded).ok());

  CHECK_FALSE(ledger::make_evidence(genesis, a, a).ok());
  CHECK_FALSE(ledger::make_evidence(genesis, a, signed_vote(ledger::VoteType::prevote, 4, 2, std::nullopt, 2)).ok());
  CHECK_FALSE(ledger::make_evidence(genesis, a, signed_vote(ledger::VoteType::precommit, 4, 1, std::nullopt, 2)).ok());
  CHECK_FALSE(ledger::make_evidence(genesis, a, signed_vote(ledger::VoteType::prevote, 4, 1, std::nullopt, 3)).ok());
}

TEST_CASE("a commit certificate needs more than 2/3 of the power in its own round", "[ledger][votes]") {
  // Proves verify_commit counts unequal powers, and that precommits of another round or
  // height do not make a certificate for this round.
  const ledger::Genesis genesis = four_validators({5, 1, 1, 3});  // total 10: more than 6.67 needed
  const crypto::Hash256 id = block_id_of("block");
  const auto certificate = [&](std::uint32_t round, std::vector<ledger::PartnerId> signers, std::uint32_t signed_round,
                               std::uint64_t signed_height) {
    ledger::Commit commit;
    commit.round = round;
    for (ledger::PartnerId v : signers) {
      commit.signatures.push_back(
          ledger::sign_commit(v, validator_key(v), test::test_chain_id, signed_height, signed_round, id));
    }
    return commit;
  };
  CHECK(ledger::verify_commit(genesis, 7, id, certificate(2, {1, 4}, 2, 7)).ok());          // 8 of 10
  CHECK_FALSE(ledger::verify_commit(genesis, 7, id, certificate(2, {1, 2}, 2, 7)).ok());    // 6 of 10
  CHECK_FALSE(ledger::verify_commit(genesis, 7, id, certificate(2, {1, 4}, 1, 7)).ok());    // round 1's precommits
  CHECK_FALSE(ledger::verify_commit(genesis, 7, id, certificate(2, {1, 4}, 2, 8)).ok());    // height 8's precommits
  CHECK(ledger::verify_commit(genesis, 7, id, certificate(2, {1, 2, 3, 4}, 2, 7)).ok());    // any valid set
}

TEST_CASE("the proposer schedule is weighted, tie-broken by lowest id, and periodic", "[ledger][proposer]") {
  // Proves the smooth weighted round-robin: over total-power consecutive slots each validator
  // proposes exactly its power times, the rotation is back at its start (so for_height may
  // skip whole periods), and next_height() agrees with for_height().
  std::mt19937_64 random(7);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<std::uint64_t> powers;
    const std::size_t count = 1 + random() % 6;
    for (std::size_t i = 0; i < count; ++i) powers.push_back(1 + random() % 9);
    const ledger::Genesis genesis = four_validators(powers);
    const std::uint64_t total = genesis.total_voting_power();
    ledger::ProposerSchedule schedule = ledger::ProposerSchedule::for_height(genesis, 1);
    std::map<ledger::PartnerId, std::uint64_t> picks;
    for (std::uint64_t h = 1; h <= 3 * total + 2; ++h) {
      const ledger::ProposerSchedule direct = ledger::ProposerSchedule::for_height(genesis, h);
      for (std::uint32_t round = 0; round < 3; ++round) REQUIRE(direct.proposer(round) == schedule.proposer(round));
      if (h <= total) picks[schedule.proposer(0)] += 1;
      schedule = schedule.next_height();
    }
    for (std::size_t i = 0; i < powers.size(); ++i) CHECK(picks[static_cast<ledger::PartnerId>(i + 1)] == powers[i]);
  }
  // Equal powers: round-robin from the lowest id; round r of height h is slot h - 1 + r.
  const ledger::Genesis equal = four_validators();
  CHECK(ledger::ProposerSchedule::for_height(equal, 1).proposer(0) == 1);
  CHECK(ledger::ProposerSchedule::for_height(equal, 1).proposer(1) == 2);
  CHECK(ledger::ProposerSchedule::for_height(equal, 2).proposer(0) == 2);
  CHECK(ledger::ProposerSchedule::for_height(equal, 4).proposer(1) == 1);
}

TEST_CASE("the proposer rule refuses a header naming a proposer the schedule does not", "[ledger][proposer]") {
  // Proves the rule the audit applies to each block: a header claiming a round the schedule
  // gives to another validator fails with wrong_proposer.
  const ledger::Genesis genesis = four_validators({1, 1, 1, 1});
  const ledger::ProposerSchedule schedule = ledger::ProposerSchedule::for_height(genesis, 3);
  ledger::BlockHeader header;
  header.height = 3;
  header.round = 1;
  header.proposer = schedule.proposer(1);
  CHECK(ledger::check_block_proposer(schedule, header).ok());
  header.proposer = schedule.proposer(0);
  CHECK(ledger::check_block_proposer(schedule, header).error().code == ledger::Code::wrong_proposer);
}
