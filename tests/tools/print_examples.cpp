// Prints the golden vectors of tests/golden_test.cpp, split into labelled fields, for the
// worked examples in docs/protocol.md. Not part of the build: the field widths below are
// written from the protocol document, and the program aborts if they do not add up to the
// encoded bytes, so it checks the document as well as printing for it. Build by hand:
//
//   g++ -std=c++20 -I. tests/tools/print_examples.cpp tests/fixtures.cpp
//       build/node/libpc_node.a build/ledger/libpc_ledger.a build/crypto/libpc_crypto.a
//       -lleveldb -lsodium -lpthread -o /tmp/print_examples   (one line)
#define CATCH_CONFIG_RUNNER  // fixtures.cpp uses REQUIRE; this unit supplies Catch's runtime
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "crypto/check.hpp"
#include "ledger/block.hpp"
#include "ledger/chain.hpp"
#include "ledger/merkle.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc;

struct Field {
  std::string label;
  std::size_t size_bytes;
};

// Prints `bytes` as rows of (offset, size, hex, label); aborts unless the fields cover it exactly.
void annotate(const char* title, const Bytes& bytes, const std::vector<Field>& fields) {
  std::printf("\n### %s (%zu bytes)\n\n| Offset | Size | Hex | Field |\n|---:|---:|---|---|\n", title,
              bytes.size());
  std::size_t offset = 0;
  for (const Field& field : fields) {
    PC_CHECK(offset + field.size_bytes <= bytes.size());
    const ByteSpan part = ByteSpan(bytes).subspan(offset, field.size_bytes);
    std::printf("| %zu | %zu | `%s` | %s |\n", offset, field.size_bytes, to_hex(part).c_str(),
                field.label.c_str());
    offset += field.size_bytes;
  }
  PC_CHECK(offset == bytes.size());
}

std::size_t leb128_size(std::uint64_t value) {
  std::size_t size = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++size;
  }
  return size;
}

std::vector<Field> tx_header_fields(const ledger::UnsignedTransaction& tx) {
  return {{"version = 2", 1},
          {"type", 1},
          {"chain id length", leb128_size(tx.chain_id.size())},
          {"chain id \"" + tx.chain_id + "\"", tx.chain_id.size()},
          {"sequence = " + std::to_string(tx.sequence) + " (u64 LE)", 8},
          {"last valid height = " + std::to_string(tx.last_valid_height) + " (u64 LE)", 8}};
}

void append(std::vector<Field>& to, const std::vector<Field>& more) { to.insert(to.end(), more.begin(), more.end()); }

void print_tx(const char* title, const ledger::Transaction& tx) {
  std::vector<Field> fields = tx_header_fields(tx.fields());
  const ledger::TxBody& body = tx.fields().body;
  if (const auto* issue = std::get_if<ledger::Issue>(&body)) {
    append(fields, {{"partner = " + std::to_string(issue->partner) + " (u16 LE)", 2},
                    {"customer public key", 32},
                    {"points = " + std::to_string(issue->points) + " (u64 LE)", 8},
                    {"reason = " + std::string(ledger::reason_name(issue->reason)), 1},
                    {"reference length", leb128_size(issue->reference.size())},
                    {"reference \"" + issue->reference + "\"", issue->reference.size()},
                    {"pending days = " + std::to_string(issue->pending_days) + " (u16 LE)", 2},
                    {"purchase flag", 1}});
    if (issue->purchase) {
      append(fields, {{"purchase amount_minor = " + std::to_string(issue->purchase->amount_minor) + " (i64 LE)", 8},
                      {"currency \"" + issue->purchase->currency + "\"", 3}});
    }
  } else if (const auto* redeem = std::get_if<ledger::Redeem>(&body)) {
    append(fields, {{"customer public key", 32},
                    {"partner = " + std::to_string(redeem->partner) + " (u16 LE)", 2},
                    {"points = " + std::to_string(redeem->points) + " (u64 LE)", 8},
                    {"reward length", leb128_size(redeem->reward.size())},
                    {"reward \"" + redeem->reward + "\"", redeem->reward.size()}});
  } else if (const auto* transfer = std::get_if<ledger::Transfer>(&body)) {
    append(fields, {{"from public key", 32},
                    {"to public key", 32},
                    {"points = " + std::to_string(transfer->points) + " (u64 LE)", 8}});
  } else if (const auto* reverse = std::get_if<ledger::Reverse>(&body)) {
    append(fields, {{"partner = " + std::to_string(reverse->partner) + " (u16 LE)", 2},
                    {"reference length", leb128_size(reverse->reference.size())},
                    {"reference \"" + reverse->reference + "\"", reverse->reference.size()}});
  }
  fields.push_back({"signature (ed25519 over \"PCTS\" || bytes 0.." +
                        std::to_string(tx.bytes().size() - 64 - 1) + ")",
                    64});
  annotate(title, tx.bytes(), fields);
  std::printf("\nbytes: %s\nid:    %s\n", to_hex(tx.bytes()).c_str(), to_hex(tx.id()).c_str());
}

std::vector<Field> header_fields(const ledger::BlockHeader& header) {
  return {{"version = 2", 1},
          {"chain id length", leb128_size(header.chain_id.size())},
          {"chain id \"" + header.chain_id + "\"", header.chain_id.size()},
          {"height = " + std::to_string(header.height) + " (u64 LE)", 8},
          {"previous hash", 32},
          {"time_ms = " + std::to_string(header.time_ms) + " (u64 LE)", 8},
          {"proposer = " + std::to_string(header.proposer) + " (u16 LE)", 2},
          {"round = " + std::to_string(header.round) + " (u32 LE)", 4},
          {"merkle root", 32},
          {"state hash", 32}};
}

}  // namespace

int main() {
  crypto::initialize();
  const ledger::Genesis genesis = test::make_genesis();
  const crypto::SecretKey issuer = test::TxFactory::partner_issuer(1);
  const crypto::SecretKey customer = test::TxFactory::customer(1);
  const crypto::SecretKey other_customer = test::TxFactory::customer(2);

  // The same fields as tests/golden_test.cpp.
  ledger::UnsignedTransaction issue_fields;
  issue_fields.chain_id = test::test_chain_id;
  issue_fields.sequence = 1;
  issue_fields.last_valid_height = 1000;
  issue_fields.body = ledger::Issue{1, customer.public_key(), 250, ledger::Reason::purchase, "order-1001", 14,
                                    ledger::Purchase{2599, "EUR"}};
  const ledger::Transaction issue = ledger::Transaction::sign(issue_fields, issuer);

  ledger::UnsignedTransaction redeem_fields;
  redeem_fields.chain_id = test::test_chain_id;
  redeem_fields.sequence = 1;
  redeem_fields.last_valid_height = 1000;
  redeem_fields.body = ledger::Redeem{customer.public_key(), 2, 100, "coffee"};
  const ledger::Transaction redeem = ledger::Transaction::sign(redeem_fields, customer);

  ledger::UnsignedTransaction transfer_fields;
  transfer_fields.chain_id = test::test_chain_id;
  transfer_fields.sequence = 2;
  transfer_fields.last_valid_height = 1000;
  transfer_fields.body = ledger::Transfer{customer.public_key(), other_customer.public_key(), 40};
  const ledger::Transaction transfer = ledger::Transaction::sign(transfer_fields, customer);

  ledger::UnsignedTransaction reverse_fields;
  reverse_fields.chain_id = test::test_chain_id;
  reverse_fields.sequence = 2;
  reverse_fields.last_valid_height = 1000;
  reverse_fields.body = ledger::Reverse{1, "order-1001"};
  const ledger::Transaction reverse = ledger::Transaction::sign(reverse_fields, issuer);

  std::printf("customer 1 public key: %s\n", to_hex(customer.public_key()).c_str());
  std::printf("customer 2 public key: %s\n", to_hex(other_customer.public_key()).c_str());
  std::printf("partner 1 issuer key:  %s\n", to_hex(issuer.public_key()).c_str());
  std::printf("issue signing message: %s\n", to_hex(issue_fields.signing_message()).c_str());
  print_tx("Issue", issue);
  print_tx("Redeem", redeem);
  print_tx("Transfer", transfer);
  print_tx("Reverse", reverse);

  std::vector<Field> genesis_fields = {
      {"genesis encoding = 1 (protocol version 1)", 1},
      {"chain id length", 1},
      {"chain id \"" + genesis.chain_id + "\"", genesis.chain_id.size()},
      {"coalition name length", 1},
      {"coalition name \"" + genesis.coalition_name + "\"", genesis.coalition_name.size()},
      {"genesis_time_ms = " + std::to_string(genesis.genesis_time_ms) + " (u64 LE)", 8},
      {"partner count = " + std::to_string(genesis.partners.size()), 1}};
  for (const ledger::Partner& partner : genesis.partners) {
    const std::string who = "partner " + std::to_string(partner.id) + ": ";
    append(genesis_fields, {{who + "id (u16 LE)", 2},
                            {who + "name length", 1},
                            {who + "name \"" + partner.name + "\"", partner.name.size()},
                            {who + "issuer key", 32},
                            {who + "validator key", 32},
                            {who + "voting power = " + std::to_string(partner.voting_power) + " (u64 LE)", 8}});
  }
  append(genesis_fields, {{"point_expiry_days (u32 LE)", 4},
                          {"transfers_allowed", 1},
                          {"issuance_cap_points (u64 LE)", 8}});
  annotate("Genesis", genesis.encode(), genesis_fields);
  std::printf("\ngenesis bytes: %s\ngenesis hash:  %s\n", to_hex(genesis.encode()).c_str(),
              to_hex(genesis.hash()).c_str());
  std::printf("\ngenesis JSON:\n%s", ledger::genesis_to_json(genesis).c_str());

  // The same genesis under protocol version 2: encoding 2, with the version after its byte.
  ledger::Genesis version_2 = genesis;
  version_2.protocol_version = 2;
  const Bytes version_2_bytes = version_2.encode();
  PC_CHECK(Bytes(version_2_bytes.begin() + 3, version_2_bytes.end()) ==
           Bytes(genesis.encode().begin() + 1, genesis.encode().end()));
  annotate("Genesis, protocol version 2 (first fields)", Bytes(version_2_bytes.begin(), version_2_bytes.begin() + 3),
           {{"genesis encoding = 2", 1}, {"protocol_version = 2 (u16 LE)", 2}});
  std::printf("\nversion 2 genesis: the version 1 bytes from offset 1 on, after these 3 (%zu bytes)\n"
              "version 2 genesis hash: %s\n",
              version_2_bytes.size(), to_hex(version_2.hash()).c_str());

  const ledger::State state(genesis);
  std::printf("\ngenesis records:\n");
  for (const ledger::Record& record : state.records()) {
    std::printf("  key %s\n  value %s\n", to_hex(record.key).c_str(), to_hex(record.value).c_str());
  }
  std::printf("genesis state hash: %s\n", to_hex(state.state_hash()).c_str());

  const crypto::SecretKey validator = test::seeded_key("partner 1 validator");
  const std::vector<ledger::Transaction> candidates = {issue};
  node::ProducedBlock produced =
      node::produce_block(state, ledger::genesis_tip(state), candidates, test::test_genesis_time_ms + 1000,
                          {1, &validator}, ledger::SignatureCheck::verify);
  PC_CHECK(produced.rejected.empty());
  const ledger::Block& block = produced.block;

  std::printf("\nblock 1 changed records (sorted):\n");
  for (const ledger::Record& record : produced.changes.records) {
    std::printf("  key %s\n  value %s\n", to_hex(record.key).c_str(), to_hex(record.value).c_str());
  }
  std::printf("changes digest: %s\n", to_hex(produced.changes.changes_digest).c_str());

  std::vector<Field> block_fields = header_fields(block.header);
  block_fields.push_back({"transaction count = 1", 1});
  block_fields.push_back({"transaction 0 length", leb128_size(issue.bytes().size())});
  block_fields.push_back({"transaction 0 (the Issue above)", issue.bytes().size()});
  block_fields.push_back({"certificate round = 0 (u32 LE)", 4});
  block_fields.push_back({"signature count = 1", 1});
  block_fields.push_back({"validator = 1 (u16 LE)", 2});
  block_fields.push_back({"partner 1's precommit signature", 64});
  annotate("Block 1", block.encode(), block_fields);
  std::printf("\nheader bytes: %s\nheader hash:  %s\nmerkle root:  %s\nstate hash:   %s\n",
              to_hex(block.header.encode()).c_str(), to_hex(block.header.hash()).c_str(),
              to_hex(block.header.merkle_root).c_str(), to_hex(block.header.state_hash).c_str());
  std::printf("precommit sign bytes: %s\n",
              to_hex(ledger::commit_message(block.header.chain_id, block.header.height, block.commit.round,
                                            block.header.hash()))
                  .c_str());
  std::printf("block bytes: %s\n", to_hex(block.encode()).c_str());
  return 0;
}
