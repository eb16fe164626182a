// Encrypted key files: the 32-byte ed25519 seed sealed with XChaCha20-Poly1305 under a key
// derived from a passphrase by Argon2id. Layout (all integers little-endian), 111 bytes:
//
//   magic "PCKEY1" (6) | kdf 0x02 = Argon2id v1.3 (1) | opslimit u64 (8) | memlimit u64 (8)
//   | salt (16) | nonce (24) | ciphertext of the seed with its 16-byte tag (48)
//
// The first 63 bytes (everything before the ciphertext) are the AEAD's associated data, so a
// change to any byte of the file is detected.
#pragma once

#include <filesystem>
#include <string_view>

#include "crypto/keys.hpp"
#include "crypto/result.hpp"

namespace pc::crypto {

enum class KeyFileError {
  io,                  // cannot read or write the file
  bad_format,          // wrong size, magic or kdf byte
  unsupported_params,  // opslimit/memlimit outside what we accept (guards against a file
                       // that would make us spend gigabytes or hours deriving a key)
  wrong_passphrase,    // authentication failed: wrong passphrase, or the file was altered
  already_exists,      // write refused to overwrite an existing file
};

std::string_view describe(KeyFileError error);

struct KdfLimits {
  std::uint64_t opslimit;
  std::uint64_t memlimit_bytes;
  // libsodium's interactive limits: the default for node and wallet keys.
  static KdfLimits interactive();
  // libsodium's minimum limits: only for tests, where thousands of derivations would be slow.
  static KdfLimits minimum();
};

constexpr std::size_t key_file_bytes = 111;

Bytes seal_key(const SecretKey& key, std::string_view passphrase, KdfLimits limits);
Result<SecretKey, KeyFileError> open_key(ByteSpan file, std::string_view passphrase);

// File helpers: write creates the file with mode 0600 and refuses to overwrite.
Result<void, KeyFileError> write_key_file(const std::filesystem::path& path, const SecretKey& key,
                                          std::string_view passphrase, KdfLimits limits);
Result<SecretKey, KeyFileError> read_key_file(const std::filesystem::path& path,
                                              std::string_view passphrase);

}  // namespace pc::crypto
