// open_key on arbitrary bytes with a fixed passphrase. Properties:
//  - a file whose header asks for key-derivation limits outside what open_key accepts
//    (opslimit above libsodium's SENSITIVE, memlimit above 1 GiB, or either below
//    libsodium's minimum) is refused with unsupported_params, before any derivation;
//  - a file that opens yields a key that seals and opens again to the same key.
//
// Speed: every header inside the accepted limits costs one Argon2id derivation. Only headers
// at exactly libsodium's minimum limits (1 pass, 8 KiB) are derived here; the others in the
// accepted range are skipped, or a single input could spend seconds and 1 GiB in Argon2
// without reaching any code a cheaper input does not reach. The seed corpus is a real file
// sealed at the minimum limits, so the AEAD and the successful path stay covered.
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/keyfile.hpp"
#include "fuzz/fuzz_support.hpp"

namespace {

constexpr std::string_view passphrase = "fuzz passphrase";
constexpr std::string_view magic = "PCKEY1";
constexpr std::size_t kdf_at = 6;
constexpr std::size_t opslimit_at = 7;
constexpr std::size_t memlimit_at = 15;
constexpr std::uint8_t kdf_argon2id_v13 = 0x02;
// keyfile.hpp: "guards against a file that would make us spend gigabytes or hours".
constexpr std::uint64_t memlimit_bytes_refused_above = std::uint64_t{1} << 30;

std::uint64_t load_u64_le(const std::uint8_t* in) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 8; ++i) value |= std::uint64_t{in[i]} << (8 * i);
  return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using pc::crypto::KeyFileError;
  pc::fuzz::initialize_once();
  const pc::ByteSpan file(data, size);

  const bool well_formed = size == pc::crypto::key_file_bytes &&
                           std::equal(magic.begin(), magic.end(), file.begin()) &&
                           file[kdf_at] == kdf_argon2id_v13;
  if (well_formed) {
    const std::uint64_t opslimit = load_u64_le(&file[opslimit_at]);
    const std::uint64_t memlimit_bytes = load_u64_le(&file[memlimit_at]);
    const bool refused = opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
                         opslimit > crypto_pwhash_argon2id_OPSLIMIT_SENSITIVE ||
                         memlimit_bytes < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
                         memlimit_bytes > memlimit_bytes_refused_above;
    const bool minimum = opslimit == crypto_pwhash_argon2id_OPSLIMIT_MIN &&
                         memlimit_bytes == crypto_pwhash_argon2id_MEMLIMIT_MIN;
    if (!refused && !minimum) return 0;  // accepted but slow: see the comment at the top
    if (refused) {
      auto opened = pc::crypto::open_key(file, passphrase);
      FUZZ_CHECK(!opened.ok() && opened.error() == KeyFileError::unsupported_params);
      return 0;
    }
  }

  auto opened = pc::crypto::open_key(file, passphrase);
  if (!well_formed) {
    FUZZ_CHECK(!opened.ok() && opened.error() == KeyFileError::bad_format);
    return 0;
  }
  if (!opened) {
    FUZZ_CHECK(opened.error() == KeyFileError::wrong_passphrase);
    return 0;
  }
  const pc::Bytes resealed =
      pc::crypto::seal_key(*opened, passphrase, pc::crypto::KdfLimits::minimum());
  auto reopened = pc::crypto::open_key(resealed, passphrase);
  FUZZ_CHECK(reopened.ok());
  FUZZ_CHECK(reopened->public_key() == opened->public_key());
  return 0;
}
