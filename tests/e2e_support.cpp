#include "tests/e2e_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

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
using Clock = std::chrono::steady_clock;

constexpr Milliseconds wait_poll_interval = 10ms;
constexpr Milliseconds health_poll_interval = 50ms;
constexpr Milliseconds reap_after_kill_max = 10s;
constexpr std::size_t http_response_bytes_max = 16 * 1024 * 1024;
constexpr int node_start_attempts_max = 3;

std::string errno_text() { return std::strerror(errno); }

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
  if (program.find('/') != std::string::npos) return program;
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
  if (WIFEXITED(status)) return ExitStatus{WEXITSTATUS(status), 0};
  return ExitStatus{-1, WIFSIGNALED(status) ? WTERMSIG(status) : 0};
}

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<Milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

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
bool wait_ready(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd entry{fd, events, 0};
    const int ready = ::poll(&entry, 1, remaining_ms(deadline));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) return false;
  }
}

// "HTTP/1.1 200 OK\r\n...\r\n\r\nbody" into status and body; false while incomplete.
bool parse_http_response(const std::string& raw, bool at_end, HttpResponse& response) {
  const std::size_t header_end = raw.find("\r\n\r\n");
  if (header_end == std::string::npos) return false;
  const std::size_t space = raw.find(' ');
  if (space == std::string::npos || space > header_end) return false;
  const int status = std::atoi(raw.c_str() + space + 1);
  const std::size_t body_start = header_end + 4;
  std::optional<std::size_t> content_length;
  std::string headers = raw.substr(0, header_end);
  for (char& c : headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (const std::size_t at = headers.find("\r\ncontent-length:"); at != std::string::npos) {
    content_length = static_cast<std::size_t>(std::strtoull(headers.c_str() + at + 17, nullptr, 10));
  }
  if (content_length) {
    if (raw.size() - body_start < *content_length) return false;
    response.body = raw.substr(body_start, *content_length);
  } else {
    if (!at_end) return false;
    response.body = raw.substr(body_start);
  }
  response.status = status;
  return true;
}

}  // namespace

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

  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed: " + errno_text());
  if (pid == 0) {
    // A new session: its own process group to kill as one, and no controlling terminal, so a
    // passphrase prompt fails at once instead of waiting for a person.
    ::setsid();
    if (!working_directory.empty() && ::chdir(working_directory.c_str()) != 0) ::_exit(126);
    const int input = ::open("/dev/null", O_RDONLY);
    const int output = ::open(stdout_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int error = options.stderr_to_stdout ? output : ::open(stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
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
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
    if (reaped == pid_) {
      status_ = decode_wait_status(status);
      return status_;
    }
    if (reaped < 0 && errno != EINTR) throw std::runtime_error("waitpid failed: " + errno_text());
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(wait_poll_interval);
  }
}

ExitStatus Process::stop(Milliseconds grace) {
  if (!status_) ::kill(pid_, SIGTERM);
  if (auto ended = wait_for(grace)) return *ended;
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

RunResult run(const std::vector<std::string>& args, const SpawnOptions& options, Milliseconds timeout) {
  Process process(args, options);
  RunResult result;
  std::optional<ExitStatus> status = process.wait_for(timeout);
  if (!status) {
    result.timed_out = true;
    process.kill_group();
    status = process.wait_for(reap_after_kill_max);
  }
  if (!status) throw std::runtime_error("cannot reap " + args.front());
  result.status = *status;
  result.out = process.stdout_text();
  result.err = process.stderr_text();
  return result;
}

// ---- network ----

std::uint16_t free_loopback_port() {
  const FileDescriptor socket_fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (socket_fd.get() < 0) throw std::runtime_error("socket failed: " + errno_text());
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (::bind(socket_fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error("bind to 127.0.0.1:0 failed: " + errno_text());
  }
  socklen_t length = sizeof address;
  if (::getsockname(socket_fd.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    throw std::runtime_error("getsockname failed: " + errno_text());
  }
  return ntohs(address.sin_port);
}

HttpResponse http_request(std::uint16_t port, const std::string& method, const std::string& target,
                          const std::string& body, const std::map<std::string, std::string>& headers,
                          Milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  HttpResponse response;
  const FileDescriptor socket_fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (socket_fd.get() < 0) {
    response.error = "socket: " + errno_text();
    return response;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (::connect(socket_fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    if (errno != EINPROGRESS) {
      response.error = "connect: " + errno_text();
      return response;
    }
    if (!wait_ready(socket_fd.get(), POLLOUT, deadline)) {
      response.error = "connect: timed out";
      return response;
    }
    int connect_error = 0;
    socklen_t length = sizeof connect_error;
    ::getsockopt(socket_fd.get(), SOL_SOCKET, SO_ERROR, &connect_error, &length);
    if (connect_error != 0) {
      response.error = std::string("connect: ") + std::strerror(connect_error);
      return response;
    }
  }

  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                        "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "\r\n" + body;
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t count = ::send(socket_fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (count > 0) {
      sent += static_cast<std::size_t>(count);
    } else if (count < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_ready(socket_fd.get(), POLLOUT, deadline)) {
        response.error = "send: timed out";
        return response;
      }
    } else {
      response.error = "send: " + errno_text();
      return response;
    }
  }

  std::string raw;
  char buffer[16 * 1024];
  for (;;) {
    if (parse_http_response(raw, false, response)) return response;
    if (!wait_ready(socket_fd.get(), POLLIN, deadline)) {
      response.error = "no complete answer within " + std::to_string(timeout.count()) + " ms";
      return response;
    }
    const ssize_t count = ::recv(socket_fd.get(), buffer, sizeof buffer, 0);
    if (count > 0) {
      raw.append(buffer, static_cast<std::size_t>(count));
      if (raw.size() > http_response_bytes_max) {
        response.error = "answer over " + std::to_string(http_response_bytes_max) + " bytes";
        return response;
      }
    } else if (count == 0) {
      if (!parse_http_response(raw, true, response)) response.error = "connection closed mid-answer";
      return response;
    } else if (errno != EAGAIN && errno != EINTR) {
      response.error = "recv: " + errno_text();
      return response;
    }
  }
}

HttpResponse rpc_call(std::uint16_t port, const std::string& request_json, const std::string& api_token,
                      Milliseconds timeout) {
  std::map<std::string, std::string> headers{{"Content-Type", "application/json"}};
  if (!api_token.empty()) headers["Authorization"] = "Bearer " + api_token;
  return http_request(port, "POST", "/", request_json, headers, timeout);
}

std::string rpc_request(const std::string& method, const nlohmann::json& params) {
  return nlohmann::json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}}.dump();
}

nlohmann::json rpc_result(std::uint16_t port, const std::string& method, const nlohmann::json& params,
                          const std::string& api_token) {
  const HttpResponse response = rpc_call(port, rpc_request(method, params), api_token);
  if (response.status == 0) throw std::runtime_error(method + ": no answer from the node: " + response.error);
  const nlohmann::json answer = nlohmann::json::parse(response.body, nullptr, false);
  if (answer.is_discarded() || !answer.is_object() || !answer.contains("result")) {
    throw std::runtime_error(method + ": HTTP " + std::to_string(response.status) + ": " + response.body);
  }
  return answer.at("result");
}

bool wait_for_rpc(std::uint16_t port, Milliseconds timeout, Process* node) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (node != nullptr && !node->running()) return false;
    if (http_request(port, "GET", "/health", {}, {}, 1s).status == 200) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(health_poll_interval);
  }
}

// ---- node data dirs ----

void set_rpc_port(const fs::path& data_dir, std::uint16_t port) {
  const fs::path path = data_dir / "node.json";
  nlohmann::ordered_json config = nlohmann::ordered_json::parse(read_text_file(path));
  config["rpc_port"] = port;
  std::ofstream file(path, std::ios::trunc);
  file << config.dump(2) << "\n";
  file.close();
  if (!file) throw std::runtime_error("cannot write " + path.string());
}

std::string read_api_token(const fs::path& data_dir) {
  return nlohmann::json::parse(read_text_file(data_dir / "node.json")).at("api_token").get<std::string>();
}

LiveNode::LiveNode(const std::string& partner_name) : data_dir_(dir_.path() / "data") {
  const SpawnOptions options{{{"POINTCHAIN_PASSPHRASE", std::string(key_passphrase)}}, dir_.path(), true};
  const std::string node = binary_path("pointchain-node").string();
  const RunResult init = run({node, "init", "--data", data_dir_.string(), "--partner-name", partner_name}, options);
  if (!init.status.exited_with(0)) {
    throw std::runtime_error("pointchain-node init failed (" + init.status.describe() + "): " + init.out);
  }
  api_token_ = read_api_token(data_dir_);
  // A port found free can be taken before the node binds it; then the node exits at once
  // ("Address already in use") and another port is tried.
  std::string last_output;
  for (int attempt = 0; attempt < node_start_attempts_max; ++attempt) {
    port_ = free_loopback_port();
    set_rpc_port(data_dir_, port_);
    process_ = std::make_unique<Process>(std::vector<std::string>{node, "run", "--data", data_dir_.string()}, options);
    if (wait_for_rpc(port_, 30s, process_.get())) return;
    process_->stop();
    last_output = process_->stdout_text();
  }
  throw std::runtime_error("pointchain-node run never answered on its RPC port: " + last_output);
}

nlohmann::json LiveNode::call(const std::string& method, const nlohmann::json& params, bool as_partner) const {
  return rpc_result(port_, method, params, as_partner ? api_token_ : std::string());
}

void LiveNode::earn_and_commit(const std::string& customer_address, std::int64_t amount_minor,
                               const std::string& order_id) {
  const nlohmann::json earned = call("earn",
                                     {{"customer", customer_address},
                                      {"amount_minor", amount_minor},
                                      {"currency", "EUR"},
                                      {"order_id", order_id}},
                                     true);
  const std::string tx_id = earned.at("id").get<std::string>();
  const auto deadline = Clock::now() + 30s;
  while (call("get_transaction", {{"id", tx_id}}).at("status") != "committed") {
    if (Clock::now() >= deadline) throw std::runtime_error("earn transaction " + tx_id + " was not committed in 30 s");
    std::this_thread::sleep_for(health_poll_interval);
  }
}

}  // namespace pc::test::e2e
