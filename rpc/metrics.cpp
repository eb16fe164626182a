#include "rpc/metrics.hpp"

#include <sstream>

namespace pc::rpc {
namespace {

class Exposition {
 public:
  // One metric family's header; its samples follow.
  void family(const std::string& name, const char* type, const char* help) {
    out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  }
  void sample(const std::string& name, std::uint64_t value, const std::string& labels = {}) {
    out_ << name;
    if (!labels.empty()) out_ << '{' << labels << '}';
    out_ << ' ' << value << '\n';
  }
  void single(const std::string& name, const char* type, const char* help, std::uint64_t value) {
    family(name, type, help);
    sample(name, value);
  }
  template <std::size_t Buckets>
  void histogram(const std::string& name, const char* help, const node::Histogram<Buckets>& histogram) {
    family(name, "histogram", help);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < Buckets; ++i) {
      cumulative += histogram.counts[i];
      sample(name + "_bucket", cumulative, "le=\"" + std::to_string(histogram.bounds[i]) + "\"");
    }
    sample(name + "_bucket", histogram.count, "le=\"+Inf\"");
    sample(name + "_sum", histogram.sum);
    sample(name + "_count", histogram.count);
  }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

// A peer's label: its partner id; an observer (no partner) by its address, since several may
// connect. Addresses are IP literals and ports, so nothing needs escaping.
std::string peer_label(const node::PeerNetInfo& peer) {
  return "partner=\"" + (peer.partner == 0 ? "observer " + peer.address : std::to_string(peer.partner)) + "\"";
}

}  // namespace

std::string metrics_text(const node::ChainInfo& chain, const node::MetricsSnapshot& metrics,
                         const node::NetworkInfo& network) {
  Exposition out;
  out.single("pointchain_height", "gauge", "Height of the committed tip.", chain.tip.height);
  out.single("pointchain_consensus_height", "gauge", "Height consensus is deciding.", chain.consensus.height);
  out.single("pointchain_consensus_round", "gauge", "Round of that height consensus is in.", chain.consensus.round);
  out.single("pointchain_mempool_transactions", "gauge", "Transactions admitted and not yet committed.",
             chain.pending_count);
  out.single("pointchain_blocks_decided_total", "counter", "Blocks this node's consensus decided since it started.",
             metrics.blocks_decided);
  out.single("pointchain_blocks_synced_total", "counter", "Blocks fetched from peers by sync since it started.",
             metrics.blocks_synced);
  out.histogram("pointchain_rounds_per_height", "Rounds a decided height took here (1: decided in round 0).",
                metrics.rounds_per_height);
  out.histogram("pointchain_commit_latency_ms",
                "Decided blocks: this node's clock at commit minus the block's time, in ms.",
                metrics.commit_latency_ms);
  out.histogram("pointchain_block_interval_ms", "Block time minus the previous block's time, in ms.",
                metrics.block_interval_ms);
  out.single("pointchain_peers", "gauge", "Peers connected (partners' nodes and observers).", network.peers.size());
  out.single("pointchain_sync_target_height", "gauge", "Highest tip a peer reports (0 without peers).",
             network.sync_target_height);
  out.single("pointchain_sync_behind_blocks", "gauge", "Blocks between this node's tip and the target.",
             network.sync_target_height > chain.tip.height ? network.sync_target_height - chain.tip.height : 0);
  const auto per_peer = [&](const std::string& name, const char* type, const char* help, auto value) {
    out.family(name, type, help);
    for (const node::PeerNetInfo& peer : network.peers) out.sample(name, value(peer), peer_label(peer));
  };
  per_peer("pointchain_peer_height", "gauge", "Tip height the peer last reported.",
           [](const node::PeerNetInfo& peer) { return peer.height; });
  per_peer("pointchain_peer_bytes_received_total", "counter", "Bytes received from the peer on this connection.",
           [](const node::PeerNetInfo& peer) { return peer.bytes_in; });
  per_peer("pointchain_peer_bytes_sent_total", "counter", "Bytes sent to the peer on this connection.",
           [](const node::PeerNetInfo& peer) { return peer.bytes_out; });
  per_peer("pointchain_peer_messages_received_total", "counter", "Messages received from the peer on this connection.",
           [](const node::PeerNetInfo& peer) { return peer.messages_in; });
  per_peer("pointchain_peer_messages_sent_total", "counter", "Messages sent to the peer on this connection.",
           [](const node::PeerNetInfo& peer) { return peer.messages_out; });
  return out.text();
}

}  // namespace pc::rpc
