#include "node/consensus/consensus.hpp"

#include <algorithm>

#include "crypto/check.hpp"
#include "ledger/chain.hpp"
#include "ledger/codec.hpp"
#include "ledger/limits.hpp"
#include "ledger/merkle.hpp"

namespace pc::consensus {
namespace {

using ledger::PartnerId;
using ledger::Vote;
using ledger::VoteType;
using crypto::Hash256;

// Write-ahead log record kinds. Stored in the log only, never on the chain.
enum class RecordKind : std::uint8_t {
  proposal = 1, vote = 2, decision = 3, timeout = 4, built = 5, validated = 6, work = 7,
};

// One write-ahead log record, decoded: the event and the time the engine acted on it.
struct LoggedEvent {
  RecordKind kind = RecordKind::work;
  std::uint64_t now_ms = 0;
  std::optional<ProposalMessage> proposal;  // proposal
  std::optional<Vote> vote;                 // vote
  std::optional<ledger::Block> block;       // decision, built
  ScheduleTimeout timeout;                  // timeout (its height is the log file's)
  Hash256 block_id{};                       // validated
  bool valid = false;                       // validated
};

ledger::Error undecodable(std::string what) { return ledger::Error{ledger::Code::corruption, std::move(what)}; }

// A length-prefixed canonical encoding inside a record.
template <class Value>
ledger::Result<Value> decode_field(ledger::Reader& in, std::uint64_t bytes_max, const char* what) {
  const std::uint64_t size = in.length(bytes_max, what);
  if (!in.ok()) return undecodable(std::string(what) + ": " + in.error().message());
  auto value = Value::decode(in.raw(static_cast<std::size_t>(size)));
  if (!value) return undecodable(std::string(what) + ": " + value.error().message());
  return value;
}

// The inverse of State::log for one event. Anything but an event in this build's encoding
// is corruption: an unknown kind, a field that does not decode, a timeout kind that is never
// logged, a validity byte other than 0 or 1.
ledger::Result<LoggedEvent> decode_event(ledger::Reader& in) {
  LoggedEvent event;
  const std::uint8_t kind = in.u8();
  event.now_ms = in.u64();
  if (!in.ok()) return undecodable("shorter than a record header: " + in.error().message());
  if (kind < static_cast<std::uint8_t>(RecordKind::proposal) || kind > static_cast<std::uint8_t>(RecordKind::work)) {
    return undecodable("unknown record kind " + std::to_string(kind));
  }
  event.kind = static_cast<RecordKind>(kind);
  switch (event.kind) {
    case RecordKind::proposal: {
      auto proposal = decode_field<ledger::Proposal>(in, ledger::block_bytes_max, "proposal");
      if (!proposal) return proposal.error();
      auto block = decode_field<ledger::Block>(in, ledger::block_bytes_max, "block");
      if (!block) return block.error();
      event.proposal = ProposalMessage{std::move(proposal).value(), std::move(block).value()};
      break;
    }
    case RecordKind::vote: {
      auto vote = decode_field<Vote>(in, ledger::block_bytes_max, "vote");
      if (!vote) return vote.error();
      event.vote = std::move(vote).value();
      break;
    }
    case RecordKind::decision:
    case RecordKind::built: {
      auto block = decode_field<ledger::Block>(in, ledger::block_bytes_max, "block");
      if (!block) return block.error();
      event.block = std::move(block).value();
      break;
    }
    case RecordKind::timeout: {
      const std::uint8_t timeout_kind = in.u8();
      event.timeout.round = in.u32();
      if (in.ok() && (timeout_kind < static_cast<std::uint8_t>(TimeoutKind::propose) ||
                      timeout_kind > static_cast<std::uint8_t>(TimeoutKind::precommit))) {
        return undecodable("timeout of unknown kind " + std::to_string(timeout_kind));
      }
      event.timeout.kind = static_cast<TimeoutKind>(timeout_kind);
      break;
    }
    case RecordKind::validated: {
      event.block_id = in.fixed<32>();
      const std::uint8_t valid = in.u8();
      if (in.ok() && valid > 1) return undecodable("validity byte " + std::to_string(valid));
      event.valid = valid == 1;
      break;
    }
    case RecordKind::work: break;
  }
  if (!in.ok()) return undecodable(in.error().message());
  return event;
}

// A record is one or more events, back to back (flush_log), and nothing else.
ledger::Result<std::vector<LoggedEvent>> decode_record(ByteSpan record) {
  ledger::Reader in(record);
  std::vector<LoggedEvent> events;
  do {
    auto event = decode_event(in);
    if (!event) return undecodable("event " + std::to_string(events.size()) + ": " + event.error().detail);
    events.push_back(std::move(event).value());
  } while (in.remaining() > 0);
  return events;
}

// Every distinct vote of a validator in a round, up to votes_per_validator_max. A validator
// that equivocates counts towards each block it voted for: quorum intersection already
// assumes faulty validators vote both ways, and an honest validator that saw one of the
// conflicting votes first must still be able to count the other towards a quorum (or a POL
// seen by others would never be complete for it).
using VotesByValidator = std::map<PartnerId, std::vector<Vote>>;
constexpr std::size_t votes_per_validator_max = 4;
// Messages of the next height kept while this one is being committed.
constexpr std::size_t next_height_messages_max = 1'024;

struct RoundVotes {
  VotesByValidator prevotes;
  VotesByValidator precommits;
};

struct HeldProposal {
  ledger::Proposal proposal;
  Hash256 block_id{};
  bool timely = false;  // block time within block_time_drift_ms_max of our clock on receipt
};

}  // namespace

std::uint64_t timeout_ms(Step step, std::uint32_t round) {
  const std::uint64_t base = step == Step::propose   ? propose_timeout_ms
                             : step == Step::prevote ? prevote_timeout_ms
                                                     : precommit_timeout_ms;
  return std::min(base + std::uint64_t{round} * timeout_increase_per_round_ms, step_timeout_ms_max);
}

class Engine::State {
 public:
  State(const ledger::Genesis& genesis, PartnerId self, SignerGuard* signer, WriteAheadLog& log, BrokenRule broken)
      : genesis_(genesis), self_(self), signer_(signer), log_(log), broken_(broken),
        start_{1, {}, 0, ledger::ProposerSchedule::for_height(genesis, 1), false} {}

  // ---- events ----

  Actions start_height(const HeightStart& start, std::uint64_t now_ms) {
    PC_CHECK(start.schedule.height() == start.height);
    std::vector<Message> early = std::move(next_height_);
    next_height_.clear();
    // Events not yet written belong to the height that ends here, which is committed: they
    // are not needed. Unless the same height starts again (its commit failed): then they are
    // part of what the replay resumes.
    if (start.height == start_.height) {
      flush_log();
    } else {
      unwritten_.clear();
    }
    reset(start);
    height_started_ms_ = now_ms;
    log_.drop_below(start.height);
    const std::vector<Bytes> records = log_.records(start.height);
    replaying_ = true;
    for (const Bytes& record : records) replay(record);
    replaying_ = false;
    if (start.work_available && !running_) begin_rounds(now_ms);
    // Messages of this height that arrived while the previous one was being committed: the
    // proposer that committed first has usually proposed already.
    for (const Message& message : early) keep(on_message(message, now_ms));
    return take();
  }

  Actions on_message(const Message& message, std::uint64_t now_ms) {
    if (const auto* vote = std::get_if<Vote>(&message)) {
      handle_vote(*vote, now_ms);
    } else if (const auto* proposal = std::get_if<ProposalMessage>(&message)) {
      handle_proposal(*proposal, now_ms);
    } else {
      handle_decision(std::get<DecisionMessage>(message).block, now_ms);
    }
    evaluate(now_ms);
    return take();
  }

  Actions on_timeout(const ScheduleTimeout& timeout, std::uint64_t now_ms) {
    if (timeout.height != start_.height || decided_) return take();
    if (timeout.kind == TimeoutKind::rebroadcast) {
      rebroadcast(now_ms);
      return take();
    }
    log([&](ledger::Writer& out) {
      out.u8(static_cast<std::uint8_t>(timeout.kind));
      out.u32(timeout.round);
    }, RecordKind::timeout, now_ms);
    if (timeout.round == round_) {
      if (timeout.kind == TimeoutKind::propose && step_ == Step::propose) {
        vote(VoteType::prevote, std::nullopt, now_ms);
      } else if (timeout.kind == TimeoutKind::prevote && step_ == Step::prevote) {
        vote(VoteType::precommit, std::nullopt, now_ms);
      } else if (timeout.kind == TimeoutKind::precommit) {
        start_round(round_ + 1, now_ms);
      }
    }
    evaluate(now_ms);
    return take();
  }

  Actions on_block_built(const ledger::Block& block, std::uint64_t now_ms) {
    const Hash256 id = block.header.hash();
    if (decided_ || !running_ || block.header.height != start_.height || block.header.round != round_ ||
        step_ != Step::propose || signer_ == nullptr || proposer_of(round_) != self_ || proposals_.contains(round_)) {
      return take();  // stale: the round moved on, or a proposal is already out
    }
    log([&](ledger::Writer& out) { out.bytes(block.encode()); }, RecordKind::built, now_ms);
    blocks_.emplace(id, block);
    propose(id, std::nullopt, now_ms);
    evaluate(now_ms);
    return take();
  }

  Actions on_block_validated(const Hash256& block_id, bool valid, std::uint64_t now_ms) {
    if (decided_ || validity_.contains(block_id) || !blocks_.contains(block_id)) return take();
    log([&](ledger::Writer& out) {
      out.raw(block_id);
      out.u8(valid ? 1 : 0);
    }, RecordKind::validated, now_ms);
    validity_[block_id] = valid;
    evaluate(now_ms);
    return take();
  }

  Actions on_work_available(std::uint64_t now_ms) {
    if (!running_ && !decided_) {
      log([](ledger::Writer&) {}, RecordKind::work, now_ms);
      begin_rounds(now_ms);
      evaluate(now_ms);
    }
    return take();
  }

  std::uint64_t height() const { return start_.height; }
  std::uint32_t round() const { return round_; }
  Step step() const { return step_; }
  bool decided() const { return decided_; }
  const EngineStats& stats() const { return stats_; }
  RoundVotesView votes_in_round(std::uint32_t round) const {
    RoundVotesView view;
    auto found = votes_.find(round);
    if (found == votes_.end()) return view;
    for (const auto& [validator, votes] : found->second.prevotes) {
      view.prevotes.insert(view.prevotes.end(), votes.begin(), votes.end());
    }
    for (const auto& [validator, votes] : found->second.precommits) {
      view.precommits.insert(view.precommits.end(), votes.begin(), votes.end());
    }
    return view;
  }

 private:
  // ---- bookkeeping ----

  void reset(const HeightStart& start) {
    start_ = start;
    running_ = false;
    decided_ = false;
    round_ = 0;
    step_ = Step::propose;
    locked_.reset();
    locked_round_.reset();
    valid_.reset();
    valid_round_.reset();
    proposals_.clear();
    votes_.clear();
    validity_.clear();
    validation_requested_.clear();
    blocks_.clear();
    decision_certificates_.clear();
    prevote_timeout_scheduled_.clear();
    precommit_timeout_scheduled_.clear();
    rule_36_done_.clear();
    highest_round_.clear();
    evidence_seen_.clear();
    proposers_.clear();
    own_proposal_.reset();
    own_prevote_.reset();
    own_precommit_.reset();
  }

  Actions take() {
    Actions actions = std::move(out_);
    out_.clear();
    return actions;
  }

  // The event handlers return what they took from out_; during replay it goes back there.
  void keep(Actions actions) { out_.insert(out_.end(), actions.begin(), actions.end()); }

  // Notes an event the engine is about to act on. Events are written to the log together,
  // as one record, by flush_log() before the next signature (docs/consensus.md, "Never
  // signing twice": why that is the point where they must be durable).
  template <class Fill>
  void log(const Fill& fill, RecordKind kind, std::uint64_t now_ms) {
    if (replaying_) return;
    ledger::Writer out;
    out.u8(static_cast<std::uint8_t>(kind));
    out.u64(now_ms);
    fill(out);
    PC_CHECK(out.view().size() <= log_record_bytes_max);
    if (unwritten_.size() + out.view().size() > log_record_bytes_max) flush_log();
    unwritten_.insert(unwritten_.end(), out.view().begin(), out.view().end());
  }

  // Appends the events noted since the last flush as one record; the log makes it durable
  // before append returns.
  void flush_log() {
    if (unwritten_.empty()) return;  // every event is at least its kind and time
    log_.append(start_.height, unwritten_);
    unwritten_.clear();
  }

  void replay(const Bytes& record) {
    // The log's contract: it returns only records check_log_record accepts.
    auto decoded = decode_record(record);
    PC_CHECK(decoded.ok());
    for (LoggedEvent& event : *decoded) {
      const std::uint64_t now_ms = event.now_ms;
      switch (event.kind) {
        case RecordKind::proposal: handle_proposal(*event.proposal, now_ms); break;
        case RecordKind::vote: handle_vote(*event.vote, now_ms); break;
        case RecordKind::decision: handle_decision(*event.block, now_ms); break;
        case RecordKind::timeout:
          event.timeout.height = start_.height;
          keep(on_timeout(event.timeout, now_ms));
          break;
        case RecordKind::built: keep(on_block_built(*event.block, now_ms)); break;
        case RecordKind::validated: keep(on_block_validated(event.block_id, event.valid, now_ms)); break;
        case RecordKind::work: keep(on_work_available(now_ms)); break;
      }
      evaluate(now_ms);
    }
  }

  PartnerId proposer_of(std::uint32_t round) {
    auto found = proposers_.find(round);
    if (found != proposers_.end()) return found->second;
    const PartnerId proposer = start_.schedule.proposer(round);
    proposers_.emplace(round, proposer);
    return proposer;
  }

  std::uint64_t power_of(PartnerId id) const {
    const ledger::Partner* partner = genesis_.partner(id);
    return partner == nullptr ? 0 : partner->voting_power;
  }
  bool over_two_thirds(std::uint64_t power) const { return power * 3 > genesis_.total_voting_power() * 2; }
  bool over_one_third(std::uint64_t power) const { return power * 3 > genesis_.total_voting_power(); }

  // Power of the validators with a vote for `target` (a block id or nil) in `votes`;
  // nullopt counts each validator with any vote once.
  std::uint64_t power_for(const VotesByValidator& votes, const std::optional<std::optional<Hash256>>& target) const {
    std::uint64_t power = 0;
    for (const auto& [validator, cast] : votes) {
      const bool counts = !target || std::any_of(cast.begin(), cast.end(),
                                                 [&](const Vote& vote) { return vote.block_id == *target; });
      if (counts) power += power_of(validator);
    }
    return power;
  }

  bool in_kept_window(std::uint32_t round) const { return round <= round_ + future_rounds_kept_max; }

  // Notes that a validator has reached `round` at this height: the evidence for skipping ahead.
  void saw_round(PartnerId validator, std::uint32_t round) {
    std::uint32_t& highest = highest_round_[validator];
    highest = std::max(highest, round);
  }

  // A message of an earlier height: the sender is behind, so offer it our decided block.
  // Not for a message of the height just decided that arrives within a rebroadcast interval
  // of this height's start: that is the ordinary late precommit of a validator that decides
  // by itself a moment later (it holds the block and the precommits are on their way), and
  // the decision would carry the whole block to it again. A validator that really missed the
  // precommits resends its votes every rebroadcast interval, and the first that comes after
  // this grace brings it the decision.
  void behind(PartnerId sender, std::uint64_t height, std::uint64_t now_ms) {
    if (sender == self_ || height == 0 || height >= start_.height) return;
    if (height + 1 == start_.height && now_ms < height_started_ms_ + rebroadcast_interval_ms) return;
    std::uint64_t& last = decision_sent_ms_[sender];
    if (last != 0 && now_ms < last + rebroadcast_interval_ms) return;
    last = now_ms == 0 ? 1 : now_ms;
    out_.push_back(SendDecision{sender, height});
  }

  // ---- inputs ----

  void handle_vote(const Vote& vote, std::uint64_t now_ms) {
    if (vote.height < start_.height) return behind(vote.validator, vote.height, now_ms);
    if (vote.height > start_.height) return ahead(vote, now_ms);
    if (decided_) return;
    stats_.messages_received += 1;
    stats_.signatures_verified += 1;
    if (!ledger::verify_vote(genesis_, vote)) return;
    saw_round(vote.validator, vote.round);
    if (!in_kept_window(vote.round)) return;
    VotesByValidator& seen = vote.type == VoteType::prevote ? votes_[vote.round].prevotes : votes_[vote.round].precommits;
    std::vector<Vote>& cast = seen[vote.validator];
    if (std::any_of(cast.begin(), cast.end(), [&](const Vote& v) { return v.block_id == vote.block_id; })) return;
    if (!cast.empty()) report_equivocation(cast.front(), vote);
    if (cast.size() >= votes_per_validator_max) return;
    cast.push_back(vote);
    log([&](ledger::Writer& out) { out.bytes(vote.encode()); }, RecordKind::vote, now_ms);
    // Its own votes come back through here, also from the log after a restart, when the
    // guard refuses to sign them again (it only repeats the very last message): keep them
    // for rebroadcasting.
    if (vote.validator == self_) {
      std::optional<Vote>& own = vote.type == VoteType::prevote ? own_prevote_ : own_precommit_;
      if (!own || own->round <= vote.round) own = vote;
    }
    if (!running_) begin_rounds(now_ms);
  }

  void handle_proposal(const ProposalMessage& message, std::uint64_t now_ms) {
    const ledger::Proposal& proposal = message.proposal;
    if (proposal.height < start_.height) return behind(proposal.proposer, proposal.height, now_ms);
    if (proposal.height > start_.height) return ahead(message, now_ms);
    if (decided_ || !in_kept_window(proposal.round) || proposals_.contains(proposal.round)) return;
    if (proposal.round > ledger::round_max || proposer_of(proposal.round) != proposal.proposer) return;
    stats_.messages_received += 1;
    stats_.signatures_verified += 1;
    if (!ledger::verify_proposal(genesis_, proposal)) return;
    const ledger::BlockHeader& header = message.block.header;
    const Hash256 id = header.hash();
    if (id != proposal.block_id) return;
    // A fresh block is first proposed in this round; a re-proposed one came from an earlier
    // round, no later than its POL round.
    if (proposal.pol_round ? header.round > *proposal.pol_round : header.round != proposal.round) return;
    saw_round(proposal.proposer, proposal.round);
    log([&](ledger::Writer& out) {
      out.bytes(proposal.encode());
      out.bytes(message.block.encode());
    }, RecordKind::proposal, now_ms);
    proposals_[proposal.round] = HeldProposal{proposal, id, header.time_ms <= now_ms + block_time_drift_ms_max};
    if (proposal.proposer == self_) own_proposal_ = message;
    consider_block(message.block, id);
    if (!running_) begin_rounds(now_ms);
  }

  void handle_decision(const ledger::Block& block, std::uint64_t now_ms) {
    if (decided_ || block.header.height != start_.height) return;
    const Hash256 id = block.header.hash();
    if (decision_certificates_.contains(id)) return;
    stats_.signatures_verified += block.commit.signatures.size();
    if (!ledger::check_block_contents(genesis_, block)) return;
    log([&](ledger::Writer& out) { out.bytes(block.encode()); }, RecordKind::decision, now_ms);
    decision_certificates_.emplace(id, block.commit);
    consider_block(block, id);
  }

  // A message of a later height. One height ahead, it is kept for when that height starts
  // (up to next_height_messages_max). Otherwise this validator is behind: running rounds
  // makes it send its own votes, to which validators that have decided answer with the block.
  void ahead(const Message& message, std::uint64_t now_ms) {
    const std::uint64_t height = std::holds_alternative<Vote>(message) ? std::get<Vote>(message).height
                                                                       : std::get<ProposalMessage>(message).proposal.height;
    if (height == start_.height + 1 && next_height_.size() < next_height_messages_max) next_height_.push_back(message);
    if (!running_ && !decided_) begin_rounds(now_ms);
  }

  // Records a block and decides what is known of its validity without executing it; asks
  // the application to execute it otherwise (once per block id).
  void consider_block(const ledger::Block& block, const Hash256& id) {
    if (!blocks_.contains(id)) {
      ledger::Block stored = block;
      stored.commit = {};
      blocks_.emplace(id, std::move(stored));
    }
    if (validity_.contains(id) || validation_requested_.contains(id)) return;
    if (broken_ == BrokenRule::skip_validation) {
      validity_[id] = true;
      return;
    }
    if (!structurally_valid(block.header)) {
      validity_[id] = false;
      return;
    }
    validation_requested_.insert(id);
    ledger::Block request = blocks_.at(id);
    out_.push_back(ValidateBlock{std::move(request), id});
  }

  // The checks that need no state: how the header links to the previous block, its time,
  // and the proposer rule.
  bool structurally_valid(const ledger::BlockHeader& header) const {
    const ledger::Tip previous{start_.height - 1, start_.previous_block_id, {}, start_.previous_time_ms};
    if (!ledger::check_block_link(genesis_, previous, header)) return false;
    return ledger::check_block_proposer(start_.schedule, header).ok();
  }

  void report_equivocation(const Vote& first, const Vote& second) {
    const auto key = std::tuple(first.validator, first.round, first.type);
    if (evidence_seen_.contains(key) || evidence_seen_.size() >= evidence_per_height_max) return;
    evidence_seen_.insert(key);
    auto evidence = ledger::make_evidence(genesis_, first, second);
    PC_CHECK(evidence.ok());  // both votes were verified on receipt and differ
    out_.push_back(EvidenceFound{std::move(evidence).value()});
  }

  // ---- the algorithm ----

  void begin_rounds(std::uint64_t now_ms) {
    running_ = true;
    start_round(0, now_ms);
    out_.push_back(ScheduleTimeout{TimeoutKind::rebroadcast, start_.height, 0, now_ms + rebroadcast_interval_ms});
  }

  void start_round(std::uint32_t round, std::uint64_t now_ms) {
    if (round > ledger::round_max) return;  // months of failed rounds: stay in the last one
    round_ = round;
    step_ = Step::propose;
    stats_.rounds_started += 1;
    out_.push_back(ScheduleTimeout{TimeoutKind::propose, start_.height, round, now_ms + timeout_ms(Step::propose, round)});
    if (signer_ == nullptr || proposer_of(round) != self_) return;
    if (valid_ && broken_ != BrokenRule::ignore_lock) {
      propose(*valid_, valid_round_, now_ms);
    } else {
      out_.push_back(BuildProposal{start_.height, round, self_, std::max(now_ms, start_.previous_time_ms + 1)});
    }
  }

  void propose(const Hash256& block_id, std::optional<std::uint32_t> pol_round, std::uint64_t /*now_ms*/) {
    ledger::Proposal proposal{genesis_.chain_id, start_.height, round_, pol_round, block_id, self_, {}};
    flush_log();
    auto signature = signer_->sign_proposal(proposal);
    if (!signature) return;  // the guard refuses: this round's proposal went out before a restart
    proposal.signature = *signature;
    out_.push_back(Broadcast{ProposalMessage{proposal, blocks_.at(block_id)}});
    own_proposal_ = ProposalMessage{proposal, blocks_.at(block_id)};
  }

  void vote(VoteType type, const std::optional<Hash256>& block_id, std::uint64_t /*now_ms*/) {
    step_ = type == VoteType::prevote ? Step::prevote : Step::precommit;
    if (signer_ == nullptr) return;
    Vote message{type, genesis_.chain_id, start_.height, round_, block_id, self_, {}};
    flush_log();
    auto signature = signer_->sign_vote(message);
    if (!signature) return;  // the guard refuses a conflicting vote: stay silent this step
    message.signature = *signature;
    out_.push_back(Broadcast{message});
    (type == VoteType::prevote ? own_prevote_ : own_precommit_) = message;
  }

  std::optional<bool> validity_of(const Hash256& id) const {
    auto found = validity_.find(id);
    if (found == validity_.end()) return std::nullopt;
    return found->second;
  }

  // Applies every rule whose condition holds, until none does.
  void evaluate(std::uint64_t now_ms) {
    if (!running_ && decision_certificates_.empty()) return;
    for (bool changed = true; changed && !decided_;) {
      changed = try_decide(now_ms) || (running_ && (try_skip_round(now_ms) || try_prevote(now_ms) ||
                                                    try_lock(now_ms) || try_adopt_earlier_pol() ||
                                                    try_precommit_nil(now_ms) || try_schedule_timeouts(now_ms)));
    }
  }

  // Lines 22 and 28: prevote on the proposal of this round.
  bool try_prevote(std::uint64_t now_ms) {
    if (step_ != Step::propose) return false;
    auto held = proposals_.find(round_);
    if (held == proposals_.end()) return false;
    const HeldProposal& p = held->second;
    const std::optional<bool> valid = validity_of(p.block_id);
    if (!valid) return false;  // executing; the propose timeout bounds the wait
    const bool ignore_lock = broken_ == BrokenRule::ignore_lock;
    if (!p.proposal.pol_round) {
      const bool lock_allows = ignore_lock || !locked_round_ || *locked_ == p.block_id;
      vote(VoteType::prevote, *valid && p.timely && lock_allows ? std::optional(p.block_id) : std::nullopt, now_ms);
      return true;
    }
    const std::uint32_t pol_round = *p.proposal.pol_round;
    auto pol_votes = votes_.find(pol_round);
    if (pol_votes == votes_.end() ||
        !over_two_thirds(power_for(pol_votes->second.prevotes, std::optional(std::optional(p.block_id))))) {
      return false;  // no POL yet: wait for it or for the timeout
    }
    const bool lock_allows = ignore_lock || !locked_round_ || *locked_round_ <= pol_round || *locked_ == p.block_id;
    vote(VoteType::prevote, *valid && lock_allows ? std::optional(p.block_id) : std::nullopt, now_ms);
    return true;
  }

  // Line 36: a valid proposal of this round with a prevote quorum: lock (once) and keep it as
  // the valid value.
  bool try_lock(std::uint64_t now_ms) {
    if (step_ == Step::propose || rule_36_done_.contains(round_)) return false;
    auto held = proposals_.find(round_);
    if (held == proposals_.end() || validity_of(held->second.block_id) != true) return false;
    const Hash256 id = held->second.block_id;
    auto round_votes = votes_.find(round_);
    if (round_votes == votes_.end() || !over_two_thirds(power_for(round_votes->second.prevotes, std::optional(std::optional(id))))) {
      return false;
    }
    rule_36_done_.insert(round_);
    if (step_ == Step::prevote) {
      locked_ = id;
      locked_round_ = round_;
      vote(VoteType::precommit, id, now_ms);
    }
    valid_ = id;
    valid_round_ = round_;
    return true;
  }

  // Line 36 takes a valid value only from the current round's prevotes. A POL of an earlier
  // round that arrives late (the rebroadcast of a validator that locked on it while others
  // were cut off) becomes the valid value here too, when it is later than the one held, so
  // that the next honest proposer re-proposes the block the locked validators can prevote.
  // Without this, every fresh proposal loses the locked validators' prevotes until one of
  // them is the proposer: up to a whole proposer rotation of ever longer rounds. Safe: what
  // a proposer proposes is never trusted; line 28 accepts a re-proposal only with its POL.
  bool try_adopt_earlier_pol() {
    for (auto it = valid_round_ ? votes_.upper_bound(*valid_round_) : votes_.begin();
         it != votes_.end() && it->first < round_; ++it) {
      std::map<Hash256, std::uint64_t> power_by_block;
      for (const auto& [validator, cast] : it->second.prevotes) {
        for (const Vote& vote : cast) {
          if (vote.block_id) power_by_block[*vote.block_id] += power_of(validator);
        }
      }
      for (const auto& [id, power] : power_by_block) {
        if (!over_two_thirds(power) || validity_of(id) != true) continue;
        valid_ = id;
        valid_round_ = it->first;
        return true;
      }
    }
    return false;
  }

  // Line 44: a nil prevote quorum.
  bool try_precommit_nil(std::uint64_t now_ms) {
    if (step_ != Step::prevote) return false;
    auto round_votes = votes_.find(round_);
    if (round_votes == votes_.end() ||
        !over_two_thirds(power_for(round_votes->second.prevotes, std::optional(std::optional<Hash256>())))) {
      return false;
    }
    vote(VoteType::precommit, std::nullopt, now_ms);
    return true;
  }

  // Lines 34 and 47: any prevote (or precommit) quorum starts the step's timeout, once.
  bool try_schedule_timeouts(std::uint64_t now_ms) {
    auto round_votes = votes_.find(round_);
    if (round_votes == votes_.end()) return false;
    bool changed = false;
    if (step_ == Step::prevote && !prevote_timeout_scheduled_.contains(round_) &&
        over_two_thirds(power_for(round_votes->second.prevotes, std::nullopt))) {
      prevote_timeout_scheduled_.insert(round_);
      out_.push_back(ScheduleTimeout{TimeoutKind::prevote, start_.height, round_, now_ms + timeout_ms(Step::prevote, round_)});
      changed = true;
    }
    if (!precommit_timeout_scheduled_.contains(round_) &&
        over_two_thirds(power_for(round_votes->second.precommits, std::nullopt))) {
      precommit_timeout_scheduled_.insert(round_);
      out_.push_back(
          ScheduleTimeout{TimeoutKind::precommit, start_.height, round_, now_ms + timeout_ms(Step::precommit, round_)});
      changed = true;
    }
    return changed;
  }

  // Line 55: validators holding more than 1/3 of the power are in a later round, so at least
  // one honest validator is: go to the latest such round.
  bool try_skip_round(std::uint64_t now_ms) {
    std::vector<std::pair<std::uint32_t, PartnerId>> by_round;
    for (const auto& [validator, highest] : highest_round_) {
      if (highest > round_) by_round.emplace_back(highest, validator);
    }
    std::sort(by_round.rbegin(), by_round.rend());
    std::uint64_t power = 0;
    for (const auto& [highest, validator] : by_round) {
      power += power_of(validator);
      if (over_one_third(power)) {
        start_round(highest, now_ms);
        return true;
      }
    }
    return false;
  }

  // Line 49: a valid block with a precommit quorum in any round is decided. A decided block
  // received from another validator (its certificate already checked) decides as well.
  bool try_decide(std::uint64_t /*now_ms*/) {
    for (const auto& [round, round_votes] : votes_) {
      std::map<Hash256, std::uint64_t> power_by_block;
      for (const auto& [validator, cast] : round_votes.precommits) {
        for (const Vote& vote : cast) {
          if (vote.block_id) power_by_block[*vote.block_id] += power_of(validator);
        }
      }
      for (const auto& [id, power] : power_by_block) {
        if (!over_two_thirds(power) || validity_of(id) != true) continue;
        ledger::Commit certificate;
        certificate.round = round;
        for (const auto& [validator, cast] : round_votes.precommits) {
          for (const Vote& vote : cast) {
            if (vote.block_id == id) certificate.signatures.push_back({validator, vote.signature});
          }
        }
        decide(id, std::move(certificate));
        return true;
      }
    }
    for (const auto& [id, certificate] : decision_certificates_) {
      if (validity_of(id) == true) {
        decide(id, certificate);
        return true;
      }
    }
    return false;
  }

  // The block moves out of blocks_ instead of being copied: once decided, nothing of this
  // height reads blocks_ again (every input returns early on decided_, and start_height
  // clears it). The certificate is verified here whichever way it came (this engine's counted
  // precommits, or a decision whose certificate handle_decision checked), and handed on as
  // verified for this id, so the store does not verify the same signatures a third time.
  void decide(const Hash256& id, ledger::Commit certificate) {
    auto stored = blocks_.extract(id);
    PC_CHECK(!stored.empty());
    ledger::Block block = std::move(stored.mapped());
    block.commit = std::move(certificate);
    PC_CHECK(ledger::verify_commit(genesis_, start_.height, id, block.commit).ok());
    decided_ = true;
    ledger::VerifiedCertificate verified{id, block.commit};
    out_.push_back(CommitBlock{std::move(block), std::move(verified)});
  }

  // Sends this round's own messages again (the network may have lost them), and the prevotes
  // that justify this validator's valid value: a later proposal re-proposing it is prevoted
  // only by validators that hold that POL, so it must reach all of them eventually.
  void rebroadcast(std::uint64_t now_ms) {
    if (valid_ && valid_round_) {
      auto pol = votes_.find(*valid_round_);
      if (pol != votes_.end()) {
        for (const auto& [validator, cast] : pol->second.prevotes) {
          for (const Vote& prevote : cast) {
            if (prevote.block_id == valid_) out_.push_back(Broadcast{prevote});
          }
        }
      }
    }
    if (own_proposal_ && own_proposal_->proposal.height == start_.height && own_proposal_->proposal.round == round_) {
      out_.push_back(Broadcast{*own_proposal_});
    }
    for (const std::optional<Vote>* own : {&own_prevote_, &own_precommit_}) {
      if (*own && (*own)->height == start_.height && (*own)->round + 1 >= round_) out_.push_back(Broadcast{**own});
    }
    out_.push_back(ScheduleTimeout{TimeoutKind::rebroadcast, start_.height, round_, now_ms + rebroadcast_interval_ms});
  }

  const ledger::Genesis& genesis_;
  const PartnerId self_;
  SignerGuard* const signer_;
  WriteAheadLog& log_;
  const BrokenRule broken_;
  EngineStats stats_;
  Actions out_;
  bool replaying_ = false;
  Bytes unwritten_;  // events noted since the last flush_log(), encoded back to back

  HeightStart start_;
  bool running_ = false;  // rounds have begun at this height
  bool decided_ = false;
  std::uint32_t round_ = 0;
  Step step_ = Step::propose;
  std::optional<Hash256> locked_;
  std::optional<std::uint32_t> locked_round_;
  std::optional<Hash256> valid_;
  std::optional<std::uint32_t> valid_round_;
  std::map<std::uint32_t, HeldProposal> proposals_;            // the round's proposer's first proposal
  std::map<std::uint32_t, RoundVotes> votes_;
  std::map<Hash256, ledger::Block> blocks_;                    // without certificates
  std::map<Hash256, bool> validity_;                           // the application's answers
  std::set<Hash256> validation_requested_;
  std::map<Hash256, ledger::Commit> decision_certificates_;    // from DecisionMessages, checked
  std::set<std::uint32_t> prevote_timeout_scheduled_;
  std::set<std::uint32_t> precommit_timeout_scheduled_;
  std::set<std::uint32_t> rule_36_done_;
  std::map<PartnerId, std::uint32_t> highest_round_;
  std::set<std::tuple<PartnerId, std::uint32_t, VoteType>> evidence_seen_;
  std::map<std::uint32_t, PartnerId> proposers_;
  std::map<PartnerId, std::uint64_t> decision_sent_ms_;
  std::uint64_t height_started_ms_ = 0;  // when start_height() began this height (behind())
  std::vector<Message> next_height_;  // messages of height + 1, unverified, bounded
  std::optional<ProposalMessage> own_proposal_;
  std::optional<Vote> own_prevote_;
  std::optional<Vote> own_precommit_;
};

ledger::Status check_log_record(ByteSpan record) {
  auto decoded = decode_record(record);
  if (!decoded) return decoded.error();
  return {};
}

Engine::Engine(const ledger::Genesis& genesis, ledger::PartnerId self, SignerGuard* signer, WriteAheadLog& log,
               BrokenRule broken_rule)
    : state_(std::make_unique<State>(genesis, self, signer, log, broken_rule)) {}
Engine::~Engine() = default;

Actions Engine::start_height(const HeightStart& start, std::uint64_t now_ms) { return state_->start_height(start, now_ms); }
Actions Engine::on_message(const Message& message, std::uint64_t now_ms) { return state_->on_message(message, now_ms); }
Actions Engine::on_timeout(const ScheduleTimeout& timeout, std::uint64_t now_ms) {
  return state_->on_timeout(timeout, now_ms);
}
Actions Engine::on_block_built(const ledger::Block& block, std::uint64_t now_ms) {
  return state_->on_block_built(block, now_ms);
}
Actions Engine::on_block_validated(const crypto::Hash256& block_id, bool valid, std::uint64_t now_ms) {
  return state_->on_block_validated(block_id, valid, now_ms);
}
Actions Engine::on_work_available(std::uint64_t now_ms) { return state_->on_work_available(now_ms); }
std::uint64_t Engine::height() const { return state_->height(); }
std::uint32_t Engine::round() const { return state_->round(); }
Step Engine::step() const { return state_->step(); }
bool Engine::decided() const { return state_->decided(); }
const EngineStats& Engine::stats() const { return state_->stats(); }
RoundVotesView Engine::votes_in_round(std::uint32_t round) const { return state_->votes_in_round(round); }

}  // namespace pc::consensus
