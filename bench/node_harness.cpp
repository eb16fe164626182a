#include "bench/node_harness.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "crypto/address.hpp"

extern char** environ;

namespace pc::bench {

namespace fs = std::filesystem;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr std::size_t response_bytes_max = 256 * 1024 * 1024;
constexpr std::chrono::milliseconds poll_interval{20};

// The running children, for the Guard's thread: a fixed table, so that reading it needs no
// lock. More children at once than this is a bench's bug.
constexpr std::size_t running_children_max = 16;
std::array<std::atomic<pid_t>, running_children_max> running_children{};

void register_child(pid_t pid) {
  for (auto& slot : running_children) {
    pid_t empty = 0;
    if (slot.compare_exchange_strong(empty, pid)) return;
  }
  kill(pid, SIGKILL);
  fail("more than " + std::to_string(running_children_max) + " child processes at once");
}

void unregister_child(pid_t pid) {
  for (auto& slot : running_children) {
    pid_t expected = pid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

void kill_registered_children() {
  for (auto& slot : running_children) {
    if (const pid_t pid = slot.load(); pid > 0) kill(pid, SIGKILL);
  }
}

}  // namespace

void fail(const std::string& what) { throw std::runtime_error(what); }

// ---------------------------------------------------------------------------------------
// Command line

std::size_t parse_count(const std::string& flag, const char* text, std::size_t max) {
  std::size_t used = 0;
  unsigned long value = 0;
  try {
    value = std::stoul(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || text[used] != '\0' || value == 0 || value > max) {
    fail(flag + " needs a whole number from 1 to " + std::to_string(max) + ", not '" + text + "'");
  }
  return value;
}

double parse_seconds(const std::string& flag, const char* text, double max) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || text[used] != '\0' || !(value > 0) || value > max) {
    char limit[32];
    std::snprintf(limit, sizeof limit, "%g", max);
    fail(flag + " needs a number of seconds above 0 and at most " + limit + ", not '" + text + "'");
  }
  return value;
}

fs::path default_node_binary(const fs::path& built, const char* argv0) {
  if (!built.empty() && fs::exists(built)) return built;
  std::error_code ignored;
  fs::path self = fs::canonical("/proc/self/exe", ignored);
  if (self.empty()) self = fs::absolute(argv0);
  return self.parent_path() / "pointchain-node";
}

// ---------------------------------------------------------------------------------------
// Processes

ChildProcess::ChildProcess(const fs::path& binary, const std::vector<std::string>& arguments, const fs::path& log,
                           const std::string& passphrase) {
  // Everything the child needs is built before fork(): between fork and exec it may only make
  // async-signal-safe calls (other threads may hold the allocator's locks).
  std::vector<std::string> words{binary.string()};
  words.insert(words.end(), arguments.begin(), arguments.end());
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (std::strncmp(*entry, "POINTCHAIN_PASSPHRASE=", 22) != 0) environment.emplace_back(*entry);
  }
  environment.push_back("POINTCHAIN_PASSPHRASE=" + passphrase);
  std::vector<char*> envp;
  for (std::string& entry : environment) envp.push_back(entry.data());
  envp.push_back(nullptr);
  const std::string log_path = log.string();
  const pid_t parent = getpid();

  pid_ = fork();
  if (pid_ < 0) fail("cannot start " + binary.string() + ": " + std::strerror(errno));
  if (pid_ == 0) {
    // If the bench dies without stopping it (a crash, SIGKILL), the kernel kills the child.
    // The bench blocks SIGINT and SIGTERM for its Guard thread; the child starts unblocked.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    const int input = open("/dev/null", O_RDONLY);
    const int output = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (input < 0 || output < 0 || dup2(input, 0) < 0 || dup2(output, 1) < 0 || dup2(output, 2) < 0) _exit(127);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  register_child(pid_);
}

void ChildProcess::reaped(int status) {
  exited_ = true;
  exit_status_ = status;
  unregister_child(pid_);
}

bool ChildProcess::running() {
  if (exited_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) reaped(status);
  return !exited_;
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  while (running()) {
    if (SteadyClock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(poll_interval);
  }
  return WIFEXITED(exit_status_) ? WEXITSTATUS(exit_status_) : 128 + WTERMSIG(exit_status_);
}

int ChildProcess::stop() {
  if (running()) {
    kill(pid_, SIGTERM);
    if (!wait_exit(stop_timeout)) {
      kill(pid_, SIGKILL);
      (void)wait_exit(stop_timeout);
    }
  }
  return wait_exit(std::chrono::milliseconds(0)).value_or(-1);
}

void block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

Guard::Guard(std::string program, std::chrono::seconds deadline) {
  thread_ = std::thread([this, program = std::move(program), deadline] {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    const auto deadline_at = SteadyClock::now() + deadline;
    while (!done_.load()) {
      const timespec slice{0, 200'000'000};
      const int signal_number = sigtimedwait(&signals, nullptr, &slice);
      const bool late = SteadyClock::now() >= deadline_at;
      if (signal_number > 0 || late) {
        kill_registered_children();
        std::fprintf(stderr, "%s: %s; the nodes were killed\n", program.c_str(),
                     late ? "the run passed its deadline" : "interrupted");
        _exit(1);
      }
    }
  });
}

Guard::~Guard() {
  done_ = true;
  thread_.join();
}

std::string read_text(const fs::path& path) {
  std::ifstream file(path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string log_tail(const fs::path& log) {
  const std::string text = read_text(log);
  return text.size() > 2'000 ? text.substr(text.size() - 2'000) : text;
}

std::uint16_t free_loopback_port() {
  net::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

// ---------------------------------------------------------------------------------------
// HTTP and WebSocket clients

HttpConnection::HttpConnection(std::uint16_t port) : socket_(io_) {
  socket_.connect(tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), port));
  socket_.set_option(tcp::no_delay(true));
  request_.method(http::verb::post);
  request_.target("/");
  request_.version(11);
  request_.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  request_.set(http::field::content_type, "application/json");
  request_.keep_alive(true);
}

const std::string& HttpConnection::post(const std::string& body, const std::string& authorization) {
  if (authorization.empty()) {
    request_.erase(http::field::authorization);
  } else {
    request_.set(http::field::authorization, authorization);
  }
  request_.body() = body;
  request_.prepare_payload();
  http::write(socket_, request_);
  http::response_parser<http::string_body> parser;
  parser.body_limit(response_bytes_max);
  http::read(socket_, buffer_, parser);
  http::response<http::string_body> response = parser.release();
  if (response.result_int() != 200) {
    fail("the node answered HTTP " + std::to_string(response.result_int()) + ": " + response.body());
  }
  if (!response.keep_alive()) fail("the node closed a keep-alive connection");
  answer_ = std::move(response.body());
  return answer_;
}

std::unique_ptr<HttpConnection> connect_when_listening(std::uint16_t port, ChildProcess& process, const fs::path& log,
                                                       std::chrono::milliseconds timeout) {
  for (const auto deadline = SteadyClock::now() + timeout;;) {
    if (!process.running()) fail("the node exited at start:\n" + log_tail(log));
    try {
      return std::make_unique<HttpConnection>(port);
    } catch (const std::exception&) {
      if (SteadyClock::now() >= deadline) fail("the node did not listen in time:\n" + log_tail(log));
      std::this_thread::sleep_for(poll_interval);
    }
  }
}

std::string request_text(std::uint64_t id, std::string_view method, const Json& params) {
  return Json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}.dump();
}

Json call(HttpConnection& connection, std::string_view method, const Json& params, const std::string& authorization) {
  const Json answer = Json::parse(connection.post(request_text(1, method, params), authorization));
  if (answer.contains("error")) fail(std::string(method) + ": " + answer["error"].dump());
  return answer.at("result");
}

std::vector<std::string> submission_bodies(const std::vector<ledger::Transaction>& txs, std::size_t batch) {
  std::vector<std::string> bodies;
  for (std::size_t first = 0; first < txs.size(); first += batch) {
    const std::size_t end = std::min(first + batch, txs.size());
    std::string body = batch > 1 ? "[" : "";
    for (std::size_t i = first; i < end; ++i) {
      if (i != first) body += ",";
      body += request_text(i, "submit_transaction", Json{{"hex", to_hex(txs[i].bytes())}});
    }
    if (batch > 1) body += "]";
    bodies.push_back(std::move(body));
  }
  return bodies;
}

void note_refusals(const std::string& answer, std::vector<bool>& accepted, std::string& first_error) {
  const Json parsed = Json::parse(answer);
  for (const Json& item : parsed.is_array() ? parsed : Json::array({parsed})) {
    if (!item.contains("error")) continue;
    const auto index = item.at("id").get<std::size_t>();
    if (index < accepted.size()) accepted[index] = false;
    if (first_error.empty()) first_error = item["error"].dump();
  }
}

BlockWatcher::BlockWatcher(std::uint16_t port) : ws_(io_) {
  ws_.next_layer().connect(tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), port));
  ws_.next_layer().set_option(tcp::no_delay(true));
  ws_.handshake("127.0.0.1:" + std::to_string(port), "/ws");
  ws_.text(true);
  const std::string subscribe = request_text(1, "subscribe", Json{{"blocks", true}});
  ws_.write(net::buffer(subscribe));
  beast::flat_buffer buffer;
  ws_.read(buffer);
  const Json answer = Json::parse(beast::buffers_to_string(buffer.data()));
  if (!answer.contains("result")) fail("subscribe: " + answer.dump());
  thread_ = std::thread([this] { read_loop(); });
}

void BlockWatcher::stop() {
  if (!thread_.joinable()) return;
  // Wakes the blocking read; the socket is not touched otherwise while the thread reads.
  ::shutdown(ws_.next_layer().native_handle(), SHUT_RDWR);
  thread_.join();
}

std::optional<SteadyClock::time_point> BlockWatcher::wait_for(std::uint64_t height, std::size_t tx_count,
                                                              std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  std::optional<SteadyClock::time_point> reached;
  const bool done = changed_.wait_for(lock, timeout, [&] {
    std::size_t seen = 0;
    for (const BlockSeen& block : blocks_) {
      if (block.height <= height) continue;
      seen += block.tx_count;
      if (seen >= tx_count) {
        reached = block.at;
        return true;
      }
    }
    return closed_;
  });
  if (!done && !reached) return std::nullopt;
  if (!reached) fail("the block subscription ended: " + close_reason_);
  return reached;
}

std::vector<BlockSeen> BlockWatcher::blocks() const {
  std::lock_guard lock(mutex_);
  return blocks_;
}

void BlockWatcher::read_loop() {
  beast::flat_buffer buffer;
  for (;;) {
    beast::error_code error;
    ws_.read(buffer, error);
    const auto at = SteadyClock::now();
    if (error) return close(error.message());
    const Json message = Json::parse(beast::buffers_to_string(buffer.data()), nullptr, false);
    buffer.consume(buffer.size());
    if (message.is_discarded() || !message.contains("params")) continue;
    const Json& params = message["params"];
    const std::string kind = params.value("kind", "");
    if (kind == "error") return close(params.dump());
    if (kind != "block") continue;
    {
      std::lock_guard lock(mutex_);
      blocks_.push_back({params.at("height").get<std::uint64_t>(), params.at("tx_count").get<std::uint64_t>(), at});
    }
    changed_.notify_all();
  }
}

void BlockWatcher::close(std::string reason) {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    close_reason_ = std::move(reason);
  }
  changed_.notify_all();
}

// ---------------------------------------------------------------------------------------
// A bench's customers

void run_in_threads(std::size_t count, const std::function<void(std::size_t)>& body) {
  std::vector<std::thread> threads;
  std::mutex error_mutex;
  std::exception_ptr first_error;
  for (std::size_t t = 0; t < count; ++t) {
    threads.emplace_back([&, t] {
      try {
        body(t);
      } catch (const std::exception&) {
        std::lock_guard lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  if (first_error) std::rethrow_exception(first_error);
}

CustomerRedeems sign_customer_redeems(node::WorkerPool& pool, std::size_t n, const std::string& label,
                                      const std::string& chain_id, std::uint64_t last_valid_height,
                                      std::uint64_t points,
                                      const std::function<ledger::PartnerId(std::size_t)>& partner_of) {
  CustomerRedeems customers;
  customers.addresses.resize(n);
  std::vector<std::optional<ledger::Transaction>> signed_txs(n);
  pool.run(n, [&](std::size_t i) {
    const crypto::SecretKey key = seeded_key(label + " " + std::to_string(i));
    ledger::UnsignedTransaction fields;
    fields.chain_id = chain_id;
    fields.sequence = 1;
    fields.last_valid_height = last_valid_height;
    fields.body = ledger::Redeem{key.public_key(), partner_of(i), points, "bench reward"};
    signed_txs[i].emplace(ledger::Transaction::sign(std::move(fields), key));
    customers.addresses[i] = crypto::encode_address(key.public_key());
  });
  customers.redeems.reserve(n);
  for (auto& tx : signed_txs) customers.redeems.push_back(std::move(*tx));
  return customers;
}

void earn_chunks(std::uint16_t port, const std::string& authorization, const std::vector<std::string>& addresses,
                 std::size_t chunk_size, std::size_t first_chunk, std::size_t chunk_step, std::int64_t amount_minor,
                 std::uint64_t expected_points) {
  HttpConnection connection(port);
  const std::size_t n = addresses.size();
  for (std::size_t first = first_chunk * chunk_size; first < n; first += chunk_step * chunk_size) {
    Json purchases = Json::array();
    for (std::size_t i = first; i < std::min(n, first + chunk_size); ++i) {
      purchases.push_back({{"customer", addresses[i]},
                           {"amount_minor", amount_minor},
                           {"currency", "EUR"},
                           {"order_id", "bench-order-" + std::to_string(i)}});
    }
    const Json result = call(connection, "earn_batch", Json{{"purchases", purchases}}, authorization);
    for (const Json& item : result.at("results")) {
      if (item.contains("error")) fail("earn_batch: " + item["error"].dump());
      if (expected_points != 0 && item.at("points").get<std::uint64_t>() != expected_points) {
        fail("earn_batch gave other points: " + item.dump());
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// CPU accounting

namespace {

double clock_ticks_per_second() { return static_cast<double>(sysconf(_SC_CLK_TCK)); }

// utime + stime of one /proc/.../stat line, in seconds; the name is between the parentheses.
std::optional<std::pair<std::string, double>> parse_stat(const std::string& line) {
  const auto open = line.find('(');
  const auto close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return std::nullopt;
  std::istringstream fields(line.substr(close + 2));
  std::vector<std::string> words;
  for (std::string word; fields >> word;) words.push_back(word);
  // Field 3 (state) is words[0]; utime and stime are fields 14 and 15.
  if (words.size() < 13) return std::nullopt;
  const double ticks = std::stod(words[11]) + std::stod(words[12]);
  return std::pair{line.substr(open + 1, close - open - 1), ticks / clock_ticks_per_second()};
}

}  // namespace

std::string node_allocator(pid_t pid) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find("libjemalloc") != std::string::npos) return "jemalloc";
  }
  return "glibc malloc";
}

std::optional<double> peak_resident_mib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024;  // in kB
  }
  return std::nullopt;
}

CpuSample sample_cpu(const std::vector<pid_t>& node_pids) {
  CpuSample sample;
  sample.at = SteadyClock::now();
  for (const pid_t pid : node_pids) {
    std::error_code error;
    for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", error)) {
      if (auto parsed = parse_stat(read_text(task.path() / "stat"))) {
        sample.node_thread_seconds[parsed->first] += parsed->second;
      }
    }
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& value) {
    return static_cast<double>(value.tv_sec) + static_cast<double>(value.tv_usec) / 1e6;
  };
  sample.bench_seconds = seconds(usage.ru_utime) + seconds(usage.ru_stime);
  std::istringstream machine(read_text("/proc/stat"));
  std::string label;
  machine >> label;  // "cpu": the sum over all cores
  std::vector<double> ticks;
  for (double value = 0; ticks.size() < 8 && machine >> value;) ticks.push_back(value);
  if (ticks.size() == 8) {
    double total = 0;
    for (double value : ticks) total += value;
    const double idle = ticks[3] + ticks[4];  // idle and iowait
    sample.machine_total_seconds = total / clock_ticks_per_second();
    sample.machine_busy_seconds = (total - idle) / clock_ticks_per_second();
  }
  return sample;
}

double node_cpu_between(const CpuSample& before, const CpuSample& after) {
  double used = 0;
  for (const auto& [name, seconds] : after.node_thread_seconds) {
    auto found = before.node_thread_seconds.find(name);
    used += seconds - (found == before.node_thread_seconds.end() ? 0 : found->second);
  }
  return used;
}

double other_processes_share(const CpuSample& before, const CpuSample& after) {
  const double total = after.machine_total_seconds - before.machine_total_seconds;
  const double busy = after.machine_busy_seconds - before.machine_busy_seconds;
  const double ours = node_cpu_between(before, after) + (after.bench_seconds - before.bench_seconds);
  return total > 0 ? std::max(0.0, busy - ours) / total : 0;
}

void print_cpu(const char* phase, const CpuSample& before, const CpuSample& after, std::size_t transactions) {
  const double wall = seconds_between(before.at, after.at);
  const double per_tx = transactions == 0 ? 0 : 1e6 / static_cast<double>(transactions);
  std::printf("  %s: %.2f s\n", phase, wall);
  std::printf("    %-22s %9s %9s %12s\n", "thread", "cpu s", "% of core", transactions ? "us per tx" : "");
  double node_total = 0;
  std::vector<std::pair<double, std::string>> threads;
  for (const auto& [name, seconds] : after.node_thread_seconds) {
    auto found = before.node_thread_seconds.find(name);
    const double used = seconds - (found == before.node_thread_seconds.end() ? 0 : found->second);
    node_total += used;
    if (used > 0) threads.emplace_back(used, name);
  }
  std::sort(threads.rbegin(), threads.rend());
  const auto line = [&](const std::string& name, double used) {
    char per_tx_text[32] = "";
    if (transactions) std::snprintf(per_tx_text, sizeof per_tx_text, "%.1f", used * per_tx);
    std::printf("    %-22s %9.2f %8.0f%% %12s\n", name.c_str(), used, 100 * used / wall, per_tx_text);
  };
  for (const auto& [used, name] : threads) line("node " + name, used);
  line("node, all threads", node_total);
  const double bench = after.bench_seconds - before.bench_seconds;
  line("bench (clients)", bench);
  const double busy = after.machine_busy_seconds - before.machine_busy_seconds;
  line("everything else", std::max(0.0, busy - node_total - bench));
  line("idle", std::max(0.0, (after.machine_total_seconds - before.machine_total_seconds) - busy));
}

double percentile(const std::vector<double>& sorted_values, double fraction) {
  if (sorted_values.empty()) return 0;
  const auto rank = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(sorted_values.size())));
  return sorted_values[std::clamp<std::size_t>(rank, 1, sorted_values.size()) - 1];
}

}  // namespace pc::bench
