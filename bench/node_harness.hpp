// What the benchmarks that drive the real pointchain-node binary share (pointchain-bench-rpc
// with one node, pointchain-bench-cluster with a coalition of several): the node as a child
// process, keep-alive JSON-RPC clients, a WebSocket block subscription that times commits,
// CPU accounting from /proc, and a guard that kills every node on an interrupt or a deadline.
//
// Every node started here dies with the bench on every exit path: its destructor stops it
// (SIGTERM, then SIGKILL), the Guard kills it on SIGINT, SIGTERM or the run's deadline, and the
// kernel kills it (PR_SET_PDEATHSIG) if the bench itself crashes. Errors throw
// std::runtime_error: a benchmark has nothing to recover, it reports and exits.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/baseline.hpp"
#include "ledger/transaction.hpp"
#include "node/worker_pool.hpp"

namespace pc::bench {

using Json = nlohmann::json;

[[noreturn]] void fail(const std::string& what);

// ---- command line ----

// A whole number from 1 to `max`, or fail() naming the flag.
std::size_t parse_count(const std::string& flag, const char* text, std::size_t max);
// A number of seconds above 0 and at most `max`, or fail() naming the flag.
double parse_seconds(const std::string& flag, const char* text, double max = 60);
// The pointchain-node built with the bench (`built`, when it exists), or the one next to it.
std::filesystem::path default_node_binary(const std::filesystem::path& built, const char* argv0);

// ---- processes ----

// A child process with its output appended to `log`, killed (SIGTERM, then SIGKILL after
// `stop_timeout`) when the object goes away if it still runs. The passphrase goes in through
// the environment, replacing any POINTCHAIN_PASSPHRASE the bench was started with. While it
// runs, its pid is in the registry the Guard kills on an interrupt or the deadline.
class ChildProcess {
 public:
  static constexpr std::chrono::seconds stop_timeout{10};

  ChildProcess(const std::filesystem::path& binary, const std::vector<std::string>& arguments,
               const std::filesystem::path& log, const std::string& passphrase);
  ~ChildProcess() { stop(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  // Waits for the child to exit by itself: its exit code (128 + the signal if a signal ended
  // it), or nullopt after `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // SIGTERM, and SIGKILL if it is still there after stop_timeout; the exit code as
  // wait_exit gives it. Idempotent.
  int stop();

 private:
  void reaped(int status);

  pid_t pid_ = 0;
  bool exited_ = false;
  int exit_status_ = 0;
};

// Kills every registered child with SIGKILL and exits with 1 when the run passes `deadline`
// or gets SIGINT or SIGTERM. Construct it on the main thread before any other thread starts,
// after blocking SIGINT and SIGTERM there (block_stop_signals), so that only it takes them.
class Guard {
 public:
  Guard(std::string program, std::chrono::seconds deadline);
  ~Guard();
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;

 private:
  std::atomic<bool> done_ = false;
  std::thread thread_;
};

// Blocks SIGINT and SIGTERM in the calling thread (and the threads it starts later) and
// ignores SIGPIPE: call first in main.
void block_stop_signals();

std::string read_text(const std::filesystem::path& path);
// The last 2,000 characters of a log, for an error message.
std::string log_tail(const std::filesystem::path& log);
// A loopback port nothing listens on right now (another process may take it before we do).
std::uint16_t free_loopback_port();

// ---- JSON-RPC over HTTP and WebSocket ----

// One keep-alive HTTP/1.1 connection to a node at 127.0.0.1:port; use it from one thread.
class HttpConnection {
 public:
  explicit HttpConnection(std::uint16_t port);
  // The body of a 200 answer (valid until the next call); anything else throws.
  const std::string& post(const std::string& body, const std::string& authorization = {});

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  boost::beast::http::request<boost::beast::http::string_body> request_;
  std::string answer_;
};

// Connects to a node that is starting: retries until it accepts, `process` exits (fail with
// its log) or `timeout` passes.
std::unique_ptr<HttpConnection> connect_when_listening(std::uint16_t port, ChildProcess& process,
                                                       const std::filesystem::path& log,
                                                       std::chrono::milliseconds timeout);

std::string request_text(std::uint64_t id, std::string_view method, const Json& params);
// Pre-encoded JSON-RPC bodies of submit_transaction: body b holds transactions
// [b * batch, min((b + 1) * batch, N)), each request's id its transaction's index; a batch of 1
// is a single request, not an array.
std::vector<std::string> submission_bodies(const std::vector<ledger::Transaction>& txs, std::size_t batch);
// The result of one call; a JSON-RPC error throws.
Json call(HttpConnection& connection, std::string_view method, const Json& params,
          const std::string& authorization = {});

// Marks false in `accepted` (indexed by request id) each transaction that a submit_transaction
// answer (one response, or a batch's array) refused, and keeps the first refusal's error in
// `first_error` when it is empty.
void note_refusals(const std::string& answer, std::vector<bool>& accepted, std::string& first_error);

struct BlockSeen {
  std::uint64_t height = 0;
  std::uint64_t tx_count = 0;
  SteadyClock::time_point at;  // when the notification arrived
};

// A WebSocket subscription to new blocks, read by its own thread, which notes when each
// block's notification arrives: the moment a client learns its transaction is committed.
class BlockWatcher {
 public:
  explicit BlockWatcher(std::uint16_t port);
  ~BlockWatcher() { stop(); }
  BlockWatcher(const BlockWatcher&) = delete;
  BlockWatcher& operator=(const BlockWatcher&) = delete;

  void stop();
  // Waits until the blocks above `height` hold `tx_count` transactions; returns when the
  // notification that got there arrived, or nullopt after `timeout`.
  std::optional<SteadyClock::time_point> wait_for(std::uint64_t height, std::size_t tx_count,
                                                  std::chrono::milliseconds timeout);
  std::vector<BlockSeen> blocks() const;

 private:
  void read_loop();
  void close(std::string reason);

  boost::asio::io_context io_;
  boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<BlockSeen> blocks_;  // guarded by mutex_
  bool closed_ = false;            // guarded by mutex_
  std::string close_reason_;       // guarded by mutex_
};

// ---- a bench's customers ----

// Runs body(0) .. body(count - 1) on `count` threads at once and waits for all of them; then
// rethrows the first exception a thread threw.
void run_in_threads(std::size_t count, const std::function<void(std::size_t)>& body);

struct CustomerRedeems {
  std::vector<std::string> addresses;         // by customer
  std::vector<ledger::Transaction> redeems;  // by customer
};

// N customers with keys seeded from "LABEL i", each with a Redeem of `points` at partner
// partner_of(i) signed in advance on the pool: sequence 1 (the customer's first transaction),
// valid through `last_valid_height`.
CustomerRedeems sign_customer_redeems(node::WorkerPool& pool, std::size_t n, const std::string& label,
                                      const std::string& chain_id, std::uint64_t last_valid_height,
                                      std::uint64_t points,
                                      const std::function<ledger::PartnerId(std::size_t)>& partner_of);

// Gives customers points with earn_batch over one new connection, a purchase of
// `amount_minor` EUR each, in chunks of `chunk_size` customers: chunks first_chunk,
// first_chunk + chunk_step, ... (so that several callers share the customers out). Throws at a
// refused purchase, or one that earned other than `expected_points` (0: not checked).
void earn_chunks(std::uint16_t port, const std::string& authorization, const std::vector<std::string>& addresses,
                 std::size_t chunk_size, std::size_t first_chunk, std::size_t chunk_step, std::int64_t amount_minor,
                 std::uint64_t expected_points);

// ---- CPU accounting: the nodes' threads by name, this process, the whole machine ----

struct CpuSample {
  SteadyClock::time_point at;
  // By thread name, threads of one name summed over every sampled process.
  std::map<std::string, double> node_thread_seconds;
  double bench_seconds = 0;
  double machine_busy_seconds = 0;   // all cores
  double machine_total_seconds = 0;  // all cores, busy or idle
};

CpuSample sample_cpu(const std::vector<pid_t>& node_pids);
// The allocator a running node uses, from its memory map: "jemalloc" or "glibc malloc". The
// node's CPU per transaction depends on it (top-level CMakeLists.txt, POINTCHAIN_JEMALLOC).
std::string node_allocator(pid_t pid);
// A running process's peak resident set (VmHWM), or nullopt if /proc does not say.
std::optional<double> peak_resident_mib(pid_t pid);
double node_cpu_between(const CpuSample& before, const CpuSample& after);
// The share of the machine's CPU time (all cores) that processes other than the sampled
// nodes and this bench used between two samples: 0 on an otherwise idle machine.
double other_processes_share(const CpuSample& before, const CpuSample& after);
// Where the CPU went between two samples, per transaction of `transactions` (0: none).
void print_cpu(const char* phase, const CpuSample& before, const CpuSample& after, std::size_t transactions);

// Nearest rank; 0 for no values.
double percentile(const std::vector<double>& sorted_values, double fraction);

}  // namespace pc::bench
