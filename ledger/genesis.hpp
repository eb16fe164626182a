// The genesis: who the partners are and what the policy is. Read from JSON (config), hashed
// from its canonical binary form (docs/protocol.md, "Genesis"). Immutable once a chain runs.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ledger/protocol.hpp"
#include "ledger/tiers.hpp"
#include "ledger/transaction.hpp"

namespace pc::ledger {

struct Partner {
  PartnerId id = 0;                // 1..65535, unique, listed in ascending order
  std::string name;
  PublicKey issuer_key{};          // signs Issue and Reverse
  PublicKey validator_key{};       // signs block commits
  std::uint64_t voting_power = 0;  // 0: not a validator

  bool operator==(const Partner&) const = default;
};

// How the coalition bills a partner (protocol version 4 on; docs/billing.md).
enum class BillingPlan : std::uint8_t {
  postpaid = 1,  // billed after the fact: price per 1000 points issued in the period
  prepaid = 2,   // buys blocks of points ahead (PrepaidTopUp); an Issue past them is refused
};
std::string_view billing_plan_name(BillingPlan plan);

struct PartnerBilling {
  PartnerId partner = 0;
  BillingPlan plan = BillingPlan::postpaid;
  // Minor units of the billing currency per 1000 points: per 1000 points issued (post-paid)
  // or per 1000 points bought (prepaid). At most billing_price_per_1000_points_minor_max.
  std::uint64_t price_per_1000_points_minor = 0;
  // Prepaid only (0 otherwise): the balance the chain starts with, bought before it began.
  std::uint64_t initial_prepaid_points = 0;

  bool operator==(const PartnerBilling&) const = default;
};

struct BillingTerms {
  std::string currency;                    // ISO 4217 alphabetic: three letters A-Z
  std::uint8_t currency_minor_digits = 2;  // digits of its minor unit, 0 to currency_minor_digits_max
  PublicKey billing_key{};                 // the coalition's key: signs PrepaidTopUp
  std::vector<PartnerBilling> partners;    // one per genesis partner, in the genesis order

  // nullptr when `partner` has no terms (not a genesis partner).
  const PartnerBilling* of(PartnerId partner) const;
  bool operator==(const BillingTerms&) const = default;
};

struct Policy {
  std::uint32_t point_expiry_days = 0;       // 0: points never expire
  bool transfers_allowed = false;
  std::uint64_t issuance_cap_points = 0;     // cap on a partner's outstanding points; 0: none
  // Present exactly on chains of protocol version 4 on (has_billing_terms).
  std::optional<BillingTerms> billing;
  // Protocol version 4 on (has_tiers); empty on earlier chains, whose genesis has no such field.
  TierProgram tiers;

  bool operator==(const Policy&) const = default;
};

// Billing terms that charge nothing: every partner post-paid at price 0, in EUR, with
// `billing_key` as the coalition's key. What `init` and the test set-ups write for a chain of
// the newest version when nobody has agreed on prices yet.
BillingTerms no_charge_billing(const std::vector<Partner>& partners, const PublicKey& billing_key);

struct Genesis {
  // Which rules the chain runs (ledger/protocol.hpp). Version 1 is encoded without the field,
  // exactly as before versions were named, so version-1 chains keep their genesis hash.
  std::uint16_t protocol_version = protocol_version_first;
  std::string chain_id;
  std::string coalition_name;
  std::uint64_t genesis_time_ms = 0;  // the first block's time must be after this
  std::vector<Partner> partners;
  Policy policy;

  const Partner* partner(PartnerId id) const;
  std::uint64_t total_voting_power() const;
  Bytes encode() const;   // canonical binary
  Hash256 hash() const;   // tagged_hash(genesis, encode())

  bool operator==(const Genesis&) const = default;
};

// Parses and validates genesis JSON. Configuration, so the error is a message, not a code:
// it names the member and the rule ("partners[1].issuer_key: must be 64 hex characters").
// Every member is required except protocol_version (absent: 1); an unknown member is an error.
pc::Result<Genesis, std::string> parse_genesis_json(std::string_view json_text);
// As parse_genesis_json, with the file's path in front of every message.
pc::Result<Genesis, std::string> load_genesis_file(const std::filesystem::path& path);
std::string genesis_to_json(const Genesis& genesis);  // pretty, round-trips through parse
Result<Genesis> decode_genesis(ByteSpan bytes);

}  // namespace pc::ledger
