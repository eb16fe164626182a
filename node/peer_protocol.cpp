#include "node/peer_protocol.hpp"

#include <algorithm>
#include <iostream>

#include "crypto/check.hpp"
#include "node/node.hpp"

namespace pc::node {
namespace {

// How often the peer thread looks at its timers (announcements go out after every batch of
// events as well).
constexpr std::uint64_t peer_tick_ms = 100;

// A transaction error that the sender could not have avoided sending honestly: the bytes or
// the signature are wrong whatever the chain's state. too_large is the node's "busy" or
// "mempool full", not the sender's fault.
bool sender_at_fault(const ledger::Error& error) {
  const auto code = static_cast<unsigned>(error.code);
  return code >= 100 && code < 300 && error.code != ledger::Code::too_large;
}

// Sorted ids in messages of at most tx_ids_per_message_max.
template <class Message>
std::vector<Message> chunk_ids(std::vector<crypto::Hash256> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<Message> messages;
  for (std::size_t start = 0; start < ids.size(); start += tx_ids_per_message_max) {
    const std::size_t end = std::min(ids.size(), start + tx_ids_per_message_max);
    messages.push_back(Message{{ids.begin() + static_cast<std::ptrdiff_t>(start),
                                ids.begin() + static_cast<std::ptrdiff_t>(end)}});
  }
  return messages;
}

}  // namespace

bool PeerProtocol::Peer::mark_seen(const crypto::Hash256& id) {
  if (!seen.insert(id).second) return false;
  seen_order.push_back(id);
  if (seen_order.size() > peer_seen_tx_ids_max) {
    seen.erase(seen_order.front());
    seen_order.pop_front();
  }
  return true;
}

PeerProtocol::PeerProtocol(const ledger::Genesis& genesis, ledger::PartnerId self, const Clock& clock)
    : genesis_(genesis),
      self_(self),
      clock_(clock),
      loop_(std::make_unique<EventLoop>("pc-peers", peer_work_events_max, clock)) {}

PeerProtocol::~PeerProtocol() { stop(); }

void PeerProtocol::start(p2p::Transport& transport, Node& node) {
  PC_CHECK(node_.load() == nullptr);
  transport_.store(&transport);
  node_.store(&node);
  loop_->set_ticker([this] { return tick(); });
}

void PeerProtocol::stop() { loop_->stop(); }

bool PeerProtocol::started() const { return node_.load() != nullptr; }

// --- Transport callbacks --------------------------------------------------------------

void PeerProtocol::on_connected(p2p::ConnectionId connection, const p2p::PeerIdentity& peer) {
  {
    std::lock_guard lock(mutex_);
    peers_[connection].identity = peer;
  }
  if (started()) (void)loop_->post([this, connection] { greet(connection); });
}

void PeerProtocol::on_message(p2p::ConnectionId connection, std::span<const std::uint8_t> payload) {
  {
    std::lock_guard lock(mutex_);
    ++stats_.messages_received;
    auto found = peers_.find(connection);
    if (found == peers_.end() || !started()) return;
    if (found->second.inbound >= peer_inbound_messages_max) {
      // Dropped, not scored: the transport already holds each peer to its inbound message
      // rate, so a full inbox means this node's peer thread is behind, which is no fault of the
      // peer. Scoring it banned honest validators of a busy coalition (bench/README.md).
      ++stats_.messages_dropped;
      return;
    }
    ++found->second.inbound;
  }
  Bytes bytes(payload.begin(), payload.end());
  const bool queued = loop_->post([this, connection, bytes = std::move(bytes)] { handle(connection, bytes); });
  if (!queued) {
    std::lock_guard lock(mutex_);
    ++stats_.messages_dropped;
    if (auto found = peers_.find(connection); found != peers_.end()) --found->second.inbound;
  }
}

void PeerProtocol::on_disconnected(p2p::ConnectionId connection, const std::string&) {
  std::lock_guard lock(mutex_);
  peers_.erase(connection);
}

// --- The writer's calls ---------------------------------------------------------------

void PeerProtocol::send_to_all(const consensus::Message& message) {
  const Bytes bytes = encode_consensus_message(message);
  std::vector<p2p::ConnectionId> targets;
  {
    std::lock_guard lock(mutex_);
    // This validator's own messages are kept to answer ConsensusRequests.
    std::optional<std::pair<std::uint64_t, std::uint32_t>> own;
    if (const auto* vote = std::get_if<ledger::Vote>(&message); vote && vote->validator == self_) {
      own = {vote->height, vote->round};
    } else if (const auto* proposal = std::get_if<consensus::ProposalMessage>(&message);
               proposal && proposal->proposal.proposer == self_) {
      own = {proposal->proposal.height, proposal->proposal.round};
    }
    if (own) {
      own_messages_.emplace_back(own->first, own->second, bytes);
      if (own_messages_.size() > own_consensus_messages_max) own_messages_.pop_front();
    }
    const auto* proposal = std::get_if<consensus::ProposalMessage>(&message);
    const std::uint64_t now_ms = clock_.now_ms();
    for (auto& [connection, peer] : peers_) {
      if (peer.identity.partner == 0) continue;
      if (proposal != nullptr) {
        const auto sent = std::tuple(proposal->proposal.height, proposal->proposal.round, proposal->proposal.block_id);
        if (peer.proposal_sent == sent && now_ms < peer.proposal_sent_ms + proposal_resend_ms) continue;
        peer.proposal_sent = sent;
        peer.proposal_sent_ms = now_ms;
      }
      targets.push_back(connection);
    }
  }
  for (p2p::ConnectionId connection : targets) (void)transmit(connection, bytes);
}

void PeerProtocol::send_to(ledger::PartnerId validator, const consensus::Message& message) {
  std::vector<p2p::ConnectionId> targets;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [connection, peer] : peers_) {
      if (peer.identity.partner == validator) targets.push_back(connection);
    }
  }
  if (targets.empty()) return;
  const Bytes bytes = encode_consensus_message(message);
  for (p2p::ConnectionId connection : targets) (void)transmit(connection, bytes);
}

std::size_t PeerProtocol::connected_count() const {
  std::lock_guard lock(mutex_);
  std::set<ledger::PartnerId> partners;
  for (const auto& [connection, peer] : peers_) {
    if (peer.identity.partner != 0) partners.insert(peer.identity.partner);
  }
  return partners.size();
}

void PeerProtocol::transactions_admitted(const std::vector<crypto::Hash256>& ids) {
  {
    std::lock_guard lock(mutex_);
    for (const crypto::Hash256& id : ids) announce_queue_.push_back(id);
    while (announce_queue_.size() > announce_queue_ids_max) announce_queue_.pop_front();
  }
  // Wakes the peer thread, whose ticker announces them after the event.
  (void)loop_->post([] {});
}

std::vector<PeerInfo> PeerProtocol::peers() const {
  std::lock_guard lock(mutex_);
  std::vector<PeerInfo> infos;
  for (const auto& [connection, peer] : peers_) {
    infos.push_back(PeerInfo{connection, peer.identity, peer.status_known, peer.status, peer.score});
  }
  return infos;
}

PeerProtocolStats PeerProtocol::stats() const {
  PeerProtocolStats stats;
  {
    std::lock_guard lock(mutex_);
    stats = stats_;
  }
  for (std::size_t i = 0; i < peer_message_type_count; ++i) {
    stats.sent_by_type[i] = MessagesSent{sent_messages_[i].load(), sent_bytes_[i].load()};
  }
  return stats;
}

// --- Sending and misbehaviour ------------------------------------------------------------

void PeerProtocol::send(p2p::ConnectionId connection, const PeerMessage& message) {
  (void)transmit(connection, encode_peer_message(message));
}

bool PeerProtocol::transmit(p2p::ConnectionId connection, const Bytes& bytes) {
  // Every encoded message begins version || type, the type 1 to peer_message_type_count.
  PC_CHECK(bytes.size() >= 2 && bytes[1] >= 1 && bytes[1] <= peer_message_type_count);
  p2p::Transport* transport = transport_.load();
  if (transport == nullptr || !transport->send(connection, bytes)) return false;
  sent_messages_[bytes[1] - 1].fetch_add(1, std::memory_order_relaxed);
  sent_bytes_[bytes[1] - 1].fetch_add(bytes.size(), std::memory_order_relaxed);
  return true;
}

void PeerProtocol::ban(p2p::ConnectionId connection, const std::string& reason) {
  p2p::PeerIdentity identity;
  {
    std::lock_guard lock(mutex_);
    auto found = peers_.find(connection);
    if (found == peers_.end()) return;  // gone already
    identity = found->second.identity;
    // Forgotten now, not when the transport reports the close: nothing more is sent to it or
    // asked of it (sync would otherwise pick it again).
    peers_.erase(found);
    ++stats_.peers_banned;
  }
  std::cerr << "pointchain-node: peer " << identity.remote_address << " (partner " << identity.partner
            << ") disconnected and banned for " << misbehaviour_ban_seconds << " s: " << reason << "\n";
  transport()->disconnect(connection, reason, misbehaviour_ban_seconds);
}

void PeerProtocol::add_score(p2p::ConnectionId connection, const std::string& reason) {
  bool over = false;
  {
    std::lock_guard lock(mutex_);
    auto found = peers_.find(connection);
    if (found == peers_.end()) return;
    found->second.score = std::min(peer_score_max, found->second.score + minor_fault_score);
    over = found->second.score >= peer_score_max;
  }
  if (over) ban(connection, "too many faults, the last: " + reason);
}

// --- The peer thread ---------------------------------------------------------------------

void PeerProtocol::handle(p2p::ConnectionId connection, const Bytes& payload) {
  {
    std::lock_guard lock(mutex_);
    auto found = peers_.find(connection);
    if (found == peers_.end()) return;  // disconnected meanwhile
    --found->second.inbound;
  }
  auto decoded = decode_peer_message(payload);
  if (!decoded) {
    ban(connection, "malformed message: " + decoded.error().message());
    return;
  }
  std::visit(
      [&](auto& message) {
        using Type = std::decay_t<decltype(message)>;
        if constexpr (std::is_same_v<Type, StatusMessage>) {
          handle_status(connection, message);
        } else if constexpr (std::is_same_v<Type, TxAnnounce>) {
          handle_announce(connection, message);
        } else if constexpr (std::is_same_v<Type, TxRequest>) {
          handle_tx_request(connection, message);
        } else if constexpr (std::is_same_v<Type, TxDeliver>) {
          handle_deliver(connection, message);
        } else if constexpr (std::is_same_v<Type, TxPush>) {
          handle_push(connection, message);
        } else if constexpr (std::is_same_v<Type, ConsensusRequest>) {
          handle_consensus_request(connection, message);
        } else if constexpr (std::is_same_v<Type, BlocksRequest>) {
          handle_blocks_request(connection, message);
        } else if constexpr (std::is_same_v<Type, BlocksResponse>) {
          handle_blocks_response(connection, message);
        } else {
          // A proposal, vote or decision: the engine verifies it on the writer. A peer on
          // this genesis never sends another chain's message.
          if constexpr (std::is_same_v<Type, ledger::Vote>) {
            if (message.chain_id != genesis_.chain_id) return ban(connection, "a vote of chain " + message.chain_id);
          } else if constexpr (std::is_same_v<Type, consensus::ProposalMessage>) {
            if (message.proposal.chain_id != genesis_.chain_id) {
              return ban(connection, "a proposal of chain " + message.proposal.chain_id);
            }
          }
          (void)node()->receive_consensus_message(consensus::Message{std::move(message)});
        }
      },
      *decoded);
}

void PeerProtocol::handle_status(p2p::ConnectionId connection, const StatusMessage& status) {
  const ConsensusInfo ours = node()->consensus_info();
  bool ask = false;
  {
    std::lock_guard lock(mutex_);
    auto found = peers_.find(connection);
    if (found == peers_.end()) return;
    Peer& peer = found->second;
    peer.status_known = true;
    peer.status = status;
    // At the same height and further on in rounds, or met for the first time: this node may
    // have missed its messages. Asked once per (height, round).
    const std::pair<std::uint64_t, std::uint32_t> position{ours.height, ours.round};
    // An observer commits by sync alone, block by block as the audit checks them.
    if (self_ != observer_partner && peer.identity.partner != 0 && status.consensus_height == ours.height &&
        (status.consensus_round > ours.round || !peer.consensus_asked) && peer.consensus_asked != position) {
      ask = true;
      peer.consensus_asked = position;
    }
  }
  if (ask) send(connection, ConsensusRequest{ours.height, ours.round});
  maybe_sync();
}

void PeerProtocol::handle_announce(p2p::ConnectionId connection, const TxAnnounce& announce) {
  {
    std::lock_guard lock(mutex_);
    auto found = peers_.find(connection);
    if (found == peers_.end()) return;
    for (const crypto::Hash256& id : announce.ids) found->second.mark_seen(id);
  }
  std::vector<crypto::Hash256> wanted;
  const std::uint64_t now_ms = clock_.now_ms();
  for (const crypto::Hash256& id : announce.ids) {
    if (fetches_.size() >= tx_fetches_pending_max) break;
    if (fetches_.contains(id) || node()->knows_transaction(id)) continue;
    fetches_.emplace(id, now_ms);
    wanted.push_back(id);
  }
  for (TxRequest& request : chunk_ids<TxRequest>(std::move(wanted))) send(connection, request);
}

void PeerProtocol::handle_tx_request(p2p::ConnectionId connection, const TxRequest& request) {
  TxDeliver deliver{node()->pending_transactions(request.ids)};
  {
    std::lock_guard lock(mutex_);
    auto found = peers_.find(connection);
    if (found == peers_.end()) return;
    for (const crypto::Hash256& id : request.ids) found->second.mark_seen(id);
  }
  // Ids and deliveries share their bound, so one request fits one delivery.
  static_assert(tx_ids_per_message_max <= txs_per_delivery_max);
  if (!deliver.txs.empty()) send(connection, deliver);
}

void PeerProtocol::handle_deliver(p2p::ConnectionId connection, const TxDeliver& deliver) {
  {
    std::lock_guard lock(mutex_);
    auto found = peers_.find(connection);
    if (found == peers_.end()) return;
    // Marked before admission, so the announcement that admission triggers skips it.
    for (const ledger::Transaction& tx : deliver.txs) found->second.mark_seen(tx.id());
  }
  admit_from_peer(connection, deliver.txs, nullptr);
}

// Its sender's seen-cache is left alone: the sender is among the partners skipped, and it
// never asks for what it pushed.
void PeerProtocol::handle_push(p2p::ConnectionId connection, const TxPush& push) {
  auto skip = std::make_shared<std::vector<ledger::PartnerId>>(push.pushed_to);
  {
    std::lock_guard lock(mutex_);
    auto found = peers_.find(connection);
    if (found == peers_.end()) return;
    skip->push_back(found->second.identity.partner);
  }
  std::sort(skip->begin(), skip->end());
  admit_from_peer(connection, push.txs, std::move(skip));
}

void PeerProtocol::admit_from_peer(p2p::ConnectionId connection, const std::vector<ledger::Transaction>& txs,
                                   const std::shared_ptr<const std::vector<ledger::PartnerId>>& skip) {
  for (const ledger::Transaction& tx : txs) {
    fetches_.erase(tx.id());
    // Admitted from a peer: announced onward, not pushed (flush_announcements).
    if (from_peers_.size() < announce_queue_ids_max) from_peers_.insert_or_assign(tx.id(), skip);
  }
  const auto results = node()->submit_decoded(txs);
  std::uint64_t admitted = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i]) {
      ++admitted;
    } else if (sender_at_fault(results[i].error())) {
      return ban(connection, "transaction " + to_hex(txs[i].id()) + ": " + results[i].error().message());
    }
  }
  std::lock_guard lock(mutex_);
  stats_.txs_fetched += admitted;
}

void PeerProtocol::handle_consensus_request(p2p::ConnectionId connection, const ConsensusRequest& request) {
  if (request.height <= node()->chain_info().tip.height) {
    if (auto block = node()->block_at(request.height)) send(connection, consensus::DecisionMessage{std::move(*block)});
    return;
  }
  std::vector<Bytes> answers;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [height, round, bytes] : own_messages_) {
      if (height == request.height && round >= request.round) answers.push_back(bytes);
    }
  }
  for (const Bytes& bytes : answers) (void)transmit(connection, bytes);
}

void PeerProtocol::handle_blocks_request(p2p::ConnectionId connection, const BlocksRequest& request) {
  const std::uint64_t tip_height = node()->chain_info().tip.height;
  BlocksResponse response{request.from_height, {}};
  std::size_t bytes = 0;
  for (std::uint64_t height = request.from_height;
       height <= tip_height && height < request.from_height + request.count; ++height) {
    auto block = node()->block_at(height);
    if (!block) break;
    const std::size_t size = block->encode().size();
    if (!response.blocks.empty() && bytes + size > blocks_response_bytes_max) break;
    bytes += size;
    response.blocks.push_back(std::move(block).value());
  }
  send(connection, response);
}

void PeerProtocol::handle_blocks_response(p2p::ConnectionId connection, BlocksResponse& response) {
  auto range = sync_ranges_.find(response.from_height);
  if (range == sync_ranges_.end() || range->second.connection != connection || range->second.blocks ||
      range->second.committing) {
    return;  // late (after its timeout), answered already, or not asked for: ignored
  }
  if (response.blocks.size() > range->second.count) {
    sync_ranges_.erase(range);
    ban(connection, "more blocks than asked for");
    return maybe_sync();
  }
  if (response.blocks.empty()) {
    sync_ranges_.erase(range);
    add_score(connection, "an empty block range it said it had");
    return maybe_sync();
  }
  const std::uint64_t first_height = response.blocks.front().header.height;
  auto checked = node()->check_synced_blocks(std::move(response.blocks));
  if (!checked) {
    sync_ranges_.erase(range);
    {
      std::lock_guard lock(mutex_);
      ++stats_.bad_blocks;
    }
    ban(connection, "a block from height " + std::to_string(first_height) + " failed sync's checks: " +
                        checked.error().message());
    return maybe_sync();
  }
  // Fewer than asked: the rest of the range is asked again, of any peer.
  range->second.count = static_cast<std::uint32_t>(checked->blocks().size());
  range->second.blocks = std::move(checked).value();
  maybe_sync();
}

void PeerProtocol::commit_ready_ranges() {
  for (const auto& [first, range] : sync_ranges_) {
    if (range.committing) return;  // in order: the next waits for this one
  }
  const std::uint64_t tip_height = node()->chain_info().tip.height;
  // Ranges that consensus committed meanwhile are done with.
  std::erase_if(sync_ranges_, [&](const auto& entry) { return entry.first + entry.second.count <= tip_height + 1; });
  auto first = sync_ranges_.begin();
  if (first == sync_ranges_.end() || first->first > tip_height + 1 || !first->second.blocks) return;
  const std::uint64_t from_height = first->first;
  SyncRange& range = first->second;
  CheckedBlocks blocks = std::move(*range.blocks);
  range.blocks.reset();
  range.committing = true;
  // A range whose answer from the writer never arrives (this thread's inbox was full) is
  // asked again after the timeout, like an unanswered one.
  range.deadline_ms = clock_.now_ms() + sync_request_timeout_ms;
  const bool queued = node()->commit_checked_blocks(std::move(blocks), [this, from_height](const SyncCommit& commit) {
    (void)loop_->post([this, from_height, commit] { range_committed(from_height, commit); });
  });
  if (!queued) sync_ranges_.erase(first);  // the writer is busy: asked again later
}

void PeerProtocol::range_committed(std::uint64_t from_height, const SyncCommit& commit) {
  auto range = sync_ranges_.find(from_height);
  if (range == sync_ranges_.end() || !range->second.committing) return;  // timed out meanwhile
  const p2p::ConnectionId connection = range->second.connection;
  sync_ranges_.erase(range);
  {
    std::lock_guard lock(mutex_);
    stats_.blocks_synced += commit.committed;
  }
  if (!commit.status) {
    const ledger::Code code = commit.status.error().code;
    // io_error and too_large are this node's trouble; anything else, the sender's.
    if (code != ledger::Code::io_error && code != ledger::Code::too_large) {
      {
        std::lock_guard lock(mutex_);
        ++stats_.bad_blocks;
      }
      ban(connection, "failed sync's checks: " + commit.status.error().message());
    }
  }
  maybe_sync();
}

void PeerProtocol::maybe_sync() {
  const std::uint64_t now_ms = clock_.now_ms();
  // Ranges unanswered past their deadline, or asked of a peer that is gone, are asked again.
  std::vector<p2p::ConnectionId> late;
  {
    std::lock_guard lock(mutex_);
    std::erase_if(sync_ranges_, [&](const auto& entry) {
      const SyncRange& range = entry.second;
      if (range.blocks) return false;
      if (range.committing) return now_ms >= range.deadline_ms;
      if (!peers_.contains(range.connection)) return true;
      if (now_ms < range.deadline_ms) return false;
      late.push_back(range.connection);
      return true;
    });
  }
  for (p2p::ConnectionId connection : late) add_score(connection, "no answer to a block range request");
  commit_ready_ranges();

  const std::uint64_t tip_height = node()->chain_info().tip.height;
  while (sync_ranges_.size() < sync_ranges_in_flight_max) {
    // The lowest height neither committed nor asked for, and where the next range asked begins.
    std::uint64_t from_height = tip_height + 1;
    std::uint64_t gap_end = UINT64_MAX;  // exclusive
    for (const auto& [first, range] : sync_ranges_) {
      if (first + range.count <= from_height) continue;
      if (first > from_height) {
        gap_end = first;
        break;
      }
      from_height = first + range.count;
    }
    std::optional<std::pair<p2p::ConnectionId, std::uint64_t>> chosen;
    {
      std::lock_guard lock(mutex_);
      std::map<p2p::ConnectionId, std::size_t> in_flight;
      for (const auto& [first, range] : sync_ranges_) ++in_flight[range.connection];
      // A peer that has the height: the fewest ranges in flight, then the least faulty, then
      // the furthest ahead, then the oldest connection.
      const Peer* chosen_peer = nullptr;
      std::size_t chosen_in_flight = 0;
      for (const auto& [connection, peer] : peers_) {
        if (!peer.status_known || peer.status.tip_height < from_height) continue;
        const std::size_t busy = in_flight[connection];
        if (busy >= sync_ranges_per_peer_max) continue;
        const bool better = chosen_peer == nullptr ||
                            std::tuple(busy, peer.score, UINT64_MAX - peer.status.tip_height) <
                                std::tuple(chosen_in_flight, chosen_peer->score, UINT64_MAX - chosen_peer->status.tip_height);
        if (better) {
          chosen_peer = &peer;
          chosen_in_flight = busy;
          chosen = {connection, peer.status.tip_height};
        }
      }
    }
    if (!chosen) return;
    const auto count = static_cast<std::uint32_t>(
        std::min({std::uint64_t{blocks_per_range_max}, gap_end - from_height, chosen->second - from_height + 1}));
    if (!transmit(chosen->first, encode_peer_message(BlocksRequest{from_height, count}))) return;
    sync_ranges_.emplace(from_height, SyncRange{chosen->first, count, now_ms + sync_request_timeout_ms, std::nullopt});
  }
}

void PeerProtocol::send_status(std::optional<p2p::ConnectionId> only) {
  const ChainInfo info = node()->chain_info();
  const StatusMessage status{info.tip.height, info.tip.block_hash, info.consensus.height, info.consensus.round};
  std::vector<p2p::ConnectionId> targets;
  if (only) {
    targets.push_back(*only);
  } else {
    std::lock_guard lock(mutex_);
    for (const auto& entry : peers_) targets.push_back(entry.first);
  }
  const Bytes bytes = encode_peer_message(status);
  for (p2p::ConnectionId connection : targets) (void)transmit(connection, bytes);
}

// A new peer hears where this node is and what it holds pending.
void PeerProtocol::greet(p2p::ConnectionId connection) {
  send_status(connection);
  std::vector<crypto::Hash256> ids = node()->pending_transaction_ids(connect_announce_ids_max);
  {
    std::lock_guard lock(mutex_);
    auto found = peers_.find(connection);
    if (found == peers_.end() || found->second.identity.partner == 0) return;
    std::erase_if(ids, [&](const crypto::Hash256& id) { return !found->second.mark_seen(id); });
  }
  for (TxAnnounce& announce : chunk_ids<TxAnnounce>(std::move(ids))) send(connection, announce);
}

// What this node admitted from its own clients goes whole to every partner's node not known to
// have it: none of them has it yet, and a push costs one message where an announcement costs
// three (announce, request, deliver) and a round trip. The push names every partner it goes
// to (or that is known to have it), and a receiver announces it only to peers not named: in a
// full mesh nobody relays, in a partial one the nodes the origin cannot reach hear of it from
// those it can. What this node admitted from a peer is only announced: an id costs 32 bytes
// where the transaction costs 100 to 500.
void PeerProtocol::flush_announcements() {
  std::vector<crypto::Hash256> queued;
  {
    std::lock_guard lock(mutex_);
    if (announce_queue_.empty()) return;
    queued.assign(announce_queue_.begin(), announce_queue_.end());
    announce_queue_.clear();
  }
  std::vector<crypto::Hash256> own_ids;
  std::vector<std::pair<crypto::Hash256, const std::vector<ledger::PartnerId>*>> relayed;
  for (const crypto::Hash256& id : queued) {
    auto found = from_peers_.find(id);
    if (found == from_peers_.end()) {
      own_ids.push_back(id);
    } else {
      relayed.emplace_back(id, found->second.get());
    }
  }
  // In admission order, so that one signer's transactions arrive in sequence. Those no
  // longer pending (committed or dropped meanwhile) are not sent.
  const std::vector<ledger::Transaction> own_txs = node()->pending_transactions(own_ids);
  struct Sends {
    p2p::ConnectionId connection;
    std::vector<ledger::Transaction> txs;
    std::vector<crypto::Hash256> ids;
  };
  std::vector<Sends> sends;
  std::vector<ledger::PartnerId> pushed_to;
  {
    std::lock_guard lock(mutex_);
    for (auto& [connection, peer] : peers_) {
      if (peer.identity.partner == 0) continue;  // observers take blocks, not the mempool
      pushed_to.push_back(peer.identity.partner);
      Sends each{connection, {}, {}};
      for (const ledger::Transaction& tx : own_txs) {
        if (peer.mark_seen(tx.id())) each.txs.push_back(tx);
      }
      for (const auto& [id, skip] : relayed) {
        if (skip != nullptr && std::binary_search(skip->begin(), skip->end(), peer.identity.partner)) continue;
        if (peer.mark_seen(id)) each.ids.push_back(id);
      }
      if (!each.txs.empty() || !each.ids.empty()) sends.push_back(std::move(each));
    }
  }
  from_peers_.clear();  // after the loop: `relayed` points into it
  std::sort(pushed_to.begin(), pushed_to.end());
  pushed_to.erase(std::unique(pushed_to.begin(), pushed_to.end()), pushed_to.end());
  for (Sends& each : sends) {
    for (std::size_t start = 0; start < each.txs.size(); start += txs_per_delivery_max) {
      const std::size_t end = std::min(each.txs.size(), start + txs_per_delivery_max);
      send(each.connection, TxPush{pushed_to, {each.txs.begin() + static_cast<std::ptrdiff_t>(start),
                                               each.txs.begin() + static_cast<std::ptrdiff_t>(end)}});
    }
    for (TxAnnounce& announce : chunk_ids<TxAnnounce>(std::move(each.ids))) send(each.connection, announce);
  }
}

std::uint64_t PeerProtocol::tick() {
  const std::uint64_t now_ms = clock_.now_ms();
  flush_announcements();
  std::erase_if(fetches_, [&](const auto& entry) { return entry.second + tx_fetch_timeout_ms <= now_ms; });
  if (now_ms >= next_status_ms_) {
    next_status_ms_ = now_ms + status_interval_ms;
    send_status(std::nullopt);
    maybe_sync();
  }
  return std::min(next_status_ms_, now_ms + peer_tick_ms);
}

}  // namespace pc::node
