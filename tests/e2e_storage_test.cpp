// The real pointchain-node when its storage fails: a disk that fills up under load (the node
// runs with a small RLIMIT_FSIZE, so its writes fail with EFBIG after writing what fits, as on
// a full disk), and is freed while the node still runs.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "crypto/address.hpp"
#include "tests/e2e_support.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc::test::e2e;

// Small enough that a few thousand earns fill the chain's log file; large enough for start-up.
constexpr std::uint64_t node_file_size_limit_bytes = 1024 * 1024;
constexpr int purchases_per_batch = 500;
constexpr int batches_max = 100;

std::string customer_address(int n) {
  return pc::crypto::encode_address(pc::test::seeded_key("e2e storage customer " + std::to_string(n)).public_key());
}

// One customer per batch, so that no account reaches its limit of lots.
nlohmann::json earn_batch(const LiveNode& node, int batch) {
  const std::string customer = customer_address(batch);
  nlohmann::json purchases = nlohmann::json::array();
  for (int i = 0; i < purchases_per_batch; ++i) {
    purchases.push_back({{"customer", customer},
                         {"amount_minor", 1'000},
                         {"currency", "EUR"},
                         {"order_id", "fill-" + std::to_string(batch) + "-" + std::to_string(i)}});
  }
  return node.response("earn_batch", {{"purchases", purchases}}, node.bearer());
}

}  // namespace

TEST_CASE("a node whose disk fills stops producing, says so, exits non-zero, and leaves an intact store",
          "[e2e][storage-fault]") {
  // Proves issue 7 §1.1 end to end: once a block write fails, GET /health answers 503, reads
  // go on, new transactions are refused; freeing the space does not make the node write again
  // (which would bury a torn record mid-log and make the store unopenable); SIGTERM exits 3
  // naming the transactions not committed; the store then audits OK and the node starts.
  LiveNodeOptions options;
  options.file_size_limit_bytes = node_file_size_limit_bytes;
  // earn_batch earns one purchase at a time on the writer, and each block costs about a dozen
  // fsyncs (the consensus log and signing record, then the store): at the default 25 ms a
  // loaded machine spends the client's 10 s answering one batch over hundreds of tiny blocks.
  options.block_interval_ms = 250;
  LiveNode node(options);

  HttpResponse health;
  for (int batch = 0; batch < batches_max; ++batch) {
    (void)earn_batch(node, batch);
    std::this_thread::sleep_for(300ms);  // past a block interval: let the node commit them
    health = http_request(node.port(), "GET", "/health");
    if (health.status != 200) break;
  }
  INFO(node.output());
  REQUIRE(health.status == 503);
  CHECK_THAT(health.body, Catch::Contains("storage failure"));
  const std::uint64_t height = node.call("chain_info").at("height").get<std::uint64_t>();
  const nlohmann::json refused = node.response(
      "earn", {{"customer", customer_address(0)}, {"amount_minor", 1'000}, {"currency", "EUR"}, {"order_id", "after"}},
      node.bearer());
  CHECK(refused.at("error").at("code") == 1600);

  REQUIRE(set_file_size_limit(node.pid(), std::nullopt));  // the disk is free again
  std::this_thread::sleep_for(200ms);
  CHECK(node.call("chain_info").at("height").get<std::uint64_t>() == height);
  const ExitStatus stopped = node.stop();
  const std::string output = node.output();
  INFO(output);
  CHECK(stopped.exited_with(3));
  CHECK_THAT(output, Catch::Contains("STORAGE FAILURE"));
  CHECK_THAT(output, Catch::Contains("accepted transactions were not committed"));

  const RunResult audit = node.audit();
  INFO(audit.out);
  CHECK(audit.status.exited_with(0));
  node.set_file_size_limit_bytes(std::nullopt);
  node.start();
  // The block whose write failed was decided (this validator precommitted it: a round of one)
  // and its consensus log kept that, so the restart resumes the height and may commit it.
  const std::uint64_t restarted = node.call("chain_info").at("height").get<std::uint64_t>();
  CHECK(restarted >= height);
  CHECK(restarted <= height + 1);
  CHECK(node.stop().exited_with(0));
}
