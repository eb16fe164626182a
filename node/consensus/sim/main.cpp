// pointchain-sim: runs the consensus simulator over one seed or a range of seeds and prints
// a summary; a failing seed prints the one line that reproduces it. Exit status 1 if any
// seed found a violation.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "crypto/keys.hpp"
#include "node/consensus/sim/simulator.hpp"

namespace {

using namespace pc::consensus;

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: pointchain-sim [--seed N] [--seeds COUNT] [--validators N] [--mixed]\n"
               "                      [--byzantine N] [--behaviour none|equivocate|invalid-blocks|garbage-votes|silent|flood|split-precommit]\n"
               "                      [--loss PERCENT] [--latency MS] [--tail] [--duplicate] [--partitions]\n"
               "                      [--crashes] [--drift] [--fault-ms MS] [--submit-ms MS] [--run-ms MS]\n"
               "                      [--tx-interval-ms MS] [--liveness-bound-ms MS]\n"
               "                      [--break-ignore-lock | --break-skip-validation]\n"
               "  --mixed: each seed draws its faults and one Byzantine behaviour from the seed\n");
  std::exit(2);
}

sim::Byzantine behaviour_from(const std::string& name) {
  for (int b = 0; b <= static_cast<int>(sim::Byzantine::split_precommit); ++b) {
    if (sim::byzantine_name(static_cast<sim::Byzantine>(b)) == name) return static_cast<sim::Byzantine>(b);
  }
  usage();
}

}  // namespace

int main(int argc, char** argv) {
  pc::crypto::initialize();
  sim::Options base;
  std::uint64_t seeds = 1;
  bool mixed = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto number = [&]() -> std::uint64_t {
      if (i + 1 >= argc) usage();
      return std::stoull(argv[++i]);
    };
    if (arg == "--seed") base.seed = number();
    else if (arg == "--seeds") seeds = number();
    else if (arg == "--validators") base.validators = number();
    else if (arg == "--byzantine") base.byzantine_count = number();
    else if (arg == "--behaviour") { if (i + 1 >= argc) usage(); base.faults.byzantine = behaviour_from(argv[++i]); }
    else if (arg == "--loss") base.faults.loss_percent = static_cast<std::uint32_t>(number());
    else if (arg == "--latency") base.faults.latency_ms_max = number();
    else if (arg == "--tail") base.faults.latency_tail = true;
    else if (arg == "--duplicate") base.faults.duplication = true;
    else if (arg == "--partitions") base.faults.partitions = true;
    else if (arg == "--crashes") base.faults.crashes = true;
    else if (arg == "--drift") base.faults.clock_drift = true;
    else if (arg == "--fault-ms") base.fault_ms = number();
    else if (arg == "--submit-ms") base.submit_ms = number();
    else if (arg == "--run-ms") base.run_ms = number();
    else if (arg == "--tx-interval-ms") base.tx_interval_ms = number();
    else if (arg == "--liveness-bound-ms") base.liveness_bound_ms = number();
    else if (arg == "--break-ignore-lock") base.broken_rule = BrokenRule::ignore_lock;
    else if (arg == "--break-skip-validation") base.broken_rule = BrokenRule::skip_validation;
    else if (arg == "--mixed") mixed = true;
    else usage();
  }
  if (base.faults.loss_percent > 30 || base.validators < 1 || base.validators > 64 ||
      3 * base.byzantine_count >= base.validators) {
    usage();
  }

  const auto started = std::chrono::steady_clock::now();
  sim::Result total;
  sim::Result slowest_recovery;  // the seed whose validators took longest to commit after the heal
  std::uint64_t failed = 0;
  for (std::uint64_t s = 0; s < seeds; ++s) {
    sim::Options options = base;
    options.seed = base.seed + s;
    if (mixed) {
      sim::Options drawn = sim::mixed_options(options.seed, base.validators);
      drawn.broken_rule = base.broken_rule;
      drawn.fault_ms = base.fault_ms;
      drawn.submit_ms = base.submit_ms;
      drawn.run_ms = base.run_ms;
      drawn.liveness_bound_ms = base.liveness_bound_ms;
      options = drawn;
    }
    const sim::Result result = sim::run(options);
    total.heights += result.heights;
    total.rounds += result.rounds;
    total.messages += result.messages;
    total.signature_checks += result.signature_checks;
    total.transactions += result.transactions;
    total.faults += result.faults;
    total.evidence += result.evidence;
    if (result.recovery_ms > slowest_recovery.recovery_ms) slowest_recovery = result;
    if (!result.ok()) {
      failed += 1;
      std::printf("FAIL %s\n  %s\n", sim::reproduce_line(options).c_str(), result.violations.front().c_str());
    }
  }
  const auto elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  std::printf("seeds %llu (from %llu), validators %zu%s: heights %llu, rounds %llu, messages %llu, "
              "signature checks %llu, transactions %llu, faults injected %llu, evidence %llu, violations %llu, "
              "wall time %lld ms\n",
              static_cast<unsigned long long>(seeds), static_cast<unsigned long long>(base.seed), base.validators,
              mixed ? " (mixed faults)" : "", static_cast<unsigned long long>(total.heights),
              static_cast<unsigned long long>(total.rounds), static_cast<unsigned long long>(total.messages),
              static_cast<unsigned long long>(total.signature_checks), static_cast<unsigned long long>(total.transactions),
              static_cast<unsigned long long>(total.faults), static_cast<unsigned long long>(total.evidence),
              static_cast<unsigned long long>(failed), static_cast<long long>(elapsed_ms));
  std::printf("slowest recovery after the heal: %llu ms (seed %llu, highest honest round at the heal %u, "
              "liveness deadline %llu ms)\n",
              static_cast<unsigned long long>(slowest_recovery.recovery_ms),
              static_cast<unsigned long long>(slowest_recovery.seed), slowest_recovery.heal_round,
              static_cast<unsigned long long>(slowest_recovery.liveness_deadline_ms));
  return failed == 0 ? 0 : 1;
}
