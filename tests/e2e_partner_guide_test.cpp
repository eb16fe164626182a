// docs/partner-guide.md, run as written: every ```sh run block, in order, in one bash (the
// blocks share variables, as a reader's shell does), in a temp dir on free loopback ports with
// build/bin on PATH; each block's output must hold its ```text output block. A guide that
// drifts from the binaries fails here, naming the block. Also the harness's own rules.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/e2e_support.hpp"
#include "tests/fixtures.hpp"

namespace {

namespace fs = std::filesystem;
using namespace pc::test::e2e;
using pc::test::TempDir;

// Every wait in the guide is bounded (curl's retries, the wallet's commit wait, the guide's
// own loops); this only stops a run that hangs anyway.
constexpr Milliseconds guide_timeout = 240s;
// Printed after each block, on a line of its own, so the run's output splits into blocks.
constexpr char block_end_marker[] = "@@ end of guide block @@";

std::vector<std::string> split_outputs(const std::string& output) {
  std::vector<std::string> outputs(1);
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line == block_end_marker) {
      outputs.emplace_back();
    } else {
      outputs.back() += line + "\n";
    }
  }
  return outputs;
}

}  // namespace

TEST_CASE("runnable doc blocks are the marked ones, in order, each with the output block that follows it",
          "[docs]") {
  // Proves the harness's reading of a document: unmarked fences are skipped, an output block
  // belongs to the run block just before it, and one after another kind of block is an error.
  const std::string doc = "# T\n```sh\nnot run\n```\n```sh run\necho a\n```\nprose\n```text output\na\n```\n"
                          "```json\n{}\n```\n```sh run\necho b\necho c\n```\n";
  const std::vector<RunnableBlock> blocks = runnable_blocks(doc);
  REQUIRE(blocks.size() == 2);
  CHECK(blocks[0].line == 5);
  CHECK(blocks[0].script == "echo a\n");
  CHECK(blocks[0].expected_output == std::optional<std::string>("a\n"));
  CHECK(blocks[1].script == "echo b\necho c\n");
  CHECK_FALSE(blocks[1].expected_output);
  CHECK_THROWS(runnable_blocks("```json\n{}\n```\n```text output\nx\n```\n"));
  CHECK_THROWS(runnable_blocks("```sh run\necho a\n"));

  // Expected lines in order, anything between, "..." for any text.
  const std::string output = "noise\n{\"id\":\"9f3c\",\"points\":42}\nmore\nBalance:    42 points  \n";
  CHECK_FALSE(missing_expected_line("{\"id\":\"...\",\"points\":42}\nBalance:    42 points\n", output));
  CHECK(missing_expected_line("Balance:    42 points\n{\"id\":\"...\",\"points\":42}\n", output) ==
        std::optional<std::string>("{\"id\":\"...\",\"points\":42}"));
  CHECK(missing_expected_line("{\"points\":42}\n", output) == std::optional<std::string>("{\"points\":42}"));
  CHECK(missing_expected_line("...42...\n", output) == std::nullopt);
}

TEST_CASE("docs/partner-guide.md runs as written, block by block, and shows the output it promises", "[e2e][docs]") {
  // Proves the partner guide's promise to a partner's engineers: each step's commands work
  // against the real binaries as pasted, in order, and print what the guide shows; the node
  // and the webhook receiver it starts are gone afterwards.
  const std::vector<RunnableBlock> blocks =
      runnable_blocks(read_text_file(fs::path(POINTCHAIN_SOURCE_DIR) / "docs" / "partner-guide.md"));
  REQUIRE(blocks.size() >= 2);
  std::string script;
  for (const RunnableBlock& block : blocks) script += block.script + "echo; echo '" + block_end_marker + "'\n";
  TempDir temp;
  const fs::path script_path = temp.path() / "partner-guide.sh";
  std::ofstream(script_path) << script;
  const fs::path guide_dir = temp.path() / "partner-guide";
  const std::uint16_t port = free_loopback_ports(2);
  const std::string bin_dir = POINTCHAIN_BINARY_DIR;
  const char* parent_path = std::getenv("PATH");

  SpawnOptions options;
  options.working_directory = temp.path();
  options.stderr_to_stdout = true;
  options.environment = {
      {"PC_BIN_DIR", bin_dir},
      {"PC_DIR", guide_dir.string()},
      {"PC_PORT", std::to_string(port)},
      {"PC_HOOK_PORT", std::to_string(port + 1)},
      {"PATH", bin_dir + ":" + (parent_path != nullptr ? parent_path : "/usr/bin:/bin")},
      {"HOME", temp.path().string()},
      {"POINTCHAIN_PASSPHRASE", std::nullopt},
      {"POINTCHAIN_WALLET_PASSPHRASE", std::nullopt},
      {"POINTCHAIN_NODE", std::nullopt},
  };
  const ScriptRun run = run_doc_script(script_path, options, guide_timeout);
  const std::optional<ExitStatus>& status = run.status;
  const bool finished = status.has_value();
  const bool left_running = run.left_running;

  const std::string& output = run.output;
  std::error_code no_log;
  const fs::path node_log = guide_dir / "node.log";
  INFO("output:\n" << output << "\nnode.log:\n" << (fs::exists(node_log, no_log) ? read_text_file(node_log) : "(none)"));
  const std::vector<std::string> outputs = split_outputs(output);
  // The block that failed is the first one without its end marker.
  if (outputs.size() <= blocks.size()) {
    FAIL("the block at docs/partner-guide.md line " << blocks[outputs.size() - 1].line << " failed or hung");
  }
  REQUIRE(finished);
  REQUIRE(status->exited_with(0));
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    if (!blocks[i].expected_output) continue;
    const std::optional<std::string> missing = missing_expected_line(*blocks[i].expected_output, outputs[i]);
    INFO("docs/partner-guide.md line " << blocks[i].line << ", its output:\n" << outputs[i]);
    CHECK(missing.value_or("(all found)") == "(all found)");
  }
  CHECK_FALSE(left_running);
}
