#include "tests/fixtures.hpp"

#include <catch2/catch.hpp>
#include <sodium.h>

#include <algorithm>
#include <random>

namespace pc::test {

crypto::PublicKey with_torsion_component(const crypto::PublicKey& key) {
  static const auto order_eight =
      fixed_from_hex<32>("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05").value();
  crypto::PublicKey mixed{};
  REQUIRE(crypto_core_ed25519_add(mixed.data(), key.data(), order_eight.data()) == 0);
  return mixed;
}

std::string tier_changes_key(std::uint64_t height) {
  std::string key = "C";
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>(height >> shift));
  return key;
}

TempDir::TempDir() {
  std::random_device entropy;
  const auto base = std::filesystem::temp_directory_path();
  for (;;) {
    path_ = base / ("pointchain-test-" + std::to_string(entropy()));
    if (std::filesystem::create_directory(path_)) break;
  }
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

class FullDiskEnv::File final : public leveldb::WritableFile {
 public:
  File(FullDiskEnv& env, std::unique_ptr<leveldb::WritableFile> file) : env_(env), file_(std::move(file)) {}

  leveldb::Status Append(const leveldb::Slice& data) override {
    const std::size_t fits = env_.take(data.size());
    if (fits == data.size()) return file_->Append(data);
    // The torn write: what fits reaches the file (when LevelDB next flushes or closes it).
    if (fits > 0) (void)file_->Append(leveldb::Slice(data.data(), fits));
    return leveldb::Status::IOError("FullDiskEnv", "No space left on device");
  }
  leveldb::Status Close() override { return file_->Close(); }
  leveldb::Status Flush() override { return file_->Flush(); }
  leveldb::Status Sync() override { return file_->Sync(); }

 private:
  FullDiskEnv& env_;
  std::unique_ptr<leveldb::WritableFile> file_;
};

FullDiskEnv::FullDiskEnv() : leveldb::EnvWrapper(leveldb::Env::Default()) {}

void FullDiskEnv::set_space_left(std::optional<std::uint64_t> bytes) {
  std::lock_guard lock(mutex_);
  space_left_ = bytes;
}

std::uint64_t FullDiskEnv::bytes_offered() const {
  std::lock_guard lock(mutex_);
  return bytes_offered_;
}

std::size_t FullDiskEnv::take(std::size_t size) {
  std::lock_guard lock(mutex_);
  bytes_offered_ += size;
  if (!space_left_) return size;
  const std::size_t fits = static_cast<std::size_t>(std::min<std::uint64_t>(size, *space_left_));
  *space_left_ -= fits;
  return fits;
}

leveldb::Status FullDiskEnv::NewWritableFile(const std::string& name, leveldb::WritableFile** result) {
  leveldb::WritableFile* file = nullptr;
  const leveldb::Status status = target()->NewWritableFile(name, &file);
  *result = status.ok() ? new File(*this, std::unique_ptr<leveldb::WritableFile>(file)) : nullptr;
  return status;
}

leveldb::Status FullDiskEnv::NewAppendableFile(const std::string& name, leveldb::WritableFile** result) {
  leveldb::WritableFile* file = nullptr;
  const leveldb::Status status = target()->NewAppendableFile(name, &file);
  *result = status.ok() ? new File(*this, std::unique_ptr<leveldb::WritableFile>(file)) : nullptr;
  return status;
}

ledger::Genesis make_genesis(const GenesisOptions& options) {
  ledger::Genesis genesis;
  genesis.protocol_version = options.protocol_version;
  genesis.chain_id = test_chain_id;
  genesis.coalition_name = "Test Coalition";
  genesis.genesis_time_ms = test_genesis_time_ms;
  for (std::size_t i = 1; i <= options.partners; ++i) {
    ledger::Partner partner;
    partner.id = static_cast<ledger::PartnerId>(i);
    partner.name = "Partner " + std::to_string(i);
    partner.issuer_key = TxFactory::partner_issuer(partner.id).public_key();
    partner.validator_key = seeded_key("partner " + std::to_string(i) + " validator").public_key();
    if (options.voting_powers.empty()) {
      partner.voting_power = i == 1 ? 1 : 0;
    } else {
      partner.voting_power = i <= options.voting_powers.size() ? options.voting_powers[i - 1] : 0;
    }
    genesis.partners.push_back(partner);
  }
  genesis.policy.point_expiry_days = options.point_expiry_days;
  genesis.policy.transfers_allowed = options.transfers_allowed;
  genesis.policy.issuance_cap_points = options.issuance_cap_points;
  if (ledger::has_billing_terms(options.protocol_version)) {
    genesis.policy.billing = options.billing ? *options.billing
                                             : ledger::no_charge_billing(genesis.partners, TxFactory::billing_key().public_key());
  }
  genesis.policy.tiers = options.tiers;
  return genesis;
}

ledger::TierProgram test_tier_program() {
  ledger::TierProgram program;
  program.window_days = 30;
  program.grace_days = 10;
  program.tiers = {{"Silver", 1'000, 12'500}, {"Gold", 5'000, 15'000}};
  return program;
}

GenesisOptions tier_chain_options() {
  GenesisOptions options;
  options.protocol_version = 4;
  options.tiers = test_tier_program();
  return options;
}

crypto::SecretKey TxFactory::partner_issuer(ledger::PartnerId id) {
  return seeded_key("partner " + std::to_string(id) + " issuer");
}

crypto::SecretKey TxFactory::customer(int n) { return seeded_key("customer " + std::to_string(n)); }

crypto::SecretKey TxFactory::billing_key() { return seeded_key("coalition billing"); }

ledger::Transaction TxFactory::prepaid_top_up(ledger::PartnerId partner, std::uint64_t points, std::string reference,
                                              const crypto::SecretKey* signer) {
  ledger::UnsignedTransaction tx;
  tx.chain_id = chain_id_;
  tx.sequence = ++next_top_up_sequence[partner];
  tx.last_valid_height = last_valid_height;
  tx.body = ledger::PrepaidTopUp{partner, points, std::move(reference)};
  if (signer != nullptr) return ledger::Transaction::sign(std::move(tx), *signer);
  return ledger::Transaction::sign(std::move(tx), billing_key());
}

ledger::UnsignedTransaction TxFactory::fields(const crypto::PublicKey& signer, ledger::TxBody body) {
  ledger::UnsignedTransaction tx;
  tx.chain_id = chain_id_;
  tx.sequence = ++next_sequence[signer];
  tx.last_valid_height = last_valid_height;
  tx.body = std::move(body);
  return tx;
}

ledger::Transaction TxFactory::issue(ledger::PartnerId partner, const crypto::PublicKey& customer,
                                     std::uint64_t points, std::string reference,
                                     std::uint16_t pending_days) {
  const crypto::SecretKey key = partner_issuer(partner);
  ledger::Issue body;
  body.partner = partner;
  body.customer = customer;
  body.points = points;
  body.reference = std::move(reference);
  body.pending_days = pending_days;
  return ledger::Transaction::sign(fields(key.public_key(), body), key);
}

ledger::Transaction TxFactory::issue_for(ledger::PartnerId partner, const crypto::PublicKey& customer,
                                         std::uint64_t points, std::string reference, ledger::Reason reason,
                                         std::optional<ledger::Purchase> purchase) {
  const crypto::SecretKey key = partner_issuer(partner);
  ledger::Issue body;
  body.partner = partner;
  body.customer = customer;
  body.points = points;
  body.reason = reason;
  body.reference = std::move(reference);
  body.purchase = std::move(purchase);
  return ledger::Transaction::sign(fields(key.public_key(), body), key);
}

ledger::Transaction TxFactory::redeem(const crypto::SecretKey& customer, ledger::PartnerId partner,
                                      std::uint64_t points, std::string reward) {
  ledger::Redeem body{customer.public_key(), partner, points, std::move(reward)};
  return ledger::Transaction::sign(fields(customer.public_key(), body), customer);
}

ledger::Transaction TxFactory::transfer(const crypto::SecretKey& from, const crypto::PublicKey& to,
                                        std::uint64_t points) {
  ledger::Transfer body{from.public_key(), to, points};
  return ledger::Transaction::sign(fields(from.public_key(), body), from);
}

ledger::Transaction TxFactory::reverse(ledger::PartnerId partner, std::string reference) {
  const crypto::SecretKey key = partner_issuer(partner);
  ledger::Reverse body{partner, std::move(reference)};
  return ledger::Transaction::sign(fields(key.public_key(), body), key);
}

ledger::Transaction TxFactory::publish_reward(ledger::PartnerId partner, std::uint32_t reward_id,
                                              ledger::RewardTerms terms) {
  const crypto::SecretKey key = partner_issuer(partner);
  ledger::PublishReward body{partner, reward_id, std::move(terms)};
  return ledger::Transaction::sign(fields(key.public_key(), body), key);
}

ledger::Transaction TxFactory::set_point_value(ledger::PartnerId partner, ledger::PointValue value) {
  const crypto::SecretKey key = partner_issuer(partner);
  return ledger::Transaction::sign(fields(key.public_key(), ledger::SetPointValue{partner, std::move(value)}), key);
}

ledger::SignedPaymentRequest TxFactory::payment_request(ledger::PartnerId partner, std::string order_id,
                                                        std::uint64_t amount_minor, std::string currency,
                                                        std::uint64_t points, std::uint64_t expires_at_ms,
                                                        std::uint64_t nonce) const {
  ledger::PaymentRequest request{chain_id_, partner, std::move(order_id), amount_minor, std::move(currency),
                                 points,    expires_at_ms, nonce};
  return ledger::sign_payment_request(std::move(request), partner_issuer(partner));
}

ledger::Transaction TxFactory::pay_with_points(const crypto::SecretKey& customer, ledger::SignedPaymentRequest request) {
  ledger::PayWithPoints body{customer.public_key(), std::move(request)};
  return ledger::Transaction::sign(fields(customer.public_key(), body), customer);
}

ledger::Transaction TxFactory::redeem_reward(const crypto::SecretKey& customer, ledger::PartnerId partner,
                                             std::uint32_t reward_id, std::uint16_t quantity) {
  ledger::RedeemReward body{customer.public_key(), partner, reward_id, quantity};
  return ledger::Transaction::sign(fields(customer.public_key(), body), customer);
}

ledger::Transaction TxFactory::use_voucher(ledger::PartnerId partner, std::string code) {
  const crypto::SecretKey key = partner_issuer(partner);
  ledger::UseVoucher body{partner, std::move(code)};
  return ledger::Transaction::sign(fields(key.public_key(), body), key);
}

ledger::Transaction TxFactory::partial_return(ledger::PartnerId partner, std::string reference,
                                              std::uint64_t amount_minor) {
  const crypto::SecretKey key = partner_issuer(partner);
  ledger::PartialReturn body{partner, std::move(reference), amount_minor};
  return ledger::Transaction::sign(fields(key.public_key(), body), key);
}

ledger::Transaction TxFactory::grant_tier(ledger::PartnerId partner, const crypto::PublicKey& customer, std::uint8_t tier,
                                          std::uint64_t until_ms) {
  const crypto::SecretKey key = partner_issuer(partner);
  ledger::GrantTier body{partner, customer, tier, until_ms};
  return ledger::Transaction::sign(fields(key.public_key(), body), key);
}

ledger::Transaction TxFactory::define_stamp_card(ledger::PartnerId partner, std::uint32_t card_id,
                                                 ledger::StampCardTerms terms) {
  const crypto::SecretKey key = partner_issuer(partner);
  ledger::DefineStampCard body{partner, card_id, std::move(terms)};
  return ledger::Transaction::sign(fields(key.public_key(), body), key);
}

ledger::Transaction TxFactory::define_badge(ledger::PartnerId partner, std::uint32_t badge_id, ledger::BadgeTerms terms) {
  const crypto::SecretKey key = partner_issuer(partner);
  ledger::DefineBadge body{partner, badge_id, std::move(terms)};
  return ledger::Transaction::sign(fields(key.public_key(), body), key);
}

ledger::Transaction TxFactory::award_badge(ledger::PartnerId partner, std::uint32_t badge_id,
                                           const crypto::PublicKey& customer) {
  const crypto::SecretKey key = partner_issuer(partner);
  ledger::AwardBadge body{partner, badge_id, customer};
  return ledger::Transaction::sign(fields(key.public_key(), body), key);
}

TestChain::TestChain(const GenesisOptions& options)
    : genesis_(make_genesis(options)), validator_(seeded_key("partner 1 validator")) {
  auto created = ledger::ChainStore::create(store_path(), genesis_);
  REQUIRE(created.ok());
  store_ = std::move(created).value();
}

void TestChain::reopen() {
  store_.reset();
  auto opened = ledger::ChainStore::open(store_path(), genesis_);
  REQUIRE(opened.ok());
  store_ = std::move(opened).value();
}

node::ProducedBlock TestChain::commit(const std::vector<ledger::Transaction>& transactions,
                                      std::uint64_t advance_ms, ledger::SignatureCheck check) {
  node::ProducedBlock produced = node::produce_block(store_->state(), store_->tip(), transactions,
                                                     store_->tip().time_ms + advance_ms, {1, &validator_}, check);
  node::ProducedBlock result;
  result.block = produced.block;
  result.rejected = produced.rejected;
  auto status = store_->append_executed(produced.block, std::move(produced.changes));
  INFO((status ? std::string() : status.error().message()));
  REQUIRE(status.ok());
  return result;
}

void TestChain::commit_all(const std::vector<ledger::Transaction>& transactions, std::uint64_t advance_ms) {
  node::ProducedBlock produced = commit(transactions, advance_ms);
  for (const auto& [index, error] : produced.rejected) {
    INFO("transaction " << index << " rejected: " << error.message());
    CHECK(false);
  }
  REQUIRE(produced.rejected.empty());
}

ledger::Status TestChain::try_apply(const ledger::Transaction& tx, std::uint64_t advance_ms) {
  ledger::BlockExecutor executor(store_->state(), ledger::BlockContext{store_->tip().height + 1,
                                                                       store_->tip().time_ms + advance_ms});
  return executor.apply(tx, ledger::SignatureCheck::verify);
}

}  // namespace pc::test
