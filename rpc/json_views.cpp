#include "rpc/json_views.hpp"

#include <set>
#include <type_traits>

#include "crypto/address.hpp"
#include "crypto/check.hpp"
#include "ledger/limits.hpp"
#include "ledger/voucher.hpp"
#include "node/audit_command.hpp"
#include "rpc/errors.hpp"
#include "rpc/limits.hpp"

namespace pc::rpc {

using nlohmann::json;

std::string hash_hex(const ledger::Hash256& hash) { return to_hex(hash); }

json reward_terms_json(const ledger::RewardTerms& terms) {
  return json{{"name", terms.name},
              {"cost_points", terms.cost_points},
              {"stock", terms.stock ? json(*terms.stock) : json(nullptr)},
              {"limit_per_customer", terms.limit_per_customer},
              {"limit_per_period", terms.limit_per_period},
              {"period_days", terms.period_days},
              {"valid_from_ms", terms.valid_from_ms},
              {"valid_until_ms", terms.valid_until_ms},
              {"min_tier", terms.min_tier},
              {"active", terms.active}};
}

std::string_view stamp_rule_name(ledger::StampRule rule) { return rule == ledger::StampRule::per_day ? "per_day" : "per_order"; }

std::optional<ledger::StampRule> stamp_rule_from_name(std::string_view name) {
  if (name == "per_order") return ledger::StampRule::per_order;
  if (name == "per_day") return ledger::StampRule::per_day;
  return std::nullopt;
}

std::string_view badge_rule_name(ledger::BadgeRule rule) {
  switch (rule) {
    case ledger::BadgeRule::action_count: return "action_count";
    case ledger::BadgeRule::points_earned: return "points_earned";
    case ledger::BadgeRule::awarded: return "awarded";
  }
  return "unknown";
}

std::optional<ledger::BadgeRule> badge_rule_from_name(std::string_view name) {
  for (ledger::BadgeRule rule : {ledger::BadgeRule::action_count, ledger::BadgeRule::points_earned, ledger::BadgeRule::awarded}) {
    if (badge_rule_name(rule) == name) return rule;
  }
  return std::nullopt;
}

json stamp_card_terms_json(const ledger::StampCardTerms& terms) {
  return json{{"name", terms.name},
              {"stamps_needed", terms.stamps_needed},
              {"min_amount_minor", terms.min_amount_minor},
              {"currency", terms.currency},
              {"rule", std::string(stamp_rule_name(terms.rule))},
              {"reward_id", terms.reward_id},
              {"card_days", terms.card_days},
              {"valid_from_ms", terms.valid_from_ms},
              {"valid_until_ms", terms.valid_until_ms},
              {"active", terms.active}};
}

json badge_terms_json(const ledger::BadgeTerms& terms) {
  return json{{"name", terms.name},
              {"rule", std::string(badge_rule_name(terms.rule))},
              {"reason", terms.reason ? json(std::string(ledger::reason_name(*terms.reason))) : json(nullptr)},
              {"threshold", terms.threshold},
              {"active", terms.active}};
}

json point_value_json(const ledger::PointValue& value) {
  return json{{"currency", value.currency}, {"minor_units", value.minor_units}, {"points", value.points}};
}

json payment_request_json(const ledger::SignedPaymentRequest& signed_request) {
  const ledger::PaymentRequest& request = signed_request.request;
  return json{{"id", hash_hex(request.id())},
              {"chain_id", request.chain_id},
              {"partner", request.partner},
              {"order_id", request.order_id},
              {"amount_minor", request.amount_minor},
              {"currency", request.currency},
              {"points", request.points},
              {"expires_at_ms", request.expires_at_ms},
              {"nonce", request.nonce},
              {"signature", to_hex(signed_request.signature)},
              {"text", signed_request.text()}};
}

json payment_json(const ledger::PaymentRecord& payment) {
  return json{{"partner", payment.partner},
              {"customer", crypto::encode_address(payment.customer)},
              {"order_id", payment.order_id},
              {"amount_minor", payment.amount_minor},
              {"currency", payment.currency},
              {"points", payment.points},
              {"paid_height", payment.paid_height},
              {"paid_at_ms", payment.paid_at_ms},
              {"tx_id", hash_hex(payment.tx_id)}};
}

json payment_totals_json(const std::map<ledger::PaymentTotalsKey, ledger::PaymentTotals>& totals) {
  json out = json::array();
  for (const auto& [key, sums] : totals) {
    out.push_back({{"partner", key.first},
                   {"currency", key.second},
                   {"payments", sums.payments},
                   {"points", sums.points},
                   {"amount_minor", sums.amount_minor}});
  }
  return out;
}

void add_payment_figures(json& partners, const std::map<ledger::PartnerId, ledger::PointValueRecord>& values,
                         const std::map<ledger::PaymentTotalsKey, ledger::PaymentTotals>& totals) {
  for (json& entry : partners) {
    const auto id = entry.at("id").get<ledger::PartnerId>();
    json value = nullptr;
    if (auto found = values.find(id); found != values.end()) {
      value = point_value_json(found->second.value);
      value["effective_height"] = found->second.effective_height;
      value["revision"] = found->second.revision;
    }
    json paid = json::array();
    for (auto it = totals.lower_bound({id, std::string()}); it != totals.end() && it->first.first == id; ++it) {
      paid.push_back({{"currency", it->first.second},
                      {"payments", it->second.payments},
                      {"points", it->second.points},
                      {"amount_minor", it->second.amount_minor}});
    }
    entry["point_value"] = std::move(value);
    entry["paid_with_points"] = std::move(paid);
  }
}

namespace {

void add_body_fields(json& out, const ledger::TxBody& body) {
  std::visit(
      [&out](const auto& fields) {
        using Body = std::decay_t<decltype(fields)>;
        if constexpr (std::is_same_v<Body, ledger::Issue>) {
          out["partner"] = fields.partner;
          out["customer"] = crypto::encode_address(fields.customer);
          out["points"] = fields.points;
          out["reason"] = std::string(ledger::reason_name(fields.reason));
          out["reference"] = fields.reference;
          out["pending_days"] = fields.pending_days;
          if (fields.purchase) {
            out["purchase"] = {{"amount_minor", fields.purchase->amount_minor},
                               {"currency", fields.purchase->currency}};
          }
        } else if constexpr (std::is_same_v<Body, ledger::Redeem>) {
          out["customer"] = crypto::encode_address(fields.customer);
          out["partner"] = fields.partner;
          out["points"] = fields.points;
          out["reward"] = fields.reward;
        } else if constexpr (std::is_same_v<Body, ledger::Transfer>) {
          out["from"] = crypto::encode_address(fields.from);
          out["to"] = crypto::encode_address(fields.to);
          out["points"] = fields.points;
        } else if constexpr (std::is_same_v<Body, ledger::Reverse>) {
          out["partner"] = fields.partner;
          out["reference"] = fields.reference;
        } else if constexpr (std::is_same_v<Body, ledger::PublishReward>) {
          out["partner"] = fields.partner;
          out["reward_id"] = fields.reward_id;
          out["terms"] = reward_terms_json(fields.terms);
        } else if constexpr (std::is_same_v<Body, ledger::RedeemReward>) {
          out["customer"] = crypto::encode_address(fields.customer);
          out["partner"] = fields.partner;
          out["reward_id"] = fields.reward_id;
          out["quantity"] = fields.quantity;
        } else if constexpr (std::is_same_v<Body, ledger::UseVoucher>) {
          out["partner"] = fields.partner;
          out["code"] = ledger::format_voucher_code(fields.code);
        } else if constexpr (std::is_same_v<Body, ledger::DefineStampCard>) {
          out["partner"] = fields.partner;
          out["card_id"] = fields.card_id;
          out["terms"] = stamp_card_terms_json(fields.terms);
        } else if constexpr (std::is_same_v<Body, ledger::DefineBadge>) {
          out["partner"] = fields.partner;
          out["badge_id"] = fields.badge_id;
          out["terms"] = badge_terms_json(fields.terms);
        } else if constexpr (std::is_same_v<Body, ledger::AwardBadge>) {
          out["partner"] = fields.partner;
          out["badge_id"] = fields.badge_id;
          out["customer"] = crypto::encode_address(fields.customer);
        } else if constexpr (std::is_same_v<Body, ledger::PartialReturn>) {
          out["partner"] = fields.partner;
          out["reference"] = fields.reference;
          out["amount_minor"] = fields.amount_minor;
        } else if constexpr (std::is_same_v<Body, ledger::GrantTier>) {
          out["partner"] = fields.partner;
          out["customer"] = crypto::encode_address(fields.customer);
          out["tier"] = fields.tier;
          out["until_ms"] = fields.until_ms;
        } else if constexpr (std::is_same_v<Body, ledger::PrepaidTopUp>) {
          out["partner"] = fields.partner;
          out["points"] = fields.points;
          out["reference"] = fields.reference;
        } else if constexpr (std::is_same_v<Body, ledger::SetPointValue>) {
          out["partner"] = fields.partner;
          out["point_value"] = point_value_json(fields.value);
        } else {
          static_assert(std::is_same_v<Body, ledger::PayWithPoints>);
          out["customer"] = crypto::encode_address(fields.customer);
          out["partner"] = fields.request.request.partner;
          out["points"] = fields.request.request.points;
          out["payment_request"] = payment_request_json(fields.request);
        }
      },
      body);
}

}  // namespace

json transaction_json(const ledger::Transaction& tx) {
  const ledger::UnsignedTransaction& fields = tx.fields();
  json out = {
      {"id", hash_hex(tx.id())},
      {"type", std::string(ledger::tx_type_name(tx.type()))},
      {"chain_id", fields.chain_id},
      {"sequence", fields.sequence},
      {"last_valid_height", fields.last_valid_height},
      {"signature", to_hex(tx.signature())},
  };
  add_body_fields(out, fields.body);
  return out;
}

json block_json(const ledger::Block& block) {
  const ledger::BlockHeader& header = block.header;
  json transactions = json::array();
  for (const ledger::Transaction& tx : block.transactions) transactions.push_back(transaction_json(tx));
  json commit = json::array();
  for (const ledger::CommitSignature& signature : block.commit.signatures) {
    commit.push_back({{"validator", signature.validator}, {"signature", to_hex(signature.signature)}});
  }
  return json{
      {"height", header.height},
      {"hash", hash_hex(header.hash())},
      {"previous_hash", hash_hex(header.previous_hash)},
      {"time_ms", header.time_ms},
      {"proposer", header.proposer},
      {"merkle_root", hash_hex(header.merkle_root)},
      {"state_hash", hash_hex(header.state_hash)},
      {"transactions", std::move(transactions)},
      {"commit", std::move(commit)},
      {"hex", to_hex(block.encode())},
  };
}

namespace {

json partner_name_json(const ledger::Genesis& genesis, ledger::PartnerId id) {
  const ledger::Partner* partner = genesis.partner(id);
  return partner != nullptr ? json(partner->name) : json(nullptr);
}

// The votes of one type, and the power behind them: a validator counts once, however many
// blocks it voted for.
json votes_json(const ledger::Genesis& genesis, const std::vector<node::VoteSeen>& votes) {
  json list = json::array();
  std::set<ledger::PartnerId> counted;
  std::uint64_t power = 0;
  for (const node::VoteSeen& vote : votes) {
    if (counted.insert(vote.validator).second) power += vote.voting_power;
    list.push_back(json{{"validator", vote.validator},
                        {"name", partner_name_json(genesis, vote.validator)},
                        {"voting_power", vote.voting_power},
                        {"block_id", vote.block_id ? json(hash_hex(*vote.block_id)) : json(nullptr)}});
  }
  return json{{"power", power}, {"votes", std::move(list)}};
}

std::string_view step_name(consensus::Step step) {
  switch (step) {
    case consensus::Step::propose: return "propose";
    case consensus::Step::prevote: return "prevote";
    case consensus::Step::precommit: return "precommit";
  }
  return "unknown";
}

}  // namespace

json net_info_json(const ledger::Genesis& genesis, const node::NetworkInfo& network, std::uint64_t height) {
  json peers = json::array();
  for (const node::PeerNetInfo& peer : network.peers) {
    peers.push_back(json{{"partner", peer.partner},
                         {"name", peer.partner == 0 ? json("observer") : partner_name_json(genesis, peer.partner)},
                         {"address", peer.address},
                         {"direction", peer.outbound ? "out" : "in"},
                         {"height", peer.status_known ? json(peer.height) : json(nullptr)},
                         {"bytes_in", peer.bytes_in},
                         {"bytes_out", peer.bytes_out},
                         {"messages_in", peer.messages_in},
                         {"messages_out", peer.messages_out},
                         {"last_seen_ms", peer.last_seen_ms}});
  }
  json sent = json::object();
  for (std::size_t i = 0; i < network.sent_by_type.size(); ++i) {
    const auto type = static_cast<node::PeerMessageType>(i + 1);
    sent[std::string(node::peer_message_type_name(type))] =
        json{{"messages", network.sent_by_type[i].messages}, {"bytes", network.sent_by_type[i].bytes}};
  }
  return json{{"enabled", network.enabled},
              {"listen_port", network.enabled ? json(network.listen_port) : json(nullptr)},
              {"height", height},
              {"sent", std::move(sent)},
              {"sync",
               {{"target_height", network.sync_target_height},
                {"behind", network.sync_target_height > height ? network.sync_target_height - height : 0},
                {"blocks_synced", network.blocks_synced}}},
              {"peers", std::move(peers)}};
}

json consensus_state_json(const ledger::Genesis& genesis, const node::ConsensusState& state) {
  return json{{"height", state.height},
              {"round", state.round},
              {"step", step_name(state.step)},
              {"decided", state.decided},
              {"total_voting_power", state.total_voting_power},
              // More than 2/3 of the power: the least integer above 2/3 of the total.
              {"quorum_power", state.total_voting_power * 2 / 3 + 1},
              {"prevotes", votes_json(genesis, state.prevotes)},
              {"precommits", votes_json(genesis, state.precommits)}};
}

json chain_info_json(const node::ChainInfo& info) {
  const ledger::Totals& totals = info.totals;
  return json{
      {"chain_id", info.chain_id},
      {"coalition_name", info.coalition_name},
      {"height", info.tip.height},
      {"block_hash", hash_hex(info.tip.block_hash)},
      {"state_hash", hash_hex(info.tip.state_hash)},
      {"time_ms", info.tip.time_ms},
      {"pending_count", info.pending_count},
      {"partner", info.partner},
      {"consensus",
       {{"voting_power", info.consensus.voting_power},
        {"total_voting_power", info.consensus.total_voting_power},
        {"commits_alone", info.consensus.commits_alone},
        {"peers", info.consensus.peers},
        {"height", info.consensus.height},
        {"round", info.consensus.round},
        {"status", node::consensus_status(info.consensus)}}},
      // Outstanding is the sum of balances; the ledger's invariant keeps it equal to
      // issued - redeemed - expired - reversed.
      {"supply",
       {{"issued", totals.issued},
        {"redeemed", totals.redeemed},
        {"expired", totals.expired},
        {"reversed", totals.reversed},
        {"outstanding", totals.balance_sum},
        {"accounts", totals.accounts}}},
  };
}

json transaction_status_json(const node::TxStatus& status, const ledger::Hash256& merkle_root) {
  const bool committed = status.where == node::TxStatus::Where::committed;
  json out = {
      {"status", committed ? "committed" : "pending"},
      {"transaction", transaction_json(status.tx)},
      {"hex", to_hex(status.tx.bytes())},
  };
  if (committed) {
    json path = json::array();
    for (const ledger::Hash256& sibling : status.merkle_path) path.push_back(hash_hex(sibling));
    out["height"] = status.height;
    out["index"] = status.index;
    out["block_hash"] = hash_hex(status.block_hash);
    out["proof"] = {{"index", status.index},
                    {"count", status.block_tx_count},
                    {"path", std::move(path)},
                    {"merkle_root", hash_hex(merkle_root)}};
  }
  return out;
}

json account_json(const node::AccountView& view, const std::vector<node::HistoryEntry>& history,
                  std::uint64_t now_ms, std::uint32_t point_expiry_days) {
  const std::uint64_t expiry_period_ms = std::uint64_t{point_expiry_days} * ledger::ms_per_day;
  // Block times stay below block_time_ms_max, so these sums cannot wrap.
  const std::uint64_t window_end_ms = now_ms + expiring_window_days * ledger::ms_per_day;
  std::uint64_t expiring_points = 0;
  json lots = json::array();
  for (const ledger::Lot& lot : view.account.lots) {
    json expires_at_ms = nullptr;
    if (point_expiry_days != 0) {
      const std::uint64_t expiry_ms = lot.earned_at_ms + expiry_period_ms;
      expires_at_ms = expiry_ms;
      if (expiry_ms <= window_end_ms) expiring_points += lot.points;
    }
    lots.push_back({{"partner", lot.partner},
                    {"issuance", {{"height", lot.issuance.height}, {"index", lot.issuance.index}}},
                    {"points", lot.points},
                    {"earned_at_ms", lot.earned_at_ms},
                    {"spendable_at_ms", lot.spendable_at_ms},
                    {"expires_at_ms", std::move(expires_at_ms)}});
  }
  json entries = json::array();
  for (const node::HistoryEntry& entry : history) {
    const bool expiry = entry.event.kind == ledger::Event::Kind::expired;
    entries.push_back({{"height", entry.height},
                       {"position", entry.position},
                       {"index", entry.index},
                       {"kind", std::string(ledger::event_kind_name(entry.event.kind))},
                       {"partner", entry.event.partner},
                       {"points", entry.event.points},
                       {"tx_id", expiry ? json(nullptr) : json(hash_hex(entry.event.tx_id))}});
  }
  return json{
      {"address", crypto::encode_address(view.key)},
      {"exists", view.exists},
      {"balance", view.balance},
      {"spendable", view.spendable},
      {"pending", view.pending},
      {"sequence", view.account.sequence},
      {"next_sequence", view.pending_sequence},
      {"expiring_within_30_days", expiring_points},
      {"lots", std::move(lots)},
      {"history", std::move(entries)},
  };
}

json tier_json(const ledger::TierView& view, const ledger::TierProgram& program) {
  json next = nullptr;
  if (view.next_tier) {
    next = {{"tier", *view.next_tier}, {"name", program.tier_name(*view.next_tier)}, {"points_needed", view.points_to_next_tier}};
  }
  return json{{"tier", view.tier},
              {"name", program.tier_name(view.tier)},
              {"multiplier_bp", program.multiplier_bp(view.tier)},
              {"earned_tier", view.earned_tier},
              {"granted_tier", view.granted_tier},
              {"held_until_ms", view.tier == 0 ? json(nullptr) : json(view.held_until_ms)},
              {"window_start_ms", view.window_start_ms},
              {"window_end_ms", view.window_end_ms},
              {"window_points", view.window_points},
              {"next", std::move(next)}};
}

json partners_json(const std::vector<std::pair<ledger::Partner, ledger::PartnerStats>>& partners) {
  json out = json::array();
  for (const auto& [partner, stats] : partners) {
    json entry{{"id", partner.id},
               {"name", partner.name},
               {"issuer_key", to_hex(partner.issuer_key)},
               {"validator_key", to_hex(partner.validator_key)},
               {"voting_power", partner.voting_power}};
    entry.update(node::partner_figures_json(stats));
    out.push_back(std::move(entry));
  }
  return out;
}

void add_billing(json& partners, const ledger::BillingTerms& terms,
                 const std::map<ledger::PartnerId, ledger::PrepaidBalance>& prepaid) {
  for (json& entry : partners) {
    const auto id = entry.at("id").get<ledger::PartnerId>();
    const ledger::PartnerBilling* billing = terms.of(id);
    PC_CHECK(billing != nullptr);  // the genesis gives every partner terms
    json balance = nullptr;
    if (auto found = prepaid.find(id); found != prepaid.end()) {
      balance = {{"balance_points", found->second.balance_points},
                 {"topped_up_points", found->second.topped_up_points},
                 {"top_up_sequence", found->second.top_up_sequence}};
    }
    entry["billing"] = {{"plan", std::string(ledger::billing_plan_name(billing->plan))},
                        {"price_per_1000_points_minor", billing->price_per_1000_points_minor},
                        {"prepaid", std::move(balance)}};
  }
}

json settlement_json(const std::map<std::pair<ledger::PartnerId, ledger::PartnerId>, std::uint64_t>& matrix) {
  json out = json::array();
  for (const auto& [key, points] : matrix) {
    out.push_back({{"issuer", key.first}, {"redeemed_at", key.second}, {"points", points}});
  }
  return out;
}

json notification_json(std::uint64_t subscription, const node::Notification& notification) {
  json params;
  if (notification.kind == node::Notification::Kind::block) {
    params = {{"subscription", subscription},
              {"kind", "block"},
              {"height", notification.height},
              {"hash", hash_hex(notification.block_hash)},
              {"tx_count", notification.tx_count}};
  } else if (notification.kind == node::Notification::Kind::tier) {
    // A tier changes in a transaction (Issue, GrantTier) or by itself when a qualification or
    // a grant ends (no transaction, no partner). Tiers are indexes into the genesis program.
    const ledger::TierChange& change = notification.tier_change;
    const bool by_itself = change.tx_id == ledger::Hash256{};
    params = {{"subscription", subscription},
              {"kind", change.upgraded() ? "tier_upgraded" : "tier_downgraded"},
              {"account", crypto::encode_address(change.customer)},
              {"tier", change.to_tier},
              {"previous_tier", change.from_tier},
              {"partner", change.partner},
              {"tx_id", by_itself ? json(nullptr) : json(hash_hex(change.tx_id))},
              {"height", notification.height}};
  } else if (notification.kind == node::Notification::Kind::payment) {
    params = payment_json(notification.payment);
    params["subscription"] = subscription;
    params["kind"] = "paid";
    params["request_id"] = hash_hex(notification.request_id);
    params["height"] = notification.height;
  } else {
    const ledger::Event& event = notification.event;
    const bool expiry = event.kind == ledger::Event::Kind::expired;
    params = {{"subscription", subscription},
              {"kind", std::string(ledger::event_kind_name(event.kind))},
              {"account", crypto::encode_address(event.account)},
              {"partner", event.partner},
              {"points", event.points},
              {"tx_id", expiry ? json(nullptr) : json(hash_hex(event.tx_id))},
              {"height", notification.height}};
  }
  return json{{"jsonrpc", "2.0"}, {"method", "notification"}, {"params", std::move(params)}};
}

json overflow_notification_json(std::uint64_t subscription) {
  const ledger::Error error{ledger::Code::too_large,
                            "subscription queue overflowed (" + std::to_string(subscription_queue_max) +
                                " notifications); reconnect and catch up with get_block and get_account"};
  return json{{"jsonrpc", "2.0"},
              {"method", "notification"},
              {"params", {{"subscription", subscription}, {"kind", "error"}, {"error", application_error(error).to_json()}}}};
}

}  // namespace pc::rpc
