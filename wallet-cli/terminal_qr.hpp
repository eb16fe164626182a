#pragma once
// Draws a QR code in a terminal, so that a till's camera can read a voucher code off the
// customer's screen. libqrencode computes the symbol (Reed-Solomon and masking are not worth
// writing by hand); this file only draws it.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pc::wallet {

// The symbol as modules, row by row: true is a dark module. The quiet zone is not included.
struct QrModules {
  std::size_t width = 0;
  std::vector<bool> dark;  // width * width

  bool is_dark(std::size_t x, std::size_t y) const { return dark[y * width + x]; }
};

// Throws std::runtime_error if the text does not fit in a QR code (about 2,900 bytes).
QrModules encode_qr(std::string_view text);

// The quiet zone every scanner needs around the symbol (ISO/IEC 18004: 4 modules).
constexpr std::size_t qr_quiet_modules = 4;

// UTF-8 block characters, two module rows per line, for light text on a dark background: a
// light module (and the quiet zone) is drawn, a dark module is left blank. Each line ends in
// '\n'.
std::string draw_qr(const QrModules& modules);

}  // namespace pc::wallet
