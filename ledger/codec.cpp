#include "ledger/codec.hpp"

namespace pc::ledger {

void Writer::length(std::uint64_t value) {
  while (value >= 0x80) {
    bytes_.push_back(static_cast<std::uint8_t>(value | 0x80));
    value >>= 7;
  }
  bytes_.push_back(static_cast<std::uint8_t>(value));
}

void Reader::fail(Code code, std::string detail) {
  if (ok()) error_ = Error{code, std::move(detail)};
}

ByteSpan Reader::raw(std::size_t count) {
  if (!ok()) return {};
  if (remaining() < count) {
    fail(Code::truncated, "input ends at byte " + std::to_string(input_.size()) + ", needs " +
                              std::to_string(position_ + count));
    return {};
  }
  ByteSpan span = input_.subspan(position_, count);
  position_ += count;
  return span;
}

std::uint64_t Reader::little_endian(std::size_t width) {
  ByteSpan span = raw(width);
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < span.size(); ++i) value |= std::uint64_t{span[i]} << (8 * i);
  return value;
}

std::uint64_t Reader::length(std::uint64_t max, std::string_view what) {
  std::uint64_t value = 0;
  // Ten groups of seven bits cover 64 bits; the tenth may only carry the top bit.
  for (int shift = 0; shift < 70; shift += 7) {
    ByteSpan span = raw(1);
    if (!ok()) return 0;
    const std::uint8_t byte = span[0];
    if (shift == 63 && byte > 1) {
      fail(Code::too_large, std::string(what) + " length does not fit 64 bits");
      return 0;
    }
    value |= std::uint64_t{static_cast<std::uint8_t>(byte & 0x7f)} << shift;
    if ((byte & 0x80) == 0) {
      // A final zero group after the first byte means a shorter encoding existed.
      if (byte == 0 && shift > 0) {
        fail(Code::non_minimal_length, std::string(what) + " length is not minimally encoded");
        return 0;
      }
      if (value > max) {
        fail(Code::too_large, std::string(what) + " length " + std::to_string(value) +
                                  " is over the limit " + std::to_string(max));
        return 0;
      }
      return value;
    }
  }
  fail(Code::too_large, std::string(what) + " length does not fit 64 bits");
  return 0;
}

std::string Reader::string(std::uint64_t max_bytes, std::string_view what) {
  const std::uint64_t size = length(max_bytes, what);
  ByteSpan span = raw(static_cast<std::size_t>(size));
  return std::string(span.begin(), span.end());
}

Status Reader::finish() const {
  if (!ok()) return error_;
  if (remaining() != 0) {
    return Error{Code::trailing_bytes, std::to_string(remaining()) + " bytes after the value"};
  }
  return {};
}

}  // namespace pc::ledger
