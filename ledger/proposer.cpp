#include "ledger/proposer.hpp"

#include "crypto/check.hpp"
#include "ledger/limits.hpp"

namespace pc::ledger {

ProposerSchedule ProposerSchedule::for_height(const Genesis& genesis, std::uint64_t height) {
  PC_CHECK(height >= 1);
  ProposerSchedule schedule;
  for (const Partner& partner : genesis.partners) {
    if (partner.voting_power > 0) schedule.slots_.push_back({partner.id, partner.voting_power, 0});
  }
  PC_CHECK(!schedule.slots_.empty());
  schedule.total_power_ = genesis.total_voting_power();
  // From all-zero priorities the rotation picks each validator exactly power times in
  // total-power steps and is back at all zeros (tests/proposer_test.cpp checks this).
  const std::uint64_t steps = (height - 1) % schedule.total_power_;
  for (std::uint64_t i = 0; i < steps; ++i) step(schedule.slots_, schedule.total_power_);
  schedule.height_ = height;
  return schedule;
}

PartnerId ProposerSchedule::step(std::vector<Slot>& slots, std::uint64_t total_power) {
  // Priorities stay within (-total, total) and powers are at most 2^32 with at most 256
  // validators: no int64 overflow.
  std::size_t best = 0;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    slots[i].priority += static_cast<std::int64_t>(slots[i].power);
    if (slots[i].priority > slots[best].priority) best = i;
  }
  slots[best].priority -= static_cast<std::int64_t>(total_power);
  return slots[best].id;
}

PartnerId ProposerSchedule::proposer(std::uint32_t round) const {
  PC_CHECK(round <= round_max && !slots_.empty());
  std::vector<Slot> slots = slots_;
  PartnerId picked = 0;
  for (std::uint32_t r = 0; r <= round; ++r) picked = step(slots, total_power_);
  return picked;
}

ProposerSchedule ProposerSchedule::next_height() const {
  ProposerSchedule next = *this;
  step(next.slots_, next.total_power_);
  next.height_ = height_ + 1;
  return next;
}

Status check_block_proposer(const ProposerSchedule& schedule, const BlockHeader& header) {
  PC_CHECK(schedule.height() == header.height);
  if (header.round > round_max) return Error{Code::invalid_field, "header round over round_max"};
  const PartnerId expected = schedule.proposer(header.round);
  if (header.proposer != expected) {
    return Error{Code::wrong_proposer, "proposer " + std::to_string(header.proposer) + ", but round " +
                                           std::to_string(header.round) + " at height " +
                                           std::to_string(header.height) + " belongs to " +
                                           std::to_string(expected)};
  }
  return {};
}

}  // namespace pc::ledger
