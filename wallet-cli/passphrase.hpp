// Where the wallet's passphrase comes from, in this order: --passphrase-file FILE, the
// environment variable POINTCHAIN_WALLET_PASSPHRASE, or a prompt on the terminal with echo
// off. Failures throw Failure (exit_codes.hpp).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace pc::wallet {

inline constexpr char passphrase_env[] = "POINTCHAIN_WALLET_PASSPHRASE";
inline constexpr std::size_t passphrase_bytes_max = 1024;

// A passphrase held in memory, wiped when it goes away. Move-only.
class Passphrase {
 public:
  explicit Passphrase(std::string text) : text_(std::move(text)) {}
  Passphrase(Passphrase&& other) noexcept;
  Passphrase& operator=(Passphrase&&) = delete;
  Passphrase(const Passphrase&) = delete;
  Passphrase& operator=(const Passphrase&) = delete;
  ~Passphrase();

  std::string_view view() const { return text_; }

 private:
  std::string text_;
};

enum class PassphrasePurpose {
  unlock,  // open an existing key file
  create,  // seal a new one: the prompt asks twice, and an empty passphrase is refused
};

// `passphrase_file` empty: not given. `wallet_path` only names the wallet in the prompt.
Passphrase read_passphrase(const std::filesystem::path& passphrase_file,
                           const std::filesystem::path& wallet_path, PassphrasePurpose purpose);

}  // namespace pc::wallet
