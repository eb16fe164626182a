#include "node/keystore.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sodium/randombytes.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>

namespace pc::node {
namespace {

constexpr char validator_file[] = "validator.key";
constexpr char issuer_file[] = "issuer.key";
constexpr std::size_t passphrase_bytes_max = 1024;

std::runtime_error failure(const std::string& message) { return std::runtime_error(message); }

crypto::SecretKey read_key(const std::filesystem::path& path, std::string_view passphrase) {
  auto key = crypto::read_key_file(path, passphrase);
  if (!key) {
    throw failure("cannot open " + path.string() + ": " + std::string(crypto::describe(key.error())));
  }
  return std::move(key).value();
}

void write_key(const std::filesystem::path& path, const crypto::SecretKey& key, std::string_view passphrase,
               crypto::KdfLimits limits) {
  if (auto written = crypto::write_key_file(path, key, passphrase, limits); !written) {
    throw failure("cannot write " + path.string() + ": " + std::string(crypto::describe(written.error())));
  }
}

std::string strip_line_end(std::string line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

// Reads one line from the terminal with echo turned off.
std::optional<std::string> prompt_without_echo(const std::string& prompt) {
  termios saved{};
  if (::tcgetattr(STDIN_FILENO, &saved) != 0) return std::nullopt;
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  std::cerr << prompt << std::flush;
  ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  std::string line;
  const bool got = static_cast<bool>(std::getline(std::cin, line));
  ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  std::cerr << "\n";
  if (!got) return std::nullopt;
  return strip_line_end(std::move(line));
}

std::string checked(std::string passphrase, const std::string& source) {
  if (passphrase.empty()) throw failure("the passphrase from " + source + " is empty");
  if (passphrase.size() > passphrase_bytes_max) throw failure("the passphrase from " + source + " is too long");
  return passphrase;
}

}  // namespace

std::filesystem::path keys_directory(const std::filesystem::path& data_dir) { return data_dir / "keys"; }

std::filesystem::path stored_passphrase_path(const std::filesystem::path& data_dir) {
  return keys_directory(data_dir) / "passphrase";
}

NodeKeys create_node_keys(const std::filesystem::path& data_dir, std::string_view passphrase,
                          crypto::KdfLimits limits) {
  const std::filesystem::path directory = keys_directory(data_dir);
  std::filesystem::create_directories(data_dir);
  if (::mkdir(directory.c_str(), 0700) != 0) {
    if (errno == EEXIST) throw failure(directory.string() + " exists already: keys are never overwritten");
    throw failure("cannot create " + directory.string());
  }
  NodeKeys keys{crypto::SecretKey::generate(), crypto::SecretKey::generate()};
  write_key(directory / validator_file, keys.validator, passphrase, limits);
  write_key(directory / issuer_file, keys.issuer, passphrase, limits);
  return keys;
}

NodeKeys load_node_keys(const std::filesystem::path& data_dir, std::string_view passphrase) {
  const std::filesystem::path directory = keys_directory(data_dir);
  if (!std::filesystem::exists(directory)) {
    throw failure(directory.string() + " does not exist: create the keys with `pointchain-node init`");
  }
  return NodeKeys{read_key(directory / validator_file, passphrase), read_key(directory / issuer_file, passphrase)};
}

std::string read_passphrase_file(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::string line;
  if (!file || !std::getline(file, line)) throw failure("cannot read a passphrase from " + path.string());
  return checked(strip_line_end(std::move(line)), path.string());
}

void write_passphrase_file(const std::filesystem::path& path, std::string_view passphrase) {
  const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) throw failure("cannot create " + path.string());
  const std::string line = std::string(passphrase) + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                       ::fsync(fd) == 0;
  if (::close(fd) != 0 || !written) throw failure("cannot write " + path.string());
}

std::string obtain_passphrase(const PassphraseSources& sources) {
  // What the command line names wins over the environment, as in the wallet.
  if (sources.file) return read_passphrase_file(*sources.file);
  if (const char* value = std::getenv(passphrase_environment_variable)) {
    return checked(value, passphrase_environment_variable);
  }
  if (sources.stored_file && std::filesystem::exists(*sources.stored_file)) {
    return read_passphrase_file(*sources.stored_file);
  }
  if (::isatty(STDIN_FILENO) != 0) {
    auto first = prompt_without_echo("Key passphrase: ");
    if (!first) throw failure("no passphrase was entered");
    if (sources.confirm) {
      auto again = prompt_without_echo("Same passphrase again: ");
      if (!again || *again != *first) throw failure("the two passphrases differ");
    }
    return checked(std::move(*first), "the prompt");
  }
  throw failure(std::string("no key passphrase: set ") + passphrase_environment_variable +
                ", pass --passphrase-file FILE, or run on a terminal to be asked");
}

std::string random_hex(std::size_t bytes) {
  Bytes random(bytes);
  randombytes_buf(random.data(), random.size());
  return to_hex(random);
}

}  // namespace pc::node
