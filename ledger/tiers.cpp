#include "ledger/tiers.hpp"

#include <algorithm>
#include <array>

#include "crypto/check.hpp"
#include "ledger/limits.hpp"

namespace pc::ledger {

std::uint8_t TierProgram::tier_for_points(std::uint64_t points) const {
  std::uint8_t tier = 0;
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    if (points >= tiers[i].threshold_points) tier = static_cast<std::uint8_t>(i + 1);
  }
  return tier;
}

std::uint32_t TierProgram::multiplier_bp(std::uint8_t tier) const {
  PC_CHECK(tier <= tiers.size());
  return tier == 0 ? tier_multiplier_bp_base : tiers[tier - 1].multiplier_bp;
}

std::string TierProgram::tier_name(std::uint8_t tier) const {
  return tier == 0 || tier > tiers.size() ? std::string("none") : tiers[tier - 1].name;
}

std::uint64_t TierProgram::window_ms() const { return std::uint64_t{window_days} * ms_per_day; }
std::uint64_t TierProgram::grace_ms() const { return std::uint64_t{grace_days} * ms_per_day; }

std::string validate_tier_program(const TierProgram& program) {
  if (program.tiers.size() > tiers_max) return "at most " + std::to_string(tiers_max) + " tiers";
  if (program.tiers.empty()) {
    if (program.window_days != 0 || program.grace_days != 0) return "window_days and grace_days must be 0 without tiers";
    return {};
  }
  if (program.window_days == 0 || program.window_days > tier_window_days_max) {
    return "window_days must be 1 to " + std::to_string(tier_window_days_max);
  }
  // A qualification outlives its window by the grace period; keeping it shorter than a window
  // means a customer's record needs to remember only the two windows before the current one.
  if (program.grace_days >= program.window_days) return "grace_days must be less than window_days";
  std::uint64_t previous_threshold = 0;
  std::uint32_t previous_multiplier = tier_multiplier_bp_base;
  for (std::size_t i = 0; i < program.tiers.size(); ++i) {
    const Tier& tier = program.tiers[i];
    const std::string which = "tiers[" + std::to_string(i) + "]: ";
    if (tier.name.empty() || tier.name.size() > tier_name_bytes_max ||
        !std::all_of(tier.name.begin(), tier.name.end(), [](char c) { return c >= 0x20 && c <= 0x7e; })) {
      return which + "name must be 1 to " + std::to_string(tier_name_bytes_max) + " printable ASCII characters";
    }
    if (tier.threshold_points <= previous_threshold) return which + "threshold_points must be above the tier below's (and above 0)";
    if (tier.multiplier_bp < previous_multiplier || tier.multiplier_bp > tier_multiplier_bp_max) {
      return which + "multiplier_bp must be at least the tier below's (10000 for the first) and at most " +
             std::to_string(tier_multiplier_bp_max);
    }
    previous_threshold = tier.threshold_points;
    previous_multiplier = tier.multiplier_bp;
  }
  return {};
}

std::uint64_t window_at(const TierProgram& program, std::uint64_t genesis_time_ms, std::uint64_t now) {
  const std::uint64_t window = program.window_ms();
  if (window == 0 || now < genesis_time_ms) return 0;
  return (now - genesis_time_ms) / window;
}

std::uint64_t window_start_ms(const TierProgram& program, std::uint64_t genesis_time_ms, std::uint64_t window) {
  return genesis_time_ms + window * program.window_ms();
}

TierStatus settle_tier(const TierProgram& program, std::uint64_t genesis_time_ms, TierStatus status, std::uint64_t now) {
  const std::uint64_t current = window_at(program, genesis_time_ms, now);
  if (current > status.window) {
    const std::uint8_t qualified = program.tier_for_points(status.window_points);
    if (status.window + 1 == current) {
      status.earlier_tier = status.previous_tier;
      status.previous_tier = qualified;
    } else if (status.window + 2 == current) {
      status.earlier_tier = qualified;
      status.previous_tier = 0;
    } else {
      status.earlier_tier = 0;
      status.previous_tier = 0;
    }
    status.window = current;
    status.window_points = 0;
  }
  if (now >= window_start_ms(program, genesis_time_ms, status.window) + program.grace_ms()) status.earlier_tier = 0;
  if (status.granted_tier != 0 && now >= status.granted_until_ms) {
    status.granted_tier = 0;
    status.granted_by = 0;
    status.granted_until_ms = 0;
  }
  status.tier = std::max({earned_tier(program, genesis_time_ms, status, now), status.granted_tier});
  return status;
}

std::uint8_t earned_tier(const TierProgram& program, std::uint64_t genesis_time_ms, const TierStatus& settled,
                         std::uint64_t now) {
  const bool in_grace = now < window_start_ms(program, genesis_time_ms, settled.window) + program.grace_ms();
  const std::uint8_t earlier = in_grace ? settled.earlier_tier : 0;
  return std::max({program.tier_for_points(settled.window_points), settled.previous_tier, earlier});
}

std::optional<std::uint64_t> next_tier_change_ms(const TierProgram& program, std::uint64_t genesis_time_ms,
                                                 const TierStatus& settled, std::uint64_t now) {
  const std::uint64_t start = window_start_ms(program, genesis_time_ms, settled.window);
  const std::uint64_t window = program.window_ms();
  const std::uint64_t grace = program.grace_ms();
  // The moments a qualification or the grant ends; between them the tier cannot change.
  std::array<std::uint64_t, 4> candidates{};
  std::size_t count = 0;
  if (settled.earlier_tier != 0) candidates[count++] = start + grace;
  if (settled.previous_tier != 0) candidates[count++] = start + window + grace;
  if (program.tier_for_points(settled.window_points) != 0) candidates[count++] = start + 2 * window + grace;
  if (settled.granted_tier != 0) candidates[count++] = settled.granted_until_ms;
  std::sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(count));
  for (std::size_t i = 0; i < count; ++i) {
    if (candidates[i] <= now) continue;
    if (settle_tier(program, genesis_time_ms, settled, candidates[i]).tier != settled.tier) return candidates[i];
  }
  return std::nullopt;
}

TierView describe_tier(const TierProgram& program, std::uint64_t genesis_time_ms, const TierStatus& settled,
                       std::uint64_t now) {
  TierView view;
  view.tier = settled.tier;
  view.earned_tier = earned_tier(program, genesis_time_ms, settled, now);
  view.granted_tier = settled.granted_tier;
  view.window_start_ms = window_start_ms(program, genesis_time_ms, settled.window);
  view.window_end_ms = view.window_start_ms + program.window_ms();
  view.window_points = settled.window_points;
  if (settled.tier != 0) {
    const std::uint64_t grace = program.grace_ms();
    if (settled.granted_tier == settled.tier) view.held_until_ms = settled.granted_until_ms;
    if (view.earned_tier == settled.tier) {
      std::uint64_t earned_until = 0;
      if (settled.earlier_tier == settled.tier) earned_until = view.window_start_ms + grace;
      if (settled.previous_tier == settled.tier) earned_until = view.window_end_ms + grace;
      if (program.tier_for_points(settled.window_points) == settled.tier) earned_until = view.window_end_ms + program.window_ms() + grace;
      view.held_until_ms = std::max(view.held_until_ms, earned_until);
    }
  }
  if (settled.tier < program.count()) {
    view.next_tier = static_cast<std::uint8_t>(settled.tier + 1);
    const std::uint64_t threshold = program.tiers[settled.tier].threshold_points;
    view.points_to_next_tier = threshold > settled.window_points ? threshold - settled.window_points : 0;
  }
  return view;
}

std::optional<std::uint64_t> multiplied_points(std::uint64_t base_points, std::uint32_t multiplier_bp) {
  __extension__ using Wide = unsigned __int128;
  const Wide credited = Wide{base_points} * Wide{multiplier_bp} / Wide{tier_multiplier_bp_base};
  if (credited > Wide{UINT64_MAX}) return std::nullopt;
  return static_cast<std::uint64_t>(credited);
}

}  // namespace pc::ledger
