// Writes the seed corpora: valid encodings of every format, so each fuzz target starts from
// inputs that pass its decoder and mutates outward from there. Run by hand, never by the
// build or CI (the seeds are checked in):
//   cmake --build build-fuzz --target fuzz_seed_generator
//   build-fuzz/bin/fuzz_seed_generator fuzz/corpus
// Everything is deterministic (seeded keys, fixed times), except the salt and nonce of the
// sealed key file, which libsodium draws at random.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "crypto/address.hpp"
#include "crypto/check.hpp"
#include "crypto/keyfile.hpp"
#include "fuzz/fuzz_support.hpp"
#include "ledger/block.hpp"
#include "ledger/merkle.hpp"
#include "ledger/store.hpp"
#include "ledger/voucher.hpp"
#include "ledger/votes.hpp"
#include "node/consensus_files.hpp"
#include "node/peer_messages.hpp"
#include "node/p2p/wire.hpp"

namespace {

namespace ledger = pc::ledger;
namespace fuzz = pc::fuzz;

std::filesystem::path corpus_root;

void write_seed(const std::string& target, const std::string& name, pc::ByteSpan bytes) {
  const std::filesystem::path dir = corpus_root / target;
  std::filesystem::create_directories(dir);
  std::ofstream file(dir / name, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!file) throw std::runtime_error("cannot write " + (dir / name).string());
}

void write_seed(const std::string& target, const std::string& name, std::string_view text) {
  write_seed(target, name, pc::as_bytes(text));
}

const pc::crypto::SecretKey& customer(std::size_t n) { return fuzz::keys().customers[n]; }
const pc::crypto::SecretKey& issuer(ledger::PartnerId id) { return fuzz::keys().issuers[id - 1]; }

ledger::UnsignedTransaction fields(std::uint64_t sequence, ledger::TxBody body) {
  ledger::UnsignedTransaction tx;
  tx.chain_id = fuzz::chain_id;
  tx.sequence = sequence;
  tx.last_valid_height = 100;
  tx.body = std::move(body);
  return tx;
}

ledger::StampCardTerms sample_card() {
  ledger::StampCardTerms card;
  card.name = "Coffee card";
  card.stamps_needed = 2;
  card.min_amount_minor = 250;
  card.currency = "EUR";
  card.rule = ledger::StampRule::per_day;
  card.reward_id = 1;
  card.card_days = 30;
  return card;
}

// 0.40 EUR at partner 2, 80 points at half a cent a point, signed by partner 2.
ledger::SignedPaymentRequest sample_payment_request() {
  return ledger::sign_payment_request({fuzz::chain_id, 2, "till-1-0001", 40, "EUR", 80, fuzz::genesis_time_ms + 600'000, 7},
                                      issuer(2));
}

std::vector<ledger::Transaction> sample_transactions() {
  ledger::Issue plain;
  plain.partner = 1;
  plain.customer = customer(0).public_key();
  plain.points = 500;
  plain.reference = "order-1001";
  ledger::Issue with_purchase = plain;
  with_purchase.partner = 2;
  with_purchase.reason = ledger::Reason::cashback;
  with_purchase.reference = "order-2002";
  with_purchase.pending_days = 14;
  with_purchase.purchase = ledger::Purchase{12'345, "EUR"};
  const ledger::Redeem redeem{customer(0).public_key(), 3, 200, "coffee voucher"};
  const ledger::Transfer transfer{customer(0).public_key(), customer(1).public_key(), 50};
  const ledger::Reverse reverse{1, "order-1001"};

  std::vector<ledger::Transaction> txs;
  txs.push_back(ledger::Transaction::sign(fields(1, plain), issuer(1)));
  txs.push_back(ledger::Transaction::sign(fields(1, with_purchase), issuer(2)));
  txs.push_back(ledger::Transaction::sign(fields(1, redeem), customer(0)));
  txs.push_back(ledger::Transaction::sign(fields(2, transfer), customer(0)));
  txs.push_back(ledger::Transaction::sign(fields(2, reverse), issuer(1)));
  ledger::RewardTerms terms;
  terms.name = "Free coffee";
  terms.cost_points = 30;
  terms.stock = 100;
  terms.limit_per_period = 1;
  terms.period_days = 7;
  txs.push_back(ledger::Transaction::sign(fields(3, ledger::PublishReward{1, 7, terms}), issuer(1)));
  txs.push_back(ledger::Transaction::sign(fields(3, ledger::RedeemReward{customer(0).public_key(), 1, 7, 2}), customer(0)));
  txs.push_back(ledger::Transaction::sign(fields(4, ledger::UseVoucher{1, "0123456789AB"}), issuer(1)));
  txs.push_back(ledger::Transaction::sign(fields(5, ledger::PartialReturn{1, "order-1001", 250}), issuer(1)));
  txs.push_back(ledger::Transaction::sign(fields(6, ledger::DefineStampCard{1, 3, sample_card()}), issuer(1)));
  txs.push_back(ledger::Transaction::sign(
      fields(7, ledger::DefineBadge{1, 4, {"Critic", ledger::BadgeRule::action_count, ledger::Reason::review, 5, true}}),
      issuer(1)));
  txs.push_back(ledger::Transaction::sign(fields(8, ledger::AwardBadge{1, 4, customer(1).public_key()}), issuer(1)));
  txs.push_back(ledger::Transaction::sign(fields(1, ledger::PrepaidTopUp{2, 5'000, "INV-2026-001"}),
                                          fuzz::seeded_key("coalition billing")));
  txs.push_back(ledger::Transaction::sign(fields(6, ledger::SetPointValue{1, {"EUR", 1, 2}}), issuer(1)));
  txs.push_back(ledger::Transaction::sign(fields(4, ledger::PayWithPoints{customer(0).public_key(), sample_payment_request()}),
                                          customer(0)));
  return txs;
}

void transaction_seeds() {
  const char* names[] = {"issue",          "issue-purchase", "redeem",      "transfer",
                         "reverse",        "publish-reward", "redeem-reward", "use-voucher",
                         "partial-return", "define-stamp-card", "define-badge", "award-badge", "prepaid-top-up",
                         "set-point-value", "pay-with-points"};
  const auto txs = sample_transactions();
  for (std::size_t i = 0; i < txs.size(); ++i) write_seed("fuzz_transaction", names[i], txs[i].bytes());
  // Protocol version 4: GrantTier (kept out of sample_transactions, whose blocks seed others).
  const ledger::Transaction grant =
      ledger::Transaction::sign(fields(6, ledger::GrantTier{1, customer(0).public_key(), 2, fuzz::genesis_time_ms + 30 * ledger::ms_per_day}),
                                issuer(1));
  write_seed("fuzz_transaction", "grant-tier", grant.bytes());
}

ledger::Block block_with(std::vector<ledger::Transaction> txs, std::uint64_t height) {
  const ledger::Genesis genesis = fuzz::small_genesis({});
  ledger::Block block;
  block.header.chain_id = fuzz::chain_id;
  block.header.height = height;
  block.header.previous_hash = genesis.hash();
  block.header.time_ms = fuzz::genesis_time_ms + height * 1'000;
  block.header.proposer = 1;
  block.transactions = std::move(txs);
  const auto ids = block.tx_ids();
  block.header.merkle_root = ledger::merkle_root(ids);
  block.header.state_hash.fill(0x11);
  const auto validator = fuzz::seeded_key("partner 1 validator");
  block.commit.signatures.push_back(ledger::sign_commit(1, validator, fuzz::chain_id, height, 0, block.header.hash()));
  return block;
}

void block_seeds() {
  write_seed("fuzz_block", "empty", block_with({}, 1).encode());
  write_seed("fuzz_block", "five-transactions", block_with(sample_transactions(), 2).encode());
  ledger::Block two_signers = block_with({sample_transactions()[2]}, 3);
  const auto second = fuzz::seeded_key("partner 2 validator");
  two_signers.commit.signatures.push_back(
      ledger::sign_commit(2, second, fuzz::chain_id, 3, 0, two_signers.header.hash()));
  write_seed("fuzz_block", "two-signers", two_signers.encode());
}

// Selector byte 0: vote, 1: proposal, 2: evidence (fuzz_consensus_message.cpp).
void consensus_message_seeds() {
  const auto validator = fuzz::seeded_key("partner 1 validator");
  const auto with_selector = [](std::uint8_t selector, const pc::Bytes& bytes) {
    pc::Bytes out{selector};
    out.insert(out.end(), bytes.begin(), bytes.end());
    return out;
  };
  ledger::Vote prevote{ledger::VoteType::prevote, fuzz::chain_id, 3, 1, std::nullopt, 1, {}};
  prevote.signature = validator.sign(prevote.sign_bytes());
  ledger::Vote precommit{ledger::VoteType::precommit, fuzz::chain_id, 3, 1, pc::crypto::sha256(pc::as_bytes("block")), 1, {}};
  precommit.signature = validator.sign(precommit.sign_bytes());
  ledger::Vote conflicting = prevote;
  conflicting.block_id = precommit.block_id;
  conflicting.signature = validator.sign(conflicting.sign_bytes());
  ledger::Proposal proposal{fuzz::chain_id, 3, 2, 1u, *precommit.block_id, 1, {}};
  proposal.signature = validator.sign(proposal.sign_bytes());
  write_seed("fuzz_consensus_message", "prevote-nil", with_selector(0, prevote.encode()));
  write_seed("fuzz_consensus_message", "precommit", with_selector(0, precommit.encode()));
  write_seed("fuzz_consensus_message", "proposal-with-pol", with_selector(1, proposal.encode()));
  pc::Bytes evidence;
  {
    ledger::Evidence pair{prevote, conflicting};
    if (conflicting.encode() < prevote.encode()) std::swap(pair.first, pair.second);
    evidence = pair.encode();
  }
  write_seed("fuzz_consensus_message", "evidence", with_selector(2, evidence));

  // fuzz_evidence_record: the key's 15-byte id, then the value.
  auto evidence_record = ledger::EvidencePosition::of(*ledger::Evidence::decode(evidence)).encode();
  evidence_record.insert(evidence_record.end(), evidence.begin(), evidence.end());
  write_seed("fuzz_evidence_record", "equivocating-prevotes", evidence_record);
}

// The documented example (docs/earning-rules.md, "The file") and the smallest valid file.
void earning_rules_seeds() {
  write_seed("fuzz_earning_rules", "documented-example.json", R"({
  "version": 1,
  "time_zone_offset_minutes": 60,
  "currencies": [
    {"currency": "EUR", "points_per_unit": 1, "minimum_order_minor": 300}
  ],
  "exclusions": [
    {"name": "gift cards", "flag": "gift_card"},
    {"name": "tobacco", "category": "tobacco"}
  ],
  "multiplier_per_mille_max": 3000,
  "multipliers": [
    {"name": "coffee week", "category": "coffee", "per_mille": 2000,
     "start": "2026-11-23T00:00", "end": "2026-11-30T00:00"},
    {"name": "lazy sunday", "weekdays": ["sunday"], "per_mille": 1500},
    {"name": "we miss you", "per_mille": 3000, "segment": {"inactive_days": 60},
     "start": "2026-11-23T00:00", "end": "2026-11-30T00:00"}
  ],
  "fixed_points": [
    {"name": "croissant bonus", "sku": "CROISSANT", "points_per_item": 5}
  ],
  "first_purchase_bonus": {"name": "welcome", "points": 50},
  "customer_caps": {"day": 500, "week": 2000, "month": 5000},
  "order_points_max": 1000
}
)");
  write_seed("fuzz_earning_rules", "minimal.json",
             R"({"version": 1, "currencies": [{"currency": "JPY", "points_per_unit": 1000000}],)"
             R"( "multipliers": [{"name": "new", "sku": "X", "per_mille": 100000, "segment": {"new_customer": true}}]})");
  // Tier segments, named as the fuzz target's tier program names them (Silver, Gold).
  write_seed("fuzz_earning_rules", "tiers.json",
             R"({"version": 1, "currencies": [{"currency": "EUR", "points_per_unit": 1}], "multiplier_per_mille_max": 3000,)"
             R"( "multipliers": [{"name": "gold double", "per_mille": 2000, "segment": {"tier": {"one_of": ["Gold"]}}},)"
             R"( {"name": "silver and up", "per_mille": 1500, "segment": {"tier": {"at_least": "Silver"}}}]})");
}

// Bodies of submit_transaction requests as clients send them (nlohmann's member order, as
// pointchain-bench-rpc and the wallet write them), and with whitespace and every kind of id.
void rpc_submit_scan_seeds() {
  write_seed("fuzz_rpc_submit_scan", "batch.json",
             R"([{"id":0,"jsonrpc":"2.0","method":"submit_transaction","params":{"hex":"0102abcd"}},)"
             R"({"id":1,"jsonrpc":"2.0","method":"submit_transaction","params":{"hex":""}}])");
  write_seed("fuzz_rpc_submit_scan", "one.json",
             R"({"jsonrpc":"2.0","id":"order 7","method":"submit_transaction","params":{"hex":"00FF"}})");
  write_seed("fuzz_rpc_submit_scan", "spaced.json",
             " [ {\"params\" : {\"hex\":\"aa\"}, \"method\":\"submit_transaction\",\n\"jsonrpc\":\"2.0\", \"id\": null},\r\n"
             "{\"jsonrpc\":\"2.0\",\"method\":\"submit_transaction\",\"params\":{\"hex\":\"bb\"}},\t"
             "{\"jsonrpc\":\"2.0\",\"id\":-123456789012345678,\"method\":\"submit_transaction\",\"params\":{\"hex\":\"cc\"}} ]\n");
}

// fuzz_signer_state: one record per step. fuzz_wal_file: a height file written by the log
// itself (records of several sizes, the empty one included), and the same with a torn tail.
void consensus_files_seeds() {
  pc::consensus::LastSigned last{12, 3, pc::consensus::Step::precommit, pc::crypto::sha256(pc::as_bytes("vote"))};
  write_seed("fuzz_signer_state", "precommit", pc::node::FileSignerStateStore::encode(last));
  last.step = pc::consensus::Step::propose;
  last.round = 0;
  write_seed("fuzz_signer_state", "propose", pc::node::FileSignerStateStore::encode(last));

  const std::filesystem::path directory = std::filesystem::temp_directory_path() / "pointchain-fuzz-seed-wal";
  std::filesystem::remove_all(directory);
  {
    // fuzz_wal_file fuzzes the framing of opaque records.
    auto log = pc::node::FileWriteAheadLog::open(directory, [](pc::ByteSpan) { return pc::ledger::Status{}; });
    FUZZ_CHECK(log.ok());
    (*log)->append(7, pc::as_bytes("first record"));
    (*log)->append(7, pc::ByteSpan{});
    (*log)->append(7, pc::Bytes(300, 0xab));
  }
  std::ifstream file(directory / "00000000000000000007.wal", std::ios::binary);
  pc::Bytes bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::filesystem::remove_all(directory);
  FUZZ_CHECK(!bytes.empty());
  write_seed("fuzz_wal_file", "three-records", bytes);
  bytes.resize(bytes.size() - 100);
  write_seed("fuzz_wal_file", "torn-tail", bytes);
}

// Protocol version 4 with a tier program of three tiers.
ledger::Genesis tiered_genesis() {
  ledger::Genesis genesis = fuzz::small_genesis({}, 4);
  genesis.policy.tiers.window_days = 30;
  genesis.policy.tiers.grace_days = 10;
  genesis.policy.tiers.tiers = {{"Silver", 1'000, 12'500}, {"Gold", 5'000, 15'000}, {"Platinum", 20'000, 20'000}};
  return genesis;
}

// fuzz_tier_record: program byte, two time offsets, an account record's value (version 2:
// one lot, then the tier state).
void tier_record_seeds() {
  const auto seed = [](std::uint8_t program, std::uint64_t t1_offset_ms, std::uint64_t t2_offset_ms,
                       const ledger::TierStatus& status) {
    pc::Bytes input{program};
    for (std::uint64_t offset : {t1_offset_ms, t2_offset_ms}) {
      for (int i = 0; i < 8; ++i) input.push_back(static_cast<std::uint8_t>(offset >> (8 * i)));
    }
    ledger::Account account;
    account.record_version = 2;
    account.lots.push_back({1, {2, 0}, 1'000, fuzz::genesis_time_ms + 1'000, fuzz::genesis_time_ms + 1'000});
    account.tier = status;
    const pc::Bytes value = ledger::record::encode(account);
    input.insert(input.end(), value.begin(), value.end());
    return input;
  };
  const std::uint64_t day = ledger::ms_per_day;
  ledger::TierStatus earned;  // window 0 of 30 days, Gold earned in it
  earned.window_points = 1'000;
  earned.tier = 2;
  write_seed("fuzz_tier_record", "earned", seed(0x1a, 5 * day, 65 * day, earned));
  ledger::TierStatus granted = earned;  // and a grant of the top tier for 40 days
  granted.granted_tier = 3;
  granted.granted_by = 1;
  granted.granted_until_ms = fuzz::genesis_time_ms + 40 * day;
  granted.tier = 3;
  write_seed("fuzz_tier_record", "granted", seed(0x26, 1 * day, 100 * day, granted));
  ledger::TierStatus remembered;  // window 2: qualifications from the two windows before
  remembered.window = 2;
  remembered.previous_tier = 1;
  remembered.earlier_tier = 2;
  remembered.tier = 2;
  write_seed("fuzz_tier_record", "remembered", seed(0x2a, 61 * day, 95 * day, remembered));
}

// fuzz_tier_changes_record: the stored record of a block's tier changes, one at the block's
// start (no transaction, partner 0) and one earned upgrade; and a block's without any.
void tier_changes_record_seeds() {
  const ledger::TierChange earned{fuzz::seeded_key("customer 1").public_key(), 0, 1, 1, pc::crypto::sha256(pc::as_bytes("tx"))};
  const ledger::TierChange ended{fuzz::seeded_key("customer 2").public_key(), 2, 0, 0, {}};
  write_seed("fuzz_tier_changes_record", "ended-and-earned", ledger::encode_tier_changes({ended, earned}));
  write_seed("fuzz_tier_changes_record", "none", ledger::encode_tier_changes({}));
}

void genesis_seeds() {
  ledger::Policy rich;
  rich.point_expiry_days = 365;
  rich.transfers_allowed = true;
  rich.issuance_cap_points = 1'000'000;
  ledger::Genesis one_partner = fuzz::small_genesis({});
  one_partner.partners.resize(1);
  ledger::Genesis billing = fuzz::small_genesis(rich, 4);
  billing.policy.billing = ledger::no_charge_billing(billing.partners, fuzz::seeded_key("coalition billing").public_key());
  billing.policy.billing->partners[1] = {2, ledger::BillingPlan::prepaid, 200, 100'000};
  const std::pair<const char*, ledger::Genesis> samples[] = {
      {"plain", fuzz::small_genesis({})},
      {"billing", billing},
      {"rich-policy", fuzz::small_genesis(rich)},
      {"one-partner", one_partner},
      {"tiers", tiered_genesis()},
  };
  for (const auto& [name, genesis] : samples) {
    write_seed("fuzz_genesis_binary", name, genesis.encode());
    write_seed("fuzz_genesis_json", std::string(name) + ".json", ledger::genesis_to_json(genesis));
  }
}

void address_seeds() {
  for (std::size_t i = 0; i < 2; ++i) {
    const std::string address = pc::crypto::encode_address(customer(i).public_key());
    write_seed("fuzz_address", "customer-" + std::to_string(i), address);
    std::string upper = address;
    for (char& c : upper) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    write_seed("fuzz_address", "customer-" + std::to_string(i) + "-upper", upper);
  }
}

void keyfile_seeds() {
  const pc::Bytes sealed =
      pc::crypto::seal_key(customer(0), "fuzz passphrase", pc::crypto::KdfLimits::minimum());
  write_seed("fuzz_keyfile", "minimum-limits", sealed);
}

// A short history with every kind of record: accounts with several lots, issuances (one
// reversed), partner counters, settlement between partners, and totals.
void state_records_seeds() {
  const std::uint8_t policies[] = {0x07, 0x04 | 0x08 | 0x20, 0x00 | 0x40};
  for (const std::uint8_t policy_byte : policies) {
    ledger::State state(fuzz::small_genesis(fuzz::policy_from_byte(policy_byte)));
    std::map<pc::crypto::PublicKey, std::uint64_t> sequence;
    const auto tx = [&](const pc::crypto::PublicKey& signer, ledger::TxBody body) {
      return ledger::Transaction::with_signature(fields(++sequence[signer], std::move(body)), {});
    };
    const auto run_block = [&](std::uint64_t advance_ms, const std::vector<ledger::Transaction>& txs) {
      ledger::BlockExecutor executor(state, {state.height() + 1, state.time_ms() + advance_ms});
      for (const auto& each : txs) (void)executor.apply(each, ledger::SignatureCheck::already_verified);
      state.apply(std::move(executor).finish());
    };
    const auto c0 = customer(0).public_key();
    const auto c1 = customer(1).public_key();
    run_block(1'000, {tx(issuer(1).public_key(), ledger::Issue{1, c0, 80, ledger::Reason::purchase, "r-1", 0, {}}),
                      tx(issuer(2).public_key(), ledger::Issue{2, c0, 30, ledger::Reason::bonus, "r-2", 3, {}}),
                      tx(issuer(3).public_key(), ledger::Issue{3, c1, 25, ledger::Reason::review, "r-3", 0, {}})});
    run_block(5 * ledger::ms_per_day,
              {tx(c0, ledger::Redeem{c0, 3, 40, "gift"}), tx(c0, ledger::Transfer{c0, c1, 20}),
               tx(issuer(3).public_key(), ledger::Reverse{3, "r-3"})});
    FUZZ_CHECK(state.check_invariants().ok());
    char name[32];
    std::snprintf(name, sizeof name, "history-policy-%02x", policy_byte);
    write_seed("fuzz_state_records", name, fuzz::join_records(policy_byte, state.records()));
  }
  ledger::State fresh(fuzz::small_genesis({}));
  write_seed("fuzz_state_records", "fresh", fuzz::join_records(0, fresh.records()));

  // Protocol version 3: a reward, a customer's usage, vouchers (one used), issuance records of
  // version 2 and a partial return.
  const std::uint8_t catalog_policy = 0x80 | 0x04;
  ledger::State catalog(fuzz::small_genesis(fuzz::policy_from_byte(catalog_policy), fuzz::protocol_from_byte(catalog_policy)));
  std::map<pc::crypto::PublicKey, std::uint64_t> sequence;
  const auto tx = [&](const pc::crypto::PublicKey& signer, ledger::TxBody body) {
    return ledger::Transaction::with_signature(fields(++sequence[signer], std::move(body)), {});
  };
  const auto run_block = [&](std::uint64_t advance_ms, const std::vector<ledger::Transaction>& txs) {
    ledger::BlockExecutor executor(catalog, {catalog.height() + 1, catalog.time_ms() + advance_ms});
    for (const auto& each : txs) FUZZ_CHECK(executor.apply(each, ledger::SignatureCheck::already_verified).ok());
    catalog.apply(std::move(executor).finish());
  };
  const auto c0 = customer(0).public_key();
  ledger::RewardTerms terms;
  terms.name = "Free coffee";
  terms.cost_points = 10;
  terms.stock = 5;
  terms.limit_per_period = 2;
  terms.period_days = 1;
  run_block(1'000, {tx(issuer(1).public_key(), ledger::Issue{1, c0, 80, ledger::Reason::purchase, "r-1", 0,
                                                              ledger::Purchase{8'000, "EUR"}}),
                    tx(issuer(2).public_key(), ledger::PublishReward{2, 1, terms})});
  const ledger::Transaction redemption = tx(c0, ledger::RedeemReward{c0, 2, 1, 2});
  run_block(1'000, {redemption, tx(issuer(1).public_key(), ledger::PartialReturn{1, "r-1", 2'000})});
  run_block(1'000, {tx(issuer(2).public_key(), ledger::UseVoucher{2, ledger::voucher_code(redemption.id(), 0)})});
  FUZZ_CHECK(catalog.check_invariants().ok());
  write_seed("fuzz_state_records", "catalog", fuzz::join_records(catalog_policy, catalog.records()));

  // Protocol version 4: a stamp card filled (a card voucher) and a stamp taken back by a
  // return, badges counted, earned and awarded.
  ledger::StampCardTerms card = sample_card();
  card.reward_id = 1;
  ledger::BadgeTerms points{"Big spender", ledger::BadgeRule::points_earned, std::nullopt, 50, true};
  ledger::BadgeTerms founder{"Founder", ledger::BadgeRule::awarded, std::nullopt, 0, true};
  run_block(1'000, {tx(issuer(2).public_key(), ledger::DefineStampCard{2, 1, card}),
                    tx(issuer(2).public_key(), ledger::DefineBadge{2, 1, points}),
                    tx(issuer(2).public_key(), ledger::DefineBadge{2, 2, founder})});
  const auto purchase = [&](std::string reference, std::uint64_t points_issued) {
    return tx(issuer(2).public_key(),
              ledger::Issue{2, c0, points_issued, ledger::Reason::purchase, std::move(reference), 0, ledger::Purchase{300, "EUR"}});
  };
  run_block(1'000, {purchase("s-1", 20), tx(issuer(2).public_key(), ledger::AwardBadge{2, 2, c0})});
  run_block(ledger::ms_per_day, {purchase("s-2", 40)});
  run_block(ledger::ms_per_day, {purchase("s-3", 5)});
  run_block(1'000, {tx(issuer(2).public_key(), ledger::Reverse{2, "s-3"})});
  FUZZ_CHECK(catalog.check_invariants().ok());
  write_seed("fuzz_state_records", "stamps", fuzz::join_records(catalog_policy, catalog.records()));
  // Each of those records' values alone, for fuzz_stamp_records (its selector byte first).
  for (const ledger::Record& record : catalog.records()) {
    const std::string tags = "cldkbv";
    const auto selector = tags.find(static_cast<char>(record.key[0]));
    if (selector == std::string::npos) continue;
    pc::Bytes seed{static_cast<std::uint8_t>(selector)};
    seed.insert(seed.end(), record.value.begin(), record.value.end());
    write_seed("fuzz_stamp_records", pc::to_hex(record.key), seed);
  }
}

// Payment requests in both forms (fuzz_payment_request: the first byte picks the form), and
// the bodies of types 11 and 12 behind fuzz_pay_with_points' selector byte.
void payment_seeds() {
  const ledger::SignedPaymentRequest request = sample_payment_request();
  pc::Bytes binary{0};
  const pc::Bytes encoded = request.encode();
  binary.insert(binary.end(), encoded.begin(), encoded.end());
  write_seed("fuzz_payment_request", "binary", binary);
  pc::Bytes text{1};
  const std::string printed = request.text();
  text.insert(text.end(), printed.begin(), printed.end());
  write_seed("fuzz_payment_request", "text", text);
  const auto body_seed = [](std::uint8_t selector, const ledger::Transaction& tx) {
    // The body and signature: what follows the header (version, type, chain id, sequence,
    // last-valid height) in the transaction's bytes.
    const std::size_t header_bytes = 2 + 1 + std::string_view(fuzz::chain_id).size() + 16;
    pc::Bytes seed{selector};
    seed.insert(seed.end(), tx.bytes().begin() + static_cast<std::ptrdiff_t>(header_bytes), tx.bytes().end());
    return seed;
  };
  const auto samples = sample_transactions();
  write_seed("fuzz_pay_with_points", "set-point-value", body_seed(0, samples[samples.size() - 2]));
  write_seed("fuzz_pay_with_points", "pay", body_seed(1, samples.back()));
  write_seed("fuzz_pay_with_points", "pay-own-signature", body_seed(3, samples.back()));
}

// Voucher codes as people type them (fuzz_voucher_code).
void voucher_code_seeds() {
  write_seed("fuzz_voucher_code", "canonical", std::string_view("0123456789AB"));
  write_seed("fuzz_voucher_code", "printed", std::string_view("ABCD-EFGH-JKMN"));
  write_seed("fuzz_voucher_code", "typed", std::string_view("abcd efgh jkmn"));
  write_seed("fuzz_voucher_code", "look-alikes", std::string_view("o1lI-0000-0000"));
}

// Programs in the fuzz_state_machine language (fuzz_support.hpp).
class Program {
 public:
  explicit Program(std::uint8_t policy_byte) { bytes_.push_back(policy_byte); }
  Program& issue(int partner, int customer_index, std::uint8_t points, int reference, int pending) {
    return put({op(pc::fuzz::Op::issue), byte(partner - 1), byte(customer_index), byte(points - 1),
                byte(reference), byte(pending)});
  }
  Program& issue_max(int partner, int customer_index, int reference) {
    put({op(pc::fuzz::Op::issue), byte(partner - 1), byte(customer_index), 0xc0});
    return put({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, byte(reference), 0});
  }
  Program& redeem(int customer_index, int partner, std::uint8_t points) {
    return put({op(pc::fuzz::Op::redeem), byte(customer_index), byte(partner - 1), byte(points - 1)});
  }
  Program& transfer(int from, int to, std::uint8_t points) {
    return put({op(pc::fuzz::Op::transfer), byte(from), byte(to), byte(points - 1)});
  }
  Program& reverse(int partner, int reference) {
    return put({op(pc::fuzz::Op::reverse), byte(partner - 1), byte(reference)});
  }
  Program& block(int advance_index) { return put({op(pc::fuzz::Op::block), byte(advance_index)}); }
  Program& replay(int index) { return put({op(pc::fuzz::Op::replay), byte(index)}); }
  Program& skewed_redeem(int skew, int customer_index, int partner, std::uint8_t points) {
    return put({static_cast<std::uint8_t>(op(pc::fuzz::Op::redeem) | skew << 3), byte(customer_index),
                byte(partner - 1), byte(points - 1)});
  }
  const pc::Bytes& bytes() const { return bytes_; }

 private:
  static std::uint8_t op(pc::fuzz::Op kind) { return static_cast<std::uint8_t>(kind); }
  static std::uint8_t byte(int value) { return static_cast<std::uint8_t>(value); }
  Program& put(std::initializer_list<std::uint8_t> values) {
    bytes_.insert(bytes_.end(), values.begin(), values.end());
    return *this;
  }
  pc::Bytes bytes_;
};

void state_machine_seeds() {
  // Transfers, 30-day expiry: earn, spend, move, reverse, then let the rest expire.
  write_seed("fuzz_state_machine", "lifecycle",
             Program(0x07)
                 .issue(1, 0, 50, 0, 0).issue(2, 1, 40, 1, 1).block(0)
                 .redeem(0, 2, 20).transfer(0, 1, 10).reverse(1, 0).block(2)
                 .redeem(1, 3, 30).block(6).issue(3, 2, 9, 2, 0).replay(0).block(0)
                 .bytes());
  // Cap of 100 points: the second issuance passes the cap, a reversal makes room again.
  write_seed("fuzz_state_machine", "cap",
             Program(0x08)
                 .issue(1, 0, 60, 0, 0).issue(1, 1, 60, 1, 0).block(0)
                 .reverse(1, 0).issue(1, 1, 60, 1, 0).issue(1, 1, 60, 2, 0).block(0)
                 .bytes());
  // One-day expiry with a two-day return window: points expire before they can be spent.
  write_seed("fuzz_state_machine", "pending-expiry",
             Program(0x01)
                 .issue(2, 3, 64, 4, 2).block(2).redeem(3, 1, 10).block(3).redeem(3, 1, 10)
                 .reverse(2, 4).block(0)
                 .bytes());
  // Totals near 2^64: the second issuance must fail with overflow, not wrap.
  write_seed("fuzz_state_machine", "overflow",
             Program(0x04)
                 .issue_max(1, 0, 0).issue_max(2, 1, 1).block(0).transfer(0, 1, 64).redeem(1, 3, 64)
                 .block(7)
                 .bytes());
  // Replays and sequence skews: every one must be refused without a trace.
  write_seed("fuzz_state_machine", "sequences",
             Program(0x05)
                 .issue(1, 0, 30, 0, 0).block(0).skewed_redeem(1, 0, 1, 5).skewed_redeem(2, 0, 1, 5)
                 .redeem(0, 1, 5).replay(1).replay(0).block(1).transfer(0, 0, 1).transfer(0, 2, 5)
                 .block(4)
                 .bytes());
}

}  // namespace

// fuzz_peer_message: one message of each type, the block-carrying ones around a block of
// one Issue with its certificate.
void peer_message_seeds() {
  namespace node = pc::node;
  const auto validator = fuzz::seeded_key("partner 1 validator");
  const auto write = [](const std::string& name, const node::PeerMessage& message) {
    write_seed("fuzz_peer_message", name, node::encode_peer_message(message));
  };
  pc::crypto::Hash256 a{};
  a.fill(0xaa);
  pc::crypto::Hash256 b{};
  b.fill(0xbb);
  write("status", node::StatusMessage{5, a, 6, 2});
  write("tx-announce", node::TxAnnounce{{a, b}});
  write("tx-request", node::TxRequest{{a}});
  write("consensus-request", node::ConsensusRequest{7, 1});
  write("blocks-request", node::BlocksRequest{1, 64});
  ledger::Vote prevote{ledger::VoteType::prevote, fuzz::chain_id, 1, 2, std::nullopt, 1, {}};
  prevote.signature = validator.sign(prevote.sign_bytes());
  write("vote", prevote);

  const ledger::Block block = block_with({sample_transactions()[0]}, 1);
  write("tx-deliver", node::TxDeliver{{block.transactions.front()}});
  write("tx-push", node::TxPush{{2, 3}, {block.transactions.front()}});
  write("decision", pc::consensus::DecisionMessage{block});
  write("blocks-response", node::BlocksResponse{1, {block}});
  ledger::Block proposed = block;
  proposed.commit = {};
  ledger::Proposal proposal{fuzz::chain_id, 1, 0, std::nullopt, block.header.hash(), 1, {}};
  proposal.signature = validator.sign(proposal.sign_bytes());
  write("proposal", pc::consensus::ProposalMessage{proposal, proposed});
}

// The handshake as a node sends it (a hello, an Auth body) and frames: for fuzz_p2p_frame's
// even mode a real frame's bytes (it must not open under the target's key), for its odd mode
// position bytes and payloads.
void p2p_seeds() {
  using namespace pc::node::p2p;
  const ledger::Genesis genesis = fuzz::small_genesis({});
  const EphemeralKey ephemeral = EphemeralKey::from_seed(pc::crypto::sha256(pc::as_bytes("p2p seed ephemeral")));
  pc::Bytes hello{0};
  const pc::Bytes hello_body = encode_hello({genesis.hash(), ephemeral.public_key()});
  hello.insert(hello.end(), hello_body.begin(), hello_body.end());
  write_seed("fuzz_p2p_handshake", "hello", hello);
  const auto key = fuzz::seeded_key("partner 1 validator");
  const pc::Bytes transcript = auth_transcript(Role::dialer, genesis.chain_id, genesis.hash(), ephemeral.public_key(),
                                               ephemeral.public_key(), 1, key.public_key());
  pc::Bytes auth{1};
  const pc::Bytes auth_body = encode_auth({1, key.public_key(), key.sign(transcript)});
  auth.insert(auth.end(), auth_body.begin(), auth_body.end());
  write_seed("fuzz_p2p_handshake", "auth", auth);

  std::array<std::uint8_t, session_key_bytes> other_key{};
  other_key[0] = 0xee;
  FrameSealer sealer(other_key);
  auto auth_frame = sealer.seal(FrameKind::auth, auth_body);
  auto message_frame = sealer.seal(FrameKind::message, pc::as_bytes("a message"));
  PC_CHECK(auth_frame.ok() && message_frame.ok());
  pc::Bytes stream{0};
  stream.insert(stream.end(), auth_frame->begin(), auth_frame->end());
  write_seed("fuzz_p2p_frame", "auth-frame-other-key", stream);
  stream = {2};
  stream.insert(stream.end(), message_frame->begin(), message_frame->end());
  write_seed("fuzz_p2p_frame", "message-frame-other-key", stream);
  write_seed("fuzz_p2p_frame", "payload-flip-tag", std::string_view("\x01\xf0hello, partner 1"));
  write_seed("fuzz_p2p_frame", "payload-flip-prefix", std::string_view("\x01\x02" "a longer payload for the frame"));
  write_seed("fuzz_p2p_frame", "empty-payload", pc::Bytes{1, 0});
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR   (normally fuzz/corpus)\n", argv[0]);
    return 2;
  }
  pc::fuzz::initialize_once();
  corpus_root = argv[1];
  transaction_seeds();
  block_seeds();
  consensus_message_seeds();
  peer_message_seeds();
  earning_rules_seeds();
  rpc_submit_scan_seeds();
  consensus_files_seeds();
  genesis_seeds();
  address_seeds();
  keyfile_seeds();
  state_records_seeds();
  tier_record_seeds();
  tier_changes_record_seeds();
  voucher_code_seeds();
  payment_seeds();
  state_machine_seeds();
  p2p_seeds();
  std::printf("seeds written under %s\n", corpus_root.c_str());
  return 0;
}
