// pointchain-bench-consensus: the consensus simulator with no faults at 4 and 7 validators.
// Every validator runs on this one thread, so a rate here is the whole coalition's work on
// one core: blocks and transactions decided per wall-clock second, each also as a ratio to
// the one-core raw verify rate measured in the same run. Per block: messages sent and
// consensus signatures verified (summed over validators). Latency is simulated time from a
// client's submission to the first honest commit.
#include <cstdio>
#include <string>

#include "bench/baseline.hpp"
#include "node/consensus/sim/simulator.hpp"

namespace {

using namespace pc;

struct Measured {
  consensus::sim::Result result;
  double wall_seconds = 0;
};

Measured run_once(std::size_t validators, std::uint64_t seed, std::uint64_t run_ms, std::uint64_t tx_interval_ms) {
  consensus::sim::Options options;
  options.seed = seed;
  options.validators = validators;
  options.fault_ms = 0;
  options.submit_ms = run_ms / 2;  // the rest drains: every transaction must commit
  options.run_ms = run_ms;
  options.tx_interval_ms = tx_interval_ms;
  const auto start = bench::SteadyClock::now();
  Measured measured{consensus::sim::run(options), 0};
  measured.wall_seconds = bench::seconds_between(start, bench::SteadyClock::now());
  if (!measured.result.ok()) throw std::runtime_error("simulation failed: " + measured.result.violations.front());
  return measured;
}

}  // namespace

int main(int argc, char** argv) {
  crypto::initialize();
  std::uint64_t run_ms = 60'000;
  std::uint64_t tx_interval_ms = 10;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      run_ms = 15'000;
    } else if (arg == "--run-ms" && i + 1 < argc) {
      run_ms = std::stoull(argv[++i]);
    } else if (arg == "--tx-interval-ms" && i + 1 < argc) {
      tx_interval_ms = std::stoull(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: pointchain-bench-consensus [--quick] [--run-ms MS] [--tx-interval-ms MS]\n");
      return 2;
    }
  }
  std::printf("pointchain-bench-consensus (%s build): simulated %llu ms per run, a transaction every %llu ms\n",
              POINTCHAIN_BUILD_TYPE, static_cast<unsigned long long>(run_ms),
              static_cast<unsigned long long>(tx_interval_ms));
  const auto messages = bench::make_signed_messages();
  const double verify_before = bench::raw_verify_rate(messages, 1.0);
  std::vector<Measured> runs;
  for (std::size_t validators : {std::size_t{4}, std::size_t{7}}) runs.push_back(run_once(validators, 1, run_ms, tx_interval_ms));
  const double verify_after = bench::raw_verify_rate(messages, 1.0);
  const double verify = std::max(verify_before, verify_after);

  std::vector<bench::Row> rows;
  rows.push_back({"raw verify, 1 core (baseline)", verify, 0, "verifies/s", 1.0, "", std::nullopt});
  const std::size_t counts[] = {4, 7};
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto& r = runs[i].result;
    const std::string label = std::to_string(counts[i]) + " validators: ";
    const double blocks = static_cast<double>(r.heights);
    const double blocks_per_second = blocks / runs[i].wall_seconds;
    const double tx_per_second = static_cast<double>(r.transactions) / runs[i].wall_seconds;
    rows.push_back({label + "blocks decided", blocks_per_second, 1, "blocks/s", blocks_per_second / verify, "", std::nullopt});
    rows.push_back({label + "transactions", tx_per_second, 0, "tx/s", tx_per_second / verify, "", std::nullopt});
    rows.push_back({label + "messages per block", static_cast<double>(r.messages) / blocks, 1, "messages", std::nullopt, "", std::nullopt});
    rows.push_back({label + "signature checks per block", static_cast<double>(r.signature_checks) / blocks, 1, "verifies",
                    std::nullopt, "", std::nullopt});
    rows.push_back({label + "submit to commit (sim)", static_cast<double>(r.latency_ms_total) / static_cast<double>(r.transactions),
                    0, "ms simulated", std::nullopt, "", std::nullopt});
    rows.push_back({label + "rounds per height", static_cast<double>(r.rounds) / blocks / static_cast<double>(counts[i]), 2,
                    "rounds", std::nullopt, "", std::nullopt});
  }
  bench::print_table(rows);
  std::printf("\nbaseline samples: %.0f and %.0f verifies/s; heights %llu and %llu, transactions %llu and %llu\n",
              verify_before, verify_after, static_cast<unsigned long long>(runs[0].result.heights),
              static_cast<unsigned long long>(runs[1].result.heights),
              static_cast<unsigned long long>(runs[0].result.transactions),
              static_cast<unsigned long long>(runs[1].result.transactions));
  return 0;
}
