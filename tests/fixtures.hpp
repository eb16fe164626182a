// Shared test fixtures: real keys from fixed seeds, a real genesis, real LevelDB stores in
// temporary directories, and a chain builder that signs and commits blocks the way a node
// does. Every test that needs a chain builds one here instead of mocking.
#pragma once

#include <leveldb/env.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "crypto/hash.hpp"
#include "crypto/keys.hpp"
#include "ledger/store.hpp"
#include "node/demo.hpp"

namespace pc::test {

// A key derived from a label: the same label gives the same key in every run.
inline crypto::SecretKey seeded_key(std::string_view label) {
  return crypto::SecretKey::from_seed(crypto::sha256(as_bytes(label)));
}

// `key` plus a point of order 8 (libsodium's own blocklist entry): on the curve and not of
// small order, but outside the prime-order subgroup, so is_valid_public_key refuses it while
// libsodium's verify alone does not.
crypto::PublicKey with_torsion_component(const crypto::PublicKey& key);

// The chain store's key of a block's tier change record, as docs/protocol.md ("Store layout")
// spells it: "C" followed by the height, 8 bytes big-endian.
std::string tier_changes_key(std::uint64_t height);

// A fresh directory under the system temp dir, removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline constexpr std::uint64_t test_genesis_time_ms = 1'700'000'000'000;
inline constexpr char test_chain_id[] = "test-chain";

struct GenesisOptions {
  std::size_t partners = 3;             // ids 1..partners; partner 1 is the only validator
  // Partner i's voting power is voting_powers[i - 1] (partners beyond the list: 0). Empty:
  // partner 1 holds 1 and the others 0.
  std::vector<std::uint64_t> voting_powers{};
  std::uint32_t point_expiry_days = 0;
  bool transfers_allowed = true;
  std::uint64_t issuance_cap_points = 0;
  // Version 1 keeps the golden vectors' genesis (docs/protocol.md) what it always was.
  std::uint16_t protocol_version = ledger::protocol_version_first;
  // Protocol version 4 on: the genesis tier program (test_tier_program() is a worked one).
  ledger::TierProgram tiers{};
  // Billing terms of a version 4 chain; nullopt there: every partner post-paid at no charge
  // (ledger::no_charge_billing) with TxFactory::billing_key().
  std::optional<ledger::BillingTerms> billing = std::nullopt;
};

// Silver from 1000 qualifying points (×1.25), Gold from 5000 (×1.5), windows of 30 days with
// 10 days of grace: the program of docs/loyalty.md's example, on a test scale.
ledger::TierProgram test_tier_program();
// The genesis options of a protocol version 4 chain with test_tier_program().
GenesisOptions tier_chain_options();

// Partner i's keys are seeded_key("partner i issuer") and seeded_key("partner i validator").
ledger::Genesis make_genesis(const GenesisOptions& options = {});

// Builds transactions with the right signer and the next sequence number for it.
class TxFactory {
 public:
  explicit TxFactory(std::string chain_id = test_chain_id) : chain_id_(std::move(chain_id)) {}

  static crypto::SecretKey partner_issuer(ledger::PartnerId id);
  static crypto::SecretKey customer(int n);  // seeded_key("customer n")
  static crypto::SecretKey billing_key();    // seeded_key("coalition billing")

  ledger::Transaction issue(ledger::PartnerId partner, const crypto::PublicKey& customer,
                            std::uint64_t points, std::string reference,
                            std::uint16_t pending_days = 0);
  // An issuance for `reason`; a purchase carries `purchase`.
  ledger::Transaction issue_for(ledger::PartnerId partner, const crypto::PublicKey& customer, std::uint64_t points,
                                std::string reference, ledger::Reason reason,
                                std::optional<ledger::Purchase> purchase = std::nullopt);
  ledger::Transaction redeem(const crypto::SecretKey& customer, ledger::PartnerId partner,
                             std::uint64_t points, std::string reward = "reward");
  ledger::Transaction transfer(const crypto::SecretKey& from, const crypto::PublicKey& to,
                               std::uint64_t points);
  ledger::Transaction reverse(ledger::PartnerId partner, std::string reference);
  // The rewards catalog (protocol version 3).
  ledger::Transaction publish_reward(ledger::PartnerId partner, std::uint32_t reward_id, ledger::RewardTerms terms);
  ledger::Transaction redeem_reward(const crypto::SecretKey& customer, ledger::PartnerId partner,
                                    std::uint32_t reward_id, std::uint16_t quantity = 1);
  ledger::Transaction use_voucher(ledger::PartnerId partner, std::string code);
  ledger::Transaction partial_return(ledger::PartnerId partner, std::string reference, std::uint64_t amount_minor);
  // Tiers (protocol version 4).
  ledger::Transaction grant_tier(ledger::PartnerId partner, const crypto::PublicKey& customer, std::uint8_t tier,
                                 std::uint64_t until_ms);
  // Billing (protocol version 4): signed by `signer` (nullptr: billing_key()), with the
  // partner's next top-up sequence from next_top_up_sequence.
  ledger::Transaction prepaid_top_up(ledger::PartnerId partner, std::uint64_t points, std::string reference,
                                     const crypto::SecretKey* signer = nullptr);
  // Stamp cards and badges (protocol version 4).
  ledger::Transaction define_stamp_card(ledger::PartnerId partner, std::uint32_t card_id, ledger::StampCardTerms terms);
  ledger::Transaction define_badge(ledger::PartnerId partner, std::uint32_t badge_id, ledger::BadgeTerms terms);
  ledger::Transaction award_badge(ledger::PartnerId partner, std::uint32_t badge_id, const crypto::PublicKey& customer);
  // Paying with points (protocol version 4). The request is signed by the partner's issuer key
  // for this factory's chain.
  ledger::Transaction set_point_value(ledger::PartnerId partner, ledger::PointValue value);
  ledger::SignedPaymentRequest payment_request(ledger::PartnerId partner, std::string order_id, std::uint64_t amount_minor,
                                               std::string currency, std::uint64_t points, std::uint64_t expires_at_ms,
                                               std::uint64_t nonce = 1) const;
  ledger::Transaction pay_with_points(const crypto::SecretKey& customer, ledger::SignedPaymentRequest request);

  // The fields every built transaction gets; tests change them to break a rule.
  std::uint64_t last_valid_height = 1'000;
  // Next sequence per signer; tests may rewind or skip it.
  std::map<crypto::PublicKey, std::uint64_t> next_sequence;
  // A top-up's sequence counts per partner (its prepaid record), not per signing key.
  std::map<ledger::PartnerId, std::uint64_t> next_top_up_sequence;

 private:
  ledger::UnsignedTransaction fields(const crypto::PublicKey& signer, ledger::TxBody body);
  std::string chain_id_;
};

// The real file system, except that writes fail the way a full disk fails them once a byte
// budget is spent: the write that crosses it puts its first bytes down and then fails, so
// LevelDB's log ends in a torn record, as ENOSPC leaves it. Lifting the budget is "freeing
// space". Only files LevelDB opens for writing through the Env are counted (not its LOG).
class FullDiskEnv : public leveldb::EnvWrapper {
 public:
  FullDiskEnv();
  // From now on `bytes` more may be written; nullopt (the start): no limit.
  void set_space_left(std::optional<std::uint64_t> bytes);
  // Bytes LevelDB has handed to its files so far, written or refused.
  std::uint64_t bytes_offered() const;

  leveldb::Status NewWritableFile(const std::string& name, leveldb::WritableFile** result) override;
  leveldb::Status NewAppendableFile(const std::string& name, leveldb::WritableFile** result) override;

 private:
  class File;
  // How many of `size` bytes fit; counts them as offered.
  std::size_t take(std::size_t size);

  mutable std::mutex mutex_;
  std::optional<std::uint64_t> space_left_;  // guarded by mutex_
  std::uint64_t bytes_offered_ = 0;          // guarded by mutex_
};

// A real store in a temp dir plus the validator key, committing blocks like a node.
class TestChain {
 public:
  explicit TestChain(const GenesisOptions& options = {});

  ledger::ChainStore& store() { return *store_; }
  const ledger::State& state() const { return store_->state(); }
  const ledger::Genesis& genesis() const { return genesis_; }
  const std::filesystem::path& directory() const { return dir_.path() ; }
  std::filesystem::path store_path() const { return dir_.path() / "chain"; }

  // Produces and commits a block `advance_ms` after the tip. Returns the produced block,
  // whose `rejected` lists the transactions left out. `already_verified` stores transactions
  // whose signatures or keys a node would refuse: a chain for the audit to find at fault.
  node::ProducedBlock commit(const std::vector<ledger::Transaction>& txs, std::uint64_t advance_ms = 1'000,
                             ledger::SignatureCheck check = ledger::SignatureCheck::verify);
  // Like commit(), but fails the test (REQUIRE) if any transaction is left out.
  void commit_all(const std::vector<ledger::Transaction>& txs, std::uint64_t advance_ms = 1'000);
  // Applies one transaction in a scratch block without committing: the typed result.
  ledger::Status try_apply(const ledger::Transaction& tx, std::uint64_t advance_ms = 1'000);

  // Closes and reopens the store (the state is reloaded from disk).
  void reopen();
  void close() { store_.reset(); }

  TxFactory txs;

 private:
  TempDir dir_;
  ledger::Genesis genesis_;
  crypto::SecretKey validator_;
  std::unique_ptr<ledger::ChainStore> store_;
};

}  // namespace pc::test
