// pointchain-wallet driven as a customer drives it, through its failures: each one exits with
// the code wallet-cli/exit_codes.hpp documents, prints one line on stderr that says what went
// wrong, and leaves the wallet file and the account as they were.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "crypto/bytes.hpp"
#include "crypto/keys.hpp"
#include "ledger/errors.hpp"
#include "ledger/transaction.hpp"
#include "tests/e2e_support.hpp"
#include "tests/fake_node.hpp"
#include "tests/fixtures.hpp"
#include "wallet-cli/exit_codes.hpp"

namespace {

namespace fs = std::filesystem;
using namespace pc::test::e2e;
using pc::test::FakeAnswer;
using pc::test::FakeNode;
using pc::test::TempDir;
using nlohmann::json;
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

TEST_CASE("wallet: export then import gives the same address, neither overwrites a file", "[e2e][wallet]") {
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
          "node's reason, neither changes the account",
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

namespace {

constexpr char zero_tx_id[] = "0000000000000000000000000000000000000000000000000000000000000000";
const std::string hash_hex(64, 'a');
constexpr std::uint64_t tip_time_ms = 1'795'615'335'265;

// What a node could truthfully answer for an account with 30 points, 5 of them pending.
json honest_result(const json& request) {
  const std::string method = request.value("method", "");
  if (method == "chain_info") {
    return {{"chain_id", "fake-chain"}, {"coalition_name", "Fake Coalition"}, {"height", 5},
            {"block_hash", hash_hex}, {"state_hash", hash_hex}, {"time_ms", tip_time_ms},
            {"pending_count", 0}, {"partner", 1}, {"supply", json::object()}};
  }
  if (method == "get_account") {
    const json lot = {{"partner", 1}, {"issuance", {{"height", 1}, {"index", 0}}}, {"points", 25},
                      {"earned_at_ms", tip_time_ms - 1000}, {"spendable_at_ms", tip_time_ms - 1000},
                      {"expires_at_ms", nullptr}};
    json pending_lot = lot;
    pending_lot["points"] = 5;
    pending_lot["spendable_at_ms"] = tip_time_ms + 86'400'000;
    pending_lot["expires_at_ms"] = tip_time_ms + 10 * 86'400'000ull;
    return {{"address", request["params"]["address"]}, {"exists", true}, {"balance", 30}, {"spendable", 25},
            {"pending", 5}, {"sequence", 0}, {"next_sequence", 1}, {"expiring_within_30_days", 5},
            {"lots", {lot, pending_lot}},
            {"history", {{{"height", 2}, {"position", 0}, {"index", 0}, {"kind", "earned"}, {"partner", 1},
                          {"points", 5}, {"tx_id", hash_hex}},
                         {{"height", 1}, {"position", 0}, {"index", 4294967295u}, {"kind", "expired"},
                          {"partner", 1}, {"points", 1}, {"tx_id", nullptr}}}},
            {"history_next", nullptr}};
  }
  if (method == "get_partners") {
    return json::array({{{"id", 1}, {"name", "Fake Partner"}, {"issuer_key", hash_hex}, {"validator_key", hash_hex},
                         {"voting_power", 1}}});
  }
  if (method == "get_transaction") {
    return {{"status", "committed"}, {"transaction", json::object()}, {"hex", "00"}, {"height", 5}, {"index", 0},
            {"block_hash", hash_hex},
            {"proof", {{"index", 0}, {"count", 1}, {"path", json::array()}, {"merkle_root", hash_hex}}}};
  }
  if (method == "get_block") return {{"height", 5}, {"hex", "00"}};
  if (method == "submit_transaction") {
    const auto bytes = pc::from_hex(request["params"]["hex"].get<std::string>());
    const auto tx = pc::ledger::Transaction::decode(*bytes);
    return {{"id", pc::to_hex(tx->id())}};
  }
  return nullptr;
}

// A node that answers honestly except for one lie: `field` (a JSON pointer into the result
// of `method`) set to `value`, or removed when `value` is discarded.
FakeNode::Responder lying(const std::string& method, const std::string& field, const json& value) {
  return [=](const json& request) {
    json result = honest_result(request);
    if (request.value("method", "") == method) {
      const json::json_pointer pointer(field);
      if (value.is_discarded()) {
        result[pointer.parent_pointer()].erase(pointer.back());
      } else {
        result[pointer] = value;
      }
    }
    return pc::test::json_answer({{"jsonrpc", "2.0"}, {"id", request.value("id", json())}, {"result", result}});
  };
}

const json removed = json(json::value_t::discarded);

}  // namespace

TEST_CASE("wallet: a node's answer over 4 MiB is refused with exit 3 before it is read whole, however it is framed",
          "[e2e][wallet][node_answers]") {
  // Proves the 4 MiB cap on a node's answer holds for a Content-Length answer (64 MiB, and
  // a 100 MiB header), a chunked one and one that runs to the end of the stream: exit 3 with
  // the size message, and the wallet's peak memory stays far below the answer's size. Before
  // the fix a Content-Length answer whose header came with the start of its body was read
  // whole (about 330 MB of memory for 64 MiB).
  const std::string mebibyte(1024 * 1024, ' ');
  const std::string chunk = "100000\r\n" + mebibyte + "\r\n";
  struct Framing {
    std::string name;
    FakeAnswer answer;
  };
  const std::vector<Framing> framings{
      {"Content-Length 64 MiB", {"HTTP/1.1 200 OK\r\nContent-Length: 67108864\r\n\r\n" + mebibyte, mebibyte, 63, ""}},
      {"Content-Length 100 MiB", {"HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\n" + mebibyte, mebibyte, 99, ""}},
      {"chunked 64 MiB", {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk, chunk, 63, "0\r\n\r\n"}},
      {"to the end of the stream", {"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + mebibyte, mebibyte, 63, ""}},
  };
  // Reading a 64 MiB answer whole needs several times that. The bound is over the same
  // wallet's peak refusing a small answer in this run, so a sanitizer's own memory (about
  // 100 MiB under AddressSanitizer) cancels out.
  constexpr long peak_rss_over_baseline_kib_max = 32 * 1024;
  TempDir home;
  FakeNode small_node([&](const json&) { return FakeAnswer{"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", "", 0, ""}; });
  const RunResult baseline = wallet(home.path(), {"--node", small_node.url(), "verify-tx", zero_tx_id}, passphrase);
  REQUIRE(baseline.status.peak_rss_kib > 0);
  const long peak_rss_kib_max = baseline.status.peak_rss_kib + peak_rss_over_baseline_kib_max;
  for (const Framing& framing : framings) {
    FakeNode node([&](const json&) { return framing.answer; });
    const RunResult result = wallet(home.path(), {"--node", node.url(), "verify-tx", zero_tx_id}, passphrase);
    INFO(framing.name << ": peak RSS " << result.status.peak_rss_kib << " KiB, baseline " << baseline.status.peak_rss_kib);
    check_failure(result, Exit::node_unreachable, "the node's answer is larger than 4194304 bytes");
    CHECK(result.status.peak_rss_kib > 0);
    CHECK(result.status.peak_rss_kib < peak_rss_kib_max);
  }
}

TEST_CASE("wallet: balance and history print what an honest node answers, and exit 3 on any lie in it, "
          "printing nothing",
          "[e2e][wallet][node_answers]") {
  // Proves every field balance and history read is checked for type and range: against a
  // fake node they succeed with honest answers, and one lie anywhere (negative, fractional,
  // string-typed, missing, past 2^64, wrong hex length, wrong type inside an array,
  // inconsistent totals) is exit 3 naming the field, with nothing on stdout. Before the fix
  // "balance": -1 printed 18446744073709551615 points and exit 0, and 12.75 printed 12.
  TempDir home;
  const fs::path wallet_file = home.path() / "alice.key";
  create_wallet(home.path(), wallet_file);
  const auto run_command = [&](const FakeNode& node, const std::string& command) {
    return wallet(home.path(), {"--wallet", wallet_file.string(), "--node", node.url(), command});
  };
  {
    FakeNode honest(lying("none", "/x", 0));
    const RunResult balance = run_command(honest, "balance");
    INFO(balance.err);
    CHECK(balance.status.exited_with(0));
    CHECK(balance.out.find("Balance:    30 points") != std::string::npos);
    CHECK(balance.out.find("Pending:    5 points") != std::string::npos);
    const RunResult history = run_command(honest, "history");
    INFO(history.err);
    CHECK(history.status.exited_with(0));
    CHECK(history.out.find("(expiry)") != std::string::npos);
  }

  struct Lie {
    std::string command, method, field;
    json value;
    std::string names;  // what the message must name
  };
  const std::vector<Lie> lies{
      {"balance", "get_account", "/balance", -1, "get_account.balance"},
      {"balance", "get_account", "/balance", 12.75, "get_account.balance"},
      {"balance", "get_account", "/balance", "30", "get_account.balance"},
      {"balance", "get_account", "/balance", removed, "get_account.balance is missing"},
      {"balance", "get_account", "/balance", json::parse("18446744073709551616"), "get_account.balance"},
      {"balance", "get_account", "/spendable", 31, "get_account has pending 5 and spendable 31"},
      {"balance", "get_account", "/exists", "yes", "get_account.exists"},
      {"balance", "get_account", "/lots", json::object(), "get_account.lots"},
      {"balance", "get_account", "/lots/1/points", "5", "get_account.lots[1].points"},
      {"balance", "get_account", "/lots/1/expires_at_ms", -1, "get_account.lots[1].expires_at_ms"},
      {"balance", "get_account", "/lots/0/partner", 70000, "get_account.lots[0].partner"},
      {"balance", "chain_info", "/time_ms", json::parse("1e300"), "chain_info.time_ms"},
      {"balance", "get_partners", "/0/name", 7, "get_partners[0].name"},
      {"history", "get_account", "/history/0/tx_id", "abcd", "get_account.history[0].tx_id"},
      {"history", "get_account", "/history/0/kind", "stolen", "get_account.history[0].kind"},
      {"history", "get_account", "/history/1/points", -3, "get_account.history[1].points"},
      {"history", "get_partners", "/0/id", -1, "get_partners[0].id"},
  };
  for (const Lie& lie : lies) {
    FakeNode node(lying(lie.method, lie.field, lie.value));
    INFO(lie.command << " with " << lie.method << lie.field << " = " << lie.value.dump());
    check_failure(run_command(node, lie.command), Exit::node_unreachable,
                  "not what docs/rpc.md describes: " + lie.names);
  }
}

TEST_CASE("wallet: redeem and transfer sign nothing and submit nothing when the node lies about the account or chain",
          "[e2e][wallet][node_answers]") {
  // Proves the answers a spend is built from are checked before anything is signed: with
  // honest answers redeem submits, and with a lie in get_account or chain_info (negative,
  // fractional, string, missing, a height that would overflow last_valid_height, a chain id
  // of the wrong type or length) it exits 3 and the fake node is never asked to
  // submit_transaction. Before the fix "balance": -1 let redeem sign and submit.
  TempDir home;
  const fs::path wallet_file = home.path() / "alice.key";
  create_wallet(home.path(), wallet_file);
  const std::vector<std::string> redeem{"--wallet", wallet_file.string(), "redeem", "--partner", "1", "--points",
                                        "5", "--reward", "Free coffee", "--no-wait"};
  const std::vector<std::string> transfer{"--wallet", wallet_file.string(), "transfer", "--to",
                                          "pc055w3ys7pdhftkxngyz4c50bj0yza4rrbezbnfjn69bhyp1b8rdryyg0ffcg", "--points",
                                          "5", "--no-wait"};
  const auto with_node = [](std::vector<std::string> args, const FakeNode& node) {
    args.insert(args.begin(), {"--node", node.url()});
    return args;
  };
  {
    FakeNode honest(lying("none", "/x", 0));
    const RunResult result = wallet(home.path(), with_node(redeem, honest));
    INFO(result.err);
    CHECK(result.status.exited_with(0));
    CHECK(honest.methods().back() == "submit_transaction");
  }

  struct Lie {
    std::string method, field;
    json value;
    std::string names;
  };
  const std::vector<Lie> lies{
      {"get_account", "/balance", -1, "get_account.balance"},
      {"get_account", "/spendable", -1, "get_account.spendable"},
      {"get_account", "/spendable", 12.75, "get_account.spendable"},
      {"get_account", "/pending", removed, "get_account.pending is missing"},
      {"get_account", "/next_sequence", "1", "get_account.next_sequence"},
      {"get_account", "/next_sequence", 0, "get_account.next_sequence"},
      {"chain_info", "/height", json::parse("18446744073709551615"), "chain_info.height"},
      {"chain_info", "/height", -5, "chain_info.height"},
      {"chain_info", "/chain_id", 5, "chain_info.chain_id"},
      {"chain_info", "/chain_id", std::string(100, 'c'), "chain_info.chain_id"},
  };
  for (const auto& command : {redeem, transfer}) {
    for (const Lie& lie : lies) {
      FakeNode node(lying(lie.method, lie.field, lie.value));
      INFO(command[2] << " with " << lie.method << lie.field << " = " << lie.value.dump());
      check_failure(wallet(home.path(), with_node(command, node)), Exit::node_unreachable,
                    "not what docs/rpc.md describes: " + lie.names);
      const std::vector<std::string> asked = node.methods();
      CHECK(std::find(asked.begin(), asked.end(), "submit_transaction") == asked.end());
    }
  }
}

TEST_CASE("wallet: top-up signs a PrepaidTopUp numbered after the partner's last top-up, and nothing for a partner "
          "that is not prepaid",
          "[e2e][wallet][billing]") {
  // Proves docs/wallet.md, "top-up" and "public-key": against a node whose get_partners says
  // partner 2 is prepaid with top-up 1 done, the wallet submits exactly one PrepaidTopUp for
  // partner 2 of the points and invoice asked, sequence 2, on the node's chain, valid for 100
  // blocks, signed by the key public-key prints; for a post-paid partner, an unknown one or a
  // chain without billing terms it exits 6 and submits nothing; a points figure the ledger
  // would refuse (not whole blocks of 1000) is exit 1 (a usage error, so with the --help
  // hint), nothing submitted.
  TempDir home;
  const fs::path wallet_file = home.path() / "billing.key";
  create_wallet(home.path(), wallet_file);
  const RunResult printed = wallet(home.path(), {"--wallet", wallet_file.string(), "public-key"});
  REQUIRE(printed.status.exited_with(0));
  const auto public_key = pc::fixed_from_hex<32>(printed.out.substr(0, printed.out.size() - 1));
  REQUIRE(public_key.has_value());
  CHECK(printed.out == pc::to_hex(*public_key) + "\n");

  const json postpaid = {{"plan", "postpaid"}, {"price_per_1000_points_minor", 25}, {"prepaid", nullptr}};
  const json prepaid = {{"plan", "prepaid"}, {"price_per_1000_points_minor", 20},
                        {"prepaid", {{"balance_points", 1380}, {"topped_up_points", 1000}, {"top_up_sequence", 1}}}};
  json partners = honest_result({{"method", "get_partners"}});
  partners.push_back(partners[0]);
  partners[1]["id"] = 2;
  partners[1]["name"] = "Summit Fuel";
  const auto node_with = [](json listed, std::vector<std::string>* submitted) {
    return [listed, submitted](const json& request) {
      json result = honest_result(request);
      if (request.value("method", "") == "get_partners") result = listed;
      if (request.value("method", "") == "submit_transaction" && submitted != nullptr) {
        submitted->push_back(request["params"]["hex"].get<std::string>());
      }
      return pc::test::json_answer({{"jsonrpc", "2.0"}, {"id", request.value("id", json())}, {"result", result}});
    };
  };
  const auto top_up = [&](const FakeNode& node, const std::string& partner, const std::string& points) {
    return wallet(home.path(), {"--node", node.url(), "--wallet", wallet_file.string(), "top-up", "--partner", partner,
                                "--points", points, "--reference", "INV-2026-0042", "--no-wait"});
  };

  json billed = partners;
  billed[0]["billing"] = postpaid;
  billed[1]["billing"] = prepaid;
  {
    std::vector<std::string> submitted;
    FakeNode node(node_with(billed, &submitted));
    const RunResult result = top_up(node, "2", "5000");
    INFO(result.err);
    REQUIRE(result.status.exited_with(0));
    CHECK(result.out.find("Top-up 2 of partner 2 (Summit Fuel): 5000 points, invoice INV-2026-0042\n") !=
          std::string::npos);
    REQUIRE(submitted.size() == 1);
    const auto tx = pc::ledger::Transaction::decode(*pc::from_hex(submitted.front()));
    REQUIRE(tx.ok());
    CHECK(tx->fields().body == pc::ledger::TxBody{pc::ledger::PrepaidTopUp{2, 5000, "INV-2026-0042"}});
    CHECK(tx->fields().sequence == 2);
    CHECK(tx->fields().chain_id == "fake-chain");
    CHECK(tx->fields().last_valid_height == 105);
    CHECK(tx->signed_by_billing_key());
    CHECK(pc::crypto::verify(*public_key, tx->fields().signing_message(), tx->signature()));
  }
  struct Refusal {
    json listed;
    std::string partner, points;
    Exit exit;
    std::string names;
  };
  json unbilled = partners;
  const std::vector<Refusal> refusals{
      {billed, "1", "5000", Exit::rejected, "partner 1 (Fake Partner) is billed postpaid, not prepaid"},
      {billed, "3", "5000", Exit::rejected, "the node lists no partner 3"},
      {unbilled, "2", "5000", Exit::rejected, "this chain has no billing terms"},
  };
  for (const Refusal& refusal : refusals) {
    INFO("partner " << refusal.partner << ", " << refusal.points << " points");
    std::vector<std::string> submitted;
    FakeNode node(node_with(refusal.listed, &submitted));
    check_failure(top_up(node, refusal.partner, refusal.points), refusal.exit, refusal.names);
    CHECK(submitted.empty());
  }
  std::vector<std::string> submitted;
  FakeNode node(node_with(billed, &submitted));
  const RunResult part_of_a_block = top_up(node, "2", "1500");
  CHECK(part_of_a_block.status.exited_with(static_cast<int>(Exit::usage)));
  CHECK(part_of_a_block.err.find("the ledger would refuse this transaction: invalid_field: points must be a positive "
                                 "multiple of 1000") != std::string::npos);
  CHECK(submitted.empty());
}

TEST_CASE("wallet: verify-tx exits 3 on a malformed proof or block answer, and 9 only on a well-formed one that "
          "does not check out",
          "[e2e][wallet][node_answers]") {
  // Proves verify-tx tells an answer docs/rpc.md does not describe (exit 3: wrong hex
  // length, wrong type in the proof's path array, a count of 0, an unknown status, a missing
  // block hex) from a well-formed one whose bytes do not verify (exit 9).
  TempDir home;
  {
    FakeNode honest_shape(lying("none", "/x", 0));
    check_failure(wallet(home.path(), {"--node", honest_shape.url(), "verify-tx", zero_tx_id}),
                  Exit::verification_failed, "verification FAILED: the transaction does not decode");
  }
  struct Lie {
    std::string method, field;
    json value;
    std::string names;
  };
  const std::vector<Lie> lies{
      {"get_transaction", "/status", "done", "get_transaction.status"},
      {"get_transaction", "/block_hash", "00", "get_transaction.block_hash"},
      {"get_transaction", "/height", 1.5, "get_transaction.height"},
      {"get_transaction", "/proof/path", json::array({5}), "get_transaction.proof.path[0]"},
      {"get_transaction", "/proof/path", json::array({"abc"}), "get_transaction.proof.path[0]"},
      {"get_transaction", "/proof/count", 0, "get_transaction.proof.count"},
      {"get_transaction", "/proof/index", -1, "get_transaction.proof.index"},
      {"get_transaction", "/hex", 7, "get_transaction.hex"},
      {"get_block", "/hex", removed, "get_block.hex is missing"},
  };
  for (const Lie& lie : lies) {
    FakeNode node(lying(lie.method, lie.field, lie.value));
    INFO(lie.method << lie.field << " = " << lie.value.dump());
    check_failure(wallet(home.path(), {"--node", node.url(), "verify-tx", zero_tx_id}), Exit::node_unreachable,
                  "not what docs/rpc.md describes: " + lie.names);
  }
}

TEST_CASE("wallet: verify-tx without --genesis refuses a node that reports a partner key with a torsion component",
          "[e2e][wallet][node_answers]") {
  // Proves the check that stands in for a genesis file's load when verify-tx takes the
  // partners' keys from the node: signatures by genesis keys are verified without the key's
  // subgroup check (docs/crypto.md), so each reported issuer and validator key must pass
  // is_valid_public_key. Through a proxy that passes a live node's answers on unchanged,
  // verify-tx of a committed earn succeeds; when the proxy adds a point of order 8 to every
  // partner's validator key, or issuer key, in get_partners, it exits 9 naming that key.
  LiveNode node(LiveNodeOptions{});
  TempDir home;
  const std::string alice = create_wallet(home.path(), home.path() / "alice.key");
  const std::string tx_id = node.earn_and_commit(alice, 500, "till-1-0001").at("id").get<std::string>();

  const auto with_torsion = [](const std::string& key_hex) {
    return pc::to_hex(pc::test::with_torsion_component(pc::fixed_from_hex<32>(key_hex).value()));
  };
  // `field`: the key given a torsion component in get_partners' answer, or none.
  const auto proxy = [&](const std::string& field) {
    return [&node, &with_torsion, field](const json& request) {
      const std::string method = request.at("method").get<std::string>();
      json response = node.response(method, request.value("params", json::object()));
      if (method == "get_partners" && !field.empty()) {
        for (json& partner : response.at("result")) partner[field] = with_torsion(partner.at(field).get<std::string>());
      }
      response["id"] = request.value("id", json());
      return pc::test::json_answer(response);
    };
  };
  {
    FakeNode honest(proxy(""));
    const RunResult verified = wallet(home.path(), {"--node", honest.url(), "verify-tx", tx_id});
    INFO(verified.out << verified.err);
    CHECK(verified.status.exited_with(0));
  }
  for (const std::string which : {"validator", "issuer"}) {
    FakeNode lying_node(proxy(which + "_key"));
    check_failure(wallet(home.path(), {"--node", lying_node.url(), "verify-tx", tx_id}), Exit::verification_failed,
                  "verification FAILED: the node reports an invalid " + which + " key for partner 1");
  }
  CHECK(node.stop().exited_with(0));
}
