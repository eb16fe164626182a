// Ledger and node values as the JSON shapes of docs/rpc.md. Pure functions: no node access.
// Hashes, keys, signatures and encodings are lowercase hex; accounts are "pc..." addresses;
// points, heights and times are JSON integers.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "ledger/block.hpp"
#include "node/network_info.hpp"
#include "node/node.hpp"

namespace pc::rpc {

// A reward's published terms (publish_reward transactions, get_rewards).
nlohmann::json reward_terms_json(const ledger::RewardTerms& terms);
nlohmann::json stamp_card_terms_json(const ledger::StampCardTerms& terms);
nlohmann::json badge_terms_json(const ledger::BadgeTerms& terms);
// "per_order", "per_day"; "action_count", "points_earned", "awarded" (docs/rpc.md).
std::string_view stamp_rule_name(ledger::StampRule rule);
std::optional<ledger::StampRule> stamp_rule_from_name(std::string_view name);
std::string_view badge_rule_name(ledger::BadgeRule rule);
std::optional<ledger::BadgeRule> badge_rule_from_name(std::string_view name);

// Paying with points (docs/rpc.md, "Paying with points").
// {currency, minor_units, points}
nlohmann::json point_value_json(const ledger::PointValue& value);
// {id, chain_id, partner, order_id, amount_minor, currency, points, expires_at_ms, nonce,
//  signature, text}: `text` is what the till shows as a QR code.
nlohmann::json payment_request_json(const ledger::SignedPaymentRequest& signed_request);
// {partner, customer, order_id, amount_minor, currency, points, paid_height, paid_at_ms, tx_id}
nlohmann::json payment_json(const ledger::PaymentRecord& payment);
// [{partner, currency, payments, points, amount_minor}] in (partner, currency) order.
nlohmann::json payment_totals_json(const std::map<ledger::PaymentTotalsKey, ledger::PaymentTotals>& totals);
// Adds point_value ({currency, minor_units, points, effective_height, revision} or null) and
// paid_with_points ([{currency, payments, points, amount_minor}]) to each get_partners entry.
void add_payment_figures(nlohmann::json& partners, const std::map<ledger::PartnerId, ledger::PointValueRecord>& values,
                         const std::map<ledger::PaymentTotalsKey, ledger::PaymentTotals>& totals);

// {id, type, chain_id, sequence, last_valid_height, signature, <body fields>}
nlohmann::json transaction_json(const ledger::Transaction& tx);

// {height, hash, previous_hash, time_ms, proposer, merkle_root, state_hash, transactions,
//  commit:[{validator, signature}], hex}
nlohmann::json block_json(const ledger::Block& block);

// {chain_id, coalition_name, height, block_hash, state_hash, time_ms, pending_count, partner,
//  supply:{issued, redeemed, expired, reversed, outstanding, accounts}}
nlohmann::json chain_info_json(const node::ChainInfo& info);

// {status, transaction, hex[, height, index, block_hash, proof:{index, count, path, merkle_root}]}
// `merkle_root` is the root of the block holding a committed transaction (unused when pending).
nlohmann::json transaction_status_json(const node::TxStatus& status, const ledger::Hash256& merkle_root);

// The account view and one history page; `now_ms` is the tip's time, from which
// expiring_within_30_days counts; `point_expiry_days` is the genesis policy (0: never).
// A customer's tier (get_account's "tier"): index and name, earned and granted, the date it is
// held until, the window's qualifying points and what the next tier needs.
nlohmann::json tier_json(const ledger::TierView& view, const ledger::TierProgram& program);

nlohmann::json account_json(const node::AccountView& view, const std::vector<node::HistoryEntry>& history,
                            std::uint64_t now_ms, std::uint32_t point_expiry_days);

// [{id, name, issuer_key, validator_key, voting_power, issued, redeemed_at, issued_redeemed,
//   expired, reversed, reversal_shortfall, liability}]
nlohmann::json partners_json(const std::vector<std::pair<ledger::Partner, ledger::PartnerStats>>& partners);
// Protocol version 4: each partner's billing terms and, if prepaid, its prepaid balance.
void add_billing(nlohmann::json& partners, const ledger::BillingTerms& terms,
                 const std::map<ledger::PartnerId, ledger::PrepaidBalance>& prepaid);

// [{issuer, redeemed_at, points}] in (issuer, redeemer) order.
nlohmann::json settlement_json(const std::map<std::pair<ledger::PartnerId, ledger::PartnerId>, std::uint64_t>& matrix);

// A complete notification message: {"jsonrpc":"2.0","method":"notification","params":{...}}.
nlohmann::json notification_json(std::uint64_t subscription, const node::Notification& notification);

// The last message a subscriber whose queue overflowed receives before the connection closes:
// params {subscription, kind:"error", error:{code, message, data}}.
nlohmann::json overflow_notification_json(std::uint64_t subscription);

// net_info: {enabled, listen_port, height, sync:{target_height, behind, blocks_synced},
//   peers:[{partner, name, address, direction, height, bytes_in, bytes_out, messages_in,
//   messages_out, last_seen_ms}]}; `height` is this node's tip.
nlohmann::json net_info_json(const ledger::Genesis& genesis, const node::NetworkInfo& network, std::uint64_t height);

// consensus_state: {height, round, step, decided, total_voting_power, quorum_power,
//   prevotes:{power, votes:[{validator, name, voting_power, block_id}]}, precommits:{...}}.
nlohmann::json consensus_state_json(const ledger::Genesis& genesis, const node::ConsensusState& state);

std::string hash_hex(const ledger::Hash256& hash);

}  // namespace pc::rpc
