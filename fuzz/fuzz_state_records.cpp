// State::from_records on arbitrary records, as a store whose bytes were damaged would hand
// them over. Layout: a policy byte (fuzz_support.hpp), then framed (key, value) records.
// Properties:
//  - the result is a corruption error, or a state whose records() equal the input records;
//  - a state that loads is fit to run on: an empty block on top of it executes, passes the
//    supply check in BlockExecutor::finish, commits, and leaves check_invariants() passing.
// The tip values are make-believe; bits 5-6 of the policy byte pick how far past genesis, and
// bit 7 a chain of protocol version 4 (whose records include the catalog's, the stamp cards' and
// the badges').
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.hpp"

namespace {

constexpr std::uint64_t tip_height = 1'000;
constexpr std::uint64_t tip_offsets_ms[] = {pc::ledger::ms_per_day, 100 * pc::ledger::ms_per_day,
                                            1'000 * pc::ledger::ms_per_day,
                                            10'000 * pc::ledger::ms_per_day};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace ledger = pc::ledger;
  pc::fuzz::initialize_once();
  pc::fuzz::ByteCursor in(data, size);
  const std::uint8_t policy_byte = in.u8();
  const std::uint64_t tip_time_ms = pc::fuzz::genesis_time_ms + tip_offsets_ms[(policy_byte >> 5) & 3];
  const std::vector<ledger::Record> records = pc::fuzz::split_records(in);

  ledger::Hash256 tip_state_hash{};
  tip_state_hash.fill(0x5a);
  auto loaded = ledger::State::from_records(
      pc::fuzz::small_genesis(pc::fuzz::policy_from_byte(policy_byte), pc::fuzz::protocol_from_byte(policy_byte)),
      tip_height, tip_time_ms, tip_state_hash, records);
  if (!loaded) {
    FUZZ_CHECK(loaded.error().code == ledger::Code::corruption ||
               loaded.error().code == ledger::Code::invariant_violated);
    return 0;
  }
  ledger::State& state = *loaded;
  FUZZ_CHECK(state.records() == records);
  FUZZ_CHECK(state.height() == tip_height && state.time_ms() == tip_time_ms);
  FUZZ_CHECK(state.state_hash() == tip_state_hash);

  // Long enough past the tip that the longest expiry period (30 days) passes.
  ledger::BlockExecutor executor(state, {tip_height + 1, tip_time_ms + 31 * ledger::ms_per_day});
  state.apply(std::move(executor).finish());
  const ledger::Status invariants = state.check_invariants();
  if (!invariants) std::fprintf(stderr, "%s\n", invariants.error().message().c_str());
  FUZZ_CHECK(invariants.ok());
  return 0;
}
