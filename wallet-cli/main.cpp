// pointchain-wallet: the customer's wallet. Keeps one ed25519 key in an encrypted file,
// reads balances and history from a node, and signs redemptions and transfers locally.
// Commands, options and exit codes are documented in docs/wallet.md.
#include <charconv>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "crypto/keys.hpp"
#include "ledger/limits.hpp"
#include "wallet-cli/commands.hpp"
#include "wallet-cli/exit_codes.hpp"

namespace {

using pc::wallet::Exit;
using pc::wallet::Failure;

constexpr char usage_text[] =
    "usage: pointchain-wallet [--wallet FILE] [--node URL] [--passphrase-file FILE] <command>\n"
    "  create                                    make a new key; prints its address\n"
    "  address                                   print the wallet's address\n"
    "  public-key                                print the wallet's public key in hex (for a genesis)\n"
    "  referral-code                             the code a friend gives at a partner's till\n"
    "  balance                                   balance, spendable, pending, expiring soon\n"
    "  history [--limit N]                       the latest N entries (default 20, max 100)\n"
    "  redeem --partner ID --points N --reward TEXT [--no-wait]\n"
    "  redeem --partner ID --reward-id N [--quantity Q] [--no-wait]   a catalog reward; prints vouchers\n"
    "  vouchers [--qr]                           your vouchers and whether each was used;\n"
    "                                            --qr draws each unused one as a QR code\n"
    "  cards                                     the coalition's stamp cards and your stamps\n"
    "  badges                                    your badges and the ones on the way\n"
    "  transfer --to ADDRESS --points N [--no-wait]\n"
    "  pay REQUEST [--yes] [--no-wait]           pay a till's payment request (PCPAY:...) with points;\n"
    "                                            asks first unless --yes\n"
    "  top-up --partner ID --points N --reference TEXT [--no-wait]\n"
    "                                            the coalition's billing key: buy prepaid points\n"
    "                                            for a prepaid partner (docs/billing.md)\n"
    "  export --out FILE                         copy the encrypted wallet file\n"
    "  import --in FILE                          install an exported wallet file\n"
    "  verify-tx ID [--genesis FILE] [--no-wait] check a transaction's proof and signatures\n"
    "Defaults: --wallet $HOME/.pointchain/wallet.key, --node $POINTCHAIN_NODE or\n"
    "http://127.0.0.1:8645. The passphrase comes from --passphrase-file, else\n"
    "$POINTCHAIN_WALLET_PASSPHRASE, else a prompt. Exit codes: docs/wallet.md.\n";

[[noreturn]] void usage_error(const std::string& message) { throw Failure(Exit::usage, message); }

// What one command accepts: options that take a value, flags, and how many positionals.
struct CommandSpec {
  std::set<std::string> value_options;
  std::set<std::string> flags;
  std::size_t positionals = 0;
};

const std::map<std::string, CommandSpec>& command_specs() {
  static const std::map<std::string, CommandSpec> specs = {
      {"create", {}},
      {"address", {}},
      {"public-key", {}},
      {"referral-code", {}},
      {"balance", {}},
      {"history", {{"--limit"}, {}, 0}},
      {"redeem", {{"--partner", "--points", "--reward", "--reward-id", "--quantity"}, {"--no-wait"}, 0}},
      {"vouchers", {{}, {"--qr"}, 0}},
      {"cards", {}},
      {"badges", {}},
      {"transfer", {{"--to", "--points"}, {"--no-wait"}, 0}},
      {"pay", {{}, {"--yes", "--no-wait"}, 1}},
      {"top-up", {{"--partner", "--points", "--reference"}, {"--no-wait"}, 0}},
      {"export", {{"--out"}, {}, 0}},
      {"import", {{"--in"}, {}, 0}},
      {"verify-tx", {{"--genesis"}, {"--no-wait"}, 1}},
  };
  return specs;
}

struct CommandLine {
  pc::wallet::WalletOptions options;
  std::string command;
  std::map<std::string, std::string> values;
  std::set<std::string> flags;
  std::vector<std::string> positionals;
  bool help = false;

  bool has(const std::string& flag) const { return flags.count(flag) != 0; }
  const std::string& required(const std::string& option) const {
    const auto found = values.find(option);
    if (found == values.end()) usage_error(command + " needs " + option);
    return found->second;
  }
};

// Global options may come before or after the command.
CommandLine parse_command_line(const std::vector<std::string>& args) {
  CommandLine line;
  std::vector<std::string> rest;
  const auto value_after = [&args](std::size_t& i) -> const std::string& {
    if (i + 1 >= args.size()) usage_error(args[i] + " needs a value");
    return args[++i];
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--wallet") {
      line.options.wallet_path = value_after(i);
    } else if (args[i] == "--node") {
      line.options.node_url = value_after(i);
    } else if (args[i] == "--passphrase-file") {
      line.options.passphrase_file = value_after(i);
    } else if (args[i] == "--help" || args[i] == "-h" || args[i] == "help") {
      line.help = true;
    } else {
      rest.push_back(args[i]);
    }
  }
  if (line.help) return line;
  if (rest.empty()) usage_error("no command given");
  line.command = rest.front();
  const auto spec = command_specs().find(line.command);
  if (spec == command_specs().end()) usage_error("unknown command \"" + line.command + "\"");
  for (std::size_t i = 1; i < rest.size(); ++i) {
    const std::string& arg = rest[i];
    if (spec->second.value_options.count(arg) != 0) {
      if (i + 1 >= rest.size()) usage_error(arg + " needs a value");
      line.values[arg] = rest[++i];
    } else if (spec->second.flags.count(arg) != 0) {
      line.flags.insert(arg);
    } else if (arg.rfind("--", 0) == 0) {
      usage_error(line.command + " does not take " + arg);
    } else {
      line.positionals.push_back(arg);
    }
  }
  if (line.positionals.size() != spec->second.positionals) {
    usage_error(line.command + " takes " + std::to_string(spec->second.positionals) + " argument(s)");
  }
  return line;
}

// A whole decimal number in [minimum, maximum]; no sign, no spaces.
std::uint64_t parse_number(const std::string& text, const std::string& what, std::uint64_t minimum,
                           std::uint64_t maximum) {
  std::uint64_t value = 0;
  const auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || status != std::errc() || end != text.data() + text.size() || value < minimum ||
      value > maximum) {
    usage_error(what + " must be a whole number from " + std::to_string(minimum) + " to " + std::to_string(maximum) +
                ", not \"" + text + "\"");
  }
  return value;
}

void fill_defaults(pc::wallet::WalletOptions& options) {
  if (options.node_url.empty()) {
    const char* from_env = std::getenv(pc::wallet::node_url_env);
    options.node_url = from_env != nullptr && *from_env != '\0' ? from_env : pc::wallet::default_node_url;
  }
  if (options.wallet_path.empty()) {
    const char* home = std::getenv("HOME");
    if (home == nullptr || *home == '\0') usage_error("HOME is not set: pass --wallet FILE");
    options.wallet_path = std::filesystem::path(home) / ".pointchain" / "wallet.key";
  }
}

void run(const CommandLine& line) {
  const auto& options = line.options;
  const std::string& command = line.command;
  constexpr std::uint64_t points_max = std::numeric_limits<std::uint64_t>::max();
  if (command == "create") return pc::wallet::create_command(options, std::cout);
  if (command == "address") return pc::wallet::address_command(options, std::cout);
  if (command == "public-key") return pc::wallet::public_key_command(options, std::cout);
  if (command == "referral-code") return pc::wallet::referral_code_command(options, std::cout);
  if (command == "balance") return pc::wallet::balance_command(options, std::cout);
  if (command == "history") {
    const auto limit = line.values.count("--limit") != 0
                           ? parse_number(line.values.at("--limit"), "--limit", 1, pc::wallet::history_limit_max)
                           : 20;
    return pc::wallet::history_command(options, static_cast<std::size_t>(limit), std::cout);
  }
  if (command == "redeem") {
    pc::wallet::RedeemRequest request;
    request.partner = static_cast<pc::ledger::PartnerId>(
        parse_number(line.required("--partner"), "--partner", 1, std::numeric_limits<pc::ledger::PartnerId>::max()));
    request.wait_for_commit = !line.has("--no-wait");
    if (line.values.count("--reward-id") != 0) {
      if (line.values.count("--points") != 0 || line.values.count("--reward") != 0) {
        usage_error("redeem takes either --reward-id (a catalog reward) or --points with --reward");
      }
      request.reward_id = static_cast<std::uint32_t>(
          parse_number(line.values.at("--reward-id"), "--reward-id", 1, std::numeric_limits<std::uint32_t>::max()));
      if (line.values.count("--quantity") != 0) {
        request.quantity = static_cast<std::uint16_t>(
            parse_number(line.values.at("--quantity"), "--quantity", 1, pc::ledger::reward_quantity_max));
      }
      return pc::wallet::redeem_command(options, request, std::cout);
    }
    if (line.values.count("--quantity") != 0) usage_error("--quantity goes with --reward-id");
    request.points = parse_number(line.required("--points"), "--points", 1, points_max);
    request.reward = line.required("--reward");
    return pc::wallet::redeem_command(options, request, std::cout);
  }
  if (command == "transfer") {
    pc::wallet::TransferRequest request;
    request.to_address = line.required("--to");
    request.points = parse_number(line.required("--points"), "--points", 1, points_max);
    request.wait_for_commit = !line.has("--no-wait");
    return pc::wallet::transfer_command(options, request, std::cout);
  }
  if (command == "vouchers") return pc::wallet::vouchers_command(options, line.has("--qr"), std::cout);
  if (command == "cards") return pc::wallet::cards_command(options, std::cout);
  if (command == "badges") return pc::wallet::badges_command(options, std::cout);
  if (command == "pay") {
    pc::wallet::PayRequest request;
    request.request_text = line.positionals.front();
    request.assume_yes = line.has("--yes");
    request.wait_for_commit = !line.has("--no-wait");
    return pc::wallet::pay_command(options, request, std::cin, std::cout);
  }
  if (command == "top-up") {
    pc::wallet::TopUpRequest request;
    request.partner = static_cast<pc::ledger::PartnerId>(
        parse_number(line.required("--partner"), "--partner", 1, std::numeric_limits<pc::ledger::PartnerId>::max()));
    request.points = parse_number(line.required("--points"), "--points", 1, points_max);
    request.reference = line.required("--reference");
    request.wait_for_commit = !line.has("--no-wait");
    return pc::wallet::top_up_command(options, request, std::cout);
  }
  if (command == "export") return pc::wallet::export_command(options, line.required("--out"), std::cout);
  if (command == "import") return pc::wallet::import_command(options, line.required("--in"), std::cout);
  if (command == "verify-tx") {
    const auto genesis = line.values.count("--genesis") != 0 ? line.values.at("--genesis") : std::string();
    return pc::wallet::verify_tx_command(options, line.positionals.front(), genesis, !line.has("--no-wait"),
                                         std::cout);
  }
  usage_error("unknown command \"" + command + "\"");
}

}  // namespace

int main(int argc, char* argv[]) {
  try {
    CommandLine line = parse_command_line(std::vector<std::string>(argv + 1, argv + argc));
    if (line.help) {
      std::cout << usage_text;
      return 0;
    }
    fill_defaults(line.options);
    pc::crypto::initialize();
    run(line);
    return static_cast<int>(Exit::ok);
  } catch (const Failure& failure) {
    std::cerr << "pointchain-wallet: " << failure.what() << "\n";
    if (failure.exit_code() == Exit::usage) std::cerr << "(pointchain-wallet --help for usage)\n";
    return static_cast<int>(failure.exit_code());
  } catch (const nlohmann::json::exception& error) {
    // Only the node's answers are parsed as JSON: a field missing or of the wrong type.
    std::cerr << "pointchain-wallet: the node's answer is not what docs/rpc.md describes: " << error.what() << "\n";
    return static_cast<int>(Exit::node_unreachable);
  } catch (const std::exception& error) {
    std::cerr << "pointchain-wallet: unexpected failure (a bug, please report it): " << error.what() << "\n";
    return static_cast<int>(Exit::internal);
  }
}
