#include "ledger/transaction.hpp"

#include <array>

#include "crypto/domains.hpp"
#include "ledger/codec.hpp"
#include "ledger/limits.hpp"
#include "ledger/voucher.hpp"

namespace pc::ledger {
namespace {

constexpr std::array<std::string_view, 6> reason_names = {"purchase", "referral", "review",
                                                          "social",   "bonus",    "cashback"};

bool is_chain_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

// References are order ids and the like: printable ASCII without spaces, so that what a
// person reads is what the chain stores.
bool is_reference_char(char c) { return c >= 0x21 && c <= 0x7e; }
bool is_reward_char(char c) { return c >= 0x20 && c <= 0x7e; }

template <class Predicate>
bool all_chars(std::string_view text, Predicate predicate) {
  for (char c : text) {
    if (!predicate(c)) return false;
  }
  return true;
}

Error invalid(std::string detail) { return Error{Code::invalid_field, std::move(detail)}; }

Status validate_reference(std::string_view reference, std::string_view what) {
  if (!is_reference_text(reference)) {
    return invalid(std::string(what) + " must be 1 to 64 printable ASCII characters, no spaces");
  }
  return {};
}

Status validate_body(const Issue& issue) {
  if (issue.partner == 0) return invalid("partner id 0 is reserved");
  if (issue.points == 0) return invalid("points must be positive");
  if (!reason_from_name(reason_name(issue.reason))) return invalid("unknown reason");
  if (auto status = validate_reference(issue.reference, "reference"); !status) return status;
  if (issue.pending_days > pending_days_max) return invalid("pending_days is over 365");
  if (issue.purchase) {
    if (issue.purchase->amount_minor < 0) return invalid("purchase amount is negative");
    if (!is_currency_code(issue.purchase->currency)) {
      return invalid("currency must be an ISO 4217 code of three capital letters");
    }
  }
  return {};
}

Status validate_body(const Redeem& redeem) {
  if (redeem.partner == 0) return invalid("partner id 0 is reserved");
  if (redeem.points == 0) return invalid("points must be positive");
  if (redeem.reward.empty() || redeem.reward.size() > reward_bytes_max ||
      !all_chars(redeem.reward, is_reward_char)) {
    return invalid("reward must be 1 to 64 printable ASCII characters");
  }
  return {};
}

Status validate_body(const Transfer& transfer) {
  if (transfer.points == 0) return invalid("points must be positive");
  if (transfer.from == transfer.to) return Error{Code::self_transfer, "from and to are the same"};
  return {};
}

Status validate_body(const Reverse& reverse) {
  if (reverse.partner == 0) return invalid("partner id 0 is reserved");
  return validate_reference(reverse.reference, "reference");
}

Status validate_body(const PublishReward& publish) {
  if (publish.partner == 0) return invalid("partner id 0 is reserved");
  if (publish.reward_id == 0) return invalid("reward id 0 is reserved");
  const RewardTerms& terms = publish.terms;
  if (terms.name.empty() || terms.name.size() > name_bytes_max || !all_chars(terms.name, is_reward_char)) {
    return invalid("reward name must be 1 to 64 printable ASCII characters");
  }
  if (terms.cost_points == 0) return invalid("cost_points must be positive");
  if ((terms.limit_per_period == 0) != (terms.period_days == 0)) {
    return invalid("limit_per_period and period_days go together: both 0, or both positive");
  }
  if (terms.period_days > reward_period_days_max) return invalid("period_days is over 365");
  if (terms.valid_from_ms > block_time_ms_max || terms.valid_until_ms > block_time_ms_max) {
    return invalid("valid_from_ms and valid_until_ms must be at most 253402300799000");
  }
  if (terms.valid_until_ms != 0 && terms.valid_until_ms <= terms.valid_from_ms) {
    return invalid("valid_until_ms must be after valid_from_ms (or 0: no end)");
  }
  // min_tier's range depends on the chain's tier program: the state machine checks it.
  return {};
}

Status validate_body(const RedeemReward& redeem) {
  if (redeem.partner == 0) return invalid("partner id 0 is reserved");
  if (redeem.reward_id == 0) return invalid("reward id 0 is reserved");
  if (redeem.quantity == 0 || redeem.quantity > reward_quantity_max) {
    return invalid("quantity must be 1 to " + std::to_string(reward_quantity_max));
  }
  return {};
}

Status validate_body(const UseVoucher& use) {
  if (use.partner == 0) return invalid("partner id 0 is reserved");
  if (!is_voucher_code(use.code)) return invalid("a voucher code is 12 characters of 0-9 A-Z without I, L, O, U");
  return {};
}

Status validate_body(const PartialReturn& partial) {
  if (partial.partner == 0) return invalid("partner id 0 is reserved");
  if (auto status = validate_reference(partial.reference, "reference"); !status) return status;
  if (partial.amount_minor == 0 || partial.amount_minor > static_cast<std::uint64_t>(INT64_MAX)) {
    return invalid("amount_minor must be 1 to 2^63 - 1");
  }
  return {};
}

Status validate_body(const GrantTier& grant) {
  if (grant.partner == 0) return invalid("partner id 0 is reserved");
  if (grant.tier == 0 || grant.tier > tiers_max) return invalid("tier must be 1 to " + std::to_string(tiers_max));
  if (grant.until_ms == 0 || grant.until_ms > block_time_ms_max) {
    return invalid("until_ms must be 1 to 253402300799000");
  }
  return {};
}

Status validate_name(std::string_view name, std::string_view what) {
  if (name.empty() || name.size() > name_bytes_max || !all_chars(name, is_reward_char)) {
    return invalid(std::string(what) + " must be 1 to 64 printable ASCII characters");
  }
  return {};
}

Status validate_body(const PrepaidTopUp& top_up) {
  if (top_up.partner == 0) return invalid("partner id 0 is reserved");
  if (top_up.points == 0 || top_up.points % prepaid_block_points != 0) {
    return invalid("points must be a positive multiple of " + std::to_string(prepaid_block_points));
  }
  return validate_reference(top_up.reference, "reference");
}

Status validate_body(const SetPointValue& set) {
  if (set.partner == 0) return invalid("partner id 0 is reserved");
  return validate_point_value(set.value);
}

Status validate_body(const PayWithPoints& pay) { return validate_payment_request(pay.request.request); }

void encode_body(Writer& out, const SetPointValue& set) {
  out.u16(set.partner);
  encode_point_value(out, set.value);
}

void encode_body(Writer& out, const PayWithPoints& pay) {
  out.raw(pay.customer);
  encode_payment_request(out, pay.request);
}

Status validate_validity(std::uint64_t valid_from_ms, std::uint64_t valid_until_ms) {
  if (valid_from_ms > block_time_ms_max || valid_until_ms > block_time_ms_max) {
    return invalid("valid_from_ms and valid_until_ms must be at most 253402300799000");
  }
  if (valid_until_ms != 0 && valid_until_ms <= valid_from_ms) {
    return invalid("valid_until_ms must be after valid_from_ms (or 0: no end)");
  }
  return {};
}

Status validate_body(const DefineStampCard& define) {
  if (define.partner == 0) return invalid("partner id 0 is reserved");
  if (define.card_id == 0) return invalid("card id 0 is reserved");
  const StampCardTerms& terms = define.terms;
  if (auto status = validate_name(terms.name, "card name"); !status) return status;
  if (terms.stamps_needed == 0 || terms.stamps_needed > stamp_card_stamps_max) {
    return invalid("stamps_needed must be 1 to " + std::to_string(stamp_card_stamps_max));
  }
  if (terms.min_amount_minor > static_cast<std::uint64_t>(INT64_MAX)) return invalid("min_amount_minor is over 2^63 - 1");
  if (!is_currency_code(terms.currency)) return invalid("currency must be an ISO 4217 code of three capital letters");
  if (terms.rule != StampRule::per_order && terms.rule != StampRule::per_day) {
    return invalid("stamp rule must be 1 (per order) or 2 (per day)");
  }
  if (terms.reward_id == 0) return invalid("reward id 0 is reserved");
  if (terms.card_days > stamp_card_days_max) {
    return invalid("card_days is over " + std::to_string(stamp_card_days_max));
  }
  return validate_validity(terms.valid_from_ms, terms.valid_until_ms);
}

Status validate_body(const DefineBadge& define) {
  if (define.partner == 0) return invalid("partner id 0 is reserved");
  if (define.badge_id == 0) return invalid("badge id 0 is reserved");
  const BadgeTerms& terms = define.terms;
  if (auto status = validate_name(terms.name, "badge name"); !status) return status;
  switch (terms.rule) {
    case BadgeRule::action_count:
      if (!terms.reason || !reason_from_name(reason_name(*terms.reason))) {
        return invalid("a badge counting actions names the Issue reason it counts");
      }
      if (terms.threshold == 0) return invalid("threshold must be positive");
      return {};
    case BadgeRule::points_earned:
      if (terms.reason) return invalid("only a badge counting actions names a reason");
      if (terms.threshold == 0) return invalid("threshold must be positive");
      return {};
    case BadgeRule::awarded:
      if (terms.reason) return invalid("only a badge counting actions names a reason");
      if (terms.threshold != 0) return invalid("an awarded badge has threshold 0");
      return {};
  }
  return invalid("badge rule must be 1 (action count), 2 (points earned) or 3 (awarded)");
}

Status validate_body(const AwardBadge& award) {
  if (award.partner == 0) return invalid("partner id 0 is reserved");
  if (award.badge_id == 0) return invalid("badge id 0 is reserved");
  return {};
}

void encode_body(Writer& out, const DefineStampCard& define) {
  out.u16(define.partner);
  out.u32(define.card_id);
  encode_stamp_card_terms(out, define.terms);
}

void encode_body(Writer& out, const DefineBadge& define) {
  out.u16(define.partner);
  out.u32(define.badge_id);
  encode_badge_terms(out, define.terms);
}

void encode_body(Writer& out, const AwardBadge& award) {
  out.u16(award.partner);
  out.u32(award.badge_id);
  out.raw(award.customer);
}

void encode_body(Writer& out, const Issue& issue) {
  out.u16(issue.partner);
  out.raw(issue.customer);
  out.u64(issue.points);
  out.u8(static_cast<std::uint8_t>(issue.reason));
  out.string(issue.reference);
  out.u16(issue.pending_days);
  out.u8(issue.purchase ? 1 : 0);
  if (issue.purchase) {
    out.i64(issue.purchase->amount_minor);
    out.raw(as_bytes(issue.purchase->currency));
  }
}

void encode_body(Writer& out, const Redeem& redeem) {
  out.raw(redeem.customer);
  out.u16(redeem.partner);
  out.u64(redeem.points);
  out.string(redeem.reward);
}

void encode_body(Writer& out, const Transfer& transfer) {
  out.raw(transfer.from);
  out.raw(transfer.to);
  out.u64(transfer.points);
}

void encode_body(Writer& out, const Reverse& reverse) {
  out.u16(reverse.partner);
  out.string(reverse.reference);
}

void encode_body(Writer& out, const PublishReward& publish) {
  out.u16(publish.partner);
  out.u32(publish.reward_id);
  encode_reward_terms(out, publish.terms);
}

void encode_body(Writer& out, const RedeemReward& redeem) {
  out.raw(redeem.customer);
  out.u16(redeem.partner);
  out.u32(redeem.reward_id);
  out.u16(redeem.quantity);
}

void encode_body(Writer& out, const UseVoucher& use) {
  out.u16(use.partner);
  out.raw(as_bytes(use.code));
}

void encode_body(Writer& out, const PartialReturn& partial) {
  out.u16(partial.partner);
  out.string(partial.reference);
  out.u64(partial.amount_minor);
}

void encode_body(Writer& out, const GrantTier& grant) {
  out.u16(grant.partner);
  out.raw(grant.customer);
  out.u8(grant.tier);
  out.u64(grant.until_ms);
}

void encode_body(Writer& out, const PrepaidTopUp& top_up) {
  out.u16(top_up.partner);
  out.u64(top_up.points);
  out.string(top_up.reference);
}

TxBody decode_body(Reader& in, std::uint8_t type) {
  switch (type) {
    case 1: {
      Issue issue;
      issue.partner = in.u16();
      issue.customer = in.fixed<32>();
      issue.points = in.u64();
      issue.reason = static_cast<Reason>(in.u8());
      issue.reference = in.string(reference_bytes_max, "reference");
      issue.pending_days = in.u16();
      const std::uint8_t has_purchase = in.u8();
      if (has_purchase > 1) in.fail(Code::invalid_field, "purchase flag must be 0 or 1");
      if (has_purchase == 1) {
        Purchase purchase;
        purchase.amount_minor = in.i64();
        ByteSpan currency = in.raw(3);
        purchase.currency.assign(currency.begin(), currency.end());
        issue.purchase = std::move(purchase);
      }
      return issue;
    }
    case 2: {
      Redeem redeem;
      redeem.customer = in.fixed<32>();
      redeem.partner = in.u16();
      redeem.points = in.u64();
      redeem.reward = in.string(reward_bytes_max, "reward");
      return redeem;
    }
    case 3: {
      Transfer transfer;
      transfer.from = in.fixed<32>();
      transfer.to = in.fixed<32>();
      transfer.points = in.u64();
      return transfer;
    }
    case 4: {
      Reverse reverse;
      reverse.partner = in.u16();
      reverse.reference = in.string(reference_bytes_max, "reference");
      return reverse;
    }
    case 5: {
      PublishReward publish;
      publish.partner = in.u16();
      publish.reward_id = in.u32();
      publish.terms = decode_reward_terms(in);
      return publish;
    }
    case 6: {
      RedeemReward redeem;
      redeem.customer = in.fixed<32>();
      redeem.partner = in.u16();
      redeem.reward_id = in.u32();
      redeem.quantity = in.u16();
      return redeem;
    }
    case 7: {
      UseVoucher use;
      use.partner = in.u16();
      ByteSpan code = in.raw(voucher_code_chars);
      use.code.assign(code.begin(), code.end());
      return use;
    }
    case 8: {
      PartialReturn partial;
      partial.partner = in.u16();
      partial.reference = in.string(reference_bytes_max, "reference");
      partial.amount_minor = in.u64();
      return partial;
    }
    case 9: {
      GrantTier grant;
      grant.partner = in.u16();
      grant.customer = in.fixed<32>();
      grant.tier = in.u8();
      grant.until_ms = in.u64();
      return grant;
    }
    case 10: {
      PrepaidTopUp top_up;
      top_up.partner = in.u16();
      top_up.points = in.u64();
      top_up.reference = in.string(reference_bytes_max, "reference");
      return top_up;
    }
    case 11: {
      SetPointValue set;
      set.partner = in.u16();
      set.value = decode_point_value(in);
      return set;
    }
    case 12: {
      PayWithPoints pay;
      pay.customer = in.fixed<32>();
      pay.request = decode_payment_request(in);
      return pay;
    }
    case 13: {
      DefineStampCard define;
      define.partner = in.u16();
      define.card_id = in.u32();
      define.terms = decode_stamp_card_terms(in);
      return define;
    }
    case 14: {
      DefineBadge define;
      define.partner = in.u16();
      define.badge_id = in.u32();
      define.terms = decode_badge_terms(in);
      return define;
    }
    case 15: {
      AwardBadge award;
      award.partner = in.u16();
      award.badge_id = in.u32();
      award.customer = in.fixed<32>();
      return award;
    }
    default:
      in.fail(Code::unknown_type, "transaction type " + std::to_string(type) + " is not defined");
      return Issue{};
  }
}

}  // namespace

void encode_reward_terms(Writer& out, const RewardTerms& terms) {
  out.string(terms.name);
  out.u64(terms.cost_points);
  out.u8(terms.stock ? 1 : 0);
  if (terms.stock) out.u64(*terms.stock);
  out.u32(terms.limit_per_customer);
  out.u32(terms.limit_per_period);
  out.u16(terms.period_days);
  out.u64(terms.valid_from_ms);
  out.u64(terms.valid_until_ms);
  out.u8(terms.min_tier);
  out.u8(terms.active ? 1 : 0);
}

RewardTerms decode_reward_terms(Reader& in) {
  RewardTerms terms;
  terms.name = in.string(name_bytes_max, "reward name");
  terms.cost_points = in.u64();
  const std::uint8_t limited = in.u8();
  if (limited > 1) in.fail(Code::invalid_field, "stock flag must be 0 or 1");
  if (limited == 1) terms.stock = in.u64();
  terms.limit_per_customer = in.u32();
  terms.limit_per_period = in.u32();
  terms.period_days = in.u16();
  terms.valid_from_ms = in.u64();
  terms.valid_until_ms = in.u64();
  terms.min_tier = in.u8();
  const std::uint8_t active = in.u8();
  if (active > 1) in.fail(Code::invalid_field, "active flag must be 0 or 1");
  terms.active = active == 1;
  return terms;
}

void encode_stamp_card_terms(Writer& out, const StampCardTerms& terms) {
  out.string(terms.name);
  out.u16(terms.stamps_needed);
  out.u64(terms.min_amount_minor);
  out.raw(as_bytes(terms.currency));
  out.u8(static_cast<std::uint8_t>(terms.rule));
  out.u32(terms.reward_id);
  out.u16(terms.card_days);
  out.u64(terms.valid_from_ms);
  out.u64(terms.valid_until_ms);
  out.u8(terms.active ? 1 : 0);
}

StampCardTerms decode_stamp_card_terms(Reader& in) {
  StampCardTerms terms;
  terms.name = in.string(name_bytes_max, "card name");
  terms.stamps_needed = in.u16();
  terms.min_amount_minor = in.u64();
  ByteSpan currency = in.raw(3);
  terms.currency.assign(currency.begin(), currency.end());
  terms.rule = static_cast<StampRule>(in.u8());
  terms.reward_id = in.u32();
  terms.card_days = in.u16();
  terms.valid_from_ms = in.u64();
  terms.valid_until_ms = in.u64();
  const std::uint8_t active = in.u8();
  if (active > 1) in.fail(Code::invalid_field, "active flag must be 0 or 1");
  terms.active = active == 1;
  return terms;
}

void encode_badge_terms(Writer& out, const BadgeTerms& terms) {
  out.string(terms.name);
  out.u8(static_cast<std::uint8_t>(terms.rule));
  out.u8(terms.reason ? static_cast<std::uint8_t>(*terms.reason) : 0);
  out.u64(terms.threshold);
  out.u8(terms.active ? 1 : 0);
}

BadgeTerms decode_badge_terms(Reader& in) {
  BadgeTerms terms;
  terms.name = in.string(name_bytes_max, "badge name");
  terms.rule = static_cast<BadgeRule>(in.u8());
  const std::uint8_t reason = in.u8();
  if (reason != 0) terms.reason = static_cast<Reason>(reason);
  terms.threshold = in.u64();
  const std::uint8_t active = in.u8();
  if (active > 1) in.fail(Code::invalid_field, "active flag must be 0 or 1");
  terms.active = active == 1;
  return terms;
}

std::string_view tx_type_name(TxType type) {
  switch (type) {
    case TxType::issue: return "issue";
    case TxType::redeem: return "redeem";
    case TxType::transfer: return "transfer";
    case TxType::reverse: return "reverse";
    case TxType::publish_reward: return "publish_reward";
    case TxType::redeem_reward: return "redeem_reward";
    case TxType::use_voucher: return "use_voucher";
    case TxType::partial_return: return "return";
    case TxType::grant_tier: return "grant_tier";
    case TxType::prepaid_top_up: return "prepaid_top_up";
    case TxType::set_point_value: return "set_point_value";
    case TxType::pay_with_points: return "pay_with_points";
    case TxType::define_stamp_card: return "define_stamp_card";
    case TxType::define_badge: return "define_badge";
    case TxType::award_badge: return "award_badge";
  }
  return "unknown";
}

std::uint16_t protocol_version_of_type(TxType type) {
  switch (type) {
    case TxType::issue:
    case TxType::redeem:
    case TxType::transfer:
    case TxType::reverse: return 1;
    case TxType::publish_reward:
    case TxType::redeem_reward:
    case TxType::use_voucher:
    case TxType::partial_return: return 3;
    case TxType::grant_tier:
    case TxType::prepaid_top_up:
    case TxType::set_point_value:
    case TxType::pay_with_points:
    case TxType::define_stamp_card:
    case TxType::define_badge:
    case TxType::award_badge: return 4;
  }
  return UINT16_MAX;
}

std::string_view reason_name(Reason reason) {
  const auto index = static_cast<std::size_t>(reason) - 1;
  return index < reason_names.size() ? reason_names[index] : std::string_view{};
}

std::optional<Reason> reason_from_name(std::string_view name) {
  for (std::size_t i = 0; i < reason_names.size(); ++i) {
    if (reason_names[i] == name) return static_cast<Reason>(i + 1);
  }
  return std::nullopt;
}

Hash256 Transaction::id_of(ByteSpan bytes) { return crypto::tagged_hash(domain::tx_id, {bytes}); }

bool is_valid_chain_id(std::string_view chain_id) {
  return !chain_id.empty() && chain_id.size() <= chain_id_bytes_max &&
         all_chars(chain_id, is_chain_id_char);
}

bool is_currency_code(std::string_view currency) {
  return currency.size() == 3 && all_chars(currency, [](char c) { return c >= 'A' && c <= 'Z'; });
}

bool is_reference_text(std::string_view reference) {
  return !reference.empty() && reference.size() <= reference_bytes_max && all_chars(reference, is_reference_char);
}

Status validate_fields(const UnsignedTransaction& fields) {
  if (!is_valid_chain_id(fields.chain_id)) {
    return invalid("chain id must be 1 to 32 characters of a-z 0-9 . -");
  }
  return std::visit([](const auto& body) { return validate_body(body); }, fields.body);
}

Bytes UnsignedTransaction::encode() const {
  Writer out;
  out.u8(encoding_version);
  out.u8(static_cast<std::uint8_t>(type()));
  out.string(chain_id);
  out.u64(sequence);
  out.u64(last_valid_height);
  std::visit([&out](const auto& value) { encode_body(out, value); }, body);
  return out.take();
}

Bytes UnsignedTransaction::signing_message() const {
  Bytes message(domain::tx_signature.begin(), domain::tx_signature.end());
  Bytes encoded = encode();
  message.insert(message.end(), encoded.begin(), encoded.end());
  return message;
}

Transaction::Transaction(UnsignedTransaction fields, const Signature& signature)
    : fields_(std::move(fields)), signature_(signature), bytes_(fields_.encode()) {
  bytes_.insert(bytes_.end(), signature_.begin(), signature_.end());
  id_ = id_of(bytes_);
}

Transaction Transaction::sign(UnsignedTransaction fields, const crypto::SecretKey& key) {
  const Signature signature = key.sign(fields.signing_message());
  return Transaction(std::move(fields), signature);
}

Transaction Transaction::with_signature(UnsignedTransaction fields, const Signature& signature) {
  return Transaction(std::move(fields), signature);
}

Result<Transaction> Transaction::decode(ByteSpan bytes) {
  if (bytes.size() > tx_bytes_max) {
    return Error{Code::too_large, "transaction of " + std::to_string(bytes.size()) +
                                      " bytes is over the limit " + std::to_string(tx_bytes_max)};
  }
  Reader in(bytes);
  const std::uint8_t version = in.u8();
  if (in.ok() && version != encoding_version) {
    return Error{Code::unknown_version, "transaction version " + std::to_string(version)};
  }
  UnsignedTransaction fields;
  const std::uint8_t type = in.u8();
  fields.chain_id = in.string(chain_id_bytes_max, "chain id");
  fields.sequence = in.u64();
  fields.last_valid_height = in.u64();
  if (in.ok()) fields.body = decode_body(in, type);
  const Signature signature = in.fixed<64>();
  if (auto status = in.finish(); !status) return status.error();
  if (auto status = validate_fields(fields); !status) return status.error();
  Transaction tx(std::move(fields), signature);
  // Canonical by construction: re-encoding must give back the input, byte for byte.
  if (!std::equal(tx.bytes().begin(), tx.bytes().end(), bytes.begin(), bytes.end())) {
    return Error{Code::invalid_field, "transaction is not in canonical form"};
  }
  return tx;
}

std::optional<PublicKey> Transaction::customer_signer() const {
  if (const auto* redeem = std::get_if<Redeem>(&fields_.body)) return redeem->customer;
  if (const auto* redeem = std::get_if<RedeemReward>(&fields_.body)) return redeem->customer;
  if (const auto* transfer = std::get_if<Transfer>(&fields_.body)) return transfer->from;
  if (const auto* pay = std::get_if<PayWithPoints>(&fields_.body)) return pay->customer;
  return std::nullopt;
}

std::optional<PartnerId> Transaction::partner_signer() const {
  if (const auto* issue = std::get_if<Issue>(&fields_.body)) return issue->partner;
  if (const auto* reverse = std::get_if<Reverse>(&fields_.body)) return reverse->partner;
  if (const auto* publish = std::get_if<PublishReward>(&fields_.body)) return publish->partner;
  if (const auto* use = std::get_if<UseVoucher>(&fields_.body)) return use->partner;
  if (const auto* partial = std::get_if<PartialReturn>(&fields_.body)) return partial->partner;
  if (const auto* grant = std::get_if<GrantTier>(&fields_.body)) return grant->partner;
  if (const auto* card = std::get_if<DefineStampCard>(&fields_.body)) return card->partner;
  if (const auto* badge = std::get_if<DefineBadge>(&fields_.body)) return badge->partner;
  if (const auto* award = std::get_if<AwardBadge>(&fields_.body)) return award->partner;
  if (const auto* set = std::get_if<SetPointValue>(&fields_.body)) return set->partner;
  return std::nullopt;
}

}  // namespace pc::ledger
