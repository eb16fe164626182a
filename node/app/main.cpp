// pointchain-node: the partner's node. Commands (docs/node.md):
//   init  --data DIR [--genesis FILE (--partner-id N | --observer)] [--partner-name NAME] [--chain-id ID]
//   run   [--data DIR] [--config FILE] [--accept-lost-blocks]   no arguments: a demo coalition in ./data
//   keys  --data DIR                         this node's public keys
//   keygen --data DIR                        create this node's keys only, before a genesis
//   demo  [--data DIR]                       build the demo coalition chain and audit it
//   audit [--data DIR] [--json]              replay and verify DIR from genesis
//   report [--data DIR] --from DATE --to DATE ...  analytics of a stopped node's DIR
//   statement [--data DIR] --partner N --period YYYY-MM ...  a partner's settlement statement
// init, run and keys read the key passphrase from --passphrase-file FILE,
// POINTCHAIN_PASSPHRASE, or a prompt.
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "crypto/address.hpp"
#include "crypto/keys.hpp"
#include "node/audit_command.hpp"
#include "node/demo.hpp"
#include "node/keystore.hpp"
#include "node/network_info.hpp"
#include "node/node.hpp"
#include "node/p2p/tcp_transport.hpp"
#include "node/peer_protocol.hpp"
#include "node/report_command.hpp"
#include "node/statement.hpp"
#if POINTCHAIN_HAVE_RPC
#include "rpc/server.hpp"
#endif

namespace {

namespace fs = std::filesystem;
using pc::node::NodeConfig;

constexpr int exit_usage = 2;
// `run` stopped after a failed block write: accepted transactions were not committed.
constexpr int exit_storage_failure = 3;
constexpr std::size_t api_token_bytes = 32;
constexpr std::uint32_t default_point_expiry_days = 365;

void print_usage(std::ostream& out) {
  out << "usage: pointchain-node <command> [options]\n"
         "  run   [--data DIR] [--config FILE] [--passphrase-file FILE] [--accept-lost-blocks]\n"
         "        start the node: block production and the JSON-RPC API. With no options at all:\n"
         "        ./data, made into a one-partner demo coalition first if it does not exist.\n"
         "        --accept-lost-blocks: start even though the chain store is below the height\n"
         "        this node committed, giving those blocks up (docs/node.md, \"Lost blocks\")\n"
         "  init  --data DIR [--partner-id N] [--partner-name NAME] [--chain-id ID]\n"
         "        [--genesis FILE] [--passphrase-file FILE]\n"
         "        create this partner's keys, node.json and a one-partner genesis (or join the\n"
         "        coalition genesis FILE as partner N)\n"
         "  init  --data DIR --genesis FILE --observer [--passphrase-file FILE]\n"
         "        an auditor's observer node of the coalition genesis FILE: it syncs and verifies the\n"
         "        chain from partners that list its key in their p2p observer_keys, and never votes\n"
         "  keys  --data DIR [--passphrase-file FILE]\n"
         "        print this node's public keys\n"
         "  keygen --data DIR [--passphrase-file FILE]\n"
         "        create this node's keys only (DIR/keys/) and print their public keys, to\n"
         "        send to a coalition for its genesis; then init --genesis\n"
         "  demo  [--data DIR]           build a demo coalition chain in DIR (default ./demo-data)\n"
         "                               and audit it\n"
         "  audit [--data DIR] [--json]  replay DIR (default ./data) from genesis and verify every\n"
         "                               hash, signature, commit and balance\n"
         "  report [--data DIR] --from YYYY-MM-DD --to YYYY-MM-DD [--partner N]\n"
         "        [--period day|week|month] [--format table|json|csv] [--top N]\n"
         "        [--point-value CUR:AMOUNT] [--rewards]\n"
         "        figures of a stopped node's DIR (default ./data) by UTC day, week or month\n"
         "        (docs/analytics.md); --rewards: the top rewards as CSV\n"
         "  statement [--data DIR] --partner N --period YYYY-MM [--height H] [--format json|csv]\n"
         "        partner N's settlement statement and fees for a UTC calendar month, from a\n"
         "        stopped node's DIR (default ./data), at the tip or height H (docs/billing.md)\n"
         "The key passphrase comes from --passphrase-file FILE, POINTCHAIN_PASSPHRASE, or a prompt.\n";
}

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// --name value options and --flag switches, each allowed by the command.
struct Options {
  std::map<std::string, std::string> values;
  std::set<std::string> flags;

  bool has(const std::string& name) const { return values.contains(name); }
  std::string get(const std::string& name, std::string fallback = {}) const {
    auto found = values.find(name);
    return found == values.end() ? fallback : found->second;
  }
};

Options parse_options(const std::vector<std::string>& args, const std::set<std::string>& valued,
                      const std::set<std::string>& switches) {
  Options options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (valued.contains(arg)) {
      if (i + 1 >= args.size()) throw UsageError(arg + " needs a value");
      options.values[arg] = args[++i];
    } else if (switches.contains(arg)) {
      options.flags.insert(arg);
    } else {
      throw UsageError("unknown option " + arg);
    }
  }
  return options;
}

std::optional<fs::path> optional_path(const Options& options, const std::string& name) {
  if (!options.has(name)) return std::nullopt;
  return fs::path(options.get(name));
}

std::uint64_t wall_clock_ms() { return pc::node::SystemClock().now_ms(); }

void write_new_file(const fs::path& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("cannot create " + path.string() + " (does it exist already?)");
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  if (::close(fd) != 0 || !written) throw std::runtime_error("cannot write " + path.string());
}

// node.json with the defaults and a fresh API token; mode 0600, since the token is a secret.
void write_default_config(const fs::path& data_dir) {
  NodeConfig config;
  config.api_token = pc::node::random_hex(api_token_bytes);
  write_new_file(data_dir / "node.json", pc::node::node_config_to_json(config), 0600);
}

pc::ledger::Genesis one_partner_genesis(const pc::node::NodeKeys& keys, pc::ledger::PartnerId partner_id,
                                        const std::string& partner_name, const std::string& chain_id) {
  pc::ledger::Genesis genesis;
  genesis.protocol_version = pc::ledger::protocol_version_newest;
  genesis.chain_id = chain_id;
  genesis.coalition_name = partner_name;
  genesis.genesis_time_ms = wall_clock_ms();
  pc::ledger::Partner partner;
  partner.id = partner_id;
  partner.name = partner_name;
  partner.issuer_key = keys.issuer.public_key();
  partner.validator_key = keys.validator.public_key();
  partner.voting_power = 1;
  genesis.partners.push_back(partner);
  genesis.policy.point_expiry_days = default_point_expiry_days;
  genesis.policy.transfers_allowed = true;
  genesis.policy.issuance_cap_points = 0;
  // A coalition of one bills itself: nothing is charged, and its own issuer key is the
  // billing key. A coalition agrees on prices and a billing key in the genesis it writes.
  genesis.policy.billing = pc::ledger::no_charge_billing(genesis.partners, keys.issuer.public_key());
  // Through the JSON parser, so that names and ids get the same checks as a genesis file.
  auto checked = pc::ledger::parse_genesis_json(pc::ledger::genesis_to_json(genesis));
  if (!checked) throw UsageError("the genesis would be invalid: " + checked.error());
  return checked.value();
}

void write_genesis(const fs::path& data_dir, const pc::ledger::Genesis& genesis) {
  std::ofstream file(data_dir / "genesis.json", std::ios::trunc);
  file << pc::ledger::genesis_to_json(genesis);
  file.close();
  if (!file) throw std::runtime_error("cannot write " + (data_dir / "genesis.json").string());
}

// The chain store at height 0. Only init and the demo set-up make one: `run` and `audit`
// open an existing store and never create one (ledger/store.hpp).
void create_chain_store(const fs::path& data_dir, const pc::ledger::Genesis& genesis) {
  auto created = pc::ledger::ChainStore::create(data_dir / "chain", genesis);
  if (!created) throw std::runtime_error("cannot create the chain store: " + created.error().message());
}

const pc::ledger::Partner* partner_with_keys(const pc::ledger::Genesis& genesis, const pc::node::NodeKeys& keys) {
  for (const pc::ledger::Partner& partner : genesis.partners) {
    if (partner.issuer_key == keys.issuer.public_key() && partner.validator_key == keys.validator.public_key()) {
      return &partner;
    }
  }
  return nullptr;
}

void print_keys(const pc::node::NodeKeys& keys, std::ostream& out) {
  out << "  validator key  " << pc::to_hex(keys.validator.public_key()) << "\n"
      << "  issuer key     " << pc::to_hex(keys.issuer.public_key()) << "\n"
      << "  issuer address " << pc::crypto::encode_address(keys.issuer.public_key()) << "\n";
}

pc::ledger::PartnerId parse_partner_id(const std::string& text) {
  try {
    std::size_t used = 0;
    const unsigned long value = std::stoul(text, &used);
    if (used == text.size() && value >= 1 && value <= 65'535) return static_cast<pc::ledger::PartnerId>(value);
  } catch (const std::exception&) {
  }
  throw UsageError("--partner-id must be a number from 1 to 65535");
}

// ---------------------------------------------------------------------------------------
// init

// An auditor's observer of a coalition genesis: keys (its validator key is its node key on the
// network, the key partners list), the genesis, the store at height 0, and a node.json with
// "observer": true, no api_token, and a p2p section whose peers the auditor fills in.
int init_observer(const fs::path& data_dir, const Options& options) {
  auto genesis = pc::ledger::load_genesis_file(options.get("--genesis"));
  if (!genesis) throw std::runtime_error(genesis.error());
  const bool keys_existed = fs::exists(pc::node::keys_directory(data_dir));
  const std::string passphrase =
      pc::node::obtain_passphrase({optional_path(options, "--passphrase-file"), {}, !keys_existed});
  const pc::node::NodeKeys keys =
      keys_existed ? pc::node::load_node_keys(data_dir, passphrase)
                   : pc::node::create_node_keys(data_dir, passphrase, pc::crypto::KdfLimits::interactive());
  for (const pc::ledger::Partner& partner : genesis->partners) {
    if (partner.validator_key == keys.validator.public_key()) {
      throw std::runtime_error("this node's validator key is partner " + std::to_string(partner.id) +
                               "'s: an observer needs a key of its own");
    }
  }
  write_genesis(data_dir, *genesis);
  create_chain_store(data_dir, *genesis);
  if (!fs::exists(data_dir / "node.json")) {
    NodeConfig config;
    config.observer = true;
    config.p2p.emplace();
    config.p2p->listen_port = pc::node::p2p_port_default;
    write_new_file(data_dir / "node.json", pc::node::node_config_to_json(config), 0600);
  }
  std::cout << "Initialised " << data_dir.string() << " as an observer of chain " << genesis->chain_id << ":\n"
            << "  observer key   " << pc::to_hex(keys.validator.public_key()) << "\n"
            << "A partner lets it connect by listing this key in its node.json p2p.observer_keys; put the\n"
            << "partners' nodes in " << (data_dir / "node.json").string() << " p2p.peers, then:\n"
            << "Start it with: pointchain-node run --data " << data_dir.string() << "\n";
  return 0;
}


int command_init(const std::vector<std::string>& args) {
  const Options options = parse_options(
      args, {"--data", "--genesis", "--partner-id", "--partner-name", "--chain-id", "--passphrase-file"}, {"--observer"});
  if (!options.has("--data")) throw UsageError("init needs --data DIR");
  const fs::path data_dir = options.get("--data");
  const fs::path keys_dir = pc::node::keys_directory(data_dir);
  if (fs::exists(data_dir / "chain")) {
    throw std::runtime_error(data_dir.string() + " already holds a chain; init only prepares a new data dir");
  }

  if (!options.has("--genesis")) {
    if (fs::exists(keys_dir)) throw std::runtime_error(keys_dir.string() + " exists already: keys are never overwritten");
    const pc::ledger::PartnerId partner_id = parse_partner_id(options.get("--partner-id", "1"));
    const std::string partner_name = options.get("--partner-name", "Partner " + std::to_string(partner_id));
    const std::string chain_id = options.get("--chain-id", "coalition-" + pc::node::random_hex(4));
    if (!pc::ledger::is_valid_chain_id(chain_id)) {
      throw UsageError("--chain-id must be 1 to 32 characters of a-z 0-9 . -");
    }
    const std::string passphrase = pc::node::obtain_passphrase({optional_path(options, "--passphrase-file"), {}, true});
    // The genesis is checked before any key is written: a bad name leaves nothing behind.
    pc::node::NodeKeys draft_keys{pc::crypto::SecretKey::generate(), pc::crypto::SecretKey::generate()};
    (void)one_partner_genesis(draft_keys, partner_id, partner_name, chain_id);
    const pc::node::NodeKeys keys =
        pc::node::create_node_keys(data_dir, passphrase, pc::crypto::KdfLimits::interactive());
    const pc::ledger::Genesis genesis = one_partner_genesis(keys, partner_id, partner_name, chain_id);
    write_genesis(data_dir, genesis);
    create_chain_store(data_dir, genesis);
    write_default_config(data_dir);
    std::cout << "Initialised " << data_dir.string() << " as partner " << partner_id << " (" << partner_name
              << ") of the new one-partner chain " << chain_id << ":\n";
    print_keys(keys, std::cout);
    std::cout << "  " << (data_dir / "genesis.json").string() << ", " << (data_dir / "node.json").string()
              << " (holds the API token), " << keys_dir.string() << "/, " << (data_dir / "chain").string() << "/\n"
              << "Start it with: pointchain-node run --data " << data_dir.string() << "\n";
    return 0;
  }

  if (options.flags.contains("--observer")) {
    if (options.has("--partner-id")) throw UsageError("--observer and --partner-id exclude each other");
    return init_observer(data_dir, options);
  }
  // Joining a coalition genesis as one of its partners.
  if (!options.has("--partner-id")) throw UsageError("--genesis needs --partner-id N: which partner this node is");
  const pc::ledger::PartnerId partner_id = parse_partner_id(options.get("--partner-id"));
  auto genesis = pc::ledger::load_genesis_file(options.get("--genesis"));
  if (!genesis) throw std::runtime_error(genesis.error());
  const pc::ledger::Partner* partner = genesis->partner(partner_id);
  if (partner == nullptr) {
    throw std::runtime_error("partner " + std::to_string(partner_id) + " is not in " + options.get("--genesis"));
  }
  const bool keys_existed = fs::exists(keys_dir);
  const std::string passphrase =
      pc::node::obtain_passphrase({optional_path(options, "--passphrase-file"), {}, !keys_existed});
  // Keys made by an earlier init are used, never replaced; otherwise they are made now.
  const pc::node::NodeKeys keys =
      keys_existed ? pc::node::load_node_keys(data_dir, passphrase)
                   : pc::node::create_node_keys(data_dir, passphrase, pc::crypto::KdfLimits::interactive());
  if (partner->issuer_key != keys.issuer.public_key() || partner->validator_key != keys.validator.public_key()) {
    std::cerr << "pointchain-node: partner " << partner_id << " in " << options.get("--genesis")
              << " has other keys than this node's (" << keys_dir.string() << "):\n";
    print_keys(keys, std::cerr);
    std::cerr << "Put these public keys in the genesis for partner " << partner_id
              << " and run this command again; the keys in " << keys_dir.string() << " will be reused.\n";
    return 1;
  }
  write_genesis(data_dir, *genesis);
  create_chain_store(data_dir, *genesis);
  if (!fs::exists(data_dir / "node.json")) write_default_config(data_dir);
  std::cout << "Initialised " << data_dir.string() << " as partner " << partner_id << " (" << partner->name
            << ") of chain " << genesis->chain_id << ":\n";
  print_keys(keys, std::cout);
  std::cout << "Start it with: pointchain-node run --data " << data_dir.string() << "\n";
  return 0;
}

// The embedded default: a one-partner demo coalition whose passphrase is kept beside the keys.
void init_demo(const fs::path& data_dir) {
  const std::string passphrase = pc::node::random_hex(32);
  const pc::node::NodeKeys keys =
      pc::node::create_node_keys(data_dir, passphrase, pc::crypto::KdfLimits::interactive());
  pc::node::write_passphrase_file(pc::node::stored_passphrase_path(data_dir), passphrase);
  const pc::ledger::Genesis genesis = one_partner_genesis(keys, 1, "Demo Partner", "demo-" + pc::node::random_hex(4));
  write_genesis(data_dir, genesis);
  create_chain_store(data_dir, genesis);
  write_default_config(data_dir);
  std::cout << "Created a one-partner demo coalition in " << data_dir.string() << ".\n"
            << "  This is for trying Pointchain out: the key passphrase is stored next to the keys, in\n"
            << "  " << pc::node::stored_passphrase_path(data_dir).string()
            << ". For real keys, use `pointchain-node init`.\n\n";
}

// ---------------------------------------------------------------------------------------
// run

// What net_info and /metrics show of the network; empty without one.
std::function<pc::node::NetworkInfo()> network_view(const pc::node::p2p::TcpTransport* transport,
                                                    const pc::node::PeerProtocol* peers) {
  if (transport == nullptr || peers == nullptr) return {};
  return [transport, peers] {
    return pc::node::network_info(transport->listen_port(), transport->connection_stats(), peers->peers(),
                                  peers->stats());
  };
}

#if POINTCHAIN_HAVE_RPC
using RpcServer = pc::rpc::Server;
// The JSON-RPC server at config.rpc_address:rpc_port, with node.json's rate limit.
std::unique_ptr<RpcServer> make_rpc_server(pc::node::Node& node, std::function<pc::node::NetworkInfo()> network) {
  pc::rpc::ServerOptions options = pc::rpc::server_options_from_config(node.config());
  options.dispatcher.network_info = std::move(network);
  return std::make_unique<RpcServer>(node, std::move(options));
}
#else
// The fuzz build has no rpc library: the node runs without its JSON-RPC server.
struct RpcServer {
  void start() {}
  void stop() {}
};
std::unique_ptr<RpcServer> make_rpc_server(pc::node::Node&, std::function<pc::node::NetworkInfo()>) { return nullptr; }
#endif

int command_run(const std::vector<std::string>& args) {
  const Options options =
      parse_options(args, {"--data", "--config", "--passphrase-file"}, {"--accept-lost-blocks"});
  fs::path data_dir = options.get("--data", "data");
  if (args.empty() && !fs::exists(data_dir)) init_demo(data_dir);

  auto loaded = pc::node::load_node_config(options.has("--config") ? fs::path(options.get("--config"))
                                                                   : data_dir / "node.json");
  if (!loaded) throw std::runtime_error(loaded.error());
  NodeConfig config = std::move(loaded).value();
  if (options.has("--data") || !options.has("--config")) config.data_dir = data_dir;
  data_dir = config.data_dir;

  auto genesis = pc::ledger::load_genesis_file(data_dir / "genesis.json");
  if (!genesis) throw std::runtime_error(genesis.error());
  const std::string passphrase = pc::node::obtain_passphrase(
      {optional_path(options, "--passphrase-file"), pc::node::stored_passphrase_path(data_dir), false});
  pc::node::NodeKeys keys = pc::node::load_node_keys(data_dir, passphrase);
  const pc::ledger::Partner* partner = partner_with_keys(*genesis, keys);
  if (config.observer && partner != nullptr) {
    throw std::runtime_error("node.json says observer, but this node's keys are partner " + std::to_string(partner->id) +
                             "'s: a partner's node is not an observer");
  }
  if (!config.observer && partner == nullptr) {
    throw std::runtime_error("no partner in " + (data_dir / "genesis.json").string() +
                             " has this node's keys (an auditor's node sets \"observer\": true in node.json)");
  }
  const pc::ledger::PartnerId partner_id = partner == nullptr ? pc::node::observer_partner : partner->id;
  const std::string partner_name = partner == nullptr ? std::string() : partner->name;
  const pc::crypto::PublicKey node_key = keys.validator.public_key();

  // Signals go to sigwait below, not to whichever thread happens to run: block them before
  // any thread starts, so every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);  // reload the earning rules (docs/earning-rules.md)
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  pc::node::SystemClock clock;
  pc::node::WorkerPool workers(0, "pc-verify");
  pc::node::StorageOptions storage;
  storage.accept_lost_blocks = options.flags.contains("--accept-lost-blocks");
  // The network, when node.json has a "p2p" section (docs/node.md): the transport proves this
  // node by its validator key, and the peer protocol (docs/p2p-protocol.md) carries consensus,
  // transactions and sync over it. Both outlive the node, which sends through them until it stops.
  const pc::ledger::Genesis chain_genesis = *genesis;
  std::unique_ptr<pc::node::PeerProtocol> peers;
  std::unique_ptr<pc::node::p2p::TcpTransport> transport;
  if (config.p2p) {
    pc::crypto::Seed seed{};
    keys.validator.copy_seed(seed);
    transport = std::make_unique<pc::node::p2p::TcpTransport>(*config.p2p, chain_genesis,
                                                              pc::crypto::SecretKey::from_seed(seed));
    seed.fill(0);
    peers = std::make_unique<pc::node::PeerProtocol>(chain_genesis, partner_id, clock);
  }
  pc::node::Node node(config, std::move(genesis).value(), partner_id, std::move(keys.validator),
                      std::move(keys.issuer), clock, workers, storage, peers.get());
  if (transport) {
    peers->start(*transport, node);
    transport->start(*peers);
  }
  if (auto rules = node.rules_info()) {
    std::cout << "pointchain-node: earning rules " << rules->path.string() << ", sha256 " << pc::to_hex(rules->hash)
              << ", tag " << rules->tag << "\n"
              << std::flush;
  }
  node.start_block_timer();
  const std::string url = "http://" + config.rpc_address + ":" + std::to_string(config.rpc_port) + "/";
  std::unique_ptr<RpcServer> frontend = make_rpc_server(node, network_view(transport.get(), peers.get()));
  if (frontend) frontend->start();

  const pc::node::ChainInfo info = node.chain_info();
  std::cout << "pointchain-node is running\n"
            << "  chain      " << info.chain_id << " (" << info.coalition_name << "), height " << info.tip.height
            << "\n"
            << (config.observer ? "  observer   key " + pc::to_hex(node_key) + " (never votes; read-only RPC)"
                                : "  partner    " + std::to_string(partner_id) + " (" + partner_name + ")")
            << "\n"
            << "  consensus  " << pc::node::consensus_status(info.consensus)
            << (info.consensus.commits_alone || transport
                    ? ""
                    : ": transactions are accepted but not committed (node.json has no p2p section)")
            << "\n";
  if (transport) {
    std::cout << "  p2p        listening on " << config.p2p->listen_address << ":" << transport->listen_port()
              << ", dialling " << config.p2p->peers.size() << " peers\n";
  }
  std::cout
            << "  data dir   " << data_dir.string() << "\n"
            << "  RPC        " << url << (frontend ? "" : "  (not served: this build has no rpc library)") << "\n"
            << (config.observer ? std::string("  API token  none: an observer has no partner methods")
                                : "  API token  \"api_token\" in " + (data_dir / "node.json").string() +
                                      " (Authorization: Bearer <token> for earn, earn_batch, return, bonus)")
            << "\n"
            << "What to try next:\n"
            << "  curl -s " << url
            << " -H 'Content-Type: application/json' -d '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"chain_info\","
               "\"params\":{}}'\n"
            << "Stop with Ctrl-C (SIGINT) or SIGTERM.\n"
            << std::flush;

  int signal_number = 0;
  while (sigwait(&stop_signals, &signal_number) == 0 && signal_number == SIGHUP) {
    auto reloaded = node.reload_rules();
    if (!reloaded) {
      std::cout << "pointchain-node: SIGHUP: earning rules not reloaded, the old ones stay: " << reloaded.error()
                << "\n";
    } else if (!*reloaded) {
      std::cout << "pointchain-node: SIGHUP: no earning rules file: earn uses earn_rates\n";
    } else {
      std::cout << "pointchain-node: SIGHUP: earning rules reloaded, sha256 " << pc::to_hex((*reloaded)->hash)
                << ", tag " << (*reloaded)->tag << "\n";
    }
    std::cout << std::flush;
  }
  std::cout << "pointchain-node: stopping (" << (signal_number == SIGINT ? "SIGINT" : "SIGTERM") << ")\n";
  // The RPC server first, so nothing submits while production stops; every committed block
  // is already on disk (one synced write each), and what is pending is committed last.
  if (frontend) frontend->stop();
  // Then the network: no handler call comes after the transport's stop, and the peer thread
  // is joined before the node goes.
  if (transport) transport->stop();
  if (peers) peers->stop();
  node.stop_block_timer();
  // What was accepted but not yet in a block would otherwise be lost with the process.
  // After a storage failure this commits nothing: produce_pending() returns at once; so it
  // does for a validator that cannot commit alone.
  while (node.produce_pending()) {
  }
  const pc::node::ChainInfo last = node.chain_info();
  if (auto failure = node.storage_failure()) {
    std::cout << std::flush;
    std::cerr << "pointchain-node: stopped at height " << last.tip.height << " after a storage failure ("
              << failure->reason << "): " << last.pending_count
              << " accepted transactions were not committed and are lost\n";
    return exit_storage_failure;
  }
  std::cout << "pointchain-node: stopped at height " << last.tip.height;
  if (last.pending_count > 0) {
    std::cout << ": " << last.pending_count << " accepted transactions were not committed and are lost ("
              << pc::node::consensus_status(last.consensus) << ")";
  }
  std::cout << "\n";
  return 0;
}

// ---------------------------------------------------------------------------------------
// keys

int command_keys(const std::vector<std::string>& args) {
  const Options options = parse_options(args, {"--data", "--passphrase-file"}, {});
  if (!options.has("--data")) throw UsageError("keys needs --data DIR");
  const fs::path data_dir = options.get("--data");
  const std::string passphrase = pc::node::obtain_passphrase(
      {optional_path(options, "--passphrase-file"), pc::node::stored_passphrase_path(data_dir), false});
  const pc::node::NodeKeys keys = pc::node::load_node_keys(data_dir, passphrase);
  std::cout << "Keys of " << data_dir.string() << ":\n";
  print_keys(keys, std::cout);
  return 0;
}

// A partner's first step in joining a coalition: keys, before any genesis names them.
int command_keygen(const std::vector<std::string>& args) {
  const Options options = parse_options(args, {"--data", "--passphrase-file"}, {});
  if (!options.has("--data")) throw UsageError("keygen needs --data DIR");
  const fs::path data_dir = options.get("--data");
  const fs::path keys_dir = pc::node::keys_directory(data_dir);
  if (fs::exists(keys_dir)) throw std::runtime_error(keys_dir.string() + " exists already: keys are never overwritten");
  const std::string passphrase = pc::node::obtain_passphrase({optional_path(options, "--passphrase-file"), {}, true});
  const pc::node::NodeKeys keys = pc::node::create_node_keys(data_dir, passphrase, pc::crypto::KdfLimits::interactive());
  std::cout << "Keys of " << data_dir.string() << " (send the public keys to the coalition for its genesis):\n";
  print_keys(keys, std::cout);
  return 0;
}

int command_demo_or_audit(const std::string& command, const std::vector<std::string>& args) {
  const Options options = parse_options(args, {"--data"}, {"--json"});
  const bool json = options.flags.contains("--json");
  if (command == "audit") return pc::node::run_audit(options.get("--data", "data"), json, std::cout);
  const fs::path data_dir = options.get("--data", "demo-data");
  if (fs::exists(data_dir / "chain")) {
    std::cout << "Using the existing demo chain in " << data_dir.string() << " (delete it to start over).\n";
  } else {
    const pc::node::DemoResult demo = pc::node::build_demo_chain(data_dir);
    std::cout << "Built the demo coalition chain in " << data_dir.string() << ": " << demo.tip.height
              << " blocks, " << demo.transactions << " transactions.\n";
  }
  std::cout << "Auditing it as an auditor would, from genesis:\n\n";
  return pc::node::run_audit(data_dir, json, std::cout);
}

int command_report(const std::vector<std::string>& args) {
  const Options options = parse_options(
      args, {"--data", "--from", "--to", "--partner", "--period", "--format", "--top", "--point-value"}, {"--rewards"});
  if (!options.has("--from") || !options.has("--to")) throw UsageError("report needs --from DATE and --to DATE");
  const auto optional_value = [&](const std::string& name) -> std::optional<std::string> {
    if (!options.has(name)) return std::nullopt;
    return options.get(name);
  };
  pc::node::ReportQueryText query;
  query.from = options.get("--from");
  query.to = options.get("--to");
  query.partner = optional_value("--partner");
  query.period = optional_value("--period");
  query.top_rewards = optional_value("--top");
  query.point_value = optional_value("--point-value");
  return pc::node::run_report(options.get("--data", "data"), query, options.get("--format", "table"),
                              options.flags.contains("--rewards"), std::cout, std::cerr);
}

int command_statement(const std::vector<std::string>& args) {
  const Options options = parse_options(args, {"--data", "--partner", "--period", "--height", "--format"}, {});
  if (!options.has("--partner") || !options.has("--period")) {
    throw UsageError("statement needs --partner N and --period YYYY-MM");
  }
  pc::node::StatementQueryText query;
  query.partner = options.get("--partner");
  query.month = options.get("--period");
  if (options.has("--height")) query.height = options.get("--height");
  return pc::node::run_statement(options.get("--data", "data"), query, options.get("--format", "json"), std::cout,
                                 std::cerr);
}

}  // namespace

int main(int argc, char* argv[]) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) args.push_back("run");
  const std::string command = args.front();
  args.erase(args.begin());
  if (command == "help" || command == "--help" || command == "-h") {
    print_usage(std::cout);
    return 0;
  }
  try {
    pc::crypto::initialize();
    if (command == "run") return command_run(args);
    if (command == "init") return command_init(args);
    if (command == "keys") return command_keys(args);
    if (command == "keygen") return command_keygen(args);
    if (command == "demo" || command == "audit") return command_demo_or_audit(command, args);
    if (command == "report") return command_report(args);
    if (command == "statement") return command_statement(args);
    throw UsageError("unknown command " + command);
  } catch (const UsageError& error) {
    std::cerr << "pointchain-node: " << error.what() << "\n";
    print_usage(std::cerr);
    return exit_usage;
  } catch (const std::exception& error) {
    std::cerr << "pointchain-node: " << error.what() << "\n";
    return 1;
  }
}
