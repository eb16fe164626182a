// Every rule a transaction, block or store operation can break has one stable code
// (rippled's TER). Codes are grouped by class in blocks of 100. A code is stored in
// receipts and sent over RPC, so it is never renumbered; a retired code stays here as a
// comment. docs/protocol.md lists them; rpc maps each to an application error code.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/result.hpp"

namespace pc::ledger {

enum class Code : std::uint16_t {
  ok = 0,

  // 100-199 malformed: the bytes or fields are wrong no matter what the state is.
  truncated = 100,             // input ends inside a field
  trailing_bytes = 101,        // bytes left over after a complete value
  non_minimal_length = 102,    // a length prefix not in its shortest form
  unknown_type = 103,          // transaction type tag not defined
  unknown_version = 104,       // encoding version not supported
  too_large = 105,             // over a named size limit
  invalid_field = 106,         // a field outside its allowed values (zero points, bad currency...)
  invalid_public_key = 107,    // not a valid ed25519 key (see docs/crypto.md)
  non_canonical_order = 108,   // a list that must be sorted or unique is not
  unsupported_type = 109,      // a transaction type the chain's protocol version does not have

  // 200-299 authorisation: who signed, and for which chain.
  bad_signature = 200,
  wrong_chain_id = 201,
  unknown_partner = 202,
  // 203 is free.

  // 300-399 replay and timing: may become valid later, or never again.
  sequence_too_low = 300,      // already used: a replay or a stale transaction
  sequence_too_high = 301,     // a gap: an earlier transaction of this signer is missing
  expired = 302,               // the block height is past the transaction's last-valid height
  validity_too_long = 303,     // last-valid height further ahead than the protocol allows
  duplicate_reference = 304,   // this partner has already issued under this reference

  // 400-499 state: well formed and authorised, but the ledger says no.
  insufficient_balance = 400,  // not enough spendable points (pending points do not count)
  overflow = 401,              // a counter would pass 2^64 - 1
  cap_exceeded = 402,          // the partner's outstanding liability would pass the policy cap
  transfer_not_allowed = 403,  // policy forbids customer-to-customer transfers
  already_reversed = 404,
  unknown_issuance = 405,      // Reverse names a reference this partner never issued
  self_transfer = 406,
  account_lots_full = 407,     // the receiving account holds lots_per_account_max lots already
  issue_never_spendable = 408, // pending_days reaches point_expiry_days (protocol version 2 on)
  // 409-421: the rewards catalog, vouchers and partial returns (protocol version 3 on).
  unknown_reward = 409,        // the partner has no reward with this id
  reward_inactive = 410,       // the reward is published but switched off
  reward_not_yet_valid = 411,  // the block time is before the reward's valid_from_ms
  reward_expired = 412,        // the block time is at or after the reward's valid_until_ms
  reward_out_of_stock = 413,   // fewer units left than the quantity asked for
  reward_limit_reached = 414,  // the customer's total limit for this reward would be passed
  reward_period_limit_reached = 415,  // the customer's limit for this period would be passed
  catalog_full = 416,          // the partner has rewards_per_partner_max rewards already
  unknown_voucher = 417,       // the partner has no voucher with this code
  voucher_used = 418,          // the voucher was used before
  voucher_code_taken = 419,    // a new voucher's code equals one the partner has (sign again)
  return_exceeds_order = 420,  // returned amounts would pass the order's purchase amount
  no_purchase_amount = 421,    // a partial return of an issuance that records no purchase
  // 422-426: tiers (protocol version 4 on). 427-429 are free.
  unknown_tier = 422,          // a tier index the genesis tier program does not have
  tier_grant_ended = 423,      // GrantTier's until_ms is not after the block time
  tier_grant_too_long = 424,   // GrantTier's period is longer than tier_grant_days_max
  tier_grant_held = 425,       // another partner's grant to this customer is still running
  tier_too_low = 426,          // the customer's tier is below the reward's min_tier
  // 430-437: billing (protocol version 4 on).
  prepaid_exhausted = 430,     // a prepaid partner's Issue needs more points than its prepaid balance
  not_prepaid = 431,           // PrepaidTopUp for a partner whose billing plan is not prepaid
  // 440-449: paying with points at a till (protocol version 4 on).
  no_point_value = 440,        // the partner has not declared what its points are worth
  payment_request_paid = 441,  // this payment request was paid before
  payment_request_expired = 442,  // the block time is past the request's expires_at_ms
  payment_request_bad_signature = 443,  // the request is not signed by its partner's issuer key: tampered
  payment_request_wrong_chain = 444,    // the request names another chain
  point_value_mismatch = 445,  // the request's currency or points differ from the rate in force
  // 450-459: stamp cards and badges (protocol version 4 on).
  stamp_cards_full = 450,      // the partner has stamp_cards_per_partner_max cards already
  badges_full = 451,           // the partner has badges_per_partner_max badges already
  unknown_badge = 452,         // the partner has no badge with this id
  badge_inactive = 453,        // the badge is defined but switched off
  badge_already_earned = 454,  // the customer holds this badge already
  unknown_customer = 455,      // no account holds this key

  // 500-599 block: a block that does not fit on the chain.
  wrong_height = 500,
  wrong_previous_hash = 501,
  bad_merkle_root = 502,
  bad_state_hash = 503,
  bad_commit = 504,            // signatures missing, invalid, or short of 2/3 voting power
  bad_timestamp = 505,         // not strictly after the previous block
  unknown_proposer = 506,
  invalid_transaction = 507,   // a transaction in the block fails; the detail names it
  wrong_proposer = 508,        // not the proposer the schedule names for the header's round

  // 600-699 storage and audit.
  io_error = 600,
  corruption = 601,            // stored bytes do not decode or do not match their hash
  state_mismatch = 602,        // replayed state differs from the stored state
  invariant_violated = 603,
  not_found = 604,
  genesis_mismatch = 605,      // a data dir opened with another genesis than it was made with

  // 700-799 a partner node's own earning rules (off chain): the chain never returns these;
  // the node that runs the rules does (docs/earning-rules.md, "Referrals").
  referral_code_invalid = 700,        // not a referral code: length, a character, the check
  referral_code_unknown = 701,        // no account on the chain has this code
  referral_code_ambiguous = 702,      // two accounts share the code's 55 key bits
  self_referral = 703,                // the referrer is the purchasing customer
  already_referred = 704,             // this partner has given the customer referral points
  referral_not_first_purchase = 705,  // the customer has bought from this partner before
  referral_limit_reached = 706,       // the referrer has had its limit of referrals this period
};

// The code's stable snake_case name, as used in RPC and CLI output ("insufficient_balance").
std::string_view code_name(Code code);

struct Error {
  Code code;
  std::string detail;  // one line for people; never parsed

  std::string message() const;  // "insufficient_balance: has 10 spendable, needs 50"
};

template <class T>
using Result = pc::Result<T, Error>;
using Status = pc::Result<void, Error>;

}  // namespace pc::ledger
