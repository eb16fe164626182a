// The frame decoders of node/p2p/wire.hpp: the length prefix and the opener, on arbitrary
// bytes and on real frames with one byte changed. The first byte picks the mode:
//   even: the rest is a wire stream (4-byte prefix, then what it announces) opened under a
//         fixed key as frame 0 and then frame 1; a forged frame must never open;
//   odd:  the rest, after a position byte, is a payload; it is sealed as frame 1 under the
//         fixed key, must open back to the same payload, and with the byte at that position
//         flipped must not open.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.hpp"
#include "node/p2p/wire.hpp"

namespace {

using namespace pc::node::p2p;

constexpr std::array<std::uint8_t, session_key_bytes> fixed_key = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};

pc::Result<OpenedFrame, WireError> open_as(FrameOpener& opener, pc::ByteSpan stream, std::size_t limit) {
  if (stream.size() < frame_length_prefix_bytes) return WireError::bad_size;
  const pc::ByteSpan prefix = stream.first(frame_length_prefix_bytes);
  auto length = decode_frame_length(prefix, limit);
  if (!length) return length.error();
  FUZZ_CHECK(*length >= frame_sealed_bytes_min && *length <= limit);
  const pc::ByteSpan rest = stream.subspan(frame_length_prefix_bytes);
  if (rest.size() < *length) return WireError::bad_size;  // a cut-off stream: the reader waits
  return opener.open(prefix, rest.first(*length));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pc::fuzz::initialize_once();
  if (size == 0) return 0;
  const pc::ByteSpan input(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    FrameOpener opener(fixed_key);
    // Forging a Poly1305 tag is not something a fuzzer does: nothing it writes may open.
    FUZZ_CHECK(!open_as(opener, input, auth_sealed_bytes).ok());
    FUZZ_CHECK(!open_as(opener, input, frame_sealed_bytes_max).ok());
    return 0;
  }
  if (input.empty()) return 0;
  const std::size_t flip_position = input[0];
  const pc::ByteSpan payload = input.subspan(1);
  FrameSealer sealer(fixed_key);
  auto auth = sealer.seal(FrameKind::auth, {});
  auto frame = sealer.seal(FrameKind::message, payload);
  FUZZ_CHECK(auth.ok() && frame.ok());
  FUZZ_CHECK(frame->size() == payload.size() + frame_overhead_bytes);
  {
    FrameOpener in_order(fixed_key);
    FUZZ_CHECK(in_order.open(pc::ByteSpan(*auth).first(4), pc::ByteSpan(*auth).subspan(4)).ok());
    auto opened = open_as(in_order, *frame, frame_sealed_bytes_max);
    FUZZ_CHECK(opened.ok() && opened->kind == FrameKind::message);
    FUZZ_CHECK(std::equal(opened->body.begin(), opened->body.end(), payload.begin(), payload.end()));
  }
  pc::Bytes altered = *frame;
  altered[flip_position % altered.size()] ^= 0x01;
  FrameOpener opener(fixed_key);
  FUZZ_CHECK(opener.open(pc::ByteSpan(*auth).first(4), pc::ByteSpan(*auth).subspan(4)).ok());
  FUZZ_CHECK(!open_as(opener, altered, frame_sealed_bytes_max).ok());
  return 0;
}
