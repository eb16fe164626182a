#include "ledger/errors.hpp"

namespace pc::ledger {

std::string_view code_name(Code code) {
  switch (code) {
    case Code::ok: return "ok";
    case Code::truncated: return "truncated";
    case Code::trailing_bytes: return "trailing_bytes";
    case Code::non_minimal_length: return "non_minimal_length";
    case Code::unknown_type: return "unknown_type";
    case Code::unknown_version: return "unknown_version";
    case Code::too_large: return "too_large";
    case Code::invalid_field: return "invalid_field";
    case Code::invalid_public_key: return "invalid_public_key";
    case Code::non_canonical_order: return "non_canonical_order";
    case Code::unsupported_type: return "unsupported_type";
    case Code::bad_signature: return "bad_signature";
    case Code::wrong_chain_id: return "wrong_chain_id";
    case Code::unknown_partner: return "unknown_partner";
    case Code::sequence_too_low: return "sequence_too_low";
    case Code::sequence_too_high: return "sequence_too_high";
    case Code::expired: return "expired";
    case Code::validity_too_long: return "validity_too_long";
    case Code::duplicate_reference: return "duplicate_reference";
    case Code::insufficient_balance: return "insufficient_balance";
    case Code::overflow: return "overflow";
    case Code::cap_exceeded: return "cap_exceeded";
    case Code::transfer_not_allowed: return "transfer_not_allowed";
    case Code::already_reversed: return "already_reversed";
    case Code::unknown_issuance: return "unknown_issuance";
    case Code::self_transfer: return "self_transfer";
    case Code::account_lots_full: return "account_lots_full";
    case Code::issue_never_spendable: return "issue_never_spendable";
    case Code::unknown_reward: return "unknown_reward";
    case Code::reward_inactive: return "reward_inactive";
    case Code::reward_not_yet_valid: return "reward_not_yet_valid";
    case Code::reward_expired: return "reward_expired";
    case Code::reward_out_of_stock: return "reward_out_of_stock";
    case Code::reward_limit_reached: return "reward_limit_reached";
    case Code::reward_period_limit_reached: return "reward_period_limit_reached";
    case Code::catalog_full: return "catalog_full";
    case Code::unknown_voucher: return "unknown_voucher";
    case Code::voucher_used: return "voucher_used";
    case Code::voucher_code_taken: return "voucher_code_taken";
    case Code::return_exceeds_order: return "return_exceeds_order";
    case Code::no_purchase_amount: return "no_purchase_amount";
    case Code::unknown_tier: return "unknown_tier";
    case Code::tier_grant_ended: return "tier_grant_ended";
    case Code::tier_grant_too_long: return "tier_grant_too_long";
    case Code::tier_grant_held: return "tier_grant_held";
    case Code::tier_too_low: return "tier_too_low";
    case Code::prepaid_exhausted: return "prepaid_exhausted";
    case Code::not_prepaid: return "not_prepaid";
    case Code::no_point_value: return "no_point_value";
    case Code::payment_request_paid: return "payment_request_paid";
    case Code::payment_request_expired: return "payment_request_expired";
    case Code::payment_request_bad_signature: return "payment_request_bad_signature";
    case Code::payment_request_wrong_chain: return "payment_request_wrong_chain";
    case Code::point_value_mismatch: return "point_value_mismatch";
    case Code::stamp_cards_full: return "stamp_cards_full";
    case Code::badges_full: return "badges_full";
    case Code::unknown_badge: return "unknown_badge";
    case Code::badge_inactive: return "badge_inactive";
    case Code::badge_already_earned: return "badge_already_earned";
    case Code::unknown_customer: return "unknown_customer";
    case Code::wrong_height: return "wrong_height";
    case Code::wrong_previous_hash: return "wrong_previous_hash";
    case Code::bad_merkle_root: return "bad_merkle_root";
    case Code::bad_state_hash: return "bad_state_hash";
    case Code::bad_commit: return "bad_commit";
    case Code::wrong_proposer: return "wrong_proposer";
    case Code::bad_timestamp: return "bad_timestamp";
    case Code::unknown_proposer: return "unknown_proposer";
    case Code::invalid_transaction: return "invalid_transaction";
    case Code::io_error: return "io_error";
    case Code::corruption: return "corruption";
    case Code::state_mismatch: return "state_mismatch";
    case Code::invariant_violated: return "invariant_violated";
    case Code::not_found: return "not_found";
    case Code::genesis_mismatch: return "genesis_mismatch";
    case Code::referral_code_invalid: return "referral_code_invalid";
    case Code::referral_code_unknown: return "referral_code_unknown";
    case Code::referral_code_ambiguous: return "referral_code_ambiguous";
    case Code::self_referral: return "self_referral";
    case Code::already_referred: return "already_referred";
    case Code::referral_not_first_purchase: return "referral_not_first_purchase";
    case Code::referral_limit_reached: return "referral_limit_reached";
  }
  return "unknown_code";
}

std::string Error::message() const {
  std::string text(code_name(code));
  if (!detail.empty()) {
    text += ": ";
    text += detail;
  }
  return text;
}

}  // namespace pc::ledger
