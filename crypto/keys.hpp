// ed25519 keys and signatures on top of libsodium.
//
// Verification is strict: see docs/crypto.md for exactly what is rejected. A signature
// valid under verify() here is valid for every conforming ed25519 verifier; the converse does
// not hold, on purpose (small-order or non-canonical keys and non-canonical S never verify).
#pragma once

#include <string>

#include "crypto/bytes.hpp"

namespace pc::crypto {

using PublicKey = FixedBytes<32>;
using Signature = FixedBytes<64>;
using Seed = FixedBytes<32>;

// Must be called once before anything else in this library (calls sodium_init). Throws
// std::runtime_error if libsodium cannot start. Safe to call more than once.
void initialize();

// A secret ed25519 key. Move-only; the secret bytes are wiped with sodium_memzero when the
// object is destroyed or moved from. Not thread-safe to mutate; const use is thread-safe.
class SecretKey {
 public:
  // Deterministic: the same seed always gives the same key (tests use fixed seeds).
  static SecretKey from_seed(const Seed& seed);
  // A fresh key from libsodium's CSPRNG.
  static SecretKey generate();

  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey();

  const PublicKey& public_key() const { return public_key_; }
  Signature sign(ByteSpan message) const;

  // Copies the 32-byte seed into `out`; the caller wipes it (sodium_memzero) when done.
  void copy_seed(Seed& out) const;

 private:
  SecretKey() = default;
  FixedBytes<64> secret_{};  // libsodium layout: seed || public key
  PublicKey public_key_{};
};

// True when the key is a canonical encoding of a point in the prime-order subgroup that is
// not of small order. Every key the ledger accepts (partners, customers) must pass this.
[[nodiscard]] bool is_valid_public_key(const PublicKey& key);

// Strict ed25519 verification: the key must pass is_valid_public_key, S must be canonical
// (S < L), R must not be of small order, and the equation must hold. Thread-safe.
[[nodiscard]] bool verify(const PublicKey& key, ByteSpan message, const Signature& signature);

// verify() without the subgroup check of the key, for keys the caller has already checked
// with is_valid_public_key (partner keys at genesis load). The subgroup check costs about a
// scalar multiplication, so skipping it for known keys matters on the hot path.
[[nodiscard]] bool verify_prevalidated(const PublicKey& key, ByteSpan message, const Signature& signature);

// Wipes a buffer holding secret material.
void wipe(void* data, std::size_t size);

}  // namespace pc::crypto
