// Support for end-to-end tests of the RPC server: start the real pointchain-node binary as a
// child process, talk HTTP/1.1 to it over plain POSIX sockets and WebSocket through
// Boost.Beast, and stop it with SIGTERM or SIGKILL.
//
// Header-only (inline functions), in its own namespace pc::e2e_rpc, so that it can sit in the
// one test binary beside other end-to-end support files without an ODR clash. Nothing here
// uses Catch2: a failure is a return value (false, nullopt) or a std::runtime_error, which the
// test turns into a failed assertion.
//
// Every wait is bounded by a deadline. A ChildProcess kills (SIGKILL) and reaps its process when
// it goes away, so a failing test cannot leave a node running; the child also gets
// PR_SET_PDEATHSIG, so a test binary that dies takes its nodes with it.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace pc::e2e_rpc {

using SteadyClock = std::chrono::steady_clock;
using Deadline = SteadyClock::time_point;
using std::chrono::milliseconds;

inline Deadline deadline_after(milliseconds timeout) { return SteadyClock::now() + timeout; }

inline milliseconds remaining(Deadline deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
  return left.count() > 0 ? left : milliseconds(0);
}

// poll()'s timeout argument, rounded up so that a short wait still waits.
inline int poll_timeout(Deadline deadline) {
  const auto left = remaining(deadline).count();
  return static_cast<int>(std::min<std::int64_t>(left + 1, 60'000));
}

// ---------------------------------------------------------------------------------------
// Child processes

// A wait status as people read it: "exit 0", "signal 9".
inline std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

inline bool exited_with(int status, int code) { return WIFEXITED(status) && WEXITSTATUS(status) == code; }

inline std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// A program running as a child of the test, its stdout and stderr going to one file. The
// environment is the test's own with `environment_overrides` set on top.
class ChildProcess {
 public:
  ChildProcess(const std::filesystem::path& program, const std::vector<std::string>& arguments,
               const std::map<std::string, std::string>& environment_overrides, std::filesystem::path output_path)
      : output_path_(std::move(output_path)) {
    // Everything the child needs is prepared before fork(): the test binary has threads, so the
    // child may only make async-signal-safe calls until it execs.
    std::vector<std::string> argument_strings{program.string()};
    argument_strings.insert(argument_strings.end(), arguments.begin(), arguments.end());
    std::vector<std::string> environment_strings;
    for (char** entry = environ; *entry != nullptr; ++entry) {
      const std::string text(*entry);
      if (!environment_overrides.contains(text.substr(0, text.find('=')))) environment_strings.push_back(text);
    }
    for (const auto& [name, value] : environment_overrides) environment_strings.push_back(name + "=" + value);
    std::vector<char*> argv;
    for (std::string& text : argument_strings) argv.push_back(text.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (std::string& text : environment_strings) envp.push_back(text.data());
    envp.push_back(nullptr);

    const int output_fd = ::open(output_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (output_fd < 0) throw std::runtime_error("cannot create " + output_path_.string());
    const int input_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (input_fd < 0) {
      ::close(output_fd);
      throw std::runtime_error("cannot open /dev/null");
    }
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, static_cast<unsigned long>(SIGKILL));
      if (::getppid() != parent) ::_exit(127);  // the test died before prctl took effect
      sigset_t no_signals;
      ::sigemptyset(&no_signals);
      ::sigprocmask(SIG_SETMASK, &no_signals, nullptr);
      if (::dup2(input_fd, STDIN_FILENO) < 0 || ::dup2(output_fd, STDOUT_FILENO) < 0 ||
          ::dup2(output_fd, STDERR_FILENO) < 0) {
        ::_exit(127);
      }
      ::execve(argv[0], argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(output_fd);
    ::close(input_fd);
    if (pid_ < 0) throw std::runtime_error("fork failed for " + program.string());
  }

  ~ChildProcess() {
    if (!status_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // The wait status once the process has ended (reaping it), or nullopt at the deadline.
  std::optional<int> wait_for_exit(milliseconds timeout) {
    const Deadline deadline = deadline_after(timeout);
    while (!status_) {
      int status = 0;
      const pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
      if (reaped == pid_) {
        status_ = status;
        break;
      }
      if (reaped < 0 && errno != EINTR) throw std::runtime_error("waitpid failed for pid " + std::to_string(pid_));
      if (SteadyClock::now() >= deadline) break;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return status_;
  }

  bool running() { return !wait_for_exit(milliseconds(0)); }

  void send_signal(int signal_number) {
    if (!status_) ::kill(pid_, signal_number);
  }

  // SIGKILL, then the wait status.
  int kill_now() {
    send_signal(SIGKILL);
    const std::optional<int> status = wait_for_exit(milliseconds(30'000));
    if (!status) throw std::runtime_error("pid " + std::to_string(pid_) + " survived SIGKILL");
    return *status;
  }

  // SIGTERM and the wait status, or SIGKILL and nullopt when it has not ended by `timeout`.
  std::optional<int> terminate(milliseconds timeout) {
    send_signal(SIGTERM);
    if (std::optional<int> status = wait_for_exit(timeout)) return status;
    kill_now();
    return std::nullopt;
  }

  // What the process printed so far (stdout and stderr interleaved).
  std::string output() const { return read_text_file(output_path_); }

 private:
  std::filesystem::path output_path_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

struct Completed {
  std::optional<int> status;  // nullopt: killed at the timeout
  std::string output;
};

// Runs a program to its end, killing it if it runs past `timeout`.
inline Completed run_to_completion(const std::filesystem::path& program, const std::vector<std::string>& arguments,
                                   const std::map<std::string, std::string>& environment_overrides,
                                   const std::filesystem::path& output_path, milliseconds timeout) {
  ChildProcess child(program, arguments, environment_overrides, output_path);
  Completed completed;
  completed.status = child.wait_for_exit(timeout);
  if (!completed.status) child.kill_now();
  completed.output = child.output();
  return completed;
}

// ---------------------------------------------------------------------------------------
// Loopback sockets

inline sockaddr_in loopback_address(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  if (::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr) != 1) throw std::runtime_error("inet_pton failed");
  return address;
}

// A port on 127.0.0.1 that was free a moment ago: bound with port 0, read back and released.
// Another process may take it before the node binds it; callers retry on a bind failure.
inline std::uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in address = loopback_address(0);
  socklen_t length = sizeof address;
  const bool bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  if (!bound) throw std::runtime_error("cannot bind a loopback port");
  return ntohs(address.sin_port);
}

struct HttpReply {
  unsigned status = 0;
  std::string headers;  // the raw header block, status line included
  std::string body;
};

// "POST / HTTP/1.1" with a JSON body; `authorization` is the header's whole value ("" for none).
inline std::string http_post_request(std::string_view body, std::string_view authorization, bool keep_alive) {
  std::string request = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (!authorization.empty()) request += "Authorization: " + std::string(authorization) + "\r\n";
  request += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  request += body;
  return request;
}

// One client TCP connection to 127.0.0.1, with deadlines on every operation.
class HttpConnection {
 public:
  HttpConnection() = default;
  ~HttpConnection() { close(); }
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // False when nothing accepts on the port.
  bool connect(std::uint16_t port) {
    close();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    // Linux bounds a blocking connect() by the send timeout.
    const timeval connect_timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &connect_timeout, sizeof connect_timeout);
    const sockaddr_in address = loopback_address(port);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      close();
      return false;
    }
    return true;
  }

  bool is_open() const { return fd_ >= 0; }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buffer_.clear();
  }

  // False if the peer stops taking bytes (closed, reset) or the deadline passes.
  bool send_all(std::string_view bytes, Deadline deadline) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      pollfd waiting{fd_, POLLOUT, 0};
      if (::poll(&waiting, 1, poll_timeout(deadline)) <= 0) return false;
      const ssize_t written = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (written < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        return false;
      }
      sent += static_cast<std::size_t>(written);
    }
    return true;
  }

  // One HTTP response (Content-Length framed, or to the end of the stream); nullopt if the
  // connection ends first or the deadline passes. Bytes after it stay for the next call.
  std::optional<HttpReply> read_reply(Deadline deadline) {
    for (;;) {
      if (std::optional<HttpReply> reply = take_complete_reply(false)) return reply;
      switch (receive_some(deadline)) {
        case Received::bytes: break;
        case Received::end: return take_complete_reply(true);
        case Received::failed: return std::nullopt;
      }
    }
  }

  enum class Ending { closed, answered, still_open };

  // Waits for the server to close this connection without sending anything (end of stream
  // or reset): `answered` if bytes arrive instead, `still_open` at the deadline.
  Ending wait_for_close(Deadline deadline) {
    switch (receive_some(deadline)) {
      case Received::bytes: return Ending::answered;
      case Received::end: return Ending::closed;
      case Received::failed: return SteadyClock::now() >= deadline ? Ending::still_open : Ending::closed;
    }
    return Ending::still_open;
  }

 private:
  enum class Received { bytes, end, failed };

  Received receive_some(Deadline deadline) {
    for (;;) {
      pollfd waiting{fd_, POLLIN, 0};
      const int ready = ::poll(&waiting, 1, poll_timeout(deadline));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return Received::failed;
      char chunk[16 * 1024];
      const ssize_t received = ::recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
      if (received > 0) {
        buffer_.append(chunk, static_cast<std::size_t>(received));
        return Received::bytes;
      }
      if (received == 0) return Received::end;
      if (errno == EAGAIN || errno == EINTR) continue;
      return Received::end;  // reset by the peer: it has closed the connection
    }
  }

  std::optional<HttpReply> take_complete_reply(bool at_end) {
    const std::size_t header_end = buffer_.find("\r\n\r\n");
    if (header_end == std::string::npos) return std::nullopt;
    HttpReply reply;
    reply.headers = buffer_.substr(0, header_end + 4);
    if (reply.headers.rfind("HTTP/1.", 0) != 0 || reply.headers.size() < 12) {
      throw std::runtime_error("not an HTTP response: " + reply.headers);
    }
    reply.status = static_cast<unsigned>(std::stoul(reply.headers.substr(9, 3)));
    std::optional<std::size_t> content_length;
    std::string lower = reply.headers;
    for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (const std::size_t at = lower.find("\r\ncontent-length:"); at != std::string::npos) {
      content_length = std::stoul(lower.substr(at + 17));
    }
    const std::size_t body_start = header_end + 4;
    if (content_length) {
      if (buffer_.size() < body_start + *content_length) return std::nullopt;
      reply.body = buffer_.substr(body_start, *content_length);
      buffer_.erase(0, body_start + *content_length);
      return reply;
    }
    if (!at_end) return std::nullopt;
    reply.body = buffer_.substr(body_start);
    buffer_.clear();
    return reply;
  }

  int fd_ = -1;
  std::string buffer_;
};

// One POST on its own connection ("Connection: close"); nullopt when there is no answer.
inline std::optional<HttpReply> http_post(std::uint16_t port, std::string_view body, std::string_view authorization = {},
                                          milliseconds timeout = milliseconds(10'000)) {
  const Deadline deadline = deadline_after(timeout);
  HttpConnection connection;
  if (!connection.connect(port)) return std::nullopt;
  // A server that refuses the body early (413) may stop reading it: the reply is read anyway.
  (void)connection.send_all(http_post_request(body, authorization, /*keep_alive=*/false), deadline);
  return connection.read_reply(deadline);
}

// A JSON-RPC 2.0 request object.
inline nlohmann::json rpc_request(std::string_view method, nlohmann::json params, nlohmann::json id = 1) {
  return nlohmann::json{{"jsonrpc", "2.0"}, {"id", std::move(id)}, {"method", method}, {"params", std::move(params)}};
}

// JSON-RPC over HTTP to one node.
class RpcClient {
 public:
  RpcClient(std::uint16_t port, std::string api_token) : port_(port), api_token_(std::move(api_token)) {}

  std::uint16_t port() const { return port_; }
  std::string bearer() const { return "Bearer " + api_token_; }

  // The raw HTTP exchange; throws when the server does not answer.
  HttpReply post(std::string_view body, std::string_view authorization = {}) const {
    std::optional<HttpReply> reply = http_post(port_, body, authorization);
    if (!reply) throw std::runtime_error("no HTTP reply from 127.0.0.1:" + std::to_string(port_));
    return *reply;
  }

  // The response object of one call; throws when there is no JSON answer.
  nlohmann::json call(std::string_view method, nlohmann::json params = nlohmann::json::object()) const {
    return call_as(method, std::move(params), {});
  }
  // The same with the partner's API token.
  nlohmann::json partner_call(std::string_view method, nlohmann::json params) const {
    return call_as(method, std::move(params), bearer());
  }
  nlohmann::json call_as(std::string_view method, nlohmann::json params, std::string_view authorization) const {
    const HttpReply reply = post(rpc_request(method, std::move(params)).dump(), authorization);
    if (!nlohmann::json::accept(reply.body)) {
      throw std::runtime_error("HTTP " + std::to_string(reply.status) + " without a JSON body: " + reply.body);
    }
    return nlohmann::json::parse(reply.body);
  }

 private:
  std::uint16_t port_;
  std::string api_token_;
};

// Polls chain_info until it answers 200, the process ends, or the deadline passes.
inline bool wait_until_rpc_answers(std::uint16_t port, ChildProcess& process, milliseconds timeout) {
  const Deadline deadline = deadline_after(timeout);
  const std::string body = rpc_request("chain_info", nlohmann::json::object()).dump();
  while (SteadyClock::now() < deadline) {
    if (!process.running()) return false;
    const std::optional<HttpReply> reply = http_post(port, body, {}, milliseconds(1'000));
    if (reply && reply->status == 200) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// WebSocket

// A WebSocket client of ws://127.0.0.1:PORT/ws on its own io_context, run only inside its
// calls and only until the operation ends or its deadline passes. A read that times out stays
// pending and the next read_text() picks it up, so no message is lost.
class WebSocketClient {
 public:
  WebSocketClient() = default;
  ~WebSocketClient() {
    boost::beast::error_code ignored;
    boost::beast::get_lowest_layer(socket_).socket().close(ignored);
    // Lets the cancelled operations finish while the members they write to still exist.
    io_.restart();
    io_.run_for(milliseconds(500));
  }
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  // Connects and upgrades; `authorization` becomes the upgrade's Authorization header.
  bool connect(std::uint16_t port, std::string authorization, milliseconds timeout) {
    namespace beast = boost::beast;
    const Deadline deadline = deadline_after(timeout);
    bool done = false;
    beast::error_code result;
    const boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), port);
    beast::get_lowest_layer(socket_).async_connect(endpoint, [&](beast::error_code error) {
      result = error;
      done = true;
    });
    if (!run_until(done, deadline) || result) return false;
    socket_.set_option(beast::websocket::stream_base::decorator(
        [authorization = std::move(authorization)](beast::websocket::request_type& request) {
          if (!authorization.empty()) request.set(beast::http::field::authorization, authorization);
        }));
    done = false;
    socket_.async_handshake("127.0.0.1:" + std::to_string(port), "/ws", [&](beast::error_code error) {
      result = error;
      done = true;
    });
    return run_until(done, deadline) && !result;
  }

  bool send_text(const std::string& text, milliseconds timeout) {
    namespace beast = boost::beast;
    bool done = false;
    beast::error_code result;
    socket_.text(true);
    socket_.async_write(boost::asio::buffer(text), [&](beast::error_code error, std::size_t) {
      result = error;
      done = true;
    });
    return run_until(done, deadline_after(timeout)) && !result;
  }

  // The next message, or nullopt at the deadline or when the connection has ended (closed()).
  std::optional<std::string> read_text(milliseconds timeout) {
    if (closed_) return std::nullopt;
    if (!read_pending_) {
      read_pending_ = true;
      read_done_ = false;
      socket_.async_read(buffer_, [this](boost::beast::error_code error, std::size_t) {
        read_error_ = error;
        read_done_ = true;
      });
    }
    if (!run_until(read_done_, deadline_after(timeout))) return std::nullopt;
    read_pending_ = false;
    if (read_error_) {
      closed_ = true;
      return std::nullopt;
    }
    std::string text = boost::beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    return text;
  }

  bool closed() const { return closed_; }

 private:
  bool run_until(const bool& done, Deadline deadline) {
    while (!done) {
      if (SteadyClock::now() >= deadline) return false;
      if (io_.stopped()) io_.restart();
      io_.run_one_for(remaining(deadline));
    }
    return true;
  }

  boost::asio::io_context io_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> socket_{io_};
  boost::beast::flat_buffer buffer_;
  bool read_pending_ = false;
  bool read_done_ = false;
  bool closed_ = false;
  boost::beast::error_code read_error_;
};

}  // namespace pc::e2e_rpc
