#include "wallet-cli/wallet_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <system_error>

#include "crypto/keyfile.hpp"
#include "wallet-cli/exit_codes.hpp"

namespace pc::wallet {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail_to_open(const fs::path& path, crypto::KeyFileError error) {
  if (error == crypto::KeyFileError::wrong_passphrase) {
    throw Failure(Exit::wallet_unreadable, "wrong passphrase for " + path.string() + " (or the file was altered)");
  }
  throw Failure(Exit::wallet_unreadable,
                "cannot open the wallet " + path.string() + ": " + std::string(crypto::describe(error)));
}

// Reads a whole key file; anything larger than a key file is damaged, so reading stops there.
Bytes read_key_file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Failure(Exit::wallet_file, "cannot read " + path.string());
  Bytes bytes;
  char byte = 0;
  while (bytes.size() <= crypto::key_file_bytes && in.get(byte)) bytes.push_back(static_cast<std::uint8_t>(byte));
  if (bytes.size() != crypto::key_file_bytes) {
    throw Failure(Exit::wallet_unreadable, path.string() + " is not a Pointchain key file (wrong size)");
  }
  return bytes;
}

void make_parent_folder(const fs::path& path) {
  const fs::path parent = path.parent_path();
  if (parent.empty() || fs::exists(parent)) return;
  std::error_code error;
  fs::create_directories(parent, error);
  if (error) throw Failure(Exit::wallet_file, "cannot create " + parent.string() + ": " + error.message());
  // The folder holds secret material, even if encrypted: only its owner may list it.
  fs::permissions(parent, fs::perms::owner_all, error);
}

// Creates `path` with mode 0600, refusing to overwrite, and writes `bytes` durably.
void write_new_file(const fs::path& path, const Bytes& bytes) {
  make_parent_folder(path);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) throw Failure(Exit::wallet_file, path.string() + " already exists; not overwriting it");
    throw Failure(Exit::wallet_file, "cannot create " + path.string() + ": " + std::generic_category().message(errno));
  }
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t count = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (count <= 0) break;
    written += static_cast<std::size_t>(count);
  }
  const bool synced = written == bytes.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) {
    std::error_code ignored;
    fs::remove(path, ignored);
    throw Failure(Exit::wallet_file, "cannot write " + path.string());
  }
}

}  // namespace

void require_wallet_exists(const fs::path& wallet_path) {
  std::error_code error;
  if (!fs::exists(wallet_path, error)) {
    throw Failure(Exit::wallet_file, "no wallet file at " + wallet_path.string());
  }
}

void require_wallet_absent(const fs::path& wallet_path) {
  std::error_code error;
  if (fs::exists(wallet_path, error)) {
    throw Failure(Exit::wallet_file, wallet_path.string() + " already exists; not overwriting it");
  }
}

crypto::PublicKey create_wallet(const fs::path& wallet_path, const Passphrase& passphrase) {
  require_wallet_absent(wallet_path);
  make_parent_folder(wallet_path);
  const crypto::SecretKey key = crypto::SecretKey::generate();
  const auto written = crypto::write_key_file(wallet_path, key, passphrase.view(), crypto::KdfLimits::interactive());
  if (!written) {
    if (written.error() == crypto::KeyFileError::already_exists) require_wallet_absent(wallet_path);
    throw Failure(Exit::wallet_file, "cannot write " + wallet_path.string() + ": " +
                                         std::string(crypto::describe(written.error())));
  }
  return key.public_key();
}

crypto::SecretKey open_wallet(const fs::path& wallet_path, const Passphrase& passphrase) {
  require_wallet_exists(wallet_path);
  const Bytes bytes = read_key_file_bytes(wallet_path);
  auto key = crypto::open_key(bytes, passphrase.view());
  if (!key) fail_to_open(wallet_path, key.error());
  return std::move(key).value();
}

void export_wallet(const fs::path& wallet_path, const fs::path& out_path) {
  require_wallet_exists(wallet_path);
  write_new_file(out_path, read_key_file_bytes(wallet_path));
}

crypto::PublicKey import_wallet(const fs::path& in_path, const fs::path& wallet_path,
                                const Passphrase& passphrase) {
  std::error_code error;
  if (!fs::exists(in_path, error)) throw Failure(Exit::wallet_file, "no file at " + in_path.string());
  require_wallet_absent(wallet_path);
  const Bytes bytes = read_key_file_bytes(in_path);
  const auto key = crypto::open_key(bytes, passphrase.view());
  if (!key) fail_to_open(in_path, key.error());
  write_new_file(wallet_path, bytes);
  return key->public_key();
}

}  // namespace pc::wallet
