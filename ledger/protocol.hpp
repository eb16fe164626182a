// Protocol versions: each one changes which blocks are valid, so a chain's version is fixed in
// its genesis (docs/protocol.md, "Protocol versions"). A rule change is never an `if` on a
// number scattered through the code: it is one named check here, and the rule calls it.
#pragma once

#include <cstdint>

namespace pc::ledger {

// Version 1: the rules chains were created with before versions were named.
inline constexpr std::uint16_t protocol_version_first = 1;
// Version 2: an Issue whose lot could never be spent is refused (issue_never_spendable).
// Version 3: the rewards catalog, vouchers and partial returns (transaction types 5 to 8).
// Version 4: paying with points at a till (SetPointValue 11, PayWithPoints 12).
inline constexpr std::uint16_t protocol_version_newest = 4;

constexpr bool is_supported_protocol_version(std::uint16_t version) {
  return version >= protocol_version_first && version <= protocol_version_newest;
}

// From version 2, an Issue whose pending period reaches the point expiry is refused: its lot
// would expire at the moment it became spendable. Version 1 chains accepted such Issues, and
// their blocks stay valid.
constexpr bool refuses_unspendable_issues(std::uint16_t version) { return version >= 2; }

// From version 3: PublishReward, RedeemReward, UseVoucher and PartialReturn exist, and an
// issuance record keeps the order's purchase amount and what was returned of it (record
// version 2), so that a return can take back points in proportion. Earlier chains refuse the
// new types (unsupported_type) and keep their records, and so their state hashes, unchanged.
constexpr bool has_rewards_catalog(std::uint16_t version) { return version >= 3; }

// From version 4: SetPointValue and PayWithPoints exist, and the state holds point values,
// paid payment requests and the money value of payments (records 'm' and 'q'). Earlier chains
// refuse the types (unsupported_type) and never hold such records.
constexpr bool has_points_payments(std::uint16_t version) { return version >= 4; }

}  // namespace pc::ledger
