// pointchain-bench-cluster: a coalition of four partners, each running the real
// pointchain-node as its own process, joined over loopback TCP by node.json's "p2p" section.
// It makes the four partners' keys and one genesis, starts the four nodes, gives N customers
// points (not timed), then submits N pre-signed Redeem transactions at a steady rate, spread
// over the four nodes' JSON-RPC, and times each one's commit with a WebSocket block
// subscription on the node it was sent to. Then it replaces partner 4's node with a copy of
// its data dir as `init` left it (keys, node.json, genesis, an empty chain) and times how fast
// that fresh node syncs the chain from the other three.
//
// Every rate is also printed as a ratio to the raw ed25519 verification rate of one core
// measured in the same run (bench/baseline.hpp), because the machine may be shared. Bytes on
// the wire come from the kernel's per-socket TCP counters (bench/socket_bytes.hpp).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bench/baseline.hpp"
#include "bench/node_harness.hpp"
#include "bench/socket_bytes.hpp"
#include "crypto/address.hpp"
#include "crypto/bytes.hpp"
#include "ledger/genesis.hpp"
#include "ledger/transaction.hpp"
#include "node/clock.hpp"
#include "node/worker_pool.hpp"

#ifndef POINTCHAIN_BUILD_TYPE
#define POINTCHAIN_BUILD_TYPE "unknown"
#endif
#ifndef POINTCHAIN_NODE_BINARY
#define POINTCHAIN_NODE_BINARY ""
#endif

namespace {

namespace fs = std::filesystem;
using pc::bench::BlockSeen;
using pc::bench::BlockWatcher;
using pc::bench::call;
using pc::bench::ChildProcess;
using pc::bench::CpuSample;
using pc::bench::fail;
using pc::bench::HttpConnection;
using pc::bench::Json;
using pc::bench::Row;
using pc::bench::seconds_between;
using pc::bench::SteadyClock;
using pc::ledger::Transaction;

constexpr std::size_t partner_count = 4;
// The node that is replaced by a fresh copy for the sync measurement (1-based).
constexpr std::size_t fresh_partner = partner_count;

constexpr double default_seconds = 10;
// Without --rate the offered rate is this ratio of the one-core verify rate measured at the
// start: the goal (0.30x) and a margin for the last block's commit after the last send, so
// that one run tests both goals together: a coalition that sustains the goal commits at
// least 0.30x with a p99 below one second. Offered more than it sustains, its queue grows
// for the whole run, the p99 is the queue's age, and every commit re-applies a longer
// backlog: such a run measures the overload, not the coalition.
constexpr double default_rate_ratio = 0.33;
constexpr std::size_t default_batch = 20;
// Concurrent keep-alive clients per node, so that one slow answer does not hold the schedule.
constexpr std::size_t clients_per_node = 2;
// Every node's default mempool holds 100,000 transactions, and setup puts all N in it at once.
constexpr std::size_t transactions_max = 100'000;
// Without --transactions, rate x seconds up to this: on an idle machine the default rate is
// high, and the setup (every customer earns first) would make the run long.
constexpr std::size_t default_transactions_max = 40'000;
constexpr std::size_t rate_max = 1'000'000;
constexpr double seconds_max = 300;
// rpc/limits.hpp: batch_count_max.
constexpr std::size_t batch_max = 100;
// node.json takes up to a day; a bench that waits longer than a minute for a block is a mistake.
constexpr std::size_t block_interval_ms_max = 60'000;
// Smaller than earn_batch's limit (1,000): on a loaded machine a batch of 1,000 may outlast
// the node's 30 s idle timeout, which also runs while a request is answered.
constexpr std::size_t earn_batch_size = 500;
constexpr std::size_t baseline_repeats = 2;
constexpr double baseline_loop_seconds = 1.0;

constexpr double committed_goal_ratio = 0.3;
constexpr double latency_p99_goal_ms = 1000;
constexpr double sync_goal_ratio = 1.2;
// Committing less than this share of the offered rate means the coalition fell behind, and
// the latency rows then measure the backlog (the output says so).
constexpr double kept_up_share = 0.95;
// Above this share of the machine taken by other processes, the wall-clock ratios are flagged.
constexpr double busy_machine_share = 0.25;

// node.json changes for the bench. Every client is 127.0.0.1, so the default per-IP limit of
// 2,000 requests/s would cap the whole bench.
constexpr std::uint64_t bench_rate_requests_per_second = 1'000'000;
constexpr std::uint64_t bench_rate_burst_requests = 1'000'000;

constexpr std::int64_t purchase_minor_per_customer = 10'000;  // 100.00 EUR at 1 point per euro
constexpr std::uint64_t points_redeemed = 10;

constexpr std::chrono::seconds init_timeout{60};
constexpr std::chrono::seconds node_start_timeout{30};
constexpr std::chrono::seconds connect_timeout{60};
constexpr std::chrono::seconds commit_timeout{120};
constexpr std::chrono::seconds sync_timeout{180};
// The whole run: past this the guard kills the nodes and exits, so a hang never outlives it.
constexpr std::chrono::seconds run_deadline{900};
constexpr std::chrono::milliseconds poll_interval{50};
// Well below the node's default idle_timeout_ms (30 s).
constexpr std::chrono::seconds query_connection_idle_max{10};
// Polling the syncing node's height: short, as its error is the sync time's.
constexpr std::chrono::milliseconds sync_poll_interval{10};

// ---------------------------------------------------------------------------------------
// Command line

struct Options {
  std::optional<std::size_t> transactions;
  std::optional<double> rate;  // transactions per second offered
  double seconds = default_seconds;
  std::size_t batch = default_batch;
  std::optional<std::size_t> block_interval_ms;  // node.json's, when given
  fs::path node_binary;
  fs::path base_directory;
};

void print_usage() {
  std::printf(
      "usage: pointchain-bench-cluster [--seconds S] [--rate R] [--transactions N] [--batch B]\n"
      "                                [--block-interval-ms MS] [--node PATH] [--dir DIR]\n"
      "  --seconds S       how long the timed submissions last (default %.0f; at most %.0f)\n"
      "  --rate R          transactions per second offered, spread evenly over the 4 nodes\n"
      "                    (default: %.2f x the one-core verify rate measured at the start)\n"
      "  --transactions N  customers given points, then N Redeem transactions timed (default:\n"
      "                    rate x seconds, at most %zu; at most %zu); the submissions last N / R s\n"
      "  --batch B         submit_transaction requests per JSON-RPC batch (default %zu, at most %zu)\n"
      "  --block-interval-ms MS  every node's block_interval_ms (default: as init writes it)\n"
      "  --node PATH       the pointchain-node binary (default: the one built with this bench, or\n"
      "                    the one next to this program)\n"
      "  --dir DIR         where the scratch directory is made (default: the system temp dir)\n",
      default_seconds, seconds_max, default_rate_ratio, default_transactions_max, transactions_max, default_batch,
      batch_max);
}

std::optional<Options> parse_options(int argc, char** argv) {
  Options options;
  options.base_directory = fs::temp_directory_path();
  options.node_binary = pc::bench::default_node_binary(POINTCHAIN_NODE_BINARY, argv[0]);
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const bool has_value = i + 1 < argc;
    if (flag == "--transactions" && has_value) {
      options.transactions = pc::bench::parse_count(flag, argv[++i], transactions_max);
    } else if (flag == "--rate" && has_value) {
      options.rate = static_cast<double>(pc::bench::parse_count(flag, argv[++i], rate_max));
    } else if (flag == "--seconds" && has_value) {
      options.seconds = pc::bench::parse_seconds(flag, argv[++i], seconds_max);
    } else if (flag == "--batch" && has_value) {
      options.batch = pc::bench::parse_count(flag, argv[++i], batch_max);
    } else if (flag == "--block-interval-ms" && has_value) {
      options.block_interval_ms = pc::bench::parse_count(flag, argv[++i], block_interval_ms_max);
    } else if (flag == "--node" && has_value) {
      options.node_binary = argv[++i];
    } else if (flag == "--dir" && has_value) {
      options.base_directory = argv[++i];
    } else if (flag == "--help" || flag == "-h") {
      print_usage();
      return std::nullopt;
    } else {
      print_usage();
      fail("unknown or incomplete option " + flag);
    }
  }
  if (!fs::exists(options.node_binary)) {
    fail("no node binary at " + options.node_binary.string() + " (build pointchain-node, or give --node PATH)");
  }
  return options;
}

// ---------------------------------------------------------------------------------------
// The coalition

const std::string passphrase = "bench cluster passphrase";

struct Member {
  std::size_t partner = 0;  // 1-based
  fs::path data_dir;
  fs::path log;
  std::uint16_t rpc_port = 0;
  std::uint16_t p2p_port = 0;
  std::string authorization;  // "Bearer <api token>"
  std::unique_ptr<ChildProcess> process;
  std::unique_ptr<HttpConnection> control;
  SteadyClock::time_point control_used;

  // A keep-alive connection for queries, opened again after a pause: the node closes a
  // connection idle for idle_timeout_ms (30 s by default), as during a long timed phase.
  HttpConnection& queries() {
    const auto now = SteadyClock::now();
    if (!control || now - control_used > query_connection_idle_max) control = std::make_unique<HttpConnection>(rpc_port);
    control_used = now;
    return *control;
  }
};

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream file(path, std::ios::trunc);
  file << text;
  if (!file) fail("cannot write " + path.string());
}

// Runs `pointchain-node ARGS` to its end; its exit code (output appended to `log`).
int run_node_command(const fs::path& binary, const std::vector<std::string>& arguments, const fs::path& log) {
  ChildProcess command(binary, arguments, log, passphrase);
  const std::optional<int> status = command.wait_exit(init_timeout);
  if (!status) fail("pointchain-node " + arguments.front() + " did not finish:\n" + pc::bench::log_tail(log));
  return *status;
}

pc::ledger::PublicKey key_after(const std::string& text, const std::string& label) {
  const std::size_t at = text.rfind(label);
  if (at == std::string::npos) fail("no '" + label + "' in the output of pointchain-node keys:\n" + text);
  std::istringstream rest(text.substr(at + label.size()));
  std::string hex;
  rest >> hex;
  const auto key = pc::fixed_from_hex<32>(hex);
  if (!key) fail("pointchain-node keys printed a bad " + label + ": " + hex);
  return *key;
}

// Four data dirs of one coalition genesis, each partner's keys made by its own `init` (as
// tests/e2e_network_test.cpp does it), with node.json's rpc and p2p sections set so that each
// node dials the other three on loopback. Also leaves `fresh_copy`: partner 4's data dir as
// it was before its node first ran.
std::vector<Member> make_coalition(const fs::path& binary, const fs::path& directory, const fs::path& fresh_copy,
                                   std::optional<std::size_t> block_interval_ms) {
  pc::ledger::Genesis genesis;
  genesis.protocol_version = pc::ledger::protocol_version_newest;
  genesis.chain_id = "bench-cluster";
  genesis.coalition_name = "Bench Cluster";
  genesis.genesis_time_ms = pc::node::SystemClock().now_ms();
  genesis.policy.point_expiry_days = 365;
  genesis.policy.transfers_allowed = true;
  for (std::size_t i = 1; i <= partner_count; ++i) {
    pc::ledger::Partner partner;
    partner.id = static_cast<pc::ledger::PartnerId>(i);
    partner.name = "Partner " + std::to_string(i);
    // Placeholders until each node's init has made its keys.
    partner.issuer_key = pc::bench::seeded_key("bench cluster issuer " + std::to_string(i)).public_key();
    partner.validator_key = pc::bench::seeded_key("bench cluster validator " + std::to_string(i)).public_key();
    partner.voting_power = 1;
    genesis.partners.push_back(partner);
  }
  genesis.policy.billing =
      pc::ledger::no_charge_billing(genesis.partners, pc::bench::seeded_key("bench cluster billing").public_key());
  const fs::path genesis_path = directory / "genesis.json";
  std::vector<Member> members(partner_count);
  const auto init_arguments = [&](const Member& member) {
    return std::vector<std::string>{"init", "--data", member.data_dir.string(), "--genesis", genesis_path.string(),
                                    "--partner-id", std::to_string(member.partner)};
  };
  for (std::size_t i = 0; i < partner_count; ++i) {
    Member& member = members[i];
    member.partner = i + 1;
    member.data_dir = directory / ("partner-" + std::to_string(member.partner));
    member.log = directory / ("partner-" + std::to_string(member.partner) + ".log");
    write_text(genesis_path, pc::ledger::genesis_to_json(genesis));
    // The first init makes the keys and refuses a genesis without them.
    if (run_node_command(binary, init_arguments(member), member.log) != 1) {
      fail("the first init of partner " + std::to_string(member.partner) + " did not refuse the placeholder keys:\n" +
           pc::bench::log_tail(member.log));
    }
    const fs::path keys_log = directory / ("keys-" + std::to_string(member.partner) + ".txt");
    if (run_node_command(binary, {"keys", "--data", member.data_dir.string()}, keys_log) != 0) {
      fail("pointchain-node keys failed:\n" + pc::bench::log_tail(keys_log));
    }
    const std::string keys = pc::bench::read_text(keys_log);
    genesis.partners[i].validator_key = key_after(keys, "validator key");
    genesis.partners[i].issuer_key = key_after(keys, "issuer key");
  }
  write_text(genesis_path, pc::ledger::genesis_to_json(genesis));
  std::set<std::uint16_t> ports;
  const auto distinct_port = [&] {
    for (;;) {
      const std::uint16_t port = pc::bench::free_loopback_port();
      if (ports.insert(port).second) return port;
    }
  };
  for (Member& member : members) {
    if (run_node_command(binary, init_arguments(member), member.log) != 0) {
      fail("init of partner " + std::to_string(member.partner) + " failed:\n" + pc::bench::log_tail(member.log));
    }
    member.rpc_port = distinct_port();
    member.p2p_port = distinct_port();
  }
  for (Member& member : members) {
    Json peers = Json::array();
    for (const Member& other : members) {
      if (other.partner == member.partner) continue;
      peers.push_back({{"host", "127.0.0.1"}, {"port", other.p2p_port}, {"partner", other.partner}});
    }
    Json config = Json::parse(pc::bench::read_text(member.data_dir / "node.json"));
    config["rpc_port"] = member.rpc_port;
    config["rpc_rate_requests_per_second"] = bench_rate_requests_per_second;
    config["rpc_rate_burst_requests"] = bench_rate_burst_requests;
    config["p2p"] = {{"listen_address", "127.0.0.1"}, {"listen_port", member.p2p_port}, {"peers", peers}};
    if (block_interval_ms) config["block_interval_ms"] = *block_interval_ms;
    write_text(member.data_dir / "node.json", config.dump(2) + "\n");
    member.authorization = "Bearer " + config.at("api_token").get<std::string>();
  }
  fs::copy(members[fresh_partner - 1].data_dir, fresh_copy, fs::copy_options::recursive);
  return members;
}

// "partner N's node", for messages. (Built by appending: GCC 12 at -O3 takes "literal" +
// std::string&& for an overlapping memcpy, a false -Wrestrict.)
std::string node_name(const Member& member) {
  std::string name = "partner ";
  name.append(std::to_string(member.partner)).append("'s node");
  return name;
}

void start(Member& member, const fs::path& binary) {
  member.process = std::make_unique<ChildProcess>(binary, std::vector<std::string>{"run", "--data", member.data_dir.string()},
                                                  member.log, passphrase);
}

void wait_until_listening(Member& member) {
  member.control = pc::bench::connect_when_listening(member.rpc_port, *member.process, member.log, node_start_timeout);
  member.control_used = SteadyClock::now();
}

std::vector<pid_t> node_pids(const std::vector<Member>& members) {
  std::vector<pid_t> pids;
  for (const Member& member : members) {
    if (member.process && member.process->running()) pids.push_back(member.process->pid());
  }
  return pids;
}

// Polls until `ready` holds for the answers to `method` (chain_info unless named) of every
// member but `except` (a partner, or 0 for none); fails after `timeout`.
void wait_for_nodes(std::vector<Member>& members, std::size_t except, std::chrono::milliseconds timeout,
                    const std::string& what, const std::function<bool(const std::vector<Json>&)>& ready,
                    const std::string& method = "chain_info", const Json& params = Json::object()) {
  for (const auto deadline = SteadyClock::now() + timeout;;) {
    std::vector<Json> infos;
    for (Member& member : members) {
      if (member.partner == except) continue;
      if (!member.process->running()) fail(node_name(member) + " exited:\n" + pc::bench::log_tail(member.log));
      infos.push_back(call(member.queries(), method, params));
    }
    if (ready(infos)) return;
    if (SteadyClock::now() >= deadline) {
      std::string answers;
      for (const Json& info : infos) answers.append(" ").append(info.dump());
      fail(what + " did not happen in time; " + method + " of each node:" + answers);
    }
    std::this_thread::sleep_for(poll_interval);
  }
}

// Today's UTC date as YYYY-MM-DD, a range get_report accepts.
std::string utc_today() {
  const std::chrono::year_month_day day{std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now())};
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(day.year()), static_cast<unsigned>(day.month()),
                static_cast<unsigned>(day.day()));
  return text;
}

// The same height and nothing pending on every node.
bool settled(const std::vector<Json>& infos) {
  for (const Json& info : infos) {
    if (info.at("pending_count") != 0 || info.at("height") != infos.front().at("height")) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------
// Bytes between the nodes

// What the nodes' peer protocols sent, by message type, summed over the nodes (net_info's
// `sent`: the messages' encodings without the transport's framing).
using SentByType = std::map<std::string, std::pair<std::uint64_t, std::uint64_t>>;  // type -> (messages, bytes)

SentByType sent_by_type(std::vector<Member>& members) {
  SentByType total;
  for (Member& member : members) {
    const Json info = call(member.queries(), "net_info", Json::object());
    for (const auto& [type, sent] : info.at("sent").items()) {
      total[type].first += sent.at("messages").get<std::uint64_t>();
      total[type].second += sent.at("bytes").get<std::uint64_t>();
    }
  }
  return total;
}

struct WireBytes {
  std::uint64_t payload = 0;   // TCP payload bytes, each counted once (at the end that received it)
  std::uint64_t segments = 0;  // TCP segments received, acknowledgements included
  std::size_t connections_closed = 0;  // connection ends seen before and gone after (counts lost)
};

// What the p2p connections carried between two readings of the kernel's counters: each
// byte is counted once, at the connection end that received it, whichever node sent it.
WireBytes wire_bytes_between(const std::map<std::uint64_t, pc::bench::SocketBytes>& before,
                             const std::map<std::uint64_t, pc::bench::SocketBytes>& after) {
  WireBytes total;
  for (const auto& [cookie, now] : after) {
    const auto found = before.find(cookie);
    const pc::bench::SocketBytes then = found == before.end() ? pc::bench::SocketBytes{} : found->second;
    total.payload += now.bytes_received - then.bytes_received;
    total.segments += now.segments_in - then.segments_in;
  }
  for (const auto& [cookie, then] : before) {
    if (!after.contains(cookie)) ++total.connections_closed;
  }
  return total;
}

// ---------------------------------------------------------------------------------------
// The timed submissions

struct Schedule {
  std::size_t batch = 0;
  double rate = 0;  // transactions per second
  SteadyClock::time_point start;
  // Batch b goes to node b % partner_count at start + b * batch / rate.
  SteadyClock::time_point due(std::size_t b) const {
    return start + std::chrono::duration_cast<SteadyClock::duration>(
                       std::chrono::duration<double>(static_cast<double>(b * batch) / rate));
  }
  static std::size_t node_of(std::size_t b) { return b % partner_count; }
};

struct SubmitResult {
  std::vector<SteadyClock::time_point> sent;  // by batch
  std::vector<bool> accepted;                 // by transaction
  std::size_t accepted_count = 0;
  std::string first_error;
};

// Sends every batch at its time in the schedule, each over a keep-alive connection to its
// node: clients_per_node clients per node, client t sending batches t, t + T, t + 2T, ... (T
// clients in all). A client that falls behind sends at once; latency is counted from the
// scheduled time, so a late send shows up in it rather than hiding the delay.
SubmitResult submit_on_schedule(std::vector<Member>& members, const std::vector<std::string>& bodies,
                                std::size_t tx_count, Schedule& schedule) {
  SubmitResult result;
  result.sent.resize(bodies.size());
  result.accepted.assign(tx_count, true);
  const std::size_t client_count = partner_count * clients_per_node;
  std::vector<std::unique_ptr<HttpConnection>> connections;
  for (std::size_t t = 0; t < client_count; ++t) {
    connections.push_back(std::make_unique<HttpConnection>(members[Schedule::node_of(t)].rpc_port));
  }
  std::mutex errors_mutex;
  // A little ahead, so that every client is waiting when the first batch is due.
  schedule.start = SteadyClock::now() + std::chrono::milliseconds(50);
  pc::bench::run_in_threads(client_count, [&](std::size_t t) {
    for (std::size_t b = t; b < bodies.size(); b += client_count) {
      std::this_thread::sleep_until(schedule.due(b));
      result.sent[b] = SteadyClock::now();
      const std::string& answer = connections[t]->post(bodies[b]);
      // Parsing every answer would cost the clients more CPU than the nodes' work; an answer
      // without "error" in it accepted every transaction of its batch.
      if (answer.find("\"error\"") == std::string::npos) continue;
      std::lock_guard lock(errors_mutex);
      pc::bench::note_refusals(answer, result.accepted, result.first_error);
    }
  });
  result.accepted_count = static_cast<std::size_t>(std::count(result.accepted.begin(), result.accepted.end(), true));
  return result;
}

// The transaction counts of blocks 1..height, from one node's get_block.
std::vector<std::uint64_t> block_sizes(HttpConnection& connection, std::uint64_t height) {
  std::vector<std::uint64_t> sizes(height + 1, 0);
  for (std::uint64_t h = 1; h <= height; ++h) {
    sizes[h] = call(connection, "get_block", Json{{"height", h}}).at("transactions").size();
  }
  return sizes;
}

std::uint64_t transactions_in(const std::vector<std::uint64_t>& sizes, std::uint64_t after, std::uint64_t through) {
  std::uint64_t total = 0;
  for (std::uint64_t h = after + 1; h <= through && h < sizes.size(); ++h) total += sizes[h];
  return total;
}

std::string ratio_goal(double ratio) {
  char text[16];
  std::snprintf(text, sizeof text, ">= %.2fx", ratio);
  return text;
}

int run(const Options& options) {
  pc::crypto::initialize();
  pc::node::WorkerPool pool(0, "bench-worker");
  std::printf("pointchain-bench-cluster (%s build): %zu partners' nodes as processes on loopback; node %s\n",
              POINTCHAIN_BUILD_TYPE, partner_count, options.node_binary.c_str());
  if (std::string_view(POINTCHAIN_BUILD_TYPE) == "Debug") {
    std::printf("warning: a Debug build; its figures are not worth comparing\n");
  }
  const pc::bench::ScratchDirectory scratch(options.base_directory, "pointchain-bench-cluster-");
  std::printf("scratch directory %s (removed at exit)\n", scratch.path().c_str());
  std::fflush(stdout);

  std::fprintf(stderr, "baseline: raw verify on one core, then on %zu threads...\n", pool.size());
  pc::bench::VerifyBaseline verify_baseline(pool, baseline_loop_seconds, baseline_repeats);
  verify_baseline.sample();

  const double rate = options.rate.value_or(std::max(1.0, std::round(default_rate_ratio * verify_baseline.first_one_core())));
  const std::size_t n = options.transactions.value_or(
      std::clamp<std::size_t>(static_cast<std::size_t>(rate * options.seconds), 1, default_transactions_max));

  std::fprintf(stderr, "making the coalition: 4 x (init, keys), a genesis, 4 x init...\n");
  const fs::path fresh_dir = scratch.path() / ("partner-" + std::to_string(fresh_partner) + "-fresh");
  std::vector<Member> members = make_coalition(options.node_binary, scratch.path(), fresh_dir, options.block_interval_ms);
  const Json config = Json::parse(pc::bench::read_text(members[0].data_dir / "node.json"));
  std::set<std::uint16_t> p2p_ports;
  for (const Member& member : members) p2p_ports.insert(member.p2p_port);

  std::fprintf(stderr, "starting 4 nodes...\n");
  for (Member& member : members) start(member, options.node_binary);
  for (Member& member : members) wait_until_listening(member);
  const auto connect_start = SteadyClock::now();
  wait_for_nodes(members, 0, connect_timeout, "every node connected to the other three", [](const std::vector<Json>& infos) {
    for (const Json& info : infos) {
      if (info.at("consensus").at("peers") != partner_count - 1) return false;
    }
    return true;
  });
  const double connect_seconds = seconds_between(connect_start, SteadyClock::now());
  const Json info = call(members[0].queries(), "chain_info", Json::object());
  const std::string chain_id = info.at("chain_id").get<std::string>();

  // Setup, not timed: N customers and their redeems, signed in advance (sequence 1, valid for
  // as many blocks as the nodes give their own transactions), each at the partner of the node
  // it will be sent to; then each customer is given points by earn_batch at the four nodes in
  // turn, and the bench waits until every node has committed them.
  std::fprintf(stderr, "setup: %zu customers sign their redeems, then earn points at the 4 nodes...\n", n);
  const std::uint64_t last_valid_height =
      info.at("height").get<std::uint64_t>() + config.at("tx_validity_blocks").get<std::uint64_t>();
  const pc::bench::CustomerRedeems customers = pc::bench::sign_customer_redeems(
      pool, n, "bench cluster customer", chain_id, last_valid_height, points_redeemed, [&](std::size_t i) {
        return static_cast<pc::ledger::PartnerId>(Schedule::node_of(i / options.batch) + 1);
      });
  const std::vector<Transaction>& txs = customers.redeems;
  const std::vector<std::string> bodies = pc::bench::submission_bodies(txs, options.batch);

  const auto setup_start = SteadyClock::now();
  pc::bench::run_in_threads(partner_count, [&](std::size_t node) {
    pc::bench::earn_chunks(members[node].rpc_port, members[node].authorization, customers.addresses, earn_batch_size,
                           node, partner_count, purchase_minor_per_customer, 0);
  });
  wait_for_nodes(members, 0, commit_timeout, "the setup's commit on every node", [&](const std::vector<Json>& infos) {
    return settled(infos) && infos.front().at("supply").at("accounts") == n;
  });
  const double setup_seconds = seconds_between(setup_start, SteadyClock::now());
  const std::uint64_t start_height = call(members[0].queries(), "chain_info", Json::object()).at("height").get<std::uint64_t>();
  std::fprintf(stderr, "setup: %zu issuances committed on every node at height %llu in %.2f s\n", n,
               static_cast<unsigned long long>(start_height), setup_seconds);
  // A node's indexes (history, then analytics) take each block on their own thread behind
  // the commit that chain_info reports, and the WebSocket notifications that time the
  // latencies come after them. The setup's new members keep that thread busy for a few
  // tenths of a second after the last commit; redeems timed from then would carry that
  // backlog, not the offered load, into the p99 (bench/README.md, 2026-12-01). So the timed
  // phase starts once every node's analytics index holds the setup's last block (get_report
  // itself answers only once the node's indexes have its tip, so one round usually does).
  const auto indexes_start = SteadyClock::now();
  const std::string today = utc_today();
  wait_for_nodes(
      members, 0, commit_timeout, "the setup's blocks in every node's indexes",
      [&](const std::vector<Json>& reports) {
        return std::all_of(reports.begin(), reports.end(), [&](const Json& report) {
          return report.at("indexed_height").get<std::uint64_t>() >= start_height;
        });
      },
      "get_report", Json{{"from", today}, {"to", today}});
  const double indexes_seconds = seconds_between(indexes_start, SteadyClock::now());

  // Timed: the redeems on their schedule, then until every node has announced the last.
  std::fprintf(stderr, "timed: %zu redeems at %.0f tx/s in batches of %zu over 4 nodes...\n", n, rate, options.batch);
  std::vector<std::unique_ptr<BlockWatcher>> watchers;
  for (const Member& member : members) watchers.push_back(std::make_unique<BlockWatcher>(member.rpc_port));
  Schedule schedule{options.batch, rate, {}};
  const SentByType sent_before = sent_by_type(members);
  const auto wire_before = pc::bench::tcp_socket_bytes(p2p_ports);
  const std::string allocator = pc::bench::node_allocator(node_pids(members).at(0));
  const CpuSample cpu_before = pc::bench::sample_cpu(node_pids(members));
  pc::bench::VerifyProbe probe(verify_baseline.messages());
  const SubmitResult submitted = submit_on_schedule(members, bodies, n, schedule);
  const CpuSample cpu_submitted = pc::bench::sample_cpu(node_pids(members));
  if (submitted.accepted_count == 0) fail("the nodes accepted no transaction: " + submitted.first_error);
  for (std::size_t node = 0; node < partner_count; ++node) {
    if (!watchers[node]->wait_for(start_height, submitted.accepted_count, commit_timeout)) {
      fail(node_name(members[node]) + " did not commit the redeems within 120 s");
    }
  }
  const CpuSample cpu_after = pc::bench::sample_cpu(node_pids(members));
  probe.stop();
  const auto wire_after = pc::bench::tcp_socket_bytes(p2p_ports);
  const SentByType sent_after = sent_by_type(members);
  for (auto& watcher : watchers) watcher->stop();
  const WireBytes wire = wire_bytes_between(wire_before, wire_after);

  // Which block took each transaction (get_block of every block, at partner 1's node), and
  // when the node it was sent to announced that block.
  std::vector<std::map<std::uint64_t, SteadyClock::time_point>> announced(partner_count);
  for (std::size_t node = 0; node < partner_count; ++node) {
    for (const BlockSeen& block : watchers[node]->blocks()) announced[node][block.height] = block.at;
  }
  std::unordered_map<std::string, std::uint64_t> height_of;
  std::vector<std::uint64_t> timed_block_sizes;
  for (const auto& [height, at] : announced[0]) {
    if (height <= start_height) continue;
    const Json block = call(members[0].queries(), "get_block", Json{{"height", height}});
    timed_block_sizes.push_back(block.at("transactions").size());
    for (const Json& tx : block.at("transactions")) height_of[tx.at("id").get<std::string>()] = height;
  }
  std::vector<double> latencies_ms;
  latencies_ms.reserve(submitted.accepted_count);
  SteadyClock::time_point last_commit = schedule.start;
  double send_lag_ms_max = 0;
  for (std::size_t b = 0; b < bodies.size(); ++b) {
    send_lag_ms_max = std::max(send_lag_ms_max, 1e3 * seconds_between(schedule.due(b), submitted.sent[b]));
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!submitted.accepted[i]) continue;
    const auto found = height_of.find(pc::to_hex(txs[i].id()));
    if (found == height_of.end()) fail("an accepted redeem is in none of the announced blocks");
    const std::size_t b = i / options.batch;
    const auto& blocks_of_node = announced[Schedule::node_of(b)];
    const auto commit = blocks_of_node.find(found->second);
    if (commit == blocks_of_node.end()) fail("a node did not announce a block with its own redeem");
    last_commit = std::max(last_commit, commit->second);
    latencies_ms.push_back(1e3 * seconds_between(schedule.due(b), commit->second));
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const double latency_p50_ms = pc::bench::percentile(latencies_ms, 0.50);
  const double latency_p99_ms = pc::bench::percentile(latencies_ms, 0.99);
  const double accepted = static_cast<double>(submitted.accepted_count);
  const double offered_seconds = static_cast<double>(n) / rate;
  const double commit_seconds = seconds_between(schedule.start, last_commit);
  const double committed_rate = accepted / commit_seconds;

  // The fresh node: partner 4's node stopped, and started again on a copy of its data dir as
  // init left it. It syncs every block from the other three before it can vote again.
  std::fprintf(stderr, "sync: partner %zu's node replaced by a fresh copy of its data dir...\n", fresh_partner);
  Member& fresh = members[fresh_partner - 1];
  fresh.control.reset();
  const int stopped_status = fresh.process->stop();
  wait_for_nodes(members, fresh_partner, commit_timeout, "the three remaining nodes at one height", settled);
  const std::uint64_t target_height =
      call(members[0].queries(), "chain_info", Json::object()).at("height").get<std::uint64_t>();
  const std::vector<std::uint64_t> sizes = block_sizes(members[0].queries(), target_height);
  const std::uint64_t chain_transactions = transactions_in(sizes, 0, target_height);
  fresh.data_dir = fresh_dir;
  fresh.log = scratch.path() / ("partner-" + std::to_string(fresh_partner) + "-fresh.log");
  const auto sync_wire_before = pc::bench::tcp_socket_bytes(p2p_ports);
  const auto sync_spawned = SteadyClock::now();
  start(fresh, options.node_binary);
  wait_until_listening(fresh);
  const auto sync_listening = SteadyClock::now();
  std::optional<SteadyClock::time_point> first_block_at;
  std::uint64_t first_height = 0;
  std::optional<CpuSample> sync_cpu_first;
  SteadyClock::time_point synced_at;
  for (const auto deadline = SteadyClock::now() + sync_timeout;;) {
    if (!fresh.process->running()) fail("the fresh node exited:\n" + pc::bench::log_tail(fresh.log));
    const std::uint64_t height = call(fresh.queries(), "chain_info", Json::object()).at("height").get<std::uint64_t>();
    const auto now = SteadyClock::now();
    if (height > 0 && !first_block_at) {
      first_block_at = now;
      first_height = height;
      sync_cpu_first = pc::bench::sample_cpu({fresh.process->pid()});
    }
    if (height >= target_height) {
      synced_at = now;
      break;
    }
    if (now >= deadline) fail("the fresh node did not sync within 180 s (at height " + std::to_string(height) + ")");
    std::this_thread::sleep_for(sync_poll_interval);
  }
  const CpuSample sync_cpu_done = pc::bench::sample_cpu({fresh.process->pid()});
  const auto sync_wire_after = pc::bench::tcp_socket_bytes(p2p_ports);
  const WireBytes sync_wire = wire_bytes_between(sync_wire_before, sync_wire_after);
  const Json synced_block = call(fresh.queries(), "get_block", Json{{"height", target_height}});
  const Json reference_block = call(members[0].queries(), "get_block", Json{{"height", target_height}});
  if (synced_block.at("hash") != reference_block.at("hash") ||
      synced_block.at("state_hash") != reference_block.at("state_hash")) {
    fail("the fresh node's block " + std::to_string(target_height) + " differs from partner 1's");
  }
  // Steady sync: from the first block the fresh node had to the last, so that start-up and
  // the wait for the first status message (sent every second) are not counted.
  const std::uint64_t steady_transactions = transactions_in(sizes, first_height, target_height);
  const double steady_seconds = seconds_between(*first_block_at, synced_at);
  const double sync_rate = steady_seconds > 0 ? static_cast<double>(steady_transactions) / steady_seconds : 0;
  const double whole_sync_seconds = seconds_between(sync_spawned, synced_at);
  const double whole_sync_rate = static_cast<double>(chain_transactions) / whole_sync_seconds;

  for (Member& member : members) {
    member.control.reset();
    member.process->stop();
  }

  std::fprintf(stderr, "baseline again...\n");
  verify_baseline.sample();
  const double baseline = verify_baseline.one_core();
  const double parallel_baseline = verify_baseline.parallel();
  const double raw_cpu_rate = verify_baseline.per_cpu_second();
  const auto ratio = [&](double value) { return verify_baseline.ratio(value); };

  const double verify_cpu_us = 1e6 / raw_cpu_rate;
  const double cores = static_cast<double>(std::max(1u, std::thread::hardware_concurrency()));
  const double timed_node_us = 1e6 * pc::bench::node_cpu_between(cpu_before, cpu_after) / accepted;
  const double timed_bench_us = 1e6 * (cpu_after.bench_seconds - cpu_before.bench_seconds) / accepted;
  const double committed_ceiling = cores * 1e6 / (timed_node_us + timed_bench_us);
  const double sync_node_us = steady_transactions == 0
                                  ? 0
                                  : 1e6 * pc::bench::node_cpu_between(*sync_cpu_first, sync_cpu_done) /
                                        static_cast<double>(steady_transactions);
  const double sync_ceiling = sync_node_us > 0 ? cores * 1e6 / sync_node_us : 0;
  const std::string idle_cores = std::to_string(static_cast<int>(cores)) + " idle cores";

  std::vector<Row> rows;
  rows.push_back({"raw verify, 1 core (baseline)", baseline, 0, "verifies/s", 1.0, "", std::nullopt});
  rows.push_back({"raw verify, " + std::to_string(pool.size()) + " threads (calibration)", parallel_baseline, 0,
                  "verifies/s", ratio(parallel_baseline), "", std::nullopt});
  rows.push_back({"redeems offered (steady)", rate, 0, "tx/s", ratio(rate), "", std::nullopt});
  rows.push_back({"redeems committed on 4 nodes", committed_rate, 0, "tx/s", ratio(committed_rate),
                  ratio_goal(committed_goal_ratio), ratio(committed_rate) >= committed_goal_ratio});
  rows.push_back({"submit to committed, p50", latency_p50_ms, 0, "ms", std::nullopt, "", std::nullopt});
  rows.push_back({"submit to committed, p99", latency_p99_ms, 0, "ms", std::nullopt,
                  "< " + std::to_string(static_cast<int>(latency_p99_goal_ms)), latency_p99_ms < latency_p99_goal_ms});
  rows.push_back({"p2p bytes on the wire per committed tx", static_cast<double>(wire.payload) / accepted, 0, "bytes",
                  std::nullopt, "", std::nullopt});
  rows.push_back({"fresh node sync (first to last block)", sync_rate, 0, "tx/s", ratio(sync_rate),
                  ratio_goal(sync_goal_ratio), ratio(sync_rate) >= sync_goal_ratio});
  rows.push_back({"fresh node sync, from its start", whole_sync_rate, 0, "tx/s", ratio(whole_sync_rate), "",
                  std::nullopt});
  rows.push_back({"4 nodes' CPU per committed redeem", timed_node_us / verify_cpu_us, 2, "raw verifies", std::nullopt,
                  "", std::nullopt});
  rows.push_back({"committed, CPU-bound on " + idle_cores, committed_ceiling, 0, "tx/s",
                  committed_ceiling / raw_cpu_rate, ratio_goal(committed_goal_ratio),
                  committed_ceiling / raw_cpu_rate >= committed_goal_ratio});
  const std::optional<double> probe_verify_us = probe.cpu_us_per_verify();
  if (probe_verify_us) {
    rows.push_back({"4 nodes' CPU per committed redeem (probe)", timed_node_us / *probe_verify_us, 2, "raw verifies",
                    std::nullopt, "", std::nullopt});
    rows.push_back({"committed, CPU-bound (probe)", committed_ceiling, 0, "tx/s",
                    committed_ceiling * *probe_verify_us / 1e6, ratio_goal(committed_goal_ratio), std::nullopt});
  }
  rows.push_back({"syncing node's CPU per transaction", sync_node_us / verify_cpu_us, 2, "raw verifies", std::nullopt,
                  "", std::nullopt});
  rows.push_back({"sync, CPU-bound on " + idle_cores, sync_ceiling, 0, "tx/s", sync_ceiling / raw_cpu_rate,
                  ratio_goal(sync_goal_ratio), sync_ceiling / raw_cpu_rate >= sync_goal_ratio});
  pc::bench::print_table(rows);
  const double others_share = pc::bench::other_processes_share(cpu_before, cpu_after);
  if (others_share > busy_machine_share) {
    std::printf("\nwarning: other processes took %.0f%% of the machine's CPU during the timed phase. The wall-clock\n"
                "  ratios then depend on how the scheduler shared the cores between the nodes' many threads and\n"
                "  the baseline's one; trust the CPU-bound rows, which divide CPU time by CPU time\n",
                100 * others_share);
  }

  if (!options.rate && ratio(rate) < committed_goal_ratio) {
    // The offered rate is fixed before the end sample exists; a slow start leaves the run
    // offering less than the committed goal itself, so no outcome of it could meet that goal.
    std::printf("\nwarning: this run offered %.3fx of the baseline (%.2fx of the start's sample, which was the\n"
                "  lower one), less than the committed goal of %.2fx, which it therefore could not meet; run again\n",
                ratio(rate), default_rate_ratio, committed_goal_ratio);
  }
  verify_baseline.print_samples();
  std::printf("one raw verify costs %.1f us of CPU; the CPU-bound rows divide the CPU time per transaction (4 nodes\n"
              "  %.1f us + clients %.1f us; syncing node %.1f us) into %.0f cores: figures a busy machine does not lower\n",
              verify_cpu_us, timed_node_us, timed_bench_us, sync_node_us, cores);
  if (probe_verify_us) pc::bench::VerifyProbe::print_line(*probe_verify_us, verify_cpu_us);
  std::printf("nodes' allocator: %s\n", allocator.c_str());
  std::printf("node.json changes: rpc_port, rpc rate limit %llu/s (burst %llu), a p2p section (loopback, each node\n"
              "  dials the other three)%s; everything else as init writes it: block_interval_ms %s,\n"
              "  block_trigger_tx_count %s; the 4 nodes connected %.2f s after their RPC answered\n",
              static_cast<unsigned long long>(bench_rate_requests_per_second),
              static_cast<unsigned long long>(bench_rate_burst_requests),
              options.block_interval_ms ? " and block_interval_ms" : "", config.at("block_interval_ms").dump().c_str(),
              config.at("block_trigger_tx_count").dump().c_str(), connect_seconds);
  std::printf("setup: %zu earn_batch issuances (%zu per call, 4 nodes in parallel) committed on every node in %.2f s;\n"
              "  every node's indexes held them %.2f s later, and the timed phase began\n",
              n, earn_batch_size, setup_seconds, indexes_seconds);
  std::printf("redeems: %zu accepted of %zu%s%s; offered over %.2f s, all committed %.2f s after the first was due;\n"
              "  the latest send was %.0f ms behind its schedule\n",
              submitted.accepted_count, n, submitted.first_error.empty() ? "" : "; first refusal: ",
              submitted.first_error.c_str(), offered_seconds, commit_seconds, send_lag_ms_max);
  std::printf("  %zu blocks:", timed_block_sizes.size());
  for (std::uint64_t size : timed_block_sizes) std::printf(" %llu", static_cast<unsigned long long>(size));
  std::printf(" transactions\n");
  std::printf("  latency: from a batch's scheduled send to the WebSocket notification of its block by the node\n"
              "  it was sent to; p50 %.0f ms, p99 %.0f ms, max %.0f ms over %zu transactions\n",
              latency_p50_ms, latency_p99_ms, latencies_ms.empty() ? 0.0 : latencies_ms.back(), latencies_ms.size());
  if (committed_rate < kept_up_share * rate) {
    std::printf("  the coalition fell behind: it committed %.0f of the %.0f tx/s offered, so a queue grew for the\n"
                "  whole run and these latencies are mostly its age, not a round's; for the latency of a\n"
                "  coalition that keeps up, run again with --rate below %.0f\n",
                committed_rate, rate, committed_rate);
  }
  std::printf("bytes on the wire: the kernel's TCP counters of every connection between the nodes' p2p ports\n"
              "  (NETLINK_SOCK_DIAG tcp_info bytes_received, each byte counted once), from before the first\n"
              "  submission to the last node's last commit: %llu payload bytes in %llu segments (%.0f bytes\n"
              "  per tx with 52 bytes of IPv4 and TCP headers per segment); %zu connection ends closed\n",
              static_cast<unsigned long long>(wire.payload), static_cast<unsigned long long>(wire.segments),
              static_cast<double>(wire.payload + 52 * wire.segments) / accepted, wire.connections_closed);
  std::printf("  by message type (net_info's `sent`, the 4 nodes together; the messages' own bytes, the\n"
              "  transport's framing and TCP's are the difference from the line above), per committed tx:\n");
  for (const auto& [type, after] : sent_after) {
    const auto before = sent_before.contains(type) ? sent_before.at(type) : std::pair<std::uint64_t, std::uint64_t>{};
    const std::uint64_t messages = after.first - before.first;
    if (messages == 0) continue;
    std::printf("    %-18s %9llu messages (%6.3f per tx) %11llu bytes (%7.1f per tx)\n", type.c_str(),
                static_cast<unsigned long long>(messages), static_cast<double>(messages) / accepted,
                static_cast<unsigned long long>(after.second - before.second),
                static_cast<double>(after.second - before.second) / accepted);
  }
  std::printf("sync: partner %zu's node stopped (exit %d) with the chain at height %llu (%llu transactions);\n"
              "  a copy of its data dir as init left it answered RPC %.2f s after its start, had its first block\n"
              "  (height %llu) %.2f s after its start and height %llu %.2f s later (%llu transactions);\n"
              "  %llu bytes on the wire (%.0f per synced transaction); same block hash and state hash as partner 1\n",
              fresh_partner, stopped_status, static_cast<unsigned long long>(target_height),
              static_cast<unsigned long long>(chain_transactions), seconds_between(sync_spawned, sync_listening),
              static_cast<unsigned long long>(first_height), seconds_between(sync_spawned, *first_block_at),
              static_cast<unsigned long long>(target_height), steady_seconds,
              static_cast<unsigned long long>(steady_transactions), static_cast<unsigned long long>(sync_wire.payload),
              static_cast<double>(sync_wire.payload) / static_cast<double>(std::max<std::uint64_t>(1, chain_transactions)));

  std::printf("\nwhere the CPU went (from /proc: node threads by name summed over the nodes, this bench, the rest)\n");
  pc::bench::print_cpu("redeems, first submission to last answer", cpu_before, cpu_submitted, submitted.accepted_count);
  pc::bench::print_cpu("redeems, last answer to last commit", cpu_submitted, cpu_after, submitted.accepted_count);
  pc::bench::print_cpu("sync, the fresh node from its first block to the last", *sync_cpu_first, sync_cpu_done,
                       steady_transactions);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // The guard thread takes SIGINT and SIGTERM; every thread started after this has them blocked.
  pc::bench::block_stop_signals();
  try {
    const std::optional<Options> options = parse_options(argc, argv);
    if (!options) return 0;
    const pc::bench::Guard guard("pointchain-bench-cluster", run_deadline);
    return run(*options);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "pointchain-bench-cluster: %s\n", error.what());
    return 1;
  }
}
