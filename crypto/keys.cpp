#include "crypto/keys.hpp"

#include <sodium.h>

#include <stdexcept>

namespace pc::crypto {
namespace {

// A moved-from key keeps nothing, not even the public half, so it cannot be mistaken for a key.
void clear(FixedBytes<64>& secret, PublicKey& public_key) {
  wipe(secret.data(), secret.size());
  public_key.fill(0);
}

}  // namespace

void initialize() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialize");
}

SecretKey SecretKey::from_seed(const Seed& seed) {
  SecretKey key;
  crypto_sign_seed_keypair(key.public_key_.data(), key.secret_.data(), seed.data());
  return key;
}

SecretKey SecretKey::generate() {
  SecretKey key;
  crypto_sign_keypair(key.public_key_.data(), key.secret_.data());
  return key;
}

SecretKey::SecretKey(SecretKey&& other) noexcept
    : secret_(other.secret_), public_key_(other.public_key_) {
  clear(other.secret_, other.public_key_);
}

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    secret_ = other.secret_;
    public_key_ = other.public_key_;
    clear(other.secret_, other.public_key_);
  }
  return *this;
}

SecretKey::~SecretKey() { clear(secret_, public_key_); }

Signature SecretKey::sign(ByteSpan message) const {
  Signature signature{};
  crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(), secret_.data());
  return signature;
}

void SecretKey::copy_seed(Seed& out) const { crypto_sign_ed25519_sk_to_seed(out.data(), secret_.data()); }

bool is_valid_public_key(const PublicKey& key) {
  // Checks canonical encoding, rejects the small-order blocklist, and multiplies by the group
  // order to reject any torsion component, which crypto_sign_verify_detached does not do.
  return crypto_core_ed25519_is_valid_point(key.data()) == 1;
}

bool verify(const PublicKey& key, ByteSpan message, const Signature& signature) {
  return is_valid_public_key(key) && verify_prevalidated(key, message, signature);
}

bool verify_prevalidated(const PublicKey& key, ByteSpan message, const Signature& signature) {
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(), key.data()) == 0;
}

void wipe(void* data, std::size_t size) { sodium_memzero(data, size); }

}  // namespace pc::crypto
