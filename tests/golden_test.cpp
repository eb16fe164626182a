// Golden vectors: the exact bytes and hashes of fixed transactions, the test genesis and its
// first block. They pin the formats of docs/protocol.md (whose "Worked examples" annotate the
// same hex): any change to an encoding, a hash or a domain prefix breaks this file, and must
// be a deliberate protocol change. ed25519 signatures are deterministic, so the hex is stable.
// tests/tools/print_examples.cpp prints these values split into fields.
#include <catch2/catch.hpp>

#include <cstdio>
#include <map>

#include "ledger/block.hpp"
#include "ledger/chain.hpp"
#include "ledger/limits.hpp"
#include "ledger/payment.hpp"
#include "ledger/state.hpp"
#include "ledger/voucher.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc;

// Each literal is split at field boundaries; docs/protocol.md names every field.
constexpr const char* issue_hex =
    "01" "01" "0a" "746573742d636861696e" "0100000000000000" "e803000000000000"  // common header
    "0100"                                                                         // partner 1
    "1fe5df78e45a92e24236b4d7ab4fc6be8854e95f1ca27e7f4bb8c19ea8d56650"             // customer
    "fa00000000000000"                                                             // 250 points
    "01"                                                                           // purchase
    "0a" "6f726465722d31303031"                                                    // "order-1001"
    "0e00"                                                                         // 14 days
    "01" "270a000000000000" "455552"                                               // 25.99 EUR
    "bc13acbb6474f79b71d883ebbec864cd6e8a66a0ae62f257e3b5a1d5a23f7718"             // signature
    "02e0376950fb5b72052305bfa71751e9f82ed27d45e8cf37fe3ddb171cfe7e03";
constexpr const char* issue_id_hex = "ef5ddfce2a70092cd395ef4461fe6be5057372598016059d3643fe8a1b6f285d";

constexpr const char* redeem_hex =
    "01" "02" "0a" "746573742d636861696e" "0100000000000000" "e803000000000000"
    "1fe5df78e45a92e24236b4d7ab4fc6be8854e95f1ca27e7f4bb8c19ea8d56650"  // customer
    "0200"                                                              // partner 2
    "6400000000000000"                                                  // 100 points
    "06" "636f66666565"                                                 // "coffee"
    "e1a16628499d3e34e990640337a53dc5dec6a78f69af3458e6c360bb2f4b52c1"
    "a6cdc68a5a8b6c8eb410b22b4439b04056b4457dd57de56f1321f9f1a8c99c08";
constexpr const char* redeem_id_hex = "3fcffd1f96eb5352fe7128fba0b505f849dc6182511327d6a5c9a8aba3a373bb";

constexpr const char* transfer_hex =
    "01" "03" "0a" "746573742d636861696e" "0200000000000000" "e803000000000000"
    "1fe5df78e45a92e24236b4d7ab4fc6be8854e95f1ca27e7f4bb8c19ea8d56650"  // from customer 1
    "a29b114b93bffa7cda66c71b1f2d643c282f6849e0cf2fe44344c7a4cf7cdc56"  // to customer 2
    "2800000000000000"                                                  // 40 points
    "c06964f106b0bad58860099c341e8f64c15ca496a59817cd9fa4a2838f397f45"
    "1e30280e6d9e7345a76c007c3af86f4171d4aafcf75c085f6eb7927845c3e102";
constexpr const char* transfer_id_hex = "3c86416de093e0c7202089ce4c236a01062a18eaf80a94913e286b0ade920445";

constexpr const char* reverse_hex =
    "01" "04" "0a" "746573742d636861696e" "0200000000000000" "e803000000000000"
    "0100"                       // partner 1
    "0a" "6f726465722d31303031"  // "order-1001"
    "d11b0572623dc3979f672b29f194d631e34b5ce4d45bb596607e5b6fe9fb6233"
    "1d67b6a9ba4aa4bfdc42d7ce4b0df0041258f13f8a06008af54a84c2b2936006";
constexpr const char* reverse_id_hex = "47dc346b0537754d73090c24532f7279345c8ec92ab919001981cf53e13030ec";

constexpr const char* genesis_hex =
    "01" "0a" "746573742d636861696e" "0e" "5465737420436f616c6974696f6e" "0068e5cf8b010000"
    "03"                                                                // three partners
    "0100" "09" "506172746e65722031"                                    // 1 "Partner 1"
    "4f35fbb537c0d0b38f1a6257ba159a8ba18eb89da948ce20ed7ab404522937e6"  // issuer key
    "689cbc2419136476cfdfb51bc9bb3aa31e7505eb82343a1ef967bf06dcb30a5f"  // validator key
    "0100000000000000"                                                  // voting power 1
    "0200" "09" "506172746e65722032"
    "e4ae4dd0172b92aebdf4d346cd52a45d75f7e644aa15ba430396a9786bb50c76"
    "5e3d72c4144009abafee28f04a36b620737faf7ebad7ca6d3bcccd467aa29643"
    "0000000000000000"
    "0300" "09" "506172746e65722033"
    "e82b8b2048446e179950e0b93e7dcb4ecb10214b08db4845410de8794cd96676"
    "242ef1915929bc96601e383aab02ec23c523335f95328e2c725723a4970df969"
    "0000000000000000"
    "00000000" "01" "0000000000000000";  // no expiry, transfers allowed, no cap
constexpr const char* genesis_hash_hex = "40b1e798703f2d2bf6053849e8bc374fed7abec869f3d9cf4fa4ef4749f93c2d";
constexpr const char* genesis_v2_hash_hex = "cce28749cc8e6f63422391dbe46df698247b6d95686c307bdce5ea7c3c2caaf7";
constexpr const char* genesis_state_hash_hex = "3469491733ac67312a99238d4ce95c4f36d81f7b7ef3bd725c5f89569452d195";

constexpr const char* header_hex =
    "02" "0a" "746573742d636861696e" "0100000000000000"                 // version 2, chain id, height 1
    "40b1e798703f2d2bf6053849e8bc374fed7abec869f3d9cf4fa4ef4749f93c2d"  // previous: genesis hash
    "e86be5cf8b010000"                                                  // genesis time + 1000 ms
    "0100"                                                              // proposer 1
    "00000000"                                                          // round 0
    "67a9ff32ce4bdd0bb3b9afb6285781009424b5b941e5eefd939eeff15c3b87bd"  // Merkle root
    "be8a913ce9b2bef4d5056f75d62283bc7e5d1b800c8b2e214aa46e6fa5a0199e";  // state hash
constexpr const char* block_id_hex = "fc9a3c61dbe3cacb6a0609671f45a3576d09d9ee521a7aff3b9043ddb859b246";
constexpr const char* merkle_root_hex = "67a9ff32ce4bdd0bb3b9afb6285781009424b5b941e5eefd939eeff15c3b87bd";
constexpr const char* state_hash_hex = "be8a913ce9b2bef4d5056f75d62283bc7e5d1b800c8b2e214aa46e6fa5a0199e";
constexpr const char* changes_digest_hex = "bdc3f495a8ea641b05a182fe0e8b72e0f9dfbcfda2b3d8718551eee0934dbf53";
constexpr const char* commit_tail_hex =
    "00000000"   // certificate round 0
    "01" "0100"  // one signature, validator 1: its precommit
    "6ddc47871c51cc36cf58a43914a5b05c65aa8269d9f054cc26f64998f87b42fb"
    "ed36f9ba95cba19d1e57f942fd2becd35bcdcb7873652c56d1257364de619e0d";
// What partner 1's validator signs to precommit block 1 in round 0: the commit vote.
constexpr const char* precommit_sign_bytes_hex =
    "50435043" "0a" "746573742d636861696e" "0100000000000000" "00000000"  // PCPC, chain, height 1, round 0
    "01" "fc9a3c61dbe3cacb6a0609671f45a3576d09d9ee521a7aff3b9043ddb859b246";  // for block 1
constexpr const char* prevote_nil_sign_bytes_hex =
    "50435056" "0a" "746573742d636861696e" "0100000000000000" "02000000" "00";  // PCPV, height 1, round 2, nil
constexpr const char* proposal_sign_bytes_hex =
    "50435050" "0a" "746573742d636861696e" "0100000000000000" "03000000"  // PCPP, height 1, round 3
    "01" "01000000"                                                         // POL round 1
    "fc9a3c61dbe3cacb6a0609671f45a3576d09d9ee521a7aff3b9043ddb859b246";     // block 1

ledger::UnsignedTransaction fields_with(std::uint64_t sequence, ledger::TxBody body) {
  ledger::UnsignedTransaction fields;
  fields.chain_id = test::test_chain_id;
  fields.sequence = sequence;
  fields.last_valid_height = 1'000;
  fields.body = std::move(body);
  return fields;
}

ledger::Transaction golden_issue() {
  return ledger::Transaction::sign(
      fields_with(1, ledger::Issue{1, test::TxFactory::customer(1).public_key(), 250, ledger::Reason::purchase,
                                   "order-1001", 14, ledger::Purchase{2599, "EUR"}}),
      test::TxFactory::partner_issuer(1));
}

// Checks the encoding against the literal, and that the literal decodes back to the same
// transaction: the vector pins both directions.
void check_transaction(const ledger::Transaction& tx, const char* hex, const char* id_hex) {
  CHECK(to_hex(tx.bytes()) == hex);
  CHECK(to_hex(tx.id()) == id_hex);
  auto decoded = ledger::Transaction::decode(*from_hex(hex));
  REQUIRE(decoded.ok());
  CHECK(decoded->fields() == tx.fields());
  CHECK(to_hex(decoded->id()) == id_hex);
  CHECK(ledger::verify_transaction_signature(test::make_genesis(), *decoded).ok());
}

}  // namespace

TEST_CASE("golden: an Issue with a purchase has pinned bytes and id", "[ledger][golden]") {
  // Proves the Issue layout, the tx_signature and tx_id prefixes, and the signer, byte for byte.
  check_transaction(golden_issue(), issue_hex, issue_id_hex);
}

TEST_CASE("golden: Redeem, Transfer and Reverse have pinned bytes and ids", "[ledger][golden]") {
  // Proves the other three body layouts byte for byte.
  const crypto::SecretKey customer = test::TxFactory::customer(1);
  check_transaction(
      ledger::Transaction::sign(fields_with(1, ledger::Redeem{customer.public_key(), 2, 100, "coffee"}), customer),
      redeem_hex, redeem_id_hex);
  check_transaction(
      ledger::Transaction::sign(
          fields_with(2, ledger::Transfer{customer.public_key(), test::TxFactory::customer(2).public_key(), 40}),
          customer),
      transfer_hex, transfer_id_hex);
  check_transaction(ledger::Transaction::sign(fields_with(2, ledger::Reverse{1, "order-1001"}),
                                              test::TxFactory::partner_issuer(1)),
                    reverse_hex, reverse_id_hex);
}

TEST_CASE("golden: the test genesis has pinned bytes, hash and state hash", "[ledger][golden]") {
  // Proves the genesis layout, the genesis prefix, and the genesis state hash (the partner and
  // totals records chained onto the genesis hash).
  const ledger::Genesis genesis = test::make_genesis();
  CHECK(to_hex(genesis.encode()) == genesis_hex);
  CHECK(to_hex(genesis.hash()) == genesis_hash_hex);
  CHECK(to_hex(ledger::State(genesis).state_hash()) == genesis_state_hash_hex);
  auto decoded = ledger::decode_genesis(*from_hex(genesis_hex));
  REQUIRE(decoded.ok());
  CHECK(*decoded == genesis);
}

TEST_CASE("golden: the test genesis under protocol version 2 is encoding 2 with the version field",
          "[ledger][golden][protocol]") {
  // Proves the genesis encoding 2 of docs/protocol.md: the byte 02, the protocol version as a
  // u16, then the version 1 bytes after their encoding byte; and pins its hash.
  test::GenesisOptions options;
  options.protocol_version = 2;
  const ledger::Genesis genesis = test::make_genesis(options);
  CHECK(to_hex(genesis.encode()) == "020200" + std::string(genesis_hex).substr(2));
  CHECK(to_hex(genesis.hash()) == genesis_v2_hash_hex);
}

TEST_CASE("golden: block 1 holding the Issue has pinned header, roots and bytes", "[ledger][golden]") {
  // Proves the header and block layouts, the Merkle leaf prefix, the state changes digest and
  // state chain, the block id and the commit vote, as a node produces them.
  const ledger::State state(test::make_genesis());
  const crypto::SecretKey validator = test::seeded_key("partner 1 validator");
  const std::vector<ledger::Transaction> candidates = {golden_issue()};
  node::ProducedBlock produced =
      node::produce_block(state, ledger::genesis_tip(state), candidates, test::test_genesis_time_ms + 1'000,
                          {1, &validator}, ledger::SignatureCheck::verify);
  REQUIRE(produced.rejected.empty());
  const ledger::Block& block = produced.block;

  CHECK(to_hex(block.header.encode()) == header_hex);
  CHECK(to_hex(block.header.hash()) == block_id_hex);
  CHECK(to_hex(block.header.merkle_root) == merkle_root_hex);
  CHECK(to_hex(block.header.state_hash) == state_hash_hex);
  CHECK(to_hex(produced.changes.changes_digest) == changes_digest_hex);
  const std::string block_hex = std::string(header_hex) + "01" + "a101" + issue_hex + commit_tail_hex;
  CHECK(to_hex(block.encode()) == block_hex);

  auto decoded = ledger::Block::decode(*from_hex(block_hex));
  REQUIRE(decoded.ok());
  CHECK(to_hex(decoded->header.hash()) == block_id_hex);
  CHECK(ledger::check_block_envelope(state.genesis(), ledger::genesis_tip(state), *decoded).ok());
  auto changes = ledger::execute_block(state, *decoded, ledger::SignatureCheck::verify);
  REQUIRE(changes.ok());
  CHECK(to_hex(changes->state_hash) == state_hash_hex);
}

TEST_CASE("golden: proposal and vote sign bytes are pinned, and block 1's commit is partner 1's precommit", "[ledger][golden]") {
  // Proves the PCPP, PCPV and PCPC layouts byte for byte, that the commit signature in block 1
  // is a precommit for it in round 0, and that a vote's encoding is its version, type, signed
  // fields, validator and signature.
  const crypto::Hash256 block_id = *fixed_from_hex<32>(block_id_hex);
  ledger::Vote precommit{ledger::VoteType::precommit, test::test_chain_id, 1, 0, block_id, 1, {}};
  CHECK(to_hex(precommit.sign_bytes()) == precommit_sign_bytes_hex);
  CHECK(to_hex(ledger::commit_message(test::test_chain_id, 1, 0, block_id)) == precommit_sign_bytes_hex);
  precommit.signature = *fixed_from_hex<64>(std::string(commit_tail_hex).substr(8 + 2 + 4));
  CHECK(ledger::verify_vote(test::make_genesis(), precommit).ok());
  CHECK(to_hex(precommit.encode()) == std::string("01" "02") + std::string(precommit_sign_bytes_hex).substr(8) + "0100" +
                                          to_hex(precommit.signature));

  const ledger::Vote prevote{ledger::VoteType::prevote, test::test_chain_id, 1, 2, std::nullopt, 1, {}};
  CHECK(to_hex(prevote.sign_bytes()) == prevote_nil_sign_bytes_hex);
  const ledger::Proposal proposal{test::test_chain_id, 1, 3, 1u, block_id, 1, {}};
  CHECK(to_hex(proposal.sign_bytes()) == proposal_sign_bytes_hex);
}

// ---------------------------------------------------------------------------------------------
// Protocol version 3: the rewards catalog, vouchers and partial returns. The transaction bytes,
// ids and voucher codes were also computed by an independent script from docs/protocol.md
// alone (Python with libsodium), which agreed byte for byte.

namespace {

constexpr const char* publish_reward_hex =
    "01050a746573742d636861696e0100000000000000e8030000000000000200070000000b4672656520636f666665651e00000000000000016400000000000000050000000100000007000068e5cf8b01000000000000000000000001ebf6c57bd02cf9f7a3595a5e6109a657ff8f63112b08e5c7c6319a4b61542cc1284b6658a9c930c21fa016d56fae6671db2bc76000abaad1330553c183a1d400";
constexpr const char* publish_reward_id_hex =
    "2500cb85c5eef5e686c427c1887d6aab7c9f64a9f96d3fbf3f97f065eb3ec357";
constexpr const char* redeem_reward_hex =
    "01060a746573742d636861696e0100000000000000e8030000000000001fe5df78e45a92e24236b4d7ab4fc6be8854e95f1ca27e7f4bb8c19ea8d56650020007000000020047f8600f282661cb5b24a2a89088d04e848008d86c93da6dc0362889a50c9913d10ec118a3af5f321f17c3a0dd8cabc9530b2f2b5098e6a4da03cdd333a11b05";
constexpr const char* redeem_reward_id_hex =
    "a5ffb30d352612245f80c441b71167c303fc664eb32848710b98af8d4620a424";
constexpr const char* voucher_code_0 = "ZFY2025NBZYB";
constexpr const char* voucher_code_1 = "AT3Y08PFFHD5";
constexpr const char* use_voucher_hex =
    "01070a746573742d636861696e0200000000000000e80300000000000002005a4659323032354e425a594206721d17a2bd04226f31ff35959ee1017cf67c82109cf8f6cea3b7f1cdd6bef4efce8c6bcf693eeffbf83bfca5ab62c2a1c8c13b9ae624a9d57a39ad7f06620f";
constexpr const char* use_voucher_id_hex =
    "dce537d57a08237c7b7da348bef5fada6ad95409cd95271a7710cf2465756ee6";
constexpr const char* partial_return_hex =
    "01080a746573742d636861696e0200000000000000e80300000000000001000a6f726465722d31303031e8030000000000007282c1fa036ebac7335e6a3288e8c167c33e44818069cfecc2b0bb7e81bdc460e333574433f0e589252a456d81c2ab5110f5b6923aa3afb72cb2ae39c690960b";
constexpr const char* partial_return_id_hex =
    "183133a4770fa086eafc884aead59b57188aba5ccfaa96329df0b9e2b9582c54";
constexpr const char* genesis_v3_hash_hex =
    "d01493925db8483c5e2a01b2d5ca996d56a1f4f667976b25895bc7648d3bc7e4";
constexpr const char* reward_record_hex =
    "0101000000010000000000000002000000000000000b4672656520636f666665651e00000000000000016200000000000000050000000100000007000068e5cf8b01000000000000000000000001";
constexpr const char* voucher_record_hex =
    "011fe5df78e45a92e24236b4d7ab4fc6be8854e95f1ca27e7f4bb8c19ea8d5665007000000d06fe5cf8b0100000000000000000000";
constexpr const char* issuance_v2_record_hex =
    "020100000000000000000000001fe5df78e45a92e24236b4d7ab4fc6be8854e95f1ca27e7f4bb8c19ea8d56650fa00000000000000e873fe178c010000001900000000000000000000000000000001270a0000000000000401000000000000";

ledger::RewardTerms golden_terms() {
  ledger::RewardTerms terms;
  terms.name = "Free coffee";
  terms.cost_points = 30;
  terms.stock = 100;
  terms.limit_per_customer = 5;
  terms.limit_per_period = 1;
  terms.period_days = 7;
  terms.valid_from_ms = test::test_genesis_time_ms;
  return terms;
}

ledger::Transaction golden_redeem_reward() {
  const crypto::SecretKey customer = test::TxFactory::customer(1);
  return ledger::Transaction::sign(fields_with(1, ledger::RedeemReward{customer.public_key(), 2, 7, 2}), customer);
}

}  // namespace

TEST_CASE("golden: PublishReward, RedeemReward, UseVoucher and PartialReturn have pinned bytes and ids",
          "[ledger][golden][catalog]") {
  // Proves the four body layouts of protocol version 3 byte for byte, and the voucher codes
  // derived from the redemption (the PCVC prefix, the unit as u16 LE, 60 bits in base 32).
  check_transaction(ledger::Transaction::sign(fields_with(1, ledger::PublishReward{2, 7, golden_terms()}),
                                              test::TxFactory::partner_issuer(2)),
                    publish_reward_hex, publish_reward_id_hex);
  const ledger::Transaction redemption = golden_redeem_reward();
  check_transaction(redemption, redeem_reward_hex, redeem_reward_id_hex);
  CHECK(ledger::voucher_code(redemption.id(), 0) == voucher_code_0);
  CHECK(ledger::voucher_code(redemption.id(), 1) == voucher_code_1);
  check_transaction(ledger::Transaction::sign(fields_with(2, ledger::UseVoucher{2, voucher_code_0}),
                                              test::TxFactory::partner_issuer(2)),
                    use_voucher_hex, use_voucher_id_hex);
  check_transaction(ledger::Transaction::sign(fields_with(2, ledger::PartialReturn{1, "order-1001", 1'000}),
                                              test::TxFactory::partner_issuer(1)),
                    partial_return_hex, partial_return_id_hex);
}

TEST_CASE("golden: version 3 genesis, reward, voucher and issuance records are pinned", "[ledger][golden][catalog]") {
  // Proves the genesis hash of protocol version 3 (encoding 2, version 0300) and the record
  // layouts the catalog adds: a reward, a voucher, and an issuance record of version 2.
  test::GenesisOptions options;
  options.protocol_version = 3;
  const ledger::Genesis genesis = test::make_genesis(options);
  CHECK(to_hex(genesis.encode()) == "020300" + std::string(genesis_hex).substr(2));
  CHECK(to_hex(genesis.hash()) == genesis_v3_hash_hex);

  ledger::RewardRecord reward{golden_terms(), 1, 1, 2};
  reward.terms.stock = 98;
  CHECK(to_hex(ledger::record::reward_key(2, 7)) == "72" "0002" "00000007");
  CHECK(to_hex(ledger::record::encode(reward)) == reward_record_hex);
  const ledger::Voucher voucher{test::TxFactory::customer(1).public_key(), 7, test::test_genesis_time_ms + 2'000, 0};
  CHECK(to_hex(ledger::record::voucher_key(2, voucher_code_0)) == "760002" + to_hex(as_bytes(std::string_view(voucher_code_0))));
  CHECK(to_hex(ledger::record::encode(voucher)) == voucher_record_hex);
  CHECK(to_hex(ledger::record::customer_voucher_key(voucher.customer, 2, voucher_code_0)) ==
        "77" + to_hex(voucher.customer) + "0002" + to_hex(as_bytes(std::string_view(voucher_code_0))));

  ledger::IssuanceRecord issuance{{1, 0}, test::TxFactory::customer(1).public_key(), 250,
                                  test::test_genesis_time_ms + 1'000 + 14 * ledger::ms_per_day, false, 25, 0};
  issuance.record_version = 2;
  issuance.purchase_amount_minor = 2'599;
  issuance.returned_minor = 260;
  CHECK(to_hex(ledger::record::encode(issuance)) == issuance_v2_record_hex);
}

namespace {

// Protocol version 4: stamp cards and badges. The vectors are computed by stamps_vectors() and
// pinned below; `pointchain-tests "[golden-print]"` prints them in this form, so that a
// deliberate change of these encodings regenerates them in one step.
ledger::StampCardTerms golden_card() {
  ledger::StampCardTerms card;
  card.name = "Coffee card";
  card.stamps_needed = 9;
  card.min_amount_minor = 250;
  card.currency = "EUR";
  card.rule = ledger::StampRule::per_day;
  card.reward_id = 7;
  card.card_days = 180;
  card.valid_from_ms = test::test_genesis_time_ms;
  return card;
}

const ledger::BadgeTerms golden_badge{"Critic", ledger::BadgeRule::action_count, ledger::Reason::review, 5, true};

std::vector<std::pair<std::string, std::string>> stamps_vectors() {
  const crypto::SecretKey partner_1 = test::TxFactory::partner_issuer(1);
  const crypto::PublicKey customer_1 = test::TxFactory::customer(1).public_key();
  const auto tx = [&](std::uint64_t sequence, ledger::TxBody body) {
    return ledger::Transaction::sign(fields_with(sequence, std::move(body)), partner_1);
  };
  const ledger::Transaction define_card = tx(1, ledger::DefineStampCard{1, 3, golden_card()});
  const ledger::Transaction define_badge = tx(2, ledger::DefineBadge{1, 4, golden_badge});
  const ledger::Transaction award = tx(3, ledger::AwardBadge{1, 4, customer_1});
  const std::uint64_t t = test::test_genesis_time_ms;
  const std::string card_voucher_code = ledger::voucher_code(golden_issue().id(), 0);
  const ledger::StampProgress progress{2, 3, t + 5 * ledger::ms_per_day, t + 7 * ledger::ms_per_day, 1};
  const std::vector<ledger::StampGiven> given{{3, 2, 250, false}};
  const ledger::BadgeProgress badge_progress{5, t + 9'000, 9, 1};
  const ledger::Voucher card_voucher{customer_1, 7, t + 1'000, 0, 3};
  return {
      {"define_stamp_card_hex", to_hex(define_card.bytes())},
      {"define_stamp_card_id_hex", to_hex(define_card.id())},
      {"define_badge_hex", to_hex(define_badge.bytes())},
      {"define_badge_id_hex", to_hex(define_badge.id())},
      {"award_badge_hex", to_hex(award.bytes())},
      {"award_badge_id_hex", to_hex(award.id())},
      {"card_voucher_code", card_voucher_code},
      {"stamp_card_key_hex", to_hex(ledger::record::stamp_card_key(1, 3))},
      {"stamp_card_record_hex", to_hex(ledger::record::encode(ledger::StampCardRecord{golden_card(), 1, 1, 2}))},
      {"stamp_progress_key_hex", to_hex(ledger::record::stamp_progress_key(1, 3, customer_1))},
      {"stamp_progress_record_hex", to_hex(ledger::record::encode(progress))},
      {"stamps_given_key_hex", to_hex(ledger::record::stamps_given_key(1, "order-1001"))},
      {"stamps_given_record_hex", to_hex(ledger::record::encode(given))},
      {"badge_key_hex", to_hex(ledger::record::badge_key(1, 4))},
      {"badge_record_hex", to_hex(ledger::record::encode(ledger::BadgeRecord{golden_badge, 1, 2, 1}))},
      {"badge_progress_key_hex", to_hex(ledger::record::badge_progress_key(1, 4, customer_1))},
      {"badge_progress_record_hex", to_hex(ledger::record::encode(badge_progress))},
      {"card_voucher_key_hex", to_hex(ledger::record::voucher_key(1, card_voucher_code))},
      {"card_voucher_record_hex", to_hex(ledger::record::encode(card_voucher))},
  };
}

const std::map<std::string, std::string> pinned_stamps_vectors = {
    {"define_stamp_card_hex",
     "010d0a746573742d636861696e0100000000000000e8030000000000000100030000000b436f6666656520636172640900fa000000000000004555520207000000b4000068e5cf8b01000000000000000000000166fac60d20217aeb4f756c96c6f9a53aa9ae6f31fe964b68f7111026da0c06dc022f50adc35da71a2a5489859c6b74b9b1818b738eecf721135035c5278a2403"},
    {"define_stamp_card_id_hex",
     "7be0f16d737fa4a2ae850ffd1b5e9945248daa16e4544618ae33b17f81213534"},
    {"define_badge_hex",
     "010e0a746573742d636861696e0200000000000000e8030000000000000100040000000643726974696301030500000000000000011926caa88b796ac70a6bc33d5e159d71fa43f1a5f5d2b24e71ca1342d776a60f34e18dbf57025f99832d97ea994e5d45deacd40fd211210f62f739b03d989e0c"},
    {"define_badge_id_hex",
     "79f4fdf3e40da937fa28119863600a8c8b558b884dedfddefa2ed52fbfa408a6"},
    {"award_badge_hex",
     "010f0a746573742d636861696e0300000000000000e8030000000000000100040000001fe5df78e45a92e24236b4d7ab4fc6be8854e95f1ca27e7f4bb8c19ea8d5665002b7c9a06462b10df7410569ddd43f0125dcdd9cd2ee91227d60dcc59a7d928f73060491b1c69cd4e284d3d0ab001368fba95e000bef1e3567b4618816657c0a"},
    {"award_badge_id_hex",
     "48782eed9df05d14a4904d1aa863f69f9f2ebb008953e4728d67e90a2f41a146"},
    {"card_voucher_code",
     "31PR2TSJVSKQ"},
    {"stamp_card_key_hex",
     "63000100000003"},
    {"stamp_card_record_hex",
     "0101000000010000000000000002000000000000000b436f6666656520636172640900fa000000000000004555520207000000b4000068e5cf8b010000000000000000000001"},
    {"stamp_progress_key_hex",
     "6c0001000000031fe5df78e45a92e24236b4d7ab4fc6be8854e95f1ca27e7f4bb8c19ea8d56650"},
    {"stamp_progress_record_hex",
     "010200000003000034a5e98b01000000ecf1f38b01000001000000"},
    {"stamps_given_key_hex",
     "6400016f726465722d31303031"},
    {"stamps_given_record_hex",
     "01010300000002000000fa0000000000000000"},
    {"badge_key_hex",
     "6b000100000004"},
    {"badge_record_hex",
     "010100000002000000000000000100000000000000064372697469630103050000000000000001"},
    {"badge_progress_key_hex",
     "620001000000041fe5df78e45a92e24236b4d7ab4fc6be8854e95f1ca27e7f4bb8c19ea8d56650"},
    {"badge_progress_record_hex",
     "010500000000000000288be5cf8b010000090000000000000001000000"},
    {"card_voucher_key_hex",
     "760001333150523254534a56534b51"},
    {"card_voucher_record_hex",
     "021fe5df78e45a92e24236b4d7ab4fc6be8854e95f1ca27e7f4bb8c19ea8d5665007000000e86be5cf8b010000000000000000000003000000"},
};

}  // namespace

TEST_CASE("golden: stamp card and badge transactions, the card voucher and the records are pinned",
          "[ledger][golden][stamps]") {
  // Proves the three body layouts of protocol version 4 and the five new records (and the
  // version 2 voucher) byte for byte, as docs/protocol.md's worked examples show them, and that
  // each pinned transaction decodes back to the same fields and verifies.
  const auto vectors = stamps_vectors();
  for (const auto& [name, hex] : vectors) {
    INFO(name);
    REQUIRE(pinned_stamps_vectors.contains(name));
    CHECK(pinned_stamps_vectors.at(name) == hex);
  }
  CHECK(vectors.size() == pinned_stamps_vectors.size());
  for (const char* name : {"define_stamp_card", "define_badge", "award_badge"}) {
    INFO(name);
    const std::string key = std::string(name) + "_hex";
    auto decoded = ledger::Transaction::decode(*from_hex(pinned_stamps_vectors.at(key)));
    REQUIRE(decoded.ok());
    CHECK(to_hex(decoded->id()) == pinned_stamps_vectors.at(std::string(name) + "_id_hex"));
    CHECK(to_hex(decoded->bytes()) == pinned_stamps_vectors.at(key));
    CHECK(ledger::verify_transaction_signature(test::make_genesis(), *decoded).ok());
  }
}

TEST_CASE("golden: print the stamp card and badge vectors", "[.][golden-print]") {
  // Not a check: prints stamps_vectors() as the initializer of pinned_stamps_vectors, for a
  // deliberate change of these encodings (run `pointchain-tests "[golden-print]"`).
  for (const auto& [name, hex] : stamps_vectors()) std::printf("    {\"%s\",\n     \"%s\"},\n", name.c_str(), hex.c_str());
  SUCCEED();
}

// ---------------------------------------------------------------------------------------------
// Protocol version 4: tiers (GrantTier, type 9) and billing (PrepaidTopUp, type 10). The
// GrantTier and PrepaidTopUp bytes and ids, the version 4 genesis (billing terms, then the tier
// program), its hash and genesis state hash, and the account (version 2, with the tier state),
// prepaid and issuance records were
// also computed by scripts/golden_v4.py, written from docs/protocol.md alone (hashlib for the
// hashes, Python's cryptography package for ed25519), which agreed byte for byte.

namespace {

constexpr const char* grant_tier_hex =
    "01" "09" "0a" "746573742d636861696e" "0100000000000000" "e803000000000000"  // type 9, sequence 1
    "0300"                                                                         // partner 3
    "1fe5df78e45a92e24236b4d7ab4fc6be8854e95f1ca27e7f4bb8c19ea8d56650"             // customer 1
    "02"                                                                           // tier 2 (Gold)
    "0030646a8c010000"                                                             // until_ms
    "2ec133ed2e150e3725fa2d026d0f99c7d6aca672386dd1ebe1749b2e699e8d49"
    "ea3418a3897ac5a2fc64fe94bbce74086d5f64b1dd4cbe57cccd0e2030a9c90b";
constexpr const char* grant_tier_id_hex = "4a522d3d74b9a77c6c654e64c76336af9744599fd49ad8f1af77feb869d4260b";

constexpr const char* top_up_hex =
    "01" "0a" "0a" "746573742d636861696e" "0100000000000000" "e803000000000000"  // type 10, sequence 1
    "0200"                                                                         // partner 2
    "8813000000000000"                                                             // 5000 points
    "0c" "494e562d323032362d303031"                                                // "INV-2026-001"
    "c8b68f667e6c2259f3370cea795af555b69f9b7ea8cc9741a0d315823ce7fff4"
    "f5e6a53dd7e87026b1ab264ec47393a38c1549ee7f8cba88063edf40cd5e8f0c";
constexpr const char* top_up_id_hex = "58ff4b33fc5cd08933e44078b55115693681e30623ada21b9e01709fe1b2e689";

// The version 4 genesis is the version 3 body, then the billing terms of the worked example
// in docs/protocol.md (partner 1 post-paid at 250 per 1000 points, partner 2 prepaid at 200
// with 100000 points, partner 3 post-paid at 0, in EUR), then the tier program of
// test::test_tier_program() (30-day windows, 10 days of grace, Silver and Gold).
constexpr const char* billing_terms_hex =
    "455552" "02"                                                       // "EUR", 2 minor digits
    "4838a158d8fd9f9039ee9456c8e48fdc7b78a4ebaa20341821e474e3fa0d9d7a"  // billing key
    "03"                                                                // three entries
    "0100" "01" "fa00000000000000"                                      // 1 post-paid, 250
    "0200" "02" "c800000000000000" "a086010000000000"                   // 2 prepaid, 200, 100000
    "0300" "01" "0000000000000000";                                     // 3 post-paid, 0
constexpr const char* tier_program_hex =
    "1e00" "0a00" "02"                                    // window 30 days, grace 10 days, two tiers
    "06" "53696c766572" "e803000000000000" "d4300000"     // "Silver", 1000, x1.25
    "04" "476f6c64" "8813000000000000" "983a0000";        // "Gold", 5000, x1.5
constexpr const char* genesis_v4_hash_hex = "b5e41d4071c7b6ee20743ec35bc0828e390c99dd36612d3127eaf66c1c7d9b81";
constexpr const char* genesis_v4_state_hash_hex = "f0fde7ec655de83ad6e6d9fe89d65445464b761465f37ef641b64a9be310719d";

// Customer 1's account: sequence 1, one lot (the version 3 issuance below: partner 1, block 2
// index 0, 312 points, earned and spendable at genesis + 2 s), then the tier state: window 0
// with 1250 qualifying points (Silver), tier 2 by partner 3's Gold grant until day 30.
constexpr const char* account_v2_record_hex =
    "02" "0100000000000000" "01"                                                  // version 2, sequence 1, one lot
    "0100" "0200000000000000" "00000000" "3801000000000000" "d06fe5cf8b010000" "d06fe5cf8b010000"
    "00" "e209" "00" "00" "02"                                                    // window 0, 1250 points, tiers 0 0 2
    "02" "0300" "0030646a8c010000";                                               // granted Gold by 3 until day 30
// Version 3 puts counts and the block position as LEB128: 55 bytes against version 2's 95.
constexpr const char* issuance_v3_record_hex =
    "03" "02" "00"                                                        // version 3, height 2, index 0
    "1fe5df78e45a92e24236b4d7ab4fc6be8854e95f1ca27e7f4bb8c19ea8d56650"    // customer 1
    "b802" "d06fe5cf8b010000" "00" "00" "00"                              // 312 points, spendable at, not reversed, 0, 0
    "01" "a714" "00"                                                      // purchase 2599, returned 0
    "01" "d461";                                                          // tier 1, multiplier_bp 12500

// 30 days after the test genesis time: the end of the first qualification window.
constexpr std::uint64_t golden_grant_until_ms = test::test_genesis_time_ms + 30 * ledger::ms_per_day;

ledger::Genesis golden_v4_genesis() {
  test::GenesisOptions options;
  options.protocol_version = 4;
  const ledger::Genesis plain = test::make_genesis();
  ledger::BillingTerms billing = ledger::no_charge_billing(plain.partners, test::TxFactory::billing_key().public_key());
  billing.partners[0].price_per_1000_points_minor = 250;
  billing.partners[1] = {2, ledger::BillingPlan::prepaid, 200, 100'000};
  options.billing = billing;
  options.tiers = test::test_tier_program();
  return test::make_genesis(options);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Protocol version 4, paying with points. Printed by tests/tools/print_payment_examples.cpp;
// the request id, its text and the transaction ids were also computed by a Python script from
// docs/protocol.md alone (hashlib and the base 32 alphabet), which agreed.

namespace {

constexpr const char* set_point_value_hex =
    "01" "0b" "0a" "746573742d636861696e" "0100000000000000" "e803000000000000"
    "0200"                                                              // partner 2
    "455552"                                                            // EUR
    "0100000000000000"                                                  // 1 minor unit
    "0200000000000000"                                                  // per 2 points
    "53e3992ee42a988fd4f94db61da6e14f5313b9c95a6d007b56f6355eb88f2ec7"
    "356bb105f0325ea98ea369b877bf4e84d6946f7445c7eadeeecde6ceb404eb06";
constexpr const char* set_point_value_id_hex = "b5655575c506d9b09f8c6cda8aba0157aac484751117ce933c89137031c04fb0";
constexpr const char* payment_request_hex =
    "01" "0a" "746573742d636861696e" "0200"                             // version, chain id, partner 2
    "0b" "74696c6c2d372d30303432"                                       // "till-7-0042"
    "fa00000000000000" "455552" "f401000000000000"                      // 250 EUR, 500 points
    "00a8da769b010000" "efcdab8967452301"                               // expires_at_ms, nonce
    "90bd703d12f2c775dc063fd9d5ddf731dfc74db7b9b04691442c69adc9c36160"
    "1b73a6711d1484737356df8922a4b83196f2748b1a0799464d53884b080d3603";
constexpr const char* payment_request_id_hex = "9b4adb0e4ee4fe9ef6abb8e4c025adb8dfe9ce3142ee198d82ccc6fd0892a91b";
constexpr const char* payment_request_text =
    "PCPAY:04578SBKEGPP6T31D5Q0400BEHMPRV1D6WPK0C1M6BX0000000000025AN9F80800000000002MDMXMV04001VYDNE4PEH93068BTW1X2"
    "BSCEXEW0RZXKNEXYWRXZHTDPYWV0HMH8GP6KBE9RDGP06VKMSRHT544EDSNDQW94AJBGCCPY9T8P6G7K534TMW89C40TDG3";
constexpr const char* pay_with_points_id_hex = "edac34c6a21ec9c2905d5bee1c6f451fb03097a67ec10729830a98359bc31578";
constexpr const char* pay_with_points_signature_hex =
    "3727b724f41e96bd7989b30bcfdccdf8198762897fdec3533770d34af86612581553c90dd0bb9a87c831a45f32f933de4ae63aa8f8ff0f069cb1c5342eb1600d";

ledger::SignedPaymentRequest golden_payment_request() {
  return ledger::sign_payment_request({test::test_chain_id, 2, "till-7-0042", 250, "EUR", 500, 1'767'225'600'000,
                                       0x0123456789abcdef},
                                      test::TxFactory::partner_issuer(2));
}

}  // namespace

TEST_CASE("golden: GrantTier has pinned bytes and id", "[ledger][golden][tiers]") {
  // Proves the body layout of type 9: partner 3 grants customer 1 tier 2 (Gold) until the end of
  // the first 30-day window.
  check_transaction(ledger::Transaction::sign(fields_with(1, ledger::GrantTier{3, test::TxFactory::customer(1).public_key(),
                                                                               2, golden_grant_until_ms}),
                                              test::TxFactory::partner_issuer(3)),
                    grant_tier_hex, grant_tier_id_hex);
}

TEST_CASE("golden: PrepaidTopUp has pinned bytes and id, signed by the billing key", "[ledger][golden][billing]") {
  // Proves the body layout of transaction type 10 and that its signer is the genesis billing
  // key (check_transaction verifies it against the version 1 genesis, which has none).
  const ledger::Transaction top_up = ledger::Transaction::sign(fields_with(1, ledger::PrepaidTopUp{2, 5'000, "INV-2026-001"}),
                                                               test::TxFactory::billing_key());
  CHECK(to_hex(top_up.bytes()) == top_up_hex);
  CHECK(to_hex(top_up.id()) == top_up_id_hex);
  auto decoded = ledger::Transaction::decode(*from_hex(top_up_hex));
  REQUIRE(decoded.ok());
  CHECK(decoded->fields() == top_up.fields());
  CHECK(ledger::verify_transaction_signature(golden_v4_genesis(), *decoded).ok());
  CHECK(ledger::verify_transaction_signature(test::make_genesis(), *decoded).error().code == ledger::Code::unsupported_type);
}

TEST_CASE("golden: the version 4 genesis appends billing terms and the tier program, its genesis state is pinned",
          "[ledger][golden][billing][tiers]") {
  // Proves the binary genesis of protocol version 4 (encoding 2, version 0400, the billing
  // terms and then the tier program after issuance_cap_points), its hash, the genesis state
  // with partner 2's prepaid record, and that state's hash.
  const ledger::Genesis genesis = golden_v4_genesis();
  CHECK(to_hex(genesis.encode()) ==
        "020400" + std::string(genesis_hex).substr(2) + billing_terms_hex + tier_program_hex);
  CHECK(to_hex(genesis.hash()) == genesis_v4_hash_hex);
  auto decoded = ledger::decode_genesis(genesis.encode());
  REQUIRE(decoded.ok());
  CHECK(*decoded == genesis);
  const ledger::State state(genesis);
  CHECK(to_hex(ledger::record::prepaid_key(2)) == "420002");
  CHECK(to_hex(ledger::record::encode(*state.prepaid(2))) ==
        "01" "0000000000000000" "a086010000000000" "0000000000000000");
  CHECK(state.records().size() == 5);
  CHECK(to_hex(state.state_hash()) == genesis_v4_state_hash_hex);
}

TEST_CASE("golden: the account record of version 2 (with the tier state) and the issuance record of version 3 are pinned",
          "[ledger][golden][tiers]") {
  // Proves the records tiers add: customer 1's account record of version 2, whose tier state
  // (window number and points as LEB128, the grant's fields only while a grant runs) follows
  // the lots, and an issuance record of version 3: 250 points signed, credited at Silver's
  // x1.25 as 312.
  const crypto::PublicKey customer = test::TxFactory::customer(1).public_key();
  ledger::Account account;
  account.record_version = 2;
  account.sequence = 1;
  account.lots.push_back({1, {2, 0}, 312, test::test_genesis_time_ms + 2'000, test::test_genesis_time_ms + 2'000});
  account.tier.window_points = 1'250;
  account.tier.tier = 2;
  account.tier.granted_tier = 2;
  account.tier.granted_by = 3;
  account.tier.granted_until_ms = golden_grant_until_ms;
  CHECK(to_hex(ledger::record::encode(account)) == account_v2_record_hex);
  auto decoded_account = ledger::record::decode_account_value(ledger::record::encode(account));
  REQUIRE(decoded_account.ok());
  CHECK(*decoded_account == account);

  ledger::IssuanceRecord issuance{{2, 0}, customer, 312, test::test_genesis_time_ms + 2'000, false, 0, 0};
  issuance.record_version = 3;
  issuance.purchase_amount_minor = 2'599;
  issuance.tier = 1;
  issuance.multiplier_bp = 12'500;
  CHECK(to_hex(ledger::record::encode(issuance)) == issuance_v3_record_hex);
}

TEST_CASE("golden: SetPointValue, a payment request and PayWithPoints have pinned bytes, ids and text",
          "[ledger][golden][payments]") {
  // Proves the layouts of protocol version 4 byte for byte: SetPointValue's body, the payment
  // request's canonical bytes, its id (PCPI over the bytes without the signature) and text
  // (PCPAY: and Crockford base 32), and PayWithPoints = header, customer, request, signature.
  check_transaction(ledger::Transaction::sign(fields_with(1, ledger::SetPointValue{2, {"EUR", 1, 2}}),
                                              test::TxFactory::partner_issuer(2)),
                    set_point_value_hex, set_point_value_id_hex);
  const ledger::SignedPaymentRequest request = golden_payment_request();
  CHECK(to_hex(request.encode()) == payment_request_hex);
  CHECK(to_hex(request.request.id()) == payment_request_id_hex);
  CHECK(request.text() == payment_request_text);
  CHECK(ledger::parse_payment_request(payment_request_text).value() == request);
  const crypto::SecretKey customer = test::TxFactory::customer(1);
  const std::string pay_hex = "010c0a746573742d636861696e0100000000000000e803000000000000" + to_hex(customer.public_key()) +
                              payment_request_hex + pay_with_points_signature_hex;
  const ledger::Transaction pay =
      ledger::Transaction::sign(fields_with(1, ledger::PayWithPoints{customer.public_key(), request}), customer);
  check_transaction(pay, pay_hex.c_str(), pay_with_points_id_hex);
}

TEST_CASE("golden: point value, payment and payment totals records are pinned", "[ledger][golden][payments]") {
  // Proves the record layouts paying with points adds: 'm' || partner for the point value,
  // 'm' || partner || currency for the totals, 'q' || request id for a paid request.
  CHECK(to_hex(ledger::record::point_value_key(2)) == "6d0002");
  CHECK(to_hex(ledger::record::encode(ledger::PointValueRecord{{"EUR", 1, 2}, 1, 1})) ==
        "01" "01000000" "0100000000000000" "455552" "0100000000000000" "0200000000000000");
  CHECK(to_hex(ledger::record::payment_totals_key(2, "EUR")) == "6d0002455552");
  CHECK(to_hex(ledger::record::encode(ledger::PaymentTotals{1, 500, 250})) ==
        "01" "0100000000000000" "f401000000000000" "fa00000000000000");
  CHECK(to_hex(ledger::record::payment_key(golden_payment_request().request.id())) ==
        std::string("71") + payment_request_id_hex);
  const ledger::PaymentRecord payment{2, test::TxFactory::customer(1).public_key(), "till-7-0042", 250, "EUR", 500, 2,
                                      1'767'225'000'000, *fixed_from_hex<32>(pay_with_points_id_hex)};
  CHECK(to_hex(ledger::record::encode(payment)) ==
        "01" "0200" "1fe5df78e45a92e24236b4d7ab4fc6be8854e95f1ca27e7f4bb8c19ea8d56650" "0b74696c6c2d372d30303432"
        "fa00000000000000" "455552" "f401000000000000" "0200000000000000" "4080d1769b010000" +
            std::string(pay_with_points_id_hex));
}
