// The transport's byte layouts (node/p2p/wire.hpp): the worked example of docs/p2p.md pinned
// byte for byte, and the decoders' answers to every kind of bad input. ed25519 signatures and
// ChaCha20-Poly1305 under fixed keys are deterministic, so the hex is stable.
#include <catch2/catch.hpp>
#include <limits>

#include "node/p2p/wire.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc;
using namespace pc::node::p2p;

// The worked example: partner 2's node dials partner 1's on the test genesis
// (tests/fixtures.hpp), with ephemeral keys from fixed seeds.
struct Example {
  ledger::Genesis genesis = test::make_genesis();
  crypto::SecretKey dialer_key = test::seeded_key("partner 2 validator");
  crypto::SecretKey acceptor_key = test::seeded_key("partner 1 validator");
  EphemeralKey dialer_ephemeral = EphemeralKey::from_seed(crypto::sha256(as_bytes("dialer ephemeral")));
  EphemeralKey acceptor_ephemeral = EphemeralKey::from_seed(crypto::sha256(as_bytes("acceptor ephemeral")));

  Bytes dialer_hello() const { return encode_hello({genesis.hash(), dialer_ephemeral.public_key()}); }
  Bytes acceptor_hello() const { return encode_hello({genesis.hash(), acceptor_ephemeral.public_key()}); }
  SessionKeys dialer_keys() const {
    auto keys = SessionKeys::derive(Role::dialer, dialer_ephemeral, acceptor_ephemeral.public_key());
    REQUIRE(keys.ok());
    return *keys;
  }
  SessionKeys acceptor_keys() const {
    auto keys = SessionKeys::derive(Role::acceptor, acceptor_ephemeral, dialer_ephemeral.public_key());
    REQUIRE(keys.ok());
    return *keys;
  }
  Bytes transcript(Role role) const {
    const bool dialer = role == Role::dialer;
    return auth_transcript(role, genesis.chain_id, genesis.hash(), dialer_ephemeral.public_key(),
                           acceptor_ephemeral.public_key(), dialer ? 2 : 1,
                           dialer ? dialer_key.public_key() : acceptor_key.public_key());
  }
  Auth auth(Role role) const {
    const crypto::SecretKey& key = role == Role::dialer ? dialer_key : acceptor_key;
    return {static_cast<ledger::PartnerId>(role == Role::dialer ? 2 : 1), key.public_key(), key.sign(transcript(role))};
  }
};

Bytes hex(std::string_view text) {
  auto bytes = from_hex(text);
  REQUIRE(bytes);
  return *bytes;
}

Bytes text(std::string_view characters) { return Bytes(characters.begin(), characters.end()); }

Bytes seal(FrameSealer& sealer, FrameKind kind, ByteSpan body) {
  auto frame = sealer.seal(kind, body);
  REQUIRE(frame.ok());
  return *frame;
}

Result<OpenedFrame, WireError> open(FrameOpener& opener, ByteSpan frame) {
  return opener.open(frame.first(frame_length_prefix_bytes), frame.subspan(frame_length_prefix_bytes));
}

}  // namespace

// The worked example of docs/p2p.md, field by field: both hellos, the session keys, the
// dialer's transcript and Auth, both Auth frames and the dialer's first message frame. An
// independent implementation (Python's cryptography package) reproduces the same bytes: the
// snippet is in docs/p2p.md.
TEST_CASE("the handshake and frames of the worked example are pinned byte for byte", "[p2p][wire][golden]") {
  Example example;
  const std::string genesis_hash = "40b1e798703f2d2bf6053849e8bc374fed7abec869f3d9cf4fa4ef4749f93c2d";
  const std::string dialer_ephemeral = "cbc21819d64bb664aeb2dca85327f92c53697034392ad415d912e8c71d15a81c";
  const std::string acceptor_ephemeral = "a0ed5e76b12cf51849701462a6e676797049543632079a6e964657cc4e279e37";
  const std::string dialer_node_key = "5e3d72c4144009abafee28f04a36b620737faf7ebad7ca6d3bcccd467aa29643";
  CHECK(to_hex(example.genesis.hash()) == genesis_hash);

  CHECK(to_hex(example.dialer_hello()) == "50435032" "01" + genesis_hash + dialer_ephemeral);
  CHECK(to_hex(example.acceptor_hello()) == "50435032" "01" + genesis_hash + acceptor_ephemeral);
  const auto decoded = decode_hello(hex("50435032" "01" + genesis_hash + dialer_ephemeral));
  REQUIRE(decoded.ok());
  CHECK(decoded->ephemeral_key == example.dialer_ephemeral.public_key());

  const SessionKeys dialer = example.dialer_keys();
  CHECK(to_hex(dialer.send) == "52ee23fd0dfd9654a71832fe97e77fd0c1508ddc6925057d28bbfbc1f72b121e");
  CHECK(to_hex(dialer.receive) == "688804c674b845409a7edb3ea578aa03121f66f0bf962db24effa92b09773e54");

  CHECK(to_hex(example.transcript(Role::dialer)) ==
        "5043484b" "01" "01" "0a" "746573742d636861696e" + genesis_hash + dialer_ephemeral + acceptor_ephemeral +
            "0200" + dialer_node_key);
  const std::string signature =
      "21839c6bb43220e92de61cb8f5b01c263c8f8e5789ecb38dd13b4cd417e6e03b"
      "fb92a191d673d8bb099c0cc77f884a563275310e2c271b9eef786e447a25070c";
  CHECK(to_hex(encode_auth(example.auth(Role::dialer))) == "0200" + dialer_node_key + signature);

  FrameSealer sealer(dialer.send);
  const Bytes auth_frame = seal(sealer, FrameKind::auth, encode_auth(example.auth(Role::dialer)));
  CHECK(to_hex(auth_frame) ==
        "73000000"
        "fed62e217a1d0e779a8b8db182e385049c9b4dd17cc91724efc16e5eb67a1745206eb0ddac7b49a126aa5d923bbb43036f8adb3b"
        "ea3840181f18d4623978e184a8c7af7d2471cb8602131e37da0242d33ab818a6a39418157f9fec58135eddb2b8940b"
        "286ebc34024722db131f126ca5dd06ea");
  const Bytes message_frame = seal(sealer, FrameKind::message, as_bytes("hello, partner 1"));
  CHECK(to_hex(message_frame) == "21000000" "3d77e2140ecacda380afd4de43e0e55d66" "baa10befcc6f400f4d582994109144df");

  FrameSealer acceptor_sealer(example.acceptor_keys().send);
  CHECK(to_hex(seal(acceptor_sealer, FrameKind::auth, encode_auth(example.auth(Role::acceptor)))) ==
        "73000000"
        "72582b2417a357f6e7056f4368eabef20dfc2adac77c41a0ab9113625b106d5597a93a29e9a13517cf72072fcb797e53cadec2"
        "c0f8a0e10faceee7e2288f9ac9b393798d6d451b64970405a82e0402bc51406c044ca064b1b0fcd3b20f6753395199cb"
        "168ac201b8e797ea2e26e24bc4b88baf");

  // The acceptor opens both of the dialer's frames and checks the Auth's signature.
  FrameOpener opener(example.acceptor_keys().receive);
  auto opened_auth = open(opener, auth_frame);
  REQUIRE(opened_auth.ok());
  auto auth = decode_auth(opened_auth->body);
  REQUIRE(auth.ok());
  CHECK(auth->partner == 2);
  CHECK(crypto::verify(auth->node_key, example.transcript(Role::dialer), auth->signature));
  auto opened_message = open(opener, message_frame);
  REQUIRE(opened_message.ok());
  CHECK(opened_message->body == text("hello, partner 1"));
}

// A frame opens only as the next one of its direction under its key: replayed, reordered,
// dropped, truncated or altered frames (body or length prefix) all fail authentication.
TEST_CASE("frames open only in order, unaltered, under their direction's key", "[p2p][wire]") {
  Example example;
  const SessionKeys dialer = example.dialer_keys();
  const SessionKeys acceptor = example.acceptor_keys();
  CHECK(dialer.send == acceptor.receive);
  CHECK(dialer.receive == acceptor.send);
  CHECK(dialer.send != dialer.receive);

  FrameSealer sealer(dialer.send);
  const Bytes auth = seal(sealer, FrameKind::auth, encode_auth(example.auth(Role::dialer)));
  const Bytes first = seal(sealer, FrameKind::message, as_bytes("first"));
  const Bytes second = seal(sealer, FrameKind::message, as_bytes("second"));
  const Bytes third = seal(sealer, FrameKind::message, as_bytes("third"));

  SECTION("in order") {
    FrameOpener opener(acceptor.receive);
    REQUIRE(open(opener, auth).ok());
    auto opened = open(opener, first);
    REQUIRE(opened.ok());
    CHECK(opened->kind == FrameKind::message);
    CHECK(opened->body == text("first"));
    CHECK(open(opener, second).ok());
    CHECK(open(opener, third).ok());
  }
  SECTION("replayed") {
    FrameOpener opener(acceptor.receive);
    REQUIRE(open(opener, auth).ok());
    REQUIRE(open(opener, first).ok());
    CHECK(open(opener, first).error() == WireError::authentication_failed);
  }
  SECTION("reordered or dropped") {
    FrameOpener opener(acceptor.receive);
    REQUIRE(open(opener, auth).ok());
    CHECK(open(opener, second).error() == WireError::authentication_failed);
  }
  SECTION("truncated") {
    FrameOpener opener(acceptor.receive);
    REQUIRE(open(opener, auth).ok());
    Bytes cut = first;
    cut.pop_back();
    CHECK(open(opener, cut).error() == WireError::authentication_failed);
  }
  SECTION("a flipped bit anywhere, the length prefix included") {
    for (std::size_t i = 0; i < first.size(); ++i) {
      FrameOpener opener(acceptor.receive);
      REQUIRE(open(opener, auth).ok());
      Bytes altered = first;
      altered[i] ^= 0x80;
      CHECK(open(opener, altered).error() == WireError::authentication_failed);
    }
  }
  SECTION("the other direction's key") {
    FrameOpener opener(dialer.receive);
    CHECK(open(opener, auth).error() == WireError::authentication_failed);
  }
  SECTION("a message where the Auth belongs, or an Auth after it") {
    FrameSealer wrong(dialer.send);
    FrameOpener opener(acceptor.receive);
    CHECK(open(opener, seal(wrong, FrameKind::message, as_bytes("early"))).error() == WireError::unexpected_kind);
    FrameSealer twice(dialer.send);
    FrameOpener opener2(acceptor.receive);
    REQUIRE(open(opener2, seal(twice, FrameKind::auth, encode_auth(example.auth(Role::dialer)))).ok());
    CHECK(open(opener2, seal(twice, FrameKind::auth, encode_auth(example.auth(Role::dialer)))).error() ==
          WireError::unexpected_kind);
  }
}

TEST_CASE("pings and pongs open only empty and after the Auth", "[p2p][wire][keepalive]") {
  // Proves the keepalive frames' rule (docs/p2p.md, "Frames"): kinds 03 and 04 open with an
  // empty body after frame 0, and are unexpected as frame 0 or with a body.
  Example example;
  const SessionKeys dialer = example.dialer_keys();
  const SessionKeys acceptor = example.acceptor_keys();
  FrameSealer sealer(dialer.send);
  FrameOpener opener(acceptor.receive);
  REQUIRE(open(opener, seal(sealer, FrameKind::auth, encode_auth(example.auth(Role::dialer)))).ok());
  auto ping = open(opener, seal(sealer, FrameKind::ping, {}));
  REQUIRE(ping.ok());
  CHECK(ping->kind == FrameKind::ping);
  CHECK(ping->body.empty());
  auto pong = open(opener, seal(sealer, FrameKind::pong, {}));
  REQUIRE(pong.ok());
  CHECK(pong->kind == FrameKind::pong);
  CHECK(open(opener, seal(sealer, FrameKind::ping, as_bytes("x"))).error() == WireError::unexpected_kind);

  FrameSealer early(dialer.send);
  FrameOpener early_opener(acceptor.receive);
  CHECK(open(early_opener, seal(early, FrameKind::ping, {})).error() == WireError::unexpected_kind);
}

TEST_CASE("the last frame of a direction is number 2^64 - 2", "[p2p][wire]") {
  // Proves docs/p2p.md, "Frames": a sealer or opener at the counter's end refuses the next
  // frame (the transport then closes the connection), after sealing and opening the last.
  Example example;
  const SessionKeys dialer = example.dialer_keys();
  const SessionKeys acceptor = example.acceptor_keys();
  constexpr std::uint64_t last = std::numeric_limits<std::uint64_t>::max() - 1;
  FrameSealer sealer(dialer.send, last);
  FrameOpener opener(acceptor.receive, last);
  auto opened = open(opener, seal(sealer, FrameKind::message, as_bytes("last")));
  REQUIRE(opened.ok());
  CHECK(opened->body == Bytes{'l', 'a', 's', 't'});
  CHECK(sealer.seal(FrameKind::message, as_bytes("one more")).error() == WireError::counter_exhausted);
  // The opener refuses whatever comes next, before it decrypts anything.
  FrameSealer replay(dialer.send, last);
  CHECK(open(opener, seal(replay, FrameKind::message, as_bytes("one more"))).error() == WireError::counter_exhausted);
}

// The hello decoder names what is wrong: a stranger (magic), a later version, a wrong size.
TEST_CASE("hello decoding refuses a stranger, another version and a wrong size", "[p2p][wire]") {
  Example example;
  const Bytes hello = example.dialer_hello();
  REQUIRE(decode_hello(hello).ok());
  CHECK(decode_hello(hello)->ephemeral_key == example.dialer_ephemeral.public_key());
  Bytes stranger = hello;
  stranger[0] = 'G';
  CHECK(decode_hello(stranger).error() == WireError::bad_magic);
  Bytes later = hello;
  later[4] = 2;
  CHECK(decode_hello(later).error() == WireError::unsupported_version);
  CHECK(decode_hello(ByteSpan(hello).first(hello_bytes - 1)).error() == WireError::bad_size);
  CHECK(decode_hello(ByteSpan(hello).first(3)).error() == WireError::bad_size);
  Bytes longer = hello;
  longer.push_back(0);
  CHECK(decode_hello(longer).error() == WireError::bad_size);
}

// Auth bodies have one size; the length prefix is bounded on both sides by the limit in force.
TEST_CASE("auth bodies and frame lengths are bounded", "[p2p][wire]") {
  Example example;
  const Bytes auth = encode_auth(example.auth(Role::acceptor));
  REQUIRE(auth.size() == auth_body_bytes);
  CHECK(decode_auth(auth).value() == example.auth(Role::acceptor));
  CHECK(decode_auth(ByteSpan(auth).first(auth_body_bytes - 1)).error() == WireError::bad_size);

  auto prefix = [](std::uint32_t length) {
    return Bytes{static_cast<std::uint8_t>(length), static_cast<std::uint8_t>(length >> 8),
                 static_cast<std::uint8_t>(length >> 16), static_cast<std::uint8_t>(length >> 24)};
  };
  CHECK(decode_frame_length(prefix(auth_sealed_bytes), auth_sealed_bytes).value() == auth_sealed_bytes);
  CHECK(decode_frame_length(prefix(auth_sealed_bytes + 1), auth_sealed_bytes).error() == WireError::frame_too_large);
  CHECK(decode_frame_length(prefix(frame_sealed_bytes_max), frame_sealed_bytes_max).ok());
  CHECK(decode_frame_length(prefix(frame_sealed_bytes_max + 1), frame_sealed_bytes_max).error() ==
        WireError::frame_too_large);
  CHECK(decode_frame_length(prefix(0xffffffff), frame_sealed_bytes_max).error() == WireError::frame_too_large);
  CHECK(decode_frame_length(prefix(frame_sealed_bytes_min - 1), frame_sealed_bytes_max).error() ==
        WireError::frame_too_small);
  CHECK(decode_frame_length(prefix(0), frame_sealed_bytes_max).error() == WireError::frame_too_small);
  CHECK(frame_bytes_max == message_bytes_max + 21);
}

// A small-order X25519 key (here all zeros) would give session keys anyone can compute: the
// key exchange refuses it.
TEST_CASE("a small-order ephemeral key is refused", "[p2p][wire]") {
  Example example;
  const std::array<std::uint8_t, ephemeral_key_bytes> zero{};
  CHECK(SessionKeys::derive(Role::acceptor, example.acceptor_ephemeral, zero).error() == WireError::weak_ephemeral_key);
  CHECK(SessionKeys::derive(Role::dialer, example.dialer_ephemeral, zero).error() == WireError::weak_ephemeral_key);
}

// The two roles sign different transcripts, so an Auth cannot be reflected back to its signer.
TEST_CASE("the dialer's and the acceptor's transcripts differ", "[p2p][wire]") {
  Example example;
  const Bytes dialer = example.transcript(Role::dialer);
  const Bytes acceptor = example.transcript(Role::acceptor);
  CHECK(dialer != acceptor);
  const Auth auth = example.auth(Role::dialer);
  CHECK(crypto::verify(auth.node_key, dialer, auth.signature));
  const Bytes as_acceptor = auth_transcript(Role::acceptor, example.genesis.chain_id, example.genesis.hash(),
                                            example.dialer_ephemeral.public_key(),
                                            example.acceptor_ephemeral.public_key(), 2, auth.node_key);
  CHECK_FALSE(crypto::verify(auth.node_key, as_acceptor, auth.signature));
}
