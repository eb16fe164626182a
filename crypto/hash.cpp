#include "crypto/hash.hpp"

#include <cpuid.h>
#include <immintrin.h>

#include <algorithm>
#include <cstring>

namespace pc::crypto {
namespace {

// The SHA-256 instructions (Intel SHA extensions), when the CPU has them: every transaction id,
// Merkle node and block digest is a SHA-256, and libsodium's portable code takes about three
// times as long for a Merkle node (bench/README.md). Same values (tests/crypto_test.cpp compares the two at every length
// and split up to several blocks, and the NIST answers).
bool has_sha_instructions() {
  // CPUID directly: Clang 14's __builtin_cpu_supports does not know "sha".
  static const bool has = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
    const bool ssse3_and_sse41 = (ecx & bit_SSSE3) != 0 && (ecx & bit_SSE4_1) != 0;
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) return false;
    return ssse3_and_sse41 && (ebx & bit_SHA) != 0;
  }();
  return has;
}

alignas(16) constexpr std::uint32_t round_constants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

// Runs the compression function over `blocks` 64-byte blocks. The instructions keep the state
// as (A, B, E, F) and (C, D, G, H) and the message schedule four words to a register.
__attribute__((target("sha,sse4.1"))) void compress_with_sha_instructions(std::uint32_t state[8],
                                                                          const std::uint8_t* data,
                                                                          std::size_t blocks) {
  const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i dcba = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&state[0]));
  __m128i hgfe = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&state[4]));
  const __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
  const __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
  __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
  __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
  for (; blocks > 0; --blocks, data += 64) {
    const __m128i abef_before = abef;
    const __m128i cdgh_before = cdgh;
    __m128i words[4];
    for (int group = 0; group < 16; ++group) {
      __m128i& current = words[group % 4];
      if (group < 4) {
        current = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 16 * group)), byte_swap);
      } else {
        // W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], four at a time.
        const __m128i& next = words[(group + 1) % 4];
        const __m128i& before_last = words[(group + 2) % 4];
        const __m128i& last = words[(group + 3) % 4];
        current = _mm_sha256msg2_epu32(
            _mm_add_epi32(_mm_sha256msg1_epu32(current, next), _mm_alignr_epi8(last, before_last, 4)), last);
      }
      __m128i message = _mm_add_epi32(current, _mm_load_si128(reinterpret_cast<const __m128i*>(&round_constants[4 * group])));
      cdgh = _mm_sha256rnds2_epu32(cdgh, abef, message);
      message = _mm_shuffle_epi32(message, 0x0E);
      abef = _mm_sha256rnds2_epu32(abef, cdgh, message);
    }
    abef = _mm_add_epi32(abef, abef_before);
    cdgh = _mm_add_epi32(cdgh, cdgh_before);
  }
  const __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
  const __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
  dcba = _mm_blend_epi16(feba, dchg, 0xF0);
  hgfe = _mm_alignr_epi8(dchg, feba, 8);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&state[0]), dcba);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&state[4]), hgfe);
}

void store_big_endian(std::uint8_t* out, std::uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i, value >>= 8) out[i] = static_cast<std::uint8_t>(value);
}

}  // namespace

Hash256 sha256(ByteSpan bytes) { return Sha256().update(bytes).finish(); }

// libsodium's state doubles as this one's: the same eight words, bit count and block buffer,
// kept the same way, whichever code runs.
Sha256::Sha256() { crypto_hash_sha256_init(&state_); }

Sha256& Sha256::update(ByteSpan bytes) {
  if (!has_sha_instructions()) {
    crypto_hash_sha256_update(&state_, bytes.data(), bytes.size());
    return *this;
  }
  const std::uint8_t* data = bytes.data();
  std::size_t size = bytes.size();
  std::size_t buffered = static_cast<std::size_t>((state_.count >> 3) & 63);
  state_.count += static_cast<std::uint64_t>(size) << 3;
  if (buffered > 0) {
    const std::size_t taken = std::min(size, 64 - buffered);
    std::memcpy(state_.buf + buffered, data, taken);
    data += taken;
    size -= taken;
    buffered += taken;
    if (buffered < 64) return *this;
    compress_with_sha_instructions(state_.state, state_.buf, 1);
  }
  compress_with_sha_instructions(state_.state, data, size / 64);
  std::memcpy(state_.buf, data + size / 64 * 64, size % 64);
  return *this;
}

Hash256 Sha256::finish() {
  Hash256 digest{};
  if (!has_sha_instructions()) {
    crypto_hash_sha256_final(&state_, digest.data());
    return digest;
  }
  const std::uint64_t bit_count = state_.count;
  std::size_t buffered = static_cast<std::size_t>((bit_count >> 3) & 63);
  state_.buf[buffered++] = 0x80;
  if (buffered > 56) {
    std::memset(state_.buf + buffered, 0, 64 - buffered);
    compress_with_sha_instructions(state_.state, state_.buf, 1);
    buffered = 0;
  }
  std::memset(state_.buf + buffered, 0, 56 - buffered);
  store_big_endian(state_.buf + 56, bit_count, 8);
  compress_with_sha_instructions(state_.state, state_.buf, 1);
  for (int i = 0; i < 8; ++i) store_big_endian(digest.data() + 4 * i, state_.state[i], 4);
  return digest;
}

Hash256 tagged_hash(const domain::Prefix& prefix, std::initializer_list<ByteSpan> parts) {
  Sha256 hasher;
  hasher.update(prefix);
  for (const ByteSpan part : parts) hasher.update(part);
  return hasher.finish();
}

}  // namespace pc::crypto
