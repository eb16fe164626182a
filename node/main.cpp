// pointchain-node: the partner's node. Subcommands so far:
//   demo  [--data DIR]          build the demo coalition chain in DIR and audit it
//   audit [--data DIR] [--json] replay and verify DIR from genesis
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "crypto/keys.hpp"
#include "node/audit_command.hpp"
#include "node/demo.hpp"

namespace {

constexpr int exit_usage = 2;

void print_usage(std::ostream& out) {
  out << "usage: pointchain-node <command> [options]\n"
         "  demo  [--data DIR]           build a demo coalition chain in DIR (default ./demo-data)\n"
         "                               and audit it\n"
         "  audit [--data DIR] [--json]  replay DIR (default ./data) from genesis and verify every\n"
         "                               hash, signature, commit and balance\n";
}

struct Options {
  std::filesystem::path data_dir;
  bool json = false;
};

bool parse_options(const std::vector<std::string>& args, Options& options) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--data" && i + 1 < args.size()) {
      options.data_dir = args[++i];
    } else if (args[i] == "--json") {
      options.json = true;
    } else {
      std::cerr << "pointchain-node: unknown option " << args[i] << "\n";
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char* argv[]) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) args.push_back("demo");
  const std::string command = args.front();
  args.erase(args.begin());
  if (command == "help" || command == "--help" || command == "-h") {
    print_usage(std::cout);
    return 0;
  }
  try {
    pc::crypto::initialize();
    Options options;
    if (!parse_options(args, options)) {
      print_usage(std::cerr);
      return exit_usage;
    }
    if (command == "demo") {
      if (options.data_dir.empty()) options.data_dir = "demo-data";
      if (std::filesystem::exists(options.data_dir / "chain")) {
        std::cout << "Using the existing demo chain in " << options.data_dir.string()
                  << " (delete it to start over).\n";
      } else {
        const pc::node::DemoResult demo = pc::node::build_demo_chain(options.data_dir);
        std::cout << "Built the demo coalition chain in " << options.data_dir.string() << ": "
                  << demo.tip.height << " blocks, " << demo.transactions << " transactions.\n";
      }
      std::cout << "Auditing it as an auditor would, from genesis:\n\n";
      return pc::node::run_audit(options.data_dir, options.json, std::cout);
    }
    if (command == "audit") {
      if (options.data_dir.empty()) options.data_dir = "data";
      return pc::node::run_audit(options.data_dir, options.json, std::cout);
    }
    std::cerr << "pointchain-node: unknown command " << command << "\n";
    print_usage(std::cerr);
    return exit_usage;
  } catch (const std::exception& error) {
    std::cerr << "pointchain-node: " << error.what() << "\n";
    return 1;
  }
}
