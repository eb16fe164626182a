#include "wallet-cli/passphrase.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "crypto/keys.hpp"
#include "wallet-cli/exit_codes.hpp"

namespace pc::wallet {
namespace {

void strip_one_line_ending(std::string& text) {
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
}

Passphrase read_from_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Failure(Exit::usage, "cannot read the passphrase file " + path.string());
  // Room for the passphrase, its line ending and one byte more to detect an overlong file;
  // reserved up front so the secret is never copied by a reallocation.
  std::string text(passphrase_bytes_max + 3, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  Passphrase guard{std::move(text)};
  std::string trimmed(guard.view());
  strip_one_line_ending(trimmed);
  Passphrase passphrase{std::move(trimmed)};
  if (passphrase.view().size() > passphrase_bytes_max) {
    throw Failure(Exit::usage, "the passphrase file " + path.string() + " is longer than " +
                                   std::to_string(passphrase_bytes_max) + " bytes");
  }
  return passphrase;
}

// The terminal, opened for one prompt; restores its settings however the prompt ends.
class Terminal {
 public:
  Terminal() : fd_(::open("/dev/tty", O_RDWR | O_CLOEXEC)) {}
  ~Terminal() {
    if (fd_ < 0) return;
    if (changed_) ::tcsetattr(fd_, TCSAFLUSH, &saved_);
    ::close(fd_);
  }
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  bool is_open() const { return fd_ >= 0; }

  void write(std::string_view text) const {
    while (!text.empty()) {
      const ssize_t written = ::write(fd_, text.data(), text.size());
      if (written <= 0) return;
      text.remove_prefix(static_cast<std::size_t>(written));
    }
  }

  // Reads one line with echo off. Ctrl-C arrives as a byte rather than a signal (ISIG is
  // off), so the settings are always restored; it and end of input cancel the prompt.
  Passphrase read_hidden_line(std::string_view prompt) {
    write(prompt);
    termios quiet{};
    if (::tcgetattr(fd_, &saved_) != 0) throw Failure(Exit::usage, "cannot read the terminal's settings");
    quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO | ISIG);
    if (::tcsetattr(fd_, TCSAFLUSH, &quiet) != 0) throw Failure(Exit::usage, "cannot turn off terminal echo");
    changed_ = true;

    std::string line;
    line.reserve(passphrase_bytes_max + 1);
    bool cancelled = false;
    for (;;) {
      char byte = 0;
      const ssize_t got = ::read(fd_, &byte, 1);
      if (got <= 0 || byte == '\x03' || byte == '\x04') {
        cancelled = true;
        break;
      }
      if (byte == '\n' || byte == '\r') break;
      if (line.size() < passphrase_bytes_max) line.push_back(byte);
    }
    ::tcsetattr(fd_, TCSAFLUSH, &saved_);
    changed_ = false;
    write("\n");
    Passphrase result{std::move(line)};
    if (cancelled) throw Failure(Exit::usage, "passphrase prompt cancelled");
    return result;
  }

 private:
  int fd_;
  termios saved_{};
  bool changed_ = false;
};

}  // namespace

Passphrase::Passphrase(Passphrase&& other) noexcept : text_(std::move(other.text_)) {
  other.text_.clear();
}

Passphrase::~Passphrase() {
  if (!text_.empty()) crypto::wipe(text_.data(), text_.size());
}

Passphrase read_passphrase(const std::filesystem::path& passphrase_file,
                           const std::filesystem::path& wallet_path, PassphrasePurpose purpose) {
  const auto checked = [purpose](Passphrase passphrase) {
    if (purpose == PassphrasePurpose::create && passphrase.view().empty()) {
      throw Failure(Exit::usage, "refusing an empty passphrase for a new wallet");
    }
    return passphrase;
  };
  if (!passphrase_file.empty()) return checked(read_from_file(passphrase_file));
  if (const char* from_env = std::getenv(passphrase_env); from_env != nullptr) {
    return checked(Passphrase{std::string(from_env)});
  }

  Terminal terminal;
  if (!terminal.is_open()) {
    throw Failure(Exit::usage, std::string("no passphrase: there is no terminal to ask on; set ") +
                                   passphrase_env + " or use --passphrase-file FILE");
  }
  const std::string name = wallet_path.string();
  if (purpose == PassphrasePurpose::unlock) {
    return terminal.read_hidden_line("Passphrase for " + name + ": ");
  }
  Passphrase first = checked(terminal.read_hidden_line("New passphrase for " + name + ": "));
  const Passphrase again = terminal.read_hidden_line("Repeat the passphrase: ");
  if (first.view() != again.view()) throw Failure(Exit::usage, "the two passphrases differ");
  return first;
}

}  // namespace pc::wallet
