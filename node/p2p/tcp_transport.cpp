// The TCP transport. Everything but send(), disconnect() and the start/stop calls runs on
// the one io thread, so the connection table, the bans and the dial slots need no lock; the
// table of connected peers that send() reads from other threads has its own mutex.
#include "node/p2p/tcp_transport.hpp"

#include <pthread.h>
#include <sodium/randombytes.h>

#include <algorithm>
#include <atomic>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it
#include <boost/asio.hpp>
#include <chrono>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "crypto/check.hpp"
#include "node/p2p/wire.hpp"

namespace pc::node::p2p {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using ErrorCode = boost::system::error_code;

// Keys in log lines: the first 8 bytes are enough to tell the coalition's keys apart.
std::string key_text(const crypto::PublicKey& key) { return to_hex(ByteSpan(key).first(8)); }

std::uint64_t wall_clock_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

std::string endpoint_text(const tcp::socket& socket) {
  ErrorCode error;
  const auto endpoint = socket.remote_endpoint(error);
  if (error) return "(unknown)";
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

struct Connection {
  Connection(asio::io_context& io, ConnectionId connection_id, Role connection_role)
      : id(connection_id), socket(io), timer(io), keepalive(io), role(connection_role) {}

  enum class State { handshake, connected, closed };

  const ConnectionId id;
  tcp::socket socket;
  asio::steady_timer timer;  // the handshake deadline, then the inbound rate limiter's wait
  asio::steady_timer keepalive;  // once connected: the next look at how long the peer has been quiet
  const Role role;
  std::optional<std::size_t> slot;  // the dial slot of an outbound connection
  State state = State::handshake;
  PeerIdentity peer;
  EphemeralKey ephemeral = EphemeralKey::generate();
  std::array<std::uint8_t, ephemeral_key_bytes> peer_ephemeral{};
  std::optional<FrameSealer> sealer;
  std::optional<FrameOpener> opener;

  std::array<std::uint8_t, hello_bytes> hello_in{};
  std::array<std::uint8_t, frame_length_prefix_bytes> prefix_in{};
  Bytes sealed_in;

  std::deque<Bytes> write_queue;
  bool writing = false;
  // Frame bytes accepted by send() (or queued by the handshake) and not yet written. Read
  // and raised by senders on any thread, lowered by the io thread after each write.
  std::atomic<std::size_t> queued_bytes{0};

  // The inbound rate limiter: a token bucket in thousandths of a message, which may go
  // negative by one message; reading then waits until it is back at zero.
  std::int64_t tokens_milli = 0;
  Clock::time_point tokens_at{};

  // Counters for connection_stats(): written by the io thread, read by any.
  std::atomic<std::uint64_t> bytes_in{0};
  std::atomic<std::uint64_t> bytes_out{0};
  std::atomic<std::uint64_t> messages_in{0};
  std::atomic<std::uint64_t> messages_out{0};
  std::atomic<std::uint64_t> last_received_ms{0};
  Clock::time_point last_received{};  // the last whole frame from the peer
  bool ping_sent = false;             // since then

  const char* direction() const { return role == Role::dialer ? "outbound" : "inbound"; }
};

// A configured peer this node keeps a connection to.
struct DialSlot {
  DialSlot(asio::io_context& io, PeerAddress peer_address, const crypto::PublicKey& peer_key,
           std::uint64_t first_delay_ms)
      : address(std::move(peer_address)), key(peer_key), delay_ms(first_delay_ms), timer(io), resolver(io) {}

  PeerAddress address;
  crypto::PublicKey key;
  std::uint64_t delay_ms;                    // the next redial's delay before jitter
  asio::steady_timer timer;
  tcp::resolver resolver;
  std::optional<ConnectionId> connection;    // dialling, in handshake or connected
};

}  // namespace

void validate(const TransportLimits& limits) {
  auto require = [](bool holds, const std::string& what) {
    if (!holds) throw std::invalid_argument("p2p limits: " + what);
  };
  require(limits.peers_max >= 1 && limits.peers_max <= peers_max_max,
          "peers_max must be between 1 and " + std::to_string(peers_max_max));
  require(limits.inbound_peers_max <= limits.peers_max, "inbound_peers_max must be at most peers_max");
  require(limits.handshake_timeout_ms >= handshake_timeout_ms_min && limits.handshake_timeout_ms <= handshake_timeout_ms_max,
          "handshake_timeout_ms must be between " + std::to_string(handshake_timeout_ms_min) + " and " +
              std::to_string(handshake_timeout_ms_max));
  require(limits.send_queue_bytes_max >= frame_bytes_max && limits.send_queue_bytes_max <= send_queue_bytes_max_max,
          "send_queue_bytes_max must be between " + std::to_string(frame_bytes_max) + " (one largest frame) and " +
              std::to_string(send_queue_bytes_max_max));
  require(limits.inbound_messages_per_second >= 1, "inbound_messages_per_second must be at least 1");
  require(limits.inbound_messages_burst >= 1, "inbound_messages_burst must be at least 1");
  require(limits.reconnect_delay_ms_min >= reconnect_delay_ms_min_min &&
              limits.reconnect_delay_ms_min <= limits.reconnect_delay_ms_max,
          "reconnect_delay_ms_min must be between " + std::to_string(reconnect_delay_ms_min_min) +
              " and reconnect_delay_ms_max");
  require(limits.reconnect_delay_ms_max <= reconnect_delay_ms_max_max,
          "reconnect_delay_ms_max must be at most " + std::to_string(reconnect_delay_ms_max_max));
  require(limits.keepalive_idle_ms >= keepalive_idle_ms_min && limits.keepalive_idle_ms < limits.keepalive_timeout_ms,
          "keepalive_idle_ms must be at least " + std::to_string(keepalive_idle_ms_min) +
              " and below keepalive_timeout_ms");
  require(limits.keepalive_timeout_ms <= keepalive_timeout_ms_max,
          "keepalive_timeout_ms must be at most " + std::to_string(keepalive_timeout_ms_max));
}

class TcpTransport::Impl {
 public:
  Impl(TransportConfig config, const ledger::Genesis& genesis, crypto::SecretKey node_key, TransportLog log)
      : config_(std::move(config)),
        genesis_(genesis),
        genesis_hash_(genesis.hash()),
        node_key_(std::move(node_key)),
        log_(std::move(log)),
        acceptor_(io_) {
    validate(config_.limits);
    PC_CHECK(genesis_.chain_id.size() <= 255);
    for (const ledger::Partner& partner : genesis_.partners) {
      if (partner.validator_key == node_key_.public_key()) own_partner_ = partner.id;
    }
    for (const crypto::PublicKey& key : config_.observer_keys) {
      if (!crypto::is_valid_public_key(key)) {
        throw std::invalid_argument("p2p observer key " + to_hex(key) + " is not a valid ed25519 key");
      }
    }
    for (const PeerAddress& peer : config_.peers) {
      const ledger::Partner* partner = genesis_.partner(peer.partner);
      if (partner == nullptr) {
        throw std::invalid_argument("p2p peer " + peer.host + ":" + std::to_string(peer.port) + ": partner " +
                                    std::to_string(peer.partner) + " is not in the genesis");
      }
      if (peer.partner == own_partner_) {
        throw std::invalid_argument("p2p peer " + peer.host + ":" + std::to_string(peer.port) +
                                    " is this node's own partner");
      }
      slots_.emplace_back(io_, peer, partner->validator_key, config_.limits.reconnect_delay_ms_min);
    }
    if (!log_) log_ = [](const std::string& line) { std::cerr << "pointchain-node: p2p: " << line << "\n"; };
  }

  void start(TransportHandler& handler) {
    std::lock_guard lock(lifecycle_mutex_);
    PC_CHECK(!started_);
    started_ = true;
    handler_ = &handler;
    const tcp::endpoint endpoint(asio::ip::make_address(config_.listen_address), config_.listen_port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    work_.emplace(io_.get_executor());
    asio::post(io_, [this] {
      accept_next();
      for (std::size_t i = 0; i < slots_.size(); ++i) dial(i);
    });
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "pc-p2p");
      io_.run();
    });
  }

  void stop() {
    std::lock_guard lock(lifecycle_mutex_);
    if (!thread_.joinable()) return;
    asio::post(io_, [this] { shut_down(); });
    thread_.join();
  }

  std::uint16_t listen_port() const { return port_.load(); }
  ledger::PartnerId own_partner() const { return own_partner_; }

  std::vector<ConnectionStats> connection_stats() const {
    std::lock_guard lock(registry_mutex_);
    std::vector<ConnectionStats> stats;
    for (const auto& [id, connection] : registry_) {
      stats.push_back(ConnectionStats{id, connection->peer, connection->bytes_in.load(), connection->bytes_out.load(),
                                      connection->messages_in.load(), connection->messages_out.load(),
                                      connection->last_received_ms.load()});
    }
    return stats;
  }

  bool send(ConnectionId id, std::vector<std::uint8_t> payload) {
    if (payload.size() > message_bytes_max) return false;
    std::shared_ptr<Connection> connection;
    {
      std::lock_guard lock(registry_mutex_);
      auto found = registry_.find(id);
      if (found == registry_.end()) return false;
      connection = found->second;
    }
    const std::size_t frame_bytes = payload.size() + frame_overhead_bytes;
    const std::size_t queued = connection->queued_bytes.fetch_add(frame_bytes) + frame_bytes;
    if (queued > config_.limits.send_queue_bytes_max) {
      connection->queued_bytes.fetch_sub(frame_bytes);
      const std::string reason = "send queue over " + std::to_string(config_.limits.send_queue_bytes_max) +
                                 " bytes (the peer is not reading)";
      asio::post(io_, [this, connection, reason] { close(connection, reason); });
      return false;
    }
    asio::post(io_, [this, connection, payload = std::move(payload), frame_bytes] {
      if (connection->state != Connection::State::connected) return;
      auto frame = connection->sealer->seal(FrameKind::message, payload);
      if (!frame) {
        close(connection, std::string(describe(frame.error())));
        return;
      }
      PC_CHECK(frame->size() == frame_bytes);
      connection->messages_out.fetch_add(1);
      queue_write(connection, std::move(*frame));
    });
    return true;
  }

  void disconnect(ConnectionId id, const std::string& reason, std::uint32_t ban_seconds) {
    asio::post(io_, [this, id, reason, ban_seconds] {
      auto found = connections_.find(id);
      if (found == connections_.end()) return;
      std::shared_ptr<Connection> connection = found->second;
      std::string full_reason = reason;
      if (ban_seconds > 0 && connection->state == Connection::State::connected) {
        const std::uint32_t seconds = std::min(ban_seconds, ban_seconds_max);
        banned_until_[connection->peer.node_key] = Clock::now() + std::chrono::seconds(seconds);
        full_reason += " (banned for " + std::to_string(seconds) + " s)";
      }
      close(connection, full_reason);
    });
  }

 private:
  // ===== Lifecycle =============================================================================

  void shut_down() {
    stopping_ = true;
    ErrorCode ignored;
    acceptor_.close(ignored);
    for (DialSlot& slot : slots_) {
      slot.timer.cancel();
      slot.resolver.cancel();
    }
    // close() erases from the table, so walk a copy.
    std::vector<std::shared_ptr<Connection>> open;
    for (const auto& [id, connection] : connections_) open.push_back(connection);
    for (const auto& connection : open) close(connection, "transport stopped");
    work_.reset();  // run() returns once the cancelled operations have completed
  }

  // Closes one connection and says why: a refused handshake goes to the log only (the node
  // never heard of it), a connected peer's end also to the handler. Then an outbound slot
  // redials after its backoff.
  void close(const std::shared_ptr<Connection>& connection, const std::string& reason) {
    if (connection->state == Connection::State::closed) return;
    const bool was_connected = connection->state == Connection::State::connected;
    connection->state = Connection::State::closed;
    ErrorCode ignored;
    connection->socket.close(ignored);
    connection->timer.cancel();
    connection->keepalive.cancel();
    connections_.erase(connection->id);
    const std::string who = connection->peer.remote_address + " (" + connection->direction() + ")";
    if (was_connected) {
      {
        std::lock_guard lock(registry_mutex_);
        registry_.erase(connection->id);
      }
      auto by_key = by_key_.find(connection->peer.node_key);
      if (by_key != by_key_.end() && by_key->second == connection->id) by_key_.erase(by_key);
      log_("disconnected " + peer_text(connection->peer) + " at " + who + ": " + reason);
      handler_->on_disconnected(connection->id, reason);
    } else {
      log_("refused " + who + ": " + reason);
    }
    if (connection->slot) {
      DialSlot& slot = slots_[*connection->slot];
      if (slot.connection == connection->id) slot.connection.reset();
      if (!stopping_) schedule_dial(*connection->slot, next_delay(slot));
    }
  }

  static std::string peer_text(const PeerIdentity& peer) {
    return (peer.partner == 0 ? std::string("observer ") : "partner " + std::to_string(peer.partner) + " ") +
           key_text(peer.node_key);
  }

  // ===== Accepting and dialling ================================================================

  void accept_next() {
    acceptor_.async_accept([this](const ErrorCode& error, tcp::socket socket) {
      if (stopping_) return;
      if (error) {
        // Out of file descriptors and the like: keep accepting, the condition may pass.
        log_("accept failed: " + error.message());
      } else {
        accept(std::move(socket));
      }
      accept_next();
    });
  }

  void accept(tcp::socket socket) {
    const std::string remote = endpoint_text(socket);
    const auto inbound = static_cast<std::size_t>(std::count_if(
        connections_.begin(), connections_.end(), [](const auto& entry) { return entry.second->role == Role::acceptor; }));
    if (inbound >= config_.limits.inbound_peers_max) {
      log_("refused " + remote + " (inbound): inbound connection limit (" +
           std::to_string(config_.limits.inbound_peers_max) + ") reached");
      ErrorCode ignored;
      socket.close(ignored);
      return;
    }
    auto connection = std::make_shared<Connection>(io_, next_id_++, Role::acceptor);
    connection->socket = std::move(socket);
    connection->peer.remote_address = remote;
    connections_.emplace(connection->id, connection);
    begin_handshake(connection);
  }

  // The redial delay: uniformly random in [delay/2, delay], so that nodes restarted together
  // do not dial in lockstep; the delay then doubles, up to the cap.
  std::uint64_t next_delay(DialSlot& slot) {
    const std::uint64_t delay = slot.delay_ms;
    slot.delay_ms = std::min(delay * 2, config_.limits.reconnect_delay_ms_max);
    const std::uint64_t half = delay / 2;
    return half + randombytes_uniform(static_cast<std::uint32_t>(std::min<std::uint64_t>(delay - half, UINT32_MAX - 1)) + 1);
  }

  void schedule_dial(std::size_t index, std::uint64_t delay_ms) {
    DialSlot& slot = slots_[index];
    slot.timer.expires_after(std::chrono::milliseconds(delay_ms));
    slot.timer.async_wait([this, index](const ErrorCode& error) {
      if (error || stopping_) return;
      dial(index);
    });
  }

  void dial(std::size_t index) {
    DialSlot& slot = slots_[index];
    if (slot.connection) return;
    // The peer dialled in already: look again later, in case that connection ends.
    if (by_key_.contains(slot.key)) {
      schedule_dial(index, config_.limits.reconnect_delay_ms_min);
      return;
    }
    if (auto banned = banned_until_.find(slot.key); banned != banned_until_.end()) {
      const auto now = Clock::now();
      if (banned->second > now) {
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(banned->second - now);
        schedule_dial(index, static_cast<std::uint64_t>(wait.count()) + 1);
        return;
      }
      banned_until_.erase(banned);
    }
    auto connection = std::make_shared<Connection>(io_, next_id_++, Role::dialer);
    connection->slot = index;
    connection->peer.outbound = true;
    connection->peer.remote_address = slot.address.host + ":" + std::to_string(slot.address.port);
    connections_.emplace(connection->id, connection);
    slot.connection = connection->id;
    // The handshake deadline covers resolving and connecting too: a peer address that
    // swallows SYNs costs one timeout, not the system's minutes-long connect timeout.
    arm_handshake_deadline(connection);
    slot.resolver.async_resolve(
        slot.address.host, std::to_string(slot.address.port),
        [this, connection](const ErrorCode& error, const tcp::resolver::results_type& endpoints) {
          if (connection->state == Connection::State::closed) return;
          if (error) {
            close(connection, "cannot resolve: " + error.message());
            return;
          }
          asio::async_connect(connection->socket, endpoints,
                              [this, connection](const ErrorCode& connect_error, const tcp::endpoint&) {
                                if (connection->state == Connection::State::closed) return;
                                if (connect_error) {
                                  close(connection, "cannot connect: " + connect_error.message());
                                  return;
                                }
                                begin_handshake(connection);
                              });
        });
  }

  // ===== Handshake =============================================================================

  void arm_handshake_deadline(const std::shared_ptr<Connection>& connection) {
    connection->timer.expires_after(std::chrono::milliseconds(config_.limits.handshake_timeout_ms));
    connection->timer.async_wait([this, connection](const ErrorCode& error) {
      if (error || connection->state != Connection::State::handshake) return;
      close(connection, "handshake timed out after " + std::to_string(config_.limits.handshake_timeout_ms) + " ms");
    });
  }

  void begin_handshake(const std::shared_ptr<Connection>& connection) {
    ErrorCode ignored;
    connection->socket.set_option(tcp::no_delay(true), ignored);
    if (connection->role == Role::acceptor) arm_handshake_deadline(connection);
    Hello hello;
    hello.genesis_hash = genesis_hash_;
    hello.ephemeral_key = connection->ephemeral.public_key();
    queue_handshake_write(connection, encode_hello(hello));
    asio::async_read(connection->socket, asio::buffer(connection->hello_in),
                     [this, connection](const ErrorCode& error, std::size_t) {
                       if (connection->state == Connection::State::closed) return;
                       if (error) {
                         close(connection, "connection lost during the handshake: " + error.message());
                         return;
                       }
                       on_hello(connection);
                     });
  }

  void on_hello(const std::shared_ptr<Connection>& connection) {
    connection->bytes_in.fetch_add(hello_bytes);
    auto hello = decode_hello(connection->hello_in);
    if (!hello) {
      close(connection, std::string(describe(hello.error())));
      return;
    }
    if (hello->genesis_hash != genesis_hash_) {
      close(connection, "another genesis: the peer's genesis hash is " + to_hex(hello->genesis_hash) +
                            ", this node's " + to_hex(genesis_hash_));
      return;
    }
    // Our own ephemeral key sent back: a reflection. The signature check would refuse it
    // too (the roles differ), but this says what happened.
    if (hello->ephemeral_key == connection->ephemeral.public_key()) {
      close(connection, "the peer's hello repeats this node's ephemeral key (reflected)");
      return;
    }
    connection->peer_ephemeral = hello->ephemeral_key;
    auto keys = SessionKeys::derive(connection->role, connection->ephemeral, hello->ephemeral_key);
    if (!keys) {
      close(connection, std::string(describe(keys.error())));
      return;
    }
    connection->sealer.emplace(keys->send);
    connection->opener.emplace(keys->receive);
    keys->wipe();

    Auth auth;
    auth.partner = own_partner_;
    auth.node_key = node_key_.public_key();
    auth.signature = node_key_.sign(transcript(connection, connection->role, own_partner_, node_key_.public_key()));
    auto frame = connection->sealer->seal(FrameKind::auth, encode_auth(auth));
    PC_CHECK(frame.ok());
    queue_handshake_write(connection, std::move(*frame));
    read_frame(connection);
  }

  Bytes transcript(const std::shared_ptr<Connection>& connection, Role signer_role, ledger::PartnerId signer_partner,
                   const crypto::PublicKey& signer_key) const {
    const bool dialer = connection->role == Role::dialer;
    const auto& own = connection->ephemeral.public_key();
    const auto& peer = connection->peer_ephemeral;
    return auth_transcript(signer_role, genesis_.chain_id, genesis_hash_, dialer ? ByteSpan(own) : ByteSpan(peer),
                           dialer ? ByteSpan(peer) : ByteSpan(own), signer_partner, signer_key);
  }

  // Why the peer's Auth is refused, or nullopt when it proves a key allowed here.
  std::optional<std::string> check_auth(const std::shared_ptr<Connection>& connection, const Auth& auth) {
    const crypto::PublicKey& key = auth.node_key;
    if (key == node_key_.public_key()) return "connection to self (the peer has this node's key)";
    const ledger::Partner* key_owner = nullptr;
    for (const ledger::Partner& partner : genesis_.partners) {
      if (partner.validator_key == key) key_owner = &partner;
    }
    if (auth.partner != 0) {
      if (key_owner == nullptr) {
        return "key " + key_text(key) + " is not in the coalition (it claims partner " + std::to_string(auth.partner) + ")";
      }
      if (key_owner->id != auth.partner) {
        return "claims partner " + std::to_string(auth.partner) + " but its key is partner " +
               std::to_string(key_owner->id) + "'s";
      }
    } else if (key_owner != nullptr) {
      return "claims to be an observer but its key is partner " + std::to_string(key_owner->id) + "'s";
    } else if (std::find(config_.observer_keys.begin(), config_.observer_keys.end(), key) ==
               config_.observer_keys.end()) {
      return "observer key " + key_text(key) + " is not listed in this node's p2p observer_keys";
    }
    if (connection->slot) {
      const DialSlot& slot = slots_[*connection->slot];
      if (key != slot.key) {
        return "dialled partner " + std::to_string(slot.address.partner) + " but the peer proves " +
               (auth.partner == 0 ? std::string("an observer key") : "partner " + std::to_string(auth.partner));
      }
    }
    const Role peer_role = connection->role == Role::dialer ? Role::acceptor : Role::dialer;
    if (!crypto::verify(key, transcript(connection, peer_role, auth.partner, key), auth.signature)) {
      return "the handshake signature does not verify";
    }
    if (auto banned = banned_until_.find(key); banned != banned_until_.end()) {
      const auto now = Clock::now();
      if (banned->second > now) {
        const auto left = std::chrono::duration_cast<std::chrono::seconds>(banned->second - now).count() + 1;
        return "key " + key_text(key) + " is banned for " + std::to_string(left) + " more s";
      }
      banned_until_.erase(banned);
    }
    return std::nullopt;
  }

  void on_auth(const std::shared_ptr<Connection>& connection, const Bytes& body) {
    auto auth = decode_auth(body);
    if (!auth) {
      close(connection, "auth: " + std::string(describe(auth.error())));
      return;
    }
    if (auto refusal = check_auth(connection, *auth)) {
      close(connection, *refusal);
      return;
    }
    connection->peer.partner = auth->partner;
    connection->peer.node_key = auth->node_key;
    admit(connection);
  }

  void admit(const std::shared_ptr<Connection>& connection) {
    const crypto::PublicKey& key = connection->peer.node_key;
    if (auto existing = by_key_.find(key); existing != by_key_.end()) {
      std::shared_ptr<Connection> old = connections_.at(existing->second);
      // Both ends pick the same survivor: the connection dialled by the smaller key, or,
      // between two of one direction, the newer (the peer restarted and the old one has
      // not noticed yet).
      bool keep_new = true;
      if (old->role != connection->role) {
        const bool own_key_smaller = node_key_.public_key() < key;
        keep_new = (connection->role == Role::dialer) == own_key_smaller;
      }
      if (!keep_new) {
        close(connection, "already connected to this peer (the other connection is kept)");
        return;
      }
      close(old, "replaced by a newer connection from the same peer");
    }
    const auto connected = static_cast<std::size_t>(std::count_if(connections_.begin(), connections_.end(), [](const auto& entry) {
      return entry.second->state == Connection::State::connected;
    }));
    if (connected >= config_.limits.peers_max) {
      close(connection, "peer limit (" + std::to_string(config_.limits.peers_max) + ") reached");
      return;
    }
    connection->state = Connection::State::connected;
    connection->timer.cancel();
    connection->tokens_milli = std::int64_t{config_.limits.inbound_messages_burst} * 1000;
    connection->tokens_at = Clock::now();
    connection->last_received_ms.store(wall_clock_ms());
    connection->last_received = connection->tokens_at;
    by_key_[key] = connection->id;
    {
      std::lock_guard lock(registry_mutex_);
      registry_.emplace(connection->id, connection);
    }
    if (connection->slot) slots_[*connection->slot].delay_ms = config_.limits.reconnect_delay_ms_min;
    log_("connected " + peer_text(connection->peer) + " at " + connection->peer.remote_address + " (" +
         connection->direction() + ")");
    handler_->on_connected(connection->id, connection->peer);
    if (connection->state != Connection::State::connected) return;
    read_frame(connection);
    watch_keepalive(connection, config_.limits.keepalive_idle_ms);
  }

  // ===== Keepalive =============================================================================

  // Looks after `delay_ms` at how long the peer has been quiet: past keepalive_idle_ms it is
  // pinged once, past keepalive_timeout_ms it is closed.
  void watch_keepalive(const std::shared_ptr<Connection>& connection, std::uint64_t delay_ms) {
    connection->keepalive.expires_after(std::chrono::milliseconds(delay_ms));
    connection->keepalive.async_wait([this, connection](const ErrorCode& error) {
      if (error || connection->state != Connection::State::connected) return;
      const auto quiet_ms = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - connection->last_received).count());
      const TransportLimits& limits = config_.limits;
      if (quiet_ms >= limits.keepalive_timeout_ms) {
        close(connection, "nothing received for " + std::to_string(quiet_ms) + " ms, a ping unanswered (keepalive timeout " +
                              std::to_string(limits.keepalive_timeout_ms) + " ms)");
        return;
      }
      if (quiet_ms >= limits.keepalive_idle_ms && !connection->ping_sent) {
        connection->ping_sent = true;
        send_control(connection, FrameKind::ping);
      }
      const std::uint64_t next_ms =
          quiet_ms < limits.keepalive_idle_ms ? limits.keepalive_idle_ms - quiet_ms : limits.keepalive_timeout_ms - quiet_ms;
      watch_keepalive(connection, next_ms);
    });
  }

  // A ping or pong: an empty frame of that kind, counted in the send queue like a message.
  void send_control(const std::shared_ptr<Connection>& connection, FrameKind kind) {
    auto frame = connection->sealer->seal(kind, {});
    if (!frame) {
      close(connection, std::string(describe(frame.error())));
      return;
    }
    connection->queued_bytes.fetch_add(frame->size());
    queue_write(connection, std::move(*frame));
  }

  // ===== Frames ================================================================================

  void read_frame(const std::shared_ptr<Connection>& connection) {
    asio::async_read(connection->socket, asio::buffer(connection->prefix_in),
                     [this, connection](const ErrorCode& error, std::size_t) {
                       if (connection->state == Connection::State::closed) return;
                       if (error) {
                         close(connection, lost_text(error));
                         return;
                       }
                       // Before the Auth is checked only an Auth-sized frame is read, so an
                       // unauthenticated peer cannot make this node allocate a large buffer.
                       const bool handshake = connection->state == Connection::State::handshake;
                       const std::size_t limit = handshake ? auth_sealed_bytes : frame_sealed_bytes_max;
                       auto length = decode_frame_length(connection->prefix_in, limit);
                       if (!length) {
                         close(connection, std::string(describe(length.error())) + " (limit " + std::to_string(limit) +
                                               " bytes after the length prefix)");
                         return;
                       }
                       connection->sealed_in.resize(*length);
                       read_sealed(connection);
                     });
  }

  void read_sealed(const std::shared_ptr<Connection>& connection) {
    asio::async_read(connection->socket, asio::buffer(connection->sealed_in),
                     [this, connection](const ErrorCode& error, std::size_t) {
                       if (connection->state == Connection::State::closed) return;
                       if (error) {
                         close(connection, lost_text(error) + " (in the middle of a frame)");
                         return;
                       }
                       connection->bytes_in.fetch_add(frame_length_prefix_bytes + connection->sealed_in.size());
                       connection->last_received_ms.store(wall_clock_ms());
                       auto frame = connection->opener->open(connection->prefix_in, connection->sealed_in);
                       connection->sealed_in = Bytes();
                       if (!frame) {
                         close(connection, std::string(describe(frame.error())));
                         return;
                       }
                       connection->last_received = Clock::now();
                       connection->ping_sent = false;
                       if (connection->state == Connection::State::handshake) {
                         on_auth(connection, frame->body);
                       } else {
                         deliver(connection, frame->kind, frame->body);
                       }
                     });
  }

  std::string lost_text(const ErrorCode& error) const {
    return error == asio::error::eof ? std::string("the peer closed the connection")
                                     : "connection lost: " + error.message();
  }

  // A message for the handler, or a ping to answer (a pong needs nothing more); each takes a
  // token of the rate limiter, so pings cannot flood either.
  void deliver(const std::shared_ptr<Connection>& connection, FrameKind kind, const Bytes& payload) {
    const auto now = Clock::now();
    const std::int64_t burst_milli = std::int64_t{config_.limits.inbound_messages_burst} * 1000;
    const std::int64_t rate = config_.limits.inbound_messages_per_second;  // thousandths per ms
    // Capped at the time that fills the bucket, so a long-idle peer cannot overflow the product.
    const std::int64_t elapsed_ms =
        std::min<std::int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now - connection->tokens_at).count(),
                               burst_milli / rate + 1);
    if (elapsed_ms > 0) {
      connection->tokens_milli = std::min(burst_milli, connection->tokens_milli + elapsed_ms * rate);
      connection->tokens_at = now;
    }
    connection->tokens_milli -= 1000;
    if (kind == FrameKind::message) {
      connection->messages_in.fetch_add(1);
      handler_->on_message(connection->id, payload);
    } else if (kind == FrameKind::ping) {
      send_control(connection, FrameKind::pong);
    }
    if (connection->state != Connection::State::connected) return;
    if (connection->tokens_milli >= 0) {
      read_frame(connection);
      return;
    }
    // Over the rate: the peer's frames wait in the kernel (TCP pushes back on the sender)
    // until the bucket is back at zero.
    const std::int64_t wait_ms = (-connection->tokens_milli + rate - 1) / rate;
    connection->timer.expires_after(std::chrono::milliseconds(wait_ms));
    connection->timer.async_wait([this, connection](const ErrorCode& error) {
      if (error || connection->state != Connection::State::connected) return;
      read_frame(connection);
    });
  }

  void queue_handshake_write(const std::shared_ptr<Connection>& connection, Bytes bytes) {
    connection->queued_bytes.fetch_add(bytes.size());
    queue_write(connection, std::move(bytes));
  }

  // The bytes must already be counted in queued_bytes.
  void queue_write(const std::shared_ptr<Connection>& connection, Bytes bytes) {
    if (connection->state == Connection::State::closed) return;
    connection->write_queue.push_back(std::move(bytes));
    if (!connection->writing) write_next(connection);
  }

  void write_next(const std::shared_ptr<Connection>& connection) {
    connection->writing = true;
    asio::async_write(connection->socket, asio::buffer(connection->write_queue.front()),
                      [this, connection](const ErrorCode& error, std::size_t written) {
                        if (connection->state == Connection::State::closed) return;
                        if (error) {
                          close(connection, "write failed: " + error.message());
                          return;
                        }
                        connection->queued_bytes.fetch_sub(written);
                        connection->bytes_out.fetch_add(written);
                        connection->write_queue.pop_front();
                        if (connection->write_queue.empty()) {
                          connection->writing = false;
                        } else {
                          write_next(connection);
                        }
                      });
  }

  const TransportConfig config_;
  const ledger::Genesis genesis_;
  const crypto::Hash256 genesis_hash_;
  const crypto::SecretKey node_key_;
  ledger::PartnerId own_partner_ = 0;
  TransportLog log_;

  // Declared before everything that holds its sockets and timers, so destroyed after them.
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::atomic<std::uint16_t> port_{0};

  std::mutex lifecycle_mutex_;  // start() and stop()
  bool started_ = false;        // guarded by lifecycle_mutex_
  std::thread thread_;          // guarded by lifecycle_mutex_
  TransportHandler* handler_ = nullptr;

  // The io thread's own state.
  bool stopping_ = false;
  ConnectionId next_id_ = 1;
  std::map<ConnectionId, std::shared_ptr<Connection>> connections_;  // handshakes and connected
  std::map<crypto::PublicKey, ConnectionId> by_key_;                  // connected only
  std::map<crypto::PublicKey, Clock::time_point> banned_until_;       // keys of the genesis and observers only
  std::deque<DialSlot> slots_;  // a deque: DialSlot holds Asio objects and is not movable

  // The connected peers, for send() on any thread.
  mutable std::mutex registry_mutex_;
  std::map<ConnectionId, std::shared_ptr<Connection>> registry_;  // guarded by registry_mutex_
};

TcpTransport::TcpTransport(TransportConfig config, const ledger::Genesis& genesis, crypto::SecretKey node_key,
                           TransportLog log)
    : impl_(std::make_unique<Impl>(std::move(config), genesis, std::move(node_key), std::move(log))) {}

TcpTransport::~TcpTransport() { stop(); }

void TcpTransport::start(TransportHandler& handler) { impl_->start(handler); }
void TcpTransport::stop() { impl_->stop(); }
std::uint16_t TcpTransport::listen_port() const { return impl_->listen_port(); }
ledger::PartnerId TcpTransport::own_partner() const { return impl_->own_partner(); }
std::vector<ConnectionStats> TcpTransport::connection_stats() const { return impl_->connection_stats(); }

bool TcpTransport::send(ConnectionId connection, std::vector<std::uint8_t> payload) {
  return impl_->send(connection, std::move(payload));
}

void TcpTransport::disconnect(ConnectionId connection, const std::string& reason, std::uint32_t ban_seconds) {
  impl_->disconnect(connection, reason, ban_seconds);
}

}  // namespace pc::node::p2p
