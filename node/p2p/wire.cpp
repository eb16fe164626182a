// The transport's byte layouts: docs/p2p.md describes each byte.
#include "node/p2p/wire.hpp"

#include <sodium/crypto_aead_chacha20poly1305.h>
#include <sodium/crypto_kx.h>

#include <algorithm>
#include <limits>

#include "crypto/check.hpp"
#include "crypto/domains.hpp"

namespace pc::node::p2p {
namespace {

static_assert(ephemeral_key_bytes == crypto_kx_PUBLICKEYBYTES);
static_assert(session_key_bytes == crypto_kx_SESSIONKEYBYTES);
static_assert(session_key_bytes == crypto_aead_chacha20poly1305_ietf_KEYBYTES);
static_assert(frame_tag_bytes == crypto_aead_chacha20poly1305_ietf_ABYTES);
static_assert(frame_sealed_bytes_max <= std::numeric_limits<std::uint32_t>::max());

// The frame's number, little-endian, in the first 8 of the 12 nonce bytes.
std::array<std::uint8_t, crypto_aead_chacha20poly1305_ietf_NPUBBYTES> nonce_for(std::uint64_t counter) {
  std::array<std::uint8_t, crypto_aead_chacha20poly1305_ietf_NPUBBYTES> nonce{};
  for (std::size_t i = 0; i < 8; ++i) nonce[i] = static_cast<std::uint8_t>(counter >> (8 * i));
  return nonce;
}

void put_u16(Bytes& out, std::uint16_t value) {
  out.push_back(static_cast<std::uint8_t>(value));
  out.push_back(static_cast<std::uint8_t>(value >> 8));
}

}  // namespace

std::string_view describe(WireError error) {
  switch (error) {
    case WireError::bad_magic: return "not a Pointchain node (bad magic)";
    case WireError::unsupported_version: return "unsupported transport version";
    case WireError::bad_size: return "message of the wrong size";
    case WireError::frame_too_small: return "frame shorter than its kind and tag";
    case WireError::frame_too_large: return "frame larger than the limit";
    case WireError::authentication_failed: return "frame fails authentication (tampered, replayed or reordered)";
    case WireError::unexpected_kind: return "unexpected frame kind";
    case WireError::weak_ephemeral_key: return "weak ephemeral key";
    case WireError::counter_exhausted: return "frame counter exhausted";
  }
  return "unknown wire error";
}

Bytes encode_hello(const Hello& hello) {
  Bytes out(hello_magic.begin(), hello_magic.end());
  out.push_back(wire_version);
  out.insert(out.end(), hello.genesis_hash.begin(), hello.genesis_hash.end());
  out.insert(out.end(), hello.ephemeral_key.begin(), hello.ephemeral_key.end());
  PC_CHECK(out.size() == hello_bytes);
  return out;
}

Result<Hello, WireError> decode_hello(ByteSpan bytes) {
  // Magic and version first, so that a stranger on the port is named for what it is.
  if (bytes.size() < 5) return WireError::bad_size;
  if (!std::equal(hello_magic.begin(), hello_magic.end(), bytes.begin())) return WireError::bad_magic;
  if (bytes[4] != wire_version) return WireError::unsupported_version;
  if (bytes.size() != hello_bytes) return WireError::bad_size;
  Hello hello;
  std::copy_n(bytes.begin() + 5, hello.genesis_hash.size(), hello.genesis_hash.begin());
  std::copy_n(bytes.begin() + 37, hello.ephemeral_key.size(), hello.ephemeral_key.begin());
  return hello;
}

Bytes encode_auth(const Auth& auth) {
  Bytes out;
  out.reserve(auth_body_bytes);
  put_u16(out, auth.partner);
  out.insert(out.end(), auth.node_key.begin(), auth.node_key.end());
  out.insert(out.end(), auth.signature.begin(), auth.signature.end());
  PC_CHECK(out.size() == auth_body_bytes);
  return out;
}

Result<Auth, WireError> decode_auth(ByteSpan body) {
  if (body.size() != auth_body_bytes) return WireError::bad_size;
  Auth auth;
  auth.partner = static_cast<ledger::PartnerId>(body[0] | (body[1] << 8));
  std::copy_n(body.begin() + 2, auth.node_key.size(), auth.node_key.begin());
  std::copy_n(body.begin() + 34, auth.signature.size(), auth.signature.begin());
  return auth;
}

Bytes auth_transcript(Role signer_role, std::string_view chain_id, const crypto::Hash256& genesis_hash,
                      ByteSpan dialer_ephemeral, ByteSpan acceptor_ephemeral, ledger::PartnerId signer_partner,
                      const crypto::PublicKey& signer_key) {
  PC_CHECK(chain_id.size() <= 255);
  PC_CHECK(dialer_ephemeral.size() == ephemeral_key_bytes && acceptor_ephemeral.size() == ephemeral_key_bytes);
  // Reserved whole: GCC 12 at -O3 warns (falsely) about growing a vector built from 4 bytes.
  Bytes out;
  out.reserve(domain::p2p_handshake.size() + 3 + chain_id.size() + genesis_hash.size() + 2 * ephemeral_key_bytes + 2 +
              signer_key.size());
  out.insert(out.end(), domain::p2p_handshake.begin(), domain::p2p_handshake.end());
  out.push_back(wire_version);
  out.push_back(static_cast<std::uint8_t>(signer_role));
  out.push_back(static_cast<std::uint8_t>(chain_id.size()));
  out.insert(out.end(), chain_id.begin(), chain_id.end());
  out.insert(out.end(), genesis_hash.begin(), genesis_hash.end());
  out.insert(out.end(), dialer_ephemeral.begin(), dialer_ephemeral.end());
  out.insert(out.end(), acceptor_ephemeral.begin(), acceptor_ephemeral.end());
  put_u16(out, signer_partner);
  out.insert(out.end(), signer_key.begin(), signer_key.end());
  return out;
}

EphemeralKey EphemeralKey::generate() {
  EphemeralKey key;
  PC_CHECK(crypto_kx_keypair(key.public_key_.data(), key.secret_.data()) == 0);
  return key;
}

EphemeralKey EphemeralKey::from_seed(const std::array<std::uint8_t, 32>& seed) {
  EphemeralKey key;
  PC_CHECK(crypto_kx_seed_keypair(key.public_key_.data(), key.secret_.data(), seed.data()) == 0);
  return key;
}

EphemeralKey::EphemeralKey(EphemeralKey&& other) noexcept : public_key_(other.public_key_), secret_(other.secret_) {
  crypto::wipe(other.secret_.data(), other.secret_.size());
}

EphemeralKey& EphemeralKey::operator=(EphemeralKey&& other) noexcept {
  if (this != &other) {
    public_key_ = other.public_key_;
    secret_ = other.secret_;
    crypto::wipe(other.secret_.data(), other.secret_.size());
  }
  return *this;
}

EphemeralKey::~EphemeralKey() { crypto::wipe(secret_.data(), secret_.size()); }

Result<SessionKeys, WireError> SessionKeys::derive(Role own_role, const EphemeralKey& own,
                                                   const std::array<std::uint8_t, ephemeral_key_bytes>& peer) {
  SessionKeys keys;
  // crypto_kx fails when the shared point is the identity (a small-order peer key), which
  // would give both directions keys an eavesdropper knows.
  const int status =
      own_role == Role::dialer
          ? crypto_kx_client_session_keys(keys.receive.data(), keys.send.data(), own.public_key_.data(),
                                          own.secret_.data(), peer.data())
          : crypto_kx_server_session_keys(keys.receive.data(), keys.send.data(), own.public_key_.data(),
                                          own.secret_.data(), peer.data());
  if (status != 0) {
    keys.wipe();
    return WireError::weak_ephemeral_key;
  }
  return keys;
}

void SessionKeys::wipe() {
  crypto::wipe(receive.data(), receive.size());
  crypto::wipe(send.data(), send.size());
}

Result<std::uint32_t, WireError> decode_frame_length(ByteSpan prefix, std::size_t sealed_bytes_max) {
  if (prefix.size() != frame_length_prefix_bytes) return WireError::bad_size;
  const std::uint32_t length = static_cast<std::uint32_t>(prefix[0]) | (static_cast<std::uint32_t>(prefix[1]) << 8) |
                               (static_cast<std::uint32_t>(prefix[2]) << 16) |
                               (static_cast<std::uint32_t>(prefix[3]) << 24);
  if (length < frame_sealed_bytes_min) return WireError::frame_too_small;
  if (length > sealed_bytes_max) return WireError::frame_too_large;
  return length;
}

FrameSealer::~FrameSealer() { crypto::wipe(key_.data(), key_.size()); }

Result<Bytes, WireError> FrameSealer::seal(FrameKind kind, ByteSpan body) {
  PC_CHECK(body.size() <= message_bytes_max);
  if (counter_ == std::numeric_limits<std::uint64_t>::max()) return WireError::counter_exhausted;
  const std::size_t sealed_bytes = frame_kind_bytes + body.size() + frame_tag_bytes;
  Bytes frame(frame_length_prefix_bytes + sealed_bytes);
  for (std::size_t i = 0; i < frame_length_prefix_bytes; ++i) {
    frame[i] = static_cast<std::uint8_t>(sealed_bytes >> (8 * i));
  }
  // The plaintext is laid out in place, then encrypted over itself.
  std::uint8_t* plaintext = frame.data() + frame_length_prefix_bytes;
  plaintext[0] = static_cast<std::uint8_t>(kind);
  std::copy(body.begin(), body.end(), plaintext + frame_kind_bytes);
  const auto nonce = nonce_for(counter_);
  unsigned long long written = 0;
  PC_CHECK(crypto_aead_chacha20poly1305_ietf_encrypt(plaintext, &written, plaintext, frame_kind_bytes + body.size(),
                                                     frame.data(), frame_length_prefix_bytes, nullptr, nonce.data(),
                                                     key_.data()) == 0);
  PC_CHECK(written == sealed_bytes);
  ++counter_;
  return frame;
}

FrameOpener::~FrameOpener() { crypto::wipe(key_.data(), key_.size()); }

Result<OpenedFrame, WireError> FrameOpener::open(ByteSpan prefix, ByteSpan sealed) {
  if (prefix.size() != frame_length_prefix_bytes) return WireError::bad_size;
  if (sealed.size() < frame_sealed_bytes_min) return WireError::frame_too_small;
  if (sealed.size() > frame_sealed_bytes_max) return WireError::frame_too_large;
  if (counter_ == std::numeric_limits<std::uint64_t>::max()) return WireError::counter_exhausted;
  Bytes plaintext(sealed.size() - frame_tag_bytes);
  const auto nonce = nonce_for(counter_);
  unsigned long long written = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(plaintext.data(), &written, nullptr, sealed.data(), sealed.size(),
                                                prefix.data(), prefix.size(), nonce.data(), key_.data()) != 0) {
    return WireError::authentication_failed;
  }
  PC_CHECK(written == plaintext.size());
  const std::uint8_t kind = plaintext[0];
  // Frame 0 is the Auth and nothing else is; a message frame comes only after it.
  const bool control = kind == static_cast<std::uint8_t>(FrameKind::ping) ||
                       kind == static_cast<std::uint8_t>(FrameKind::pong);
  const bool expected = counter_ == 0 ? kind == static_cast<std::uint8_t>(FrameKind::auth)
                                      : kind == static_cast<std::uint8_t>(FrameKind::message) ||
                                            (control && plaintext.size() == frame_kind_bytes);
  ++counter_;
  if (!expected) return WireError::unexpected_kind;
  OpenedFrame frame;
  frame.kind = static_cast<FrameKind>(kind);
  frame.body.assign(plaintext.begin() + frame_kind_bytes, plaintext.end());
  return frame;
}

}  // namespace pc::node::p2p
