// Helpers for end-to-end tests that drive the real binaries (pointchain-node,
// pointchain-wallet, bash) the way a partner, a customer or an auditor would: processes, a
// small HTTP/1.1 client over POSIX sockets, a WebSocket client (Boost.Beast, kept inside
// e2e_support.cpp) and a live node in a temporary data dir.
//
// Everything here is loopback-only and bounded in time: every wait takes a timeout, and a
// child process runs in its own process group and is killed with that group (SIGKILL) when its
// Process object goes away, so a failing REQUIRE can never leave a node running. Nothing here
// uses Catch2: failures to set a test up (a binary that will not start, a node that never
// answers) throw std::runtime_error with the child's output in the message, which Catch2
// reports as the test's failure; what a test checks comes back as a value.
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
#include <utility>
#include <vector>

#include "tests/fixtures.hpp"

namespace pc::test::e2e {

using namespace std::chrono_literals;
using Milliseconds = std::chrono::milliseconds;

// The moment a wait gives up, for loops that make several bounded calls.
class Deadline {
 public:
  explicit Deadline(Milliseconds timeout) : at_(std::chrono::steady_clock::now() + timeout) {}
  bool passed() const { return std::chrono::steady_clock::now() >= at_; }
  // What is left, rounded up so that a short wait still waits; zero once passed.
  Milliseconds remaining() const;

 private:
  std::chrono::steady_clock::time_point at_;
};

// build/bin/NAME: where the project's binaries are built (pointchain-node, pointchain-wallet).
std::filesystem::path binary_path(const std::string& name);

// Reads a whole file; throws std::runtime_error when it cannot.
std::string read_text_file(const std::filesystem::path& path);

// The lines of the one ```sh block that directly follows `heading` (a whole line, "## ...")
// in a README, as a reader would paste it. Throws std::runtime_error when the heading is
// missing, prose comes before the block, the block is not closed, or the section (up to the
// next "## " heading) holds a second code block: the README promises one block to paste whole.
std::string readme_shell_block(const std::string& readme, const std::string& heading);

// A document's runnable examples (docs/partner-guide.md, "How this guide is tested"): every
// fenced block opened by a line "```sh run", in document order, each with the block opened by
// "```text output" that follows it (before any other fence), if there is one.
struct RunnableBlock {
  std::size_t line = 0;  // the line of its opening fence, 1-based
  std::string script;
  std::optional<std::string> expected_output;
};
// Throws std::runtime_error for a block that is not closed, or an output block that follows
// no runnable block.
std::vector<RunnableBlock> runnable_blocks(const std::string& markdown);

// The first line of `expected` that `output` does not hold, or nullopt. The expected lines must
// appear in order, as whole lines, with any lines between them; "..." in an expected line
// stands for any text (none included). Trailing spaces are ignored on both sides.
std::optional<std::string> missing_expected_line(const std::string& expected, const std::string& output);

// ---- processes ----

// How a process ended: an exit code, or the signal that ended it.
struct ExitStatus {
  int code = -1;   // the exit code when it exited, -1 when a signal ended it
  int signal = 0;  // the signal that ended it, 0 when it exited
  long peak_rss_kib = 0;  // the process's own peak resident memory (wait4's ru_maxrss)
  bool exited_with(int expected) const { return signal == 0 && code == expected; }
  std::string describe() const;  // "exit code 3" or "signal 9", for failure messages
};

// Variables set (a value) or removed (nullopt) on top of the test process's own environment.
using EnvironmentChanges = std::map<std::string, std::optional<std::string>>;

struct SpawnOptions {
  EnvironmentChanges environment;
  std::filesystem::path working_directory;  // empty: the test's own
  bool stderr_to_stdout = false;            // one interleaved stream, as a terminal shows it
  // RLIMIT_FSIZE's soft limit for the child, with SIGXFSZ ignored: a write past it fails
  // with EFBIG after writing what fits, as on a full disk, without a mounted file system.
  std::optional<std::uint64_t> file_size_limit_bytes;
};

// Sets (a number of bytes) or lifts (nullopt) a running process's RLIMIT_FSIZE soft limit:
// "freeing the disk" for a child started with file_size_limit_bytes. False when it cannot.
bool set_file_size_limit(pid_t pid, std::optional<std::uint64_t> bytes);

// A child process whose standard output and error go to files (not pipes: a background
// grandchild that keeps a pipe open can then never make a reader wait). The child leads a
// new process group, so everything it starts can be found and killed with it. It also gets
// SIGKILL when the thread that started it ends (PR_SET_PDEATHSIG), so a test binary that
// crashes takes its children with it: start processes from the test's own thread.
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
  // SIGKILL to the group, then the status (a signal 9 unless it had ended before).
  ExitStatus kill();

  // SIGKILL to every process of the group, including children the process left behind;
  // does not wait.
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

// A documentation script run as a reader would (bash -e -u -o pipefail: the first failing
// step fails the run). Whatever happens, nothing it started is left running: its process
// group is killed after `timeout`, and again if a finished script left something behind.
struct ScriptRun {
  std::optional<ExitStatus> status;  // nullopt: still running at `timeout`
  bool left_running = false;         // it finished, but a process it started was still alive
  std::string output;                // stdout (and stderr, if the options merge them)
};
ScriptRun run_doc_script(const std::filesystem::path& script, const SpawnOptions& options, Milliseconds timeout);

// ---- HTTP over loopback ----

// A loopback port nothing listens on right now: bound to 127.0.0.1:0 and released at once.
// Another process could take it before the test does; LiveNode then tries another, and
// elsewhere the test fails loudly ("Address already in use") rather than passing wrongly.
std::uint16_t free_loopback_port();

// The first of `count` consecutive loopback ports that nothing listened on just now (for a
// script that numbers its ports from a base, as scripts/cluster.sh does). The same race as
// free_loopback_port's applies.
std::uint16_t free_loopback_ports(std::size_t count);

using HttpHeaders = std::map<std::string, std::string>;

struct HttpResponse {
  int status = 0;       // the HTTP status; 0 when there was no complete answer
  HttpHeaders headers;  // field names in lower case
  std::string body;
  std::string error;  // why there was no answer (connection refused, timeout, ...)

  // A header's value, "" when it is absent; `name` in any case.
  std::string header(const std::string& name) const;
};

// The bytes of one HTTP/1.1 request to 127.0.0.1:port, with its Content-Length, and
// "Connection: keep-alive" or "Connection: close".
std::string http_request_text(std::uint16_t port, const std::string& method, const std::string& target,
                              const std::string& body, const HttpHeaders& headers, bool keep_alive);

// One client TCP connection to 127.0.0.1, for tests that hold connections open or send raw
// bytes. Every call is bounded by its timeout; a failed call leaves the reason in error().
class HttpConnection {
 public:
  HttpConnection() = default;
  ~HttpConnection();  // closes the connection
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // False when nothing accepts on the port within `timeout`. A `source_address` in 127.0.0.0/8
  // (say "127.0.0.2") makes the connection come from that address, as another client's would.
  bool connect(std::uint16_t port, Milliseconds timeout = 10s, const std::string& source_address = {});
  // False when the peer stops taking bytes (closed, reset) or `timeout` passes.
  bool send(const std::string& bytes, Milliseconds timeout = 10s);
  // The next response, framed by Content-Length or by the end of the stream; status 0 and
  // `error` when none arrives whole. Bytes after it stay for the next call.
  HttpResponse read_response(Milliseconds timeout = 10s);

  enum class Ending { closed, answered, still_open };
  // Waits for the server to close this connection without sending anything (end of stream
  // or reset): `answered` if bytes arrive instead, `still_open` when `timeout` passes.
  Ending wait_for_close(Milliseconds timeout);

  const std::string& error() const { return error_; }

 private:
  enum class Received { bytes, end, timed_out, failed };
  Received receive_some(const Deadline& deadline);
  std::optional<HttpResponse> take_response(bool at_end);
  void close();

  int fd_ = -1;
  std::string buffer_;
  std::string error_;
};

// One request over a fresh connection ("Connection: close"), with a timeout on the whole
// exchange. A server that refuses a body early (HTTP 413) may stop reading it and still
// answer, so the answer is read even when sending fails.
HttpResponse http_request(std::uint16_t port, const std::string& method, const std::string& target,
                          const std::string& body = {}, const HttpHeaders& headers = {},
                          Milliseconds timeout = 10s);

// ---- JSON-RPC ----

// {"jsonrpc":"2.0","id":id,"method":method,"params":params}.
nlohmann::json rpc_request(const std::string& method, const nlohmann::json& params = nlohmann::json::object(),
                           const nlohmann::json& id = 1);

// POSTs a JSON-RPC request text to the node's "/", with `authorization` as the whole
// Authorization header ("Bearer <api token>") when it is not empty.
HttpResponse rpc_post(std::uint16_t port, const std::string& body, const std::string& authorization = {},
                      Milliseconds timeout = 10s);

// The response object of one call; throws std::runtime_error when the answer is not JSON.
nlohmann::json rpc_response(std::uint16_t port, const std::string& method,
                            const nlohmann::json& params = nlohmann::json::object(),
                            const std::string& authorization = {});

// Its "result"; throws std::runtime_error with the answer when the call returns an error.
nlohmann::json rpc_result(std::uint16_t port, const std::string& method,
                          const nlohmann::json& params = nlohmann::json::object(),
                          const std::string& authorization = {});

// Polls GET /health until the node answers 200, `node` (when given) exits, or `timeout` passes.
bool wait_for_rpc(std::uint16_t port, Milliseconds timeout = 30s, Process* node = nullptr);

// A WebSocket client of ws://127.0.0.1:PORT/ws. Its I/O runs only inside its calls and only
// until the call's operation ends or its timeout passes. A read that times out stays pending
// and the next read_text() picks it up, so no message is lost.
class WebSocketClient {
 public:
  WebSocketClient();
  ~WebSocketClient();
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  // Connects and upgrades; `authorization`, when not empty, becomes the upgrade request's
  // Authorization header.
  bool connect(std::uint16_t port, const std::string& authorization, Milliseconds timeout);
  bool send_text(const std::string& text, Milliseconds timeout);
  // The next message, or nullopt when `timeout` passes or the connection has ended (closed()).
  std::optional<std::string> read_text(Milliseconds timeout);
  bool closed() const;

 private:
  struct Connection;
  std::unique_ptr<Connection> connection_;
};

// ---- nodes ----

// Sets `fields` in a data dir's node.json, keeping the others and their order; a field given
// as null is removed, as an operator deletes a section.
void set_node_config(const std::filesystem::path& data_dir, const nlohmann::json& fields);
std::string read_api_token(const std::filesystem::path& data_dir);

struct LiveNodeOptions {
  std::string partner_name = "E2E Partner";
  std::string chain_id;  // empty: init's default
  // Short, so that a submitted transaction commits within a few tens of milliseconds.
  std::uint64_t block_interval_ms = 25;
  // node.json fields set on top of what init wrote (rate limits, ...), at every start.
  nlohmann::json config = nlohmann::json::object();
  // The node's file size limit at every start (SpawnOptions::file_size_limit_bytes).
  std::optional<std::uint64_t> file_size_limit_bytes;
  // Empty: init makes a one-partner chain. Otherwise the node is partner 1 (voting power 1)
  // of a coalition genesis (init --genesis) whose partners 2, 3, ... have these voting powers
  // and seeded keys (seeded_key("partner i validator"), TxFactory::partner_issuer(i)).
  std::vector<std::uint64_t> other_validator_powers{};
  // A tier program for the chain (protocol version 4): the node is then partner 1 of a
  // coalition genesis, as with other_validator_powers.
  std::optional<ledger::TierProgram> tiers{};
};

// A pointchain-node of its own: `init` (one-partner chain, fresh keys) in a temp data dir,
// then `run` on a free loopback port; the constructor returns once the RPC answers. Stopped
// with SIGKILL on destruction if it still runs. post, response and call are safe from several
// threads at once.
class LiveNode {
 public:
  static constexpr char key_passphrase[] = "e2e node key passphrase";

  explicit LiveNode(const LiveNodeOptions& options = {});

  // `run` again on the same data dir, on a fresh port; returns once the RPC answers. Throws
  // when the node runs already or does not start (its output in the message).
  void start();
  // SIGTERM (SIGKILL after a grace period) and how the node ended.
  ExitStatus stop();
  // SIGKILL and how the node ended.
  ExitStatus kill();
  // `pointchain-node audit` on the data dir, its stdout and stderr as one stream.
  RunResult audit() const;
  // What the running node, or the last one stopped, printed (stdout and stderr).
  std::string output() const;

  // node.json fields of every next start(), on top of LiveNodeOptions::config: a null value
  // removes the field (say, "webhooks": null runs the node without webhooks).
  void set_config(const nlohmann::json& fields) { config_.update(fields); }
  // The file size limit of the next start() (SpawnOptions::file_size_limit_bytes).
  void set_file_size_limit_bytes(std::optional<std::uint64_t> bytes) { file_size_limit_bytes_ = bytes; }
  // The running node's process id (to change its limits, say).
  pid_t pid() const;
  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  const std::string& api_token() const { return api_token_; }
  // The Authorization header value that partner methods need.
  std::string bearer() const { return "Bearer " + api_token_; }

  // A raw POST to "/"; throws std::runtime_error when the node does not answer.
  HttpResponse post(const std::string& body, const std::string& authorization = {}) const;
  // The response object of a call (see rpc_response).
  nlohmann::json response(const std::string& method, const nlohmann::json& params = nlohmann::json::object(),
                          const std::string& authorization = {}) const;
  // The result of a call (see rpc_result).
  nlohmann::json call(const std::string& method, const nlohmann::json& params = nlohmann::json::object(),
                      const std::string& authorization = {}) const;

  // Polls get_transaction until it reports `tx_id` committed and returns that result; throws
  // with the last answer after `timeout`.
  nlohmann::json wait_until_committed(const std::string& tx_id, Milliseconds timeout = 30s) const;
  // The earn call a partner's till makes (in EUR); waits until its issuance is committed and
  // returns the earn result.
  nlohmann::json earn_and_commit(const std::string& customer_address, std::int64_t amount_minor,
                                 const std::string& order_id) const;
  // A partner call with the API token whose result names its transaction ("id"), as the
  // loyalty manager's publish_reward or the till's use_voucher; waits until that transaction is
  // committed and returns the call's result.
  nlohmann::json partner_call_and_commit(const std::string& method, const nlohmann::json& params) const;

 private:
  SpawnOptions node_options() const;
  std::vector<std::string> coalition_init(const LiveNodeOptions& options) const;

  TempDir dir_;
  std::filesystem::path data_dir_;
  nlohmann::json config_;
  std::optional<std::uint64_t> file_size_limit_bytes_;
  std::uint16_t port_ = 0;
  std::string api_token_;
  std::unique_ptr<Process> process_;
  std::string last_output_;
};

// A customer's pointchain-wallet, run the way a person runs it against a node: HOME is a temp
// dir of its own, the key file is alice.key in it, and the passphrase and the node's URL come
// from the environment (POINTCHAIN_WALLET_PASSPHRASE, POINTCHAIN_NODE).
class CustomerWallet {
 public:
  CustomerWallet(const LiveNode& node, std::string passphrase) : node_(node), passphrase_(std::move(passphrase)) {}

  // One wallet command (its arguments after --wallet FILE), bounded by a timeout.
  RunResult run(const std::vector<std::string>& args) const;
  // `create`, and the new account's address; throws std::runtime_error when it fails.
  std::string create() const;
  const std::filesystem::path& home() const { return home_.path(); }

 private:
  const LiveNode& node_;
  std::string passphrase_;
  TempDir home_;
};

}  // namespace pc::test::e2e
