// The consensus engine's rules, one at a time: a single real Engine is driven by hand with
// messages signed by the other validators' real keys, and its actions are inspected.
#include <catch2/catch.hpp>

#include "node/consensus/consensus.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc;
using consensus::Actions;
using consensus::Engine;
using ledger::VoteType;

constexpr std::uint64_t start_ms = test::test_genesis_time_ms + 10'000;

ledger::Genesis four_equal_validators() {
  ledger::Genesis genesis = test::make_genesis({.partners = 4});
  for (ledger::Partner& partner : genesis.partners) partner.voting_power = 1;
  return genesis;
}

crypto::SecretKey key_of(ledger::PartnerId id) { return test::seeded_key("partner " + std::to_string(id) + " validator"); }

std::vector<ledger::PartnerId> others(ledger::PartnerId self);

// One engine for validator `self` at height 1 of a four-validator chain, with what it persists.
struct Harness {
  ledger::Genesis genesis = four_equal_validators();
  ledger::PartnerId self;
  crypto::SecretKey key;
  consensus::MemorySignerStateStore signer_state;
  consensus::MemoryWriteAheadLog log;
  std::unique_ptr<consensus::SignerGuard> guard;
  std::unique_ptr<Engine> engine;
  ledger::ProposerSchedule schedule = ledger::ProposerSchedule::for_height(genesis, 1);

  explicit Harness(ledger::PartnerId self_id) : self(self_id), key(key_of(self_id)) { boot(); }

  // A fresh engine and guard over the same persisted signer record and log: a restart.
  Actions boot() {
    guard = std::make_unique<consensus::SignerGuard>(key, signer_state);
    engine = std::make_unique<Engine>(genesis, self, guard.get(), log);
    consensus::HeightStart start{1, genesis.hash(), genesis.genesis_time_ms, schedule, true};
    return engine->start_height(start, start_ms);
  }

  ledger::Block block(std::uint32_t round, std::uint64_t time_ms = start_ms) const {
    ledger::Block block;
    block.header.chain_id = genesis.chain_id;
    block.header.height = 1;
    block.header.previous_hash = genesis.hash();
    block.header.time_ms = time_ms;
    block.header.round = round;
    block.header.proposer = schedule.proposer(round);
    return block;
  }

  consensus::Message proposal(const ledger::Block& block, std::uint32_t round,
                              std::optional<std::uint32_t> pol_round = std::nullopt) const {
    const ledger::PartnerId proposer = schedule.proposer(round);
    ledger::Proposal p{genesis.chain_id, 1, round, pol_round, block.header.hash(), proposer, {}};
    p.signature = key_of(proposer).sign(p.sign_bytes());
    return consensus::ProposalMessage{p, block};
  }

  static ledger::Vote vote(VoteType type, std::uint32_t round, std::optional<crypto::Hash256> id, ledger::PartnerId from) {
    ledger::Vote v{type, "test-chain", 1, round, id, from, {}};
    v.signature = key_of(from).sign(v.sign_bytes());
    return v;
  }

  // Delivers a proposal and answers its validation with `valid`; returns every action.
  Actions propose(const ledger::Block& block, std::uint32_t round, std::optional<std::uint32_t> pol_round = std::nullopt,
                  std::uint64_t now_ms = start_ms) {
    Actions actions = engine->on_message(proposal(block, round, pol_round), now_ms);
    Actions more = engine->on_block_validated(block.header.hash(), true, now_ms);
    actions.insert(actions.end(), more.begin(), more.end());
    return actions;
  }

  Actions deliver(VoteType type, std::uint32_t round, std::optional<crypto::Hash256> id,
                  std::vector<ledger::PartnerId> from) {
    Actions actions;
    for (ledger::PartnerId v : from) {
      Actions more = engine->on_message(vote(type, round, id, v), start_ms);
      actions.insert(actions.end(), more.begin(), more.end());
    }
    return actions;
  }

  Actions timeout(consensus::TimeoutKind kind, std::uint32_t round) {
    return engine->on_timeout(consensus::ScheduleTimeout{kind, 1, round, 0}, start_ms + 100'000);
  }
  // `block` is proposed in `round`, every other validator prevotes it (the validator locks on
  // it if it prevoted it too), and the round's precommit step times out: on to round + 1.
  void prevoted_by_others_then_timed_out(const ledger::Block& block, std::uint32_t round) {
    (void)propose(block, round);
    (void)deliver(VoteType::prevote, round, block.header.hash(), others(self));
    (void)timeout(consensus::TimeoutKind::precommit, round);
  }
};

// The votes this validator broadcast among `actions`.
std::vector<ledger::Vote> own_votes(const Actions& actions, VoteType type) {
  std::vector<ledger::Vote> votes;
  for (const consensus::Action& action : actions) {
    if (const auto* broadcast = std::get_if<consensus::Broadcast>(&action)) {
      if (const auto* vote = std::get_if<ledger::Vote>(&broadcast->message); vote && vote->type == type) {
        votes.push_back(*vote);
      }
    }
  }
  return votes;
}

// A validator that is not round 0's or 1's or 2's proposer, so proposals come from others.
ledger::PartnerId bystander() {
  const ledger::Genesis genesis = four_equal_validators();
  const auto schedule = ledger::ProposerSchedule::for_height(genesis, 1);
  for (ledger::PartnerId id = 1; id <= 4; ++id) {
    if (id != schedule.proposer(0) && id != schedule.proposer(1) && id != schedule.proposer(2)) return id;
  }
  FAIL("no bystander");
  return 0;
}

// Three validators other than `self`: more than 2/3 of four equal powers with self's vote
// left out.
std::vector<ledger::PartnerId> others(ledger::PartnerId self) {
  std::vector<ledger::PartnerId> ids;
  for (ledger::PartnerId id = 1; id <= 4; ++id) {
    if (id != self) ids.push_back(id);
  }
  return ids;
}

}  // namespace

TEST_CASE("step timeouts grow by round and stop at the cap", "[consensus][timeouts]") {
  // Proves each step's timeout is its base plus the per-round increase, capped.
  CHECK(consensus::timeout_ms(consensus::Step::propose, 0) == consensus::propose_timeout_ms);
  CHECK(consensus::timeout_ms(consensus::Step::prevote, 2) ==
        consensus::prevote_timeout_ms + 2 * consensus::timeout_increase_per_round_ms);
  CHECK(consensus::timeout_ms(consensus::Step::precommit, 3) > consensus::timeout_ms(consensus::Step::precommit, 2));
  CHECK(consensus::timeout_ms(consensus::Step::propose, 100'000) == consensus::step_timeout_ms_max);
}

TEST_CASE("a validated proposal is prevoted, a prevote quorum locks and precommits it", "[consensus][lock]") {
  // Proves lines 22 and 36: prevote the round's valid proposal, then precommit it once more
  // than 2/3 prevote it, and commit with a certificate once more than 2/3 precommit it.
  Harness h(bystander());
  const ledger::Block a = h.block(0);
  const crypto::Hash256 id = a.header.hash();
  Actions actions = h.propose(a, 0);
  REQUIRE(own_votes(actions, VoteType::prevote).size() == 1);
  CHECK(own_votes(actions, VoteType::prevote)[0].block_id == id);

  actions = h.deliver(VoteType::prevote, 0, id, others(h.self));
  REQUIRE(own_votes(actions, VoteType::precommit).size() == 1);
  CHECK(own_votes(actions, VoteType::precommit)[0].block_id == id);

  actions = h.deliver(VoteType::precommit, 0, id, others(h.self));
  const consensus::CommitBlock* commit = nullptr;
  for (const auto& action : actions) {
    if (const auto* c = std::get_if<consensus::CommitBlock>(&action)) commit = c;
  }
  REQUIRE(commit != nullptr);
  CHECK(commit->block.header.hash() == id);
  CHECK(ledger::verify_commit(h.genesis, 1, id, commit->block.commit).ok());
  // Handed on as verified for exactly this block id and certificate (the store then does not
  // verify those signatures again).
  CHECK(commit->certificate.block_id == id);
  CHECK(commit->certificate.commit == commit->block.commit);
  CHECK(h.engine->decided());
}

TEST_CASE("a late vote of the height just decided draws the decision only a rebroadcast interval after it",
          "[consensus][decision]") {
  // Proves behind()'s grace: the precommit of a validator that decides a moment later by
  // itself (it arrives just after this one committed) is not answered with the whole block;
  // the same vote resent a rebroadcast interval after this height began is, and a validator
  // two heights behind is answered at once.
  Harness h(bystander());
  const std::uint64_t started_ms = start_ms + 1'000;
  (void)h.engine->start_height(consensus::HeightStart{2, h.block(0).header.hash(), start_ms, h.schedule.next_height(), false},
                               started_ms);
  const ledger::PartnerId late = others(h.self).front();
  const consensus::Message precommit = Harness::vote(VoteType::precommit, 0, h.block(0).header.hash(), late);
  const auto decisions = [](const Actions& actions) {
    std::vector<consensus::SendDecision> sent;
    for (const consensus::Action& action : actions) {
      if (const auto* decision = std::get_if<consensus::SendDecision>(&action)) sent.push_back(*decision);
    }
    return sent;
  };
  CHECK(decisions(h.engine->on_message(precommit, started_ms + 5)).empty());
  CHECK(decisions(h.engine->on_message(precommit, started_ms + consensus::rebroadcast_interval_ms - 1)).empty());
  const auto answered = decisions(h.engine->on_message(precommit, started_ms + consensus::rebroadcast_interval_ms));
  REQUIRE(answered.size() == 1);
  CHECK(answered[0].to == late);
  CHECK(answered[0].height == 1);

  (void)h.engine->start_height(
      consensus::HeightStart{3, crypto::Hash256{}, started_ms, h.schedule.next_height().next_height(), false},
      started_ms + 2'000);
  const auto two_behind = decisions(h.engine->on_message(precommit, started_ms + 2'001));
  REQUIRE(two_behind.size() == 1);
  CHECK(two_behind[0].height == 1);
}

TEST_CASE("a locked validator prevotes nil for a fresh proposal of another block", "[consensus][lock]") {
  // Proves the lock (line 22's lockedValue condition): after locking A in round 0, a fresh
  // proposal of B in round 1 gets a nil prevote.
  Harness h(bystander());
  const ledger::Block a = h.block(0);
  h.prevoted_by_others_then_timed_out(a, 0);
  REQUIRE(h.engine->round() == 1);
  const ledger::Block b = h.block(1, start_ms + 1);
  Actions actions = h.propose(b, 1);
  REQUIRE(own_votes(actions, VoteType::prevote).size() == 1);
  CHECK_FALSE(own_votes(actions, VoteType::prevote)[0].block_id.has_value());
}

TEST_CASE("a POL from a round after the lock unlocks the validator", "[consensus][lock]") {
  // Proves line 28: locked on A in round 0, the validator prevotes B re-proposed in round 2
  // with POL round 1, once it holds more than 2/3 prevotes for B in round 1.
  Harness h(bystander());
  const ledger::Block a = h.block(0);
  h.prevoted_by_others_then_timed_out(a, 0);
  const ledger::Block b = h.block(1, start_ms + 1);
  h.prevoted_by_others_then_timed_out(b, 1);  // prevotes nil: locked on A
  REQUIRE(h.engine->round() == 2);
  Actions actions = h.propose(b, 2, 1u);
  REQUIRE(own_votes(actions, VoteType::prevote).size() == 1);
  CHECK(own_votes(actions, VoteType::prevote)[0].block_id == b.header.hash());
}

TEST_CASE("a POL that completes after its round makes the block the valid value its proposer re-proposes",
          "[consensus][lock]") {
  // Proves the late-POL rule (docs/consensus.md, "The protocol"): the validator prevoted A in
  // round 0 but left the round before the others' prevotes for A arrived (as behind a
  // partition; others may have locked on A). When they arrive in round 1, A becomes its valid
  // value, so as round 2's proposer it re-proposes A with POL round 0, which the locked
  // validators can prevote, instead of building a fresh block, which they could not.
  Harness h(ledger::ProposerSchedule::for_height(four_equal_validators(), 1).proposer(2));
  REQUIRE(h.self != h.schedule.proposer(0));
  REQUIRE(h.self != h.schedule.proposer(1));
  const ledger::Block a = h.block(0);
  REQUIRE(own_votes(h.propose(a, 0), VoteType::prevote).size() == 1);
  (void)h.timeout(consensus::TimeoutKind::prevote, 0);
  (void)h.timeout(consensus::TimeoutKind::precommit, 0);
  REQUIRE(h.engine->round() == 1);

  (void)h.deliver(VoteType::prevote, 0, a.header.hash(), others(h.self));
  (void)h.timeout(consensus::TimeoutKind::propose, 1);
  (void)h.timeout(consensus::TimeoutKind::prevote, 1);
  const Actions actions = h.timeout(consensus::TimeoutKind::precommit, 1);
  REQUIRE(h.engine->round() == 2);
  std::optional<ledger::Proposal> proposed;
  bool built = false;
  for (const consensus::Action& action : actions) {
    if (const auto* broadcast = std::get_if<consensus::Broadcast>(&action)) {
      if (const auto* p = std::get_if<consensus::ProposalMessage>(&broadcast->message)) proposed = p->proposal;
    }
    built = built || std::holds_alternative<consensus::BuildProposal>(action);
  }
  CHECK_FALSE(built);
  REQUIRE(proposed.has_value());
  CHECK(proposed->block_id == a.header.hash());
  CHECK(proposed->pol_round == std::optional<std::uint32_t>(0));
}

TEST_CASE("messages of a later round from more than 1/3 of the power skip to that round", "[consensus][skip]") {
  // Proves line 55: one validator (1/4) in round 5 is not enough; two (1/2) are.
  Harness h(bystander());
  const auto ids = others(h.self);
  (void)h.deliver(VoteType::prevote, 5, std::nullopt, {ids[0]});
  CHECK(h.engine->round() == 0);
  (void)h.deliver(VoteType::prevote, 5, std::nullopt, {ids[1]});
  CHECK(h.engine->round() == 5);
}

TEST_CASE("a fresh proposal stamped too far ahead of the validator's clock is prevoted nil", "[consensus][time]") {
  // Proves the block time bound: within block_time_drift_ms_max of the validator's clock the
  // block is prevoted, beyond it nil.
  {
    Harness h(bystander());
    const ledger::Block ok = h.block(0, start_ms + consensus::block_time_drift_ms_max);
    Actions actions = h.propose(ok, 0);
    REQUIRE(own_votes(actions, VoteType::prevote).size() == 1);
    CHECK(own_votes(actions, VoteType::prevote)[0].block_id == ok.header.hash());
  }
  {
    Harness h(bystander());
    const ledger::Block ahead = h.block(0, start_ms + consensus::block_time_drift_ms_max + 1);
    Actions actions = h.propose(ahead, 0);
    REQUIRE(own_votes(actions, VoteType::prevote).size() == 1);
    CHECK_FALSE(own_votes(actions, VoteType::prevote)[0].block_id.has_value());
  }
}

TEST_CASE("an invalid proposal is prevoted nil and a proposal is executed once", "[consensus][validity]") {
  // Proves valid(v): the application's 'invalid' answer gives a nil prevote; and the engine
  // asks to validate a block id once, even when the proposal arrives twice.
  Harness h(bystander());
  const ledger::Block a = h.block(0);
  Actions actions = h.engine->on_message(h.proposal(a, 0), start_ms);
  Actions again = h.engine->on_message(h.proposal(a, 0), start_ms);
  const auto validations = [](const Actions& list) {
    return std::count_if(list.begin(), list.end(), [](const auto& x) { return std::holds_alternative<consensus::ValidateBlock>(x); });
  };
  CHECK(validations(actions) == 1);
  CHECK(validations(again) == 0);
  actions = h.engine->on_block_validated(a.header.hash(), false, start_ms);
  REQUIRE(own_votes(actions, VoteType::prevote).size() == 1);
  CHECK_FALSE(own_votes(actions, VoteType::prevote)[0].block_id.has_value());
}

TEST_CASE("two conflicting votes of one validator are reported as evidence once", "[consensus][evidence]") {
  // Proves equivocation detection: a prevote for A and a prevote for nil from one validator in
  // one round give one EvidenceFound holding both signed votes.
  Harness h(bystander());
  const ledger::PartnerId culprit = others(h.self)[0];
  const crypto::Hash256 id = h.block(0).header.hash();
  Actions actions = h.deliver(VoteType::prevote, 0, id, {culprit});
  Actions second = h.deliver(VoteType::prevote, 0, std::nullopt, {culprit});
  Actions third = h.deliver(VoteType::prevote, 0, crypto::sha256(as_bytes("another")), {culprit});
  const consensus::EvidenceFound* found = nullptr;
  for (const auto& action : second) {
    if (const auto* e = std::get_if<consensus::EvidenceFound>(&action)) found = e;
  }
  REQUIRE(found != nullptr);
  CHECK(found->evidence.first.validator == culprit);
  CHECK(ledger::verify_evidence(h.genesis, found->evidence).ok());
  for (const auto& action : third) CHECK_FALSE(std::holds_alternative<consensus::EvidenceFound>(action));
}

TEST_CASE("the signer guard refuses a conflicting vote after a restart", "[consensus][signer]") {
  // Proves the guard: what it signed is persisted before the signature exists, so a new guard
  // over the same record refuses another block at the same height, round and step (and any
  // earlier position), while signing the identical vote again and later steps.
  const crypto::SecretKey key = key_of(1);
  consensus::MemorySignerStateStore store;
  const ledger::Vote a = Harness::vote(VoteType::prevote, 0, crypto::sha256(as_bytes("a")), 1);
  ledger::Vote b = a;
  b.block_id = crypto::sha256(as_bytes("b"));
  std::optional<crypto::Signature> first;
  {
    consensus::SignerGuard guard(key, store);
    first = guard.sign_vote(a);
    REQUIRE(first.has_value());
  }
  REQUIRE(store.load().has_value());
  consensus::SignerGuard restarted(key, store);
  CHECK_FALSE(restarted.sign_vote(b).has_value());
  CHECK(restarted.sign_vote(a) == first);
  ledger::Vote precommit = a;
  precommit.type = VoteType::precommit;
  CHECK(restarted.sign_vote(precommit).has_value());
  CHECK_FALSE(restarted.sign_vote(a).has_value());  // back to the prevote step: refused
}

TEST_CASE("a validator restarted mid-height replays its log and keeps its lock", "[consensus][wal]") {
  // Proves resuming a height: after a crash the engine replays the write-ahead log, comes
  // back locked on A, and in round 1 prevotes nil for a fresh B instead of changing its
  // mind; nothing it signs after the restart conflicts with what it signed before.
  Harness h(bystander());
  const ledger::Block a = h.block(0);
  h.prevoted_by_others_then_timed_out(a, 0);
  REQUIRE(h.engine->round() == 1);

  (void)h.boot();  // crash and restart: only the signer record and the log survive
  // The precommit timeout came after the last signature, so it was noted but not written:
  // the engine resumes in round 0, locked, and times out again.
  CHECK(h.engine->round() == 0);
  (void)h.timeout(consensus::TimeoutKind::precommit, 0);
  REQUIRE(h.engine->round() == 1);
  const ledger::Block b = h.block(1, start_ms + 1);
  Actions actions = h.propose(b, 1);
  REQUIRE(own_votes(actions, VoteType::prevote).size() == 1);
  CHECK_FALSE(own_votes(actions, VoteType::prevote)[0].block_id.has_value());
}

TEST_CASE("the engine writes the events it noted as one log record just before each signature",
          "[consensus][wal]") {
  // Proves the write-ahead log costs one durable append per signature, not one per event:
  // the proposal and its validation are written together before the prevote is signed, the
  // three prevotes that lock the validator together before its precommit, and events after
  // the last signature are not written until the next one (a crash loses them, which costs
  // only the time to learn them again: nothing signed depended on them). Each record replays.
  Harness h(bystander());
  const ledger::Block a = h.block(0);
  REQUIRE(own_votes(h.propose(a, 0), VoteType::prevote).size() == 1);
  REQUIRE(h.log.records(1).size() == 1);
  REQUIRE(own_votes(h.deliver(VoteType::prevote, 0, a.header.hash(), others(h.self)), VoteType::precommit).size() == 1);
  REQUIRE(h.log.records(1).size() == 2);
  (void)h.deliver(VoteType::precommit, 0, std::nullopt, {others(h.self)[0]});
  CHECK(h.log.records(1).size() == 2);
  for (const Bytes& record : h.log.records(1)) CHECK(consensus::check_log_record(record).ok());
  // A restart replays both records: the validator is locked on A and precommits it again.
  const Actions replayed = h.boot();
  const std::vector<ledger::Vote> precommits = own_votes(replayed, VoteType::precommit);
  REQUIRE(precommits.size() == 1);
  CHECK(precommits[0].block_id == a.header.hash());
}
