#include "wallet-cli/terminal_qr.hpp"

#include <qrencode.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace pc::wallet {

QrModules encode_qr(std::string_view text) {
  const std::string terminated(text);
  // Version 0: the smallest symbol that fits; level M recovers from 15% damage (a scratched
  // or glaring screen) at little cost in size.
  std::unique_ptr<QRcode, decltype(&QRcode_free)> symbol(
      QRcode_encodeString(terminated.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), &QRcode_free);
  if (!symbol) throw std::runtime_error("the text does not fit in a QR code");
  QrModules modules;
  modules.width = static_cast<std::size_t>(symbol->width);
  modules.dark.resize(modules.width * modules.width);
  for (std::size_t i = 0; i < modules.dark.size(); ++i) modules.dark[i] = (symbol->data[i] & 1) != 0;
  return modules;
}

std::string draw_qr(const QrModules& modules) {
  const std::size_t side = modules.width + 2 * qr_quiet_modules;
  const auto light = [&](std::size_t x, std::size_t y) {
    if (x < qr_quiet_modules || y < qr_quiet_modules) return true;
    x -= qr_quiet_modules;
    y -= qr_quiet_modules;
    if (x >= modules.width || y >= modules.width) return true;
    return !modules.is_dark(x, y);
  };
  std::string drawing;
  for (std::size_t y = 0; y < side; y += 2) {
    for (std::size_t x = 0; x < side; ++x) {
      const bool top = light(x, y);
      const bool bottom = y + 1 < side ? light(x, y + 1) : false;
      drawing += top ? (bottom ? "\u2588" : "\u2580") : (bottom ? "\u2584" : " ");
    }
    drawing += '\n';
  }
  return drawing;
}

}  // namespace pc::wallet
