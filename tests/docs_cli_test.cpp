// The usage texts and the start-up banner in docs/ are what the binaries print: the test takes
// each ```text block from the doc and compares it with the program's own output, so the docs
// cannot drift from the binaries.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>

#include "tests/e2e_support.hpp"
#include "tests/fixtures.hpp"

namespace {

namespace fs = std::filesystem;
using namespace pc::test::e2e;

std::string doc_text(const char* name) { return read_text_file(fs::path(POINTCHAIN_SOURCE_DIR) / "docs" / name); }

// The ```text block that follows the line `introduction` (blank lines between are allowed).
std::string block_after(const std::string& doc, const std::string& introduction) {
  std::istringstream lines(doc);
  std::string line;
  bool found = false;
  while (!found && std::getline(lines, line)) found = line == introduction;
  INFO("the doc needs the line \"" << introduction << "\"");
  REQUIRE(found);
  while (std::getline(lines, line) && line.empty()) {
  }
  INFO("a ```text fence must follow \"" << introduction << "\", found: " << line);
  REQUIRE(line == "```text");
  std::string block;
  while (std::getline(lines, line) && line != "```") block += line + "\n";
  return block;
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

}  // namespace

TEST_CASE("docs/node.md and docs/wallet.md show the usage the binaries print", "[e2e][docs]") {
  // Proves that the usage blocks in the docs are, byte for byte, what `help` prints.
  const RunResult node = run({binary_path("pointchain-node").string(), "help"});
  REQUIRE(node.status.exited_with(0));
  CHECK(block_after(doc_text("node.md"), "`pointchain-node help` prints:") == node.out);

  const RunResult wallet = run({binary_path("pointchain-wallet").string(), "help"});
  REQUIRE(wallet.status.exited_with(0));
  CHECK(block_after(doc_text("wallet.md"),
                    "prints the usage and exits with 0. `pointchain-wallet help` prints:") == wallet.out);
}

TEST_CASE("docs/node.md shows the banner `run` prints", "[e2e][docs]") {
  // Proves that the start-up banner in docs/node.md is what `run` prints for the chain of the
  // `init` example (partner "Harbor Coffee", chain my-coalition, data dir p1), once this run's
  // data dir and port are written as the doc's.
  LiveNodeOptions options;
  options.partner_name = "Harbor Coffee";
  options.chain_id = "my-coalition";
  LiveNode node(options);
  std::string banner;
  for (const Deadline deadline(10s); banner.empty() && !deadline.passed();) {
    const std::string output = node.output();
    const std::size_t start = output.find("pointchain-node is running\n");
    const std::string last_line = "Stop with Ctrl-C (SIGINT) or SIGTERM.\n";
    const std::size_t end = output.find(last_line, start == std::string::npos ? 0 : start);
    if (start != std::string::npos && end != std::string::npos) {
      banner = output.substr(start, end + last_line.size() - start);
    } else {
      std::this_thread::sleep_for(20ms);
    }
  }
  INFO(node.output());
  REQUIRE_FALSE(banner.empty());
  replace_all(banner, node.data_dir().string(), "p1");
  replace_all(banner, "127.0.0.1:" + std::to_string(node.port()) + "/", "127.0.0.1:8645/");
  const std::string doc = doc_text("node.md");
  CHECK(block_after(doc, "prints (only the port of `rpc_port` differs from one set-up to another):") == banner);
}

TEST_CASE("docs/billing.md shows the statement the demo chain gives", "[e2e][docs]") {
  // Proves that the worked example of docs/billing.md, "Bytes and the content hash", is what
  // `statement` prints for the demo chain, byte for byte (the CSV's CRLF line ends as the
  // doc's lines): its item names, text layouts and content hash.
  pc::test::TempDir dir;
  const fs::path data = dir.path() / "demo-data";
  const RunResult demo = run({binary_path("pointchain-node").string(), "demo", "--data", data.string()});
  REQUIRE(demo.status.exited_with(0));
  const RunResult statement = run({binary_path("pointchain-node").string(), "statement", "--data", data.string(),
                                   "--partner", "3", "--period", "2026-07", "--format", "csv"});
  REQUIRE(statement.status.exited_with(0));
  std::string printed = statement.out;
  // Every line ends with CRLF, the last included, as the doc says.
  CHECK(printed.ends_with("\r\n"));
  CHECK(std::count(printed.begin(), printed.end(), '\n') == std::count(printed.begin(), printed.end(), '\r'));
  replace_all(printed, "\r\n", "\n");
  CHECK(block_after(doc_text("billing.md"),
                    "`pointchain-node statement --data demo-data --partner 3 --period 2026-07 --format csv` prints") ==
        printed);
}
