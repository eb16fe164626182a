// The deterministic consensus simulator: N validators, each the real consensus Engine plus
// the real ledger executor and an in-memory ledger State (committed blocks are kept in
// memory, standing in for the synced store), on a simulated network and clock. Every random
// choice comes from one seed, so a seed replays exactly. docs/consensus.md, "Simulator".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "node/consensus/consensus.hpp"

namespace pc::consensus::sim {

enum class Byzantine : std::uint8_t {
  none,
  equivocate,      // conflicting proposals and votes to different halves of the network
  invalid_blocks,  // proposes blocks whose state hash is wrong
  garbage_votes,   // votes for block ids that do not exist instead of its real votes
  silent,          // sends nothing
  flood,           // sends everything many times, plus votes with bad signatures
  // Splits its first precommit for a block at a height: the block to one honest validator
  // (the favoured), nil to everyone else; and the network, which the adversary controls
  // during the fault window, holds the favoured validator's outgoing messages for a few
  // seconds. The favoured one can decide while the others time out without knowing: the
  // attack Tendermint's locks exist for (docs/consensus.md, "Simulator").
  split_precommit,
};
std::string_view byzantine_name(Byzantine behaviour);

struct Faults {
  std::uint32_t loss_percent = 0;       // each message is lost with this chance (at most 30)
  std::uint64_t latency_ms_max = 20;    // latency is uniform in [1, latency_ms_max], so messages reorder
  bool latency_tail = false;            // one message in 20 takes up to 10 x latency_ms_max
  bool duplication = false;             // one message in 10 is delivered twice
  bool partitions = false;              // the network splits in two and heals, repeatedly
  bool crashes = false;                 // honest validators crash and restart with what they persisted
  bool clock_drift = false;             // each validator's clock is off by up to +-drift_ms_max
  Byzantine byzantine = Byzantine::none;
};

// Clock offsets stay within this, well inside the block time drift bound.
inline constexpr std::uint64_t drift_ms_max = 400;
// How long the network holds the favoured validator's messages under split_precommit.
inline constexpr std::uint64_t split_hold_ms_min = 3'000;
inline constexpr std::uint64_t split_hold_ms_max = 8'000;

struct Options {
  std::uint64_t seed = 1;
  std::size_t validators = 4;
  std::size_t byzantine_count = 0;  // the highest ids are Byzantine; their power stays below 1/3
  Faults faults;
  std::uint64_t fault_ms = 8'000;    // faults happen during [0, fault_ms); then all heal
  std::uint64_t submit_ms = 10'000;  // clients submit new transactions until then
  std::uint64_t run_ms = 40'000;     // the run ends then
  std::uint64_t tx_interval_ms = 150;
  // After the heal, every honest validator commits a new block within this (simulated), or
  // within what the protocol guarantees from the round at the heal if that is longer
  // (docs/consensus.md, "The liveness bound"); the run goes on until the check.
  std::uint64_t liveness_bound_ms = 30'000;
  BrokenRule broken_rule = BrokenRule::none;
};

struct Result {
  std::uint64_t seed = 0;
  std::uint64_t heights = 0;          // committed by every honest validator
  std::uint64_t rounds = 0;           // rounds started, summed over honest validators
  std::uint64_t messages = 0;         // messages sent on the network
  std::uint64_t signature_checks = 0; // consensus signatures verified by honest engines
  std::uint64_t transactions = 0;     // committed
  std::uint64_t faults = 0;           // lost, duplicated, cut and held messages, partitions, crashes
  std::uint64_t evidence = 0;         // evidence reports by honest validators
  std::uint64_t latency_ms_total = 0; // submission to commit (first honest commit), summed
  std::uint32_t heal_round = 0;       // the highest round of an honest validator at the heal
  std::uint64_t recovery_ms = 0;      // heal to a new block at every honest validator (0: none)
  std::uint64_t liveness_deadline_ms = 0;  // the one the check used
  std::vector<std::string> violations;

  bool ok() const { return violations.empty(); }
};

// Runs one seed and checks, after every step: safety (no two honest validators commit
// different blocks at a height; a committed block never changes; equal state hashes per
// height), validity (each committed block passes the audit's checks, certificate and
// proposer included), no honest double-sign across restarts; and at the end: liveness after
// the heal, and every submitted transaction committed exactly once.
Result run(const Options& options);

// Options for a seed of the mixed fault class: one Byzantine validator (two of seven) with a
// behaviour chosen from the seed (split_precommit included), loss up to 30 %, latency tails, duplication, partitions,
// crashes and clock drift, each on or off by the seed.
Options mixed_options(std::uint64_t seed, std::size_t validators);

// The one command line that reproduces a run: pointchain-sim --seed ... (all options).
std::string reproduce_line(const Options& options);

}  // namespace pc::consensus::sim
