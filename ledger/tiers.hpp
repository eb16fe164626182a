// The coalition's tier program (protocol version 4; docs/protocol.md, "Tiers"; the manager's
// view is in docs/loyalty.md). Pure functions of the program, a customer's tier state and a
// block time: the state machine, the node's quotes and the wallet all call these, so they
// cannot disagree about a tier.
//
// Qualification windows are fixed: window k covers [genesis + k·W, genesis + (k+1)·W). Points a
// customer earns in window k (the points a partner signed, before any multiplier) qualify it for
// the highest tier whose threshold they reach, at once, and that qualification holds until the
// end of window k+1 plus the grace period. So a customer's earned tier is the best of three
// qualifications: the current window's, the previous window's, and, during the first
// grace_days of the current window, the one before. The granted tier (GrantTier) holds until
// its own end; the tier that applies is the higher of the two.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ledger/transaction.hpp"

namespace pc::ledger {

struct Tier {
  std::string name;                   // 1-32 printable ASCII characters, spaces allowed
  std::uint64_t threshold_points = 0; // qualifying points in one window; > 0, ascending
  std::uint32_t multiplier_bp = 0;    // earn multiplier in basis points; 10000-100000, non-decreasing

  bool operator==(const Tier&) const = default;
};

// Tier index i (1-based) is tiers[i - 1]; index 0 is "no tier": multiplier 10000, no threshold.
struct TierProgram {
  std::uint16_t window_days = 0;  // qualification window; 1-3660 with tiers, 0 without
  std::uint16_t grace_days = 0;   // < window_days: how long a qualification outlives its window
  std::vector<Tier> tiers;        // at most tiers_max; empty: the chain has no tiers

  std::uint8_t count() const { return static_cast<std::uint8_t>(tiers.size()); }
  // The highest tier whose threshold `points` reach (0 if none).
  std::uint8_t tier_for_points(std::uint64_t points) const;
  std::uint32_t multiplier_bp(std::uint8_t tier) const;  // precondition: tier <= count()
  std::string tier_name(std::uint8_t tier) const;        // "none" for 0
  std::uint64_t window_ms() const;
  std::uint64_t grace_ms() const;

  bool operator==(const TierProgram&) const = default;
};

// Empty string if the program is valid, else what is wrong ("tiers[1]: threshold ...").
std::string validate_tier_program(const TierProgram& program);

// One customer's tier state, kept in its account record (protocol version 4 on). All times
// are block times. A window is named by its number k from the genesis time, not by its start,
// so that the record stores a small number (docs/protocol.md, "State records").
struct TierStatus {
  std::uint64_t window = 0;           // the window k that `window_points` counts
  std::uint64_t window_points = 0;    // qualifying points earned in it
  std::uint8_t previous_tier = 0;     // qualified in window k - 1
  std::uint8_t earlier_tier = 0;      // qualified in the window before that (counts in the grace period)
  std::uint8_t tier = 0;              // the tier that applies: max(earned, granted)
  std::uint8_t granted_tier = 0;      // 0: no grant running
  PartnerId granted_by = 0;           // the partner whose GrantTier set it (0 without one)
  std::uint64_t granted_until_ms = 0; // the grant ends at this block time (0 without one)

  bool operator==(const TierStatus&) const = default;
};

// The number k of the window that block time `now` (>= genesis time) is in; 0 without tiers.
std::uint64_t window_at(const TierProgram& program, std::uint64_t genesis_time_ms, std::uint64_t now);
// The block time window k starts at.
std::uint64_t window_start_ms(const TierProgram& program, std::uint64_t genesis_time_ms, std::uint64_t window);

// The status as it stands at block time `now` (>= every time it was written at): the window
// moved to now's, qualifications and a grant that ended dropped, `tier` recomputed. A
// default TierStatus (a customer never seen) settles to its window with nothing earned.
TierStatus settle_tier(const TierProgram& program, std::uint64_t genesis_time_ms, TierStatus status, std::uint64_t now);

// The earned part of a settled status at `now`.
std::uint8_t earned_tier(const TierProgram& program, std::uint64_t genesis_time_ms, const TierStatus& settled,
                         std::uint64_t now);

// The first block time after `now` at which settle_tier could give another tier (a
// qualification or a grant ends), for a status settled at `now`; nullopt if none can.
std::optional<std::uint64_t> next_tier_change_ms(const TierProgram& program, std::uint64_t genesis_time_ms,
                                                 const TierStatus& settled, std::uint64_t now);

// What a customer is shown (get_account, the wallet's balance), from a status settled at `now`.
struct TierView {
  std::uint8_t tier = 0;
  std::uint8_t earned_tier = 0;
  std::uint8_t granted_tier = 0;
  std::uint64_t held_until_ms = 0;       // the tier holds at least until then; 0 for tier 0
  std::uint64_t window_start_ms = 0;
  std::uint64_t window_end_ms = 0;
  std::uint64_t window_points = 0;
  std::optional<std::uint8_t> next_tier;  // the next tier above `tier`, if there is one
  std::uint64_t points_to_next_tier = 0;  // qualifying points still needed this window for it
};
TierView describe_tier(const TierProgram& program, std::uint64_t genesis_time_ms, const TierStatus& settled,
                       std::uint64_t now);

// Points credited for `base_points` at `multiplier_bp`: floor(base × multiplier / 10000),
// nullopt if that passes 2^64 - 1.
std::optional<std::uint64_t> multiplied_points(std::uint64_t base_points, std::uint32_t multiplier_bp);

}  // namespace pc::ledger
