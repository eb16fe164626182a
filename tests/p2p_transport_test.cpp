// The TCP transport between nodes (node/p2p/tcp_transport.hpp, docs/p2p.md), on loopback:
// real TcpTransports in one process, and raw sockets or a byte-flipping proxy where a test
// needs a peer that breaks the rules. Timeouts are failure bounds only: nothing here asserts
// how long anything took.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it
#include <boost/asio.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "node/p2p/tcp_transport.hpp"
#include "node/p2p/wire.hpp"
#include "tests/fixtures.hpp"
#include "tests/raw_p2p_peer.hpp"

namespace {

using namespace pc;
using namespace pc::node::p2p;
using pc::test::RawPeer;
using pc::test::seeded_key;

constexpr auto wait_bound = std::chrono::seconds(30);

crypto::SecretKey validator_key(ledger::PartnerId partner) {
  return seeded_key("partner " + std::to_string(partner) + " validator");
}

// Limits that make a test quick: short redials and a short handshake timeout.
TransportConfig quick_config() {
  TransportConfig config;
  config.limits.reconnect_delay_ms_min = 20;
  config.limits.reconnect_delay_ms_max = 200;
  config.limits.handshake_timeout_ms = 2'000;
  return config;
}

Bytes message(std::string_view text) { return Bytes(text.begin(), text.end()); }

// A dialer's hello exchanged by hand on `peer`, for tests that then send an Auth of their own.
struct HandMadeHandshake {
  EphemeralKey ephemeral = EphemeralKey::generate();
  Hello hello;
  SessionKeys keys;
};

HandMadeHandshake exchange_hellos(RawPeer& peer, const ledger::Genesis& genesis) {
  HandMadeHandshake made;
  peer.write(encode_hello({genesis.hash(), made.ephemeral.public_key()}));
  auto hello = decode_hello(peer.read(hello_bytes));
  REQUIRE(hello.ok());
  made.hello = *hello;
  auto keys = SessionKeys::derive(Role::dialer, made.ephemeral, hello->ephemeral_key);
  REQUIRE(keys.ok());
  made.keys = *keys;
  return made;
}

// Records what one transport reports and its log; a test waits on it.
class Recorder final : public TransportHandler {
 public:
  struct Link {
    PeerIdentity peer;
    bool open = true;
    std::string reason;
    std::vector<Bytes> messages;
  };

  void on_connected(ConnectionId connection, const PeerIdentity& peer) override {
    std::lock_guard lock(mutex_);
    links_[connection].peer = peer;
    changed_.notify_all();
  }
  void on_message(ConnectionId connection, std::span<const std::uint8_t> payload) override {
    std::unique_lock lock(mutex_);
    links_[connection].messages.emplace_back(payload.begin(), payload.end());
    changed_.notify_all();
    // A node that stops reading: its io thread waits here, so its kernel buffers fill.
    changed_.wait(lock, [&] { return !stall_; });
  }
  void on_disconnected(ConnectionId connection, const std::string& reason) override {
    std::lock_guard lock(mutex_);
    links_[connection].open = false;
    links_[connection].reason = reason;
    changed_.notify_all();
  }
  TransportLog logger() {
    return [this](const std::string& line) {
      std::lock_guard lock(mutex_);
      log_.push_back(line);
      changed_.notify_all();
    };
  }

  void stall(bool on) {
    std::lock_guard lock(mutex_);
    stall_ = on;
    changed_.notify_all();
  }

  // Waits (at most wait_bound) until `condition` holds over the links and the log.
  bool wait(const std::function<bool(const std::map<ConnectionId, Link>&, const std::vector<std::string>&)>& condition) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, wait_bound, [&] { return condition(links_, log_); });
  }
  // The open connection to `partner`'s node key, once there is one.
  std::optional<ConnectionId> wait_connected(const crypto::PublicKey& key) {
    std::optional<ConnectionId> found;
    wait([&](const auto& links, const auto&) {
      for (const auto& [id, link] : links) {
        if (link.open && link.peer.node_key == key) found = id;
      }
      return found.has_value();
    });
    return found;
  }
  bool wait_log(std::string_view fragment) {
    return wait([&](const auto&, const auto& log) {
      return std::any_of(log.begin(), log.end(), [&](const std::string& line) { return line.find(fragment) != line.npos; });
    });
  }
  std::map<ConnectionId, Link> links() {
    std::lock_guard lock(mutex_);
    return links_;
  }
  std::string log_text() {
    std::lock_guard lock(mutex_);
    std::string text;
    for (const auto& line : log_) text += line + "\n";
    return text;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<ConnectionId, Link> links_;
  std::vector<std::string> log_;
  bool stall_ = false;
};

// A started transport with its recorder; stopped (and un-stalled) on destruction.
struct TestNode {
  TestNode(TransportConfig config, const ledger::Genesis& genesis, crypto::SecretKey key)
      : public_key(key.public_key()),
        transport(std::make_unique<TcpTransport>(std::move(config), genesis, std::move(key), recorder.logger())) {
    transport->start(recorder);
  }
  ~TestNode() {
    recorder.stall(false);
    transport->stop();
  }
  std::uint16_t port() const { return transport->listen_port(); }
  PeerAddress address(ledger::PartnerId partner) const { return {"127.0.0.1", port(), partner}; }

  Recorder recorder;
  crypto::PublicKey public_key;
  std::unique_ptr<TcpTransport> transport;
};

// A TCP proxy to `upstream` that flips one byte of the first connection's dialer-to-listener
// stream at offset `flip_at`; later connections pass untouched.
class TamperingProxy {
 public:
  TamperingProxy(std::uint16_t upstream, std::size_t flip_at)
      : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}), upstream_(upstream), flip_at_(flip_at) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TamperingProxy() {
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  bool flipped() const { return flipped_; }

 private:
  using tcp = boost::asio::ip::tcp;
  struct Pipe {
    explicit Pipe(boost::asio::io_context& io) : downstream(io), upstream(io) {}
    tcp::socket downstream;
    tcp::socket upstream;
    std::array<std::uint8_t, 4096> to_upstream{};
    std::array<std::uint8_t, 4096> to_downstream{};
    std::size_t forwarded = 0;
    bool tamper = false;
  };

  void accept() {
    auto pipe = std::make_shared<Pipe>(io_);
    acceptor_.async_accept(pipe->downstream, [this, pipe](const boost::system::error_code& error) {
      if (error) return;
      pipe->tamper = connections_++ == 0;
      pipe->upstream.async_connect({boost::asio::ip::make_address("127.0.0.1"), upstream_},
                                   [this, pipe](const boost::system::error_code& connect_error) {
                                     if (connect_error) return;
                                     pump(pipe, true);
                                     pump(pipe, false);
                                   });
      accept();
    });
  }

  void pump(const std::shared_ptr<Pipe>& pipe, bool up) {
    tcp::socket& from = up ? pipe->downstream : pipe->upstream;
    auto& buffer = up ? pipe->to_upstream : pipe->to_downstream;
    from.async_read_some(boost::asio::buffer(buffer), [this, pipe, up, &buffer](const boost::system::error_code& error,
                                                                                 std::size_t n) {
      tcp::socket& to = up ? pipe->upstream : pipe->downstream;
      if (error) {
        boost::system::error_code ignored;
        to.close(ignored);
        return;
      }
      if (up && pipe->tamper && flip_at_ >= pipe->forwarded && flip_at_ < pipe->forwarded + n) {
        buffer[flip_at_ - pipe->forwarded] ^= 0x01;
        flipped_ = true;
      }
      if (up) pipe->forwarded += n;
      boost::asio::async_write(to, boost::asio::buffer(buffer.data(), n),
                               [this, pipe, up](const boost::system::error_code& write_error, std::size_t) {
                                 if (!write_error) pump(pipe, up);
                               });
    });
  }

  boost::asio::io_context io_;
  tcp::acceptor acceptor_;
  std::uint16_t upstream_;
  std::size_t flip_at_;
  std::size_t connections_ = 0;
  std::atomic<bool> flipped_{false};
  std::thread thread_;
};

}  // namespace

// Two nodes connect, each proves its partner's validator key, and messages of several sizes
// arrive complete and in the order sent, in both directions.
TEST_CASE("two transports authenticate each other and exchange messages in order both ways", "[p2p][transport]") {
  const auto genesis = test::make_genesis();
  TestNode first(quick_config(), genesis, validator_key(1));
  TransportConfig second_config = quick_config();
  second_config.peers = {first.address(1)};
  TestNode second(second_config, genesis, validator_key(2));

  const auto at_first = first.recorder.wait_connected(second.public_key);
  const auto at_second = second.recorder.wait_connected(first.public_key);
  REQUIRE(at_first);
  REQUIRE(at_second);
  CHECK(first.transport->own_partner() == 1);
  const PeerIdentity seen_by_first = first.recorder.links().at(*at_first).peer;
  const PeerIdentity seen_by_second = second.recorder.links().at(*at_second).peer;
  CHECK(seen_by_first.partner == 2);
  CHECK_FALSE(seen_by_first.outbound);
  CHECK(seen_by_second.partner == 1);
  CHECK(seen_by_second.outbound);
  CHECK(seen_by_second.remote_address == "127.0.0.1:" + std::to_string(first.port()));

  constexpr std::size_t count = 200;
  auto payload = [](std::size_t i, char side) {
    Bytes bytes = message(std::string(1, side) + "-" + std::to_string(i));
    if (i % 50 == 7) bytes.resize(1024 * 1024 + i, static_cast<std::uint8_t>(i));  // some large ones
    return bytes;
  };
  for (std::size_t i = 0; i < count; ++i) {
    REQUIRE(first.transport->send(*at_first, payload(i, 'a')));
    REQUIRE(second.transport->send(*at_second, payload(i, 'b')));
  }
  REQUIRE(first.recorder.wait([&](const auto& links, const auto&) { return links.at(*at_first).messages.size() == count; }));
  REQUIRE(second.recorder.wait([&](const auto& links, const auto&) { return links.at(*at_second).messages.size() == count; }));
  const auto received_by_first = first.recorder.links().at(*at_first).messages;
  const auto received_by_second = second.recorder.links().at(*at_second).messages;
  for (std::size_t i = 0; i < count; ++i) {
    CHECK(received_by_first[i] == payload(i, 'b'));
    CHECK(received_by_second[i] == payload(i, 'a'));
  }
  // An empty payload is a message too; one over the limit is refused by send().
  CHECK(first.transport->send(*at_first, {}));
  CHECK_FALSE(first.transport->send(*at_first, Bytes(message_bytes_max + 1)));
  REQUIRE(second.recorder.wait([&](const auto& links, const auto&) {
    return links.at(*at_second).messages.size() == count + 1 && links.at(*at_second).messages.back().empty();
  }));
  CHECK_FALSE(first.transport->send(999'999, message("no such connection")));
}

// Three nodes in a full mesh (2 dials 1; 3 dials 1 and 2): every node reaches the other two,
// one connection per pair, and messages arrive in order on every link.
TEST_CASE("three transports form a mesh with one connection per pair", "[p2p][transport]") {
  const auto genesis = test::make_genesis();
  TestNode one(quick_config(), genesis, validator_key(1));
  TransportConfig two_config = quick_config();
  two_config.peers = {one.address(1)};
  TestNode two(two_config, genesis, validator_key(2));
  TransportConfig three_config = quick_config();
  three_config.peers = {one.address(1), two.address(2)};
  TestNode three(three_config, genesis, validator_key(3));

  std::vector<TestNode*> nodes = {&one, &two, &three};
  for (TestNode* node : nodes) {
    for (TestNode* other : nodes) {
      if (node != other) REQUIRE(node->recorder.wait_connected(other->public_key));
    }
  }
  constexpr std::size_t count = 50;
  for (TestNode* node : nodes) {
    for (TestNode* other : nodes) {
      if (node == other) continue;
      const auto link = node->recorder.wait_connected(other->public_key);
      for (std::size_t i = 0; i < count; ++i) REQUIRE(node->transport->send(*link, message(std::to_string(i))));
    }
  }
  for (TestNode* node : nodes) {
    for (TestNode* other : nodes) {
      if (node == other) continue;
      const auto link = node->recorder.wait_connected(other->public_key);
      REQUIRE(node->recorder.wait([&](const auto& links, const auto&) { return links.at(*link).messages.size() == count; }));
      const auto messages = node->recorder.links().at(*link).messages;
      for (std::size_t i = 0; i < count; ++i) CHECK(messages[i] == message(std::to_string(i)));
    }
    std::size_t open = 0;
    for (const auto& [id, link] : node->recorder.links()) open += link.open ? 1 : 0;
    CHECK(open == 2);
  }
}

// A raw peer whose claim or key is wrong is refused after its Auth, with the reason in the
// log, and the node never reports it as connected: a key outside the coalition, a partner
// claim that is not its key's, an observer key nobody listed, the node's own key.
TEST_CASE("handshakes with a key the coalition does not allow are refused with a logged reason",
          "[p2p][transport][refusal]") {
  const auto genesis = test::make_genesis();
  TestNode node(quick_config(), genesis, validator_key(1));

  struct Case {
    std::string name;
    crypto::SecretKey key;
    ledger::PartnerId claim;
    std::string reason;
  };
  std::vector<Case> cases;
  cases.push_back({"a key outside the coalition", seeded_key("outsider"), 2, "is not in the coalition (it claims partner 2)"});
  cases.push_back({"partner 3's key claiming partner 2", validator_key(3), 2, "claims partner 2 but its key is partner 3's"});
  cases.push_back({"a partner claim not in the genesis", validator_key(3), 9, "claims partner 9 but its key is partner 3's"});
  cases.push_back({"an unlisted observer", seeded_key("auditor"), 0, "is not listed in this node's p2p observer_keys"});
  cases.push_back({"a partner's key claiming to be an observer", validator_key(2), 0, "claims to be an observer but its key is partner 2's"});
  cases.push_back({"the node's own key", validator_key(1), 1, "connection to self"});
  for (Case& refused : cases) {
    INFO(refused.name);
    RawPeer peer(node.port());
    peer.handshake(genesis, refused.key, refused.claim);
    CHECK(peer.closed_by_peer());
    CHECK(node.recorder.wait_log(refused.reason));
  }
  // A valid key whose signature is over another transcript: a replayed Auth of an earlier
  // session signs that session's ephemeral keys, never this one's.
  {
    RawPeer peer(node.port());
    const auto signer = validator_key(2);
    const HandMadeHandshake made = exchange_hellos(peer, genesis);
    FrameSealer sealer(made.keys.send);
    const std::array<std::uint8_t, 32> earlier_session{};  // not this session's acceptor key
    const Bytes stale = auth_transcript(Role::dialer, genesis.chain_id, genesis.hash(), made.ephemeral.public_key(),
                                        earlier_session, 2, signer.public_key());
    auto frame = sealer.seal(FrameKind::auth, encode_auth({2, signer.public_key(), signer.sign(stale)}));
    REQUIRE(frame.ok());
    peer.write(*frame);
    CHECK(peer.closed_by_peer());
    CHECK(node.recorder.wait_log("the handshake signature does not verify"));
  }
  CHECK(node.recorder.links().empty());
}

// A node on another genesis is refused at the hello, on both ends, before any key is shown.
TEST_CASE("a node on another genesis is refused at the hello", "[p2p][transport][refusal]") {
  const auto genesis = test::make_genesis();
  auto other_genesis = genesis;
  other_genesis.chain_id = "other-chain";
  TestNode node(quick_config(), genesis, validator_key(1));
  TransportConfig stranger_config = quick_config();
  stranger_config.peers = {node.address(1)};
  TestNode stranger(stranger_config, other_genesis, validator_key(2));

  CHECK(node.recorder.wait_log("another genesis: the peer's genesis hash is " + to_hex(other_genesis.hash())));
  CHECK(stranger.recorder.wait_log("another genesis"));
  CHECK(node.recorder.links().empty());
  CHECK(stranger.recorder.links().empty());
}

// A peer that connects and says nothing, or stops halfway, is cut at the handshake timeout;
// a stranger's bytes (not the magic) are refused at once.
TEST_CASE("a stalled handshake times out and a stranger's bytes are refused", "[p2p][transport][refusal]") {
  const auto genesis = test::make_genesis();
  TransportConfig config = quick_config();
  config.limits.handshake_timeout_ms = 200;
  TestNode node(config, genesis, validator_key(1));
  {
    RawPeer silent(node.port());
    CHECK(silent.closed_by_peer());
    CHECK(node.recorder.wait_log("handshake timed out after 200 ms"));
  }
  {
    // A hello, then nothing: the Auth never comes.
    RawPeer halfway(node.port());
    EphemeralKey ephemeral = EphemeralKey::generate();
    halfway.write(encode_hello({genesis.hash(), ephemeral.public_key()}));
    CHECK(halfway.read(hello_bytes).size() == hello_bytes);
    CHECK(halfway.closed_by_peer());
  }
  {
    RawPeer stranger(node.port());
    const std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n" + std::string(64, ' ');
    stranger.write(as_bytes(request));
    CHECK(stranger.closed_by_peer());
    CHECK(node.recorder.wait_log("not a Pointchain node (bad magic)"));
  }
  CHECK(node.recorder.links().empty());
}

// After the handshake, a frame whose length prefix passes the largest frame closes that
// connection before its body is read.
TEST_CASE("an oversize frame closes the connection", "[p2p][transport][refusal]") {
  const auto genesis = test::make_genesis();
  TestNode node(quick_config(), genesis, validator_key(1));
  RawPeer peer(node.port());
  REQUIRE(peer.handshake(genesis, validator_key(2), 2));
  REQUIRE(node.recorder.wait_connected(validator_key(2).public_key()));
  const std::uint32_t length = frame_sealed_bytes_max + 1;
  peer.write(Bytes{static_cast<std::uint8_t>(length), static_cast<std::uint8_t>(length >> 8),
                   static_cast<std::uint8_t>(length >> 16), static_cast<std::uint8_t>(length >> 24)});
  CHECK(peer.closed_by_peer());
  REQUIRE(node.recorder.wait([](const auto& links, const auto&) {
    return links.size() == 1 && !links.begin()->second.open;
  }));
  CHECK(node.recorder.links().begin()->second.reason.find("frame larger than the limit") != std::string::npos);
}

// docs/p2p.md, "Who may connect": a second connection from the same peer in the same
// direction (the peer restarted) replaces the first, which the node closes with its reason;
// the new one carries the peer's messages.
TEST_CASE("a newer connection from the same peer replaces the older one", "[p2p][transport]") {
  const auto genesis = test::make_genesis();
  TestNode node(quick_config(), genesis, validator_key(1));
  RawPeer older(node.port());
  REQUIRE(older.handshake(genesis, validator_key(2), 2));
  REQUIRE(node.recorder.wait_connected(validator_key(2).public_key()));
  RawPeer newer(node.port());
  REQUIRE(newer.handshake(genesis, validator_key(2), 2));
  CHECK(older.closed_by_peer());
  CHECK(node.recorder.wait_log("replaced by a newer connection from the same peer"));
  auto frame = newer.sealer().seal(FrameKind::message, message("after the restart"));
  REQUIRE(frame.ok());
  newer.write(*frame);
  CHECK(node.recorder.wait([](const auto& links, const auto&) {
    return std::any_of(links.begin(), links.end(), [](const auto& entry) {
      return entry.second.open && entry.second.messages == std::vector<Bytes>{message("after the restart")};
    });
  }));
}

// docs/p2p.md, "Frames": frame 0 is read up to the Auth's size, opened, and refused when its
// body is not an Auth's 98 bytes, with the key and signature of an allowed peer.
TEST_CASE("an Auth of the wrong size is refused with its reason", "[p2p][transport][refusal]") {
  const auto genesis = test::make_genesis();
  TestNode node(quick_config(), genesis, validator_key(1));
  RawPeer peer(node.port());
  const HandMadeHandshake made = exchange_hellos(peer, genesis);
  FrameSealer sealer(made.keys.send);
  const auto signer = validator_key(2);
  const Bytes transcript = auth_transcript(Role::dialer, genesis.chain_id, genesis.hash(), made.ephemeral.public_key(),
                                           made.hello.ephemeral_key, 2, signer.public_key());
  Bytes body = encode_auth({2, signer.public_key(), signer.sign(transcript)});
  body.pop_back();
  auto frame = sealer.seal(FrameKind::auth, body);
  REQUIRE(frame.ok());
  peer.write(*frame);
  CHECK(peer.closed_by_peer());
  CHECK(node.recorder.wait_log("auth: message of the wrong size"));
  CHECK(node.recorder.links().empty());
}

// One flipped bit in a message frame, on the wire between nodes 2 and 1, closes that
// connection only: node 3's link to node 1 stays up and keeps delivering, and node 2 redials
// (the proxy passes the second connection untouched) and gets through.
TEST_CASE("a tampered frame closes that connection only", "[p2p][transport][refusal]") {
  const auto genesis = test::make_genesis();
  TestNode one(quick_config(), genesis, validator_key(1));
  // The dialer's stream: hello, Auth frame, then the first message frame's prefix; the flip
  // lands in that frame's ciphertext.
  const std::size_t first_message_at = hello_bytes + frame_length_prefix_bytes + auth_sealed_bytes;
  TamperingProxy proxy(one.port(), first_message_at + frame_length_prefix_bytes + 3);
  TransportConfig two_config = quick_config();
  two_config.peers = {{"127.0.0.1", proxy.port(), 1}};
  TestNode two(two_config, genesis, validator_key(2));
  TransportConfig three_config = quick_config();
  three_config.peers = {one.address(1)};
  TestNode three(three_config, genesis, validator_key(3));

  const auto three_at_one = one.recorder.wait_connected(three.public_key);
  const auto one_at_three = three.recorder.wait_connected(one.public_key);
  const auto one_at_two = two.recorder.wait_connected(one.public_key);
  REQUIRE(three_at_one);
  REQUIRE(one_at_three);
  REQUIRE(one_at_two);
  REQUIRE(two.transport->send(*one_at_two, message("tampered on the way")));
  REQUIRE(one.recorder.wait_log("frame fails authentication"));
  CHECK(proxy.flipped());
  // Node 2 comes back on a clean connection, and both its messages and node 3's arrive.
  REQUIRE(two.recorder.wait([&](const auto& links, const auto&) {
    return std::count_if(links.begin(), links.end(), [](const auto& entry) { return entry.second.open; }) == 1 &&
           !links.at(*one_at_two).open;
  }));
  const auto again = two.recorder.wait_connected(one.public_key);
  REQUIRE(again);
  REQUIRE(two.transport->send(*again, message("second try")));
  REQUIRE(three.transport->send(*one_at_three, message("from three")));
  REQUIRE(one.recorder.wait([&](const auto& links, const auto&) {
    for (const auto& [id, link] : links) {
      if (link.peer.partner == 2 && link.open && link.messages == std::vector<Bytes>{message("second try")}) {
        return links.at(*three_at_one).messages == std::vector<Bytes>{message("from three")};
      }
    }
    return false;
  }));
  const auto links = one.recorder.links();
  CHECK(links.at(*three_at_one).open);
  for (const auto& [id, link] : links) {
    if (link.peer.partner == 2 && !link.open) CHECK(link.reason.find("frame fails authentication") != std::string::npos);
    CHECK(std::find(link.messages.begin(), link.messages.end(), message("tampered on the way")) == link.messages.end());
  }
}

// A peer that stops reading fills its send queue and is disconnected; the sender is never
// blocked, and another peer keeps receiving throughout.
TEST_CASE("a peer that stops reading is disconnected while the others keep receiving", "[p2p][transport][limits]") {
  const auto genesis = test::make_genesis();
  TransportConfig sender_config = quick_config();
  sender_config.limits.send_queue_bytes_max = frame_bytes_max;  // the smallest allowed
  TestNode sender(sender_config, genesis, validator_key(1));
  TransportConfig stalled_config = quick_config();
  stalled_config.peers = {sender.address(1)};
  TestNode stalled(stalled_config, genesis, validator_key(2));
  TransportConfig healthy_config = quick_config();
  healthy_config.peers = {sender.address(1)};
  TestNode healthy(healthy_config, genesis, validator_key(3));

  const auto to_stalled = sender.recorder.wait_connected(stalled.public_key);
  const auto to_healthy = sender.recorder.wait_connected(healthy.public_key);
  const auto at_healthy = healthy.recorder.wait_connected(sender.public_key);
  REQUIRE(to_stalled);
  REQUIRE(to_healthy);
  REQUIRE(at_healthy);
  stalled.recorder.stall(true);  // its io thread blocks in on_message from the first message on

  const Bytes chunk(1024 * 1024, 0x5a);
  std::size_t to_healthy_count = 0;
  bool refused = false;
  // Bounded: the queue holds 16 MiB and the kernel a few MiB, so far fewer rounds suffice.
  for (int round = 0; round < 1'000 && !refused; ++round) {
    refused = !sender.transport->send(*to_stalled, chunk);
    REQUIRE(sender.transport->send(*to_healthy, message(std::to_string(round))));
    ++to_healthy_count;
    // The healthy peer keeps up: each message arrives before the next round.
    REQUIRE(healthy.recorder.wait([&](const auto& links, const auto&) {
      return links.at(*at_healthy).messages.size() == to_healthy_count;
    }));
  }
  CHECK(refused);
  REQUIRE(sender.recorder.wait([&](const auto& links, const auto&) { return !links.at(*to_stalled).open; }));
  CHECK(sender.recorder.links().at(*to_stalled).reason.find("send queue over") != std::string::npos);
  CHECK(sender.recorder.links().at(*to_healthy).open);
  REQUIRE(sender.transport->send(*to_healthy, message("after")));
  CHECK(healthy.recorder.wait([&](const auto& links, const auto&) {
    return links.at(*at_healthy).messages.back() == message("after");
  }));
}

// When the node it dials stops and comes back on the same port, the dialer reconnects by
// itself and messages flow on the new connection.
TEST_CASE("a dialer reconnects after its peer restarts", "[p2p][transport]") {
  const auto genesis = test::make_genesis();
  auto listener = std::make_unique<TestNode>(quick_config(), genesis, validator_key(1));
  const std::uint16_t port = listener->port();
  TransportConfig dialer_config = quick_config();
  dialer_config.peers = {listener->address(1)};
  TestNode dialer(dialer_config, genesis, validator_key(2));
  const auto first = dialer.recorder.wait_connected(listener->public_key);
  REQUIRE(first);

  listener.reset();
  REQUIRE(dialer.recorder.wait([&](const auto& links, const auto&) { return !links.at(*first).open; }));
  TransportConfig restarted_config = quick_config();
  restarted_config.listen_port = port;
  listener = std::make_unique<TestNode>(restarted_config, genesis, validator_key(1));

  std::optional<ConnectionId> second;
  REQUIRE(dialer.recorder.wait([&](const auto& links, const auto&) {
    for (const auto& [id, link] : links) {
      if (link.open && id != *first) second = id;
    }
    return second.has_value();
  }));
  REQUIRE(dialer.transport->send(*second, message("hello again")));
  const auto at_listener = listener->recorder.wait_connected(dialer.public_key);
  REQUIRE(at_listener);
  CHECK(listener->recorder.wait([&](const auto& links, const auto&) {
    return links.at(*at_listener).messages == std::vector<Bytes>{message("hello again")};
  }));
}

// An auditor's node (a key no partner has) is refused until the partner lists its key, then
// accepted as partner 0; it never needs a genesis entry.
TEST_CASE("an observer key is accepted only when listed", "[p2p][transport][observer]") {
  const auto genesis = test::make_genesis();
  const auto auditor_key = seeded_key("auditor");
  {
    TestNode partner(quick_config(), genesis, validator_key(1));
    TransportConfig observer_config = quick_config();
    observer_config.peers = {partner.address(1)};
    TestNode observer(observer_config, genesis, seeded_key("auditor"));
    CHECK(observer.transport->own_partner() == 0);
    CHECK(partner.recorder.wait_log("observer key " + to_hex(ByteSpan(auditor_key.public_key()).first(8)) +
                                    " is not listed"));
    CHECK(partner.recorder.links().empty());
  }
  TransportConfig listing = quick_config();
  listing.observer_keys = {auditor_key.public_key()};
  TestNode partner(listing, genesis, validator_key(1));
  TransportConfig observer_config = quick_config();
  observer_config.peers = {partner.address(1)};
  TestNode observer(observer_config, genesis, seeded_key("auditor"));
  const auto link = partner.recorder.wait_connected(auditor_key.public_key());
  REQUIRE(link);
  CHECK(partner.recorder.links().at(*link).peer.partner == 0);
  REQUIRE(observer.recorder.wait_connected(partner.public_key));
}

// disconnect() with a ban closes the link and refuses the key's redials until the ban ends;
// the handler hears the reason.
TEST_CASE("disconnect with a ban refuses the peer's key for the ban", "[p2p][transport][ban]") {
  const auto genesis = test::make_genesis();
  TestNode node(quick_config(), genesis, validator_key(1));
  TransportConfig peer_config = quick_config();
  peer_config.peers = {node.address(1)};
  TestNode peer(peer_config, genesis, validator_key(2));
  const auto link = node.recorder.wait_connected(peer.public_key);
  REQUIRE(link);
  node.transport->disconnect(*link, "served a bad block", 3'600);
  REQUIRE(node.recorder.wait([&](const auto& links, const auto&) { return !links.at(*link).open; }));
  CHECK(node.recorder.links().at(*link).reason == "served a bad block (banned for 3600 s)");
  // The peer redials on its own; each try is refused.
  CHECK(node.recorder.wait_log("is banned for"));
  CHECK(node.recorder.links().size() == 1);
}

// The constructor refuses a configuration that cannot work.
TEST_CASE("a transport config that cannot work is refused at construction", "[p2p][transport][config]") {
  const auto genesis = test::make_genesis();
  TransportConfig unknown_partner;
  unknown_partner.peers = {{"127.0.0.1", 1, 9}};
  CHECK_THROWS_WITH(TcpTransport(unknown_partner, genesis, validator_key(1)),
                    Catch::Contains("partner 9 is not in the genesis"));
  TransportConfig own_partner;
  own_partner.peers = {{"127.0.0.1", 1, 1}};
  CHECK_THROWS_WITH(TcpTransport(own_partner, genesis, validator_key(1)), Catch::Contains("own partner"));
  TransportConfig small_queue;
  small_queue.limits.send_queue_bytes_max = 1024;
  CHECK_THROWS_WITH(TcpTransport(small_queue, genesis, validator_key(1)), Catch::Contains("send_queue_bytes_max"));
}

// Two nodes that list each other dial at once; whichever connections the race produces, both
// end with the same single connection (the one dialled by the smaller key, or the only one),
// and it carries messages both ways. Several rounds, since the race goes differently each time.
TEST_CASE("two nodes that dial each other keep one connection", "[p2p][transport]") {
  const auto genesis = test::make_genesis();
  for (int round = 0; round < 5; ++round) {
    INFO("round " << round);
    // Each must know the other's port before either starts: reserve them with two listeners
    // that are closed just before the transports bind the same ports.
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor reserve_one(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    boost::asio::ip::tcp::acceptor reserve_two(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    TransportConfig one_config = quick_config();
    TransportConfig two_config = quick_config();
    one_config.listen_port = reserve_one.local_endpoint().port();
    two_config.listen_port = reserve_two.local_endpoint().port();
    one_config.peers = {{"127.0.0.1", two_config.listen_port, 2}};
    two_config.peers = {{"127.0.0.1", one_config.listen_port, 1}};
    reserve_one.close();
    reserve_two.close();
    TestNode one(one_config, genesis, validator_key(1));
    TestNode two(two_config, genesis, validator_key(2));

    const auto single_open = [](const std::map<ConnectionId, Recorder::Link>& links) -> const Recorder::Link* {
      const Recorder::Link* open = nullptr;
      for (const auto& [id, link] : links) {
        if (!link.open) continue;
        if (open != nullptr) return nullptr;
        open = &link;
      }
      return open;
    };
    // Settled: one open link at each end, seen from opposite directions (the same TCP
    // connection), and a message each way arrives on it. A message sent on a link the race
    // closes right after may be lost, so a side sends again on its new link (at most a few
    // times: there are at most two connections to choose from).
    auto deliver = [&](TestNode& from, TestNode& to, const Bytes& payload) {
      for (int attempt = 0; attempt < 5; ++attempt) {
        const auto link = from.recorder.wait_connected(to.public_key);
        REQUIRE(link);
        if (!from.transport->send(*link, payload)) {
          // The transport closed the link before the handler heard of it: wait for the close, or
          // the next try would pick the same link again.
          REQUIRE(from.recorder.wait([&](const auto& links, const auto&) { return !links.at(*link).open; }));
          continue;
        }
        bool arrived = false;
        REQUIRE(to.recorder.wait([&](const auto& links, const auto&) {
          const auto* open = single_open(links);
          arrived = open != nullptr && std::find(open->messages.begin(), open->messages.end(), payload) != open->messages.end();
          return arrived || !from.recorder.links().at(*link).open;
        }));
        if (arrived) return true;
      }
      return false;
    };
    REQUIRE(deliver(one, two, message("from one")));
    REQUIRE(deliver(two, one, message("from two")));
    // A handshake the race started may still finish after both messages arrived and replace the
    // link they used, so the ends are compared once they agree, within the recorder's bound.
    const bool one_smaller = one.public_key < two.public_key;
    const auto settled = [&] {
      const auto one_links = one.recorder.links();
      const auto two_links = two.recorder.links();
      const auto* at_one = single_open(one_links);
      const auto* at_two = single_open(two_links);
      if (at_one == nullptr || at_two == nullptr || at_one->peer.outbound == at_two->peer.outbound) return false;
      // When the race made two connections, the one kept is the one the smaller key dialled.
      return (one_links.size() == 1 && two_links.size() == 1) || at_one->peer.outbound == one_smaller;
    };
    const auto deadline = std::chrono::steady_clock::now() + wait_bound;
    while (!settled() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(settled());
  }
}

// With inbound_peers_max connections open (handshakes count), the next one is closed at
// accept; when one goes away, a new one is accepted again.
TEST_CASE("inbound connections past the limit are closed at accept", "[p2p][transport][limits]") {
  const auto genesis = test::make_genesis();
  TransportConfig config = quick_config();
  config.limits.inbound_peers_max = 1;
  TestNode node(config, genesis, validator_key(1));
  auto first = std::make_unique<RawPeer>(node.port());
  REQUIRE(first->handshake(genesis, validator_key(2), 2));
  REQUIRE(node.recorder.wait_connected(validator_key(2).public_key()));
  {
    RawPeer second(node.port());
    CHECK(second.closed_by_peer());
    CHECK(node.recorder.wait_log("inbound connection limit (1) reached"));
  }
  first.reset();
  REQUIRE(node.recorder.wait([](const auto& links, const auto&) { return !links.begin()->second.open; }));
  RawPeer third(node.port());
  REQUIRE(third.handshake(genesis, validator_key(3), 3));
  CHECK(node.recorder.wait_connected(validator_key(3).public_key()));
}

// Past the inbound message rate the transport reads that peer more slowly; nothing is lost
// or reordered (the wait itself is not timed here).
TEST_CASE("a peer over the inbound message rate is slowed, not cut", "[p2p][transport][limits]") {
  const auto genesis = test::make_genesis();
  TransportConfig config = quick_config();
  config.limits.inbound_messages_per_second = 200;
  config.limits.inbound_messages_burst = 5;
  TestNode node(config, genesis, validator_key(1));
  TransportConfig sender_config = quick_config();
  sender_config.peers = {node.address(1)};
  TestNode sender(sender_config, genesis, validator_key(2));
  const auto link = sender.recorder.wait_connected(node.public_key);
  const auto at_node = node.recorder.wait_connected(sender.public_key);
  REQUIRE(link);
  REQUIRE(at_node);
  constexpr int count = 40;
  for (int i = 0; i < count; ++i) REQUIRE(sender.transport->send(*link, message(std::to_string(i))));
  REQUIRE(node.recorder.wait([&](const auto& links, const auto&) { return links.at(*at_node).messages.size() == count; }));
  const auto messages = node.recorder.links().at(*at_node).messages;
  for (int i = 0; i < count; ++i) CHECK(messages[static_cast<std::size_t>(i)] == message(std::to_string(i)));
  CHECK(node.recorder.links().at(*at_node).open);
}

TEST_CASE("each connection counts the bytes and messages it carried, and both ends agree once quiet",
          "[p2p][transport][stats]") {
  // Proves connection_stats() (net_info and /metrics read it): after 10 messages each way and
  // 3 more one way, each end counts what it sent and received, one end's bytes out equal the
  // other's bytes in (handshake included), and the last frame's time is set.
  const auto genesis = test::make_genesis();
  TestNode first(quick_config(), genesis, validator_key(1));
  TransportConfig second_config = quick_config();
  second_config.peers = {first.address(1)};
  TestNode second(second_config, genesis, validator_key(2));
  const auto at_first = first.recorder.wait_connected(second.public_key);
  const auto at_second = second.recorder.wait_connected(first.public_key);
  REQUIRE(at_first);
  REQUIRE(at_second);

  for (int i = 0; i < 10; ++i) {
    REQUIRE(first.transport->send(*at_first, message("ping " + std::to_string(i))));
    REQUIRE(second.transport->send(*at_second, message("pong " + std::to_string(i))));
  }
  for (int i = 0; i < 3; ++i) REQUIRE(first.transport->send(*at_first, Bytes(1000, 7)));
  REQUIRE(second.recorder.wait([&](const auto& links, const auto&) { return links.at(*at_second).messages.size() == 13; }));
  REQUIRE(first.recorder.wait([&](const auto& links, const auto&) { return links.at(*at_first).messages.size() == 10; }));

  // Bytes out are counted once written; wait until each side's writes have landed.
  const auto one = [](const TestNode& node) {
    const std::vector<ConnectionStats> stats = node.transport->connection_stats();
    REQUIRE(stats.size() == 1);
    return stats.front();
  };
  const auto settled = [&] {
    return one(first).bytes_out == one(second).bytes_in && one(second).bytes_out == one(first).bytes_in;
  };
  const auto deadline = std::chrono::steady_clock::now() + wait_bound;
  while (!settled() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const ConnectionStats from_first = one(first);
  const ConnectionStats from_second = one(second);
  CHECK(from_first.connection == *at_first);
  CHECK(from_first.peer.partner == 2);
  CHECK(from_second.peer.outbound);
  CHECK(from_first.messages_out == 13);
  CHECK(from_first.messages_in == 10);
  CHECK(from_second.messages_out == 10);
  CHECK(from_second.messages_in == 13);
  CHECK(from_first.bytes_out == from_second.bytes_in);
  CHECK(from_second.bytes_out == from_first.bytes_in);
  // Three 1000-byte payloads more went one way.
  CHECK(from_first.bytes_out >= from_second.bytes_out + 3000);
  CHECK(from_first.last_received_ms > 0);
  CHECK(from_second.last_received_ms > 0);
}

// A link with nothing to say stays up on pings and pongs; a peer that answers nothing is
// pinged once and then closed.
TEST_CASE("a quiet link is kept by pings and a peer that never answers is closed", "[p2p][transport][keepalive]") {
  const auto genesis = test::make_genesis();
  TransportConfig config = quick_config();
  // The link survives as long as each pong is back within timeout - idle of its ping, so that
  // margin is what a loaded machine (a sanitizer build under ctest -j) may use up: the shortest
  // idle allowed and a timeout that leaves 2.9 s of it. The test lasts one timeout.
  config.limits.keepalive_idle_ms = keepalive_idle_ms_min;
  config.limits.keepalive_timeout_ms = 3'000;
  TestNode one(config, genesis, validator_key(1));
  TransportConfig two_config = config;
  two_config.peers = {one.address(1)};
  TestNode two(two_config, genesis, validator_key(2));
  const auto two_at_one = one.recorder.wait_connected(two.public_key);
  REQUIRE(two_at_one);

  RawPeer silent(one.port());
  REQUIRE(silent.handshake(genesis, validator_key(3), 3));
  auto frame = silent.read_frame();
  REQUIRE(frame.has_value());
  CHECK(frame->kind == FrameKind::ping);
  CHECK(silent.closed_by_peer());
  REQUIRE(one.recorder.wait_log("a ping unanswered"));
  // The silent peer's timeout has passed, and the quiet link between the two transports,
  // which carried no message at all, is still the same connection.
  CHECK(one.recorder.links().at(*two_at_one).open);
  REQUIRE(one.transport->send(*two_at_one, message("still here")));
  CHECK(two.recorder.wait([&](const auto& links, const auto&) {
    for (const auto& [id, link] : links) {
      if (link.open && link.messages == std::vector<Bytes>{message("still here")}) return true;
    }
    return false;
  }));
}
