#include "tests/webhook_receiver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace pc::test {
namespace {

constexpr int poll_interval_ms = 20;
constexpr auto client_timeout = std::chrono::seconds(5);
constexpr std::size_t request_bytes_max = 1024 * 1024;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

WebhookReceiver::WebhookReceiver() {
  listen();
  thread_ = std::thread([this] { serve(); });
}

WebhookReceiver::~WebhookReceiver() {
  stopping_ = true;
  thread_.join();
  std::lock_guard lock(mutex_);
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void WebhookReceiver::listen() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  const int yes = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port_);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Reopening the same port can meet the old socket for a moment (the serving thread's poll
  // still holds it): try again briefly.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::close(fd);
      throw std::runtime_error("the webhook receiver cannot bind 127.0.0.1:" + std::to_string(port_));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_interval_ms));
  }
  if (::listen(fd, 16) != 0) {
    ::close(fd);
    throw std::runtime_error("the webhook receiver cannot listen on 127.0.0.1:" + std::to_string(port_));
  }
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  std::lock_guard lock(mutex_);
  listen_fd_ = fd;
}

void WebhookReceiver::close() {
  std::lock_guard lock(mutex_);
  // shutdown first: it stops the listening at once, even while the serving thread polls it.
  if (listen_fd_ >= 0) {
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
  }
  listen_fd_ = -1;
}

void WebhookReceiver::open() { listen(); }

void WebhookReceiver::serve() {
  while (!stopping_) {
    int fd = -1;
    {
      std::lock_guard lock(mutex_);
      fd = listen_fd_;
    }
    if (fd < 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(poll_interval_ms));
      continue;
    }
    pollfd waiting{fd, POLLIN, 0};
    if (::poll(&waiting, 1, poll_interval_ms) <= 0) continue;
    std::lock_guard lock(mutex_);
    if (listen_fd_ != fd) continue;  // closed meanwhile
    const int client = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    handle(client);
    ::close(client);
  }
}

// Called with mutex_ held: one request at a time, as the node sends one per endpoint.
void WebhookReceiver::handle(int client_fd) {
  std::string data;
  const auto deadline = std::chrono::steady_clock::now() + client_timeout;
  std::size_t header_end = std::string::npos;
  std::size_t content_length = 0;
  ReceivedRequest request;
  while (std::chrono::steady_clock::now() < deadline && data.size() < request_bytes_max) {
    if (header_end != std::string::npos && data.size() >= header_end + 4 + content_length) break;
    pollfd waiting{client_fd, POLLIN, 0};
    if (::poll(&waiting, 1, poll_interval_ms) <= 0) continue;
    char chunk[4096];
    const ssize_t got = ::recv(client_fd, chunk, sizeof chunk, 0);
    if (got <= 0) return;
    data.append(chunk, static_cast<std::size_t>(got));
    if (header_end == std::string::npos && (header_end = data.find("\r\n\r\n")) != std::string::npos) {
      std::size_t line_start = data.find("\r\n") + 2;
      const std::string first = data.substr(0, line_start - 2);
      const std::size_t space = first.find(' ');
      request.method = first.substr(0, space);
      request.target = first.substr(space + 1, first.find(' ', space + 1) - space - 1);
      while (line_start < header_end) {
        const std::size_t line_end = data.find("\r\n", line_start);
        const std::string line = data.substr(line_start, line_end - line_start);
        const std::size_t colon = line.find(':');
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        request.headers[lower(line.substr(0, colon))] = value;
        line_start = line_end + 2;
      }
      content_length = std::stoul(request.headers.count("content-length") ? request.headers["content-length"] : "0");
    }
  }
  if (header_end == std::string::npos || data.size() < header_end + 4 + content_length) return;
  request.body = data.substr(header_end + 4, content_length);
  request.answered_status = status_;
  const std::string answer = "HTTP/1.1 " + std::to_string(request.answered_status) +
                             " Status\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
  ::send(client_fd, answer.data(), answer.size(), MSG_NOSIGNAL);
  requests_.push_back(std::move(request));
}

std::vector<ReceivedRequest> WebhookReceiver::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

bool WebhookReceiver::wait_until(const std::function<bool(const std::vector<ReceivedRequest>&)>& done,
                                 std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done(requests())) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_interval_ms));
  }
  return done(requests());
}

std::string expected_webhook_signature(const std::string& secret, const std::string& timestamp,
                                       const std::string& body) {
  const std::string message = timestamp + "." + body;
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()), message.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&state, mac);
  char hex[2 * crypto_auth_hmacsha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  return std::string("v1=") + hex;
}

}  // namespace pc::test
