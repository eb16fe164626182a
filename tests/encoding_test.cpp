// Canonical encodings (docs/protocol.md, "Encoding rules", "Transactions", "Blocks",
// "Genesis"): every value round-trips to identical bytes, and every malformed input is
// refused with its typed code.
#include <catch2/catch.hpp>

#include <functional>
#include <optional>

#include "ledger/block.hpp"
#include "ledger/codec.hpp"
#include "ledger/limits.hpp"
#include "ledger/state.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc;
using ledger::Code;

// Offsets in the test chain's transactions: version, type, chain id length, "test-chain",
// sequence and last-valid height come first, so every body starts at byte 29.
constexpr std::size_t chain_id_length_offset = 2;
constexpr std::size_t body_offset = 29;
constexpr std::size_t signature_bytes = 64;

ledger::UnsignedTransaction fields_with(ledger::TxBody body, std::uint64_t sequence = 1) {
  ledger::UnsignedTransaction fields;
  fields.chain_id = test::test_chain_id;
  fields.sequence = sequence;
  fields.last_valid_height = 1'000;
  fields.body = std::move(body);
  return fields;
}

ledger::Issue issue_body(bool with_purchase) {
  ledger::Issue issue;
  issue.partner = 1;
  issue.customer = test::TxFactory::customer(1).public_key();
  issue.points = 250;
  issue.reason = with_purchase ? ledger::Reason::purchase : ledger::Reason::referral;
  issue.reference = "order-1001";
  issue.pending_days = 14;
  if (with_purchase) issue.purchase = ledger::Purchase{2599, "EUR"};
  return issue;
}

ledger::Redeem redeem_body() { return {test::TxFactory::customer(1).public_key(), 2, 100, "coffee"}; }

ledger::Transfer transfer_body() {
  return {test::TxFactory::customer(1).public_key(), test::TxFactory::customer(2).public_key(), 40};
}

ledger::Reverse reverse_body(std::string reference = "order-1001") { return {1, std::move(reference)}; }

struct Sample {
  std::string name;
  ledger::Transaction tx;
};

// One correctly signed transaction of every type (Issue twice: with and without purchase).
std::vector<Sample> signed_samples() {
  const crypto::SecretKey issuer = test::TxFactory::partner_issuer(1);
  const crypto::SecretKey customer = test::TxFactory::customer(1);
  return {
      {"issue with purchase", ledger::Transaction::sign(fields_with(issue_body(true)), issuer)},
      {"issue without purchase", ledger::Transaction::sign(fields_with(issue_body(false), 2), issuer)},
      {"redeem", ledger::Transaction::sign(fields_with(redeem_body()), customer)},
      {"transfer", ledger::Transaction::sign(fields_with(transfer_body(), 2), customer)},
      {"reverse", ledger::Transaction::sign(fields_with(reverse_body(), 3), issuer)},
  };
}

// Encodes without checking the fields, the way a hostile peer could.
Bytes unchecked_bytes(const ledger::UnsignedTransaction& fields) {
  return ledger::Transaction::with_signature(fields, crypto::Signature{}).bytes();
}

Code tx_code(ByteSpan bytes) {
  auto decoded = ledger::Transaction::decode(bytes);
  return decoded ? Code::ok : decoded.error().code;
}

Code block_code(ByteSpan bytes) {
  auto decoded = ledger::Block::decode(bytes);
  return decoded ? Code::ok : decoded.error().code;
}

Code genesis_code(ByteSpan bytes) {
  auto decoded = ledger::decode_genesis(bytes);
  return decoded ? Code::ok : decoded.error().code;
}

Code validate_code(const ledger::UnsignedTransaction& fields) {
  auto status = ledger::validate_fields(fields);
  return status ? Code::ok : status.error().code;
}

bool is_malformed(Code code) {
  const auto number = static_cast<std::uint16_t>(code);
  return number >= 100 && number < 200;
}

// Replaces the single byte at `offset` with `replacement`.
Bytes splice(const Bytes& bytes, std::size_t offset, const Bytes& replacement) {
  REQUIRE(offset < bytes.size());
  Bytes out(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(offset));
  out.insert(out.end(), replacement.begin(), replacement.end());
  out.insert(out.end(), bytes.begin() + static_cast<std::ptrdiff_t>(offset) + 1, bytes.end());
  return out;
}

Bytes with_trailing_byte(Bytes bytes) {
  bytes.push_back(0);
  return bytes;
}

ledger::BlockHeader sample_header() {
  ledger::BlockHeader header;
  header.chain_id = test::test_chain_id;
  header.height = 7;
  header.previous_hash = crypto::sha256(as_bytes("block 6"));
  header.time_ms = test::test_genesis_time_ms + 7'000;
  header.proposer = 1;
  header.merkle_root = crypto::sha256(as_bytes("a root"));
  header.state_hash = crypto::sha256(as_bytes("a state"));
  return header;
}

ledger::Block sample_block(std::size_t tx_count) {
  ledger::Block block;
  block.header = sample_header();
  std::vector<Sample> samples = signed_samples();
  for (std::size_t i = 0; i < tx_count; ++i) block.transactions.push_back(samples[i % samples.size()].tx);
  const crypto::Hash256 block_id = block.header.hash();
  for (const ledger::PartnerId validator : std::vector<ledger::PartnerId>{1, 2, 7}) {
    const crypto::SecretKey key = test::seeded_key("partner " + std::to_string(validator) + " validator");
    block.commit.signatures.push_back(ledger::sign_commit(validator, key, block.header.chain_id, block.header.height, 0, block_id));
  }
  return block;
}

// The header, then a transaction count and what follows, written by hand.
Bytes block_with_tail(const std::function<void(ledger::Writer&)>& tail) {
  ledger::Writer out;
  out.raw(sample_header().encode());
  tail(out);
  return out.take();
}

}  // namespace

TEST_CASE("every transaction type round-trips to identical bytes", "[ledger][encoding]") {
  // Proves that decode inverts encode for every body, and that re-encoding the decoded fields
  // gives the same bytes and therefore the same id.
  for (const Sample& sample : signed_samples()) {
    INFO(sample.name);
    auto decoded = ledger::Transaction::decode(sample.tx.bytes());
    REQUIRE(decoded.ok());
    CHECK(decoded->fields() == sample.tx.fields());
    CHECK(decoded->signature() == sample.tx.signature());
    CHECK(decoded->id() == sample.tx.id());
    CHECK(decoded->type() == sample.tx.type());
    const Bytes reencoded = ledger::Transaction::with_signature(decoded->fields(), decoded->signature()).bytes();
    CHECK(reencoded == sample.tx.bytes());
    const Bytes unsigned_part = decoded->fields().encode();
    CHECK(Bytes(sample.tx.bytes().begin(), sample.tx.bytes().end() - signature_bytes) == unsigned_part);
  }
}

TEST_CASE("blocks with zero, one and several transactions round-trip", "[ledger][encoding]") {
  // Proves that a block's header, transactions and commit survive encode/decode unchanged and
  // that re-encoding is byte-identical, for the transaction counts that change the layout.
  for (std::size_t tx_count : {0u, 1u, 5u, 12u}) {
    INFO("transactions: " << tx_count);
    const ledger::Block block = sample_block(tx_count);
    const Bytes bytes = block.encode();
    auto decoded = ledger::Block::decode(bytes);
    REQUIRE(decoded.ok());
    CHECK(decoded->header == block.header);
    CHECK(decoded->header.hash() == block.header.hash());
    CHECK(decoded->tx_ids() == block.tx_ids());
    CHECK(decoded->commit == block.commit);
    CHECK(decoded->encode() == bytes);
  }
  // A block with no commit signatures is well formed (verify_commit is what refuses it).
  ledger::Block unsigned_block = sample_block(1);
  unsigned_block.commit.signatures.clear();
  auto decoded = ledger::Block::decode(unsigned_block.encode());
  REQUIRE(decoded.ok());
  CHECK(decoded->commit.signatures.empty());
  CHECK(decoded->encode() == unsigned_block.encode());
}

TEST_CASE("the genesis round-trips through its canonical binary form", "[ledger][encoding]") {
  // Proves that decode_genesis inverts Genesis::encode, so the genesis hash is reproducible
  // from the bytes alone.
  const std::vector<ledger::Genesis> cases = {
      test::make_genesis(),
      test::make_genesis({.partners = 5,
                          .point_expiry_days = 365,
                          .transfers_allowed = false,
                          .issuance_cap_points = 1'000'000}),
  };
  for (const ledger::Genesis& genesis : cases) {
    const Bytes bytes = genesis.encode();
    auto decoded = ledger::decode_genesis(bytes);
    REQUIRE(decoded.ok());
    CHECK(*decoded == genesis);
    CHECK(decoded->encode() == bytes);
    CHECK(decoded->hash() == genesis.hash());
  }
}

TEST_CASE("lengths are minimal LEB128 with exact rejection rules", "[ledger][encoding]") {
  // Proves the length rules of docs/protocol.md directly on the codec: the shortest form is
  // written and required, a value over the caller's limit or past 64 bits is too_large, and
  // input ending inside a length is truncated.
  const std::vector<std::pair<std::uint64_t, Bytes>> minimal = {
      {0, {0x00}},
      {127, {0x7f}},
      {128, {0x80, 0x01}},
      {161, {0xa1, 0x01}},
      {16'383, {0xff, 0x7f}},
      {16'384, {0x80, 0x80, 0x01}},
      {UINT64_MAX, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
  };
  for (const auto& [value, encoding] : minimal) {
    INFO("value " << value);
    ledger::Writer out;
    out.length(value);
    CHECK(out.view() == encoding);
    ledger::Reader in(encoding);
    CHECK(in.length(UINT64_MAX, "test") == value);
    CHECK(in.finish().ok());
  }

  const auto length_code = [](const Bytes& encoding, std::uint64_t max) {
    ledger::Reader in(encoding);
    (void)in.length(max, "test");
    return in.ok() ? Code::ok : in.error().code;
  };
  CHECK(length_code({0x80, 0x00}, UINT64_MAX) == Code::non_minimal_length);
  CHECK(length_code({0x83, 0x00}, UINT64_MAX) == Code::non_minimal_length);
  CHECK(length_code({0xff, 0x80, 0x00}, UINT64_MAX) == Code::non_minimal_length);
  CHECK(length_code({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, UINT64_MAX) ==
        Code::non_minimal_length);
  // The tenth byte carries bit 63 only.
  CHECK(length_code({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, UINT64_MAX) == Code::too_large);
  CHECK(length_code({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00}, UINT64_MAX) ==
        Code::too_large);
  CHECK(length_code({0x41}, 64) == Code::too_large);
  CHECK(length_code({0x40}, 64) == Code::ok);
  CHECK(length_code({0x80}, UINT64_MAX) == Code::truncated);
  CHECK(length_code({}, UINT64_MAX) == Code::truncated);
}

TEST_CASE("every strict prefix of a valid encoding is refused as truncated", "[ledger][encoding]") {
  // Proves that a decoder never accepts a cut-off value and never crashes on one: every
  // prefix of every sample transaction, of a block and of the genesis is a malformed input.
  const auto check_prefixes = [](const Bytes& bytes, const auto& decode_code) {
    for (std::size_t size = 0; size < bytes.size(); ++size) {
      INFO("prefix of " << size << " of " << bytes.size() << " bytes");
      const Code code = decode_code(ByteSpan(bytes).first(size));
      CHECK(is_malformed(code));
      CHECK(code == Code::truncated);
    }
  };
  for (const Sample& sample : signed_samples()) {
    INFO(sample.name);
    check_prefixes(sample.tx.bytes(), tx_code);
  }
  check_prefixes(sample_block(0).encode(), block_code);
  check_prefixes(sample_block(3).encode(), block_code);
  check_prefixes(test::make_genesis().encode(), genesis_code);
}

TEST_CASE("a byte after a complete value is refused as trailing_bytes", "[ledger][encoding]") {
  // Proves that each encoding has exactly one length: nothing may follow a complete value,
  // including inside a block's length-prefixed transaction.
  for (const Sample& sample : signed_samples()) {
    INFO(sample.name);
    CHECK(tx_code(with_trailing_byte(sample.tx.bytes())) == Code::trailing_bytes);
  }
  CHECK(block_code(with_trailing_byte(sample_block(2).encode())) == Code::trailing_bytes);
  CHECK(genesis_code(with_trailing_byte(test::make_genesis().encode())) == Code::trailing_bytes);

  const Bytes padded_tx = with_trailing_byte(signed_samples()[0].tx.bytes());
  const Bytes block = block_with_tail([&](ledger::Writer& out) {
    out.length(1);
    out.bytes(padded_tx);
    out.u32(0);  // certificate round
    out.length(0);
  });
  CHECK(block_code(block) == Code::trailing_bytes);
}

TEST_CASE("non-minimal length prefixes are refused", "[ledger][encoding]") {
  // Proves that a length written longer than necessary is refused wherever a length appears,
  // so no value has two encodings (and two ids).
  const crypto::SecretKey issuer = test::TxFactory::partner_issuer(1);
  const Bytes reverse = ledger::Transaction::sign(fields_with(reverse_body("abc")), issuer).bytes();
  const std::size_t reference_length_offset = body_offset + 2;
  REQUIRE(reverse[reference_length_offset] == 0x03);
  CHECK(tx_code(reverse) == Code::ok);
  CHECK(tx_code(splice(reverse, reference_length_offset, {0x83, 0x00})) == Code::non_minimal_length);

  REQUIRE(reverse[chain_id_length_offset] == 0x0a);
  CHECK(tx_code(splice(reverse, chain_id_length_offset, {0x8a, 0x00})) == Code::non_minimal_length);

  const Bytes redeem = ledger::Transaction::sign(fields_with(redeem_body()), test::TxFactory::customer(1)).bytes();
  const std::size_t reward_length_offset = body_offset + 32 + 2 + 8;
  REQUIRE(redeem[reward_length_offset] == 0x06);
  CHECK(tx_code(splice(redeem, reward_length_offset, {0x86, 0x00})) == Code::non_minimal_length);

  const Bytes tx = signed_samples()[0].tx.bytes();
  CHECK(block_code(block_with_tail([](ledger::Writer& out) {
          out.raw(Bytes{0x80, 0x00});  // transaction count 0
          out.u32(0);  // certificate round
          out.length(0);
        })) == Code::non_minimal_length);
  CHECK(block_code(block_with_tail([&](ledger::Writer& out) {
          out.length(1);
          out.raw(Bytes{static_cast<std::uint8_t>(0x80 | (tx.size() & 0x7f)),
                        static_cast<std::uint8_t>(0x80 | (tx.size() >> 7)), 0x00});  // tx length, 3 bytes
          out.raw(tx);
          out.u32(0);  // certificate round
          out.length(0);
        })) == Code::non_minimal_length);
  CHECK(block_code(block_with_tail([](ledger::Writer& out) {
          out.length(0);
          out.u32(0);                  // certificate round
          out.raw(Bytes{0x80, 0x00});  // commit signature count 0
        })) == Code::non_minimal_length);

  const Bytes genesis = test::make_genesis().encode();
  const std::size_t partner_count_offset = 1 + 1 + 10 + 1 + 14 + 8;
  REQUIRE(genesis[partner_count_offset] == 0x03);
  CHECK(genesis_code(splice(genesis, partner_count_offset, {0x83, 0x00})) == Code::non_minimal_length);
}

TEST_CASE("lengths and sizes over their limits are refused as too_large", "[ledger][encoding]") {
  // Proves that every container's cap (ledger/limits.hpp) is enforced by the decoder before
  // the contents are read.
  ledger::UnsignedTransaction long_reference = fields_with(reverse_body(std::string(65, 'r')));
  CHECK(tx_code(unchecked_bytes(long_reference)) == Code::too_large);
  ledger::UnsignedTransaction longest_reference = fields_with(reverse_body(std::string(64, 'r')));
  CHECK(validate_code(longest_reference) == Code::ok);
  CHECK(tx_code(unchecked_bytes(longest_reference)) == Code::ok);

  ledger::UnsignedTransaction long_chain_id = fields_with(reverse_body());
  long_chain_id.chain_id = std::string(33, 'c');
  CHECK(tx_code(unchecked_bytes(long_chain_id)) == Code::too_large);

  ledger::Redeem redeem = redeem_body();
  redeem.reward = std::string(65, 'w');
  CHECK(tx_code(unchecked_bytes(fields_with(redeem))) == Code::too_large);

  // A whole transaction over tx_bytes_max is refused on its size alone.
  Bytes oversized = signed_samples()[0].tx.bytes();
  oversized.resize(ledger::tx_bytes_max + 1);
  CHECK(tx_code(oversized) == Code::too_large);

  CHECK(block_code(block_with_tail([](ledger::Writer& out) { out.length(ledger::block_tx_count_max + 1); })) ==
        Code::too_large);
  CHECK(block_code(block_with_tail([](ledger::Writer& out) {
          out.length(1);
          out.length(ledger::tx_bytes_max + 1);
        })) == Code::too_large);
  CHECK(block_code(block_with_tail([](ledger::Writer& out) {
          out.length(0);
          out.u32(0);  // certificate round
          out.length(ledger::partners_max + 1);
        })) == Code::too_large);
  Bytes huge_block = sample_block(1).encode();
  huge_block.resize(ledger::block_bytes_max + 1);
  CHECK(block_code(huge_block) == Code::too_large);

  ledger::Genesis genesis = test::make_genesis();
  genesis.coalition_name = std::string(65, 'n');
  CHECK(genesis_code(genesis.encode()) == Code::too_large);
  const Bytes genesis_bytes = test::make_genesis().encode();
  const std::size_t partner_count_offset = 1 + 1 + 10 + 1 + 14 + 8;
  CHECK(genesis_code(splice(genesis_bytes, partner_count_offset, {0x81, 0x02})) == Code::too_large);  // 257
}

TEST_CASE("unknown versions and transaction types are refused", "[ledger][encoding]") {
  // Proves that a decoder refuses what it does not understand rather than guessing.
  const Bytes tx = signed_samples()[0].tx.bytes();
  for (const std::uint8_t version : Bytes{0, 2, 255}) {
    Bytes changed = tx;
    changed[0] = version;
    CHECK(tx_code(changed) == Code::unknown_version);
  }
  for (const std::uint8_t type : Bytes{0, 16, 255}) {  // 5-8 exist from protocol version 3, 9-15 from 4
    Bytes changed = tx;
    changed[1] = type;
    CHECK(tx_code(changed) == Code::unknown_type);
  }
  for (const std::uint8_t version : Bytes{1, 3}) {  // 1: before commit certificates had rounds
    Bytes block = sample_block(1).encode();
    block[0] = version;
    CHECK(block_code(block) == Code::unknown_version);
  }
  Bytes genesis = test::make_genesis().encode();
  genesis[0] = 3;  // genesis encodings 1 and 2 exist (docs/protocol.md, "Genesis")
  CHECK(genesis_code(genesis) == Code::unknown_version);
}

TEST_CASE("field rules are enforced by validate_fields and by the decoder", "[ledger][encoding]") {
  // Proves each field rule of docs/protocol.md with its code, both on the builder's early
  // check and on bytes a hostile peer could send (where the bytes can carry the bad value).
  struct Case {
    const char* rule;
    ledger::UnsignedTransaction fields;
    Code validate;
    std::optional<Code> decode;  // nullopt: the bad value cannot be carried by well-formed bytes
  };
  std::vector<Case> cases;
  const auto issue_with = [](auto change) {
    ledger::Issue issue = issue_body(true);
    change(issue);
    return fields_with(issue);
  };
  cases.push_back({"zero points in Issue", issue_with([](auto& i) { i.points = 0; }), Code::invalid_field,
                   Code::invalid_field});
  cases.push_back({"partner 0", issue_with([](auto& i) { i.partner = 0; }), Code::invalid_field,
                   Code::invalid_field});
  cases.push_back({"reason 0", issue_with([](auto& i) { i.reason = static_cast<ledger::Reason>(0); }),
                   Code::invalid_field, Code::invalid_field});
  cases.push_back({"reason 7", issue_with([](auto& i) { i.reason = static_cast<ledger::Reason>(7); }),
                   Code::invalid_field, Code::invalid_field});
  cases.push_back({"lowercase currency", issue_with([](auto& i) { i.purchase->currency = "eur"; }),
                   Code::invalid_field, Code::invalid_field});
  cases.push_back({"two-letter currency", issue_with([](auto& i) { i.purchase->currency = "EU"; }),
                   Code::invalid_field, std::nullopt});
  cases.push_back({"negative purchase", issue_with([](auto& i) { i.purchase->amount_minor = -1; }),
                   Code::invalid_field, Code::invalid_field});
  cases.push_back({"reference with a space", issue_with([](auto& i) { i.reference = "order 1"; }),
                   Code::invalid_field, Code::invalid_field});
  cases.push_back({"empty reference", issue_with([](auto& i) { i.reference.clear(); }), Code::invalid_field,
                   Code::invalid_field});
  cases.push_back({"65-byte reference", issue_with([](auto& i) { i.reference = std::string(65, 'r'); }),
                   Code::invalid_field, Code::too_large});
  cases.push_back({"pending days 366", issue_with([](auto& i) { i.pending_days = 366; }), Code::invalid_field,
                   Code::invalid_field});
  cases.push_back({"pending days 365", issue_with([](auto& i) { i.pending_days = 365; }), Code::ok, Code::ok});

  ledger::UnsignedTransaction upper_chain = fields_with(issue_body(true));
  upper_chain.chain_id = "Test-Chain";
  cases.push_back({"chain id with uppercase", upper_chain, Code::invalid_field, Code::invalid_field});
  ledger::UnsignedTransaction empty_chain = fields_with(issue_body(true));
  empty_chain.chain_id.clear();
  cases.push_back({"empty chain id", empty_chain, Code::invalid_field, Code::invalid_field});

  ledger::Redeem redeem = redeem_body();
  redeem.points = 0;
  cases.push_back({"zero points in Redeem", fields_with(redeem), Code::invalid_field, Code::invalid_field});
  redeem = redeem_body();
  redeem.reward = "line\nbreak";
  cases.push_back({"reward with a control character", fields_with(redeem), Code::invalid_field,
                   Code::invalid_field});
  redeem = redeem_body();
  redeem.reward = "a reward with spaces";
  cases.push_back({"reward with spaces", fields_with(redeem), Code::ok, Code::ok});

  ledger::Transfer transfer = transfer_body();
  transfer.points = 0;
  cases.push_back({"zero points in Transfer", fields_with(transfer), Code::invalid_field, Code::invalid_field});
  transfer = transfer_body();
  transfer.to = transfer.from;
  cases.push_back({"Transfer to self", fields_with(transfer), Code::self_transfer, Code::self_transfer});

  cases.push_back({"Reverse with a space", fields_with(reverse_body("a b")), Code::invalid_field,
                   Code::invalid_field});
  cases.push_back({"Reverse of partner 0", fields_with(ledger::Reverse{0, "order-1"}), Code::invalid_field,
                   Code::invalid_field});

  for (const Case& c : cases) {
    INFO(c.rule);
    CHECK(validate_code(c.fields) == c.validate);
    if (c.decode) CHECK(tx_code(unchecked_bytes(c.fields)) == *c.decode);
  }

  // The purchase flag is a byte that must be 0 or 1; in an Issue without purchase it is the
  // last byte before the signature.
  const Bytes no_purchase = signed_samples()[1].tx.bytes();
  const std::size_t flag_offset = no_purchase.size() - signature_bytes - 1;
  REQUIRE(no_purchase[flag_offset] == 0);
  CHECK(tx_code(splice(no_purchase, flag_offset, {2})) == Code::invalid_field);
  CHECK(tx_code(splice(no_purchase, flag_offset, {255})) == Code::invalid_field);
  // Flag 0 in front of purchase fields leaves them over.
  const Bytes with_purchase = signed_samples()[0].tx.bytes();
  const std::size_t purchase_flag_offset = with_purchase.size() - signature_bytes - 8 - 3 - 1;
  REQUIRE(with_purchase[purchase_flag_offset] == 1);
  CHECK(tx_code(splice(with_purchase, purchase_flag_offset, {0})) == Code::trailing_bytes);
}

TEST_CASE("commit signatures out of order are refused when decoding a block", "[ledger][encoding]") {
  // Proves that a commit has one encoding: validator ids strictly ascending, no repeats.
  ledger::Block block = sample_block(1);
  REQUIRE(block.commit.signatures.size() == 3);
  std::swap(block.commit.signatures[0], block.commit.signatures[1]);
  CHECK(block_code(block.encode()) == Code::non_canonical_order);

  block = sample_block(1);
  block.commit.signatures[1].validator = block.commit.signatures[0].validator;
  CHECK(block_code(block.encode()) == Code::non_canonical_order);
}

TEST_CASE("flipping any bit of a signed transaction never gives a valid transaction", "[ledger][encoding]") {
  // Proves that a single corrupted bit is always caught: either the decoder refuses the bytes
  // with a typed code, or it yields another transaction (another id) whose signature fails.
  const ledger::Genesis genesis = test::make_genesis();
  std::size_t refused = 0;
  std::size_t decoded_but_unsigned = 0;
  for (const Sample& sample : signed_samples()) {
    INFO(sample.name);
    REQUIRE(ledger::verify_transaction_signature(genesis, sample.tx).ok());
    const Bytes& original = sample.tx.bytes();
    for (std::size_t bit = 0; bit < original.size() * 8; ++bit) {
      INFO("bit " << bit);
      Bytes flipped = original;
      flipped[bit / 8] = static_cast<std::uint8_t>(flipped[bit / 8] ^ (1u << (bit % 8)));
      auto decoded = ledger::Transaction::decode(flipped);
      if (!decoded) {
        const Code code = decoded.error().code;
        CHECK((is_malformed(code) || code == Code::self_transfer));
        ++refused;
        continue;
      }
      ++decoded_but_unsigned;
      CHECK(decoded->bytes() == flipped);
      CHECK(decoded->id() != sample.tx.id());
      CHECK_FALSE(ledger::verify_transaction_signature(genesis, *decoded).ok());
    }
  }
  // Both outcomes occur: the test exercises the decoder and the signature check.
  CHECK(refused > 0);
  CHECK(decoded_but_unsigned > 0);
}
