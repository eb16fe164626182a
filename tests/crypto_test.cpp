#include <sodium.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "crypto/address.hpp"
#include "crypto/hash.hpp"
#include "crypto/keyfile.hpp"
#include "crypto/keys.hpp"
#include "crypto/table_hash.hpp"
#include "tests/fixtures.hpp"

using namespace pc;
using namespace pc::crypto;

namespace {

Bytes unhex(std::string_view hex) {
  auto bytes = from_hex(hex);
  REQUIRE(bytes.has_value());
  return *bytes;
}

template <std::size_t N>
FixedBytes<N> unhex_fixed(std::string_view hex) {
  auto bytes = fixed_from_hex<N>(hex);
  REQUIRE(bytes.has_value());
  return *bytes;
}

// ---------------------------------------------------------------------------------------------
// Raw curve arithmetic, so the tests can build the signatures a lax verifier would accept and
// show which check turns each one away.

using Scalar = FixedBytes<32>;
using Point = FixedBytes<32>;

Scalar reduce_wide(const FixedBytes<64>& wide) {
  Scalar scalar{};
  crypto_core_ed25519_scalar_reduce(scalar.data(), wide.data());
  return scalar;
}

// h = SHA-512(R || A || M) mod L, the scalar every ed25519 verifier recomputes.
Scalar challenge(const Point& r, const PublicKey& key, ByteSpan message) {
  crypto_hash_sha512_state state;
  crypto_hash_sha512_init(&state);
  crypto_hash_sha512_update(&state, r.data(), r.size());
  crypto_hash_sha512_update(&state, key.data(), key.size());
  crypto_hash_sha512_update(&state, message.data(), message.size());
  FixedBytes<64> wide{};
  crypto_hash_sha512_final(&state, wide.data());
  return reduce_wide(wide);
}

// Deterministic nonces keep every crafted signature identical from run to run.
Scalar test_nonce(std::uint32_t counter) {
  FixedBytes<64> wide{};
  const std::string label = "pointchain crypto test nonce " + std::to_string(counter);
  crypto_hash_sha512(wide.data(), as_bytes(label).data(), label.size());
  return reduce_wide(wide);
}

// The secret scalar a with A = aB, derived from the seed exactly as RFC 8032 section 5.1.5.
Scalar secret_scalar(const Seed& seed) {
  FixedBytes<64> digest{};
  crypto_hash_sha512(digest.data(), seed.data(), seed.size());
  digest[0] &= 248;
  digest[31] &= 127;
  digest[31] |= 64;
  std::fill(digest.begin() + 32, digest.end(), std::uint8_t{0});
  return reduce_wide(digest);
}

Point base_times(const Scalar& scalar) {
  Point point{};
  REQUIRE(crypto_scalarmult_ed25519_base_noclamp(point.data(), scalar.data()) == 0);
  return point;
}

Point times(const Scalar& scalar, const Point& point) {
  Point product{};
  REQUIRE(crypto_scalarmult_ed25519_noclamp(product.data(), scalar.data(), point.data()) == 0);
  return product;
}

Point add(const Point& p, const Point& q) {
  Point sum{};
  REQUIRE(crypto_core_ed25519_add(sum.data(), p.data(), q.data()) == 0);
  return sum;
}

Point subtract(const Point& p, const Point& q) {
  Point difference{};
  REQUIRE(crypto_core_ed25519_sub(difference.data(), p.data(), q.data()) == 0);
  return difference;
}

Scalar multiply_add(const Scalar& x, const Scalar& y, const Scalar& z) {  // x*y + z mod L
  Scalar product{};
  crypto_core_ed25519_scalar_mul(product.data(), x.data(), y.data());
  Scalar sum{};
  crypto_core_ed25519_scalar_add(sum.data(), product.data(), z.data());
  return sum;
}

Signature assemble(const Point& r, const Scalar& s) {
  Signature signature{};
  std::copy(r.begin(), r.end(), signature.begin());
  std::copy(s.begin(), s.end(), signature.begin() + 32);
  return signature;
}

bool sodium_accepts(const PublicKey& key, ByteSpan message, const Signature& signature) {
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(), key.data()) == 0;
}

// Multiplying by h kills a component of order dividing 8 exactly when 8 divides h.
bool multiple_of_eight(const Scalar& h) { return (h[0] & 7) == 0; }

// The group order L, little-endian.
const Scalar group_order = fixed_from_hex<32>("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010").value();

// A point of order 8 (libsodium's own blocklist entry), used to add a torsion component.
const Point order_eight_point =
    fixed_from_hex<32>("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05").value();

// Every encoding of a small-order point: the eight canonical ones, then six non-canonical
// aliases (x = 0 with the sign bit set, and y = p or p + 1).
const std::vector<std::string_view> small_order_encodings = {
    "0100000000000000000000000000000000000000000000000000000000000000",  // identity, order 1
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // (0, -1), order 2
    "0000000000000000000000000000000000000000000000000000000000000000",  // order 4
    "0000000000000000000000000000000000000000000000000000000000000080",  // order 4
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  // order 8
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",  // order 8
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",  // order 8
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",  // order 8
    "0100000000000000000000000000000000000000000000000000000000000080",  // identity, x = -0
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",  // order 2, x = -0
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // y = p, order 4
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",  // y = p, order 4
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // y = p + 1, identity
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",  // y = p + 1, identity
};

// ---------------------------------------------------------------------------------------------
// RFC 8032 section 7.1.

struct Rfc8032Vector {
  std::string_view name;
  std::string_view seed;
  std::string_view public_key;
  std::string_view message;
  std::string_view signature;
};

const Rfc8032Vector rfc8032_vectors[] = {
    {"TEST 1", "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"TEST 2", "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"TEST 3", "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
    {"TEST 1024", "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
     "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
     "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1"
     "e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d"
     "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a"
     "7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e"
     "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc10"
     "3b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1"
     "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d"
     "502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270"
     "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089b"
     "eccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba"
     "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969b"
     "e3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7"
     "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988d"
     "cda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df"
     "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7"
     "984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4"
     "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac09"
     "43bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f"
     "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f161"
     "0e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d"
     "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8ca"
     "c60c905c15fc910840b94c00a0b9d0",
     "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350"
     "aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03"},
    {"TEST SHA(abc)", "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
     "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"},
};

SecretKey rfc8032_test1_key() { return SecretKey::from_seed(unhex_fixed<32>(rfc8032_vectors[0].seed)); }

SecretKey label_key(std::string_view label) { return SecretKey::from_seed(sha256(as_bytes(label))); }

// ---------------------------------------------------------------------------------------------
// An address encoder written independently of address.cpp (bit by bit rather than through an
// accumulator), so the tests can craft payloads address.cpp would never produce.

constexpr std::string_view address_alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

// Sized up front and filled with std::copy: GCC 12 at -O3 (Release) reports a false
// -Warray-bounds on vector::insert into the one-byte vector.
Bytes address_payload(std::uint8_t version, const PublicKey& key) {
  Bytes payload(1 + key.size() + 4);
  payload[0] = version;
  std::copy(key.begin(), key.end(), payload.begin() + 1);
  const Hash256 digest = tagged_hash(domain::address_checksum, {ByteSpan(payload).first(1 + key.size())});
  std::copy(digest.begin(), digest.begin() + 4, payload.begin() + 1 + static_cast<std::ptrdiff_t>(key.size()));
  return payload;
}

std::string reference_address(ByteSpan payload) {
  std::string address = "pc";
  for (std::size_t first_bit = 0; first_bit < 300; first_bit += 5) {
    std::size_t value = 0;
    for (std::size_t bit = first_bit; bit < first_bit + 5; ++bit) {
      const bool set = bit < payload.size() * 8 && ((payload[bit / 8] >> (7 - bit % 8)) & 1) != 0;
      value = value * 2 + (set ? 1 : 0);
    }
    address.push_back(address_alphabet[value]);
  }
  return address;
}

std::size_t alphabet_value(char c) { return address_alphabet.find(c); }

std::string uppercase(std::string text) {
  for (char& c : text) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return text;
}

// ---------------------------------------------------------------------------------------------

void write_raw(const std::filesystem::path& path, ByteSpan bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

// ===== hex =====================================================================================

// to_hex writes lowercase and from_hex reads either case and refuses odd or non-hex input.
TEST_CASE("hex encodes lowercase and decodes strictly", "[crypto][hex]") {
  const Bytes bytes = {0x00, 0x01, 0xab, 0xff};
  CHECK(to_hex(bytes) == "0001abff");
  CHECK(from_hex("0001ABff") == bytes);
  CHECK(from_hex("") == Bytes{});
  CHECK_FALSE(from_hex("abc").has_value());
  CHECK_FALSE(from_hex("0g").has_value());
  CHECK_FALSE(from_hex(" 0").has_value());
  CHECK_FALSE(fixed_from_hex<2>("000102").has_value());
  CHECK(fixed_from_hex<2>("0102") == FixedBytes<2>{1, 2});
  // Every byte value as either digit: exactly 0-9, a-f and A-F decode, to their value.
  for (int code = 0; code < 256; ++code) {
    const char c = static_cast<char>(code);
    const std::string_view digits = "0123456789abcdef";
    const std::size_t lower = digits.find(static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c));
    INFO("byte " << code);
    if (code != 0 && lower != std::string_view::npos) {
      CHECK(from_hex(std::string{c, '0'}) == Bytes{static_cast<std::uint8_t>(lower * 16)});
      CHECK(from_hex(std::string{'0', c}) == Bytes{static_cast<std::uint8_t>(lower)});
    } else {
      CHECK_FALSE(from_hex(std::string{c, '0'}).has_value());
      CHECK_FALSE(from_hex(std::string{'0', c}).has_value());
    }
  }
}

// ===== SHA-256 =================================================================================

// sha256 matches the FIPS 180-2 / NIST known answers, including the one-million-'a' message.
TEST_CASE("sha256 matches the NIST known answers", "[crypto][sha256]") {
  CHECK(to_hex(sha256(as_bytes(""))) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(to_hex(sha256(as_bytes("abc"))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(to_hex(sha256(as_bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

  const std::string thousand_a(1000, 'a');
  Sha256 million_a;
  for (int i = 0; i < 1000; ++i) million_a.update(as_bytes(thousand_a));
  CHECK(to_hex(million_a.finish()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Incremental hashing only concatenates: any split of the input gives the one-shot digest.
TEST_CASE("Sha256 over parts equals sha256 of their concatenation", "[crypto][sha256]") {
  const std::string text = "the quick brown fox jumps over the lazy dog, twice over";
  for (std::size_t split = 0; split <= text.size(); ++split) {
    const std::string_view view = text;
    CHECK(Sha256().update(as_bytes(view.substr(0, split))).update(as_bytes(view.substr(split))).finish() ==
          sha256(as_bytes(text)));
  }
}

// On a CPU with the SHA instructions Sha256 runs its own code over them (crypto/hash.cpp); it
// must give libsodium's digest for every length across several blocks, fed whole or in two or
// three parts that straddle the block boundaries.
TEST_CASE("Sha256 gives libsodium's digest at every length and split", "[crypto][sha256]") {
  Bytes input(300);
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<std::uint8_t>(i * 131 + 7);
  for (std::size_t length = 0; length <= input.size(); ++length) {
    const ByteSpan message(input.data(), length);
    Hash256 expected{};
    crypto_hash_sha256(expected.data(), message.data(), message.size());
    REQUIRE(sha256(message) == expected);
    for (std::size_t first = 0; first <= length; first += 7) {
      REQUIRE(Sha256().update(message.first(first)).update(message.subspan(first)).finish() == expected);
      const std::size_t second = (length - first) / 2;
      REQUIRE(Sha256()
                  .update(message.first(first))
                  .update(message.subspan(first, second))
                  .update(message.subspan(first + second))
                  .finish() == expected);
    }
  }
}

// tagged_hash(prefix, parts) is exactly SHA-256 of the four prefix bytes followed by the parts.
TEST_CASE("tagged_hash is sha256 of the prefix followed by the parts", "[crypto][sha256]") {
  const Bytes first = {1, 2, 3};
  const Bytes second = {4, 5};
  Bytes concatenated = {'P', 'C', 'T', 'X', 1, 2, 3, 4, 5};
  CHECK(tagged_hash(domain::tx_id, {first, second}) == sha256(concatenated));
  CHECK(tagged_hash(domain::merkle_empty, {}) == sha256(as_bytes("PCME")));
  CHECK(tagged_hash(domain::tx_id, {first, second}) != tagged_hash(domain::tx_signature, {first, second}));
}

// Every domain prefix is a distinct four-letter ASCII tag, so no two kinds of hash can collide.
TEST_CASE("table_hash is SipHash-2-4 of the id under one key for the whole process", "[crypto][table_hash]") {
  // Proves the hash-table hash is a function of the id alone within a run (the same id, the
  // same value, as an unordered_set needs) and spreads ids that differ only in their last
  // bytes: it is not a prefix of the id, which a peer choosing ids could make equal.
  std::set<std::uint64_t> values;
  for (int i = 0; i < 1'000; ++i) {
    crypto::Hash256 id{};
    id[31] = static_cast<std::uint8_t>(i);
    id[30] = static_cast<std::uint8_t>(i >> 8);
    CHECK(crypto::table_hash(id) == crypto::table_hash(id));
    values.insert(crypto::table_hash(id));
  }
  // Every id above shares its first 30 bytes: a hash of a prefix would put them in one bucket.
  CHECK(values.size() == 1'000);
  const crypto::Hash256 zero{};
  CHECK(crypto::TableHash{}(zero) == static_cast<std::size_t>(crypto::table_hash(zero)));
}

TEST_CASE("domain prefixes are distinct", "[crypto][domains]") {
  const std::vector<domain::Prefix> prefixes = {
      domain::tx_id,       domain::tx_signature, domain::block_id,      domain::make("PCCV"),  // retired
      domain::proposal,    domain::prevote,      domain::precommit,
      domain::merkle_leaf, domain::merkle_node,  domain::merkle_empty,  domain::state_changes,
      domain::state_chain, domain::genesis,      domain::address_checksum, domain::p2p_handshake};
  CHECK(std::set<domain::Prefix>(prefixes.begin(), prefixes.end()).size() == prefixes.size());
  for (const auto& prefix : prefixes) {
    CHECK(prefix[0] == 'P');
    CHECK(prefix[1] == 'C');
  }
}

// ===== ed25519 =================================================================================

// Keys from the RFC 8032 seeds sign byte for byte as the RFC says; any flipped bit fails.
TEST_CASE("ed25519 reproduces the RFC 8032 section 7.1 test vectors", "[crypto][ed25519][rfc8032]") {
  for (const auto& vector : rfc8032_vectors) {
    INFO(vector.name);
    const SecretKey key = SecretKey::from_seed(unhex_fixed<32>(vector.seed));
    const PublicKey public_key = unhex_fixed<32>(vector.public_key);
    const Bytes message = unhex(vector.message);
    const Signature expected = unhex_fixed<64>(vector.signature);

    CHECK(key.public_key() == public_key);
    CHECK(key.sign(message) == expected);
    CHECK(is_valid_public_key(public_key));
    CHECK(verify(public_key, message, expected));
    CHECK(verify_prevalidated(public_key, message, expected));

    Bytes altered_message = message;
    if (altered_message.empty()) {
      altered_message.push_back(0);
    } else {
      altered_message.back() ^= 0x01;
    }
    CHECK_FALSE(verify(public_key, altered_message, expected));

    for (std::size_t bit = 0; bit < expected.size() * 8; ++bit) {
      Signature altered = expected;
      altered[bit / 8] ^= static_cast<std::uint8_t>(1U << (bit % 8));
      INFO("signature bit " << bit);
      CHECK_FALSE(verify(public_key, message, altered));
    }
    for (std::size_t bit = 0; bit < public_key.size() * 8; ++bit) {
      PublicKey altered = public_key;
      altered[bit / 8] ^= static_cast<std::uint8_t>(1U << (bit % 8));
      INFO("key bit " << bit);
      CHECK_FALSE(verify(altered, message, expected));
    }
  }
}

// A seed round-trips through copy_seed, and the same seed always gives the same key.
TEST_CASE("SecretKey is deterministic from its seed", "[crypto][ed25519]") {
  const Seed seed = sha256(as_bytes("deterministic"));
  const SecretKey first = SecretKey::from_seed(seed);
  const SecretKey second = SecretKey::from_seed(seed);
  CHECK(first.public_key() == second.public_key());
  Seed copied{};
  first.copy_seed(copied);
  CHECK(copied == seed);
  wipe(copied.data(), copied.size());
  CHECK(copied == Seed{});

  const SecretKey fresh = SecretKey::generate();
  const SecretKey other = SecretKey::generate();
  CHECK(fresh.public_key() != other.public_key());
  CHECK(verify(fresh.public_key(), as_bytes("hello"), fresh.sign(as_bytes("hello"))));
  CHECK_FALSE(verify(other.public_key(), as_bytes("hello"), fresh.sign(as_bytes("hello"))));
}

// Moving a SecretKey carries the key over and leaves nothing secret in the source.
TEST_CASE("a moved-from SecretKey is wiped", "[crypto][ed25519]") {
  SecretKey source = label_key("move me");
  const PublicKey public_key = source.public_key();
  Seed seed{};
  source.copy_seed(seed);

  SecretKey constructed(std::move(source));
  Seed left_behind{1};
  source.copy_seed(left_behind);  // NOLINT(bugprone-use-after-move): checking the wipe
  CHECK(left_behind == Seed{});
  CHECK(source.public_key() == PublicKey{});  // NOLINT(bugprone-use-after-move)
  CHECK(constructed.public_key() == public_key);

  SecretKey assigned = label_key("overwritten");
  assigned = std::move(constructed);
  left_behind.fill(1);
  constructed.copy_seed(left_behind);  // NOLINT(bugprone-use-after-move)
  CHECK(left_behind == Seed{});
  Seed moved_seed{};
  assigned.copy_seed(moved_seed);
  CHECK(moved_seed == seed);
  CHECK(verify(public_key, as_bytes("m"), assigned.sign(as_bytes("m"))));
}

// ===== ed25519 strictness ======================================================================

// Every small-order key admits a forgery on any message; libsodium and verify both refuse it.
TEST_CASE("small-order public keys are rejected", "[crypto][ed25519][strict]") {
  const Bytes message = unhex("666f72676564");
  for (const auto encoding : small_order_encodings) {
    INFO("key " << encoding);
    const PublicKey key = unhex_fixed<32>(encoding);
    CHECK_FALSE(is_valid_public_key(key));

    // With hA = 0, (R, S) = (rB, r) satisfies SB = R + hA without knowing any secret.
    std::uint32_t counter = 0;
    Scalar r = test_nonce(counter);
    while (!multiple_of_eight(challenge(base_times(r), key, message))) r = test_nonce(++counter);
    const Point big_r = base_times(r);
    const Signature forgery = assemble(big_r, r);

    CHECK_FALSE(sodium_accepts(key, message, forgery));
    CHECK_FALSE(verify_prevalidated(key, message, forgery));
    CHECK_FALSE(verify(key, message, forgery));
  }
}

// S + L satisfies the same equation as S, yet a non-canonical S is refused, by libsodium itself.
TEST_CASE("a signature with non-canonical S (S + L) is rejected", "[crypto][ed25519][strict]") {
  const SecretKey key = rfc8032_test1_key();
  const Bytes message;
  const Signature signature = key.sign(message);
  REQUIRE(verify(key.public_key(), message, signature));

  Signature malleated = signature;
  unsigned carry = 0;
  for (std::size_t i = 0; i < 32; ++i) {
    const unsigned sum = malleated[32 + i] + group_order[i] + carry;
    malleated[32 + i] = static_cast<std::uint8_t>(sum);
    carry = sum >> 8;
  }
  REQUIRE(carry == 0);
  FixedBytes<64> wide{};
  std::copy(malleated.begin() + 32, malleated.end(), wide.begin());
  Scalar original_s{};
  std::copy(signature.begin() + 32, signature.end(), original_s.begin());
  REQUIRE(reduce_wide(wide) == original_s);  // the same scalar modulo L

  CHECK_FALSE(sodium_accepts(key.public_key(), message, malleated));
  CHECK_FALSE(verify(key.public_key(), message, malleated));
}

// A small-order R, even one that satisfies the equation (R = identity, S = ha), is refused.
TEST_CASE("a signature with small-order R is rejected even when the equation holds", "[crypto][ed25519][strict]") {
  const Seed seed = unhex_fixed<32>(rfc8032_vectors[0].seed);
  const SecretKey key = SecretKey::from_seed(seed);
  const Scalar a = secret_scalar(seed);
  REQUIRE(base_times(a) == key.public_key());

  const Bytes message = unhex("72");
  const Point identity = unhex_fixed<32>(small_order_encodings[0]);
  const Scalar h = challenge(identity, key.public_key(), message);
  const Scalar s = multiply_add(h, a, Scalar{});
  REQUIRE(base_times(s) == times(h, key.public_key()));  // SB = hA = R + hA

  const Signature signature = assemble(identity, s);
  CHECK_FALSE(sodium_accepts(key.public_key(), message, signature));
  CHECK_FALSE(verify(key.public_key(), message, signature));
}

// All 38 encodings with y >= p (both sign bits) are refused as keys.
TEST_CASE("non-canonical public key encodings (y >= p) are rejected", "[crypto][ed25519][strict]") {
  const SecretKey signer = rfc8032_test1_key();
  const Signature signature = signer.sign(Bytes{});
  for (unsigned excess = 0; excess < 19; ++excess) {
    for (const std::uint8_t sign : {std::uint8_t{0x00}, std::uint8_t{0x80}}) {
      PublicKey key{};  // y = p + excess = 2^255 - 19 + excess, little-endian
      key.fill(0xff);
      key[0] = static_cast<std::uint8_t>(0xed + excess);
      key[31] = static_cast<std::uint8_t>(0x7f | sign);
      INFO("key " << to_hex(key));
      CHECK_FALSE(is_valid_public_key(key));
      CHECK_FALSE(verify(key, Bytes{}, signature));
      CHECK_FALSE(sodium_accepts(key, Bytes{}, signature));
    }
  }
}

// A valid key plus a point of order 8 passes libsodium's own key checks: libsodium then
// accepts a signature whenever 8 divides h. Only is_valid_public_key (and so verify) refuses it.
TEST_CASE("a public key with a torsion component is rejected by verify but not by libsodium",
          "[crypto][ed25519][strict]") {
  const Seed seed = unhex_fixed<32>(rfc8032_vectors[0].seed);
  const SecretKey honest = SecretKey::from_seed(seed);
  const Scalar a = secret_scalar(seed);
  const PublicKey mixed = add(honest.public_key(), order_eight_point);

  CHECK(is_valid_public_key(honest.public_key()));
  CHECK_FALSE(is_valid_public_key(mixed));

  const Bytes message = unhex("746f7273696f6e");
  std::uint32_t counter = 0;
  Scalar r = test_nonce(counter);
  while (!multiple_of_eight(challenge(base_times(r), mixed, message))) r = test_nonce(++counter);
  const Point big_r = base_times(r);
  const Signature signature = assemble(big_r, multiply_add(challenge(big_r, mixed, message), a, r));

  CHECK(sodium_accepts(mixed, message, signature));  // the gap this library closes
  CHECK(verify_prevalidated(mixed, message, signature));
  CHECK_FALSE(verify(mixed, message, signature));

  // With h not a multiple of 8 the same key fails even in libsodium: it verifies only sometimes.
  ++counter;
  r = test_nonce(counter);
  while (multiple_of_eight(challenge(base_times(r), mixed, message))) r = test_nonce(++counter);
  const Point other_r = base_times(r);
  const Signature unlucky = assemble(other_r, multiply_add(challenge(other_r, mixed, message), a, r));
  CHECK_FALSE(sodium_accepts(mixed, message, unlucky));
}

// libsodium checks SB = R + hA without the cofactor: an R with a torsion component fails,
// although the cofactored check [8](SB - R - hA) = 0 of other verifiers would pass it.
TEST_CASE("a signature whose R has a torsion component is rejected (cofactorless equation)",
          "[crypto][ed25519][strict]") {
  const Seed seed = unhex_fixed<32>(rfc8032_vectors[1].seed);
  const SecretKey key = SecretKey::from_seed(seed);
  const Scalar a = secret_scalar(seed);
  const Bytes message = unhex("72");

  const Scalar r = test_nonce(7);
  const Point mixed_r = add(base_times(r), order_eight_point);
  const Scalar h = challenge(mixed_r, key.public_key(), message);
  const Scalar s = multiply_add(h, a, r);
  const Signature signature = assemble(mixed_r, s);

  // SB - R - hA is the negated order-8 point (sign bit flipped), which [8] sends to the identity.
  Point negated_torsion = order_eight_point;
  negated_torsion[31] ^= 0x80;
  CHECK(subtract(subtract(base_times(s), mixed_r), times(h, key.public_key())) == negated_torsion);

  CHECK_FALSE(sodium_accepts(key.public_key(), message, signature));
  CHECK_FALSE(verify(key.public_key(), message, signature));
}

// ===== addresses ===============================================================================

namespace {
const char* const golden_test1_address = "pc07bnn601gargndyn9fzd7jb40wx0xrbjyfdac8s5nw11mt7q0x8hm3tavm50";
}  // namespace

// Encoding then decoding gives the key back, in 62 characters of the documented alphabet,
// identical to an independent bit-by-bit encoding of version || key || checksum.
TEST_CASE("addresses round-trip and match the reference encoding", "[crypto][address]") {
  std::vector<PublicKey> keys;
  for (const auto& vector : rfc8032_vectors) keys.push_back(unhex_fixed<32>(vector.public_key));
  for (int i = 0; i < 32; ++i) keys.push_back(label_key("address key " + std::to_string(i)).public_key());

  for (const auto& key : keys) {
    const std::string address = encode_address(key);
    INFO(address);
    CHECK(address.size() == 62);
    CHECK(address.substr(0, 2) == "pc");
    CHECK(address.find_first_not_of(address_alphabet, 2) == std::string::npos);
    CHECK(address == reference_address(address_payload(0x01, key)));
    const auto decoded = decode_address(address);
    REQUIRE(decoded.ok());
    CHECK(*decoded == key);
  }
}

// The address of the RFC 8032 TEST 1 public key is pinned (reproduce with docs/crypto.md).
TEST_CASE("address golden vector for the RFC 8032 TEST 1 key", "[crypto][address]") {
  const PublicKey key = unhex_fixed<32>(rfc8032_vectors[0].public_key);
  CHECK(encode_address(key) == golden_test1_address);
  const auto decoded = decode_address(golden_test1_address);
  REQUIRE(decoded.ok());
  CHECK(*decoded == key);
}

// Decoding ignores case and reads the look-alikes i, l as 1 and o as 0.
TEST_CASE("address decoding accepts upper case and look-alike characters", "[crypto][address]") {
  const PublicKey key = unhex_fixed<32>(rfc8032_vectors[0].public_key);
  const std::string address = encode_address(key);

  const auto upper = decode_address(uppercase(address));
  REQUIRE(upper.ok());
  CHECK(*upper == key);

  std::string look_alikes = address;
  std::size_t replaced = 0;
  for (std::size_t i = 2; i < look_alikes.size(); ++i) {
    const char substitutes[] = {'i', 'L', 'l', 'I'};
    if (look_alikes[i] == '1') look_alikes[i] = substitutes[replaced++ % 4];
    if (look_alikes[i] == '0') look_alikes[i] = (replaced++ % 2 == 0) ? 'o' : 'O';
  }
  REQUIRE(replaced > 0);
  const auto decoded = decode_address(look_alikes);
  REQUIRE(decoded.ok());
  CHECK(*decoded == key);
}

// Each AddressError comes from an input crafted to fail that one check.
TEST_CASE("every AddressError is reported for a crafted input", "[crypto][address]") {
  const PublicKey key = label_key("crafted").public_key();
  const std::string good = encode_address(key);
  const auto error_of = [](std::string_view address) {
    const auto result = decode_address(address);
    REQUIRE_FALSE(result.ok());
    return result.error();
  };

  CHECK(error_of("") == AddressError::bad_prefix);
  CHECK(error_of("p") == AddressError::bad_prefix);
  CHECK(error_of("px" + good.substr(2)) == AddressError::bad_prefix);
  CHECK(error_of("cp" + good.substr(2)) == AddressError::bad_prefix);

  CHECK(error_of("pc") == AddressError::bad_length);
  CHECK(error_of(good.substr(0, 61)) == AddressError::bad_length);
  CHECK(error_of(good + "0") == AddressError::bad_length);

  for (const char bad : {'u', 'U', '!', ' ', '-', '\0', '\xff'}) {
    std::string address = good;
    address[20] = bad;
    CHECK(error_of(address) == AddressError::bad_character);
  }

  for (std::size_t pad = 1; pad < 16; ++pad) {
    std::string address = good;
    address.back() = address_alphabet[(alphabet_value(good.back()) & 0x10) | pad];
    CHECK(error_of(address) == AddressError::bad_padding);
  }

  for (const std::uint8_t version : {std::uint8_t{0x00}, std::uint8_t{0x02}, std::uint8_t{0x81}, std::uint8_t{0xff}}) {
    CHECK(error_of(reference_address(address_payload(version, key))) == AddressError::unsupported_version);
  }

  Bytes wrong_checksum = address_payload(0x01, key);
  wrong_checksum[34] ^= 0x01;
  CHECK(error_of(reference_address(wrong_checksum)) == AddressError::bad_checksum);

  for (const auto encoding : small_order_encodings) {
    CHECK(error_of(reference_address(address_payload(0x01, unhex_fixed<32>(encoding)))) ==
          AddressError::invalid_key);
  }
  const PublicKey mixed = add(key, order_eight_point);
  CHECK(error_of(reference_address(address_payload(0x01, mixed))) == AddressError::invalid_key);
  // A lookup skips only the key check: the same address decodes to its key, and a checksum
  // typo is still caught.
  const auto looked_up = pc::crypto::decode_address(reference_address(address_payload(0x01, mixed)),
                                                    pc::crypto::KeyCheck::checksum_only);
  REQUIRE(looked_up.ok());
  CHECK(*looked_up == mixed);
  CHECK(pc::crypto::decode_address(reference_address(wrong_checksum), pc::crypto::KeyCheck::checksum_only).error() ==
        AddressError::bad_checksum);

  for (const auto error : {AddressError::bad_prefix, AddressError::bad_length, AddressError::bad_character,
                           AddressError::bad_padding, AddressError::unsupported_version,
                           AddressError::bad_checksum, AddressError::invalid_key}) {
    CHECK_FALSE(describe(error).empty());
  }
}

// With several faults at once, the first failing check in the documented order is reported.
TEST_CASE("address checks run in the documented order", "[crypto][address]") {
  const PublicKey key = label_key("ordered").public_key();
  const PublicKey identity = unhex_fixed<32>(small_order_encodings[0]);
  const auto error_of = [](std::string_view address) { return decode_address(address).error(); };
  const auto with_padding = [](std::string address) {
    address.back() = address_alphabet[(alphabet_value(address.back()) & 0x10) | 0x01];
    return address;
  };

  CHECK(error_of("xx" + std::string(70, 'u')) == AddressError::bad_prefix);
  CHECK(error_of("pc" + std::string(59, 'u')) == AddressError::bad_length);
  CHECK(error_of(with_padding("pc" + std::string(59, 'u') + "0")) == AddressError::bad_character);
  CHECK(error_of(with_padding(reference_address(address_payload(0x02, key)))) == AddressError::bad_padding);

  Bytes version_and_checksum = address_payload(0x02, key);
  version_and_checksum[36] ^= 0x80;
  CHECK(error_of(reference_address(version_and_checksum)) == AddressError::unsupported_version);

  Bytes checksum_and_key = address_payload(0x01, identity);
  checksum_and_key[36] ^= 0x80;
  CHECK(error_of(reference_address(checksum_and_key)) == AddressError::bad_checksum);
}

// Any one-character substitution or adjacent swap is caught; none decodes to a key.
TEST_CASE("a single-character typo anywhere in an address is caught", "[crypto][address]") {
  for (const char* label : {"typo one", "typo two", "typo three"}) {
    const std::string address = encode_address(label_key(label).public_key());
    for (std::size_t position = 0; position < address.size(); ++position) {
      for (const char replacement : address_alphabet) {
        if (replacement == address[position]) continue;
        std::string typo = address;
        typo[position] = replacement;
        INFO(typo);
        const auto result = decode_address(typo);
        REQUIRE_FALSE(result.ok());
        if (position < 2) {
          CHECK(result.error() == AddressError::bad_prefix);
        } else {
          CHECK((result.error() == AddressError::bad_checksum || result.error() == AddressError::bad_padding ||
                 result.error() == AddressError::unsupported_version));
        }
      }
    }
    for (std::size_t position = 2; position + 1 < address.size(); ++position) {
      if (address[position] == address[position + 1]) continue;
      std::string swapped = address;
      std::swap(swapped[position], swapped[position + 1]);
      INFO(swapped);
      CHECK_FALSE(decode_address(swapped).ok());
    }
  }
}

// ===== key files ===============================================================================

// A sealed key opens with its passphrase into the same key, in the documented 111-byte layout.
TEST_CASE("a sealed key file opens with its passphrase", "[crypto][keyfile]") {
  const SecretKey key = label_key("sealed");
  const Bytes file = seal_key(key, "correct horse battery staple", KdfLimits::minimum());
  REQUIRE(file.size() == key_file_bytes);
  CHECK(std::string(file.begin(), file.begin() + 6) == "PCKEY1");
  CHECK(file[6] == 0x02);
  CHECK(to_hex(ByteSpan(file).subspan(7, 8)) == "0100000000000000");   // opslimit 1
  CHECK(to_hex(ByteSpan(file).subspan(15, 8)) == "0020000000000000");  // memlimit 8192

  const auto opened = open_key(file, "correct horse battery staple");
  REQUIRE(opened.ok());
  CHECK(opened->public_key() == key.public_key());
  Seed original{};
  Seed recovered{};
  key.copy_seed(original);
  opened->copy_seed(recovered);
  CHECK(original == recovered);

  // Fresh salt and nonce every time: sealing twice never gives the same bytes.
  const Bytes again = seal_key(key, "correct horse battery staple", KdfLimits::minimum());
  CHECK(again != file);
  CHECK(open_key(again, "correct horse battery staple").ok());
}

// The file is exactly the documented layout: libsodium alone, given only keyfile.hpp's
// description, derives the key and opens the ciphertext with the first 63 bytes as AD.
TEST_CASE("a key file decrypts independently following the documented layout", "[crypto][keyfile]") {
  const SecretKey key = label_key("layout");
  const Bytes file = seal_key(key, "pass", KdfLimits::minimum());
  const auto read_u64 = [&](std::size_t at) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < 8; ++i) value |= std::uint64_t{file[at + i]} << (8 * i);
    return value;
  };
  FixedBytes<32> aead_key{};
  const std::string_view passphrase = "pass";
  REQUIRE(crypto_pwhash(aead_key.data(), aead_key.size(), passphrase.data(), passphrase.size(), &file[23],
                        read_u64(7), static_cast<std::size_t>(read_u64(15)), crypto_pwhash_ALG_ARGON2ID13) == 0);
  Seed seed{};
  CHECK(crypto_aead_xchacha20poly1305_ietf_decrypt(seed.data(), nullptr, nullptr, &file[63], 48, file.data(), 63,
                                                   &file[39], aead_key.data()) == 0);
  CHECK(SecretKey::from_seed(seed).public_key() == key.public_key());
  CHECK(crypto_aead_xchacha20poly1305_ietf_decrypt(seed.data(), nullptr, nullptr, &file[63], 48, nullptr, 0,
                                                   &file[39], aead_key.data()) != 0);
}

// The worked example of docs/crypto.md, "Key files": its 111 bytes (made with libsodium alone
// from the table, with the salt and nonce the document gives) open under the real open_key
// to customer 1's key, and the documented derived key is what Argon2id gives.
TEST_CASE("golden: the documented key file opens to customer 1's key", "[crypto][keyfile][golden]") {
  const Bytes file = unhex(
      "50434b4559310201000000000000000020000000000000000102030405060708090a0b0c0d0e0f10111213141516"
      "1718191a1b1c1d1e1f2021222324252627fdebd6c7e6a11c42e8674054e83b429315a198c1ce8c9e682aad59a510"
      "9c159cb934a50bb9e2df62783b5b69b8a9c3fb");
  REQUIRE(file.size() == key_file_bytes);
  const std::string_view passphrase = "correct horse battery staple";
  const auto opened = open_key(file, passphrase);
  REQUIRE(opened.ok());
  CHECK(opened->public_key() == label_key("customer 1").public_key());
  CHECK(to_hex(opened->public_key()) == "1fe5df78e45a92e24236b4d7ab4fc6be8854e95f1ca27e7f4bb8c19ea8d56650");
  FixedBytes<32> aead_key{};
  REQUIRE(crypto_pwhash(aead_key.data(), aead_key.size(), passphrase.data(), passphrase.size(), &file[23], 1, 8192,
                        crypto_pwhash_ALG_ARGON2ID13) == 0);
  CHECK(to_hex(aead_key) == "d17ea6341ca93da6079ea2f64dc4aa31dd1aaf9caa67fb42ac4afd0714706f26");
  CHECK(open_key(file, "correct horse battery stapl").error() == KeyFileError::wrong_passphrase);
}

// A different passphrase, even one character off or empty, fails authentication.
TEST_CASE("a key file refuses a wrong passphrase", "[crypto][keyfile]") {
  const Bytes file = seal_key(label_key("passphrase"), "hunter2", KdfLimits::minimum());
  for (const std::string_view wrong : {"hunter3", "Hunter2", "hunter2 ", ""}) {
    const auto opened = open_key(file, wrong);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error() == KeyFileError::wrong_passphrase);
  }
}

// Changing any one byte of the file is detected: the header is authenticated data.
TEST_CASE("a key file with any byte altered does not open", "[crypto][keyfile]") {
  const Bytes file = seal_key(label_key("tamper"), "pass", KdfLimits::minimum());
  for (const std::uint8_t mask : {std::uint8_t{0x01}, std::uint8_t{0x80}, std::uint8_t{0xff}}) {
    for (std::size_t position = 0; position < file.size(); ++position) {
      Bytes altered = file;
      altered[position] ^= mask;
      INFO("byte " << position << " xor " << int{mask});
      const auto opened = open_key(altered, "pass");
      REQUIRE_FALSE(opened.ok());
      if (position < 7) {
        CHECK(opened.error() == KeyFileError::bad_format);
      } else if (position < 23) {
        CHECK((opened.error() == KeyFileError::unsupported_params ||
               opened.error() == KeyFileError::wrong_passphrase));
      } else {
        CHECK(opened.error() == KeyFileError::wrong_passphrase);
      }
    }
  }
}

// Any length other than 111 bytes is bad_format, before any key derivation.
TEST_CASE("a truncated or extended key file is bad_format", "[crypto][keyfile]") {
  const Bytes file = seal_key(label_key("truncate"), "pass", KdfLimits::minimum());
  for (std::size_t length = 0; length < file.size(); ++length) {
    const auto opened = open_key(ByteSpan(file).first(length), "pass");
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error() == KeyFileError::bad_format);
  }
  Bytes extended = file;
  extended.push_back(0);
  CHECK(open_key(extended, "pass").error() == KeyFileError::bad_format);
}

// Limits outside [OPSLIMIT_MIN, OPSLIMIT_SENSITIVE] x [MEMLIMIT_MIN, 1 GiB] are refused
// before Argon2 runs, so a hostile file cannot cost gigabytes or hours.
TEST_CASE("key file KDF limits outside the accepted range are unsupported", "[crypto][keyfile]") {
  const Bytes file = seal_key(label_key("limits"), "pass", KdfLimits::minimum());
  const auto with_limits = [&](std::uint64_t opslimit, std::uint64_t memlimit) {
    Bytes altered = file;
    for (std::size_t i = 0; i < 8; ++i) {
      altered[7 + i] = static_cast<std::uint8_t>(opslimit >> (8 * i));
      altered[15 + i] = static_cast<std::uint8_t>(memlimit >> (8 * i));
    }
    return open_key(altered, "pass");
  };
  const std::uint64_t min_ops = crypto_pwhash_OPSLIMIT_MIN;
  const std::uint64_t min_mem = crypto_pwhash_MEMLIMIT_MIN;
  CHECK(with_limits(0, min_mem).error() == KeyFileError::unsupported_params);
  CHECK(with_limits(crypto_pwhash_OPSLIMIT_SENSITIVE + 1, min_mem).error() == KeyFileError::unsupported_params);
  CHECK(with_limits(UINT64_MAX, min_mem).error() == KeyFileError::unsupported_params);
  CHECK(with_limits(min_ops, min_mem - 1).error() == KeyFileError::unsupported_params);
  CHECK(with_limits(min_ops, (std::uint64_t{1} << 30) + 1).error() == KeyFileError::unsupported_params);
  CHECK(with_limits(min_ops, UINT64_MAX).error() == KeyFileError::unsupported_params);
  // Accepted limits that differ from the sealed ones derive another key: authentication fails.
  CHECK(with_limits(min_ops + 1, min_mem).error() == KeyFileError::wrong_passphrase);

  for (const auto error : {KeyFileError::io, KeyFileError::bad_format, KeyFileError::unsupported_params,
                           KeyFileError::wrong_passphrase, KeyFileError::already_exists}) {
    CHECK_FALSE(describe(error).empty());
  }
}

// The default (interactive) limits are libsodium's and are themselves accepted by open_key.
TEST_CASE("interactive KDF limits seal and open", "[crypto][keyfile][slow]") {
  const KdfLimits limits = KdfLimits::interactive();
  CHECK(limits.opslimit == crypto_pwhash_OPSLIMIT_INTERACTIVE);
  CHECK(limits.memlimit_bytes == crypto_pwhash_MEMLIMIT_INTERACTIVE);
  const SecretKey key = label_key("interactive");
  const auto opened = open_key(seal_key(key, "pass", limits), "pass");
  REQUIRE(opened.ok());
  CHECK(opened->public_key() == key.public_key());
}

// write_key_file creates a 0600 file, never overwrites, and read_key_file opens it again.
TEST_CASE("key files on disk are private and never overwritten", "[crypto][keyfile]") {
  const pc::test::TempDir directory;
  const auto path = directory.path() / "node.key";
  const SecretKey key = label_key("on disk");

  REQUIRE(write_key_file(path, key, "pass", KdfLimits::minimum()).ok());
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  CHECK(std::filesystem::file_size(path) == key_file_bytes);

  const auto read = read_key_file(path, "pass");
  REQUIRE(read.ok());
  CHECK(read->public_key() == key.public_key());

  const auto overwrite = write_key_file(path, label_key("intruder"), "pass", KdfLimits::minimum());
  REQUIRE_FALSE(overwrite.ok());
  CHECK(overwrite.error() == KeyFileError::already_exists);
  const auto still = read_key_file(path, "pass");
  REQUIRE(still.ok());
  CHECK(still->public_key() == key.public_key());

  CHECK(read_key_file(path, "wrong").error() == KeyFileError::wrong_passphrase);
  CHECK(read_key_file(directory.path() / "missing.key", "pass").error() == KeyFileError::io);
  CHECK(write_key_file(directory.path() / "no" / "such" / "dir.key", key, "pass", KdfLimits::minimum()).error() ==
        KeyFileError::io);

  Bytes too_long = seal_key(key, "pass", KdfLimits::minimum());
  too_long.push_back(0);
  write_raw(directory.path() / "long.key", too_long);
  CHECK(read_key_file(directory.path() / "long.key", "pass").error() == KeyFileError::bad_format);
  write_raw(directory.path() / "empty.key", Bytes{});
  CHECK(read_key_file(directory.path() / "empty.key", "pass").error() == KeyFileError::bad_format);
}
