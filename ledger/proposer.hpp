// Who may propose at each height and round (docs/protocol.md, "Proposer selection"): smooth
// weighted round-robin over the validators' voting powers, as CometBFT's proposer
// priorities. The schedule of a height depends only on the genesis and the height, so an
// auditor, or a node that restarts, needs nothing else to know who was allowed to propose.
#pragma once

#include <vector>

#include "ledger/block.hpp"

namespace pc::ledger {

class ProposerSchedule {
 public:
  // The schedule of `height` (>= 1). Costs O(((height - 1) mod total power) x validators):
  // the rotation returns to its start after total-power steps. A node that runs for many
  // heights keeps one schedule and calls next_height() instead.
  static ProposerSchedule for_height(const Genesis& genesis, std::uint64_t height);

  std::uint64_t height() const { return height_; }
  // The proposer of `round` at this height. O(round x validators); round <= round_max.
  PartnerId proposer(std::uint32_t round) const;
  // The schedule of the next height: one rotation step on, whatever round this height ended in.
  ProposerSchedule next_height() const;

 private:
  struct Slot {
    PartnerId id = 0;
    std::uint64_t power = 0;
    std::int64_t priority = 0;
  };
  // Adds each power to its priority, picks the highest (lowest id on a tie), and takes the
  // total power off the one picked.
  static PartnerId step(std::vector<Slot>& slots, std::uint64_t total_power);

  std::vector<Slot> slots_;  // the validators in ascending id order, priorities before round 0
  std::uint64_t total_power_ = 0;
  std::uint64_t height_ = 1;
};

// The proposer rule: header.proposer is the proposer of header.round at the header's height
// (`schedule` is that height's schedule). A block is first proposed in header.round and may
// be re-proposed unchanged by later rounds' proposers, so the rule names the header's round,
// not the deciding one; check_block_contents checks header.round <= the certificate's round.
// wrong_proposer, or invalid_field for a round over round_max.
Status check_block_proposer(const ProposerSchedule& schedule, const BlockHeader& header);

}  // namespace pc::ledger
