// What a node's transport is configured with: node.json's "p2p" section (node/config.cpp,
// docs/node.md) fills it; node/p2p/tcp_transport.hpp runs it. Plain values, so node/ can
// carry it without depending on Asio.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "crypto/keys.hpp"
#include "ledger/transaction.hpp"

namespace pc::node::p2p {

// A peer this node dials: where it listens, and the partner whose validator key it must prove.
struct PeerAddress {
  std::string host;  // an IP address or a name (resolved at each dial)
  std::uint16_t port = 0;
  ledger::PartnerId partner = 0;

  bool operator==(const PeerAddress&) const = default;
};

// The limits node.json may change ("p2p" section, docs/node.md); docs/p2p.md ("Limits")
// says why each default is what it is.
struct TransportLimits {
  std::size_t peers_max = 64;                         // authenticated connections, both directions
  std::size_t inbound_peers_max = 32;                 // connections dialled by others, handshakes included
  std::uint64_t handshake_timeout_ms = 5'000;         // from TCP connect to the peer's Auth checked
  std::size_t send_queue_bytes_max = 64 * 1024 * 1024;  // frames queued to one peer; over it: disconnected
  std::uint32_t inbound_messages_per_second = 5'000;  // per peer; past the burst, reading waits
  std::uint32_t inbound_messages_burst = 20'000;
  std::uint64_t reconnect_delay_ms_min = 100;         // first redial; doubles per failure
  std::uint64_t reconnect_delay_ms_max = 30'000;      // cap of the redial delay
  // Nothing received for keepalive_idle_ms: a ping is sent (the peer answers with a pong);
  // nothing for keepalive_timeout_ms: the peer is gone (a host that vanished sends no FIN)
  // and the connection is closed. A node sends its peers a status every second, so a live
  // peer is never idle this long.
  std::uint64_t keepalive_idle_ms = 5'000;
  std::uint64_t keepalive_timeout_ms = 15'000;

  bool operator==(const TransportLimits&) const = default;
};

// Fixed limits (not in node.json).
inline constexpr std::uint32_t ban_seconds_max = 7 * 86'400;  // disconnect() bans no longer than this
// Bounds of the configurable limits, checked by validate() and by node.json's parser.
inline constexpr std::size_t peers_max_max = 1'024;
inline constexpr std::uint64_t handshake_timeout_ms_min = 100;
inline constexpr std::uint64_t handshake_timeout_ms_max = 60'000;
inline constexpr std::size_t send_queue_bytes_max_max = std::size_t{1} << 32;
inline constexpr std::uint64_t reconnect_delay_ms_min_min = 10;
inline constexpr std::uint64_t reconnect_delay_ms_max_max = 3'600'000;
inline constexpr std::uint64_t keepalive_idle_ms_min = 100;
inline constexpr std::uint64_t keepalive_timeout_ms_max = 3'600'000;

struct TransportConfig {
  std::string listen_address = "127.0.0.1";
  std::uint16_t listen_port = 0;  // 0: the system picks one (tests); see listen_port()
  std::vector<PeerAddress> peers;
  std::vector<crypto::PublicKey> observer_keys;  // non-validators allowed to connect
  TransportLimits limits;

  bool operator==(const TransportConfig&) const = default;
};

// Throws std::invalid_argument naming the first limit out of its bounds.
void validate(const TransportLimits& limits);

}  // namespace pc::node::p2p
