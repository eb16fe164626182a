// Helpers for end-to-end tests that drive the real binaries (pointchain-node,
// pointchain-wallet, bash) the way a partner, a customer or an auditor would.
//
// Everything here is loopback-only and bounded in time: a child process runs in its own
// process group and is killed with that group (SIGKILL) when its Process object goes away, so
// a failing REQUIRE can never leave a node running. Failures to set a test up (a binary that
// will not start, a node that never answers) throw std::runtime_error with the child's output
// in the message; Catch2 reports that as the test's failure.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/fixtures.hpp"

namespace pc::test::e2e {

using namespace std::chrono_literals;
using Milliseconds = std::chrono::milliseconds;

// build/bin/NAME: where the project's binaries are built (pointchain-node, pointchain-wallet).
std::filesystem::path binary_path(const std::string& name);

// How a process ended: an exit code, or the signal that ended it.
struct ExitStatus {
  int code = -1;   // the exit code when it exited, -1 when a signal ended it
  int signal = 0;  // the signal that ended it, 0 when it exited
  bool exited_with(int expected) const { return signal == 0 && code == expected; }
  std::string describe() const;  // "exit code 3" or "signal 9", for failure messages
};

// Variables set (a value) or removed (nullopt) on top of the test process's own environment.
using EnvironmentChanges = std::map<std::string, std::optional<std::string>>;

struct SpawnOptions {
  EnvironmentChanges environment;
  std::filesystem::path working_directory;  // empty: the test's own
  bool stderr_to_stdout = false;            // one interleaved stream, as a terminal shows it
};

// A child process whose standard output and error go to files (not pipes: a background
// grandchild that keeps a pipe open can then never make a reader wait). The child leads a
// new process group, so everything it starts can be found and killed with it.
class Process {
 public:
  // Starts args[0] (searched in the PATH the child will see when it has no '/') with args.
  // Throws std::runtime_error when it cannot be started.
  explicit Process(const std::vector<std::string>& args, const SpawnOptions& options = {});
  // Kills the whole process group with SIGKILL if any of it is still running, and reaps.
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }

  // The exit status once the process has ended; nullopt while it runs after `timeout`.
  std::optional<ExitStatus> wait_for(Milliseconds timeout);
  bool running() { return !wait_for(0ms).has_value(); }

  // SIGTERM to the process itself (as an operator stops a node), then waits up to `grace`;
  // past that, SIGKILL to the group. The status says which happened.
  ExitStatus stop(Milliseconds grace = 15s);

  // SIGKILL to every process of the group, including children the process left behind.
  void kill_group();
  // Whether any process of the group (the process or what it started) still exists.
  bool group_alive() const;

  std::string stdout_text() const;
  std::string stderr_text() const;  // empty with stderr_to_stdout

 private:
  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
  std::unique_ptr<TempDir> output_dir_;
  std::filesystem::path stdout_path_;
  std::filesystem::path stderr_path_;
};

// One finished run of a command.
struct RunResult {
  ExitStatus status;
  bool timed_out = false;  // killed after `timeout`; status then says signal 9
  std::string out;
  std::string err;
};

// Runs a command to completion, killing its process group after `timeout`.
RunResult run(const std::vector<std::string>& args, const SpawnOptions& options = {}, Milliseconds timeout = 60s);

// A loopback port nothing listens on right now: bound to 127.0.0.1:0 and released at once.
// Another process could take it before the test does; on a test machine that is rare, and
// the test then fails loudly ("Address already in use") rather than passing wrongly.
std::uint16_t free_loopback_port();

struct HttpResponse {
  int status = 0;     // the HTTP status; 0 when there was no complete answer
  std::string body;
  std::string error;  // why there was no answer (connection refused, timeout, ...)
};

// One HTTP/1.1 request to 127.0.0.1:port over a fresh connection ("Connection: close"), with a
// timeout on the whole exchange. POSIX sockets only, so tests need no extra library.
HttpResponse http_request(std::uint16_t port, const std::string& method, const std::string& target,
                          const std::string& body = {}, const std::map<std::string, std::string>& headers = {},
                          Milliseconds timeout = 10s);

// POSTs a JSON-RPC request text to the node's "/" with "Authorization: Bearer <api_token>"
// when a token is given. The body is returned as the node sent it.
HttpResponse rpc_call(std::uint16_t port, const std::string& request_json, const std::string& api_token = {},
                      Milliseconds timeout = 10s);

// {"jsonrpc":"2.0","id":1,"method":method,"params":params} as text.
std::string rpc_request(const std::string& method, const nlohmann::json& params = nlohmann::json::object());

// Calls `method` and returns its "result"; throws std::runtime_error with the answer when the
// call fails or returns a JSON-RPC error.
nlohmann::json rpc_result(std::uint16_t port, const std::string& method,
                          const nlohmann::json& params = nlohmann::json::object(), const std::string& api_token = {});

// Polls GET /health until the node answers 200, `node` (when given) exits, or `timeout` passes.
bool wait_for_rpc(std::uint16_t port, Milliseconds timeout = 30s, Process* node = nullptr);

// node.json helpers for a data dir made by `pointchain-node init`.
void set_rpc_port(const std::filesystem::path& data_dir, std::uint16_t port);
std::string read_api_token(const std::filesystem::path& data_dir);

// A pointchain-node of its own: `init` (one-partner chain, fresh keys) in a temp data dir,
// then `run` on a free loopback port; the constructor returns once the RPC answers. Stopped
// with SIGKILL on destruction unless stop() ran first.
class LiveNode {
 public:
  static constexpr char key_passphrase[] = "e2e node key passphrase";

  explicit LiveNode(const std::string& partner_name = "E2E Partner");

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  const std::string& api_token() const { return api_token_; }
  Process& process() { return *process_; }

  // Calls a method, with the API token for partner methods when `as_partner`.
  nlohmann::json call(const std::string& method, const nlohmann::json& params = nlohmann::json::object(),
                      bool as_partner = false) const;

  // The earn call a partner's till makes; waits until its issuance is committed.
  void earn_and_commit(const std::string& customer_address, std::int64_t amount_minor, const std::string& order_id);

  // Stops the node with SIGTERM and returns how it ended.
  ExitStatus stop() { return process_->stop(); }

 private:
  TempDir dir_;
  std::filesystem::path data_dir_;
  std::uint16_t port_ = 0;
  std::string api_token_;
  std::unique_ptr<Process> process_;
};

// Reads a whole file; throws std::runtime_error when it cannot.
std::string read_text_file(const std::filesystem::path& path);

}  // namespace pc::test::e2e
