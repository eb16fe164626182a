#include "tests/fake_node.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace pc::test {
namespace {

// How long one poll waits before the thread looks at stopping_ again, and how long a client
// may take to send its request or read the answer before the fake node gives up on it.
constexpr int poll_interval_ms = 50;
constexpr int client_stall_ms_max = 10'000;
constexpr std::size_t request_bytes_max = 1024 * 1024;

bool wait_ready(int fd, short events, int timeout_ms) {
  pollfd entry{fd, events, 0};
  for (;;) {
    const int ready = ::poll(&entry, 1, timeout_ms);
    if (ready >= 0) return ready > 0;
    if (errno != EINTR) return false;
  }
}

// False once the client has closed or stalls.
bool send_all(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    if (!wait_ready(fd, POLLOUT, client_stall_ms_max)) return false;
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

// The request's body, framed by its Content-Length; empty when it does not arrive whole.
std::string read_request_body(int fd) {
  std::string received;
  char chunk[16 * 1024];
  for (;;) {
    const std::size_t header_end = received.find("\r\n\r\n");
    if (header_end != std::string::npos) {
      std::string header = received.substr(0, header_end);
      for (char& c : header) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const std::size_t field = header.find("content-length:");
      const std::size_t length = field == std::string::npos ? 0 : std::stoul(header.substr(field + 15));
      if (received.size() >= header_end + 4 + length) return received.substr(header_end + 4, length);
    }
    if (received.size() > request_bytes_max || !wait_ready(fd, POLLIN, client_stall_ms_max)) return {};
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return {};
    received.append(chunk, static_cast<std::size_t>(n));
  }
}

}  // namespace

FakeAnswer json_answer(const nlohmann::json& body) {
  const std::string text = body.dump();
  return FakeAnswer{"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                        std::to_string(text.size()) + "\r\n\r\n" + text,
                    {}, 0, {}};
}

FakeNode::FakeNode(Responder responder) : responder_(std::move(responder)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error(std::string("socket failed: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const std::string reason = std::strerror(errno);
    ::close(listen_fd_);
    throw std::runtime_error("fake node cannot listen on 127.0.0.1: " + reason);
  }
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FakeNode::~FakeNode() {
  stopping_ = true;
  thread_.join();
  ::close(listen_fd_);
}

std::vector<std::string> FakeNode::methods() const {
  std::lock_guard lock(mutex_);
  return methods_;
}

void FakeNode::serve() {
  while (!stopping_) {
    if (!wait_ready(listen_fd_, POLLIN, poll_interval_ms)) continue;
    const int connection_fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection_fd < 0) continue;
    answer_one(connection_fd);
    ::close(connection_fd);
  }
}

void FakeNode::answer_one(int connection_fd) {
  const nlohmann::json request = nlohmann::json::parse(read_request_body(connection_fd), nullptr, false);
  if (request.is_object() && request.contains("method") && request["method"].is_string()) {
    std::lock_guard lock(mutex_);
    methods_.push_back(request["method"].get<std::string>());
  }
  const FakeAnswer answer = responder_(request.is_discarded() ? nlohmann::json() : request);
  if (!send_all(connection_fd, answer.head)) return;
  for (std::size_t i = 0; i < answer.piece_count && !stopping_; ++i) {
    if (!send_all(connection_fd, answer.piece)) return;
  }
  (void)send_all(connection_fd, answer.tail);
}

}  // namespace pc::test
