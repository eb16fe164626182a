// The TCP transport (Boost.Asio, one io thread "pc-p2p"): listens on one address, keeps a
// connection to every configured peer (redialling with capped exponential backoff and
// jitter), runs the handshake of node/p2p/wire.hpp on every connection, and only then
// reports it to the handler. docs/p2p.md has the handshake, the frames, the limits and every
// refusal reason.
//
// Who may connect: a partner of the genesis with its validator key (the key it signs blocks
// with is its node key), or an observer whose key this node lists (TransportConfig
// observer_keys). One connection per peer key: when two peers dial each other at once, both
// keep the connection dialled by the smaller node key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "crypto/keys.hpp"
#include "ledger/genesis.hpp"
#include "node/p2p/transport.hpp"
#include "node/p2p/transport_config.hpp"

namespace pc::node::p2p {

// What one connected peer's link has carried since it connected (net_info, /metrics).
// Bytes are the TCP bytes of its frames, the handshake's included; messages are whole
// decrypted messages. last_received_ms is the wall clock (ms since the epoch) at its latest
// frame, or at the handshake's end before any.
struct ConnectionStats {
  ConnectionId connection = 0;
  PeerIdentity peer;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t messages_in = 0;
  std::uint64_t messages_out = 0;
  std::uint64_t last_received_ms = 0;
};

// One line per refused handshake, closed connection or redial failure, without a newline.
using TransportLog = std::function<void(const std::string& line)>;

class TcpTransport final : public Transport {
 public:
  // `node_key` is this node's validator key (node/keystore.hpp): its partner is the one whose
  // validator_key it is in `genesis`; a key no partner has makes this node an observer.
  // Throws std::invalid_argument when the config cannot work: a peer's partner missing from
  // the genesis or this node's own, a limit out of its bounds, an observer key that is not a
  // valid ed25519 key. `log` defaults to standard error.
  TcpTransport(TransportConfig config, const ledger::Genesis& genesis, crypto::SecretKey node_key,
               TransportLog log = {});
  ~TcpTransport() override;  // stop()
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  // Binds the listener (std::runtime_error if it cannot), then starts the io thread, which
  // accepts and dials. The handler must outlive stop(). Call once.
  void start(TransportHandler& handler);
  // Closes every connection (on_disconnected for each connected one, reason "transport
  // stopped") and joins the io thread: no handler call happens after it returns. Idempotent.
  // Not from a handler callback (that runs on the io thread it joins).
  void stop();

  // The bound port, once started (the configured one, or the system's pick for 0).
  std::uint16_t listen_port() const;
  // This node's partner in the genesis, 0 for an observer.
  ledger::PartnerId own_partner() const;
  // Every connected peer's counters, by connection id. Any thread.
  std::vector<ConnectionStats> connection_stats() const;

  bool send(ConnectionId connection, std::vector<std::uint8_t> payload) override;
  void disconnect(ConnectionId connection, const std::string& reason, std::uint32_t ban_seconds) override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pc::node::p2p
