// The wallet's commands. Each prints what a person needs on `out` and throws Failure
// (exit_codes.hpp) when it cannot finish; the JSON it reads from the node is the contract
// in docs/rpc.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

#include "ledger/transaction.hpp"

namespace pc::wallet {

inline constexpr char default_node_url[] = "http://127.0.0.1:8645";
inline constexpr char node_url_env[] = "POINTCHAIN_NODE";
// Blocks after the current height that a transaction the wallet signs stays valid for.
inline constexpr std::uint64_t tx_validity_blocks = 100;
inline constexpr std::uint64_t commit_poll_interval_ms = 200;
inline constexpr std::uint64_t commit_wait_ms_max = 30'000;
inline constexpr std::uint64_t expiry_horizon_ms = 30ull * 24 * 60 * 60 * 1000;
inline constexpr std::size_t history_limit_max = 100;

struct WalletOptions {
  std::filesystem::path wallet_path;
  std::string node_url;
  std::filesystem::path passphrase_file;  // empty: environment or prompt
};

void create_command(const WalletOptions& options, std::ostream& out);
void address_command(const WalletOptions& options, std::ostream& out);
// The wallet's referral code (crypto/referral_code.hpp), computed here and checked against
// the node's get_referral_code, which also says whether partners can resolve it yet.
void referral_code_command(const WalletOptions& options, std::ostream& out);
void balance_command(const WalletOptions& options, std::ostream& out);
void history_command(const WalletOptions& options, std::size_t limit, std::ostream& out);

// Either points for a free-text reward, or `quantity` units of a catalog reward by id (protocol
// version 3): the wallet reads the reward's cost, signs a RedeemReward and prints each voucher's
// code (derived from the redemption, ledger/voucher.hpp).
struct RedeemRequest {
  ledger::PartnerId partner = 0;
  std::uint64_t points = 0;
  std::string reward;
  std::optional<std::uint32_t> reward_id;
  std::uint16_t quantity = 1;
  bool wait_for_commit = true;
};
void redeem_command(const WalletOptions& options, const RedeemRequest& request, std::ostream& out);
// The customer's vouchers with their status (valid or used), from get_vouchers; with
// `draw_qr_codes`, each valid voucher's code also as a QR code for the till's scanner.
void vouchers_command(const WalletOptions& options, bool draw_qr_codes, std::ostream& out);
// Every stamp card of the coalition with the customer's stamps on it (get_stamp_cards).
void cards_command(const WalletOptions& options, std::ostream& out);
// The customer's badges, then the ones it is counting toward (get_badges).
void badges_command(const WalletOptions& options, std::ostream& out);

// Pays a till's payment request (protocol version 4; docs/wallet.md, "pay"): the request's text
// as the till shows it. The wallet checks the request before it shows it (this chain, signed by
// the partner's issuer key from get_partners, not expired at the tip), prints the partner, the
// amount and the points, and unless `assume_yes` reads the answer from `confirm`: anything but
// "y" or "yes" signs nothing (Exit::declined). Then it signs a PayWithPoints of exactly the
// request's points, with the request inside.
struct PayRequest {
  std::string request_text;
  bool assume_yes = false;
  bool wait_for_commit = true;
};
void pay_command(const WalletOptions& options, const PayRequest& request, std::istream& confirm, std::ostream& out);

struct TransferRequest {
  std::string to_address;
  std::uint64_t points = 0;
  bool wait_for_commit = true;
};
void transfer_command(const WalletOptions& options, const TransferRequest& request, std::ostream& out);

// The wallet's public key as 64 hex digits, as a genesis names keys (a coalition's billing key).
void public_key_command(const WalletOptions& options, std::ostream& out);

// The coalition's billing operator (docs/billing.md): with the genesis billing key as the
// wallet's key, signs a PrepaidTopUp of `points` (whole blocks of 1000) for prepaid partner
// `partner` under the invoice `reference`, numbered with the next top-up sequence get_partners
// gives, and prints the partner's prepaid balance once it is committed.
struct TopUpRequest {
  ledger::PartnerId partner = 0;
  std::uint64_t points = 0;
  std::string reference;
  bool wait_for_commit = true;
};
void top_up_command(const WalletOptions& options, const TopUpRequest& request, std::ostream& out);

void export_command(const WalletOptions& options, const std::filesystem::path& out_path, std::ostream& out);
void import_command(const WalletOptions& options, const std::filesystem::path& in_path, std::ostream& out);

// Fetches the transaction, its proof and its block, and checks locally: the bytes hash to
// the id, the signature, the Merkle path to the header's root, the header hash, and the
// commit's validator signatures. Partner keys come from `genesis_file` when given, else from
// the node's get_partners (then the check proves consistency with what the node claims).
// With `wait_for_commit`, a pending transaction is waited for as redeem does.
void verify_tx_command(const WalletOptions& options, const std::string& tx_id_hex,
                       const std::filesystem::path& genesis_file, bool wait_for_commit, std::ostream& out);

}  // namespace pc::wallet
