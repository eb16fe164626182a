// What partners' nodes say to each other over the transport (node/p2p/transport.hpp): every
// peer message's canonical, versioned binary form (docs/p2p-protocol.md, byte by byte with
// worked examples), and its strict decoder. A message is
//
//   version (u8, 1) || type (u8) || body
//
// with integers little-endian and lengths minimal LEB128 (docs/protocol.md, "Encoding
// rules"). The consensus messages carry the ledger's own encodings of proposals, votes and
// blocks (docs/protocol.md), so what a validator signed travels byte for byte.
//
// The decoder rejects anything that is not exactly what the encoder writes: an unknown
// version or type, truncation, non-minimal lengths, counts over their limits, unsorted or
// repeated ids, a block that does not match its proposal or its position in a range, and
// trailing bytes. Each is a typed ledger::Error (class 1xx); a peer that sends one is
// disconnected (node/peer_protocol.hpp). Decoding checks no signature: that is the
// receiver's business (the consensus engine, the mempool, sync).
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "ledger/block.hpp"
#include "node/consensus/consensus.hpp"

namespace pc::node {

inline constexpr std::uint8_t peer_protocol_version = 1;

// Ids in one announcement or request; transactions in one delivery.
inline constexpr std::size_t tx_ids_per_message_max = 1'024;
inline constexpr std::size_t txs_per_delivery_max = 1'024;
// Blocks asked for, or served, in one range.
inline constexpr std::uint32_t blocks_per_range_max = 64;
// A whole message, as the transport bounds it (p2p::message_bytes_max).
inline constexpr std::size_t peer_message_bytes_max = 16 * 1024 * 1024;

// Wire tags. Stored nowhere but sent, so never renumbered; a retired tag stays as a comment.
enum class PeerMessageType : std::uint8_t {
  status = 1,
  tx_announce = 2,
  tx_request = 3,
  tx_deliver = 4,
  proposal = 5,
  vote = 6,
  decision = 7,
  consensus_request = 8,
  blocks_request = 9,
  blocks_response = 10,
  tx_push = 11,
};
inline constexpr std::size_t peer_message_type_count = 11;

// Where the sender is: sent on connecting and every status_interval_ms.
struct StatusMessage {
  std::uint64_t tip_height = 0;
  crypto::Hash256 tip_block_id{};     // the genesis hash at height 0
  std::uint64_t consensus_height = 0; // the height its consensus works on
  std::uint32_t consensus_round = 0;
  bool operator==(const StatusMessage&) const = default;
};

// "I have these pending transactions" (ids strictly ascending, 1 to tx_ids_per_message_max).
struct TxAnnounce {
  std::vector<crypto::Hash256> ids;
  bool operator==(const TxAnnounce&) const = default;
};

// "Send me these" (same layout as TxAnnounce).
struct TxRequest {
  std::vector<crypto::Hash256> ids;
  bool operator==(const TxRequest&) const = default;
};

// Transactions, each in its canonical encoding (1 to txs_per_delivery_max): the answer to a
// TxRequest.
struct TxDeliver {
  std::vector<ledger::Transaction> txs;
};

// Transactions pushed unasked by the node that admitted them from its own clients, with the
// partners whose nodes it pushed them to or knows to have them (strictly ascending, each a
// partner id >= 1, 1 to ledger::partners_max of them; the receiver is one): a receiver
// relays them only to peers not in that list (docs/p2p-protocol.md, "Transactions").
struct TxPush {
  std::vector<ledger::PartnerId> pushed_to;
  std::vector<ledger::Transaction> txs;
};

// "I am missing consensus messages at this height from this round on": the answer is the
// sender's own proposal and votes of those rounds, or the decided block if that height is
// committed.
struct ConsensusRequest {
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  bool operator==(const ConsensusRequest&) const = default;
};

// Committed blocks from_height .. from_height + count - 1 (count 1 to blocks_per_range_max).
struct BlocksRequest {
  std::uint64_t from_height = 0;
  std::uint32_t count = 0;
  bool operator==(const BlocksRequest&) const = default;
};

// Consecutive committed blocks with their certificates, the first at from_height (possibly
// fewer than asked, none if the sender has none of them).
struct BlocksResponse {
  std::uint64_t from_height = 0;
  std::vector<ledger::Block> blocks;
};

// In tag order: the variant's index + 1 is the wire tag.
using PeerMessage = std::variant<StatusMessage, TxAnnounce, TxRequest, TxDeliver, consensus::ProposalMessage,
                                 ledger::Vote, consensus::DecisionMessage, ConsensusRequest, BlocksRequest,
                                 BlocksResponse, TxPush>;
static_assert(std::variant_size_v<PeerMessage> == peer_message_type_count);

PeerMessageType peer_message_type(const PeerMessage& message);
std::string_view peer_message_type_name(PeerMessageType type);  // "status", "tx_announce", ...

// The canonical bytes. The caller keeps within the limits above (checked: PC_CHECK).
Bytes encode_peer_message(const PeerMessage& message);
Bytes encode_consensus_message(const consensus::Message& message);

// Canonical or rejected with a typed error (see the top of this file).
ledger::Result<PeerMessage> decode_peer_message(ByteSpan bytes);

}  // namespace pc::node
