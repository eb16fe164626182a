// Transactions: immutable values whose id is computed once, at construction, from their
// canonical bytes (Bitcoin Core's CTransaction). Build an UnsignedTransaction, then sign it.
// The byte layout is in docs/protocol.md, "Transactions".
#pragma once

#include <array>
#include <optional>
#include <string>
#include <variant>

#include "crypto/hash.hpp"
#include "crypto/keys.hpp"
#include "ledger/errors.hpp"
#include "ledger/payment.hpp"

namespace pc::ledger {

using crypto::Hash256;
using crypto::PublicKey;
using crypto::Signature;
using PartnerId = std::uint16_t;

// Types 5 to 8 exist from protocol version 3 (ledger/protocol.hpp, has_rewards_catalog); from
// version 4: type 9 (has_tiers), type 10 (has_billing_terms), 11 and 12 (has_points_payments),
// 13 to 15 (has_stamp_cards). Tags are never reused or renumbered.
enum class TxType : std::uint8_t {
  issue = 1, redeem = 2, transfer = 3, reverse = 4,
  publish_reward = 5, redeem_reward = 6, use_voucher = 7, partial_return = 8,
  grant_tier = 9, prepaid_top_up = 10, set_point_value = 11, pay_with_points = 12,
  define_stamp_card = 13, define_badge = 14, award_badge = 15,
};
// "issue", "redeem", ..., "publish_reward", "return", "define_stamp_card", ...
std::string_view tx_type_name(TxType type);
// The first protocol version whose chains accept the type.
std::uint16_t protocol_version_of_type(TxType type);

// Why points were issued. Stored on chain; never renumbered.
enum class Reason : std::uint8_t {
  purchase = 1, referral = 2, review = 3, social = 4, bonus = 5, cashback = 6,
};
std::string_view reason_name(Reason reason);
std::optional<Reason> reason_from_name(std::string_view name);

struct Purchase {
  std::int64_t amount_minor = 0;  // in the currency's minor unit (cents); never negative
  std::string currency;           // ISO 4217 alphabetic code: three letters A-Z

  bool operator==(const Purchase&) const = default;
};

// A partner (signed by its issuer key) credits points to a customer.
struct Issue {
  PartnerId partner = 0;
  PublicKey customer{};
  std::uint64_t points = 0;
  Reason reason = Reason::purchase;
  std::string reference;          // unique per partner for ever: an order id
  std::uint16_t pending_days = 0; // the return window: points are pending until it ends
  std::optional<Purchase> purchase;

  bool operator==(const Issue&) const = default;
};

// A customer (signing) spends points for a reward at a partner.
struct Redeem {
  PublicKey customer{};
  PartnerId partner = 0;
  std::uint64_t points = 0;
  std::string reward;

  bool operator==(const Redeem&) const = default;
};

// A customer (signing) gives points to another customer, where the policy allows it.
struct Transfer {
  PublicKey from{};
  PublicKey to{};
  std::uint64_t points = 0;

  bool operator==(const Transfer&) const = default;
};

// The issuing partner (signing) takes back an earlier issuance, named by its reference.
struct Reverse {
  PartnerId partner = 0;
  std::string reference;

  bool operator==(const Reverse&) const = default;
};

// What a partner's catalog says about one reward (docs/loyalty.md). Published by
// PublishReward and kept, with counters, in the reward record.
struct RewardTerms {
  std::string name;                     // 1-64 printable ASCII characters, spaces allowed
  std::uint64_t cost_points = 0;        // per unit; > 0
  std::optional<std::uint64_t> stock;   // units left; nullopt: unlimited
  std::uint32_t limit_per_customer = 0; // units one customer may ever redeem; 0: no limit
  std::uint32_t limit_per_period = 0;   // units one customer may redeem per period; 0: no limit
  std::uint16_t period_days = 0;        // the period's length: 1-365 with a period limit, else 0
  std::uint64_t valid_from_ms = 0;      // redeemable in blocks at or after this time
  std::uint64_t valid_until_ms = 0;     // and before this one; 0: no end
  std::uint8_t min_tier = 0;            // tier index, 0: none. Only 0 before protocol version 4
  bool active = true;

  bool operator==(const RewardTerms&) const = default;
};

// A partner (signed by its issuer key) publishes a reward, or updates the one with this id.
struct PublishReward {
  PartnerId partner = 0;
  std::uint32_t reward_id = 0;  // the partner's own numbering; not 0
  RewardTerms terms;

  bool operator==(const PublishReward&) const = default;
};

// A customer (signing) redeems `quantity` units of a partner's reward: one voucher each.
struct RedeemReward {
  PublicKey customer{};
  PartnerId partner = 0;
  std::uint32_t reward_id = 0;
  std::uint16_t quantity = 0;  // 1 to reward_quantity_max

  bool operator==(const RedeemReward&) const = default;
};

// The partner (signed by its issuer key) marks one of its vouchers used, at one of its tills.
struct UseVoucher {
  PartnerId partner = 0;
  std::string code;  // voucher_code_chars characters of the voucher alphabet (ledger/voucher.hpp)

  bool operator==(const UseVoucher&) const = default;
};

// The issuing partner (signing) takes back the points of the returned part of an order, in
// proportion to `amount_minor` against the order's purchase amount.
struct PartialReturn {
  PartnerId partner = 0;
  std::string reference;
  std::uint64_t amount_minor = 0;  // > 0, in the minor unit of the issuance's purchase currency

  bool operator==(const PartialReturn&) const = default;
};

// A partner (signed by its issuer key) grants a customer a tier until a block time: a paid
// membership. It ends by itself; the higher of the earned and the granted tier applies.
struct GrantTier {
  PartnerId partner = 0;
  PublicKey customer{};
  std::uint8_t tier = 0;          // 1 to the program's tier count
  std::uint64_t until_ms = 0;     // the grant ends at this block time; <= block_time_ms_max

  bool operator==(const GrantTier&) const = default;
};

// The coalition's billing key (signing) adds prepaid points to a prepaid partner's balance:
// `points` bought, in whole blocks of prepaid_block_points, under an invoice `reference`.
struct PrepaidTopUp {
  PartnerId partner = 0;
  std::uint64_t points = 0;  // > 0, a multiple of prepaid_block_points
  std::string reference;     // the coalition's invoice number; Issue's reference rules

  bool operator==(const PrepaidTopUp&) const = default;
};

// A partner (signed by its issuer key) declares what its points are worth at its tills, from
// the block that includes this on. It replaces the value declared before.
struct SetPointValue {
  PartnerId partner = 0;
  PointValue value;

  bool operator==(const SetPointValue&) const = default;
};

// A customer (signing) pays a partner's payment request with points: the request, signed by
// the partner, is inside the bytes the customer signs, so neither side can change it.
struct PayWithPoints {
  PublicKey customer{};
  SignedPaymentRequest request;

  bool operator==(const PayWithPoints&) const = default;
};

// Which purchases earn a stamp: every qualifying order, or at most one a UTC day.
enum class StampRule : std::uint8_t { per_order = 1, per_day = 2 };

// What a partner's stamp card says (docs/loyalty.md, "Stamp cards"). Published by
// DefineStampCard and kept, with a counter, in the card record.
struct StampCardTerms {
  std::string name;                     // 1-64 printable ASCII characters, spaces allowed
  std::uint16_t stamps_needed = 0;      // stamps that fill a card: 1 to stamp_card_stamps_max
  // A stamp needs an Issue with reason purchase, a purchase in `currency` of at least this.
  std::uint64_t min_amount_minor = 0;   // 0 to 2^63 - 1
  std::string currency;                 // ISO 4217: three letters A-Z
  StampRule rule = StampRule::per_order;
  std::uint32_t reward_id = 0;          // the partner's catalog reward a full card gives; not 0
  std::uint16_t card_days = 0;          // a started card lapses this long after its first stamp; 0: never
  std::uint64_t valid_from_ms = 0;      // stamps are given in blocks at or after this time
  std::uint64_t valid_until_ms = 0;     // and before this one; 0: no end
  bool active = true;

  bool operator==(const StampCardTerms&) const = default;
};

// A partner (signed by its issuer key) defines a stamp card, or updates the one with this id.
struct DefineStampCard {
  PartnerId partner = 0;
  std::uint32_t card_id = 0;  // the partner's own numbering; not 0
  StampCardTerms terms;

  bool operator==(const DefineStampCard&) const = default;
};

// How a badge is earned: a count of the partner's Issues with one reason, the points the
// partner issued to the customer, or only by AwardBadge. AwardBadge can give any badge.
enum class BadgeRule : std::uint8_t { action_count = 1, points_earned = 2, awarded = 3 };

struct BadgeTerms {
  std::string name;                // 1-64 printable ASCII characters, spaces allowed
  BadgeRule rule = BadgeRule::awarded;
  std::optional<Reason> reason;    // action_count: the Issue reason counted; otherwise none
  std::uint64_t threshold = 0;     // action_count, points_earned: > 0; awarded: 0
  bool active = true;

  bool operator==(const BadgeTerms&) const = default;
};

// A partner (signed by its issuer key) defines a badge, or updates the one with this id.
struct DefineBadge {
  PartnerId partner = 0;
  std::uint32_t badge_id = 0;  // the partner's own numbering; not 0
  BadgeTerms terms;

  bool operator==(const DefineBadge&) const = default;
};

// A partner (signed by its issuer key) gives one of its badges to a customer.
struct AwardBadge {
  PartnerId partner = 0;
  std::uint32_t badge_id = 0;
  PublicKey customer{};

  bool operator==(const AwardBadge&) const = default;
};

// The type tag of each alternative is in tx_type_of_alternative (tags are not contiguous).
using TxBody = std::variant<Issue, Redeem, Transfer, Reverse, PublishReward, RedeemReward, UseVoucher, PartialReturn,
                            GrantTier, PrepaidTopUp, SetPointValue, PayWithPoints, DefineStampCard, DefineBadge,
                            AwardBadge>;
inline constexpr std::array<TxType, std::variant_size_v<TxBody>> tx_type_of_alternative = {
    TxType::issue,             TxType::redeem,          TxType::transfer,        TxType::reverse,
    TxType::publish_reward,    TxType::redeem_reward,   TxType::use_voucher,     TxType::partial_return,
    TxType::grant_tier,        TxType::prepaid_top_up,  TxType::set_point_value, TxType::pay_with_points,
    TxType::define_stamp_card, TxType::define_badge,    TxType::award_badge};

// Fields common to every transaction, plus the body. Mutable: the builder.
struct UnsignedTransaction {
  std::string chain_id;
  std::uint64_t sequence = 0;           // the signer's next sequence number (first is 1)
  std::uint64_t last_valid_height = 0;  // not valid in any block above this height
  TxBody body;

  TxType type() const { return tx_type_of_alternative[body.index()]; }
  // The canonical encoding without the signature.
  Bytes encode() const;
  // What the signer signs: the tx_signature prefix followed by encode().
  Bytes signing_message() const;

  bool operator==(const UnsignedTransaction&) const = default;
};

class Transaction {
 public:
  // Signs with `key`; the caller is responsible for choosing the right key for the type.
  static Transaction sign(UnsignedTransaction fields, const crypto::SecretKey& key);
  // Attaches a given signature (tests use this to forge).
  static Transaction with_signature(UnsignedTransaction fields, const Signature& signature);
  // Decodes canonical bytes: every malformed input is a typed error (Code 1xx).
  static Result<Transaction> decode(ByteSpan bytes);

  const UnsignedTransaction& fields() const { return fields_; }
  TxType type() const { return fields_.type(); }
  const Signature& signature() const { return signature_; }
  const Bytes& bytes() const { return bytes_; }  // canonical, signature included
  const Hash256& id() const { return id_; }      // tagged_hash(tx_id, bytes())
  // The id of the transaction whose canonical bytes these are, without decoding them.
  static Hash256 id_of(ByteSpan bytes);

  // The key that must have signed: the customer's for Redeem, RedeemReward, Transfer and
  // PayWithPoints. The other types are signed by a partner's issuer key (partner_signer) or the
  // coalition's billing key (PrepaidTopUp: signed_by_billing_key), which only the genesis knows.
  std::optional<PublicKey> customer_signer() const;
  std::optional<PartnerId> partner_signer() const;
  bool signed_by_billing_key() const { return std::holds_alternative<PrepaidTopUp>(fields_.body); }

 private:
  Transaction(UnsignedTransaction fields, const Signature& signature);
  UnsignedTransaction fields_;
  Signature signature_{};
  Bytes bytes_;
  Hash256 id_{};
};

bool is_valid_chain_id(std::string_view chain_id);
// Three capital letters A-Z (the form of an ISO 4217 alphabetic code).
bool is_currency_code(std::string_view currency);
// References and order ids: 1 to reference_bytes_max printable ASCII characters, no spaces.
bool is_reference_text(std::string_view reference);

class Writer;
class Reader;
// RewardTerms' canonical fields, shared by PublishReward and the reward record.
void encode_reward_terms(Writer& out, const RewardTerms& terms);
RewardTerms decode_reward_terms(Reader& in);
// The same for StampCardTerms (DefineStampCard, the card record) and BadgeTerms.
void encode_stamp_card_terms(Writer& out, const StampCardTerms& terms);
StampCardTerms decode_stamp_card_terms(Reader& in);
void encode_badge_terms(Writer& out, const BadgeTerms& terms);
BadgeTerms decode_badge_terms(Reader& in);

// Checks the fields a decoder checks (ranges, character sets, sizes); used by decode() and
// by builders that want an early error before signing.
Status validate_fields(const UnsignedTransaction& fields);

}  // namespace pc::ledger
