// The one serialization mechanism for everything signed, hashed or stored (see
// docs/protocol.md, "Encoding rules"): little-endian fixed-width integers, and lengths as
// minimal unsigned LEB128 with a cap given by the caller. A decoder built on Reader rejects
// truncation, non-minimal lengths, over-limit lengths and trailing bytes.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "crypto/bytes.hpp"
#include "ledger/errors.hpp"

namespace pc::ledger {

class Writer {
 public:
  void u8(std::uint8_t value) { bytes_.push_back(value); }
  void u16(std::uint16_t value) { little_endian(value, 2); }
  void u32(std::uint32_t value) { little_endian(value, 4); }
  void u64(std::uint64_t value) { little_endian(value, 8); }
  void i64(std::int64_t value) { little_endian(static_cast<std::uint64_t>(value), 8); }
  void length(std::uint64_t value);  // minimal LEB128
  // Not vector::insert: at -O3, GCC 12 inlines insert's reallocation and then reports a
  // false -Wstringop-overflow (a write "into a region of size 0") in the Release build.
  void raw(ByteSpan bytes) {
    if (bytes.empty()) return;
    const std::size_t end = bytes_.size();
    bytes_.resize(end + bytes.size());
    std::memcpy(bytes_.data() + end, bytes.data(), bytes.size());
  }
  void string(std::string_view text) {
    length(text.size());
    raw(as_bytes(text));
  }
  void bytes(ByteSpan data) {
    length(data.size());
    raw(data);
  }

  const Bytes& view() const { return bytes_; }
  Bytes take() { return std::move(bytes_); }

 private:
  void little_endian(std::uint64_t value, int width) {
    for (int i = 0; i < width; ++i) bytes_.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
  }
  Bytes bytes_;
};

// Reads fields in order. The first failure sticks: later reads return zeros and leave the
// error alone, so a decoder reads all its fields and checks once, in finish().
class Reader {
 public:
  explicit Reader(ByteSpan input) : input_(input) {}

  std::uint8_t u8() { return static_cast<std::uint8_t>(little_endian(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(little_endian(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(little_endian(4)); }
  std::uint64_t u64() { return little_endian(8); }
  std::int64_t i64() { return static_cast<std::int64_t>(little_endian(8)); }

  template <std::size_t N>
  FixedBytes<N> fixed() {
    FixedBytes<N> out{};
    ByteSpan span = raw(N);
    if (span.size() == N) std::copy(span.begin(), span.end(), out.begin());
    return out;
  }

  // A minimal LEB128 length, at most `max`. `what` names the field in the error.
  std::uint64_t length(std::uint64_t max, std::string_view what);
  // A length-prefixed string of at most `max_bytes` bytes.
  std::string string(std::uint64_t max_bytes, std::string_view what);
  // `count` bytes as a view into the input (empty on failure).
  ByteSpan raw(std::size_t count);

  // Records an error unless one is recorded already.
  void fail(Code code, std::string detail);

  bool ok() const { return error_.code == Code::ok; }
  std::size_t remaining() const { return input_.size() - position_; }
  std::size_t position() const { return position_; }

  // The recorded error, or trailing_bytes if input is left over, or success.
  Status finish() const;
  // The recorded error (for a decoder that stops early); only meaningful when !ok().
  const Error& error() const { return error_; }

 private:
  std::uint64_t little_endian(std::size_t width);

  ByteSpan input_;
  std::size_t position_ = 0;
  Error error_{Code::ok, {}};
};

// Storage keys (not canonical encodings) put integers big-endian, so that LevelDB's bytewise
// order is numeric order: heights sort as numbers.
inline void append_big_endian(std::string& out, std::uint64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) out.push_back(static_cast<char>(value >> (8 * i)));
}

inline std::uint64_t read_big_endian(std::string_view bytes) {
  std::uint64_t value = 0;
  for (char c : bytes) value = (value << 8) | static_cast<std::uint8_t>(c);
  return value;
}

}  // namespace pc::ledger
