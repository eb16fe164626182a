#include "node/peer_messages.hpp"

#include <algorithm>
#include <functional>
#include <type_traits>

#include "crypto/check.hpp"
#include "ledger/codec.hpp"
#include "ledger/limits.hpp"

namespace pc::node {
namespace {

using ledger::Code;
using ledger::Reader;
using ledger::Writer;

// Nested encodings travel length-prefixed, so each is decoded by its own strict decoder on
// exactly its own bytes.
void write_ids(Writer& out, const std::vector<crypto::Hash256>& ids) {
  PC_CHECK(!ids.empty() && ids.size() <= tx_ids_per_message_max);
  PC_CHECK(std::is_sorted(ids.begin(), ids.end()) && std::adjacent_find(ids.begin(), ids.end()) == ids.end());
  out.length(ids.size());
  for (const crypto::Hash256& id : ids) out.raw(id);
}

std::vector<crypto::Hash256> read_ids(Reader& in) {
  const std::uint64_t count = in.length(tx_ids_per_message_max, "transaction id count");
  if (in.ok() && count == 0) in.fail(Code::invalid_field, "an empty list of transaction ids");
  if (in.ok() && in.remaining() < count * 32) in.fail(Code::truncated, "the transaction ids end early");
  std::vector<crypto::Hash256> ids;
  if (!in.ok()) return ids;
  ids.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    ids.push_back(in.fixed<32>());
    if (i > 0 && !(ids[i - 1] < ids[i])) {
      in.fail(Code::non_canonical_order, "transaction ids must be strictly ascending");
      break;
    }
  }
  return ids;
}

// A nested value: LEB128 length (at most `max`) then its own canonical encoding.
template <class Value>
Value read_nested(Reader& in, std::uint64_t max, std::string_view what) {
  const std::uint64_t size = in.length(max, what);
  const ByteSpan bytes = in.raw(static_cast<std::size_t>(size));
  if (!in.ok()) return Value{};
  auto decoded = Value::decode(bytes);
  if (!decoded) {
    in.fail(decoded.error().code, std::string(what) + ": " + decoded.error().detail);
    return Value{};
  }
  return std::move(decoded).value();
}

// Transaction has no default value; it is read into an optional.
std::optional<ledger::Transaction> read_transaction(Reader& in) {
  const std::uint64_t size = in.length(ledger::tx_bytes_max, "transaction");
  const ByteSpan bytes = in.raw(static_cast<std::size_t>(size));
  if (!in.ok()) return std::nullopt;
  auto decoded = ledger::Transaction::decode(bytes);
  if (!decoded) {
    in.fail(decoded.error().code, "transaction: " + decoded.error().detail);
    return std::nullopt;
  }
  return std::move(decoded).value();
}

void write_transactions(Writer& out, const std::vector<ledger::Transaction>& txs) {
  PC_CHECK(!txs.empty() && txs.size() <= txs_per_delivery_max);
  out.length(txs.size());
  for (const ledger::Transaction& tx : txs) out.bytes(tx.bytes());
}

std::vector<ledger::Transaction> read_transactions(Reader& in) {
  const std::uint64_t count = in.length(txs_per_delivery_max, "transaction count");
  if (in.ok() && count == 0) in.fail(Code::invalid_field, "a delivery of no transactions");
  std::vector<ledger::Transaction> txs;
  for (std::uint64_t i = 0; in.ok() && i < count; ++i) {
    if (auto tx = read_transaction(in)) txs.push_back(std::move(*tx));
  }
  return txs;
}

std::vector<ledger::PartnerId> read_pushed_to(Reader& in) {
  const std::uint64_t count = in.length(ledger::partners_max, "pushed-to partner count");
  if (in.ok() && count == 0) in.fail(Code::invalid_field, "a push to no partner");
  std::vector<ledger::PartnerId> partners;
  for (std::uint64_t i = 0; in.ok() && i < count; ++i) {
    const ledger::PartnerId partner = in.u16();
    if (!in.ok()) break;
    if (partner == 0) {
      in.fail(Code::invalid_field, "partner 0 is no partner");
    } else if (!partners.empty() && partners.back() >= partner) {
      in.fail(Code::non_canonical_order, "pushed-to partners must be strictly ascending");
    }
    partners.push_back(partner);
  }
  return partners;
}

std::uint32_t read_round(Reader& in) {
  const std::uint32_t round = in.u32();
  if (in.ok() && round > ledger::round_max) in.fail(Code::invalid_field, "round over round_max");
  return round;
}

struct Encoder {
  Writer& out;

  void operator()(const StatusMessage& status) {
    out.u64(status.tip_height);
    out.raw(status.tip_block_id);
    out.u64(status.consensus_height);
    out.u32(status.consensus_round);
  }
  void operator()(const TxAnnounce& announce) { write_ids(out, announce.ids); }
  void operator()(const TxRequest& request) { write_ids(out, request.ids); }
  void operator()(const TxDeliver& deliver) { write_transactions(out, deliver.txs); }
  void operator()(const TxPush& push) {
    const auto& partners = push.pushed_to;
    PC_CHECK(!partners.empty() && partners.size() <= ledger::partners_max && partners.front() >= 1);
    PC_CHECK(std::adjacent_find(partners.begin(), partners.end(), std::greater_equal<>()) == partners.end());
    out.length(partners.size());
    for (ledger::PartnerId partner : partners) out.u16(partner);
    write_transactions(out, push.txs);
  }
  void operator()(const consensus::ProposalMessage& proposal) {
    PC_CHECK(proposal.block.header.hash() == proposal.proposal.block_id);
    out.bytes(proposal.proposal.encode());
    out.bytes(proposal.block.encode());
  }
  void operator()(const ledger::Vote& vote) { out.bytes(vote.encode()); }
  void operator()(const consensus::DecisionMessage& decision) { out.bytes(decision.block.encode()); }
  void operator()(const ConsensusRequest& request) {
    out.u64(request.height);
    out.u32(request.round);
  }
  void operator()(const BlocksRequest& request) {
    PC_CHECK(request.from_height > 0 && request.count > 0 && request.count <= blocks_per_range_max);
    out.u64(request.from_height);
    out.u32(request.count);
  }
  void operator()(const BlocksResponse& response) {
    PC_CHECK(response.from_height > 0 && response.blocks.size() <= blocks_per_range_max);
    out.u64(response.from_height);
    out.length(response.blocks.size());
    for (std::size_t i = 0; i < response.blocks.size(); ++i) {
      PC_CHECK(response.blocks[i].header.height == response.from_height + i);
      out.bytes(response.blocks[i].encode());
    }
  }
};

ledger::Result<PeerMessage> decode_body(PeerMessageType type, Reader& in) {
  PeerMessage message;
  switch (type) {
    case PeerMessageType::status: {
      StatusMessage status;
      status.tip_height = in.u64();
      status.tip_block_id = in.fixed<32>();
      status.consensus_height = in.u64();
      status.consensus_round = read_round(in);
      message = status;
      break;
    }
    case PeerMessageType::tx_announce: message = TxAnnounce{read_ids(in)}; break;
    case PeerMessageType::tx_request: message = TxRequest{read_ids(in)}; break;
    case PeerMessageType::tx_deliver: message = TxDeliver{read_transactions(in)}; break;
    case PeerMessageType::tx_push: {
      TxPush push;
      push.pushed_to = read_pushed_to(in);
      if (in.ok()) push.txs = read_transactions(in);
      message = std::move(push);
      break;
    }
    case PeerMessageType::proposal: {
      consensus::ProposalMessage proposal;
      proposal.proposal = read_nested<ledger::Proposal>(in, ledger::block_bytes_max, "proposal");
      proposal.block = read_nested<ledger::Block>(in, ledger::block_bytes_max, "proposed block");
      if (in.ok() && proposal.block.header.hash() != proposal.proposal.block_id) {
        in.fail(Code::invalid_field, "the proposed block is not the block the proposal names");
      }
      if (in.ok() && !proposal.block.commit.signatures.empty()) {
        in.fail(Code::invalid_field, "a proposed block carries no certificate");
      }
      message = std::move(proposal);
      break;
    }
    case PeerMessageType::vote: message = read_nested<ledger::Vote>(in, ledger::block_bytes_max, "vote"); break;
    case PeerMessageType::decision:
      message = consensus::DecisionMessage{read_nested<ledger::Block>(in, ledger::block_bytes_max, "decided block")};
      break;
    case PeerMessageType::consensus_request: {
      ConsensusRequest request;
      request.height = in.u64();
      request.round = read_round(in);
      if (in.ok() && request.height == 0) in.fail(Code::invalid_field, "height 0 is the genesis");
      message = request;
      break;
    }
    case PeerMessageType::blocks_request: {
      BlocksRequest request;
      request.from_height = in.u64();
      request.count = in.u32();
      if (in.ok() && request.from_height == 0) in.fail(Code::invalid_field, "height 0 is the genesis");
      if (in.ok() && (request.count == 0 || request.count > blocks_per_range_max)) {
        in.fail(Code::too_large, "a block range of 1 to " + std::to_string(blocks_per_range_max) + " blocks");
      }
      message = request;
      break;
    }
    case PeerMessageType::blocks_response: {
      BlocksResponse response;
      response.from_height = in.u64();
      if (in.ok() && response.from_height == 0) in.fail(Code::invalid_field, "height 0 is the genesis");
      const std::uint64_t count = in.length(blocks_per_range_max, "block count");
      for (std::uint64_t i = 0; in.ok() && i < count; ++i) {
        ledger::Block block = read_nested<ledger::Block>(in, ledger::block_bytes_max, "block");
        if (in.ok() && block.header.height != response.from_height + i) {
          in.fail(Code::invalid_field, "block " + std::to_string(i) + " of the range is at height " +
                                           std::to_string(block.header.height));
        }
        response.blocks.push_back(std::move(block));
      }
      message = std::move(response);
      break;
    }
    default: return ledger::Error{Code::unknown_type, "peer message type " + std::to_string(static_cast<int>(type))};
  }
  if (auto status = in.finish(); !status) return status.error();
  return message;
}

}  // namespace

PeerMessageType peer_message_type(const PeerMessage& message) {
  return static_cast<PeerMessageType>(message.index() + 1);
}

std::string_view peer_message_type_name(PeerMessageType type) {
  switch (type) {
    case PeerMessageType::status: return "status";
    case PeerMessageType::tx_announce: return "tx_announce";
    case PeerMessageType::tx_request: return "tx_request";
    case PeerMessageType::tx_deliver: return "tx_deliver";
    case PeerMessageType::proposal: return "proposal";
    case PeerMessageType::vote: return "vote";
    case PeerMessageType::decision: return "decision";
    case PeerMessageType::consensus_request: return "consensus_request";
    case PeerMessageType::blocks_request: return "blocks_request";
    case PeerMessageType::blocks_response: return "blocks_response";
    case PeerMessageType::tx_push: return "tx_push";
  }
  return "unknown";
}

namespace {

// The tag of each alternative: its index in PeerMessage, plus one.
template <class Value, std::size_t index = 0>
constexpr PeerMessageType type_of() {
  if constexpr (std::is_same_v<Value, std::variant_alternative_t<index, PeerMessage>>) {
    return static_cast<PeerMessageType>(index + 1);
  } else {
    return type_of<Value, index + 1>();
  }
}

template <class Value>
Bytes encode_one(const Value& value) {
  Writer out;
  out.u8(peer_protocol_version);
  out.u8(static_cast<std::uint8_t>(type_of<Value>()));
  Encoder{out}(value);
  PC_CHECK(out.view().size() <= peer_message_bytes_max);
  return out.take();
}

}  // namespace

Bytes encode_peer_message(const PeerMessage& message) {
  return std::visit([](const auto& each) { return encode_one(each); }, message);
}

// Without copying the message into a PeerMessage first (a proposal carries its block).
Bytes encode_consensus_message(const consensus::Message& message) {
  return std::visit([](const auto& each) { return encode_one(each); }, message);
}

ledger::Result<PeerMessage> decode_peer_message(ByteSpan bytes) {
  if (bytes.size() > peer_message_bytes_max) {
    return ledger::Error{Code::too_large, "a peer message of " + std::to_string(bytes.size()) + " bytes"};
  }
  Reader in(bytes);
  const std::uint8_t version = in.u8();
  const std::uint8_t type = in.u8();
  if (!in.ok()) return in.error();
  if (version != peer_protocol_version) {
    return ledger::Error{Code::unknown_version, "peer protocol version " + std::to_string(version)};
  }
  if (type == 0 || type > peer_message_type_count) {
    return ledger::Error{Code::unknown_type, "peer message type " + std::to_string(type)};
  }
  return decode_body(static_cast<PeerMessageType>(type), in);
}

}  // namespace pc::node
