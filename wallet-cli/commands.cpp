#include "wallet-cli/commands.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <thread>

#include "crypto/address.hpp"
#include "crypto/keys.hpp"
#include "crypto/referral_code.hpp"
#include "ledger/block.hpp"
#include "ledger/limits.hpp"
#include "ledger/merkle.hpp"
#include "ledger/state.hpp"
#include "ledger/voucher.hpp"
#include "wallet-cli/exit_codes.hpp"
#include "wallet-cli/node_answer.hpp"
#include "wallet-cli/node_client.hpp"
#include "wallet-cli/passphrase.hpp"
#include "wallet-cli/terminal_qr.hpp"
#include "wallet-cli/wallet_file.hpp"

namespace pc::wallet {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// Application errors are 1000 + the ledger code (docs/rpc.md); 4004 is "not found".
constexpr std::int64_t rpc_insufficient_balance = 1000 + static_cast<std::int64_t>(ledger::Code::insufficient_balance);
constexpr std::int64_t rpc_not_found = 4004;

// Bounds on what a node's answer may hold, from docs/rpc.md and ledger/limits.hpp.
constexpr std::uint64_t partner_id_max = std::numeric_limits<ledger::PartnerId>::max();
constexpr std::uint64_t voting_power_max = std::uint64_t{1} << 32;  // as the genesis allows
constexpr std::uint64_t height_max = std::numeric_limits<std::uint64_t>::max() - tx_validity_blocks;
constexpr std::size_t merkle_path_hashes_max = 64;
constexpr std::size_t tx_id_hex_chars = 64;
// get_vouchers pages the wallet reads at most (100 vouchers each, rpc's vouchers_page_max).
constexpr std::size_t vouchers_pages_max = 100;
constexpr std::size_t vouchers_page_max = 100;

[[noreturn]] void fail_call(const RpcFailure& failure, std::string_view method) {
  if (failure.kind != RpcFailure::Kind::error) {
    throw Failure(Exit::node_unreachable, failure.message);
  }
  const std::string what = failure.name.empty() ? failure.message : failure.name;
  const std::string detail = failure.detail.empty() ? "" : ": " + failure.detail;
  const Exit exit_code = failure.code == rpc_insufficient_balance ? Exit::insufficient_balance : Exit::rejected;
  throw Failure(exit_code, "the node refused " + std::string(method) + ": " + what + detail +
                               " (error " + std::to_string(failure.code) + ")");
}

NodeClient connect(const WalletOptions& options) {
  auto endpoint = parse_node_url(options.node_url);
  if (!endpoint) throw Failure(Exit::usage, endpoint.error());
  return NodeClient(std::move(endpoint).value());
}

Json call(NodeClient& client, std::string_view method, const Json& params) {
  auto result = client.call(method, params);
  if (!result) fail_call(result.error(), method);
  return std::move(result).value();
}

crypto::SecretKey unlock(const WalletOptions& options) {
  require_wallet_exists(options.wallet_path);
  const Passphrase passphrase = read_passphrase(options.passphrase_file, options.wallet_path, PassphrasePurpose::unlock);
  return open_wallet(options.wallet_path, passphrase);
}

std::string format_utc(std::uint64_t time_ms) {
  const auto seconds = static_cast<std::time_t>(time_ms / 1000);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &parts);
  return text;
}

std::map<std::uint64_t, std::string> partner_names(NodeClient& client) {
  std::map<std::uint64_t, std::string> names;
  const Json partners = call(client, "get_partners", Json::object());
  for (const AnswerObject& partner : answer_objects(partners, "get_partners", ledger::partners_max)) {
    names[partner.u64("id", 1, partner_id_max)] = partner.string("name", ledger::name_bytes_max);
  }
  return names;
}

struct Balances {
  std::uint64_t balance = 0;
  std::uint64_t spendable = 0;
  std::uint64_t pending = 0;
};

// get_account's three figures, which docs/rpc.md ties together: pending = balance - spendable.
Balances balances_of(const AnswerObject& account) {
  const Balances figures{account.u64("balance"), account.u64("spendable"), account.u64("pending")};
  if (figures.spendable > figures.balance || figures.pending != figures.balance - figures.spendable) {
    malformed_answer(account.path(), "has pending " + std::to_string(figures.pending) + " and spendable " +
                                         std::to_string(figures.spendable) + ", which do not add up to balance " +
                                         std::to_string(figures.balance));
  }
  return figures;
}

// A get_transaction answer's status.
bool is_committed(const Json& answer) {
  return AnswerObject(answer, "get_transaction").one_of("status", {"pending", "committed"}) == "committed";
}

std::string partner_label(const std::map<std::uint64_t, std::string>& names, std::uint64_t id) {
  if (id == 0) return "-";  // a transfer between customers involves no partner
  const auto found = names.find(id);
  return found == names.end() ? "partner " + std::to_string(id) : found->second;
}

struct WaitOutcome {
  bool committed = false;
  Json status;  // the last get_transaction answer
};

// Polls get_transaction until the transaction is committed or the wait limit passes. A
// transaction the node stops knowing about was dropped from its mempool: rejected.
WaitOutcome wait_for_commit(NodeClient& client, const std::string& tx_id_hex) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(commit_wait_ms_max);
  for (;;) {
    auto status = client.call("get_transaction", {{"id", tx_id_hex}});
    if (!status) {
      if (status.error().kind == RpcFailure::Kind::error && status.error().code == rpc_not_found) {
        throw Failure(Exit::rejected, "the node dropped transaction " + tx_id_hex +
                                          " before committing it (it no longer knows it)");
      }
      fail_call(status.error(), "get_transaction");
    }
    if (is_committed(*status)) return {true, std::move(status).value()};
    if (std::chrono::steady_clock::now() >= deadline) return {false, std::move(status).value()};
    std::this_thread::sleep_for(std::chrono::milliseconds(commit_poll_interval_ms));
  }
}

// Signs `fields` (its sequence and body set) with the wallet key for the node's chain, valid
// from its current height, submits it, and (unless told not to) waits for its block.
ledger::Hash256 submit_signed(const crypto::SecretKey& key, NodeClient& client, ledger::UnsignedTransaction fields,
                              bool wait, std::ostream& out) {
  const Json info_answer = call(client, "chain_info", Json::object());
  const AnswerObject info(info_answer, "chain_info");
  fields.chain_id = info.string("chain_id", ledger::chain_id_bytes_max);
  fields.last_valid_height = info.u64("height", 0, height_max) + tx_validity_blocks;
  if (const ledger::Status valid = ledger::validate_fields(fields); !valid) {
    throw Failure(Exit::usage, "the ledger would refuse this transaction: " + valid.error().message());
  }
  const ledger::Transaction tx = ledger::Transaction::sign(std::move(fields), key);
  const std::string tx_id_hex = to_hex(tx.id());

  const Json submitted = call(client, "submit_transaction", {{"hex", to_hex(tx.bytes())}});
  if (AnswerObject(submitted, "submit_transaction").string("id", tx_id_hex_chars) != tx_id_hex) {
    throw Failure(Exit::node_unreachable, "the node reported another id for transaction " + tx_id_hex);
  }
  out << "Submitted transaction " << tx_id_hex << "\n";
  if (!wait) {
    out << "Not waiting for it to be committed; check with: pointchain-wallet verify-tx " << tx_id_hex << "\n";
    return tx.id();
  }
  const WaitOutcome outcome = wait_for_commit(client, tx_id_hex);
  if (!outcome.committed) {
    throw Failure(Exit::commit_timeout, "transaction " + tx_id_hex + " was not committed within " +
                                            std::to_string(commit_wait_ms_max / 1000) +
                                            " s; check later with: pointchain-wallet verify-tx " + tx_id_hex);
  }
  out << "Committed in block " << AnswerObject(outcome.status, "get_transaction").u64("height", 1) << "\n";
  return tx.id();
}

// Signs `body` with the wallet key on the account's next sequence (submit_signed), once the
// account holds `points_needed` spendable points.
ledger::Hash256 sign_and_submit(const crypto::SecretKey& key, NodeClient& client, ledger::TxBody body,
                                std::uint64_t points_needed, bool wait, std::ostream& out) {
  const std::string address = crypto::encode_address(key.public_key());
  const Json account_answer = call(client, "get_account", {{"address", address}, {"history_limit", 1}});
  const AnswerObject account(account_answer, "get_account");
  const Balances figures = balances_of(account);
  // The node would refuse it too; checking here gives the clearer message and signs nothing.
  if (figures.spendable < points_needed) {
    throw Failure(Exit::insufficient_balance,
                  "insufficient balance: " + std::to_string(figures.spendable) + " spendable points, " +
                      std::to_string(points_needed) + " needed" +
                      (figures.pending > 0 ? " (" + std::to_string(figures.pending) + " more are pending)" : ""));
  }
  ledger::UnsignedTransaction fields;
  fields.sequence = account.u64("next_sequence", 1);
  fields.body = std::move(body);
  return submit_signed(key, client, std::move(fields), wait, out);
}

struct PrepaidPartner {
  std::string name;
  std::uint64_t balance_points = 0;
  std::uint64_t top_up_sequence = 0;  // the last one; the next top-up carries it + 1
};

// Partner `id`'s prepaid figures from get_partners (docs/rpc.md). A partner the node does not
// list, a chain without billing terms and a post-paid partner are refused here as the node
// would refuse the top-up (unknown_partner, unsupported_type, not_prepaid): nothing is signed.
PrepaidPartner prepaid_partner(NodeClient& client, ledger::PartnerId id) {
  const Json partners = call(client, "get_partners", Json::object());
  for (const AnswerObject& partner : answer_objects(partners, "get_partners", ledger::partners_max)) {
    if (partner.u64("id", 1, partner_id_max) != id) continue;
    const std::string name = partner.string("name", ledger::name_bytes_max);
    if (!partner.has("billing")) {
      throw Failure(Exit::rejected, "this chain has no billing terms (protocol version 4 on): nothing to top up");
    }
    const AnswerObject billing = partner.object("billing");
    if (billing.is_null("prepaid")) {
      throw Failure(Exit::rejected, "partner " + std::to_string(id) + " (" + name + ") is billed " +
                                     billing.one_of("plan", {"postpaid", "prepaid"}) + ", not prepaid: nothing to top up");
    }
    const AnswerObject prepaid = billing.object("prepaid");
    return {name, prepaid.u64("balance_points"), prepaid.u64("top_up_sequence")};
  }
  throw Failure(Exit::rejected, "the node lists no partner " + std::to_string(id));
}

// verify-tx helpers: anything malformed in what the node sent is a failed verification.
[[noreturn]] void verification_failed(const std::string& what) {
  throw Failure(Exit::verification_failed, "verification FAILED: " + what);
}

ledger::Genesis genesis_from_node(NodeClient& client) {
  const Json info_answer = call(client, "chain_info", Json::object());
  const AnswerObject info(info_answer, "chain_info");
  ledger::Genesis genesis;
  genesis.chain_id = info.string("chain_id", ledger::chain_id_bytes_max);
  genesis.coalition_name = info.string("coalition_name", ledger::name_bytes_max);
  const Json partners = call(client, "get_partners", Json::object());
  for (const AnswerObject& entry : answer_objects(partners, "get_partners", ledger::partners_max)) {
    ledger::Partner partner;
    partner.id = static_cast<ledger::PartnerId>(entry.u64("id", 1, partner_id_max));
    partner.name = entry.string("name", ledger::name_bytes_max);
    partner.issuer_key = entry.fixed_hex<32>("issuer_key");
    partner.validator_key = entry.fixed_hex<32>("validator_key");
    partner.voting_power = entry.u64("voting_power", 0, voting_power_max);
    // Signatures by genesis keys are verified without the key's subgroup check
    // (docs/crypto.md), which a loaded genesis has passed; this one is only reported.
    const auto check = [&](const crypto::PublicKey& key, const std::string& which) {
      if (!crypto::is_valid_public_key(key)) {
        verification_failed("the node reports an invalid " + which + " key for partner " + std::to_string(partner.id));
      }
    };
    check(partner.issuer_key, "issuer");
    check(partner.validator_key, "validator");
    genesis.partners.push_back(std::move(partner));
  }
  return genesis;
}

std::string signer_description(const ledger::Genesis& genesis, const ledger::Transaction& tx) {
  if (const auto customer = tx.customer_signer()) return "customer " + crypto::encode_address(*customer);
  if (tx.signed_by_billing_key()) return "the coalition's billing key";
  const ledger::PartnerId id = tx.partner_signer().value_or(0);
  const ledger::Partner* partner = genesis.partner(id);
  return "the issuer key of partner " + std::to_string(id) + (partner ? " (" + partner->name + ")" : "");
}

}  // namespace

void create_command(const WalletOptions& options, std::ostream& out) {
  require_wallet_absent(options.wallet_path);
  const Passphrase passphrase = read_passphrase(options.passphrase_file, options.wallet_path, PassphrasePurpose::create);
  const crypto::PublicKey key = create_wallet(options.wallet_path, passphrase);
  out << "Created " << options.wallet_path.string() << " (encrypted with your passphrase).\n"
      << "Address: " << crypto::encode_address(key) << "\n";
}

void address_command(const WalletOptions& options, std::ostream& out) {
  out << crypto::encode_address(unlock(options).public_key()) << "\n";
}

void referral_code_command(const WalletOptions& options, std::ostream& out) {
  const crypto::PublicKey key = unlock(options).public_key();
  const std::string code = crypto::format_referral_code(crypto::encode_referral_code(key));
  NodeClient client = connect(options);
  const Json answer = call(client, "get_referral_code", {{"customer", crypto::encode_address(key)}});
  const AnswerObject info(answer, "get_referral_code");
  if (info.string("referral_code", crypto::referral_code_input_chars_max) != code) {
    throw Failure(Exit::node_unreachable, "the node computes another referral code for this wallet than the wallet does");
  }
  out << "Referral code: " << code << "\n";
  if (info.boolean("resolves")) {
    out << "A friend gives it at the till of a partner with referrals, on their first purchase there.\n";
  } else if (info.boolean("ambiguous")) {
    out << "Not usable: another account on the chain has the same code.\n";
  } else {
    out << "Not usable yet: partners find the code among the chain's accounts, and this wallet has none until it "
           "earns points.\n";
  }
}

void balance_command(const WalletOptions& options, std::ostream& out) {
  const std::string address = crypto::encode_address(unlock(options).public_key());
  NodeClient client = connect(options);
  const Json account_answer = call(client, "get_account", {{"address", address}, {"history_limit", 1}});
  const Json info_answer = call(client, "chain_info", Json::object());
  const auto names = partner_names(client);

  // Everything is read and checked before anything is printed.
  const AnswerObject account(account_answer, "get_account");
  const auto tip_time_ms = AnswerObject(info_answer, "chain_info").u64("time_ms", 0, ledger::block_time_ms_max);
  const Balances figures = balances_of(account);
  const bool exists = account.boolean("exists");
  const auto expiring_points = account.u64("expiring_within_30_days", 0, figures.balance);
  struct Dated {
    std::uint64_t time_ms;
    std::uint64_t points;
    std::uint64_t partner;
  };
  std::vector<Dated> pending;
  std::vector<Dated> expiring;
  // Every upcoming expiry, grouped by UTC date (get_account's expiries): one entry per date.
  std::vector<std::pair<std::string, std::uint64_t>> expiries;
  // Nodes before protocol version 3's release do not send it: then there is nothing to list.
  if (account_answer.is_object() && account_answer.contains("expiries")) {
    for (const AnswerObject& group : account.objects("expiries", ledger::lots_per_account_max)) {
      expiries.emplace_back(group.string("date", 10), group.u64("points", 1, figures.balance));
    }
  }
  for (const AnswerObject& lot : account.objects("lots", ledger::lots_per_account_max)) {
    const auto points = lot.u64("points", 1, figures.balance);
    const auto partner = lot.u64("partner", 1, partner_id_max);
    const auto spendable_at_ms = lot.u64("spendable_at_ms", 0, ledger::block_time_ms_max);
    if (spendable_at_ms > tip_time_ms) pending.push_back({spendable_at_ms, points, partner});
    const auto expires_at_ms = lot.u64_or_null("expires_at_ms", ledger::block_time_ms_max);
    if (expires_at_ms && *expires_at_ms <= tip_time_ms + expiry_horizon_ms) {
      expiring.push_back({*expires_at_ms, points, partner});
    }
  }

  // Chains with a tier program (protocol version 4) answer with a tier object; others with null
  // or, from older nodes, nothing.
  std::string tier_line;
  if (account_answer.is_object() && account_answer.contains("tier") && !account.is_null("tier")) {
    const AnswerObject tier = account.object("tier");
    tier_line = tier.string("name", ledger::tier_name_bytes_max);
    if (const auto held_until_ms = tier.u64_or_null("held_until_ms", ledger::block_time_ms_max)) {
      tier_line += " (held until " + format_utc(*held_until_ms) + ")";
    }
    if (!tier.is_null("next")) {
      const AnswerObject next = tier.object("next");
      tier_line += "; " + std::to_string(next.u64("points_needed")) + " more qualifying points by " +
                   format_utc(tier.u64("window_end_ms", 0, ledger::block_time_ms_max)) + " for " +
                   next.string("name", ledger::tier_name_bytes_max);
    }
  }

  out << "Address:    " << address << "\n"
      << "Balance:    " << figures.balance << " points\n"
      << "Spendable:  " << figures.spendable << " points\n"
      << "Pending:    " << figures.pending << " points\n";
  if (!tier_line.empty()) out << "Tier:       " << tier_line << "\n";
  if (!exists) {
    out << "(No points yet: the account opens with its first issuance.)\n";
    return;
  }
  const auto by_time = [](const Dated& a, const Dated& b) { return a.time_ms < b.time_ms; };
  std::sort(pending.begin(), pending.end(), by_time);
  std::sort(expiring.begin(), expiring.end(), by_time);
  for (const Dated& lot : pending) {
    out << "  " << lot.points << " spendable from " << format_utc(lot.time_ms) << " ("
        << partner_label(names, lot.partner) << ")\n";
  }
  out << "Expiring within 30 days: " << expiring_points << " points\n";
  for (const Dated& lot : expiring) {
    out << "  " << lot.points << " on " << format_utc(lot.time_ms) << " (" << partner_label(names, lot.partner)
        << ")\n";
  }
  if (!expiries.empty()) {
    out << "Upcoming expiries, by date:\n";
    for (const auto& [date, points] : expiries) out << "  " << date << "  " << points << " points\n";
  }
}

// History entries carry no reward (docs/rpc.md, get_account), so a redemption's reward comes
// from its transaction: decoded here from its canonical bytes, which must hash to the entry's id.
std::string redemption_reward(NodeClient& client, const std::string& tx_id_hex) {
  const Json answer = call(client, "get_transaction", {{"id", tx_id_hex}});
  const auto tx = ledger::Transaction::decode(AnswerObject(answer, "get_transaction").hex("hex"));
  if (!tx || to_hex(tx->id()) != tx_id_hex) {
    throw Failure(Exit::node_unreachable, "the node answered another transaction than redemption " + tx_id_hex);
  }
  if (const auto* redeem = std::get_if<ledger::Redeem>(&tx->fields().body)) return redeem->reward;
  if (const auto* redeem = std::get_if<ledger::RedeemReward>(&tx->fields().body)) {
    return std::to_string(redeem->quantity) + " x reward " + std::to_string(redeem->reward_id);
  }
  if (const auto* pay = std::get_if<ledger::PayWithPoints>(&tx->fields().body)) {
    const ledger::PaymentRequest& request = pay->request.request;
    return "payment of " + std::to_string(request.amount_minor) + " " + request.currency + " minor units, order " +
           request.order_id;
  }
  throw Failure(Exit::node_unreachable, "transaction " + tx_id_hex + " is not a redemption");
}

void history_command(const WalletOptions& options, std::size_t limit, std::ostream& out) {
  const std::string address = crypto::encode_address(unlock(options).public_key());
  NodeClient client = connect(options);
  const Json account_answer = call(client, "get_account", {{"address", address}, {"history_limit", limit}});
  const auto names = partner_names(client);

  struct Row {
    std::uint64_t height;
    std::string kind;
    std::uint64_t points;
    std::uint64_t partner;
    std::string tx_id;
    std::string reward;  // redemptions only
  };
  std::vector<Row> rows;
  const AnswerObject account(account_answer, "get_account");
  for (const AnswerObject& entry : account.objects("history", limit)) {
    rows.push_back({entry.u64("height", 1),
                    entry.one_of("kind", {"earned", "redeemed", "transferred_out", "transferred_in", "expired", "reversed"}),
                    entry.u64("points", 1), entry.u64("partner", 0, partner_id_max),
                    entry.is_null("tx_id") ? std::string("(expiry)") : to_hex(entry.fixed_hex<32>("tx_id")), {}});
  }
  // History entries carry no reward text: the wallet reads it from each redemption itself,
  // before anything is printed, so a bad answer prints nothing.
  for (Row& row : rows) {
    if (row.kind == "redeemed" && row.tx_id != "(expiry)") row.reward = redemption_reward(client, row.tx_id);
  }
  if (rows.empty()) {
    out << "No history yet for " << address << "\n";
    return;
  }
  out << std::left << std::setw(8) << "block" << std::setw(17) << "what" << std::right << std::setw(10)
      << "points" << "  " << std::left << std::setw(24) << "partner" << "transaction\n";
  for (const Row& row : rows) {
    out << std::left << std::setw(8) << row.height << std::setw(17) << row.kind << std::right << std::setw(10)
        << row.points << "  " << std::left << std::setw(24) << partner_label(names, row.partner) << row.tx_id;
    if (row.kind == "redeemed") out << "  for \"" << row.reward << "\"";
    out << "\n";
  }
}

void redeem_command(const WalletOptions& options, const RedeemRequest& request, std::ostream& out) {
  const crypto::SecretKey key = unlock(options);
  NodeClient client = connect(options);
  if (!request.reward_id) {
    ledger::Redeem redeem{key.public_key(), request.partner, request.points, request.reward};
    sign_and_submit(key, client, std::move(redeem), request.points, request.wait_for_commit, out);
    return;
  }
  // The reward's terms, for its name and cost: the first reward of the partner after id - 1.
  const Json answer = call(client, "get_rewards", {{"partner", request.partner},
                                                   {"include_unavailable", true},
                                                   {"after_partner", request.partner},
                                                   {"after_reward_id", *request.reward_id - 1},
                                                   {"limit", 1}});
  const std::vector<AnswerObject> found = AnswerObject(answer, "get_rewards").objects("rewards", 1);
  if (found.empty() || found.front().u64("partner") != request.partner ||
      found.front().u64("reward_id") != *request.reward_id) {
    throw Failure(Exit::usage, "partner " + std::to_string(request.partner) + " has no reward " +
                                   std::to_string(*request.reward_id) + " (see get_rewards)");
  }
  const AnswerObject terms = found.front().object("terms");
  const std::string name = terms.string("name", ledger::name_bytes_max);
  const std::uint64_t cost = terms.u64("cost_points", 1);
  std::uint64_t total = 0;
  if (__builtin_mul_overflow(cost, std::uint64_t{request.quantity}, &total)) {
    throw Failure(Exit::usage, "the reward's cost times the quantity passes 2^64 - 1");
  }
  out << "Redeeming " << request.quantity << " x \"" << name << "\" for " << total << " points\n";
  ledger::RedeemReward redeem{key.public_key(), request.partner, *request.reward_id, request.quantity};
  const ledger::Hash256 tx_id = sign_and_submit(key, client, redeem, total, request.wait_for_commit, out);
  // The codes are derived from the redemption, so the wallet knows them before asking.
  for (std::uint16_t unit = 0; unit < request.quantity; ++unit) {
    out << "Voucher " << ledger::format_voucher_code(ledger::voucher_code(tx_id, unit))
        << (request.wait_for_commit ? "" : " (valid once the redemption is committed)") << "\n";
  }
}

void vouchers_command(const WalletOptions& options, bool draw_qr_codes, std::ostream& out) {
  const std::string address = crypto::encode_address(unlock(options).public_key());
  NodeClient client = connect(options);
  const auto names = partner_names(client);
  struct Row {
    std::uint64_t partner;
    std::string code;
    std::string reward;
    std::string status;
    std::uint64_t redeemed_at_ms;
  };
  std::vector<Row> rows;
  Json params = {{"address", address}};
  // Every page, read and checked before anything is printed.
  for (std::size_t page = 0; page < vouchers_pages_max; ++page) {
    const Json answer = call(client, "get_vouchers", params);
    const AnswerObject vouchers(answer, "get_vouchers");
    for (const AnswerObject& entry : vouchers.objects("vouchers", vouchers_page_max)) {
      rows.push_back({entry.u64("partner", 1, partner_id_max), entry.string("code", ledger::voucher_code_chars + 2),
                      entry.string("reward_name", ledger::name_bytes_max), entry.one_of("status", {"valid", "used"}),
                      entry.u64("redeemed_at_ms", 0, ledger::block_time_ms_max)});
    }
    if (vouchers.is_null("next")) break;
    const AnswerObject next = vouchers.object("next");
    params["after_partner"] = next.u64("after_partner", 1, partner_id_max);
    params["after_code"] = next.string("after_code", ledger::voucher_code_chars);
  }
  if (rows.empty()) {
    out << "No vouchers yet for " << address << "\n";
    return;
  }
  out << std::left << std::setw(16) << "voucher" << std::setw(8) << "status" << std::setw(24) << "partner"
      << std::setw(22) << "redeemed" << "reward\n";
  for (const Row& row : rows) {
    out << std::left << std::setw(16) << row.code << std::setw(8) << row.status << std::setw(24)
        << partner_label(names, row.partner) << std::setw(22) << format_utc(row.redeemed_at_ms) << row.reward << "\n";
  }
  if (!draw_qr_codes) return;
  for (const Row& row : rows) {
    if (row.status != "valid") continue;
    out << "\n" << row.code << "  " << partner_label(names, row.partner) << "  " << row.reward << "\n"
        << draw_qr(encode_qr(row.code));
  }
}

void cards_command(const WalletOptions& options, std::ostream& out) {
  const std::string address = crypto::encode_address(unlock(options).public_key());
  NodeClient client = connect(options);
  const auto names = partner_names(client);
  const Json answer = call(client, "get_stamp_cards", {{"address", address}, {"include_empty", true}});
  const AnswerObject cards(answer, "get_stamp_cards");
  const std::vector<AnswerObject> entries =
      cards.objects("cards", ledger::partners_max * ledger::stamp_cards_per_partner_max);
  if (entries.empty()) {
    out << "No stamp cards in this coalition yet\n";
    return;
  }
  for (const AnswerObject& entry : entries) {
    const AnswerObject terms = entry.object("terms");
    const std::uint64_t needed = entry.u64("stamps_needed", 1, ledger::stamp_card_stamps_max);
    const std::uint64_t stamps = entry.u64("stamps", 0, ledger::stamp_card_stamps_max);
    // One box a stamp: [x][x][ ][ ] reads like the paper card.
    std::string boxes;
    for (std::uint64_t i = 0; i < needed; ++i) boxes += i < stamps ? "[x]" : "[ ]";
    out << partner_label(names, entry.u64("partner", 1, partner_id_max)) << "  "
        << terms.string("name", ledger::name_bytes_max) << "  " << stamps << "/" << needed << "  " << boxes << "\n";
    out << "  a full card gives: " << entry.string("reward_name", ledger::name_bytes_max) << "; cards filled: "
        << entry.u64("filled") << "\n";
    if (const auto lapses = entry.u64_or_null("lapses_at_ms", ledger::block_time_ms_max)) {
      out << "  this card lapses at " << format_utc(*lapses) << "\n";
    }
    if (!terms.boolean("active")) out << "  (not collecting stamps now)\n";
  }
}

void badges_command(const WalletOptions& options, std::ostream& out) {
  const std::string address = crypto::encode_address(unlock(options).public_key());
  NodeClient client = connect(options);
  const auto names = partner_names(client);
  const Json answer = call(client, "get_badges", {{"address", address}, {"include_progress", true}});
  const AnswerObject badges(answer, "get_badges");
  const std::vector<AnswerObject> entries = badges.objects("badges", ledger::partners_max * ledger::badges_per_partner_max);
  bool any_earned = false;
  for (const AnswerObject& entry : entries) {
    if (!entry.boolean("earned")) continue;
    if (!any_earned) out << "Badges:\n";
    any_earned = true;
    out << "  " << entry.object("terms").string("name", ledger::name_bytes_max) << "  from "
        << partner_label(names, entry.u64("partner", 1, partner_id_max)) << ", earned "
        << format_utc(entry.u64("earned_at_ms", 1, ledger::block_time_ms_max)) << "\n";
  }
  if (!any_earned) out << "No badges yet for " << address << "\n";
  bool any_progress = false;
  for (const AnswerObject& entry : entries) {
    if (entry.boolean("earned")) continue;
    const AnswerObject terms = entry.object("terms");
    if (!any_progress) out << "On the way:\n";
    any_progress = true;
    const std::string rule = terms.one_of("rule", {"action_count", "points_earned", "awarded"});
    out << "  " << terms.string("name", ledger::name_bytes_max) << "  from "
        << partner_label(names, entry.u64("partner", 1, partner_id_max)) << ": " << entry.u64("progress") << " of "
        << terms.u64("threshold") << (rule == "points_earned" ? " points" : " times") << "\n";
  }
}

void pay_command(const WalletOptions& options, const PayRequest& request, std::istream& confirm, std::ostream& out) {
  const auto parsed = ledger::parse_payment_request(request.request_text);
  if (!parsed) throw Failure(Exit::usage, "not a payment request: " + parsed.error().message());
  const ledger::PaymentRequest& fields = parsed->request;
  NodeClient client = connect(options);
  const Json info_answer = call(client, "chain_info", Json::object());
  const AnswerObject info(info_answer, "chain_info");
  if (info.string("chain_id", ledger::chain_id_bytes_max) != fields.chain_id) {
    throw Failure(Exit::rejected, "the payment request is for chain " + fields.chain_id + ", not this node's");
  }
  // The partner's issuer key from the node: a request altered after the till made it is
  // refused here, before anything is signed (the chain would refuse it too).
  const Json partners = call(client, "get_partners", Json::object());
  std::string partner_name;
  std::optional<crypto::PublicKey> issuer_key;
  for (const AnswerObject& partner : answer_objects(partners, "get_partners", ledger::partners_max)) {
    if (partner.u64("id", 1, partner_id_max) != fields.partner) continue;
    partner_name = partner.string("name", ledger::name_bytes_max);
    issuer_key = partner.fixed_hex<32>("issuer_key");
  }
  if (!issuer_key) throw Failure(Exit::rejected, "the payment request names partner " + std::to_string(fields.partner) + ", which this chain does not have");
  if (!parsed->signed_by(*issuer_key)) {
    throw Failure(Exit::verification_failed, "the payment request is not signed by " + partner_name + ": it was altered; ask the till for a new one");
  }
  if (info.u64("time_ms") > fields.expires_at_ms) {
    throw Failure(Exit::rejected, "the payment request expired at " + format_utc(fields.expires_at_ms) + "; ask the till for a new one");
  }
  out << "Pay " << partner_name << " (partner " << fields.partner << ")\n"
      << "  order   " << fields.order_id << "\n"
      << "  amount  " << fields.amount_minor << " " << fields.currency << " minor units\n"
      << "  with    " << fields.points << " points\n"
      << "  valid until " << format_utc(fields.expires_at_ms) << "\n";
  if (!request.assume_yes) {
    out << "Sign this payment? [y/N] " << std::flush;
    std::string answer;
    std::getline(confirm, answer);
    if (answer != "y" && answer != "yes" && answer != "Y") throw Failure(Exit::declined, "not paid: the payment was not confirmed");
  }
  const crypto::SecretKey key = unlock(options);
  ledger::PayWithPoints pay{key.public_key(), *parsed};
  sign_and_submit(key, client, std::move(pay), fields.points, request.wait_for_commit, out);
  out << "Payment request " << to_hex(fields.id()) << (request.wait_for_commit ? " paid\n" : " submitted\n");
}

void transfer_command(const WalletOptions& options, const TransferRequest& request, std::ostream& out) {
  const auto to = crypto::decode_address(request.to_address);
  if (!to) {
    throw Failure(Exit::bad_address, "bad address \"" + request.to_address + "\": " +
                                         std::string(crypto::describe(to.error())));
  }
  const crypto::SecretKey key = unlock(options);
  NodeClient client = connect(options);
  ledger::Transfer transfer{key.public_key(), *to, request.points};
  sign_and_submit(key, client, std::move(transfer), request.points, request.wait_for_commit, out);
}

void public_key_command(const WalletOptions& options, std::ostream& out) {
  out << to_hex(unlock(options).public_key()) << "\n";
}

void top_up_command(const WalletOptions& options, const TopUpRequest& request, std::ostream& out) {
  const crypto::SecretKey key = unlock(options);
  NodeClient client = connect(options);
  const PrepaidPartner before = prepaid_partner(client, request.partner);
  if (before.top_up_sequence == std::numeric_limits<std::uint64_t>::max()) {
    throw Failure(Exit::usage, "partner " + std::to_string(request.partner) + " has used every top-up sequence");
  }
  ledger::UnsignedTransaction fields;
  fields.sequence = before.top_up_sequence + 1;
  fields.body = ledger::PrepaidTopUp{request.partner, request.points, request.reference};
  submit_signed(key, client, std::move(fields), request.wait_for_commit, out);
  out << "Top-up " << before.top_up_sequence + 1 << " of partner " << request.partner << " (" << before.name
      << "): " << request.points << " points, invoice " << request.reference << "\n";
  if (request.wait_for_commit) {
    out << "Prepaid balance: " << prepaid_partner(client, request.partner).balance_points << " points (was "
        << before.balance_points << ")\n";
  }
}

void export_command(const WalletOptions& options, const fs::path& out_path, std::ostream& out) {
  export_wallet(options.wallet_path, out_path);
  out << "Exported the encrypted wallet to " << out_path.string()
      << " (it opens only with your passphrase; keep both safe).\n";
}

void import_command(const WalletOptions& options, const fs::path& in_path, std::ostream& out) {
  require_wallet_absent(options.wallet_path);
  const Passphrase passphrase = read_passphrase(options.passphrase_file, in_path, PassphrasePurpose::unlock);
  const crypto::PublicKey key = import_wallet(in_path, options.wallet_path, passphrase);
  out << "Imported " << in_path.string() << " as " << options.wallet_path.string() << ".\n"
      << "Address: " << crypto::encode_address(key) << "\n";
}

void verify_tx_command(const WalletOptions& options, const std::string& tx_id_hex,
                       const fs::path& genesis_file, bool wait, std::ostream& out) {
  const auto tx_id = fixed_from_hex<32>(tx_id_hex);
  if (!tx_id) throw Failure(Exit::usage, "a transaction id is 64 hex characters");
  const std::string id_hex = to_hex(*tx_id);
  NodeClient client = connect(options);

  auto status = client.call("get_transaction", {{"id", id_hex}});
  if (!status) {
    if (status.error().kind == RpcFailure::Kind::error && status.error().code == rpc_not_found) {
      throw Failure(Exit::not_committed, "the node knows no transaction " + id_hex);
    }
    fail_call(status.error(), "get_transaction");
  }
  Json answer = std::move(status).value();
  if (!is_committed(answer)) {
    const WaitOutcome outcome = wait ? wait_for_commit(client, id_hex) : WaitOutcome{false, answer};
    if (!outcome.committed) throw Failure(Exit::not_committed, "transaction " + id_hex + " is still pending");
    answer = outcome.status;
  }

  // The shape of the answers is checked first (exit 3); what they claim, after (exit 9).
  const AnswerObject found(answer, "get_transaction");
  const auto height = found.u64("height", 1);
  const ledger::Hash256 claimed_block_hash = found.fixed_hex<32>("block_hash");
  const AnswerObject proof = found.object("proof");
  const auto index = proof.u64("index", 0, ledger::block_tx_count_max - 1);
  const auto count = proof.u64("count", 1, ledger::block_tx_count_max);
  const std::vector<ledger::Hash256> path = proof.fixed_hex_array<32>("path", merkle_path_hashes_max);
  const Bytes tx_bytes = found.hex("hex");
  const Json block_answer = call(client, "get_block", {{"height", height}});
  const Bytes block_bytes = AnswerObject(block_answer, "get_block").hex("hex");

  // 1. The transaction: its canonical bytes decode and hash to the id asked for.
  const auto tx = ledger::Transaction::decode(tx_bytes);
  if (!tx) verification_failed("the transaction does not decode: " + tx.error().message());
  if (tx->id() != *tx_id) verification_failed("the transaction's bytes hash to " + to_hex(tx->id()));

  // 2. The block: decode it ourselves and recompute its id.
  const auto block = ledger::Block::decode(block_bytes);
  if (!block) verification_failed("the block does not decode: " + block.error().message());
  const ledger::Hash256 block_id = block->header.hash();
  if (block->header.height != height) verification_failed("the block returned is not at height " + std::to_string(height));
  if (block_id != claimed_block_hash) {
    verification_failed("the block at height " + std::to_string(height) + " hashes to " + to_hex(block_id) +
                        ", not the block_hash the transaction names");
  }
  if (block->header.chain_id != tx->fields().chain_id) verification_failed("the block and the transaction name different chains");

  // 3. The Merkle proof, checked against the root in the header we hashed, not the proof's.
  if (count != block->transactions.size()) verification_failed("the proof's leaf count differs from the block's");
  if (!ledger::verify_merkle_path(*tx_id, index, count, path, block->header.merkle_root)) {
    verification_failed("the Merkle path does not lead to the block header's merkle_root");
  }
  if (ledger::merkle_root(block->tx_ids()) != block->header.merkle_root) {
    verification_failed("the block's transactions do not hash to its merkle_root");
  }

  // 4. Signatures: the transaction's signer, and the validators' commit of the block.
  ledger::Genesis genesis;
  if (genesis_file.empty()) {
    genesis = genesis_from_node(client);
  } else {
    auto loaded = ledger::load_genesis_file(genesis_file);
    if (!loaded) throw Failure(Exit::usage, "cannot use " + genesis_file.string() + ": " + loaded.error());
    genesis = std::move(loaded).value();
  }
  if (genesis.chain_id != tx->fields().chain_id) {
    verification_failed("the transaction is for chain \"" + tx->fields().chain_id + "\", not \"" + genesis.chain_id + "\"");
  }
  if (const ledger::Status signed_ok = ledger::verify_transaction_signature(genesis, *tx); !signed_ok) {
    verification_failed("the transaction's signature: " + signed_ok.error().message());
  }
  if (const ledger::Status committed = ledger::verify_commit(genesis, block->header.height, block_id, block->commit); !committed) {
    verification_failed("the block's commit: " + committed.error().message());
  }
  const std::uint64_t signed_power = ledger::commit_power(genesis, block->commit);

  out << "Transaction " << id_hex << " (" << ledger::tx_type_name(tx->type()) << ", sequence " << tx->fields().sequence << ")\n"
      << "  ok  its bytes hash to its id\n"
      << "  ok  signed by " << signer_description(genesis, *tx) << "\n"
      << "  ok  leaf " << index << " of " << count << ": the Merkle path (" << path.size()
      << " hashes) leads to the merkle_root of block " << height << "\n"
      << "  ok  block " << height << " hashes to " << to_hex(block_id) << " (" << format_utc(block->header.time_ms) << ")\n"
      << "  ok  committed by validators holding " << signed_power << " of " << genesis.total_voting_power()
      << " voting power in round " << block->commit.round << "\n"
      << "Verified"
      << (genesis_file.empty() ? " against the partner keys the node reports (pass --genesis FILE to use a genesis you trust).\n"
                               : " against the partner keys in " + genesis_file.string() + ".\n");
}

}  // namespace pc::wallet
