#include "node/network_info.hpp"

#include <algorithm>
#include <map>
#include <tuple>

namespace pc::node {

NetworkInfo network_info(std::uint16_t listen_port, const std::vector<p2p::ConnectionStats>& links,
                         const std::vector<PeerInfo>& peers, const PeerProtocolStats& stats) {
  NetworkInfo info;
  info.enabled = true;
  info.listen_port = listen_port;
  info.blocks_synced = stats.blocks_synced;
  info.sent_by_type = stats.sent_by_type;
  std::map<p2p::ConnectionId, const PeerInfo*> by_connection;
  for (const PeerInfo& peer : peers) by_connection.emplace(peer.connection, &peer);
  for (const p2p::ConnectionStats& link : links) {
    auto found = by_connection.find(link.connection);
    if (found == by_connection.end()) continue;
    const PeerInfo& peer = *found->second;
    PeerNetInfo entry;
    entry.partner = link.peer.partner;
    entry.address = link.peer.remote_address;
    entry.outbound = link.peer.outbound;
    entry.status_known = peer.status_known;
    entry.height = peer.status_known ? peer.status.tip_height : 0;
    entry.bytes_in = link.bytes_in;
    entry.bytes_out = link.bytes_out;
    entry.messages_in = link.messages_in;
    entry.messages_out = link.messages_out;
    entry.last_seen_ms = link.last_received_ms;
    info.sync_target_height = std::max(info.sync_target_height, entry.height);
    info.peers.push_back(std::move(entry));
  }
  std::sort(info.peers.begin(), info.peers.end(), [](const PeerNetInfo& a, const PeerNetInfo& b) {
    return std::tie(a.partner, a.address) < std::tie(b.partner, b.address);
  });
  return info;
}

}  // namespace pc::node
