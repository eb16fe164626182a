// The coalition's gossip and sync over a p2p::Transport (docs/p2p-protocol.md): what a node
// says to its peers and does with what they say. It is the node's ConsensusPeers when the
// network is on, and the transport's TransportHandler.
//
// - Consensus: this validator's proposals and votes go to every peer partner's node; a
//   Decision to the validator it names. Received proposals, votes and decisions go to the
//   node's writer (Node::receive_consensus_message), whose engine checks them. A node that
//   sees a peer further on at its own height asks it for its messages (ConsensusRequest);
//   it answers with its own proposal and votes from that round on, or the decided block.
// - Transactions: each transaction the mempool admits from this node's clients is pushed
//   whole (tx_push, naming the partners it goes to) to every peer partner's node not known to
//   have it (a bounded seen-cache per peer); each one admitted from a peer is announced by id
//   to the peers not known to have it, which fetch the ids they lack and announce what they
//   admit in turn, so a transaction submitted to any node reaches every validator. A pushed
//   transaction is not announced to the partners its push names (nor to its sender): they had
//   the same push, so in a full mesh nothing is relayed.
// - Sync: every status_interval_ms each node tells its peers its tip and consensus height.
//   A node behind asks for the next ranges of blocks_per_range_max blocks, up to
//   sync_ranges_in_flight_max ranges at once (sync_ranges_per_peer_max of one peer), each of
//   the peer ahead with the fewest of them in flight, so several peers serve at once. A response is checked on arrival
//   (Node::check_synced_blocks: Merkle roots, certificates, signatures across the worker
//   pool), kept until the ranges below it are committed, then handed to the writer in order
//   (Node::commit_checked_blocks: link, execution, state hash, the commit pipeline), which
//   executes one range while this thread checks the next response. A peer
//   that serves a block that fails a check is disconnected and banned, and the range is asked
//   of another.
// - Misbehaviour: a malformed message (any decode error), a transaction with a bad
//   signature or a bad block disconnects that peer with a ban of misbehaviour_ban_seconds;
//   lesser faults (a sync request left unanswered) add to the peer's score, and at
//   peer_score_max the peer is disconnected and banned. A message past a peer's inbound bound
//   is dropped without scoring: the transport holds each peer to its message rate, so a full
//   inbox says this node is behind, not that the peer misbehaves.
//
// Threads: the transport calls the TransportHandler methods, which only record and queue
// (never block); the messages are handled on the protocol's own thread ("pc-peers"), which
// may wait for the node's writer (admitting transactions, committing synced blocks). The
// writer calls the ConsensusPeers methods; they encode and queue sends and never wait for
// the peer thread. No lock is held while calling the transport or the node.
//
// Lifetime: construct it, pass it to the Node as its ConsensusPeers, then start(transport,
// node). Stop the transport's callbacks, then stop() this (it joins its thread), then destroy
// the node, then this.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "crypto/table_hash.hpp"
#include "node/clock.hpp"
#include "node/consensus_peers.hpp"
#include "node/event_loop.hpp"
#include "node/node.hpp"
#include "node/p2p/transport.hpp"
#include "node/peer_messages.hpp"

namespace pc::node {

// Every limit of the protocol, in one place (docs/p2p-protocol.md, "Limits").
// One peer's received messages waiting for the peer thread; past it they are dropped (a
// validator resends its consensus messages every second, and a dropped transaction reaches
// this node in the block that carries it). Not scored: the transport's inbound rate limit is
// the flood guard, and a full inbox is this node's own backlog.
inline constexpr std::size_t peer_inbound_messages_max = 1'024;
// Events waiting for the peer thread, all peers together.
inline constexpr std::size_t peer_work_events_max = 65'536;
// Transaction ids remembered per peer as known to it (it announced, delivered or was told of them).
inline constexpr std::size_t peer_seen_tx_ids_max = 16'384;
// Transaction ids asked for and not yet delivered, all peers together.
inline constexpr std::size_t tx_fetches_pending_max = 8'192;
// Admitted ids waiting to be announced; past it the oldest are not announced.
inline constexpr std::size_t announce_queue_ids_max = 65'536;
// Pending transaction ids announced to a peer when it connects (a validator that was away
// may propose next).
inline constexpr std::size_t connect_announce_ids_max = 4'096;
// This validator's latest proposals and votes, kept to answer ConsensusRequests.
inline constexpr std::size_t own_consensus_messages_max = 256;
// What one BlocksResponse carries (it always carries at least one block).
inline constexpr std::size_t blocks_response_bytes_max = 12 * 1024 * 1024;
inline constexpr std::uint64_t status_interval_ms = 1'000;
// The engine sends its proposal again every rebroadcast_interval_ms (1 s) for networks that
// lose messages; over one TCP connection the first copy arrives, and a proposal carries its
// whole block (megabytes under load, where rounds outlast the interval). So it goes again to
// a connection only this long after it last went: for a receiver that had to drop it (its
// inboxes full). Such a receiver also asks for it (consensus_request) when a peer's status
// shows a later round, and a new connection gets it at the next rebroadcast.
inline constexpr std::uint64_t proposal_resend_ms = 5'000;
inline constexpr std::uint64_t tx_fetch_timeout_ms = 5'000;
inline constexpr std::uint64_t sync_request_timeout_ms = 10'000;
// Block ranges asked for and not yet committed, all peers together: the pending-fetch limit
// of sync. Each holds at most blocks_response_bytes_max once answered, so this bounds what
// sync keeps in memory (4 x 12 MiB).
inline constexpr std::size_t sync_ranges_in_flight_max = 4;
// Of them asked of one peer: the first peer to report its tip does not get them all.
inline constexpr std::size_t sync_ranges_per_peer_max = 2;
inline constexpr std::uint32_t misbehaviour_ban_seconds = 600;
inline constexpr std::uint32_t peer_score_max = 100;
inline constexpr std::uint32_t minor_fault_score = 10;

struct PeerInfo {
  p2p::ConnectionId connection = 0;
  p2p::PeerIdentity identity;
  bool status_known = false;
  StatusMessage status;     // its latest
  std::uint32_t score = 0;  // minor faults so far
};

// Messages this node sent of one type, and their bytes (the message's encoding, without the
// transport's framing).
struct MessagesSent {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
};

struct PeerProtocolStats {
  std::uint64_t messages_received = 0;
  std::uint64_t messages_dropped = 0;   // past an inbound bound
  std::uint64_t peers_banned = 0;       // disconnected for misbehaviour
  std::uint64_t txs_fetched = 0;        // delivered by peers and admitted
  std::uint64_t blocks_synced = 0;      // committed through sync
  std::uint64_t bad_blocks = 0;         // served by a peer and failing a check
  // By type: sent_by_type[tag - 1] (peer_messages.hpp's PeerMessageType).
  std::array<MessagesSent, peer_message_type_count> sent_by_type{};
};

class PeerProtocol final : public p2p::TransportHandler, public ConsensusPeers {
 public:
  // `self`: this node's partner (its own proposals and votes are the ones it keeps).
  PeerProtocol(const ledger::Genesis& genesis, ledger::PartnerId self, const Clock& clock);
  ~PeerProtocol() override;
  PeerProtocol(const PeerProtocol&) = delete;
  PeerProtocol& operator=(const PeerProtocol&) = delete;

  // Before the transport connects anything: messages that arrive before are dropped. Both
  // must outlive stop().
  void start(p2p::Transport& transport, Node& node);
  // Joins the peer thread; later callbacks are ignored. Idempotent.
  void stop();

  // p2p::TransportHandler (transport threads; never block).
  void on_connected(p2p::ConnectionId connection, const p2p::PeerIdentity& peer) override;
  void on_message(p2p::ConnectionId connection, std::span<const std::uint8_t> payload) override;
  void on_disconnected(p2p::ConnectionId connection, const std::string& reason) override;

  // ConsensusPeers (the node's writer; never block).
  void send_to_all(const consensus::Message& message) override;
  void send_to(ledger::PartnerId validator, const consensus::Message& message) override;
  std::size_t connected_count() const override;
  void transactions_admitted(const std::vector<crypto::Hash256>& ids) override;

  std::vector<PeerInfo> peers() const;
  PeerProtocolStats stats() const;

 private:
  struct Peer {
    p2p::PeerIdentity identity;
    std::size_t inbound = 0;  // messages queued for the peer thread
    std::uint32_t score = 0;
    bool status_known = false;
    StatusMessage status;
    // Transaction ids it knows of, oldest first in seen_order (at most peer_seen_tx_ids_max).
    // Hashed, not ordered: a tree of 16384 ids cost a cache miss per level on every lookup,
    // several per transaction and peer.
    std::unordered_set<crypto::Hash256, crypto::TableHash> seen;
    std::deque<crypto::Hash256> seen_order;
    // The (height, round) last asked of it in a ConsensusRequest.
    std::optional<std::pair<std::uint64_t, std::uint32_t>> consensus_asked;
    // This validator's proposal last sent to it (height, round, block id) and when
    // (proposal_resend_ms).
    std::optional<std::tuple<std::uint64_t, std::uint32_t, crypto::Hash256>> proposal_sent;
    std::uint64_t proposal_sent_ms = 0;

    Peer() { seen.reserve(peer_seen_tx_ids_max + 1); }

    // true if it was new to the peer.
    bool mark_seen(const crypto::Hash256& id);
  };
  // A range of blocks asked of one peer, by its first height in sync_ranges_.
  struct SyncRange {
    p2p::ConnectionId connection = 0;
    std::uint32_t count = 0;
    std::uint64_t deadline_ms = 0;
    std::optional<CheckedBlocks> blocks;  // answered and checked, waiting for the ranges below
    bool committing = false;              // handed to the writer (blocks moved out); deadline_ms renewed
  };

  // Peer thread.
  void handle(p2p::ConnectionId connection, const Bytes& payload);
  void handle_status(p2p::ConnectionId connection, const StatusMessage& status);
  void handle_announce(p2p::ConnectionId connection, const TxAnnounce& announce);
  void handle_tx_request(p2p::ConnectionId connection, const TxRequest& request);
  void handle_deliver(p2p::ConnectionId connection, const TxDeliver& deliver);
  void handle_push(p2p::ConnectionId connection, const TxPush& push);
  // Admits transactions a peer sent; `skip`: the partners not to relay them to (a push's).
  void admit_from_peer(p2p::ConnectionId connection, const std::vector<ledger::Transaction>& txs,
                       const std::shared_ptr<const std::vector<ledger::PartnerId>>& skip);
  void handle_consensus_request(p2p::ConnectionId connection, const ConsensusRequest& request);
  void handle_blocks_request(p2p::ConnectionId connection, const BlocksRequest& request);
  void handle_blocks_response(p2p::ConnectionId connection, BlocksResponse& response);
  void maybe_sync();
  // Hands the answered range that continues the tip to the writer, one range at a time.
  void commit_ready_ranges();
  // The writer has committed (part of) the range from `from_height`.
  void range_committed(std::uint64_t from_height, const SyncCommit& commit);
  std::uint64_t tick();
  void send_status(std::optional<p2p::ConnectionId> only);
  void greet(p2p::ConnectionId connection);
  void flush_announcements();
  bool started() const;
  Node* node() const { return node_.load(); }
  p2p::Transport* transport() const { return transport_.load(); }
  // Any thread, no lock held. Every message leaves through transmit, which counts it.
  void send(p2p::ConnectionId connection, const PeerMessage& message);
  bool transmit(p2p::ConnectionId connection, const Bytes& bytes);
  void ban(p2p::ConnectionId connection, const std::string& reason);
  void add_score(p2p::ConnectionId connection, const std::string& reason);

  const ledger::Genesis& genesis_;
  const ledger::PartnerId self_;
  const Clock& clock_;
  // Set by start(); the writer may already be sending (to no one) before.
  std::atomic<p2p::Transport*> transport_{nullptr};
  std::atomic<Node*> node_{nullptr};

  mutable std::mutex mutex_;
  std::map<p2p::ConnectionId, Peer> peers_;                // guarded by mutex_
  std::deque<crypto::Hash256> announce_queue_;             // guarded by mutex_
  // (height, round, encoded message) of this validator's latest; guarded by mutex_.
  std::deque<std::tuple<std::uint64_t, std::uint32_t, Bytes>> own_messages_;
  PeerProtocolStats stats_;                                // guarded by mutex_ (but sent_by_type)
  // Counted without the lock: the writer and the peer thread both send.
  std::array<std::atomic<std::uint64_t>, peer_message_type_count> sent_messages_{};
  std::array<std::atomic<std::uint64_t>, peer_message_type_count> sent_bytes_{};

  // The peer thread's alone.
  std::map<crypto::Hash256, std::uint64_t> fetches_;       // id -> when asked (ms)
  // Delivered or pushed by a peer since the last flush_announcements (at most
  // announce_queue_ids_max): announced onward, where what this node's clients sent is pushed.
  // For a push, the partners (ascending) that had the same push or sent it, which are not
  // told; null for a delivery this node asked for.
  std::unordered_map<crypto::Hash256, std::shared_ptr<const std::vector<ledger::PartnerId>>, crypto::TableHash>
      from_peers_;
  std::map<std::uint64_t, SyncRange> sync_ranges_;  // at most sync_ranges_in_flight_max
  std::uint64_t next_status_ms_ = 0;

  std::unique_ptr<EventLoop> loop_;  // the peer thread; stopped first
};

}  // namespace pc::node
