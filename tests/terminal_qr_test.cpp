// The wallet's QR drawing of voucher codes (wallet-cli/terminal_qr.*): the symbol has the
// finder patterns a scanner looks for, and the drawing, read back cell by cell, is exactly the
// symbol inside a light quiet zone.
#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "wallet-cli/terminal_qr.hpp"

namespace {

using pc::wallet::QrModules;

// A finder pattern: a dark 7x7 ring, a light 5x5 ring, a dark 3x3 centre.
bool has_finder_at(const QrModules& modules, std::size_t left, std::size_t top) {
  for (std::size_t y = 0; y < 7; ++y) {
    for (std::size_t x = 0; x < 7; ++x) {
      const std::size_t ring = std::min(std::min(x, y), std::min(6 - x, 6 - y));
      const bool want_dark = ring != 1;
      if (modules.is_dark(left + x, top + y) != want_dark) return false;
    }
  }
  return true;
}

// Reads a drawing back into light/dark cells: each character is two cells, top and bottom.
std::vector<std::vector<bool>> read_light_cells(const std::string& drawing) {
  std::vector<std::vector<bool>> rows;
  std::istringstream lines(drawing);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<bool> top;
    std::vector<bool> bottom;
    for (std::size_t at = 0; at < line.size();) {
      if (line[at] == ' ') {
        top.push_back(false);
        bottom.push_back(false);
        at += 1;
        continue;
      }
      const std::string glyph = line.substr(at, 3);
      REQUIRE((glyph == "\u2588" || glyph == "\u2580" || glyph == "\u2584"));
      top.push_back(glyph != "\u2584");
      bottom.push_back(glyph != "\u2580");
      at += 3;
    }
    rows.push_back(top);
    rows.push_back(bottom);
  }
  return rows;
}

}  // namespace

TEST_CASE("a voucher code's QR symbol has its three finder patterns", "[wallet][qr]") {
  // Proves the symbol comes out in the shape scanners need: a square of 21 + 4k modules with
  // finder patterns in three corners (and not in the fourth).
  const QrModules modules = pc::wallet::encode_qr("7K3M-Q9XA-2BWD");
  REQUIRE(modules.width >= 21);
  CHECK((modules.width - 21) % 4 == 0);
  REQUIRE(modules.dark.size() == modules.width * modules.width);
  CHECK(has_finder_at(modules, 0, 0));
  CHECK(has_finder_at(modules, modules.width - 7, 0));
  CHECK(has_finder_at(modules, 0, modules.width - 7));
  CHECK_FALSE(has_finder_at(modules, modules.width - 7, modules.width - 7));
}

TEST_CASE("the drawing is the symbol, light modules drawn, inside a 4-module light quiet zone", "[wallet][qr]") {
  // Proves every cell of the drawing: cell (x, y) is light exactly when it lies in the quiet
  // zone or the symbol's module there is light; the drawing is as wide as the symbol plus the
  // quiet zone on both sides, and a last half line (odd side) is drawn as blank below.
  const QrModules modules = pc::wallet::encode_qr("PCVC-TEST-0001");
  const std::string drawing = pc::wallet::draw_qr(modules);
  const auto cells = read_light_cells(drawing);
  const std::size_t quiet = pc::wallet::qr_quiet_modules;
  const std::size_t side = modules.width + 2 * quiet;
  REQUIRE(cells.size() == side + side % 2);
  for (std::size_t y = 0; y < cells.size(); ++y) {
    REQUIRE(cells[y].size() == side);
    for (std::size_t x = 0; x < side; ++x) {
      bool want_light = false;
      if (y >= side) {
        want_light = false;  // below the drawing
      } else if (x < quiet || y < quiet || x >= quiet + modules.width || y >= quiet + modules.width) {
        want_light = true;
      } else {
        want_light = !modules.is_dark(x - quiet, y - quiet);
      }
      INFO("cell " << x << ", " << y);
      REQUIRE(cells[y][x] == want_light);
    }
  }
}

TEST_CASE("a text too long for any QR code is refused", "[wallet][qr]") {
  // Proves the limit is reported, not drawn wrong: version 40 at level M holds 2,331 bytes.
  CHECK_NOTHROW(pc::wallet::encode_qr(std::string(2'000, 'a')));
  CHECK_THROWS_AS(pc::wallet::encode_qr(std::string(4'000, 'a')), std::runtime_error);
}
