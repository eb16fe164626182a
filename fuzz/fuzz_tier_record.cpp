// The account record decoder, whose version 2 carries the tier state, and the tier arithmetic
// of protocol version 4 (ledger/tiers.hpp). Layout: a program byte (bits 0-1 pick the window,
// bits 2-3 the grace period, bits 4-5 how many of three tiers), two 8-byte times (offsets
// after the genesis time), then an account record's value. Properties:
//  - the value is refused as corruption, or decodes to a record that re-encodes to it;
//  - for a version 2 record whose tier state could be stored (tiers within the program, its
//    window at or before the first time t1's), with t1 <= t2:
//    settling at t1 then t2 equals settling at t2 (so a node that settles in every block and
//    one that settles once agree); the tier never rises with time alone; next_tier_change_ms
//    is exactly the first moment the tier drops (the tier just before it is the one at t1);
//    and the tier at t1 holds at least until describe_tier's held_until_ms.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.hpp"
#include "ledger/state.hpp"
#include "ledger/tiers.hpp"

namespace {

pc::ledger::TierProgram program_from_byte(std::uint8_t byte) {
  static constexpr std::uint16_t windows[] = {1, 7, 30, 365};
  static constexpr std::uint16_t graces[] = {0, 1, 6, 29};
  pc::ledger::TierProgram program;
  program.window_days = windows[byte & 3];
  program.grace_days = std::min<std::uint16_t>(graces[(byte >> 2) & 3], static_cast<std::uint16_t>(program.window_days - 1));
  const pc::ledger::Tier all[] = {{"Silver", 10, 12'500}, {"Gold", 1'000, 15'000}, {"Platinum", 100'000, 20'000}};
  const std::size_t count = 1 + ((byte >> 4) & 3) % 3;
  program.tiers.assign(all, all + count);
  return program;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace ledger = pc::ledger;
  pc::fuzz::initialize_once();
  pc::fuzz::ByteCursor in(data, size);
  const ledger::TierProgram program = program_from_byte(in.u8());
  FUZZ_CHECK(ledger::validate_tier_program(program).empty());
  const std::uint64_t genesis = pc::fuzz::genesis_time_ms;
  // Offsets of up to about 12 years keep every sum far from overflow, as block_time_ms_max does.
  const std::uint64_t offset_max_ms = 4'400 * ledger::ms_per_day;
  std::uint64_t t1 = genesis + in.little_endian(8) % offset_max_ms;
  std::uint64_t t2 = genesis + in.little_endian(8) % offset_max_ms;
  if (t2 < t1) std::swap(t1, t2);
  const pc::Bytes value = in.take(in.remaining());

  auto decoded = ledger::record::decode_account_value(value);
  if (!decoded) {
    FUZZ_CHECK(decoded.error().code == ledger::Code::corruption);
    return 0;
  }
  FUZZ_CHECK(ledger::record::encode(*decoded) == value);
  if (decoded->record_version != 2) return 0;
  const ledger::TierStatus& status = decoded->tier;

  const std::uint8_t count = program.count();
  const std::uint64_t window = program.window_ms();
  const bool storable = status.previous_tier <= count && status.earlier_tier <= count && status.granted_tier <= count &&
                        status.tier <= count && status.window <= ledger::window_at(program, genesis, t1) &&
                        status.granted_until_ms <= genesis + offset_max_ms;
  if (!storable) return 0;

  const ledger::TierStatus at_t1 = ledger::settle_tier(program, genesis, status, t1);
  const ledger::TierStatus at_t2 = ledger::settle_tier(program, genesis, status, t2);
  FUZZ_CHECK(ledger::settle_tier(program, genesis, at_t1, t2) == at_t2);
  FUZZ_CHECK(at_t2.tier <= at_t1.tier);
  FUZZ_CHECK(at_t1.tier <= count);

  const std::optional<std::uint64_t> next = ledger::next_tier_change_ms(program, genesis, at_t1, t1);
  if (next) {
    FUZZ_CHECK(*next > t1);
    FUZZ_CHECK(ledger::settle_tier(program, genesis, at_t1, *next - 1).tier == at_t1.tier);
    FUZZ_CHECK(ledger::settle_tier(program, genesis, at_t1, *next).tier < at_t1.tier);
  } else {
    FUZZ_CHECK(ledger::settle_tier(program, genesis, at_t1, t1 + 3 * window + offset_max_ms).tier == at_t1.tier);
  }
  const ledger::TierView view = ledger::describe_tier(program, genesis, at_t1, t1);
  FUZZ_CHECK(view.tier == at_t1.tier);
  if (view.tier != 0) {
    FUZZ_CHECK(view.held_until_ms > t1);
    FUZZ_CHECK(ledger::settle_tier(program, genesis, at_t1, view.held_until_ms - 1).tier >= view.tier);
  }
  return 0;
}
