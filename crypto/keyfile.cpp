#include "crypto/keyfile.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "crypto/check.hpp"

namespace pc::crypto {
namespace {

constexpr std::string_view magic = "PCKEY1";
constexpr std::uint8_t kdf_argon2id_v13 = 0x02;

// Byte offsets of the fields in the file; see keyfile.hpp.
constexpr std::size_t kdf_at = 6;
constexpr std::size_t opslimit_at = 7;
constexpr std::size_t memlimit_at = 15;
constexpr std::size_t salt_at = 23;
constexpr std::size_t nonce_at = 39;
constexpr std::size_t ciphertext_at = 63;

constexpr std::size_t aead_key_bytes = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
constexpr std::size_t ciphertext_bytes = sizeof(Seed) + crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(nonce_at - salt_at == crypto_pwhash_SALTBYTES);
static_assert(ciphertext_at - nonce_at == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(ciphertext_at + ciphertext_bytes == key_file_bytes);

// Generous for any real key file, yet a hostile file cannot make us allocate more than this.
constexpr std::uint64_t max_memlimit_bytes = std::uint64_t{1} << 30;

// Holds secret bytes and wipes them on every path out of scope.
template <std::size_t N>
struct SecretBuffer {
  FixedBytes<N> bytes{};
  SecretBuffer() = default;
  SecretBuffer(const SecretBuffer&) = delete;
  SecretBuffer& operator=(const SecretBuffer&) = delete;
  ~SecretBuffer() { wipe(bytes.data(), bytes.size()); }
};

void store_u64_le(std::uint64_t value, std::uint8_t* out) {
  for (std::size_t i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(value >> (8 * i));
}

std::uint64_t load_u64_le(const std::uint8_t* in) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 8; ++i) value |= std::uint64_t{in[i]} << (8 * i);
  return value;
}

bool accepted(const KdfLimits& limits) {
  return limits.opslimit >= crypto_pwhash_argon2id_OPSLIMIT_MIN &&
         limits.opslimit <= crypto_pwhash_argon2id_OPSLIMIT_SENSITIVE &&
         limits.memlimit_bytes >= crypto_pwhash_argon2id_MEMLIMIT_MIN &&
         limits.memlimit_bytes <= max_memlimit_bytes;
}

bool derive_key(std::string_view passphrase, const std::uint8_t* salt, const KdfLimits& limits,
                FixedBytes<aead_key_bytes>& key) {
  return crypto_pwhash(key.data(), key.size(), passphrase.data(), passphrase.size(), salt,
                       limits.opslimit, static_cast<std::size_t>(limits.memlimit_bytes),
                       crypto_pwhash_ALG_ARGON2ID13) == 0;
}

bool write_all(int fd, ByteSpan bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    bytes = bytes.subspan(static_cast<std::size_t>(written));
  }
  return true;
}

}  // namespace

std::string_view describe(KeyFileError error) {
  switch (error) {
    case KeyFileError::io: return "cannot read or write the key file";
    case KeyFileError::bad_format: return "not a key file (wrong size, magic or kdf)";
    case KeyFileError::unsupported_params: return "key file asks for key derivation limits we do not accept";
    case KeyFileError::wrong_passphrase: return "wrong passphrase, or the key file was altered";
    case KeyFileError::already_exists: return "key file already exists; refusing to overwrite it";
  }
  return "unknown key file error";
}

KdfLimits KdfLimits::interactive() {
  return {crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE, crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE};
}

KdfLimits KdfLimits::minimum() {
  return {crypto_pwhash_argon2id_OPSLIMIT_MIN, crypto_pwhash_argon2id_MEMLIMIT_MIN};
}

Bytes seal_key(const SecretKey& key, std::string_view passphrase, KdfLimits limits) {
  // Sealing with limits open_key would refuse would lock the key away for good.
  PC_CHECK(accepted(limits));
  Bytes file(key_file_bytes);
  std::copy(magic.begin(), magic.end(), file.begin());
  file[kdf_at] = kdf_argon2id_v13;
  store_u64_le(limits.opslimit, &file[opslimit_at]);
  store_u64_le(limits.memlimit_bytes, &file[memlimit_at]);
  randombytes_buf(&file[salt_at], nonce_at - salt_at);
  randombytes_buf(&file[nonce_at], ciphertext_at - nonce_at);

  SecretBuffer<aead_key_bytes> aead_key;
  PC_CHECK(derive_key(passphrase, &file[salt_at], limits, aead_key.bytes));
  SecretBuffer<sizeof(Seed)> seed;
  key.copy_seed(seed.bytes);
  crypto_aead_xchacha20poly1305_ietf_encrypt(&file[ciphertext_at], nullptr, seed.bytes.data(), seed.bytes.size(),
                                             file.data(), ciphertext_at, nullptr, &file[nonce_at],
                                             aead_key.bytes.data());
  return file;
}

Result<SecretKey, KeyFileError> open_key(ByteSpan file, std::string_view passphrase) {
  if (file.size() != key_file_bytes || !std::equal(magic.begin(), magic.end(), file.begin()) ||
      file[kdf_at] != kdf_argon2id_v13) {
    return KeyFileError::bad_format;
  }
  const KdfLimits limits{load_u64_le(&file[opslimit_at]), load_u64_le(&file[memlimit_at])};
  if (!accepted(limits)) return KeyFileError::unsupported_params;

  SecretBuffer<aead_key_bytes> aead_key;
  // Within the accepted limits this fails only when the memory cannot be had on this machine.
  if (!derive_key(passphrase, &file[salt_at], limits, aead_key.bytes)) return KeyFileError::unsupported_params;
  SecretBuffer<sizeof(Seed)> seed;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(seed.bytes.data(), nullptr, nullptr, &file[ciphertext_at],
                                                 ciphertext_bytes, file.data(), ciphertext_at, &file[nonce_at],
                                                 aead_key.bytes.data()) != 0) {
    return KeyFileError::wrong_passphrase;
  }
  return SecretKey::from_seed(seed.bytes);
}

Result<void, KeyFileError> write_key_file(const std::filesystem::path& path, const SecretKey& key,
                                          std::string_view passphrase, KdfLimits limits) {
  // O_EXCL makes "refuse to overwrite" atomic; creating first also spares the key derivation
  // when the file is already there.
  const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return errno == EEXIST ? KeyFileError::already_exists : KeyFileError::io;
  const Bytes file = seal_key(key, passphrase, limits);
  bool durable = write_all(fd, file) && ::fsync(fd) == 0;
  durable = ::close(fd) == 0 && durable;
  if (!durable) {
    // A half-written key file would later read as bad_format and hide the real failure.
    ::unlink(path.c_str());
    return KeyFileError::io;
  }
  return {};
}

Result<SecretKey, KeyFileError> read_key_file(const std::filesystem::path& path, std::string_view passphrase) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return KeyFileError::io;
  // One byte more than a key file holds is enough to tell that a file is too long.
  Bytes file(key_file_bytes + 1);
  std::size_t filled = 0;
  bool failed = false;
  while (filled < file.size()) {
    const ssize_t got = ::read(fd, &file[filled], file.size() - filled);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) failed = true;
    if (got <= 0) break;
    filled += static_cast<std::size_t>(got);
  }
  ::close(fd);
  if (failed) return KeyFileError::io;
  file.resize(filled);
  return open_key(file, passphrase);
}

}  // namespace pc::crypto
