// This node's keys in data_dir/keys, as encrypted key files (crypto/keyfile.hpp):
//   validator.key  signs block commits
//   issuer.key     signs the partner's Issue and Reverse transactions
//   passphrase     only in a demo data dir that `run` made by itself (mode 0600)
// and where the passphrase that opens them comes from. Start-up code: failures throw
// std::runtime_error with a message for the operator.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "crypto/keyfile.hpp"

namespace pc::node {

struct NodeKeys {
  crypto::SecretKey validator;
  crypto::SecretKey issuer;
};

std::filesystem::path keys_directory(const std::filesystem::path& data_dir);
std::filesystem::path stored_passphrase_path(const std::filesystem::path& data_dir);

// Creates data_dir/keys (mode 0700) holding two fresh keys sealed with `passphrase`.
// Refuses when data_dir/keys exists, so keys are never overwritten.
NodeKeys create_node_keys(const std::filesystem::path& data_dir, std::string_view passphrase,
                          crypto::KdfLimits limits);
NodeKeys load_node_keys(const std::filesystem::path& data_dir, std::string_view passphrase);

// Where a passphrase may come from, tried in this order:
//   1. `file` (--passphrase-file): its first line;
//   2. the environment variable POINTCHAIN_PASSPHRASE;
//   3. `stored_file` when it exists (a demo data dir's keys/passphrase);
//   4. a prompt without echo when standard input is a terminal (asked twice when `confirm`).
struct PassphraseSources {
  std::optional<std::filesystem::path> file;
  std::optional<std::filesystem::path> stored_file;
  bool confirm = false;
};
inline constexpr char passphrase_environment_variable[] = "POINTCHAIN_PASSPHRASE";

// Throws when no source gives one, naming the ways to give it. An empty passphrase is refused.
std::string obtain_passphrase(const PassphraseSources& sources);
std::string read_passphrase_file(const std::filesystem::path& path);
// Creates `path` with mode 0600; refuses to overwrite.
void write_passphrase_file(const std::filesystem::path& path, std::string_view passphrase);

// `bytes` random bytes from libsodium's CSPRNG, as lowercase hex (API tokens, passphrases).
std::string random_hex(std::size_t bytes);

}  // namespace pc::node
