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
// Version 4: the tier program (GrantTier, type 9; tier state in account records; multiplied
// issuances), billing terms in the genesis, prepaid issuance and PrepaidTopUp (type 10),
// paying with points at a till (SetPointValue 11, PayWithPoints 12), stamp cards and badges
// (types 13 to 15).
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

// From version 4: the genesis holds a tier program (policy.tiers); every customer has a tier
// computed from the points it earned per qualification window, Issue credits the points times
// the tier's multiplier (issuance record version 3 records both), account records are
// version 2 and end with the customer's tier state, GrantTier exists, and a reward's min_tier
// is a real tier. Earlier chains refuse GrantTier (unsupported_type) and any
// min_tier but 0, and keep their genesis bytes, records and state hashes unchanged.
constexpr bool has_tiers(std::uint16_t version) { return version >= 4; }
// From version 4: the genesis policy carries the coalition's billing terms (a post-paid price
// per point issued, or prepaid point blocks), a prepaid partner's Issue consumes its prepaid
// balance (prepaid_exhausted past it), the billing key tops balances up with PrepaidTopUp, and
// the state holds a prepaid record per prepaid partner. Earlier chains have none of these:
// their genesis encoding, records and state hashes are unchanged.
constexpr bool has_billing_terms(std::uint16_t version) { return version >= 4; }
// From version 4: SetPointValue and PayWithPoints exist, and the state holds point values,
// paid payment requests and the money value of payments (records 'm' and 'q'). Earlier chains
// refuse the types (unsupported_type) and never hold such records.
constexpr bool has_points_payments(std::uint16_t version) { return version >= 4; }
// From version 4: DefineStampCard, DefineBadge and AwardBadge exist; a purchase Issue stamps
// its partner's cards and counts toward its badges; a full card makes a voucher (record
// version 2: it names its card); a return takes back the stamp of the card it is on.
// Earlier chains refuse the new types and keep their records and state hashes unchanged.
constexpr bool has_stamp_cards(std::uint16_t version) { return version >= 4; }

}  // namespace pc::ledger
