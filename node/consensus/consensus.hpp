// Tendermint consensus (Buchman, Kwon, Milosevic, "The latest gossip on BFT consensus",
// arXiv 1807.04938, Algorithm 1) as a pure state machine: events in, actions out, with the
// time passed in. No sockets, threads, clock or storage inside: the node and the simulator
// (node/consensus/sim/) drive the same Engine. docs/consensus.md describes the protocol.
//
// Contract for the driver (the node, or the simulator):
// - Call start_height() for each height, once the previous block is durably committed.
// - Give it a WriteAheadLog whose append() is durable when it returns. The engine notes each
//   event it acts on and appends those noted so far as one record just before it signs
//   anything, so that what a signed message depends on survives a crash (docs/consensus.md).
// - Feed every event: messages from peers (and the engine's own broadcasts back to itself:
//   a validator counts its own votes by receiving them), timeouts when they fall due,
//   answers to BuildProposal and ValidateBlock, and "work available" when transactions or a
//   due expiry appear.
// - Carry out every returned action, in order. Timeouts may fire late, never early; a stale
//   timeout is ignored. A message may be delivered late, twice or never.
// - Answer each ValidateBlock with on_block_validated(), after executing the block against
//   the state of the previous height; keep the execution result by block id until the
//   height is decided, so that CommitBlock costs a write, not a second execution.
// - On CommitBlock: write the block with its certificate durably, then start_height(h + 1).
// Not thread-safe: one thread (the node's single writer) calls it.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <variant>
#include <vector>

#include "ledger/block.hpp"
#include "ledger/limits.hpp"
#include "ledger/proposer.hpp"
#include "node/consensus/signer.hpp"
#include "node/consensus/wal.hpp"

namespace pc::consensus {

// Timeouts: step_timeout_ms + round x timeout_increase_per_round_ms, at most
// step_timeout_ms_max. They grow so that, once messages arrive within some unknown bound,
// a round lasts long enough for them; the cap keeps a validator that fell far behind in
// rounds from waiting for ever.
inline constexpr std::uint64_t propose_timeout_ms = 1'000;
inline constexpr std::uint64_t prevote_timeout_ms = 500;
inline constexpr std::uint64_t precommit_timeout_ms = 500;
inline constexpr std::uint64_t timeout_increase_per_round_ms = 500;
inline constexpr std::uint64_t step_timeout_ms_max = 30'000;
// How often a validator sends its current round's proposal and votes again, so that lost
// messages are made good (the network below is allowed to drop them).
inline constexpr std::uint64_t rebroadcast_interval_ms = 1'000;
// A fresh proposal's block time may be at most this far ahead of the validator's own clock;
// an honest validator prevotes nil otherwise (docs/consensus.md, "Block time").
inline constexpr std::uint64_t block_time_drift_ms_max = 2'000;
// Votes and proposals for rounds further ahead than this are not kept (they still count as
// a sign of the sender's round for skipping ahead).
inline constexpr std::uint32_t future_rounds_kept_max = 8;
// Evidence reported at one height; more is dropped (one Byzantine validator can sign a
// conflicting pair for every round).
inline constexpr std::size_t evidence_per_height_max = 64;

// One write-ahead log record: the events noted since the last one, at least one, at most
// this many bytes; the largest event is a proposal with its block.
inline constexpr std::size_t log_record_bytes_max = ledger::block_bytes_max + 64 * 1024;

std::uint64_t timeout_ms(Step step, std::uint32_t round);

// A proposal travels with its block (which carries no certificate yet).
struct ProposalMessage {
  ledger::Proposal proposal;
  ledger::Block block;
};
// A decided block with its certificate: sent to a validator still working on that height,
// which adopts it after checking the certificate (a minimal catch-up until sync exists).
struct DecisionMessage {
  ledger::Block block;
};
using Message = std::variant<ProposalMessage, ledger::Vote, DecisionMessage>;

enum class TimeoutKind : std::uint8_t { propose = 1, prevote = 2, precommit = 3, rebroadcast = 4 };

// Actions.
struct Broadcast {  // to every validator, this one included
  Message message;
};
struct SendDecision {  // send `to` the committed block at `height` as a DecisionMessage
  ledger::PartnerId to = 0;
  std::uint64_t height = 0;
};
struct ScheduleTimeout {
  TimeoutKind kind = TimeoutKind::propose;
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  std::uint64_t at_ms = 0;
};
// Build a block on the previous height's state from pending transactions (possibly none),
// with header.height, .round, .proposer and .time_ms as given, and answer on_block_built().
struct BuildProposal {
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  ledger::PartnerId proposer = 0;
  std::uint64_t time_ms = 0;
};
// Execute the block on the previous height's state (signatures, every transaction, state
// hash) and answer on_block_validated(). Asked at most once per block id and height.
struct ValidateBlock {
  ledger::Block block;
  crypto::Hash256 block_id{};
};
// The height is decided: write `block` (certificate included) and start the next height.
// `certificate` is block.commit over block.header.hash() as the engine verified it
// (verify_commit) when it decided, so that the store need not verify those signatures again
// (ledger::ChainStore::write_executed checks that it is exactly the block's).
struct CommitBlock {
  ledger::Block block;
  ledger::VerifiedCertificate certificate;
};
struct EvidenceFound {
  ledger::Evidence evidence;
};
using Action = std::variant<Broadcast, SendDecision, ScheduleTimeout, BuildProposal, ValidateBlock, CommitBlock,
                            EvidenceFound>;
using Actions = std::vector<Action>;

// What a height starts from.
struct HeightStart {
  std::uint64_t height = 1;
  crypto::Hash256 previous_block_id{};  // the genesis hash for height 1
  std::uint64_t previous_time_ms = 0;   // the genesis time for height 1
  ledger::ProposerSchedule schedule;    // of `height`
  // Transactions are waiting or an expiry is due: start round 0 now. Otherwise the height
  // waits for on_work_available() or for another validator's message of this height.
  bool work_available = false;
};

// Test-only: break one rule to show the simulator's checkers catch it. Never set in a node.
// ignore_lock: prevote for any valid proposal whatever the lock, and propose a fresh block
// instead of the valid value (the two halves of Tendermint's locking).
// skip_validation: take every proposed block as valid without executing it.
enum class BrokenRule : std::uint8_t { none, ignore_lock, skip_validation };

// The votes the engine holds for one round of its height, as it counts them: one entry per
// validator and block it voted for (an equivocating validator appears once per block), each
// signature checked. For operators (the node's consensus_state); the engine never reads it.
struct RoundVotesView {
  std::vector<ledger::Vote> prevotes;
  std::vector<ledger::Vote> precommits;
};

struct EngineStats {
  std::uint64_t signatures_verified = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t rounds_started = 0;
};

// Whether `record` is a write-ahead log record this build's engine can replay: success, or
// corruption saying what does not decode. A log with a valid checksum can still hold one (a
// record written by another build, or bytes damaged before they were checksummed), so a
// log's records() must return only records this accepts: the node's file log checks every
// record when it opens, and the replay in start_height() relies on it.
ledger::Status check_log_record(ByteSpan record);

class Engine {
 public:
  // `self` is this node's partner id; `signer` is null for a node that only follows (it
  // never votes). `signer` and `log` must outlive the engine.
  Engine(const ledger::Genesis& genesis, ledger::PartnerId self, SignerGuard* signer, WriteAheadLog& log,
         BrokenRule broken_rule = BrokenRule::none);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Starts a height. If the log holds records of this height (a restart in the middle of
  // it), they are replayed first, so the engine resumes where it stopped; the actions of the
  // replay are returned too (re-sent messages, timeouts, validations the node must redo).
  Actions start_height(const HeightStart& start, std::uint64_t now_ms);

  Actions on_message(const Message& message, std::uint64_t now_ms);
  Actions on_timeout(const ScheduleTimeout& timeout, std::uint64_t now_ms);
  // The answer to BuildProposal; `block` has no certificate.
  Actions on_block_built(const ledger::Block& block, std::uint64_t now_ms);
  // The answer to ValidateBlock.
  Actions on_block_validated(const crypto::Hash256& block_id, bool valid, std::uint64_t now_ms);
  Actions on_work_available(std::uint64_t now_ms);

  std::uint64_t height() const;
  std::uint32_t round() const;
  Step step() const;
  bool decided() const;  // this height is decided; waiting for start_height(h + 1)
  const EngineStats& stats() const;
  // What it holds for `round` of its height, by validator; empty for a round it has no votes of.
  RoundVotesView votes_in_round(std::uint32_t round) const;

 private:
  class State;
  std::unique_ptr<State> state_;
};

}  // namespace pc::consensus
