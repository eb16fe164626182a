// The fast path for bodies of submit_transaction requests (rpc/submit_scan.hpp): which bodies
// the scanner takes and which it leaves to the general path, and, on two nodes in the same
// state, that the dispatcher answers every body with the same status and the same bytes
// whichever path it takes.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rpc/submit_scan.hpp"
#include "tests/dispatched_node.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc;
using nlohmann::json;
using pc::test::TxFactory;

std::string submit_request(const std::string& id_json, const std::string& hex) {
  return R"({"jsonrpc":"2.0","id":)" + id_json + R"(,"method":"submit_transaction","params":{"hex":")" + hex + "\"}}";
}

using SubmittedNode = test::DispatchedNode;

rpc::DispatcherOptions options_with_scan(bool scan) {
  rpc::DispatcherOptions options;
  options.scan_submissions = scan;
  return options;
}

}  // namespace

TEST_CASE("the submit scanner takes batches of submit_transaction requests as clients write them",
          "[rpc][submit_scan]") {
  // Proves the shapes the fast path answers: one request or a batch, members in any order,
  // JSON whitespace anywhere between tokens, ids as integers, strings or null or absent
  // (a notification), and hex in either case; each id kept as the answer prints it.
  const std::string nlohmann_order = json::array({json{{"jsonrpc", "2.0"}, {"id", 7}, {"method", "submit_transaction"},
                                                       {"params", {{"hex", "00ff"}}}}})
                                         .dump();
  auto scanned = rpc::scan_submit_requests(nlohmann_order, 100);
  REQUIRE(scanned);
  CHECK(scanned->batch);
  REQUIRE(scanned->requests.size() == 1);
  CHECK(scanned->requests[0].id_json == "7");
  CHECK(scanned->requests[0].hex == "00ff");

  const std::string spaced =
      " \r\n[ {\"params\" : { \"hex\" :\"AbCd\" } ,\t\"method\":\"submit_transaction\", \"jsonrpc\" : \"2.0\" , "
      "\"id\" : \"order 1\" } ,\n" +
      submit_request("-42", "") + "," + submit_request("null", "01") + "," +
      R"({"jsonrpc":"2.0","method":"submit_transaction","params":{"hex":"02"}})" + "," +
      submit_request("0", "03") + "," + submit_request("123456789012345678", "04") + " ]\n";
  scanned = rpc::scan_submit_requests(spaced, 100);
  REQUIRE(scanned);
  CHECK(scanned->batch);
  REQUIRE(scanned->requests.size() == 6);
  CHECK(scanned->requests[0].id_json == "\"order 1\"");
  CHECK(scanned->requests[0].hex == "AbCd");
  CHECK(scanned->requests[1].id_json == "-42");
  CHECK(scanned->requests[1].hex.empty());
  CHECK(scanned->requests[2].id_json == "null");
  CHECK(scanned->requests[3].id_json.empty());
  CHECK(scanned->requests[4].id_json == "0");
  CHECK(scanned->requests[5].id_json == "123456789012345678");

  scanned = rpc::scan_submit_requests(submit_request("1", "aa"), 100);
  REQUIRE(scanned);
  CHECK_FALSE(scanned->batch);
  REQUIRE(scanned->requests.size() == 1);

  std::string full = "[";
  for (int i = 0; i < 100; ++i) full += (i > 0 ? "," : "") + submit_request(std::to_string(i), "aa");
  scanned = rpc::scan_submit_requests(full + "]", 100);
  REQUIRE(scanned);
  CHECK(scanned->requests.size() == 100);
}

TEST_CASE("the submit scanner leaves every other body to the general path", "[rpc][submit_scan]") {
  // Proves that whatever needs the general path's judgement (errors, escapes, other methods,
  // limits, ids it prints differently) is not taken: each of these bodies scans to nullopt.
  const std::string good = submit_request("1", "aa");
  std::string over_limit = "[";
  for (int i = 0; i < 101; ++i) over_limit += (i > 0 ? "," : "") + good;
  over_limit += "]";
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"empty body", ""},
      {"empty batch", "[]"},
      {"batch over the limit", over_limit},
      {"not JSON", "{"},
      {"trailing garbage", good + "x"},
      {"two values", good + good},
      {"trailing comma", "[" + good + ",]"},
      {"unclosed batch", "[" + good},
      {"nested batch", "[[" + good + "]]"},
      {"byte order mark", "\xEF\xBB\xBF" + good},
      {"another method", R"({"jsonrpc":"2.0","id":1,"method":"get_account","params":{"hex":"aa"}})"},
      {"a batch with another method",
       "[" + good + R"(,{"jsonrpc":"2.0","id":2,"method":"chain_info"}])"},
      {"escaped member name", R"({"jsonrpc":"2.0","\u0069d":1,"method":"submit_transaction","params":{"hex":"aa"}})"},
      {"escaped method", R"({"jsonrpc":"2.0","id":1,"method":"submit\u005ftransaction","params":{"hex":"aa"}})"},
      {"escaped string id", R"({"jsonrpc":"2.0","id":"a\"b","method":"submit_transaction","params":{"hex":"aa"}})"},
      {"non-ASCII string id", "{\"jsonrpc\":\"2.0\",\"id\":\"caf\xC3\xA9\",\"method\":\"submit_transaction\",\"params\":{\"hex\":\"aa\"}}"},
      {"control character in an id", "{\"jsonrpc\":\"2.0\",\"id\":\"a\tb\",\"method\":\"submit_transaction\",\"params\":{\"hex\":\"aa\"}}"},
      {"duplicate id", R"({"jsonrpc":"2.0","id":1,"id":2,"method":"submit_transaction","params":{"hex":"aa"}})"},
      {"duplicate params", R"({"jsonrpc":"2.0","id":1,"method":"submit_transaction","params":{"hex":"aa"},"params":{"hex":"bb"}})"},
      {"unknown member", R"({"jsonrpc":"2.0","id":1,"method":"submit_transaction","params":{"hex":"aa"},"x":1})"},
      {"missing jsonrpc", R"({"id":1,"method":"submit_transaction","params":{"hex":"aa"}})"},
      {"wrong jsonrpc", R"({"jsonrpc":"2.1","id":1,"method":"submit_transaction","params":{"hex":"aa"}})"},
      {"missing params", R"({"jsonrpc":"2.0","id":1,"method":"submit_transaction"})"},
      {"params as an array", R"({"jsonrpc":"2.0","id":1,"method":"submit_transaction","params":["aa"]})"},
      {"params with another field", R"({"jsonrpc":"2.0","id":1,"method":"submit_transaction","params":{"hex":"aa","x":1}})"},
      {"params with a repeated hex", R"({"jsonrpc":"2.0","id":1,"method":"submit_transaction","params":{"hex":"aa","hex":"bb"}})"},
      {"empty params", R"({"jsonrpc":"2.0","id":1,"method":"submit_transaction","params":{}})"},
      {"hex not a string", R"({"jsonrpc":"2.0","id":1,"method":"submit_transaction","params":{"hex":12}})"},
      {"hex null", R"({"jsonrpc":"2.0","id":1,"method":"submit_transaction","params":{"hex":null}})"},
      {"non-hex characters", submit_request("1", "zz")},
      {"an escape in the hex", submit_request("1", "a\\u0061")},
      {"float id", submit_request("1.0", "aa")},
      {"exponent id", submit_request("1e3", "aa")},
      {"minus zero id", submit_request("-0", "aa")},
      {"leading zero id", submit_request("01", "aa")},
      {"19-digit id", submit_request("1234567890123456789", "aa")},
      {"boolean id", submit_request("true", "aa")},
      {"object id", submit_request("{}", "aa")},
      {"a lone minus as id", submit_request("-", "aa")},
      {"not an object", "[1]"},
      {"a string", "\"submit_transaction\""},
  };
  for (const auto& [name, body] : refused) {
    INFO(name);
    CHECK_FALSE(rpc::scan_submit_requests(body, 100));
  }
}

TEST_CASE("a body of submit_transaction requests gets the same bytes from the fast path and the general path",
          "[rpc][submit_scan]") {
  // Proves, on two nodes in the same state (one answering with the scanner, one without),
  // that every body gets the same HTTP status and the same answer text: accepted batches with
  // every kind of id, repeats of pending transactions, a forged signature, bytes that are no
  // transaction, notifications, a lone request in and out of a batch, and the bodies the
  // scanner leaves to the general path (a bad hex in a run, another method in the batch, too
  // large a batch) all alike, so that each pair of nodes stays in the same state.
  SubmittedNode fast(options_with_scan(true));
  SubmittedNode general(options_with_scan(false));
  TxFactory txs;
  std::vector<ledger::Transaction> issues;
  std::vector<ledger::Transaction> redeems;
  constexpr int customers = 12;
  for (int n = 1; n <= customers; ++n) {
    issues.push_back(txs.issue(2, TxFactory::customer(n).public_key(), 100, "order-" + std::to_string(n)));
    redeems.push_back(txs.redeem(TxFactory::customer(n), 3, 10, "mug"));
  }
  fast.submit_all(issues);
  general.submit_all(issues);
  fast.produce();
  general.produce();

  const auto hex_of = [&](int n) { return to_hex(redeems[static_cast<std::size_t>(n)].bytes()); };
  crypto::Signature flipped = redeems[5].signature();
  flipped[0] = static_cast<std::uint8_t>(flipped[0] ^ 0x01U);
  const std::string forged = to_hex(ledger::Transaction::with_signature(redeems[5].fields(), flipped).bytes());
  const std::string notification =
      R"({"jsonrpc":"2.0","method":"submit_transaction","params":{"hex":")" + hex_of(4) + "\"}}";

  const std::vector<std::pair<std::string, std::string>> bodies = {
      {"a batch of two, integer and string ids",
       "[" + submit_request("1", hex_of(0)) + "," + submit_request("\"two\"", hex_of(1)) + "]"},
      {"the same again: repeats of pending transactions",
       "[" + submit_request("1", hex_of(0)) + "," + submit_request("\"two\"", hex_of(1)) + "]"},
      {"a forged signature and bytes that are no transaction, with null and negative ids",
       "[" + submit_request("null", forged) + "," + submit_request("-7", "00ff") + "," +
           submit_request("3", hex_of(2)) + "," + submit_request("4", "") + "]"},
      {"a lone request", submit_request("9", hex_of(3))},
      {"a lone request in a batch", "[" + submit_request("10", hex_of(5)) + "]"},
      {"a lone notification", notification},
      {"a batch of notifications only", "[" + notification + "," + notification + "]"},
      {"a lone request refused", submit_request("\"x\"", "00")},
      {"an odd-length hex in a run", "[" + submit_request("11", hex_of(6)) + "," + submit_request("12", "abc") + "," +
                                          submit_request("13", hex_of(7)) + "]"},
      {"another method in the batch",
       "[" + submit_request("14", hex_of(8)) + "," + R"({"jsonrpc":"2.0","id":15,"method":"chain_info"})" + "," +
           submit_request("16", hex_of(9)) + "," + submit_request("17", hex_of(9)) + "]"},
      {"an id the scanner leaves alone", "[" + submit_request("1.5", hex_of(10)) + "," +
                                             submit_request("\"caf\xC3\xA9\"", hex_of(10)) + "]"},
      {"upper-case hex and spaces", " [ " + submit_request("18", "00FF") + " , " + submit_request("19", hex_of(11)) + " ] "},
      {"an empty batch", "[]"},
      {"not JSON", "[{"},
  };
  for (const auto& [name, body] : bodies) {
    INFO(name);
    const rpc::Reply from_fast = fast.handle(body);
    const rpc::Reply from_general = general.handle(body);
    CHECK(from_fast.status == from_general.status);
    CHECK(from_fast.body == from_general.body);
    if (&body == &bodies.front().second) {
      // The comparison is of real answers: the first batch was accepted.
      CHECK(from_fast.body == R"([{"id":1,"jsonrpc":"2.0","result":{"id":")" + to_hex(redeems[0].id()) +
                                  R"("}},{"id":"two","jsonrpc":"2.0","result":{"id":")" + to_hex(redeems[1].id()) +
                                  R"("}}])");
    }
  }
  std::string over_limit = "[";
  for (int i = 0; i < 101; ++i) over_limit += (i > 0 ? "," : "") + submit_request(std::to_string(i), hex_of(0));
  over_limit += "]";
  CHECK(fast.handle(over_limit).body == general.handle(over_limit).body);

  // Both committed the same transactions: the blocks after them are the same.
  fast.produce();
  general.produce();
  const std::string block = R"({"jsonrpc":"2.0","id":1,"method":"get_block","params":{"height":2}})";
  const rpc::Reply fast_block = fast.handle(block);
  REQUIRE(fast_block.status == 200);
  CHECK(fast_block.body.find("\"error\"") == std::string::npos);
  CHECK(fast_block.body == general.handle(block).body);
}

TEST_CASE("the fast path charges the rate limit as the general path does", "[rpc][submit_scan]") {
  // Proves that a batch costs one token per request on the fast path too, that a body over
  // the limit gets the same 429 answer, and that a body the fast path leaves to the general
  // path is charged once, not twice.
  const auto limited = [](bool scan) {
    rpc::DispatcherOptions options = options_with_scan(scan);
    options.rate_limit = rpc::RateLimit{1, 3};
    options.now_ms = [] { return std::uint64_t{0}; };
    return options;
  };
  SubmittedNode fast(limited(true));
  SubmittedNode general(limited(false));
  const std::string pair = "[" + submit_request("1", "00") + "," + submit_request("2", "01") + "]";
  const std::string odd = "[" + submit_request("3", "0") + "]";
  for (const std::string& body : {odd, pair, pair, odd}) {
    const rpc::Reply from_fast = fast.handle(body);
    const rpc::Reply from_general = general.handle(body);
    CHECK(from_fast.status == from_general.status);
    CHECK(from_fast.body == from_general.body);
  }
  // 1 + 2 tokens of 3, then over the limit.
  CHECK(fast.handle(odd).status == 429);
}
