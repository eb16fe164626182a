// pointchain-wallet driven as a customer drives it, through its failures: each one exits with
// the code wallet-cli/exit_codes.hpp documents, prints one line on stderr that says what went
// wrong, and leaves the wallet file and the account as they were.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ledger/errors.hpp"
#include "tests/e2e_support.hpp"
#include "tests/fixtures.hpp"
#include "wallet-cli/exit_codes.hpp"

namespace {

namespace fs = std::filesystem;
using namespace pc::test::e2e;
using pc::test::TempDir;
using pc::wallet::Exit;

constexpr char passphrase[] = "e2e wallet passphrase";
constexpr char address_alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

// Runs pointchain-wallet with HOME in `home` (so no test touches a real wallet), the
// passphrase from the environment, and the node named by `node_url` when given.
RunResult wallet(const fs::path& home, const std::vector<std::string>& args,
                 const std::string& wallet_passphrase = passphrase,
                 const std::optional<std::string>& node_url = std::nullopt) {
  SpawnOptions options;
  options.working_directory = home;
  options.environment = {
      {"HOME", home.string()},
      {"POINTCHAIN_WALLET_PASSPHRASE", wallet_passphrase},
      {"POINTCHAIN_NODE", node_url},
  };
  std::vector<std::string> command{binary_path("pointchain-wallet").string()};
  command.insert(command.end(), args.begin(), args.end());
  return run(command, options, 90s);
}

// A failure as the wallet promises it: the documented exit code, nothing on stdout, and one
// line on stderr that names the problem.
void check_failure(const RunResult& result, Exit expected, const std::string& stderr_mentions) {
  INFO("stdout: " << result.out << "\nstderr: " << result.err);
  CHECK(result.status.exited_with(static_cast<int>(expected)));
  CHECK(result.out.empty());
  CHECK(result.err.rfind("pointchain-wallet: ", 0) == 0);
  CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
  CHECK(result.err.back() == '\n');
  CHECK(result.err.find(stderr_mentions) != std::string::npos);
}

// Creates a wallet file and returns its address (the "Address: ..." line create prints).
std::string create_wallet(const fs::path& home, const fs::path& wallet_file) {
  const RunResult created = wallet(home, {"--wallet", wallet_file.string(), "create"});
  INFO(created.out << created.err);
  REQUIRE(created.status.exited_with(0));
  const std::size_t at = created.out.find("Address: ");
  REQUIRE(at != std::string::npos);
  const std::string address = created.out.substr(at + 9, created.out.find('\n', at) - at - 9);
  REQUIRE(address.size() == 62);
  return address;
}

std::string closed_node_url() { return "http://127.0.0.1:" + std::to_string(free_loopback_port()); }

}  // namespace

TEST_CASE("wallet: a wrong passphrase exits 2 and leaves the wallet file as it was", "[e2e][wallet]") {
  // Proves the encrypted file is the only source of the key: a wrong passphrase gets exit
  // code 2 and a message, the file's bytes do not change, and the right one still opens it.
  TempDir home;
  const fs::path wallet_file = home.path() / "alice.key";
  const std::string address = create_wallet(home.path(), wallet_file);
  const std::string bytes_before = read_text_file(wallet_file);

  check_failure(wallet(home.path(), {"--wallet", wallet_file.string(), "address"}, "not the passphrase"),
                Exit::wallet_unreadable, "wrong passphrase for " + wallet_file.string());
  CHECK(read_text_file(wallet_file) == bytes_before);

  const RunResult right = wallet(home.path(), {"--wallet", wallet_file.string(), "address"});
  CHECK(right.status.exited_with(0));
  CHECK(right.out == address + "\n");
}

TEST_CASE("wallet: a node that does not answer exits 3, from --node and from POINTCHAIN_NODE", "[e2e][wallet]") {
  // Proves the wallet names the node it could not reach and gives up with exit code 3 when
  // nothing listens on the port, whichever way the node was chosen.
  TempDir home;
  const fs::path wallet_file = home.path() / "alice.key";
  create_wallet(home.path(), wallet_file);

  const std::string by_option = closed_node_url();
  check_failure(wallet(home.path(), {"--wallet", wallet_file.string(), "--node", by_option, "balance"}),
                Exit::node_unreachable, "cannot connect to the node at " + by_option.substr(7));

  const std::string by_environment = closed_node_url();
  check_failure(wallet(home.path(),
                       {"--wallet", wallet_file.string(), "redeem", "--partner", "1", "--points", "5", "--reward",
                        "Free coffee"},
                       passphrase, by_environment),
                Exit::node_unreachable, "cannot connect to the node at " + by_environment.substr(7));
}

TEST_CASE("wallet: a one-character typo in an address exits 5 on its checksum, before the node is asked",
          "[e2e][wallet]") {
  // Proves a mistyped recipient is caught by the address checksum: exit code 5, whatever the
  // node. The correct address, sent the same way, gets past decoding (and then stops at the
  // unreachable node, exit code 3), so it is the typo that the checksum catches.
  TempDir home;
  const fs::path alice_file = home.path() / "alice.key";
  create_wallet(home.path(), alice_file);
  const std::string bob = create_wallet(home.path(), home.path() / "bob.key");

  const std::size_t typo_at = bob.size() / 2;  // inside the key, well away from the padding bits
  std::string typo = bob;
  typo[typo_at] = typo[typo_at] == address_alphabet[0] ? address_alphabet[1] : address_alphabet[0];
  REQUIRE(typo != bob);

  const std::string node_url = closed_node_url();
  check_failure(
      wallet(home.path(), {"--wallet", alice_file.string(), "--node", node_url, "transfer", "--to", typo, "--points", "1"}),
      Exit::bad_address, "bad address \"" + typo + "\": address checksum does not match");
  check_failure(
      wallet(home.path(), {"--wallet", alice_file.string(), "--node", node_url, "transfer", "--to", bob, "--points", "1"}),
      Exit::node_unreachable, "cannot connect");
}

TEST_CASE("wallet: a missing wallet file exits 7, and create never overwrites an existing one", "[e2e][wallet]") {
  // Proves the two wallet-file failures: a command on a file that is not there exits 7 and
  // creates nothing; create on a file that is there exits 7 and keeps the old key.
  TempDir home;
  const fs::path missing = home.path() / "missing.key";
  check_failure(wallet(home.path(), {"--wallet", missing.string(), "address"}), Exit::wallet_file,
                "no wallet file at " + missing.string());
  check_failure(wallet(home.path(), {"--wallet", missing.string(), "balance"}), Exit::wallet_file,
                "no wallet file at " + missing.string());
  CHECK_FALSE(fs::exists(missing));

  const fs::path wallet_file = home.path() / "alice.key";
  const std::string address = create_wallet(home.path(), wallet_file);
  const std::string bytes_before = read_text_file(wallet_file);
  check_failure(wallet(home.path(), {"--wallet", wallet_file.string(), "create"}), Exit::wallet_file,
                wallet_file.string() + " already exists; not overwriting it");
  CHECK(read_text_file(wallet_file) == bytes_before);
  CHECK(wallet(home.path(), {"--wallet", wallet_file.string(), "address"}).out == address + "\n");
}

TEST_CASE("wallet: export then import gives the same address; neither overwrites a file", "[e2e][wallet]") {
  // Proves a backup restores the same key, that import checks the passphrase before writing
  // anything, and that export and import refuse to replace an existing file.
  TempDir home;
  const fs::path wallet_file = home.path() / "alice.key";
  const fs::path backup = home.path() / "backup" / "alice-backup.key";
  const fs::path restored = home.path() / "restored" / "alice.key";
  const std::string address = create_wallet(home.path(), wallet_file);

  const RunResult exported = wallet(home.path(), {"--wallet", wallet_file.string(), "export", "--out", backup.string()});
  INFO(exported.out << exported.err);
  REQUIRE(exported.status.exited_with(0));
  CHECK(read_text_file(backup) == read_text_file(wallet_file));

  check_failure(wallet(home.path(), {"--wallet", restored.string(), "import", "--in", backup.string()}, "wrong"),
                Exit::wallet_unreadable, "wrong passphrase for " + backup.string());
  CHECK_FALSE(fs::exists(restored));

  const RunResult imported = wallet(home.path(), {"--wallet", restored.string(), "import", "--in", backup.string()});
  INFO(imported.out << imported.err);
  REQUIRE(imported.status.exited_with(0));
  CHECK(imported.out.find("Address: " + address + "\n") != std::string::npos);
  CHECK(wallet(home.path(), {"--wallet", restored.string(), "address"}).out == address + "\n");

  check_failure(wallet(home.path(), {"--wallet", wallet_file.string(), "export", "--out", backup.string()}),
                Exit::wallet_file, backup.string() + " already exists; not overwriting it");
  check_failure(wallet(home.path(), {"--wallet", restored.string(), "import", "--in", backup.string()}),
                Exit::wallet_file, restored.string() + " already exists; not overwriting it");
}

TEST_CASE("wallet: against a live node, too few points exits 4 and a refused redemption exits 6 with the "
          "node's reason; neither changes the account",
          "[e2e][wallet]") {
  // Proves the two ways a signed spend fails on a real node: more points than the account
  // holds (exit code 4, with the numbers), and a redemption the ledger refuses (exit code 6,
  // with the node's error name, detail and code). Afterwards the balance is unchanged and a
  // valid redemption still goes through, so neither failure used up the account's sequence;
  // `history` then shows that redemption with its reward.
  LiveNodeOptions options;
  options.partner_name = "Corner Cafe";
  LiveNode node(options);
  TempDir home;
  const fs::path wallet_file = home.path() / "alice.key";
  const std::string alice = create_wallet(home.path(), wallet_file);
  node.earn_and_commit(alice, 2500, "till-1-0001");  // EUR 25.00 at 1 point per euro
  const auto balance = [&] { return node.call("get_account", {{"address", alice}}).at("balance").get<std::uint64_t>(); };
  REQUIRE(balance() == 25);

  const auto redeem = [&](const std::string& partner, const std::string& points) {
    return wallet(home.path(),
                  {"--wallet", wallet_file.string(), "redeem", "--partner", partner, "--points", points, "--reward",
                   "Free coffee"},
                  passphrase, node.url());
  };
  check_failure(redeem("1", "40"), Exit::insufficient_balance, "insufficient balance: 25 spendable points, 40 needed");
  // JSON-RPC application errors are 1000 + the ledger's code (docs/rpc.md).
  const int unknown_partner_error = 1000 + static_cast<int>(pc::ledger::Code::unknown_partner);
  check_failure(redeem("99", "5"), Exit::rejected,
                "the node refused submit_transaction: unknown_partner: partner 99 (error " +
                    std::to_string(unknown_partner_error) + ")");
  CHECK(balance() == 25);
  const RunResult shown =
      wallet(home.path(), {"--wallet", wallet_file.string(), "balance"}, passphrase, node.url());
  CHECK(shown.status.exited_with(0));
  CHECK(shown.out.find("Balance:    25 points\n") != std::string::npos);

  const RunResult valid = redeem("1", "5");
  INFO(valid.out << valid.err);
  CHECK(valid.status.exited_with(0));
  CHECK(valid.out.find("Committed in block") != std::string::npos);
  CHECK(balance() == 20);

  // history shows the redemption with its reward, which history entries themselves lack.
  const RunResult history = wallet(home.path(), {"--wallet", wallet_file.string(), "history"}, passphrase, node.url());
  INFO(history.out << history.err);
  CHECK(history.status.exited_with(0));
  const std::size_t redeemed_line = history.out.find("redeemed");
  REQUIRE(redeemed_line != std::string::npos);
  CHECK(history.out.substr(redeemed_line, history.out.find('\n', redeemed_line) - redeemed_line)
            .ends_with("  for \"Free coffee\""));
  CHECK(node.stop().exited_with(0));
}
