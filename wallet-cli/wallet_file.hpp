// The wallet file: one encrypted key file (crypto/keyfile.hpp) holding the customer's ed25519
// seed; the file never holds the key in the clear and neither does anything the wallet
// writes. Failures throw Failure with the documented exit code (exit_codes.hpp).
#pragma once

#include <filesystem>

#include "crypto/keys.hpp"
#include "wallet-cli/passphrase.hpp"

namespace pc::wallet {

// A new key sealed under the passphrase with KdfLimits::interactive(), written with mode
// 0600 (its folder created with 0700 if missing). Refuses to overwrite (wallet_file).
crypto::PublicKey create_wallet(const std::filesystem::path& wallet_path, const Passphrase& passphrase);

// wallet_file if the file is missing; wallet_unreadable for a wrong passphrase or a damaged
// file.
crypto::SecretKey open_wallet(const std::filesystem::path& wallet_path, const Passphrase& passphrase);

// Throw wallet_file unless the wallet exists (or is absent): the checks a command makes
// before it asks for a passphrase.
void require_wallet_exists(const std::filesystem::path& wallet_path);
void require_wallet_absent(const std::filesystem::path& wallet_path);

// Copies the encrypted file byte for byte to `out_path`, which must not exist.
void export_wallet(const std::filesystem::path& wallet_path, const std::filesystem::path& out_path);

// Checks that the passphrase opens `in_path`, then installs a byte-for-byte copy as the
// wallet (which must not exist). Returns the key's public half.
crypto::PublicKey import_wallet(const std::filesystem::path& in_path,
                                const std::filesystem::path& wallet_path, const Passphrase& passphrase);

}  // namespace pc::wallet
