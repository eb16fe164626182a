// The real pointchain-node, started on a free loopback port in a temporary data dir and driven
// over JSON-RPC and WebSocket the way a partner's systems and a customer's wallet drive it:
// every bad request gets its documented error code and changes nothing, earn and return are
// idempotent, subscribers hear of blocks and events, a node killed mid-stream keeps every
// transaction it reported committed, and the RPC limits hold. Every node started here is
// audited by `pointchain-node audit` after it stops.
#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "crypto/address.hpp"
#include "ledger/errors.hpp"
#include "ledger/transaction.hpp"
#include "node/audit_command.hpp"
#include "node/node.hpp"
#include "rpc/errors.hpp"
#include "rpc/limits.hpp"
#include "tests/e2e_support.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc::test::e2e;
using nlohmann::json;
namespace error_code = pc::rpc::error_code;
using pc::ledger::Code;

constexpr char test_chain_id[] = "e2e-rpc";
constexpr char test_currency[] = "EUR";  // 1 point per euro in init's default node.json
constexpr Milliseconds commit_timeout = 20s;
constexpr Milliseconds websocket_timeout = 15s;

std::int32_t application_code(Code code) {
  return error_code::application_base + static_cast<std::int32_t>(code);
}

pc::crypto::SecretKey customer_key(int n) { return pc::test::seeded_key("e2e rpc customer " + std::to_string(n)); }
std::string customer_address(int n) { return pc::crypto::encode_address(customer_key(n).public_key()); }

json purchase(int customer, std::int64_t amount_minor, const std::string& order_id) {
  return json{{"customer", customer_address(customer)},
              {"amount_minor", amount_minor},
              {"currency", test_currency},
              {"order_id", order_id}};
}

// A node on a chain of its own id, with `config` (node.json fields) on top of init's.
LiveNodeOptions rpc_node_options(json config = json::object()) {
  LiveNodeOptions options;
  options.chain_id = test_chain_id;
  options.config = std::move(config);
  return options;
}

// Stops the node with SIGTERM (it must exit 0) and audits the data dir (it must pass).
void stop_cleanly_and_audit(LiveNode& node) {
  const ExitStatus status = node.stop();
  INFO(node.output());
  CHECK(status.describe() == "exit code 0");
  const RunResult audit = node.audit();
  INFO(audit.out);
  REQUIRE_FALSE(audit.timed_out);
  CHECK(audit.status.describe() == "exit code " + std::to_string(pc::node::audit_exit_ok));
  CHECK(audit.out.rfind("audit: OK", 0) == 0);
}

json result_of(const json& response) {
  INFO(response.dump());
  REQUIRE(response.contains("result"));
  return response.at("result");
}

std::int32_t error_code_of(const json& response) {
  INFO(response.dump());
  REQUIRE(response.contains("error"));
  REQUIRE(response.at("error").at("message").is_string());
  CHECK_FALSE(response.at("error").at("message").get<std::string>().empty());
  return response.at("error").at("code").get<std::int32_t>();
}

// Polls chain_info until nothing is pending; that chain_info.
json wait_until_nothing_pending(const LiveNode& node) {
  const Deadline deadline(commit_timeout);
  for (;;) {
    const json info = result_of(node.response("chain_info"));
    if (info.at("pending_count") == 0) return info;
    REQUIRE_FALSE(deadline.passed());
    std::this_thread::sleep_for(5ms);
  }
}

json account_of(const LiveNode& node, int customer) {
  return result_of(node.response("get_account", {{"address", customer_address(customer)}}));
}

std::string transaction_hex(const pc::ledger::Transaction& tx) { return pc::to_hex(tx.bytes()); }

// Everything a client can see of the chain: the tip, the supply, the pending count, the
// partners' counters, and the named accounts with their history.
json observable_state(const LiveNode& node, const std::vector<int>& customers) {
  json state = {{"chain_info", result_of(node.response("chain_info"))},
                {"partners", result_of(node.response("get_partners"))},
                {"accounts", json::array()}};
  for (int customer : customers) state["accounts"].push_back(account_of(node, customer));
  return state;
}

struct BadRequest {
  std::string what;
  std::string body;
  std::string authorization;
  std::int32_t code;
  json id;  // the id the error response must carry (null when the request could not be read)
};

std::string request_text(const std::string& method, const json& params, const json& id = 7) {
  return rpc_request(method, params, id).dump();
}

}  // namespace

TEST_CASE("bad RPC requests get their documented error codes and leave the chain unchanged", "[e2e][rpc]") {
  // Proves, against the running binary, that each way a request can be wrong (unreadable JSON,
  // a bad request object, an unknown method, bad params, a body or batch over its limit, a
  // missing or wrong API token, a replayed, forged or foreign-chain transaction) gets its
  // documented code, and that none of them changes the tip, the supply, the partners'
  // counters, an account or the mempool. The honest twin of the forged transaction commits
  // afterwards as the only transaction of the next block, so nothing refused slipped in late.
  LiveNode node(rpc_node_options());
  const std::string bearer = node.bearer();

  // Customer 1 earns 1000 points and transfers 40 to customer 2: a committed transaction to replay.
  node.earn_and_commit(customer_address(1), 100'000, "fund-1");
  const std::uint64_t tip_height = result_of(node.response("chain_info")).at("height").get<std::uint64_t>();
  pc::test::TxFactory customer_txs(test_chain_id);
  customer_txs.last_valid_height = tip_height + 500;
  const pc::ledger::Transaction transfer = customer_txs.transfer(customer_key(1), customer_key(2).public_key(), 40);
  const json submitted = result_of(node.response("submit_transaction", {{"hex", transaction_hex(transfer)}}));
  CHECK(submitted.at("id") == pc::to_hex(transfer.id()));
  node.wait_until_committed(pc::to_hex(transfer.id()));

  // The next transfer (sequence 2), honest and forged: one bit of its signature flipped.
  const pc::ledger::Transaction honest = customer_txs.transfer(customer_key(1), customer_key(2).public_key(), 10);
  pc::crypto::Signature flipped = honest.signature();
  flipped[0] = static_cast<std::uint8_t>(flipped[0] ^ 0x01U);
  const pc::ledger::Transaction forged = pc::ledger::Transaction::with_signature(honest.fields(), flipped);
  // The same transfer, validly signed, for another chain.
  pc::test::TxFactory foreign_txs("another-chain");
  foreign_txs.last_valid_height = customer_txs.last_valid_height;
  foreign_txs.next_sequence[customer_key(1).public_key()] = 1;
  const pc::ledger::Transaction foreign = foreign_txs.transfer(customer_key(1), customer_key(2).public_key(), 10);

  const std::vector<int> customers = {1, 2, 3};
  const json before = observable_state(node, customers);
  REQUIRE(before.at("chain_info").at("pending_count") == 0);
  REQUIRE(before.at("accounts")[0].at("balance") == 960);
  REQUIRE(before.at("accounts")[1].at("balance") == 40);

  json oversized_batch = json::array();
  for (std::size_t i = 0; i <= pc::rpc::batch_count_max; ++i) {
    oversized_batch.push_back(rpc_request("earn", purchase(3, 1'000, "batch-" + std::to_string(i)),
                                          static_cast<std::uint64_t>(i)));
  }
  json oversized_purchases = json::array();
  for (std::size_t i = 0; i <= pc::rpc::earn_batch_count_max; ++i) {
    oversized_purchases.push_back(purchase(3, 1'000, "earn-batch-" + std::to_string(i)));
  }
  const json null_id = nullptr;

  const std::vector<BadRequest> bad_requests = {
      {"malformed JSON", R"({"jsonrpc":"2.0","id":7,"method":"chain_info")", "", error_code::parse_error, null_id},
      {"a request that is not an object", "42", "", error_code::invalid_request, null_id},
      {"jsonrpc 1.0", R"({"jsonrpc":"1.0","id":7,"method":"chain_info"})", "", error_code::invalid_request, 7},
      {"params neither object nor array", R"({"jsonrpc":"2.0","id":7,"method":"chain_info","params":3})", "",
       error_code::invalid_request, 7},
      {"an empty batch", "[]", "", error_code::invalid_request, null_id},
      {"an unknown method", request_text("mint_points", {{"points", 1'000'000}}), bearer,
       error_code::method_not_found, 7},
      {"subscribe over HTTP", request_text("subscribe", {{"blocks", true}}), "", error_code::method_not_found, 7},
      {"get_block with a string height", request_text("get_block", {{"height", "1"}}), "",
       error_code::invalid_params, 7},
      {"get_account with a number for the address", request_text("get_account", {{"address", 42}}), "",
       error_code::invalid_params, 7},
      {"get_transaction without its id", request_text("get_transaction", json::object()), "",
       error_code::invalid_params, 7},
      {"earn without order_id",
       request_text("earn", {{"customer", customer_address(3)}, {"amount_minor", 1'000}, {"currency", "EUR"}}), bearer,
       error_code::invalid_params, 7},
      {"earn with the amount as a string",
       request_text("earn", {{"customer", customer_address(3)},
                             {"amount_minor", "1000"},
                             {"currency", "EUR"},
                             {"order_id", "typed"}}),
       bearer, error_code::invalid_params, 7},
      {"earn with a negative amount", request_text("earn", purchase(3, -1'000, "negative")), bearer,
       error_code::invalid_params, 7},
      {"earn with an unknown field",
       request_text("earn", [] {
         json params = purchase(3, 1'000, "extra");
         params["points"] = 5;
         return params;
       }()),
       bearer, error_code::invalid_params, 7},
      {"earn with a bad address",
       request_text("earn", {{"customer", "pcnotanaddress"}, {"amount_minor", 1'000}, {"currency", "EUR"}, {"order_id", "addr"}}),
       bearer, error_code::invalid_params, 7},
      {"earn in a currency without an earn rate",
       request_text("earn", {{"customer", customer_address(3)}, {"amount_minor", 1'000}, {"currency", "XXX"}, {"order_id", "xxx"}}),
       bearer, application_code(Code::invalid_field), 7},
      {"earn without an API token", request_text("earn", purchase(3, 1'000, "no-token")), "",
       error_code::unauthorized, 7},
      {"earn with a wrong API token", request_text("earn", purchase(3, 1'000, "wrong-token")),
       "Bearer " + std::string(node.api_token().size(), 'f'), error_code::unauthorized, 7},
      {"earn with the token under another scheme", request_text("earn", purchase(3, 1'000, "basic")),
       "Basic " + node.api_token(), error_code::unauthorized, 7},
      {"earn with a prefix of the token", request_text("earn", purchase(3, 1'000, "prefix")),
       "Bearer " + node.api_token().substr(0, node.api_token().size() - 1), error_code::unauthorized, 7},
      {"return without an API token", request_text("return", {{"order_id", "fund-1"}}), "",
       error_code::unauthorized, 7},
      {"return with a wrong API token", request_text("return", {{"order_id", "fund-1"}}), "Bearer wrong-token-0123456789",
       error_code::unauthorized, 7},
      {"bonus without an API token",
       request_text("bonus", {{"customer", customer_address(3)}, {"points", 500}, {"reason", "referral"}, {"reference", "b-0"}}),
       "", error_code::unauthorized, 7},
      {"bonus with a wrong API token",
       request_text("bonus", {{"customer", customer_address(3)}, {"points", 500}, {"reason", "referral"}, {"reference", "b-1"}}),
       "Bearer wrong-token-0123456789", error_code::unauthorized, 7},
      {"a batch over the limit", oversized_batch.dump(), bearer, error_code::batch_too_large, null_id},
      {"earn_batch over the limit", request_text("earn_batch", {{"purchases", oversized_purchases}}), bearer,
       error_code::batch_too_large, 7},
      {"submit_transaction with non-hex", request_text("submit_transaction", {{"hex", "zz"}}), "",
       error_code::invalid_params, 7},
      {"a replayed transaction (already committed)", request_text("submit_transaction", {{"hex", transaction_hex(transfer)}}),
       "", application_code(Code::sequence_too_low), 7},
      {"a forged transaction (one signature bit flipped)",
       request_text("submit_transaction", {{"hex", transaction_hex(forged)}}), "", application_code(Code::bad_signature), 7},
      {"a transaction for another chain", request_text("submit_transaction", {{"hex", transaction_hex(foreign)}}), "",
       application_code(Code::wrong_chain_id), 7},
  };

  for (const BadRequest& bad : bad_requests) {
    INFO(bad.what);
    const HttpResponse reply = node.post(bad.body, bad.authorization);
    INFO("HTTP " << reply.status << ": " << reply.body.substr(0, 500));
    CHECK(reply.status == 200);
    REQUIRE(json::accept(reply.body));
    const json response = json::parse(reply.body);
    REQUIRE(response.is_object());  // a batch refused as a whole gets one error, not an array
    CHECK(response.at("jsonrpc") == "2.0");
    CHECK(response.at("id") == bad.id);
    CHECK_FALSE(response.contains("result"));
    CHECK(error_code_of(response) == bad.code);
  }

  // Undecodable bytes get an application error of the malformed class (1100-1199).
  {
    const json response = node.response("submit_transaction", {{"hex", "00ff"}});
    const std::int32_t code = error_code_of(response);
    CHECK(code >= application_code(Code::truncated));
    CHECK(code < application_code(Code::bad_signature));
  }
  // The ledger's reason comes with the application errors.
  {
    const json replay = node.response("submit_transaction", {{"hex", transaction_hex(transfer)}});
    CHECK(replay.at("error").at("data").at("name") == "sequence_too_low");
    const json forgery = node.response("submit_transaction", {{"hex", transaction_hex(forged)}});
    CHECK(forgery.at("error").at("data").at("name") == "bad_signature");
  }

  // A body over body_bytes_max gets HTTP 413 and error 4013; one of exactly the limit is served.
  {
    const std::string request = request_text("chain_info", json::object());
    std::string at_limit = request + std::string(pc::node::RpcLimits{}.body_bytes_max - request.size(), ' ');
    const HttpResponse served = node.post(at_limit);
    CHECK(served.status == 200);
    CHECK(result_of(json::parse(served.body)).at("chain_id") == test_chain_id);

    std::string over_limit = request_text("earn", purchase(3, 1'000, "huge"));
    over_limit += std::string(pc::node::RpcLimits{}.body_bytes_max + 1 - over_limit.size(), ' ');
    const HttpResponse refused = node.post(over_limit, bearer);
    INFO(refused.body);
    CHECK(refused.status == 413);
    REQUIRE(json::accept(refused.body));
    const json response = json::parse(refused.body);
    CHECK(response.at("id") == null_id);
    CHECK(error_code_of(response) == error_code::request_too_large);
  }

  // The largest batch allowed is answered request by request.
  {
    json batch = json::array();
    for (std::size_t i = 0; i < pc::rpc::batch_count_max; ++i) {
      batch.push_back(rpc_request("chain_info", json::object(), static_cast<std::uint64_t>(i)));
    }
    const HttpResponse reply = node.post(batch.dump());
    CHECK(reply.status == 200);
    const json answers = json::parse(reply.body);
    REQUIRE(answers.is_array());
    CHECK(answers.size() == pc::rpc::batch_count_max);
  }

  const json after = observable_state(node, customers);
  CHECK(after == before);

  // The honest transfer is accepted, and it alone makes the next block.
  const json accepted = result_of(node.response("submit_transaction", {{"hex", transaction_hex(honest)}}));
  CHECK(accepted.at("id") == pc::to_hex(honest.id()));
  const json committed = node.wait_until_committed(pc::to_hex(honest.id()));
  const std::uint64_t height_before = before.at("chain_info").at("height").get<std::uint64_t>();
  CHECK(committed.at("height") == height_before + 1);
  const json block = result_of(node.response("get_block", {{"height", height_before + 1}}));
  REQUIRE(block.at("transactions").size() == 1);
  CHECK(block.at("transactions")[0].at("id") == pc::to_hex(honest.id()));
  const json settled = wait_until_nothing_pending(node);
  CHECK(settled.at("height") == height_before + 1);
  CHECK(settled.at("supply") == before.at("chain_info").at("supply"));
  CHECK(account_of(node, 1).at("balance") == 950);
  CHECK(account_of(node, 2).at("balance") == 50);
  CHECK(account_of(node, 3).at("exists") == false);

  stop_cleanly_and_audit(node);
}

TEST_CASE("a batch's consecutive submit_transaction requests are answered in order, each as if sent alone",
          "[e2e][rpc]") {
  // Proves that handing a batch's run of submit_transaction requests to the node together
  // (rpc/dispatcher.hpp, submit_run) changes no answer: each request gets its own outcome in
  // place (accepted, a repeat of a pending one, a forged signature, params that break the run,
  // a notification answered by nothing), later ones see earlier ones pending, and exactly the
  // accepted transactions commit.
  LiveNode node(rpc_node_options());
  node.earn_and_commit(customer_address(1), 100'000, "fund-1");
  const std::uint64_t tip_height = result_of(node.response("chain_info")).at("height").get<std::uint64_t>();
  pc::test::TxFactory customer_txs(test_chain_id);
  customer_txs.last_valid_height = tip_height + 500;
  const pc::ledger::Transaction first = customer_txs.transfer(customer_key(1), customer_key(2).public_key(), 10);
  const pc::ledger::Transaction second = customer_txs.transfer(customer_key(1), customer_key(2).public_key(), 20);
  pc::crypto::Signature flipped = second.signature();
  flipped[0] = static_cast<std::uint8_t>(flipped[0] ^ 0x01U);
  const pc::ledger::Transaction forged = pc::ledger::Transaction::with_signature(second.fields(), flipped);
  const pc::ledger::Transaction third = customer_txs.transfer(customer_key(1), customer_key(2).public_key(), 30);

  json batch = json::array();
  batch.push_back(rpc_request("submit_transaction", {{"hex", transaction_hex(first)}}, 1));
  batch.push_back(rpc_request("submit_transaction", {{"hex", transaction_hex(forged)}}, 2));
  batch.push_back(rpc_request("submit_transaction", {{"hex", transaction_hex(second)}}, 3));
  batch.push_back(rpc_request("submit_transaction", {{"hex", transaction_hex(first)}}, 4));
  json notification = rpc_request("submit_transaction", {{"hex", transaction_hex(third)}}, 0);
  notification.erase("id");
  batch.push_back(notification);
  batch.push_back(rpc_request("submit_transaction", {{"hex", "zz"}}, 5));
  batch.push_back(rpc_request("get_account", {{"address", customer_address(1)}}, 6));
  const HttpResponse reply = node.post(batch.dump());
  REQUIRE(reply.status == 200);
  const json answers = json::parse(reply.body);
  REQUIRE(answers.size() == 6);
  CHECK(answers[0].at("id") == 1);
  CHECK(result_of(answers[0]).at("id") == pc::to_hex(first.id()));
  CHECK(answers[1].at("id") == 2);
  CHECK(error_code_of(answers[1]) == application_code(Code::bad_signature));
  CHECK(answers[2].at("id") == 3);
  CHECK(result_of(answers[2]).at("id") == pc::to_hex(second.id()));
  CHECK(answers[3].at("id") == 4);
  CHECK(result_of(answers[3]).at("id") == pc::to_hex(first.id()));
  CHECK(answers[4].at("id") == 5);
  CHECK(error_code_of(answers[4]) == error_code::invalid_params);
  CHECK(answers[5].at("id") == 6);
  // The notification was admitted before get_account ran: three pending after sequence 0.
  CHECK(result_of(answers[5]).at("next_sequence") == 4);

  node.wait_until_committed(pc::to_hex(third.id()));
  const json account = account_of(node, 1);
  CHECK(account.at("sequence") == 3);
  CHECK(account.at("balance") == 1'000 - 60);
}

TEST_CASE("earn is idempotent by order id over RPC, and return reverses the order once", "[e2e][rpc]") {
  // Proves that a partner retrying earn (while the issuance is pending, after it committed,
  // even with another amount) gets the same transaction back with already_known and that only
  // one issuance happens; that return reverses it (a retry while pending gets the same
  // Reverse); and that a second return is refused as already_reversed.
  LiveNode node(rpc_node_options());

  const json first = result_of(node.response("earn", purchase(1, 25'000, "order-idem"), node.bearer()));
  CHECK(first.at("points") == 250);
  CHECK(first.at("already_known") == false);
  const std::string tx_id = first.at("id").get<std::string>();

  const json retried = result_of(node.response("earn", purchase(1, 25'000, "order-idem"), node.bearer()));
  CHECK(retried.at("id") == tx_id);
  CHECK(retried.at("already_known") == true);
  CHECK(retried.at("points") == 250);

  const json issued_in = node.wait_until_committed(tx_id);
  // After the commit, and whatever amount the retry names: the same issuance.
  const json late_retry = result_of(node.response("earn", purchase(1, 99'900, "order-idem"), node.bearer()));
  CHECK(late_retry.at("id") == tx_id);
  CHECK(late_retry.at("already_known") == true);
  CHECK(late_retry.at("points") == 250);

  const json info = wait_until_nothing_pending(node);
  CHECK(info.at("supply").at("issued") == 250);
  const json account = account_of(node, 1);
  CHECK(account.at("balance") == 250);
  REQUIRE(account.at("history").size() == 1);
  CHECK(account.at("history")[0].at("kind") == "earned");
  CHECK(account.at("history")[0].at("tx_id") == tx_id);
  CHECK(account.at("history")[0].at("height") == issued_in.at("height"));

  const json returned = result_of(node.response("return", {{"order_id", "order-idem"}}, node.bearer()));
  const std::string reverse_id = returned.at("id").get<std::string>();
  CHECK(reverse_id != tx_id);
  const json return_retried = node.response("return", {{"order_id", "order-idem"}}, node.bearer());
  if (return_retried.contains("result")) {
    // Still pending: the retry names the same Reverse.
    CHECK(return_retried.at("result").at("id") == reverse_id);
  } else {
    // Already committed: the order is reversed.
    CHECK(error_code_of(return_retried) == application_code(Code::already_reversed));
  }
  const json reverse_status = node.wait_until_committed(reverse_id);
  CHECK(reverse_status.at("transaction").at("type") == "reverse");
  CHECK(reverse_status.at("transaction").at("reference") == "order-idem");

  const json again = node.response("return", {{"order_id", "order-idem"}}, node.bearer());
  CHECK(error_code_of(again) == application_code(Code::already_reversed));
  CHECK(again.at("error").at("data").at("name") == "already_reversed");
  const json unknown = node.response("return", {{"order_id", "never-sold"}}, node.bearer());
  CHECK(error_code_of(unknown) == application_code(Code::unknown_issuance));

  // A reversed order stays known: earning it again issues nothing new.
  const json after_reverse = result_of(node.response("earn", purchase(1, 25'000, "order-idem"), node.bearer()));
  CHECK(after_reverse.at("id") == tx_id);
  CHECK(after_reverse.at("already_known") == true);

  // Partners' retries may race: concurrent earns of one new order make one issuance.
  constexpr int racers = 6;
  std::vector<json> raced(racers);
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < racers; ++i) {
      threads.emplace_back([&node, &raced, i] {
        json& answer = raced[static_cast<std::size_t>(i)];
        // No Catch2 assertion off the main thread: a failure is kept for the checks below.
        try {
          answer = node.response("earn", purchase(2, 5'000, "order-race"), node.bearer());
        } catch (const std::exception& error) {
          answer = json{{"transport_error", error.what()}};
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  int fresh_answers = 0;
  for (const json& response : raced) {
    const json earned = result_of(response);
    CHECK(earned.at("id") == raced.front().at("result").at("id"));
    CHECK(earned.at("points") == 50);
    if (earned.at("already_known") == false) ++fresh_answers;
  }
  CHECK(fresh_answers == 1);
  node.wait_until_committed(raced.front().at("result").at("id").get<std::string>());

  const json final_info = wait_until_nothing_pending(node);
  CHECK(final_info.at("supply").at("issued") == 250 + 50);
  CHECK(account_of(node, 2).at("balance") == 50);
  CHECK(account_of(node, 2).at("history").size() == 1);
  CHECK(final_info.at("supply").at("reversed") == 250);
  CHECK(final_info.at("supply").at("outstanding") == 50);
  CHECK(account_of(node, 1).at("balance") == 0);

  stop_cleanly_and_audit(node);
}

namespace {

// Reads WebSocket messages until `done` says so or the deadline passes; every message read.
template <class Done>
std::vector<json> read_notifications_until(WebSocketClient& socket, Done done) {
  std::vector<json> messages;
  const Deadline deadline(websocket_timeout);
  while (!done(messages)) {
    INFO("messages so far: " << json(messages).dump());
    REQUIRE_FALSE(deadline.passed());
    const std::optional<std::string> text = socket.read_text(deadline.remaining());
    REQUIRE_FALSE(socket.closed());
    if (!text) continue;
    REQUIRE(json::accept(*text));
    messages.push_back(json::parse(*text));
  }
  return messages;
}

json websocket_call(WebSocketClient& socket, const std::string& method, const json& params, std::uint64_t id) {
  REQUIRE(socket.send_text(rpc_request(method, params, id).dump(), websocket_timeout));
  const std::optional<std::string> text = socket.read_text(websocket_timeout);
  REQUIRE(text.has_value());
  const json response = json::parse(*text);
  CHECK(response.at("id") == id);
  return response;
}

}  // namespace

TEST_CASE("a WebSocket subscriber hears of new blocks and of its account's earned points", "[e2e][rpc]") {
  // Proves the subscription path end to end: a block subscription and an account
  // subscription on one connection; another customer's earn reaches the block subscriber but
  // not the account subscriber; the account's own earn arrives as an "earned" event naming its
  // transaction, and its block as a block notification with the committed hash. Also: partner
  // methods on a WebSocket take the upgrade request's Authorization header.
  LiveNode node(rpc_node_options());

  WebSocketClient subscriber;
  REQUIRE(subscriber.connect(node.port(), "", websocket_timeout));
  const json blocks = websocket_call(subscriber, "subscribe", {{"blocks", true}}, 1);
  const std::uint64_t blocks_subscription = result_of(blocks).at("subscription").get<std::uint64_t>();
  const json account = websocket_call(subscriber, "subscribe", {{"account", customer_address(1)}}, 2);
  const std::uint64_t account_subscription = result_of(account).at("subscription").get<std::uint64_t>();
  CHECK(blocks_subscription != account_subscription);
  CHECK(error_code_of(websocket_call(subscriber, "unsubscribe", {{"subscription", 99}}, 3)) == error_code::not_found);
  // No token on this connection's upgrade request.
  CHECK(error_code_of(websocket_call(subscriber, "earn", purchase(1, 1'000, "ws-no-token"), 4)) ==
        error_code::unauthorized);

  const json other = node.earn_and_commit(customer_address(2), 7'000, "ws-other");
  const std::string other_id = other.at("id").get<std::string>();
  const json other_status = node.wait_until_committed(other_id);
  const json mine = result_of(node.response("earn", purchase(1, 12'300, "ws-mine"), node.bearer()));
  const std::string mine_id = mine.at("id").get<std::string>();
  const json mine_status = node.wait_until_committed(mine_id);

  const auto is_notification = [](const json& message, std::uint64_t subscription) {
    return message.value("method", "") == "notification" && message.at("params").at("subscription") == subscription;
  };
  const std::vector<json> messages = read_notifications_until(subscriber, [&](const std::vector<json>& seen) {
    bool block_seen = false;
    bool event_seen = false;
    for (const json& message : seen) {
      block_seen = block_seen || (is_notification(message, blocks_subscription) &&
                                  message.at("params").at("height") == mine_status.at("height"));
      event_seen = event_seen || (is_notification(message, account_subscription) &&
                                  message.at("params").at("tx_id") == mine_id);
    }
    return block_seen && event_seen;
  });
  INFO(json(messages).dump());

  bool other_block_seen = false;
  for (const json& message : messages) {
    REQUIRE(message.at("method") == "notification");
    const json& params = message.at("params");
    if (params.at("subscription") == blocks_subscription) {
      CHECK(params.at("kind") == "block");
      const json block = result_of(node.response("get_block", {{"height", params.at("height")}}));
      CHECK(params.at("hash") == block.at("hash"));
      CHECK(params.at("tx_count") == block.at("transactions").size());
      other_block_seen = other_block_seen || params.at("hash") == other_status.at("block_hash");
    } else {
      REQUIRE(params.at("subscription") == account_subscription);
      // Only customer 1's events: customer 2's earn never shows here.
      CHECK(params.at("account") == customer_address(1));
      CHECK(params.at("tx_id") != other_id);
      CHECK(params.at("kind") == "earned");
      CHECK(params.at("tx_id") == mine_id);
      CHECK(params.at("points") == 123);
      CHECK(params.at("height") == mine_status.at("height"));
      CHECK(params.at("partner") == 1);
    }
  }
  CHECK(other_block_seen);

  // A connection upgraded with the partner's token may earn.
  WebSocketClient partner;
  REQUIRE(partner.connect(node.port(), node.bearer(), websocket_timeout));
  const json earned = result_of(websocket_call(partner, "earn", purchase(1, 1'000, "ws-with-token"), 5));
  CHECK(earned.at("points") == 10);
  CHECK(earned.at("already_known") == false);
  node.wait_until_committed(earned.at("id").get<std::string>());

  stop_cleanly_and_audit(node);
}

TEST_CASE("a node killed mid-stream keeps every transaction it reported committed", "[e2e][rpc]") {
  // Proves durability as a partner sees it: while earns stream in, every transaction that
  // get_transaction reported committed is still there, at the same height and in the same
  // block, after SIGKILL and a restart on the same data dir; an order whose issuance survived
  // is still known to earn. Then SIGTERM stops the node with exit 0, a restart resumes at
  // the same tip, and the data dir passes the audit.
  LiveNode node(rpc_node_options());

  struct Reported {
    int customer;
    std::string order_id;
    std::string tx_id;
    json height;
    json block_hash;
  };
  std::vector<Reported> committed;
  struct Unconfirmed {
    int customer;
    std::string order_id;
    std::string tx_id;
  };
  std::vector<Unconfirmed> outstanding;
  constexpr std::size_t committed_wanted = 20;
  constexpr std::size_t earns_after_that = 8;
  const Deadline deadline(60s);
  std::size_t sent = 0;
  std::size_t sent_after_enough = 0;
  while (sent_after_enough < earns_after_that) {
    REQUIRE_FALSE(deadline.passed());
    const int customer = 1 + static_cast<int>(sent % 3);
    const std::string order_id = "crash-" + std::to_string(sent++);
    const json earned = result_of(node.response("earn", purchase(customer, 1'000, order_id), node.bearer()));
    outstanding.push_back(Unconfirmed{customer, order_id, earned.at("id").get<std::string>()});
    if (committed.size() >= committed_wanted) {
      // The last earns go out back to back, so some are still pending when the node dies.
      ++sent_after_enough;
      continue;
    }
    for (auto it = outstanding.begin(); it != outstanding.end();) {
      const json status = result_of(node.response("get_transaction", {{"id", it->tx_id}}));
      if (status.at("status") == "committed") {
        committed.push_back(Reported{it->customer, it->order_id, it->tx_id, status.at("height"), status.at("block_hash")});
        it = outstanding.erase(it);
      } else {
        ++it;
      }
    }
  }
  const ExitStatus killed = node.kill();
  CHECK(killed.describe() == "signal " + std::to_string(SIGKILL));
  INFO("reported committed: " << committed.size() << ", unconfirmed at the kill: " << outstanding.size());

  node.start();
  const json restarted = result_of(node.response("chain_info"));
  std::map<int, std::size_t> earns_kept;  // customer -> committed earns after the restart
  for (const Reported& reported : committed) {
    ++earns_kept[reported.customer];
    INFO(reported.order_id << " " << reported.tx_id);
    const json status = result_of(node.response("get_transaction", {{"id", reported.tx_id}}));
    CHECK(status.at("status") == "committed");
    CHECK(status.at("height") == reported.height);
    CHECK(status.at("block_hash") == reported.block_hash);
    CHECK(result_of(node.response("get_block", {{"height", reported.height}})).at("hash") == reported.block_hash);
    CHECK(restarted.at("height").get<std::uint64_t>() >= reported.height.get<std::uint64_t>());
    const json again = result_of(node.response("earn", purchase(1, 1'000, reported.order_id), node.bearer()));
    CHECK(again.at("id") == reported.tx_id);
    CHECK(again.at("already_known") == true);
  }
  // What was not yet reported is committed or gone with the mempool, nothing in between.
  for (const Unconfirmed& unconfirmed : outstanding) {
    const json response = node.response("get_transaction", {{"id", unconfirmed.tx_id}});
    if (response.contains("result")) {
      CHECK(response.at("result").at("status") == "committed");
      ++earns_kept[unconfirmed.customer];
    } else {
      CHECK(error_code_of(response) == error_code::not_found);
    }
  }

  // Balances, the supply and the per-account history index agree with the kept transactions.
  std::size_t kept_total = 0;
  for (const auto& [customer, count] : earns_kept) {
    INFO("customer " << customer);
    const json account = account_of(node, customer);
    CHECK(account.at("balance") == 10 * count);
    CHECK(account.at("history").size() == std::min<std::size_t>(count, pc::rpc::history_limit_default));
    kept_total += count;
  }
  CHECK(restarted.at("supply").at("issued") == 10 * kept_total);

  // SIGTERM: exit 0, and the next start resumes at the same tip.
  const json tip = wait_until_nothing_pending(node);
  const ExitStatus terminated = node.stop();
  CHECK(terminated.describe() == "exit code 0");
  CHECK(node.output().find("stopped at height " + std::to_string(tip.at("height").get<std::uint64_t>())) !=
        std::string::npos);
  node.start();
  const json resumed = result_of(node.response("chain_info"));
  CHECK(resumed.at("height") == tip.at("height"));
  CHECK(resumed.at("block_hash") == tip.at("block_hash"));
  CHECK(resumed.at("state_hash") == tip.at("state_hash"));
  CHECK(resumed.at("supply") == tip.at("supply"));

  stop_cleanly_and_audit(node);
}

TEST_CASE("over its rate limit a client gets HTTP 429 and error 4029, and nothing it asked for happens",
          "[e2e][rpc]") {
  // Proves the per-client token bucket of node.json against the binary: a batch costing more
  // than the burst is refused whole; single requests past the burst are refused with
  // Retry-After; an earn refused that way did not happen (earning its order later is new).
  LiveNode node(rpc_node_options({{"rpc_rate_requests_per_second", 1}, {"rpc_rate_burst_requests", 5}}));

  json batch = json::array();
  for (std::uint64_t i = 0; i < 6; ++i) batch.push_back(rpc_request("chain_info", json::object(), i));
  const HttpResponse batch_reply = node.post(batch.dump());
  CHECK(batch_reply.status == 429);
  CHECK(batch_reply.header("Retry-After") == "1");
  CHECK(error_code_of(json::parse(batch_reply.body)) == error_code::rate_limited);

  std::optional<std::string> refused_order;
  std::size_t served = 0;
  for (int i = 0; i < 50 && !refused_order; ++i) {
    const std::string order_id = "rate-" + std::to_string(i);
    const HttpResponse reply = node.post(rpc_request("earn", purchase(1, 1'000, order_id)).dump(), node.bearer());
    if (reply.status == 429) {
      CHECK(error_code_of(json::parse(reply.body)) == error_code::rate_limited);
      refused_order = order_id;
    } else {
      CHECK(reply.status == 200);
      result_of(json::parse(reply.body));
      ++served;
    }
  }
  REQUIRE(refused_order.has_value());
  CHECK(served >= 1);

  // Once the bucket refills, the refused order is new to the node.
  const Deadline deadline(30s);
  std::optional<json> earned;
  while (!earned) {
    REQUIRE_FALSE(deadline.passed());
    const HttpResponse reply = node.post(rpc_request("earn", purchase(1, 1'000, *refused_order)).dump(), node.bearer());
    if (reply.status == 200) {
      earned = result_of(json::parse(reply.body));
    } else {
      CHECK(reply.status == 429);
      std::this_thread::sleep_for(250ms);
    }
  }
  CHECK(earned->at("already_known") == false);

  stop_cleanly_and_audit(node);
}

namespace {

// Opens `count` keep-alive connections from `source_address`, each served once, so that the
// node holds them all, idle.
std::vector<std::unique_ptr<HttpConnection>> hold_idle_connections(const LiveNode& node, std::size_t count,
                                                                   const std::string& source_address,
                                                                   const std::string& request) {
  std::vector<std::unique_ptr<HttpConnection>> held;
  for (std::size_t i = 0; i < count; ++i) {
    auto connection = std::make_unique<HttpConnection>();
    REQUIRE(connection->connect(node.port(), 10s, source_address));
    REQUIRE(connection->send(request));
    const HttpResponse reply = connection->read_response();
    INFO(source_address << " connection " << i << ": " << reply.error);
    REQUIRE(reply.status == 200);
    held.push_back(std::move(connection));
  }
  return held;
}

// One request on a fresh connection from `source_address`: its status, 0 when the node
// closed the connection without answering.
int status_from(const LiveNode& node, const std::string& source_address, const std::string& request) {
  HttpConnection connection;
  REQUIRE(connection.connect(node.port(), 10s, source_address));
  if (!connection.send(request, 5s)) return 0;
  return connection.read_response(5s).status;
}

}  // namespace

TEST_CASE("one client address holds at most rpc_limits.connections_per_address_max connections, others still get in",
          "[e2e][rpc][connections]") {
  // Proves the per-address limit against the binary: with 4 idle connections from
  // 127.0.0.1 (the configured limit), a fifth from that address is closed unanswered, while
  // 127.0.0.2 is served; closing one of the four makes room again. Before, the limit was
  // global only, so one address holding every connection locked all others out.
  LiveNode node(rpc_node_options({{"rpc_limits", {{"connections_max", 16}, {"connections_per_address_max", 4}}}}));
  const std::string request = http_request_text(node.port(), "POST", "/", request_text("chain_info", json::object()),
                                                {{"Content-Type", "application/json"}}, /*keep_alive=*/true);
  auto held = hold_idle_connections(node, 4, "127.0.0.1", request);

  HttpConnection one_too_many;
  REQUIRE(one_too_many.connect(node.port(), 10s, "127.0.0.1"));  // the kernel completes the handshake
  (void)one_too_many.send(request);
  CHECK(one_too_many.wait_for_close(10s) == HttpConnection::Ending::closed);
  CHECK(status_from(node, "127.0.0.2", request) == 200);

  held.front().reset();
  const Deadline room_deadline(10s);
  while (status_from(node, "127.0.0.1", request) != 200) {
    REQUIRE_FALSE(room_deadline.passed());
    std::this_thread::sleep_for(20ms);
  }
  HttpConnection& last = *held.back();
  REQUIRE(last.send(request));
  CHECK(last.read_response().status == 200);

  held.clear();
  stop_cleanly_and_audit(node);
}

TEST_CASE("at rpc_limits.connections_max the connection idle longest is closed to admit a new client",
          "[e2e][rpc][connections]") {
  // Proves idle connections cannot lock clients out: with connections_max (8) idle
  // keep-alive connections held from four addresses, a new client is served at once and the
  // one closed to make room is the connection that has waited longest; the others keep
  // working. Before, the new client was closed unanswered for as long as the idle ones stayed.
  LiveNode node(rpc_node_options({{"rpc_limits", {{"connections_max", 8}, {"connections_per_address_max", 2}}}}));
  const std::string request = http_request_text(node.port(), "POST", "/", request_text("chain_info", json::object()),
                                                {{"Content-Type", "application/json"}}, /*keep_alive=*/true);
  std::vector<std::unique_ptr<HttpConnection>> held;
  // A connection turns idle when the node's thread that wrote its answer runs again, which a
  // loaded machine can delay past the next connections' answers: the first is given a head
  // start, so that it is the one idle longest.
  held = hold_idle_connections(node, 1, "127.0.0.11", request);
  std::this_thread::sleep_for(200ms);
  held.push_back(std::move(hold_idle_connections(node, 1, "127.0.0.11", request).front()));
  for (const std::string address : {"127.0.0.12", "127.0.0.13", "127.0.0.14"}) {
    for (auto& connection : hold_idle_connections(node, 2, address, request)) held.push_back(std::move(connection));
  }

  CHECK(status_from(node, "127.0.0.20", request) == 200);
  CHECK(held.front()->wait_for_close(10s) == HttpConnection::Ending::closed);
  for (std::size_t i = 1; i < held.size(); ++i) {
    INFO("held connection " << i);
    REQUIRE(held[i]->send(request));
    CHECK(held[i]->read_response().status == 200);
  }
  held.clear();
  stop_cleanly_and_audit(node);
}

TEST_CASE("at rpc_limits.connections_max with every connection in the middle of a request, a new one is closed "
          "unanswered",
          "[e2e][rpc][connections]") {
  // Proves the total limit still holds when no connection is idle: 8 connections (the
  // limit) that each sent a header promising a body (the node's "100 Continue" shows it read
  // the header) are not closed for a new client; the new one is closed unanswered instead.
  LiveNode node(rpc_node_options({{"rpc_limits", {{"connections_max", 8}, {"connections_per_address_max", 2}}}}));
  const std::string unfinished =
      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n";
  std::vector<std::unique_ptr<HttpConnection>> busy;
  for (std::size_t i = 0; i < 8; ++i) {
    INFO("busy connection " << i);
    // The start-up's /health connection still holds its slot until the node's thread that
    // wrote the answer runs again, which a loaded machine can delay past the first few of
    // these: a connection closed below the limit is tried again, a few times.
    std::unique_ptr<HttpConnection> connection;
    HttpConnection::Ending ending = HttpConnection::Ending::closed;
    for (int attempt = 0; attempt < 5 && ending == HttpConnection::Ending::closed; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(100ms);
      connection = std::make_unique<HttpConnection>();
      REQUIRE(connection->connect(node.port(), 10s, "127.0.0." + std::to_string(30 + i / 2)));
      (void)connection->send(unfinished);  // a refused one may be closed before this
      ending = connection->wait_for_close(10s);
    }
    REQUIRE(ending == HttpConnection::Ending::answered);
    busy.push_back(std::move(connection));
  }
  const std::string request = http_request_text(node.port(), "POST", "/", request_text("chain_info", json::object()),
                                                {{"Content-Type", "application/json"}}, /*keep_alive=*/true);
  HttpConnection locked_out;
  REQUIRE(locked_out.connect(node.port(), 10s, "127.0.0.40"));
  (void)locked_out.send(request);
  CHECK(locked_out.wait_for_close(10s) == HttpConnection::Ending::closed);
  for (const auto& connection : busy) CHECK(connection->wait_for_close(100ms) == HttpConnection::Ending::still_open);

  busy.clear();
  stop_cleanly_and_audit(node);
}

TEST_CASE("rpc_limits.idle_timeout_ms closes a connection idle that long but not one whose request is being answered",
          "[e2e][rpc][connections]") {
  // Proves the idle timeout bounds waiting for a request, not answering one: over one
  // keep-alive connection, with idle_timeout_ms at 250 ms, a JSON-RPC batch of
  // five earn_batch calls for 5,000 new customers (a key check, a signature and an admission
  // each: about 0.4 s in a Release build on 2 cores, longer under the sanitizers) is answered
  // whole; then the connection, left idle, is closed by the node. The second half is what
  // ended the RPC benchmark's default run: its control connection sat idle through a setup
  // longer than 30 s.
  // Above the minimum (100 ms): the idle timeout also bounds waiting for the rest of a body,
  // and this one (5,000 purchases) took longer than 100 ms to arrive on a loaded machine under the
  // sanitizers.
  constexpr std::uint64_t idle_timeout_ms = 250;
  constexpr int batches = 5;
  constexpr int purchases_per_batch = static_cast<int>(pc::rpc::earn_batch_count_max);
  LiveNode node(rpc_node_options({{"rpc_limits", {{"idle_timeout_ms", idle_timeout_ms}}}}));
  json batch = json::array();
  for (int b = 0; b < batches; ++b) {
    json purchases = json::array();
    for (int i = 0; i < purchases_per_batch; ++i) {
      const int customer = 10'000 + b * purchases_per_batch + i;
      purchases.push_back(purchase(customer, 1'000, "idle-" + std::to_string(customer)));
    }
    batch.push_back(rpc_request("earn_batch", {{"purchases", purchases}}, b));
  }
  const std::string request = http_request_text(node.port(), "POST", "/", batch.dump(),
                                                {{"Content-Type", "application/json"}, {"Authorization", node.bearer()}},
                                                /*keep_alive=*/true);
  HttpConnection connection;
  REQUIRE(connection.connect(node.port()));
  REQUIRE(connection.send(request));
  const HttpResponse reply = connection.read_response(60s);
  INFO(reply.error);
  REQUIRE(reply.status == 200);
  const json answers = json::parse(reply.body);
  REQUIRE(answers.size() == static_cast<std::size_t>(batches));
  for (const json& answer : answers) {
    const json results = result_of(answer).at("results");
    REQUIRE(results.size() == static_cast<std::size_t>(purchases_per_batch));
    for (const json& item : results) CHECK(item.at("points") == 10);
  }

  CHECK(connection.wait_for_close(10s) == HttpConnection::Ending::closed);
  wait_until_nothing_pending(node);
  stop_cleanly_and_audit(node);
}

TEST_CASE("malformed HTTP framing gets HTTP 400 with error 4000, then the connection closes", "[e2e][rpc][framing]") {
  // Proves each framing the parser refuses is answered, not met with silence: a
  // Content-Length past 2^64, negative, repeated with another value, or together with
  // chunked; a chunk size that is not hex or overflows. Each gets HTTP 400 with a JSON-RPC
  // error 4000 (id null), the connection closes, and the node serves the next client.
  LiveNode node(rpc_node_options());
  const std::string body = request_text("chain_info", json::object());
  const std::string start = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
  const std::string chunked_body = std::to_string(body.size()) + "\r\n" + body + "\r\n0\r\n\r\n";
  const std::vector<std::pair<std::string, std::string>> cases{
      {"Content-Length past 2^64", start + "Content-Length: 18446744073709551617\r\n\r\n" + body},
      {"negative Content-Length", start + "Content-Length: -1\r\n\r\n" + body},
      {"repeated Content-Length", start + "Content-Length: " + std::to_string(body.size()) +
                                      "\r\nContent-Length: 5\r\n\r\n" + body},
      {"Content-Length then chunked", start + "Content-Length: " + std::to_string(body.size()) +
                                          "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_body},
      {"chunked then Content-Length", start + "Transfer-Encoding: chunked\r\nContent-Length: " +
                                          std::to_string(body.size()) + "\r\n\r\n" + chunked_body},
      {"a chunk size that is not hex", start + "Transfer-Encoding: chunked\r\n\r\nzz\r\n" + body + "\r\n0\r\n\r\n"},
      {"a chunk size past 2^64", start + "Transfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n" + body + "\r\n0\r\n\r\n"},
  };
  for (const auto& [what, bytes] : cases) {
    INFO(what);
    HttpConnection connection;
    REQUIRE(connection.connect(node.port()));
    (void)connection.send(bytes);
    const HttpResponse reply = connection.read_response();
    INFO(reply.error << reply.body);
    CHECK(reply.status == 400);
    CHECK(reply.header("connection") == "close");
    const json response = json::parse(reply.body, nullptr, false);
    REQUIRE(response.is_object());
    CHECK(response.value("id", json(0)).is_null());
    CHECK(error_code_of(response) == error_code::bad_http_request);
    CHECK(connection.wait_for_close(10s) == HttpConnection::Ending::closed);
  }
  CHECK(result_of(node.response("chain_info")).at("height").is_number_unsigned());
  stop_cleanly_and_audit(node);
}
