#include "tests/e2e_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace pc::test::e2e {
namespace {

namespace fs = std::filesystem;

constexpr Milliseconds wait_poll_interval = 10ms;
constexpr Milliseconds health_poll_interval = 50ms;
constexpr Milliseconds commit_poll_interval = 10ms;
constexpr Milliseconds reap_after_kill_max = 10s;
constexpr Milliseconds node_start_timeout = 30s;
// A clean stop commits what is pending first; generous, since a loaded test machine is slow.
constexpr Milliseconds node_stop_grace = 30s;
constexpr Milliseconds audit_timeout = 60s;
constexpr Milliseconds websocket_close_drain = 500ms;
constexpr std::size_t http_response_bytes_max = 16 * 1024 * 1024;
constexpr int node_start_attempts_max = 3;

std::string errno_text() { return std::strerror(errno); }

std::string lower_case(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::vector<std::string> child_environment(const EnvironmentChanges& changes) {
  std::map<std::string, std::string> variables;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string text(*entry);
    const std::size_t equals = text.find('=');
    if (equals == std::string::npos) continue;
    variables[text.substr(0, equals)] = text.substr(equals + 1);
  }
  for (const auto& [name, value] : changes) {
    if (value) {
      variables[name] = *value;
    } else {
      variables.erase(name);
    }
  }
  std::vector<std::string> entries;
  for (const auto& [name, value] : variables) entries.push_back(name + "=" + value);
  return entries;
}

// The file execve should run: args[0] itself when it names a path, else the first executable
// of that name in the PATH the child will have (so a test's PATH change takes effect).
fs::path resolve_program(const std::string& program, const std::vector<std::string>& environment) {
  if (program.find('/') != std::string::npos) {
    if (::access(program.c_str(), X_OK) != 0) throw std::runtime_error("cannot start " + program + ": " + errno_text());
    return program;
  }
  std::string search_path = "/usr/local/bin:/usr/bin:/bin";
  for (const std::string& entry : environment) {
    if (entry.rfind("PATH=", 0) == 0) search_path = entry.substr(5);
  }
  std::stringstream directories(search_path);
  for (std::string directory; std::getline(directories, directory, ':');) {
    const fs::path candidate = fs::path(directory.empty() ? "." : directory) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw std::runtime_error("cannot start " + program + ": not found in PATH " + search_path);
}

ExitStatus decode_wait_status(int status) {
  if (WIFEXITED(status)) return ExitStatus{WEXITSTATUS(status), 0, 0};
  return ExitStatus{-1, WIFSIGNALED(status) ? WTERMSIG(status) : 0, 0};
}

int poll_timeout(const Deadline& deadline) { return static_cast<int>(deadline.remaining().count()); }

// Closes a descriptor however the function that opened it ends.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Waits until `fd` is ready for `events` or the deadline passes.
bool wait_ready(int fd, short events, const Deadline& deadline) {
  for (;;) {
    pollfd entry{fd, events, 0};
    const int ready = ::poll(&entry, 1, poll_timeout(deadline));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) return false;
  }
}

sockaddr_in loopback_address(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  return address;
}

}  // namespace

Milliseconds Deadline::remaining() const {
  const auto left = std::chrono::ceil<Milliseconds>(at_ - std::chrono::steady_clock::now());
  return left.count() > 0 ? left : 0ms;
}

fs::path binary_path(const std::string& name) { return fs::path(POINTCHAIN_BINARY_DIR) / name; }

std::string ExitStatus::describe() const {
  return signal == 0 ? "exit code " + std::to_string(code) : "signal " + std::to_string(signal);
}

std::string read_text_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string readme_shell_block(const std::string& readme, const std::string& heading) {
  std::istringstream lines(readme);
  std::string line;
  bool in_section = false;
  while (!in_section && std::getline(lines, line)) in_section = line == heading;
  if (!in_section) throw std::runtime_error("README.md needs the heading \"" + heading + "\"");
  while (std::getline(lines, line) && line.empty()) {
  }
  if (line != "```sh") {
    throw std::runtime_error("the first thing under \"" + heading + "\" must be a ```sh fence, found: " + line);
  }
  std::string block;
  bool closed = false;
  while (!closed && std::getline(lines, line)) {
    closed = line == "```";
    if (!closed) block += line + "\n";
  }
  if (!closed) throw std::runtime_error("the ```sh block under \"" + heading + "\" is not closed");
  while (std::getline(lines, line) && line.rfind("## ", 0) != 0) {
    if (line.rfind("```", 0) == 0) throw std::runtime_error("a second code block under \"" + heading + "\": " + line);
  }
  return block;
}

std::vector<RunnableBlock> runnable_blocks(const std::string& markdown) {
  std::istringstream lines(markdown);
  std::string line;
  std::size_t number = 0;
  std::vector<RunnableBlock> blocks;
  bool output_allowed = false;  // an output block may follow the last runnable block
  const auto read_fenced = [&](std::size_t opened_at) {
    std::string text;
    while (std::getline(lines, line)) {
      ++number;
      if (line == "```") return text;
      text += line + "\n";
    }
    throw std::runtime_error("the block opened at line " + std::to_string(opened_at) + " is not closed");
  };
  while (std::getline(lines, line)) {
    ++number;
    if (line.rfind("```", 0) != 0) continue;
    const std::size_t opened_at = number;
    if (line == "```sh run") {
      blocks.push_back({opened_at, read_fenced(opened_at), std::nullopt});
      output_allowed = true;
    } else if (line == "```text output") {
      if (!output_allowed) {
        throw std::runtime_error("the output block at line " + std::to_string(opened_at) +
                                 " follows no ```sh run block");
      }
      blocks.back().expected_output = read_fenced(opened_at);
      output_allowed = false;
    } else {
      read_fenced(opened_at);
      output_allowed = false;
    }
  }
  return blocks;
}

namespace {

std::string trimmed_right(std::string text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r' || text.back() == '\t')) text.pop_back();
  return text;
}

// Whether `text` is `pattern`, where each "..." in the pattern matches any text.
bool matches_pattern(std::string_view pattern, std::string_view text) {
  const std::size_t wildcard = pattern.find("...");
  if (wildcard == std::string_view::npos) return pattern == text;
  const std::string_view head = pattern.substr(0, wildcard);
  if (!text.starts_with(head)) return false;
  const std::string_view rest = pattern.substr(wildcard + 3);
  for (std::size_t from = head.size(); from <= text.size(); ++from) {
    if (matches_pattern(rest, text.substr(from))) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> missing_expected_line(const std::string& expected, const std::string& output) {
  std::istringstream wanted(expected);
  std::istringstream got(output);
  std::string pattern;
  std::string line;
  while (std::getline(wanted, pattern)) {
    pattern = trimmed_right(pattern);
    bool found = false;
    while (!found && std::getline(got, line)) found = matches_pattern(pattern, trimmed_right(line));
    if (!found) return pattern;
  }
  return std::nullopt;
}

// ---- Process ----

Process::Process(const std::vector<std::string>& args, const SpawnOptions& options)
    : output_dir_(std::make_unique<TempDir>()) {
  if (args.empty()) throw std::runtime_error("Process needs a program to run");
  stdout_path_ = output_dir_->path() / "stdout";
  stderr_path_ = output_dir_->path() / "stderr";

  // Everything the child needs is built before fork: after it, the child only makes system
  // calls, since another thread of the test could hold the allocator's lock at that moment.
  const std::vector<std::string> environment = child_environment(options.environment);
  const std::string program = resolve_program(args.front(), environment).string();
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& entry : environment) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);
  const std::string working_directory = options.working_directory.string();
  const std::string stdout_file = stdout_path_.string();
  const std::string stderr_file = stderr_path_.string();
  const pid_t parent = ::getpid();
  rlimit file_size_limit{};
  ::getrlimit(RLIMIT_FSIZE, &file_size_limit);
  if (options.file_size_limit_bytes) file_size_limit.rlim_cur = static_cast<rlim_t>(*options.file_size_limit_bytes);

  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed: " + errno_text());
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, static_cast<unsigned long>(SIGKILL));
    if (::getppid() != parent) ::_exit(127);  // the test died before prctl took effect
    // A new session: its own process group to kill as one, and no controlling terminal, so a
    // passphrase prompt fails at once instead of waiting for a person.
    ::setsid();
    // The test binary's threads may block signals; the child starts with none blocked, so
    // that a node's SIGTERM handler sees SIGTERM.
    sigset_t no_signals;
    ::sigemptyset(&no_signals);
    ::sigprocmask(SIG_SETMASK, &no_signals, nullptr);
    if (options.file_size_limit_bytes) {
      // An ignored signal stays ignored across execve, so the node sees EFBIG, not SIGXFSZ.
      ::signal(SIGXFSZ, SIG_IGN);
      if (::setrlimit(RLIMIT_FSIZE, &file_size_limit) != 0) ::_exit(126);
    }
    if (!working_directory.empty() && ::chdir(working_directory.c_str()) != 0) ::_exit(126);
    const int input = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const int output = ::open(stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const int error = options.stderr_to_stdout
                          ? output
                          : ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (input < 0 || output < 0 || error < 0) ::_exit(126);
    if (::dup2(input, STDIN_FILENO) < 0 || ::dup2(output, STDOUT_FILENO) < 0 || ::dup2(error, STDERR_FILENO) < 0) {
      ::_exit(126);
    }
    ::execve(program.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  pid_ = pid;
}

Process::~Process() {
  if (pid_ <= 0) return;
  if (!status_ || group_alive()) kill_group();
  if (!status_) {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

std::optional<ExitStatus> Process::wait_for(Milliseconds timeout) {
  if (status_) return status_;
  const Deadline deadline(timeout);
  for (;;) {
    int status = 0;
    rusage usage{};
    const pid_t reaped = ::wait4(pid_, &status, WNOHANG, &usage);
    if (reaped == pid_) {
      status_ = decode_wait_status(status);
      status_->peak_rss_kib = usage.ru_maxrss;
      return status_;
    }
    if (reaped < 0 && errno != EINTR) throw std::runtime_error("waitpid failed: " + errno_text());
    if (deadline.passed()) return std::nullopt;
    std::this_thread::sleep_for(wait_poll_interval);
  }
}

ExitStatus Process::stop(Milliseconds grace) {
  if (!status_) ::kill(pid_, SIGTERM);
  if (auto ended = wait_for(grace)) return *ended;
  return kill();
}

ExitStatus Process::kill() {
  kill_group();
  if (auto ended = wait_for(reap_after_kill_max)) return *ended;
  throw std::runtime_error("process " + std::to_string(pid_) + " survived SIGKILL");
}

void Process::kill_group() {
  ::kill(-pid_, SIGKILL);
  if (!status_) ::kill(pid_, SIGKILL);  // in case it had not reached setsid yet
}

bool Process::group_alive() const { return ::kill(-pid_, 0) == 0 || errno == EPERM; }

std::string Process::stdout_text() const { return read_text_file(stdout_path_); }

std::string Process::stderr_text() const {
  std::error_code ignored;
  return fs::exists(stderr_path_, ignored) ? read_text_file(stderr_path_) : std::string();
}

ScriptRun run_doc_script(const std::filesystem::path& script, const SpawnOptions& options, Milliseconds timeout) {
  Process process({"bash", "-e", "-u", "-o", "pipefail", script.string()}, options);
  ScriptRun result;
  result.status = process.wait_for(timeout);
  if (!result.status) process.kill_group();
  result.left_running = result.status.has_value() && process.group_alive();
  if (result.left_running) process.kill_group();
  result.output = process.stdout_text();
  return result;
}

RunResult run(const std::vector<std::string>& args, const SpawnOptions& options, Milliseconds timeout) {
  Process process(args, options);
  RunResult result;
  std::optional<ExitStatus> status = process.wait_for(timeout);
  if (!status) {
    result.timed_out = true;
    status = process.kill();
  }
  result.status = *status;
  result.out = process.stdout_text();
  result.err = process.stderr_text();
  return result;
}

// ---- HTTP over loopback ----

std::uint16_t free_loopback_port() {
  const FileDescriptor socket_fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (socket_fd.get() < 0) throw std::runtime_error("socket failed: " + errno_text());
  sockaddr_in address = loopback_address(0);
  if (::bind(socket_fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error("bind to 127.0.0.1:0 failed: " + errno_text());
  }
  socklen_t length = sizeof address;
  if (::getsockname(socket_fd.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("getsockname failed: " + errno_text());
  }
  return ntohs(address.sin_port);
}

std::uint16_t free_loopback_ports(std::size_t count) {
  constexpr int attempts_max = 100;
  for (int attempt = 0; attempt < attempts_max; ++attempt) {
    const std::uint16_t base = free_loopback_port();
    if (std::size_t{base} + count > 65'536) continue;
    bool all_free = true;
    for (std::size_t i = 1; i < count && all_free; ++i) {
      const FileDescriptor socket_fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (socket_fd.get() < 0) throw std::runtime_error("socket failed: " + errno_text());
      sockaddr_in address = loopback_address(static_cast<std::uint16_t>(base + i));
      all_free = ::bind(socket_fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
    }
    if (all_free) return base;
  }
  throw std::runtime_error("no " + std::to_string(count) + " consecutive free loopback ports in " +
                           std::to_string(attempts_max) + " attempts");
}

std::string HttpResponse::header(const std::string& name) const {
  const auto found = headers.find(lower_case(name));
  return found == headers.end() ? std::string() : found->second;
}

std::string http_request_text(std::uint16_t port, const std::string& method, const std::string& target,
                              const std::string& body, const HttpHeaders& headers, bool keep_alive) {
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                        "\r\nConnection: " + (keep_alive ? "keep-alive" : "close") +
                        "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  return request + "\r\n" + body;
}

HttpConnection::~HttpConnection() { close(); }

void HttpConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

bool HttpConnection::connect(std::uint16_t port, Milliseconds timeout, const std::string& source_address) {
  close();
  const Deadline deadline(timeout);
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) {
    error_ = "socket: " + errno_text();
    return false;
  }
  if (!source_address.empty()) {
    sockaddr_in source = loopback_address(0);
    if (::inet_pton(AF_INET, source_address.c_str(), &source.sin_addr) != 1 ||
        ::bind(fd_, reinterpret_cast<const sockaddr*>(&source), sizeof source) != 0) {
      error_ = "bind to " + source_address + ": " + errno_text();
      close();
      return false;
    }
  }
  const sockaddr_in address = loopback_address(port);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) return true;
  if (errno != EINPROGRESS) {
    error_ = "connect: " + errno_text();
    close();
    return false;
  }
  if (!wait_ready(fd_, POLLOUT, deadline)) {
    error_ = "connect: timed out";
    close();
    return false;
  }
  int connect_error = 0;
  socklen_t length = sizeof connect_error;
  ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &connect_error, &length);
  if (connect_error != 0) {
    error_ = std::string("connect: ") + std::strerror(connect_error);
    close();
    return false;
  }
  return true;
}

bool HttpConnection::send(const std::string& bytes, Milliseconds timeout) {
  const Deadline deadline(timeout);
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t count = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (count > 0) {
      sent += static_cast<std::size_t>(count);
    } else if (count < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_ready(fd_, POLLOUT, deadline)) {
        error_ = "send: timed out";
        return false;
      }
    } else {
      error_ = "send: " + errno_text();
      return false;
    }
  }
  return true;
}

HttpConnection::Received HttpConnection::receive_some(const Deadline& deadline) {
  for (;;) {
    if (!wait_ready(fd_, POLLIN, deadline)) {
      if (deadline.passed()) return Received::timed_out;
      error_ = "poll: " + errno_text();
      return Received::failed;
    }
    char chunk[16 * 1024];
    const ssize_t count = ::recv(fd_, chunk, sizeof chunk, 0);
    if (count > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(count));
      return Received::bytes;
    }
    if (count == 0 || errno == ECONNRESET) return Received::end;  // a reset is the peer's close too
    if (errno == EAGAIN || errno == EINTR) continue;
    error_ = "recv: " + errno_text();
    return Received::failed;
  }
}

// The first response in the buffer, taken out of it; nullopt while it is incomplete.
std::optional<HttpResponse> HttpConnection::take_response(bool at_end) {
  const std::size_t header_end = buffer_.find("\r\n\r\n");
  if (header_end == std::string::npos) return std::nullopt;
  HttpResponse response;
  std::istringstream lines(buffer_.substr(0, header_end));
  std::string status_line;
  std::getline(lines, status_line);
  if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) {
    response.error = "not an HTTP response: " + status_line;
    buffer_.clear();
    return response;
  }
  const int status = std::atoi(status_line.c_str() + 9);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::size_t value_start = line.find_first_not_of(" \t", colon + 1);
    response.headers[lower_case(line.substr(0, colon))] =
        value_start == std::string::npos ? std::string() : line.substr(value_start);
  }
  const std::size_t body_start = header_end + 4;
  std::size_t body_end = buffer_.size();
  if (const std::string length = response.header("Content-Length"); !length.empty()) {
    body_end = body_start + static_cast<std::size_t>(std::strtoull(length.c_str(), nullptr, 10));
    if (buffer_.size() < body_end) return std::nullopt;
  } else if (!at_end) {
    return std::nullopt;
  }
  response.status = status;
  response.body = buffer_.substr(body_start, body_end - body_start);
  buffer_.erase(0, body_end);
  return response;
}

HttpResponse HttpConnection::read_response(Milliseconds timeout) {
  const Deadline deadline(timeout);
  HttpResponse failure;
  for (;;) {
    if (std::optional<HttpResponse> response = take_response(false)) return *response;
    switch (receive_some(deadline)) {
      case Received::bytes:
        if (buffer_.size() > http_response_bytes_max) {
          failure.error = "answer over " + std::to_string(http_response_bytes_max) + " bytes";
          return failure;
        }
        continue;
      case Received::end:
        if (std::optional<HttpResponse> response = take_response(true)) return *response;
        failure.error = "connection closed mid-answer";
        return failure;
      case Received::timed_out:
        failure.error = "no complete answer within " + std::to_string(timeout.count()) + " ms";
        return failure;
      case Received::failed:
        failure.error = error_;
        return failure;
    }
  }
}

HttpConnection::Ending HttpConnection::wait_for_close(Milliseconds timeout) {
  switch (receive_some(Deadline(timeout))) {
    case Received::bytes: return Ending::answered;
    case Received::timed_out: return Ending::still_open;
    case Received::end:
    case Received::failed: return Ending::closed;
  }
  return Ending::still_open;
}

HttpResponse http_request(std::uint16_t port, const std::string& method, const std::string& target,
                          const std::string& body, const HttpHeaders& headers, Milliseconds timeout) {
  const Deadline deadline(timeout);
  HttpConnection connection;
  if (!connection.connect(port, deadline.remaining())) return HttpResponse{0, {}, {}, connection.error()};
  const bool sent =
      connection.send(http_request_text(port, method, target, body, headers, /*keep_alive=*/false), deadline.remaining());
  const std::string send_error = sent ? std::string() : connection.error();
  HttpResponse response = connection.read_response(deadline.remaining());
  if (response.status == 0 && !send_error.empty()) response.error = send_error + "; then " + response.error;
  return response;
}

// ---- JSON-RPC ----

nlohmann::json rpc_request(const std::string& method, const nlohmann::json& params, const nlohmann::json& id) {
  return nlohmann::json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
}

HttpResponse rpc_post(std::uint16_t port, const std::string& body, const std::string& authorization,
                      Milliseconds timeout) {
  HttpHeaders headers{{"Content-Type", "application/json"}};
  if (!authorization.empty()) headers["Authorization"] = authorization;
  return http_request(port, "POST", "/", body, headers, timeout);
}

nlohmann::json rpc_response(std::uint16_t port, const std::string& method, const nlohmann::json& params,
                            const std::string& authorization) {
  const HttpResponse response = rpc_post(port, rpc_request(method, params).dump(), authorization);
  if (response.status == 0) throw std::runtime_error(method + ": no answer from the node: " + response.error);
  nlohmann::json answer = nlohmann::json::parse(response.body, nullptr, false);
  if (answer.is_discarded()) {
    throw std::runtime_error(method + ": HTTP " + std::to_string(response.status) + " without a JSON body: " +
                             response.body);
  }
  return answer;
}

nlohmann::json rpc_result(std::uint16_t port, const std::string& method, const nlohmann::json& params,
                          const std::string& authorization) {
  const nlohmann::json answer = rpc_response(port, method, params, authorization);
  if (!answer.is_object() || !answer.contains("result")) throw std::runtime_error(method + ": " + answer.dump());
  return answer.at("result");
}

bool wait_for_rpc(std::uint16_t port, Milliseconds timeout, Process* node) {
  const Deadline deadline(timeout);
  for (;;) {
    if (node != nullptr && !node->running()) return false;
    if (http_request(port, "GET", "/health", {}, {}, 1s).status == 200) return true;
    if (deadline.passed()) return false;
    std::this_thread::sleep_for(health_poll_interval);
  }
}

// ---- WebSocket ----

// The client's own io_context, run only inside the client's calls.
struct WebSocketClient::Connection {
  boost::asio::io_context io;
  boost::beast::websocket::stream<boost::beast::tcp_stream> socket{io};
  boost::beast::flat_buffer buffer;
  bool read_pending = false;
  bool read_done = false;
  bool closed = false;
  boost::beast::error_code read_error;

  // Runs handlers until `done` or the deadline; false at the deadline.
  bool run_until(const bool& done, const Deadline& deadline) {
    while (!done) {
      if (deadline.passed()) return false;
      if (io.stopped()) io.restart();
      io.run_one_for(deadline.remaining());
    }
    return true;
  }
};

WebSocketClient::WebSocketClient() : connection_(std::make_unique<Connection>()) {}

WebSocketClient::~WebSocketClient() {
  boost::beast::error_code ignored;
  boost::beast::get_lowest_layer(connection_->socket).socket().close(ignored);
  // Lets the cancelled operations finish while the members they write to still exist.
  connection_->io.restart();
  connection_->io.run_for(websocket_close_drain);
}

bool WebSocketClient::connect(std::uint16_t port, const std::string& authorization, Milliseconds timeout) {
  namespace beast = boost::beast;
  const Deadline deadline(timeout);
  bool done = false;
  beast::error_code result;
  const boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), port);
  beast::get_lowest_layer(connection_->socket).async_connect(endpoint, [&](beast::error_code error) {
    result = error;
    done = true;
  });
  if (!connection_->run_until(done, deadline) || result) return false;
  connection_->socket.set_option(
      beast::websocket::stream_base::decorator([authorization](beast::websocket::request_type& request) {
        if (!authorization.empty()) request.set(beast::http::field::authorization, authorization);
      }));
  done = false;
  connection_->socket.async_handshake("127.0.0.1:" + std::to_string(port), "/ws", [&](beast::error_code error) {
    result = error;
    done = true;
  });
  return connection_->run_until(done, deadline) && !result;
}

bool WebSocketClient::send_text(const std::string& text, Milliseconds timeout) {
  namespace beast = boost::beast;
  bool done = false;
  beast::error_code result;
  connection_->socket.text(true);
  connection_->socket.async_write(boost::asio::buffer(text), [&](beast::error_code error, std::size_t) {
    result = error;
    done = true;
  });
  return connection_->run_until(done, Deadline(timeout)) && !result;
}

std::optional<std::string> WebSocketClient::read_text(Milliseconds timeout) {
  Connection& c = *connection_;
  if (c.closed) return std::nullopt;
  if (!c.read_pending) {
    c.read_pending = true;
    c.read_done = false;
    c.socket.async_read(c.buffer, [&c](boost::beast::error_code error, std::size_t) {
      c.read_error = error;
      c.read_done = true;
    });
  }
  if (!c.run_until(c.read_done, Deadline(timeout))) return std::nullopt;
  c.read_pending = false;
  if (c.read_error) {
    c.closed = true;
    return std::nullopt;
  }
  std::string text = boost::beast::buffers_to_string(c.buffer.data());
  c.buffer.consume(c.buffer.size());
  return text;
}

bool WebSocketClient::closed() const { return connection_->closed; }

bool set_file_size_limit(pid_t pid, std::optional<std::uint64_t> bytes) {
  rlimit limit{};
  if (::prlimit(pid, RLIMIT_FSIZE, nullptr, &limit) != 0) return false;
  limit.rlim_cur = bytes ? static_cast<rlim_t>(*bytes) : limit.rlim_max;
  return ::prlimit(pid, RLIMIT_FSIZE, &limit, nullptr) == 0;
}

// ---- nodes ----

void set_node_config(const fs::path& data_dir, const nlohmann::json& fields) {
  const fs::path path = data_dir / "node.json";
  nlohmann::ordered_json config = nlohmann::ordered_json::parse(read_text_file(path));
  for (const auto& [name, value] : fields.items()) {
    if (value.is_null()) {
      config.erase(name);
    } else {
      config[name] = value;
    }
  }
  std::ofstream file(path, std::ios::trunc);
  file << config.dump(2) << "\n";
  file.close();
  if (!file) throw std::runtime_error("cannot write " + path.string());
}

std::string read_api_token(const fs::path& data_dir) {
  return nlohmann::json::parse(read_text_file(data_dir / "node.json")).at("api_token").get<std::string>();
}

SpawnOptions LiveNode::node_options() const {
  return SpawnOptions{{{"POINTCHAIN_PASSPHRASE", std::string(key_passphrase)}}, dir_.path(), true, std::nullopt};
}

pid_t LiveNode::pid() const {
  if (!process_) throw std::runtime_error("LiveNode::pid: the node does not run");
  return process_->pid();
}

// The init command of partner 1 of a coalition genesis, as a partner joins one: a first init
// makes this node's keys and refuses the genesis that does not hold them yet; the genesis is
// then written with its public keys (read with `keys`), for the second init to accept.
std::vector<std::string> LiveNode::coalition_init(const LiveNodeOptions& options) const {
  ledger::Genesis genesis;
  genesis.protocol_version = ledger::protocol_version_newest;
  genesis.chain_id = options.chain_id.empty() ? "e2e-coalition" : options.chain_id;
  genesis.coalition_name = "E2E Coalition";
  genesis.genesis_time_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  genesis.policy.point_expiry_days = 365;
  genesis.policy.transfers_allowed = true;
  genesis.policy.tiers = options.tiers.value_or(ledger::TierProgram{});
  std::vector<std::uint64_t> powers{1};
  powers.insert(powers.end(), options.other_validator_powers.begin(), options.other_validator_powers.end());
  for (std::size_t i = 1; i <= powers.size(); ++i) {
    ledger::Partner partner;
    partner.id = static_cast<ledger::PartnerId>(i);
    partner.name = i == 1 ? options.partner_name : "Partner " + std::to_string(i);
    partner.issuer_key = TxFactory::partner_issuer(partner.id).public_key();
    partner.validator_key = seeded_key("partner " + std::to_string(i) + " validator").public_key();
    partner.voting_power = powers[i - 1];
    genesis.partners.push_back(partner);
  }
  genesis.policy.billing = ledger::no_charge_billing(genesis.partners, TxFactory::billing_key().public_key());
  const std::filesystem::path genesis_path = dir_.path() / "coalition-genesis.json";
  const auto write_genesis = [&] {
    std::ofstream file(genesis_path, std::ios::trunc);
    file << ledger::genesis_to_json(genesis);
    if (!file) throw std::runtime_error("cannot write " + genesis_path.string());
  };
  write_genesis();
  const std::string node = binary_path("pointchain-node").string();
  const std::vector<std::string> init{node, "init", "--data", data_dir_.string(), "--genesis", genesis_path.string(),
                                      "--partner-id", "1"};
  const RunResult first = run(init, node_options());
  if (!first.status.exited_with(1)) {
    throw std::runtime_error("pointchain-node init with a genesis lacking its keys: " + first.status.describe() + ": " +
                             first.out);
  }
  const RunResult keys = run({node, "keys", "--data", data_dir_.string()}, node_options());
  const auto key_after = [&](const std::string& label) {
    const std::size_t at = keys.out.find(label);
    if (!keys.status.exited_with(0) || at == std::string::npos) {
      throw std::runtime_error("pointchain-node keys: " + keys.out);
    }
    std::istringstream rest(keys.out.substr(at + label.size()));
    std::string hex;
    rest >> hex;
    auto key = fixed_from_hex<32>(hex);
    if (!key) throw std::runtime_error("pointchain-node keys printed a key that is not hex: " + hex);
    return *key;
  };
  genesis.partners[0].validator_key = key_after("validator key");
  genesis.partners[0].issuer_key = key_after("issuer key");
  write_genesis();
  return init;
}

LiveNode::LiveNode(const LiveNodeOptions& options)
    : data_dir_(dir_.path() / "data"),
      config_({{"rpc_address", "127.0.0.1"}, {"block_interval_ms", options.block_interval_ms}}),
      file_size_limit_bytes_(options.file_size_limit_bytes) {
  config_.update(options.config);
  std::vector<std::string> init{binary_path("pointchain-node").string(), "init", "--data", data_dir_.string(),
                                "--partner-name", options.partner_name};
  if (!options.chain_id.empty()) {
    init.push_back("--chain-id");
    init.push_back(options.chain_id);
  }
  if (!options.other_validator_powers.empty() || options.tiers) init = coalition_init(options);
  const RunResult initialized = run(init, node_options());
  if (!initialized.status.exited_with(0)) {
    throw std::runtime_error("pointchain-node init failed (" + initialized.status.describe() + "): " + initialized.out);
  }
  api_token_ = read_api_token(data_dir_);
  if (api_token_.empty()) throw std::runtime_error("pointchain-node init wrote no api_token");
  start();
}

void LiveNode::start() {
  if (process_) throw std::runtime_error("LiveNode::start: the node runs already");
  for (int attempt = 0; attempt < node_start_attempts_max; ++attempt) {
    port_ = free_loopback_port();
    nlohmann::json config = config_;
    config["rpc_port"] = port_;
    set_node_config(data_dir_, config);
    SpawnOptions spawn = node_options();
    spawn.file_size_limit_bytes = file_size_limit_bytes_;
    process_ = std::make_unique<Process>(
        std::vector<std::string>{binary_path("pointchain-node").string(), "run", "--data", data_dir_.string()},
        spawn);
    if (wait_for_rpc(port_, node_start_timeout, process_.get())) return;
    process_->stop();
    last_output_ = process_->stdout_text();
    process_.reset();
    // A port found free can be taken before the node binds it; only that is worth a retry.
    if (last_output_.find("cannot listen") == std::string::npos) break;
  }
  throw std::runtime_error("pointchain-node run never answered on its RPC port: " + last_output_);
}

ExitStatus LiveNode::stop() {
  if (!process_) throw std::runtime_error("LiveNode::stop: the node does not run");
  const ExitStatus status = process_->stop(node_stop_grace);
  last_output_ = process_->stdout_text();
  process_.reset();
  return status;
}

ExitStatus LiveNode::kill() {
  if (!process_) throw std::runtime_error("LiveNode::kill: the node does not run");
  const ExitStatus status = process_->kill();
  last_output_ = process_->stdout_text();
  process_.reset();
  return status;
}

RunResult LiveNode::audit() const {
  return run({binary_path("pointchain-node").string(), "audit", "--data", data_dir_.string()}, node_options(),
             audit_timeout);
}

std::string LiveNode::output() const { return process_ ? process_->stdout_text() : last_output_; }

HttpResponse LiveNode::post(const std::string& body, const std::string& authorization) const {
  HttpResponse response = rpc_post(port_, body, authorization);
  if (response.status == 0) {
    throw std::runtime_error("no HTTP answer from 127.0.0.1:" + std::to_string(port_) + ": " + response.error);
  }
  return response;
}

nlohmann::json LiveNode::response(const std::string& method, const nlohmann::json& params,
                                  const std::string& authorization) const {
  return rpc_response(port_, method, params, authorization);
}

nlohmann::json LiveNode::call(const std::string& method, const nlohmann::json& params,
                              const std::string& authorization) const {
  return rpc_result(port_, method, params, authorization);
}

nlohmann::json LiveNode::wait_until_committed(const std::string& tx_id, Milliseconds timeout) const {
  const Deadline deadline(timeout);
  for (;;) {
    const nlohmann::json answer = response("get_transaction", {{"id", tx_id}});
    if (answer.contains("result") && answer.at("result").at("status") == "committed") return answer.at("result");
    if (deadline.passed()) {
      throw std::runtime_error("transaction " + tx_id + " was not committed within " +
                               std::to_string(timeout.count()) + " ms; last answer " + answer.dump());
    }
    std::this_thread::sleep_for(commit_poll_interval);
  }
}

nlohmann::json LiveNode::earn_and_commit(const std::string& customer_address, std::int64_t amount_minor,
                                         const std::string& order_id) const {
  const nlohmann::json earned = call("earn",
                                     {{"customer", customer_address},
                                      {"amount_minor", amount_minor},
                                      {"currency", "EUR"},
                                      {"order_id", order_id}},
                                     bearer());
  wait_until_committed(earned.at("id").get<std::string>());
  return earned;
}

nlohmann::json LiveNode::partner_call_and_commit(const std::string& method, const nlohmann::json& params) const {
  const nlohmann::json result = call(method, params, bearer());
  wait_until_committed(result.at("id").get<std::string>());
  return result;
}

RunResult CustomerWallet::run(const std::vector<std::string>& args) const {
  SpawnOptions options;
  options.working_directory = home();
  options.environment = {{"HOME", home().string()},
                         {"POINTCHAIN_WALLET_PASSPHRASE", passphrase_},
                         {"POINTCHAIN_NODE", node_.url()}};
  std::vector<std::string> command{binary_path("pointchain-wallet").string(), "--wallet", (home() / "alice.key").string()};
  command.insert(command.end(), args.begin(), args.end());
  return e2e::run(command, options, 90s);
}

std::string CustomerWallet::create() const {
  const RunResult created = run({"create"});
  const std::size_t at = created.out.find("Address: ");
  if (!created.status.exited_with(0) || at == std::string::npos) {
    throw std::runtime_error("pointchain-wallet create (" + created.status.describe() + "): " + created.out + created.err);
  }
  // An address is "pc" and 60 base 32 characters (docs/crypto.md).
  return created.out.substr(at + 9, 62);
}

}  // namespace pc::test::e2e
