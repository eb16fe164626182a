// The coalition's links between partners' nodes, as the rest of the node sees them: a
// connection is an authenticated peer (the handshake proved which partner's node key, or
// which listed observer key, is at the other end) over which whole messages travel,
// encrypted and in order. What the messages mean (gossip, consensus, sync) is not the
// transport's business: it moves opaque payloads of at most message_bytes_max.
//
// Two implementations: the TCP one (Boost.Asio, libsodium handshake and frames;
// docs/p2p.md) and an in-memory one for tests that connect several nodes in one process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ledger/transaction.hpp"

namespace pc::node::p2p {

// One decrypted message's payload. Larger payloads are refused by send() and, from a
// peer, close the connection.
inline constexpr std::size_t message_bytes_max = 16 * 1024 * 1024;

// A live, authenticated link. Ids are never reused within a process, so a late callback
// about a closed connection cannot be mistaken for a new one.
using ConnectionId = std::uint64_t;

struct PeerIdentity {
  // The partner whose node key signed the handshake; 0 for an observer (an auditor's node
  // listed by key in node.json, which syncs and never votes).
  ledger::PartnerId partner = 0;
  ledger::PublicKey node_key{};
  bool outbound = false;        // this node dialled it
  std::string remote_address;   // "127.0.0.1:7702", for logs and net_info
};

// What the transport calls. Calls come from the transport's own thread(s), one at a time per
// connection and in the order the peer sent; an implementation must not block (hand work
// to the node's writer instead).
class TransportHandler {
 public:
  virtual ~TransportHandler() = default;
  virtual void on_connected(ConnectionId connection, const PeerIdentity& peer) = 0;
  virtual void on_message(ConnectionId connection, std::span<const std::uint8_t> payload) = 0;
  virtual void on_disconnected(ConnectionId connection, const std::string& reason) = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Queues one message. false if the connection is gone or the payload is too large. A peer
  // whose send queue passes its bound is disconnected by the transport (a slow peer never
  // stalls the others), so a sender never waits. Callable from any thread.
  virtual bool send(ConnectionId connection, std::vector<std::uint8_t> payload) = 0;
  // Closes a connection for misbehaviour and refuses that key for ban_seconds (0: no ban).
  virtual void disconnect(ConnectionId connection, const std::string& reason,
                          std::uint32_t ban_seconds) = 0;
};

}  // namespace pc::node::p2p
