// The consensus simulator over many seeds and fault classes, and proof that its checkers
// fail when a rule is broken. PC_SIM_SEEDS sets the seeds per class (the sanitizer build
// runs fewer); the default keeps this file near a minute on two cores.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include "node/consensus/sim/simulator.hpp"

namespace {

using namespace pc::consensus;

sim::Options seeded(std::uint64_t seed, std::size_t validators = 4, std::size_t byzantine = 0) {
  sim::Options options;
  options.seed = seed;
  options.validators = validators;
  options.byzantine_count = byzantine;
  return options;
}

std::uint64_t seeds_per_class(std::uint64_t normal) {
  if (const char* text = std::getenv("PC_SIM_SEEDS")) return std::max<std::uint64_t>(1, std::stoull(text));
  return normal;
}

// A shorter run than pointchain-sim's default, so CI can afford hundreds of seeds.
sim::Options short_run(sim::Options options) {
  options.fault_ms = 5'000;
  options.submit_ms = 6'000;
  options.run_ms = 25'000;
  options.liveness_bound_ms = 18'000;
  return options;
}

void run_seeds(const std::function<sim::Options(std::uint64_t)>& options_for, std::uint64_t first, std::uint64_t count) {
  for (std::uint64_t seed = first; seed < first + count; ++seed) {
    const sim::Options options = short_run(options_for(seed));
    const sim::Result result = sim::run(options);
    INFO(sim::reproduce_line(options));
    INFO((result.violations.empty() ? std::string() : result.violations.front()));
    REQUIRE(result.ok());
    REQUIRE(result.heights > 0);
  }
}

}  // namespace

TEST_CASE("simulator: no faults, 4 and 7 validators, every check passes", "[consensus][sim]") {
  // Proves the happy path: blocks commit, every transaction commits once, all checks hold.
  run_seeds([](std::uint64_t seed) { return seeded(seed); }, 1, seeds_per_class(5));
  run_seeds([](std::uint64_t seed) { return seeded(seed, 7); }, 1, seeds_per_class(2));
}

TEST_CASE("simulator: each Byzantine behaviour with loss, partitions, crashes and drift", "[consensus][sim]") {
  // Proves safety, validity, no honest double-sign, liveness after the heal and exactly-once
  // commits against each Byzantine behaviour among 4 validators, under every network fault.
  for (int behaviour = 1; behaviour <= static_cast<int>(sim::Byzantine::split_precommit); ++behaviour) {
    run_seeds(
        [behaviour](std::uint64_t seed) {
          sim::Options options = seeded(seed, 4, 1);
          options.faults.loss_percent = 20;
          options.faults.latency_ms_max = 40;
          options.faults.latency_tail = true;
          options.faults.duplication = true;
          options.faults.partitions = true;
          options.faults.crashes = true;
          options.faults.clock_drift = true;
          options.faults.byzantine = static_cast<sim::Byzantine>(behaviour);
          return options;
        },
        100 * static_cast<std::uint64_t>(behaviour), seeds_per_class(20));
  }
}

TEST_CASE("simulator: mixed fault seeds at 4 and 7 validators", "[consensus][sim]") {
  // Proves the checks over seeds whose faults and Byzantine behaviour come from the seed,
  // two Byzantine validators of seven included.
  run_seeds([](std::uint64_t seed) { return sim::mixed_options(seed, 4); }, 1'000, seeds_per_class(150));
  run_seeds([](std::uint64_t seed) { return sim::mixed_options(seed, 7); }, 2'000, seeds_per_class(10));
}

TEST_CASE("simulator: a validation made stale by a commit in the same batch of actions is dropped",
          "[consensus][sim]") {
  // Proves the simulator's driver drops a ValidateBlock whose height a CommitBlock earlier in
  // the same batch already moved past (as the node's driver does): seed 352 of the mixed
  // 4-validator draws, full length, aborted in the ledger's executor before (a block of
  // height 20 executed on the state of height 20).
  const sim::Options options = sim::mixed_options(352, 4);
  const sim::Result result = sim::run(options);
  INFO(sim::reproduce_line(options));
  CHECK(result.ok());
  CHECK(result.heights > 0);
}

TEST_CASE("simulator: a lock taken behind a partition does not stall the height after the heal",
          "[consensus][sim]") {
  // Proves the late-POL rule on the schedule that found it (seed 2552 of the 7-validator mixed
  // draws, 2 Byzantine sending garbage votes, full length): validators 2 and 3 lock a block in
  // round 0 of height 10 while 1, 4 and 5 leave the round without the prevote quorum; with the
  // garbage voters' power missing, every fresh block needs all five honest prevotes. Before
  // the rule the proposers of rounds 2 to 7 proposed fresh blocks, the two locked validators
  // prevoted nil, and the height waited for validator 2's turn in round 8, 34.6 s after the
  // heal: the liveness check failed. With it, round 2's proposer re-proposes the locked block.
  sim::Options options;
  options.seed = 2552;
  options.validators = 7;
  options.byzantine_count = 2;
  options.faults.byzantine = sim::Byzantine::garbage_votes;
  options.faults.loss_percent = 1;
  options.faults.latency_ms_max = 73;
  options.faults.duplication = true;
  options.faults.partitions = true;
  options.faults.clock_drift = true;
  const sim::Result result = sim::run(options);
  INFO(sim::reproduce_line(options));
  INFO((result.violations.empty() ? std::string() : result.violations.front()));
  CHECK(result.ok());
  CHECK(result.recovery_ms > 0);
}

TEST_CASE("simulator: a broken rule is caught within 5 seeds", "[consensus][sim][broken]") {
  // Proves the checkers can fail: honest validators that take proposals as valid without
  // executing them commit a Byzantine proposer's invalid block, and the validity check says
  // so within the first 5 seeds (in practice the first).
  std::uint64_t caught_at = 0;
  for (std::uint64_t seed = 1; seed <= 5 && caught_at == 0; ++seed) {
    sim::Options options = seeded(seed, 4, 1);
    options.broken_rule = BrokenRule::skip_validation;
    options.faults.byzantine = sim::Byzantine::invalid_blocks;
    if (!sim::run(short_run(options)).ok()) caught_at = seed;
  }
  CHECK(caught_at != 0);
}

TEST_CASE("simulator: ignoring the lock is caught within 3 seeds, the same seeds pass without the break",
          "[consensus][sim][broken]") {
  // Proves the safety checker can fail: a Byzantine validator splits its precommit (the block
  // to one honest validator, nil to the rest) while the network holds that validator's
  // messages, so it decides alone; honest validators that ignore their lock then decide
  // another block in a later round, and the simulator reports two different commits at one
  // height within the first 3 seeds (in practice the first). The same seeds with the real
  // engine, whose lock refuses the second block, pass every check.
  constexpr std::uint64_t seeds_to_find = 3;
  const auto options_for = [](std::uint64_t seed, BrokenRule broken_rule) {
    sim::Options options = short_run(seeded(seed, 4, 1));
    options.faults.byzantine = sim::Byzantine::split_precommit;
    options.broken_rule = broken_rule;
    return options;
  };
  std::uint64_t caught_at = 0;
  std::string violation;
  for (std::uint64_t seed = 1; seed <= seeds_to_find && caught_at == 0; ++seed) {
    const sim::Result result = sim::run(options_for(seed, BrokenRule::ignore_lock));
    if (!result.ok()) {
      caught_at = seed;
      violation = result.violations.front();
    }
  }
  INFO(violation);
  REQUIRE(caught_at != 0);
  CHECK(violation.find("safety") != std::string::npos);
  run_seeds([&](std::uint64_t seed) { return options_for(seed, BrokenRule::none); }, 1, seeds_to_find);
}
