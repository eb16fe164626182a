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
#include "ledger/block.hpp"
#include "ledger/merkle.hpp"
#include "ledger/state.hpp"
#include "wallet-cli/exit_codes.hpp"
#include "wallet-cli/node_client.hpp"
#include "wallet-cli/passphrase.hpp"
#include "wallet-cli/wallet_file.hpp"

namespace pc::wallet {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// Application errors are 1000 + the ledger code (docs/rpc.md); 4004 is "not found".
constexpr std::int64_t rpc_insufficient_balance = 1000 + static_cast<std::int64_t>(ledger::Code::insufficient_balance);
constexpr std::int64_t rpc_not_found = 4004;

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
  for (const Json& partner : call(client, "get_partners", Json::object())) {
    names[partner.at("id").get<std::uint64_t>()] = partner.at("name").get<std::string>();
  }
  return names;
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
    if (status->at("status").get<std::string>() == "committed") return {true, std::move(status).value()};
    if (std::chrono::steady_clock::now() >= deadline) return {false, std::move(status).value()};
    std::this_thread::sleep_for(std::chrono::milliseconds(commit_poll_interval_ms));
  }
}

// Signs `body` with the wallet key on top of the node's current height and sequence,
// submits it, and (unless told not to) waits for its block.
void sign_and_submit(const crypto::SecretKey& key, NodeClient& client, ledger::TxBody body,
                     std::uint64_t points_needed, bool wait, std::ostream& out) {
  const std::string address = crypto::encode_address(key.public_key());
  const Json info = call(client, "chain_info", Json::object());
  const Json account = call(client, "get_account", {{"address", address}, {"history_limit", 1}});

  // The node would refuse it too; checking here gives the clearer message and signs nothing.
  const auto spendable = account.at("spendable").get<std::uint64_t>();
  if (spendable < points_needed) {
    const auto pending = account.at("pending").get<std::uint64_t>();
    throw Failure(Exit::insufficient_balance,
                  "insufficient balance: " + std::to_string(spendable) + " spendable points, " +
                      std::to_string(points_needed) + " needed" +
                      (pending > 0 ? " (" + std::to_string(pending) + " more are pending)" : ""));
  }

  ledger::UnsignedTransaction fields;
  fields.chain_id = info.at("chain_id").get<std::string>();
  fields.sequence = account.at("next_sequence").get<std::uint64_t>();
  fields.last_valid_height = info.at("height").get<std::uint64_t>() + tx_validity_blocks;
  fields.body = std::move(body);
  if (const ledger::Status valid = ledger::validate_fields(fields); !valid) {
    throw Failure(Exit::usage, "the ledger would refuse this transaction: " + valid.error().message());
  }
  const ledger::Transaction tx = ledger::Transaction::sign(std::move(fields), key);
  const std::string tx_id_hex = to_hex(tx.id());

  const Json submitted = call(client, "submit_transaction", {{"hex", to_hex(tx.bytes())}});
  if (submitted.at("id").get<std::string>() != tx_id_hex) {
    throw Failure(Exit::node_unreachable, "the node reported another id for transaction " + tx_id_hex);
  }
  out << "Submitted transaction " << tx_id_hex << "\n";
  if (!wait) {
    out << "Not waiting for it to be committed; check with: pointchain-wallet verify-tx " << tx_id_hex << "\n";
    return;
  }
  const WaitOutcome outcome = wait_for_commit(client, tx_id_hex);
  if (!outcome.committed) {
    throw Failure(Exit::commit_timeout, "transaction " + tx_id_hex + " was not committed within " +
                                            std::to_string(commit_wait_ms_max / 1000) +
                                            " s; check later with: pointchain-wallet verify-tx " + tx_id_hex);
  }
  out << "Committed in block " << outcome.status.at("height").get<std::uint64_t>() << "\n";
}

// verify-tx helpers: anything malformed in what the node sent is a failed verification.
[[noreturn]] void verification_failed(const std::string& what) {
  throw Failure(Exit::verification_failed, "verification FAILED: " + what);
}

ledger::Hash256 hash_from_json(const Json& value, const std::string& what) {
  if (!value.is_string()) verification_failed(what + " is not a hex string");
  const auto hash = fixed_from_hex<32>(value.get<std::string>());
  if (!hash) verification_failed(what + " is not 32 bytes of hex");
  return *hash;
}

Bytes bytes_from_json(const Json& value, const std::string& what) {
  if (!value.is_string()) verification_failed(what + " is not a hex string");
  auto bytes = from_hex(value.get<std::string>());
  if (!bytes) verification_failed(what + " is not hex");
  return std::move(*bytes);
}

ledger::Genesis genesis_from_node(NodeClient& client, const Json& info) {
  ledger::Genesis genesis;
  genesis.chain_id = info.at("chain_id").get<std::string>();
  genesis.coalition_name = info.at("coalition_name").get<std::string>();
  for (const Json& entry : call(client, "get_partners", Json::object())) {
    ledger::Partner partner;
    partner.id = entry.at("id").get<ledger::PartnerId>();
    partner.name = entry.at("name").get<std::string>();
    partner.issuer_key = hash_from_json(entry.at("issuer_key"), "a partner's issuer_key");
    partner.validator_key = hash_from_json(entry.at("validator_key"), "a partner's validator_key");
    partner.voting_power = entry.at("voting_power").get<std::uint64_t>();
    genesis.partners.push_back(std::move(partner));
  }
  return genesis;
}

std::string signer_description(const ledger::Genesis& genesis, const ledger::Transaction& tx) {
  if (const auto customer = tx.customer_signer()) return "customer " + crypto::encode_address(*customer);
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

void balance_command(const WalletOptions& options, std::ostream& out) {
  const std::string address = crypto::encode_address(unlock(options).public_key());
  NodeClient client = connect(options);
  const Json account = call(client, "get_account", {{"address", address}, {"history_limit", 1}});
  const Json info = call(client, "chain_info", Json::object());
  const auto names = partner_names(client);
  const auto tip_time_ms = info.at("time_ms").get<std::uint64_t>();

  out << "Address:    " << address << "\n"
      << "Balance:    " << account.at("balance").get<std::uint64_t>() << " points\n"
      << "Spendable:  " << account.at("spendable").get<std::uint64_t>() << " points\n"
      << "Pending:    " << account.at("pending").get<std::uint64_t>() << " points\n";
  if (!account.at("exists").get<bool>()) {
    out << "(No points yet: the account opens with its first issuance.)\n";
    return;
  }

  struct Dated {
    std::uint64_t time_ms;
    std::uint64_t points;
    std::uint64_t partner;
  };
  std::vector<Dated> pending;
  std::vector<Dated> expiring;
  for (const Json& lot : account.at("lots")) {
    const auto points = lot.at("points").get<std::uint64_t>();
    const auto partner = lot.at("partner").get<std::uint64_t>();
    const auto spendable_at_ms = lot.at("spendable_at_ms").get<std::uint64_t>();
    if (spendable_at_ms > tip_time_ms) pending.push_back({spendable_at_ms, points, partner});
    const Json& expires = lot.at("expires_at_ms");
    if (!expires.is_null() && expires.get<std::uint64_t>() <= tip_time_ms + expiry_horizon_ms) {
      expiring.push_back({expires.get<std::uint64_t>(), points, partner});
    }
  }
  const auto by_time = [](const Dated& a, const Dated& b) { return a.time_ms < b.time_ms; };
  std::sort(pending.begin(), pending.end(), by_time);
  std::sort(expiring.begin(), expiring.end(), by_time);
  for (const Dated& lot : pending) {
    out << "  " << lot.points << " spendable from " << format_utc(lot.time_ms) << " ("
        << partner_label(names, lot.partner) << ")\n";
  }
  out << "Expiring within 30 days: " << account.at("expiring_within_30_days").get<std::uint64_t>() << " points\n";
  for (const Dated& lot : expiring) {
    out << "  " << lot.points << " on " << format_utc(lot.time_ms) << " (" << partner_label(names, lot.partner)
        << ")\n";
  }
}

// History entries carry no reward (docs/rpc.md, get_account), so a redemption's reward comes
// from its transaction: decoded here from its canonical bytes, which must hash to the entry's id.
std::string redemption_reward(NodeClient& client, const std::string& tx_id_hex) {
  const Json answer = call(client, "get_transaction", {{"id", tx_id_hex}});
  const auto tx = ledger::Transaction::decode(bytes_from_json(answer.at("hex"), "the transaction hex"));
  const auto* redeem = tx ? std::get_if<ledger::Redeem>(&tx->fields().body) : nullptr;
  if (redeem == nullptr || to_hex(tx->id()) != tx_id_hex) {
    throw Failure(Exit::node_unreachable, "the node answered another transaction than redemption " + tx_id_hex);
  }
  return redeem->reward;
}

void history_command(const WalletOptions& options, std::size_t limit, std::ostream& out) {
  const std::string address = crypto::encode_address(unlock(options).public_key());
  NodeClient client = connect(options);
  const Json account = call(client, "get_account", {{"address", address}, {"history_limit", limit}});
  const auto names = partner_names(client);
  const Json& history = account.at("history");
  if (history.empty()) {
    out << "No history yet for " << address << "\n";
    return;
  }
  out << std::left << std::setw(8) << "block" << std::setw(17) << "what" << std::right << std::setw(10)
      << "points" << "  " << std::left << std::setw(24) << "partner" << "transaction\n";
  for (const Json& entry : history) {
    const Json& tx_id = entry.at("tx_id");
    out << std::left << std::setw(8) << entry.at("height").get<std::uint64_t>() << std::setw(17)
        << entry.at("kind").get<std::string>() << std::right << std::setw(10)
        << entry.at("points").get<std::uint64_t>() << "  " << std::left << std::setw(24)
        << partner_label(names, entry.at("partner").get<std::uint64_t>())
        << (tx_id.is_null() ? std::string("(expiry)") : tx_id.get<std::string>());
    if (entry.at("kind").get<std::string>() == "redeemed" && tx_id.is_string()) {
      out << "  for \"" << redemption_reward(client, tx_id.get<std::string>()) << "\"";
    }
    out << "\n";
  }
}

void redeem_command(const WalletOptions& options, const RedeemRequest& request, std::ostream& out) {
  const crypto::SecretKey key = unlock(options);
  NodeClient client = connect(options);
  ledger::Redeem redeem{key.public_key(), request.partner, request.points, request.reward};
  sign_and_submit(key, client, std::move(redeem), request.points, request.wait_for_commit, out);
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
  if (answer.at("status").get<std::string>() != "committed") {
    const WaitOutcome outcome = wait ? wait_for_commit(client, id_hex) : WaitOutcome{false, answer};
    if (!outcome.committed) throw Failure(Exit::not_committed, "transaction " + id_hex + " is still pending");
    answer = outcome.status;
  }

  // 1. The transaction: its canonical bytes decode and hash to the id asked for.
  const auto tx = ledger::Transaction::decode(bytes_from_json(answer.at("hex"), "the transaction hex"));
  if (!tx) verification_failed("the transaction does not decode: " + tx.error().message());
  if (tx->id() != *tx_id) verification_failed("the transaction's bytes hash to " + to_hex(tx->id()));

  // 2. The block: decode it ourselves and recompute its id.
  const auto height = answer.at("height").get<std::uint64_t>();
  const Json block_answer = call(client, "get_block", {{"height", height}});
  const auto block = ledger::Block::decode(bytes_from_json(block_answer.at("hex"), "the block hex"));
  if (!block) verification_failed("the block does not decode: " + block.error().message());
  const ledger::Hash256 block_id = block->header.hash();
  if (block->header.height != height) verification_failed("the block returned is not at height " + std::to_string(height));
  if (block_id != hash_from_json(answer.at("block_hash"), "block_hash")) {
    verification_failed("the block at height " + std::to_string(height) + " hashes to " + to_hex(block_id) +
                        ", not the block_hash the transaction names");
  }
  if (block->header.chain_id != tx->fields().chain_id) verification_failed("the block and the transaction name different chains");

  // 3. The Merkle proof, checked against the root in the header we hashed, not the proof's.
  const Json& proof = answer.at("proof");
  const auto index = proof.at("index").get<std::size_t>();
  const auto count = proof.at("count").get<std::size_t>();
  std::vector<ledger::Hash256> path;
  for (const Json& step : proof.at("path")) path.push_back(hash_from_json(step, "a Merkle path hash"));
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
    genesis = genesis_from_node(client, call(client, "chain_info", Json::object()));
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
  if (const ledger::Status committed = ledger::verify_commit(genesis, block_id, block->commit); !committed) {
    verification_failed("the block's commit: " + committed.error().message());
  }
  std::uint64_t signed_power = 0;
  for (const ledger::CommitSignature& vote : block->commit.signatures) {
    signed_power += genesis.partner(vote.validator)->voting_power;
  }

  out << "Transaction " << id_hex << " (" << ledger::tx_type_name(tx->type()) << ", sequence " << tx->fields().sequence << ")\n"
      << "  ok  its bytes hash to its id\n"
      << "  ok  signed by " << signer_description(genesis, *tx) << "\n"
      << "  ok  leaf " << index << " of " << count << ": the Merkle path (" << path.size()
      << " hashes) leads to the merkle_root of block " << height << "\n"
      << "  ok  block " << height << " hashes to " << to_hex(block_id) << " (" << format_utc(block->header.time_ms) << ")\n"
      << "  ok  committed by validators holding " << signed_power << " of " << genesis.total_voting_power()
      << " voting power\n"
      << "Verified"
      << (genesis_file.empty() ? " against the partner keys the node reports (pass --genesis FILE to use a genesis you trust).\n"
                               : " against the partner keys in " + genesis_file.string() + ".\n");
}

}  // namespace pc::wallet
