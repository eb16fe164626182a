// The transport's byte layouts (docs/p2p.md, byte by byte): the hello each side sends first,
// the session keys, the encrypted frames and the authentication frame that proves which node
// key is at the other end. Pure functions over bytes: no sockets, no clock, so the golden
// tests and the fuzz targets run exactly the code the transport runs.
//
// A connection, from either side:
//   1. send Hello (magic, version, genesis hash, a fresh X25519 key); read the peer's Hello.
//   2. derive one key per direction from both ephemeral keys (crypto_kx; the dialer is the
//      client);
//   3. send frame 0, encrypted: Auth (partner id, node key, ed25519 signature of the
//      transcript: both ephemeral keys, the chain id, the genesis hash, the signer's role and
//      identity, under the tag "PCHK"); read and check the peer's frame 0;
//   4. then frames 1, 2, ... carry messages.
// Frames are ChaCha20-Poly1305 (IETF) with the frame's number as the nonce: the receiver
// expects frame n exactly, so a replayed, reordered or dropped frame fails authentication.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/bytes.hpp"
#include "crypto/hash.hpp"
#include "crypto/keys.hpp"
#include "crypto/result.hpp"
#include "ledger/transaction.hpp"
#include "node/p2p/transport.hpp"

namespace pc::node::p2p {

inline constexpr std::array<std::uint8_t, 4> hello_magic = {'P', 'C', 'P', '2'};
inline constexpr std::uint8_t wire_version = 1;
inline constexpr std::size_t ephemeral_key_bytes = 32;   // X25519 (crypto_kx)
inline constexpr std::size_t session_key_bytes = 32;
inline constexpr std::size_t hello_bytes = 4 + 1 + 32 + ephemeral_key_bytes;  // 69

// Frame: length u32 LE (of what follows) | ciphertext of (kind u8 | body) | 16-byte tag.
inline constexpr std::size_t frame_length_prefix_bytes = 4;
inline constexpr std::size_t frame_tag_bytes = 16;
inline constexpr std::size_t frame_kind_bytes = 1;
inline constexpr std::size_t frame_overhead_bytes = frame_length_prefix_bytes + frame_kind_bytes + frame_tag_bytes;
// The largest frame on the wire: one message of message_bytes_max plus the overhead.
inline constexpr std::size_t frame_bytes_max = message_bytes_max + frame_overhead_bytes;
// What the length prefix may say: kind and tag at least, a whole message at most.
inline constexpr std::size_t frame_sealed_bytes_min = frame_kind_bytes + frame_tag_bytes;
inline constexpr std::size_t frame_sealed_bytes_max = frame_bytes_max - frame_length_prefix_bytes;

enum class FrameKind : std::uint8_t {
  auth = 0x01,     // frame 0 in each direction, and only frame 0
  message = 0x02,  // a payload for TransportHandler::on_message
  ping = 0x03,     // empty: "are you there?" after keepalive_idle_ms of silence
  pong = 0x04,     // empty: the answer to a ping
};

// Auth body: partner u16 LE | node key (32) | signature (64).
inline constexpr std::size_t auth_body_bytes = 2 + 32 + 64;
inline constexpr std::size_t auth_sealed_bytes = frame_kind_bytes + auth_body_bytes + frame_tag_bytes;  // 115

enum class WireError {
  bad_magic,              // the first bytes are not "PCP2": not a Pointchain node
  unsupported_version,    // a version this node does not speak
  bad_size,               // a fixed-size message of another size
  frame_too_small,        // the length prefix is below kind + tag
  frame_too_large,        // the length prefix is above the limit in force
  authentication_failed,  // tampered, truncated, replayed, reordered, or another key
  unexpected_kind,        // an unknown frame kind, or auth where a message belongs (or back)
  weak_ephemeral_key,     // the key exchange gives no secret (a small-order X25519 key)
  counter_exhausted,      // 2^64 - 1 frames in one direction: never in practice
};
std::string_view describe(WireError error);

struct Hello {
  crypto::Hash256 genesis_hash{};
  std::array<std::uint8_t, ephemeral_key_bytes> ephemeral_key{};

  bool operator==(const Hello&) const = default;
};
Bytes encode_hello(const Hello& hello);
Result<Hello, WireError> decode_hello(ByteSpan bytes);

struct Auth {
  ledger::PartnerId partner = 0;  // 0: an observer
  crypto::PublicKey node_key{};
  crypto::Signature signature{};

  bool operator==(const Auth&) const = default;
};
Bytes encode_auth(const Auth& auth);
Result<Auth, WireError> decode_auth(ByteSpan body);

enum class Role : std::uint8_t { dialer = 0x01, acceptor = 0x02 };

// The bytes a node signs in its Auth: "PCHK" | version | the signer's role | chain id length
// u8 | chain id | genesis hash | dialer's ephemeral key | acceptor's ephemeral key | the
// signer's partner id u16 LE | the signer's node key.
Bytes auth_transcript(Role signer_role, std::string_view chain_id, const crypto::Hash256& genesis_hash,
                      ByteSpan dialer_ephemeral, ByteSpan acceptor_ephemeral, ledger::PartnerId signer_partner,
                      const crypto::PublicKey& signer_key);

// An ephemeral X25519 key pair; the secret is wiped on destruction.
class EphemeralKey {
 public:
  static EphemeralKey generate();
  // Deterministic, for the golden tests: crypto_kx_seed_keypair.
  static EphemeralKey from_seed(const std::array<std::uint8_t, 32>& seed);
  EphemeralKey(const EphemeralKey&) = delete;
  EphemeralKey& operator=(const EphemeralKey&) = delete;
  EphemeralKey(EphemeralKey&& other) noexcept;
  EphemeralKey& operator=(EphemeralKey&& other) noexcept;
  ~EphemeralKey();

  const std::array<std::uint8_t, ephemeral_key_bytes>& public_key() const { return public_key_; }

 private:
  friend struct SessionKeys;
  EphemeralKey() = default;
  std::array<std::uint8_t, ephemeral_key_bytes> public_key_{};
  std::array<std::uint8_t, 32> secret_{};
};

// One key per direction: the dialer's send key is the acceptor's receive key.
struct SessionKeys {
  std::array<std::uint8_t, session_key_bytes> receive{};
  std::array<std::uint8_t, session_key_bytes> send{};

  static Result<SessionKeys, WireError> derive(Role own_role, const EphemeralKey& own,
                                               const std::array<std::uint8_t, ephemeral_key_bytes>& peer);
  void wipe();
};

// Reads a frame's length prefix; `sealed_bytes_max` is the limit in force (auth_sealed_bytes
// during the handshake, frame_sealed_bytes_max after).
Result<std::uint32_t, WireError> decode_frame_length(ByteSpan prefix, std::size_t sealed_bytes_max);

// Seals frames in one direction, numbering them from 0 (`first_frame`: tests of the
// counter's end start near it). Not thread-safe.
class FrameSealer {
 public:
  explicit FrameSealer(const std::array<std::uint8_t, session_key_bytes>& key, std::uint64_t first_frame = 0)
      : key_(key), counter_(first_frame) {}
  ~FrameSealer();
  FrameSealer(const FrameSealer&) = delete;
  FrameSealer& operator=(const FrameSealer&) = delete;
  // The whole frame, length prefix included. The body must fit message_bytes_max.
  Result<Bytes, WireError> seal(FrameKind kind, ByteSpan body);
  std::uint64_t next_counter() const { return counter_; }

 private:
  std::array<std::uint8_t, session_key_bytes> key_;
  std::uint64_t counter_;
};

struct OpenedFrame {
  FrameKind kind = FrameKind::message;
  Bytes body;
};

// Opens frames in one direction, expecting them numbered from 0 (or `first_frame`) in order.
// Not thread-safe.
class FrameOpener {
 public:
  explicit FrameOpener(const std::array<std::uint8_t, session_key_bytes>& key, std::uint64_t first_frame = 0)
      : key_(key), counter_(first_frame) {}
  ~FrameOpener();
  FrameOpener(const FrameOpener&) = delete;
  FrameOpener& operator=(const FrameOpener&) = delete;
  // `prefix` is the 4-byte length prefix (authenticated as associated data), `sealed` what
  // it announced. On success the counter moves on; on failure the connection must close.
  Result<OpenedFrame, WireError> open(ByteSpan prefix, ByteSpan sealed);
  std::uint64_t next_counter() const { return counter_; }

 private:
  std::array<std::uint8_t, session_key_bytes> key_;
  std::uint64_t counter_;
};

}  // namespace pc::node::p2p
