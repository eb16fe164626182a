// A peer on a plain blocking socket that speaks the transport's handshake (docs/p2p.md) byte
// by byte, so a test can break any rule: another genesis, a key outside the coalition, a
// flipped byte in a frame, a peer that never reads. Used against TcpTransports in one
// process and against real pointchain-node processes. Reads give up after their bound
// (SO_RCVTIMEO), so a test never hangs.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <optional>

#include "node/p2p/wire.hpp"

namespace pc::test {

class RawPeer {
 public:
  // Connects to 127.0.0.1:port. `receive_buffer_bytes` > 0 shrinks the socket's receive
  // buffer first (a peer that stops reading then fills the sender's queue sooner).
  explicit RawPeer(std::uint16_t port, std::chrono::seconds read_bound = std::chrono::seconds(30),
                   int receive_buffer_bytes = 0)
      : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    timeval timeout{static_cast<time_t>(read_bound.count()), 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (receive_buffer_bytes > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof receive_buffer_bytes);
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  }
  ~RawPeer() { ::close(fd_); }
  RawPeer(const RawPeer&) = delete;
  RawPeer& operator=(const RawPeer&) = delete;

  void write(ByteSpan bytes) {
    REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  }
  // False once the other side has closed (or reset) the connection.
  bool try_write(ByteSpan bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  // Exactly `count` bytes, or fewer if the other side closed (or the bound passed).
  Bytes read(std::size_t count) {
    Bytes out(count);
    std::size_t got = 0;
    while (got < count) {
      const ssize_t n = ::recv(fd_, out.data() + got, count - got, 0);
      if (n < 0 && errno == EINTR) continue;  // a signal (a receive timeout is set, so no restart)
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    out.resize(got);
    return out;
  }

  // The dialer's side of the handshake, with whatever genesis, key and partner claim the
  // test picks. Leaves the sealer and opener ready for the frames after the Auth. False if
  // the other side closed before its Auth arrived.
  bool handshake(const ledger::Genesis& genesis, const crypto::SecretKey& key, ledger::PartnerId claim) {
    using namespace pc::node::p2p;
    write(encode_hello({genesis.hash(), ephemeral_.public_key()}));
    auto hello = decode_hello(read(hello_bytes));
    if (!hello) return false;
    auto keys = SessionKeys::derive(Role::dialer, ephemeral_, hello->ephemeral_key);
    REQUIRE(keys.ok());
    sealer_.emplace(keys->send);
    opener_.emplace(keys->receive);
    const Bytes transcript = auth_transcript(Role::dialer, genesis.chain_id, genesis.hash(), ephemeral_.public_key(),
                                             hello->ephemeral_key, claim, key.public_key());
    auto frame = sealer_->seal(FrameKind::auth, encode_auth({claim, key.public_key(), key.sign(transcript)}));
    REQUIRE(frame.ok());
    // The other side may have refused the hello and closed already.
    if (!try_write(*frame)) return false;
    auto auth = read_frame();
    return auth.has_value() && auth->kind == FrameKind::auth;
  }
  node::p2p::FrameSealer& sealer() { return *sealer_; }
  // The next frame from the other side, opened; nullopt when it closed, the bound passed or
  // the frame does not open.
  std::optional<node::p2p::OpenedFrame> read_frame() {
    using namespace pc::node::p2p;
    const Bytes prefix = read(frame_length_prefix_bytes);
    if (prefix.size() != frame_length_prefix_bytes) return std::nullopt;
    auto length = decode_frame_length(prefix, frame_sealed_bytes_max);
    if (!length) return std::nullopt;
    const Bytes sealed = read(*length);
    if (sealed.size() != *length) return std::nullopt;
    auto frame = opener_->open(prefix, sealed);
    if (!frame) return std::nullopt;
    return std::move(frame).value();
  }
  // True once the other side has closed the connection (a read sees the end).
  bool closed_by_peer() {
    std::uint8_t byte = 0;
    while (true) {
      const ssize_t n = ::recv(fd_, &byte, 1, 0);
      if (n == 0) return true;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno == ECONNRESET;
    }
  }

 private:
  int fd_;
  node::p2p::EphemeralKey ephemeral_ = node::p2p::EphemeralKey::generate();
  std::optional<node::p2p::FrameSealer> sealer_;
  std::optional<node::p2p::FrameOpener> opener_;
};

}  // namespace pc::test
