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
// Version 4: stamp cards and badges (transaction types 13 to 15).
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

// From version 4: DefineStampCard, DefineBadge and AwardBadge exist; a purchase Issue stamps
// its partner's cards and counts toward its badges; a full card makes a voucher (record
// version 2: it names its card); a return takes back the stamp of the card it is on.
// Earlier chains refuse the new types and keep their records and state hashes unchanged.
constexpr bool has_stamp_cards(std::uint16_t version) { return version >= 4; }

}  // namespace pc::ledger
