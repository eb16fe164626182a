// What an operator sees of the network (the net_info RPC method and /metrics): each
// connected peer's link counters from the transport joined with what the peer protocol
// knows of it (its reported tip), and how far sync has to go. Plain values, read at one
// moment; the composition root (node/app/main.cpp) gathers them, so rpc/ needs neither the
// transport nor the peer protocol.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "node/p2p/tcp_transport.hpp"
#include "node/peer_protocol.hpp"

namespace pc::node {

struct PeerNetInfo {
  ledger::PartnerId partner = 0;  // 0: an observer
  std::string address;            // the remote end, "127.0.0.1:7702"
  bool outbound = false;          // this node dialled it
  bool status_known = false;      // it has told its tip (it does every status_interval_ms)
  std::uint64_t height = 0;       // its reported tip height, when status_known
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t messages_in = 0;
  std::uint64_t messages_out = 0;
  std::uint64_t last_seen_ms = 0;  // wall clock of its latest frame (ms since the epoch)
};

struct NetworkInfo {
  bool enabled = false;            // node.json has a p2p section
  std::uint16_t listen_port = 0;
  std::vector<PeerNetInfo> peers;  // by partner, then address
  // Sync: the highest tip a peer reports (0 with none), and the blocks fetched so far.
  std::uint64_t sync_target_height = 0;
  std::uint64_t blocks_synced = 0;
  // What this node sent since it started, by message type (tag - 1), all peers together.
  std::array<MessagesSent, peer_message_type_count> sent_by_type{};
};

// Joins the transport's counters and the protocol's peers by connection id. A connection
// only one of them knows yet (it is connecting or closing) is left out.
NetworkInfo network_info(std::uint16_t listen_port, const std::vector<p2p::ConnectionStats>& links,
                         const std::vector<PeerInfo>& peers, const PeerProtocolStats& stats);

}  // namespace pc::node
