// The peer messages' canonical encodings (docs/p2p-protocol.md): golden bytes for each
// type, the worked examples of the document, round trips, and a typed error for each way a
// message can be wrong.
#include <catch2/catch.hpp>

#include "ledger/codec.hpp"
#include "ledger/limits.hpp"
#include "node/peer_messages.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc;
using node::PeerMessage;

std::string encode_hex(const PeerMessage& message) { return to_hex(node::encode_peer_message(message)); }

ledger::Code decode_error(const std::string& hex) {
  const auto bytes = from_hex(hex);
  REQUIRE(bytes.has_value());
  auto decoded = node::decode_peer_message(*bytes);
  REQUIRE_FALSE(decoded.ok());
  return decoded.error().code;
}

// Decodes `message`'s encoding and encodes it again: the same bytes, the same type.
void check_round_trip(const PeerMessage& message) {
  const Bytes bytes = node::encode_peer_message(message);
  auto decoded = node::decode_peer_message(bytes);
  REQUIRE(decoded.ok());
  CHECK(decoded->index() == message.index());
  CHECK(node::encode_peer_message(*decoded) == bytes);
}

crypto::Hash256 filled(std::uint8_t byte) {
  crypto::Hash256 hash;
  hash.fill(byte);
  return hash;
}

// The prevote for nil of the worked example: partner 1's validator, height 1, round 2.
ledger::Vote example_vote() {
  ledger::Vote vote{ledger::VoteType::prevote, test::test_chain_id, 1, 2, std::nullopt, 1, {}};
  vote.signature = test::seeded_key("partner 1 validator").sign(vote.sign_bytes());
  return vote;
}

// Block 1 of a test chain holding one Issue, with its certificate.
ledger::Block example_block() {
  test::TestChain chain;
  chain.commit_all({chain.txs.issue(1, test::TxFactory::customer(1).public_key(), 10, "order-1")});
  auto block = chain.store().block_at(1);
  REQUIRE(block.ok());
  return std::move(block).value();
}

const std::string ids_aa_bb = std::string(64, 'a') + std::string(64, 'b');

}  // namespace

TEST_CASE("golden: the fixed-layout peer messages are pinned byte for byte", "[p2p][golden]") {
  // Proves the layouts of docs/p2p-protocol.md for status, announce, request, consensus
  // request and blocks request: version, tag, little-endian integers, LEB128 counts.
  CHECK(encode_hex(node::StatusMessage{5, filled(0x11), 6, 2}) ==
        "0101" "0500000000000000" + std::string(64, '1') + "0600000000000000" "02000000");
  CHECK(encode_hex(node::TxAnnounce{{filled(0xaa), filled(0xbb)}}) == "0102" "02" + ids_aa_bb);
  CHECK(encode_hex(node::TxRequest{{filled(0xaa), filled(0xbb)}}) == "0103" "02" + ids_aa_bb);
  CHECK(encode_hex(node::ConsensusRequest{7, 1}) == "0108" "0700000000000000" "01000000");
  CHECK(encode_hex(node::BlocksRequest{1, 64}) == "0109" "0100000000000000" "40000000");
}

TEST_CASE("golden: a vote travels as its ledger encoding behind the version, tag and length", "[p2p][golden]") {
  // Proves the worked example of docs/p2p-protocol.md: a signed prevote for nil (ed25519 is
  // deterministic, so the signature is pinned too).
  const ledger::Vote vote = example_vote();
  const std::string vote_hex = to_hex(vote.encode());
  CHECK(vote_hex ==
        "0101" "0a746573742d636861696e" "0100000000000000" "02000000" "00" "0100"
        "4a14d8c831f0d915cd572f234972824f614c35077f23adaa031d3342dcc60aa5"
        "3a64c6b8ef00201465b2b6f0b59e2ab79d94aba70aad1eb1a015d6b1b1154708");
  CHECK(encode_hex(vote) == "0106" "5c" + vote_hex);
}

TEST_CASE("golden: transactions, proposals, decisions and block ranges carry the ledger's encodings",
          "[p2p][golden]") {
  // Proves the envelopes around nested values: each is the ledger's canonical encoding
  // (pinned in docs/protocol.md's golden tests) behind a minimal LEB128 length.
  const ledger::Block block = example_block();
  const ledger::Transaction& tx = block.transactions.at(0);
  const auto length_hex = [](std::size_t size) {
    ledger::Writer out;
    out.length(size);
    return to_hex(out.view());
  };
  CHECK(encode_hex(node::TxDeliver{{tx}}) == "0104" "01" + length_hex(tx.bytes().size()) + to_hex(tx.bytes()));
  // A push names the partners it goes to (two, as u16) before the same transaction list.
  CHECK(encode_hex(node::TxPush{{2, 3}, {tx}}) ==
        "010b" "02" "0200" "0300" "01" + length_hex(tx.bytes().size()) + to_hex(tx.bytes()));

  ledger::Block proposed = block;
  proposed.commit = {};
  const ledger::Proposal proposal{test::test_chain_id, 1, 0, std::nullopt, block.header.hash(), 1, {}};
  const Bytes proposal_bytes = proposal.encode();
  const Bytes proposed_bytes = proposed.encode();
  CHECK(encode_hex(consensus::ProposalMessage{proposal, proposed}) ==
        "0105" + length_hex(proposal_bytes.size()) + to_hex(proposal_bytes) + length_hex(proposed_bytes.size()) +
            to_hex(proposed_bytes));

  const Bytes block_bytes = block.encode();
  CHECK(encode_hex(consensus::DecisionMessage{block}) == "0107" + length_hex(block_bytes.size()) + to_hex(block_bytes));
  CHECK(encode_hex(node::BlocksResponse{1, {block}}) ==
        "010a" "0100000000000000" "01" + length_hex(block_bytes.size()) + to_hex(block_bytes));
  CHECK(encode_hex(node::BlocksResponse{9, {}}) == "010a" "0900000000000000" "00");

  for (const PeerMessage& message :
       std::vector<PeerMessage>{node::StatusMessage{5, filled(0x11), 6, 2}, node::TxAnnounce{{filled(1)}},
                                node::TxRequest{{filled(1), filled(2)}}, node::TxDeliver{{tx}},
                                consensus::ProposalMessage{proposal, proposed}, example_vote(),
                                consensus::DecisionMessage{block}, node::ConsensusRequest{3, 0},
                                node::BlocksRequest{2, 10}, node::BlocksResponse{1, {block}},
                                node::TxPush{{1, 4, 256}, {tx, tx}}}) {
    check_round_trip(message);
  }
}

TEST_CASE("a peer message that is not canonical is refused with a typed error", "[p2p][decode]") {
  // Proves each rule of the decoder: every malformed input gets its own code and no value.
  using ledger::Code;
  CHECK(decode_error("") == Code::truncated);
  CHECK(decode_error("01") == Code::truncated);
  CHECK(decode_error("0201") == Code::unknown_version);
  CHECK(decode_error("0100") == Code::unknown_type);
  CHECK(decode_error("010c") == Code::unknown_type);
  const std::string status = "0101" "0500000000000000" + std::string(64, '1') + "0600000000000000" "02000000";
  CHECK(decode_error(status + "00") == Code::trailing_bytes);
  CHECK(decode_error(status.substr(0, status.size() - 2)) == Code::truncated);
  CHECK(decode_error("0101" "0500000000000000" + std::string(64, '1') + "0600000000000000" "a1860100") ==
        Code::invalid_field);  // round 100001
  CHECK(decode_error("010200") == Code::invalid_field);         // no ids
  CHECK(decode_error("01028108" + std::string(64, 'a')) == Code::too_large);  // 1025 ids
  CHECK(decode_error("0102" "8100" + std::string(64, 'a')) == Code::non_minimal_length);
  CHECK(decode_error("0102" "02" + std::string(64, 'b') + std::string(64, 'a')) == Code::non_canonical_order);
  CHECK(decode_error("0103" "02" + std::string(64, 'a') + std::string(64, 'a')) == Code::non_canonical_order);
  CHECK(decode_error("0102" "02" + std::string(64, 'a')) == Code::truncated);
  CHECK(decode_error("010400") == Code::invalid_field);         // no transactions
  CHECK(decode_error("0104" "01" "0201ff") == Code::truncated); // a transaction cut short
  CHECK(decode_error("010b00") == Code::invalid_field);              // pushed to nobody
  CHECK(decode_error("010b" "8102") == Code::too_large);             // 257 partners
  CHECK(decode_error("010b" "01" "0000" "00") == Code::invalid_field);  // partner 0
  CHECK(decode_error("010b" "02" "0300" "0200" "00") == Code::non_canonical_order);
  CHECK(decode_error("010b" "02" "0200" "0200" "00") == Code::non_canonical_order);
  CHECK(decode_error("010b" "01" "02") == Code::truncated);          // a partner id cut short
  CHECK(decode_error("010b" "01" "0200" "00") == Code::invalid_field);  // no transactions
  CHECK(decode_error("0106" "00") == Code::truncated);          // an empty vote
  CHECK(decode_error("0108" "0000000000000000" "00000000") == Code::invalid_field);  // height 0
  CHECK(decode_error("0109" "0100000000000000" "00000000") == Code::too_large);      // no blocks
  CHECK(decode_error("0109" "0100000000000000" "41000000") == Code::too_large);      // 65 blocks
  CHECK(decode_error("0109" "0000000000000000" "01000000") == Code::invalid_field);  // from genesis
  CHECK(decode_error("010a" "0000000000000000" "00") == Code::invalid_field);
  CHECK(decode_error("010a" "0100000000000000" "41") == Code::too_large);

  // A block range whose block is not at its position, and a proposal whose block is not the
  // one it names (re-encoded by hand: the encoder refuses to write either).
  const ledger::Block block = example_block();
  const Bytes block_bytes = block.encode();
  ledger::Writer range;
  range.u8(node::peer_protocol_version);
  range.u8(static_cast<std::uint8_t>(node::PeerMessageType::blocks_response));
  range.u64(2);
  range.length(1);
  range.bytes(block_bytes);
  CHECK(decode_error(to_hex(range.view())) == Code::invalid_field);

  ledger::Block proposed = block;
  proposed.commit = {};
  ledger::Proposal proposal{test::test_chain_id, 1, 0, std::nullopt, filled(7), 1, {}};
  ledger::Writer mismatched;
  mismatched.u8(node::peer_protocol_version);
  mismatched.u8(static_cast<std::uint8_t>(node::PeerMessageType::proposal));
  mismatched.bytes(proposal.encode());
  mismatched.bytes(proposed.encode());
  CHECK(decode_error(to_hex(mismatched.view())) == Code::invalid_field);
  // The same proposal naming its block, but the block carries a certificate.
  proposal.block_id = block.header.hash();
  ledger::Writer certified;
  certified.u8(node::peer_protocol_version);
  certified.u8(static_cast<std::uint8_t>(node::PeerMessageType::proposal));
  certified.bytes(proposal.encode());
  certified.bytes(block_bytes);
  CHECK(decode_error(to_hex(certified.view())) == Code::invalid_field);
}
