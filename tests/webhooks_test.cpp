// Webhooks (docs/webhooks.md): node.json's webhooks section, the queue filled from committed
// blocks (ids from chain position, catch-up after a restart, the bound and its events_dropped
// notice, points_expiring by block time), and the sender against a real HTTP receiver on
// loopback (signature, retry after a 500 and after the receiver was down, a restart in the
// middle of retries).
#include <catch2/catch.hpp>
#include <leveldb/db.h>

#include <nlohmann/json.hpp>
#include <set>

#include "crypto/address.hpp"
#include "node/node.hpp"
#include "node/webhook_queue.hpp"
#include "node/webhook_sender.hpp"
#include "ledger/voucher.hpp"
#include "tests/fixtures.hpp"
#include "tests/state_support.hpp"
#include "tests/webhook_receiver.hpp"

namespace {

using namespace pc;
using pc::test::TempDir;
using pc::test::TestChain;
using pc::test::TxFactory;
using pc::test::WebhookReceiver;
using std::chrono::milliseconds;

constexpr std::uint64_t day_ms = 86'400'000;
const std::string secret = "whsec-test-0123456789abcdef";

node::WebhookSettings settings_for(const std::string& url, std::set<node::WebhookEventType> events = {
                                       node::WebhookEventType::earn, node::WebhookEventType::redemption,
                                       node::WebhookEventType::return_purchase,
                                       node::WebhookEventType::points_expiring}) {
  node::WebhookSettings settings;
  node::WebhookEndpoint endpoint;
  endpoint.url = url;
  std::string error;
  auto parsed = node::parse_webhook_url(url, error);
  REQUIRE(parsed);
  endpoint.parsed = *parsed;
  endpoint.events = std::move(events);
  endpoint.secret = secret;
  settings.endpoints.push_back(endpoint);
  settings.retry_initial_ms = 20;
  settings.retry_max_ms = 80;
  settings.request_timeout_ms = 2'000;
  return settings;
}

node::CommittedBlock committed_at(const ledger::ChainStore& store, std::uint64_t height) {
  node::CommittedBlock committed;
  auto block = store.block_at(height);
  REQUIRE(block);
  committed.block = *block;
  committed.block_hash = committed.block.header.hash();
  return committed;
}

// Everything queued for endpoint 0, oldest first, taken out as a sender would.
std::vector<node::WebhookDelivery> drain(node::WebhookQueue& queue) {
  std::vector<node::WebhookDelivery> out;
  while (auto delivery = queue.front(0)) {
    REQUIRE(queue.delivered(*delivery));
    out.push_back(std::move(*delivery));
  }
  return out;
}

std::vector<std::string> ids_of(const std::vector<node::WebhookDelivery>& deliveries) {
  std::vector<std::string> ids;
  for (const auto& delivery : deliveries) ids.push_back(delivery.event_id);
  return ids;
}

nlohmann::json parse_config(const nlohmann::json& webhooks, std::string& error) {
  auto config = node::parse_node_config(nlohmann::json{{"webhooks", webhooks}}.dump(), "/tmp");
  if (!config) {
    error = config.error();
    return nullptr;
  }
  return nlohmann::json::parse(node::node_config_to_json(*config));
}

}  // namespace

TEST_CASE("node.json's webhooks section is parsed strictly and written back", "[webhooks][config]") {
  // Proves that a valid section round-trips through node_config_to_json, and that each kind of
  // mistake (https, a malformed URL, an unknown event or field, a short secret, a repeated URL,
  // a retry cap below the first delay) is refused with a message naming the field.
  const nlohmann::json good_endpoint = {{"url", "http://crm.example:8080/hooks?shop=1"},
                                        {"events", {"earn", "points_expiring"}},
                                        {"secret", secret}};
  std::string error;
  const nlohmann::json written = parse_config({{"endpoints", {good_endpoint}}, {"expiring_notice_days", 7}}, error);
  INFO(error);
  REQUIRE(written.is_object());
  CHECK(written["webhooks"]["endpoints"][0]["url"] == "http://crm.example:8080/hooks?shop=1");
  CHECK(written["webhooks"]["endpoints"][0]["events"] == nlohmann::json({"earn", "points_expiring"}));
  CHECK(written["webhooks"]["expiring_notice_days"] == 7);
  auto parsed = node::parse_node_config(node::node_config_to_json(*node::parse_node_config(
                                            nlohmann::json{{"webhooks", {{"endpoints", {good_endpoint}}}}}.dump(), "/tmp")),
                                        "/tmp");
  REQUIRE(parsed);
  REQUIRE(parsed->webhooks.endpoints.size() == 1);
  CHECK(parsed->webhooks.endpoints[0].parsed.host == "crm.example");
  CHECK(parsed->webhooks.endpoints[0].parsed.port == 8080);
  CHECK(parsed->webhooks.endpoints[0].parsed.target == "/hooks?shop=1");
  // Without endpoints node.json stays as init writes it.
  CHECK_FALSE(nlohmann::json::parse(node::node_config_to_json(node::NodeConfig{})).contains("webhooks"));

  const auto refused = [&](nlohmann::json webhooks, const std::string& expected) {
    std::string message;
    CHECK(parse_config(webhooks, message).is_null());
    INFO(message);
    CHECK(message.find(expected) != std::string::npos);
  };
  const auto with = [&](const char* field, nlohmann::json value) {
    nlohmann::json endpoint = good_endpoint;
    endpoint[field] = std::move(value);
    return nlohmann::json{{"endpoints", {endpoint}}};
  };
  refused(with("url", "https://crm.example/hooks"), "https is not supported");
  refused(with("url", "ftp://crm.example/hooks"), "must start with http://");
  refused(with("url", "http://crm.example:99999/"), "port must be a number");
  refused(with("url", "http:///hooks"), "no host");
  refused(with("url", "http://us er@crm/"), "printable ASCII");
  refused(with("events", {"earn", "birthday"}), "unknown event \"birthday\"");
  refused(with("events", {"events_dropped"}), "unknown event");
  refused(with("events", nlohmann::json::array()), "non-empty array");
  refused(with("secret", "short"), "secret must be 16 to 256 characters");
  refused(with("queue_events_max", 0), "queue_events_max must be between 1");
  refused(with("colour", "blue"), "unknown field \"colour\" in webhooks.endpoints[0]");
  refused({{"endpoints", {good_endpoint, good_endpoint}}}, "lists http://crm.example:8080/hooks?shop=1 twice");
  refused({{"endpoints", {good_endpoint}}, {"retry_initial_ms", 5'000}, {"retry_max_ms", 1'000}},
          "webhooks.retry_max_ms must be between 5000");
  refused({{"endpoints", {good_endpoint}}, {"expiring_notice_days", 0}}, "webhooks.expiring_notice_days");
  refused({{"endpoint", {good_endpoint}}}, "unknown field \"endpoint\" in webhooks");
}

TEST_CASE("the queue holds this partner's earns, redemptions and returns, with ids from their chain position",
          "[webhooks][queue]") {
  // Proves that a queue fed block by block and a queue that catches up at open (the blocks
  // were committed while it was closed) hold the same events with the same ids and bodies;
  // that only partner 1's issuances, redemptions at partner 1 and partner 1's reversals are
  // queued; and that an endpoint gets only the types it asked for.
  TestChain chain({.partners = 2});
  TempDir live_dir;
  TempDir later_dir;
  node::WebhookQueue live(live_dir.path(), chain.store(), 1, settings_for("http://127.0.0.1:9/hooks"));
  { node::WebhookQueue opened_at_genesis(later_dir.path(), chain.store(), 1, settings_for("http://127.0.0.1:9/hooks")); }
  const crypto::SecretKey alice = TxFactory::customer(1);
  const std::vector<std::vector<ledger::Transaction>> blocks{
      {chain.txs.issue(1, alice.public_key(), 100, "order-1"), chain.txs.issue(2, alice.public_key(), 50, "other")},
      {chain.txs.redeem(alice, 1, 30, "Free coffee"), chain.txs.redeem(alice, 2, 10, "Elsewhere")},
      {chain.txs.reverse(1, "order-1")},
  };
  for (const auto& txs : blocks) {
    chain.commit_all(txs);
    live.block_committed(committed_at(chain.store(), chain.store().tip().height));
  }
  CHECK(live.cursor_height() == 3);
  node::WebhookQueue later(later_dir.path(), chain.store(), 1, settings_for("http://127.0.0.1:9/hooks"));
  CHECK(later.cursor_height() == 3);

  const auto from_live = drain(live);
  const auto from_later = drain(later);
  CHECK(ids_of(from_live) == std::vector<std::string>{"1.0.earn", "2.0.redemption", "3.0.return"});
  REQUIRE(from_later.size() == from_live.size());
  for (std::size_t i = 0; i < from_live.size(); ++i) CHECK(from_later[i].body == from_live[i].body);

  const auto earn = nlohmann::json::parse(from_live[0].body);
  CHECK(earn["type"] == "earn");
  CHECK(earn["partner"] == 1);
  CHECK(earn["chain_id"] == pc::test::test_chain_id);
  CHECK(earn["time_ms"] == chain.store().block_at(1)->header.time_ms);
  CHECK(earn["data"]["customer"] == crypto::encode_address(alice.public_key()));
  CHECK(earn["data"]["points"] == 100);
  CHECK(earn["data"]["reference"] == "order-1");
  CHECK(earn["data"]["tx_id"] == to_hex(chain.store().block_at(1)->transactions[0].id()));
  const auto redemption = nlohmann::json::parse(from_live[1].body);
  CHECK(redemption["data"]["points"] == 30);
  CHECK(redemption["data"]["reward"] == "Free coffee");
  const auto returned = nlohmann::json::parse(from_live[2].body);
  CHECK(returned["data"]["reference"] == "order-1");
  // The oldest lot pays first, whoever redeems: 40 of order-1's 100 points were spent.
  CHECK(returned["data"]["reversed_points"] == 60);
  CHECK(returned["data"]["shortfall_points"] == 40);

  // An endpoint that wants redemptions only, opened at the tip, hears of later ones only.
  TempDir redemptions_dir;
  node::WebhookQueue redemptions(redemptions_dir.path(), chain.store(), 1,
                                 settings_for("http://127.0.0.1:9/r", {node::WebhookEventType::redemption}));
  chain.commit_all({chain.txs.issue(1, alice.public_key(), 5, "order-2"), chain.txs.redeem(alice, 1, 5, "Tea")});
  redemptions.block_committed(committed_at(chain.store(), 4));
  CHECK(ids_of(drain(redemptions)) == std::vector<std::string>{"4.1.redemption"});
}

TEST_CASE("the catalog's transactions are announced: a reward redemption with its vouchers, a voucher used, a partial return",
          "[webhooks][queue][catalog]") {
  // Proves the protocol version 3 types reach the CRM: a RedeemReward at partner 1 is a
  // redemption carrying the voucher codes the wallet prints, partner 1's UseVoucher is a
  // voucher_used naming the customer and reward, partner 1's PartialReturn is a return with the
  // returned amount and the points taken back; partner 2's catalog activity is not queued.
  pc::test::GenesisOptions options;
  options.protocol_version = 3;
  options.partners = 2;
  TestChain chain(options);
  TempDir dir;
  node::WebhookQueue queue(dir.path(), chain.store(), 1,
                           settings_for("http://127.0.0.1:9/hooks",
                                        {node::WebhookEventType::redemption, node::WebhookEventType::voucher_used,
                                         node::WebhookEventType::return_purchase}));
  const crypto::SecretKey alice = TxFactory::customer(1);
  ledger::RewardTerms coffee;
  coffee.name = "Free coffee";
  coffee.cost_points = 30;
  const ledger::Transaction order = chain.txs.issue_for(1, alice.public_key(), 100, "order-1", ledger::Reason::purchase,
                                                        ledger::Purchase{10'000, "EUR"});
  const ledger::Transaction published_1 = chain.txs.publish_reward(1, 7, coffee);
  const ledger::Transaction published_2 = chain.txs.publish_reward(2, 7, coffee);
  chain.commit_all({order, published_1, published_2});
  queue.block_committed(committed_at(chain.store(), 1));
  const ledger::Transaction redemption = chain.txs.redeem_reward(alice, 1, 7, 2);
  const ledger::Transaction elsewhere = chain.txs.redeem_reward(alice, 2, 7, 1);
  chain.commit_all({redemption, elsewhere});
  queue.block_committed(committed_at(chain.store(), 2));
  const std::string code = ledger::voucher_code(redemption.id(), 1);
  const ledger::Transaction used = chain.txs.use_voucher(1, code);
  const ledger::Transaction partial = chain.txs.partial_return(1, "order-1", 2'500);
  chain.commit_all({used, partial});
  queue.block_committed(committed_at(chain.store(), 3));

  const auto events = drain(queue);
  REQUIRE(ids_of(events) == std::vector<std::string>{"2.0.redemption", "3.0.voucher_used", "3.1.return"});
  const auto redeemed = nlohmann::json::parse(events[0].body);
  CHECK(redeemed["data"]["customer"] == crypto::encode_address(alice.public_key()));
  CHECK(redeemed["data"]["reward_id"] == 7);
  CHECK(redeemed["data"]["quantity"] == 2);
  CHECK(redeemed["data"]["vouchers"] ==
        nlohmann::json({ledger::format_voucher_code(ledger::voucher_code(redemption.id(), 0)),
                        ledger::format_voucher_code(code)}));
  const auto voucher_used = nlohmann::json::parse(events[1].body);
  CHECK(voucher_used["type"] == "voucher_used");
  CHECK(voucher_used["data"]["voucher"] == ledger::format_voucher_code(code));
  CHECK(voucher_used["data"]["customer"] == crypto::encode_address(alice.public_key()));
  CHECK(voucher_used["data"]["reward_id"] == 7);
  const auto returned = nlohmann::json::parse(events[2].body);
  CHECK(returned["data"]["reference"] == "order-1");
  CHECK(returned["data"]["returned_amount_minor"] == 2'500);
  CHECK(returned["data"]["issued_points"] == 100);
  // A quarter of the order is 25 of its 100 points; Alice still held 10 of them (90 spent).
  CHECK(returned["data"]["reversed_points"] == 10);
  CHECK(returned["data"]["shortfall_points"] == 15);
}

TEST_CASE("a payment with points at this partner's till is a redemption event with its money value",
          "[webhooks][queue][payments]") {
  // Proves a PayWithPoints (protocol version 4) reaches the CRM of the partner whose till made
  // the request, as a redemption naming the customer, the points, the request id, the order and
  // the money; a payment at partner 2's till is not queued for partner 1.
  pc::test::GenesisOptions options;
  options.protocol_version = 4;
  options.partners = 2;
  TestChain chain(options);
  TempDir dir;
  node::WebhookQueue queue(dir.path(), chain.store(), 1,
                           settings_for("http://127.0.0.1:9/hooks", {node::WebhookEventType::redemption}));
  const crypto::SecretKey alice = TxFactory::customer(1);
  const ledger::PointValue half_cent{"EUR", 1, 2};
  chain.commit_all({chain.txs.issue(1, alice.public_key(), 1'000, "order-1"), chain.txs.set_point_value(1, half_cent),
                    chain.txs.set_point_value(2, half_cent)});
  queue.block_committed(committed_at(chain.store(), 1));
  const std::uint64_t expires_ms = pc::test::test_genesis_time_ms + 30 * day_ms;
  const ledger::SignedPaymentRequest at_1 = chain.txs.payment_request(1, "till-1-0042", 250, "EUR", 500, expires_ms);
  const ledger::SignedPaymentRequest at_2 = chain.txs.payment_request(2, "till-2-0007", 20, "EUR", 40, expires_ms);
  const ledger::Transaction paid_1 = chain.txs.pay_with_points(alice, at_1);
  chain.commit_all({paid_1});
  const ledger::Transaction paid_2 = chain.txs.pay_with_points(alice, at_2);
  chain.commit_all({paid_2});
  queue.block_committed(committed_at(chain.store(), 2));
  queue.block_committed(committed_at(chain.store(), 3));

  const auto events = drain(queue);
  REQUIRE(ids_of(events) == std::vector<std::string>{"2.0.redemption"});
  const auto redeemed = nlohmann::json::parse(events[0].body);
  CHECK(redeemed["type"] == "redemption");
  CHECK(redeemed["data"]["customer"] == crypto::encode_address(alice.public_key()));
  CHECK(redeemed["data"]["points"] == 500);
  CHECK(redeemed["data"]["payment_request"] == to_hex(at_1.request.id()));
  CHECK(redeemed["data"]["order_id"] == "till-1-0042");
  CHECK(redeemed["data"]["amount_minor"] == 250);
  CHECK(redeemed["data"]["currency"] == "EUR");
  CHECK(redeemed["data"]["tx_id"] == to_hex(paid_1.id()));
}

TEST_CASE("a full endpoint queue drops new events and then queues an events_dropped notice",
          "[webhooks][queue]") {
  // Proves the documented bound: with room for 2, five earns queue the first two and drop
  // three; delivering one makes room for a notice naming the count and the first and last
  // dropped ids; the drop total survives a reopen.
  TestChain chain;
  TempDir dir;
  node::WebhookSettings settings = settings_for("http://127.0.0.1:9/hooks");
  settings.endpoints[0].queue_events_max = 2;
  auto queue = std::make_unique<node::WebhookQueue>(dir.path(), chain.store(), 1, settings);
  const crypto::PublicKey alice = TxFactory::customer(1).public_key();
  for (int i = 0; i < 5; ++i) {
    chain.commit_all({chain.txs.issue(1, alice, 10, "order-" + std::to_string(i))});
    queue->block_committed(committed_at(chain.store(), chain.store().tip().height));
  }
  REQUIRE(queue->status().size() == 1);
  CHECK(queue->status()[0].queued == 2);
  CHECK(queue->status()[0].dropped_total == 3);
  auto first = queue->front(0);
  REQUIRE(first);
  CHECK(first->event_id == "1.0.earn");
  REQUIRE(queue->delivered(*first));
  queue.reset();  // its LevelDB lock goes first
  queue = std::make_unique<node::WebhookQueue>(dir.path(), chain.store(), 1, settings);
  const auto rest = drain(*queue);
  REQUIRE(rest.size() == 2);
  CHECK(rest[0].event_id == "2.0.earn");
  CHECK(rest[1].type == node::WebhookEventType::events_dropped);
  const auto notice = nlohmann::json::parse(rest[1].body);
  CHECK(notice["type"] == "events_dropped");
  CHECK(notice["data"]["count"] == 3);
  CHECK(notice["data"]["first_id"] == "3.0.earn");
  CHECK(notice["data"]["last_id"] == "5.0.earn");
  CHECK(queue->status()[0].dropped_total == 3);
}

TEST_CASE("points_expiring fires by block time, N days before expiry, with the points still held",
          "[webhooks][queue]") {
  // Proves that with points expiring after 30 days and a 7-day notice, a lot of partner 1's
  // points is announced at the first block at or after day 23 (not before), with what the
  // customer still holds of that lot after spending part; a lot spent entirely is not
  // announced, and the notice is queued once.
  TestChain chain({.partners = 1, .point_expiry_days = 30});
  TempDir dir;
  node::WebhookSettings settings = settings_for("http://127.0.0.1:9/hooks", {node::WebhookEventType::points_expiring});
  settings.expiring_notice_days = 7;
  node::WebhookQueue queue(dir.path(), chain.store(), 1, settings);
  const crypto::SecretKey alice = TxFactory::customer(1);
  const crypto::SecretKey bob = TxFactory::customer(2);
  const auto commit = [&](const std::vector<ledger::Transaction>& txs, std::uint64_t advance_ms) {
    chain.commit_all(txs, advance_ms);
    queue.block_committed(committed_at(chain.store(), chain.store().tip().height));
  };
  commit({chain.txs.issue(1, alice.public_key(), 100, "a"), chain.txs.issue(1, bob.public_key(), 20, "b")}, 1'000);
  const std::uint64_t issued_ms = chain.store().tip().time_ms;
  commit({chain.txs.redeem(alice, 1, 40, "Tea"), chain.txs.redeem(bob, 1, 20, "Cake")}, day_ms);
  commit({}, 23 * day_ms - day_ms - 2);  // 1 ms before the notice is due
  CHECK(queue.front(0) == std::nullopt);
  commit({}, 2);
  const auto deliveries = drain(queue);
  REQUIRE(deliveries.size() == 1);
  CHECK(deliveries[0].event_id == "1.0.points_expiring");
  const auto event = nlohmann::json::parse(deliveries[0].body);
  CHECK(event["data"]["customer"] == crypto::encode_address(alice.public_key()));
  CHECK(event["data"]["points"] == 60);
  CHECK(event["data"]["expires_at_ms"] == issued_ms + 30 * day_ms);
  CHECK(event["data"]["issuance"]["reference"] == "a");
  commit({}, day_ms);
  CHECK(queue.front(0) == std::nullopt);
}

TEST_CASE("tier_changed reaches every partner: an earned upgrade, a grant, and a grant that ends by itself",
          "[webhooks][queue][tiers]") {
  // Proves the tier_changed event of a version 4 chain with tiers, queued at partner 2 although
  // partners 1 and 3 caused the changes (a tier is coalition-wide): partner 1's Issue lifts
  // Alice to Silver (cause earn, id of the Issue's position), partner 3's GrantTier gives Bob
  // Gold (cause grant), and at day 20 Bob's grant ends by itself at the block's start (cause
  // time, id HEIGHT.start-0); an Issue that changes no tier queues nothing. A queue that was
  // closed while the blocks were committed queues the same events at its next open, from the
  // tier change records the store kept beside the blocks.
  TestChain chain(pc::test::tier_chain_options());
  TempDir dir;
  TempDir later_dir;
  const node::WebhookSettings settings = settings_for("http://127.0.0.1:9/hooks", {node::WebhookEventType::tier_changed});
  node::WebhookQueue queue(dir.path(), chain.store(), 2, settings);
  { node::WebhookQueue opened_at_genesis(later_dir.path(), chain.store(), 2, settings); }
  const crypto::PublicKey alice = TxFactory::customer(1).public_key();
  const crypto::PublicKey bob = TxFactory::customer(2).public_key();
  // Executes the block over the tip's state for its tier changes, as the node's commit does,
  // then commits the same block and tells the queue.
  const auto commit = [&](std::uint64_t time_ms, const std::vector<ledger::Transaction>& txs) {
    ledger::BlockExecutor executor(chain.state(), {chain.state().height() + 1, time_ms});
    for (const ledger::Transaction& tx : txs) REQUIRE(executor.apply(tx, ledger::SignatureCheck::verify).ok());
    node::CommittedBlock committed;
    committed.tier_changes = std::move(executor).finish().tier_changes;
    pc::test::state::commit_at(chain, time_ms, txs);
    const node::CommittedBlock stored = committed_at(chain.store(), chain.store().tip().height);
    committed.block = stored.block;
    committed.block_hash = stored.block_hash;
    queue.block_committed(committed);
  };
  const ledger::Transaction small = chain.txs.issue(1, bob, 100, "order-1");
  const ledger::Transaction crossing = chain.txs.issue(1, alice, 1'000, "order-2");
  commit(pc::test::state::at_day(1), {small, crossing});
  const ledger::Transaction grant = chain.txs.grant_tier(3, bob, 2, pc::test::state::at_day(20));
  commit(pc::test::state::at_day(2), {grant});
  commit(pc::test::state::at_day(20), {});

  const auto events = drain(queue);
  REQUIRE(ids_of(events) ==
          std::vector<std::string>{"1.1.tier_changed", "2.0.tier_changed", "3.start-0.tier_changed"});
  node::WebhookQueue later(later_dir.path(), chain.store(), 2, settings);
  const auto caught_up = drain(later);
  REQUIRE(caught_up.size() == events.size());
  for (std::size_t i = 0; i < events.size(); ++i) CHECK(caught_up[i].body == events[i].body);
  const auto earned = nlohmann::json::parse(events[0].body);
  CHECK(earned["type"] == "tier_changed");
  CHECK(earned["partner"] == 2);
  CHECK(earned["data"]["customer"] == crypto::encode_address(alice));
  CHECK(earned["data"]["direction"] == "upgraded");
  CHECK(earned["data"]["from_tier"] == 0);
  CHECK(earned["data"]["from_tier_name"] == "none");
  CHECK(earned["data"]["to_tier"] == 1);
  CHECK(earned["data"]["to_tier_name"] == "Silver");
  CHECK(earned["data"]["cause"] == "earn");
  CHECK(earned["data"]["partner"] == 1);
  CHECK(earned["data"]["tx_id"] == to_hex(crossing.id()));
  const auto granted = nlohmann::json::parse(events[1].body);
  CHECK(granted["data"]["customer"] == crypto::encode_address(bob));
  CHECK(granted["data"]["to_tier_name"] == "Gold");
  CHECK(granted["data"]["cause"] == "grant");
  CHECK(granted["data"]["partner"] == 3);
  const auto ended = nlohmann::json::parse(events[2].body);
  CHECK(ended["data"]["customer"] == crypto::encode_address(bob));
  CHECK(ended["data"]["direction"] == "downgraded");
  CHECK(ended["data"]["from_tier"] == 2);
  CHECK(ended["data"]["to_tier"] == 0);
  CHECK(ended["data"]["cause"] == "time");
  CHECK(ended["data"]["partner"].is_null());
  CHECK_FALSE(ended["data"].contains("tx_id"));
}

TEST_CASE("the sender signs each delivery and retries after a 500 and while the receiver is down",
          "[webhooks][sender]") {
  // Proves, against a real HTTP server on loopback: the body is the queued body, the
  // signature verifies with libsodium over timestamp "." body under the endpoint's secret;
  // an event answered 500 is sent again with the same id and body until a 2xx; an event
  // sent while nothing listens is delivered once the receiver is back; and events arrive in
  // queue order with nothing lost.
  WebhookReceiver receiver;
  receiver.answer_with(500);
  TestChain chain;
  TempDir dir;
  const node::WebhookSettings settings = settings_for(receiver.url());
  node::WebhookQueue queue(dir.path(), chain.store(), 1, settings);
  node::WebhookSender sender(queue, settings);
  const crypto::PublicKey alice = TxFactory::customer(1).public_key();
  chain.commit_all({chain.txs.issue(1, alice, 10, "order-1")});
  queue.block_committed(committed_at(chain.store(), 1));

  REQUIRE(receiver.wait_until([](const auto& requests) { return requests.size() >= 3; }, milliseconds(10'000)));
  receiver.answer_with(200);
  REQUIRE(receiver.wait_until([](const auto& requests) { return requests.back().answered_status == 200; },
                              milliseconds(10'000)));
  REQUIRE(receiver.wait_until([&](const auto&) { return queue.status()[0].queued == 0; }, milliseconds(10'000)));
  receiver.close();
  chain.commit_all({chain.txs.issue(1, alice, 20, "order-2")});
  queue.block_committed(committed_at(chain.store(), 2));
  chain.commit_all({chain.txs.issue(1, alice, 30, "order-3")});
  queue.block_committed(committed_at(chain.store(), 3));
  REQUIRE(queue.status()[0].queued == 2);
  receiver.open();
  REQUIRE(receiver.wait_until([](const auto& requests) { return requests.back().header("x-pointchain-event-id") == "3.0.earn"; },
                              milliseconds(10'000)));
  REQUIRE(receiver.wait_until([&](const auto&) { return queue.status()[0].queued == 0; }, milliseconds(10'000)));

  std::vector<std::string> delivered_ids;
  std::string first_body;
  for (const auto& request : receiver.requests()) {
    CHECK(request.method == "POST");
    CHECK(request.target == "/hooks");
    CHECK(request.header("content-type") == "application/json");
    const std::string timestamp = request.header("x-pointchain-timestamp");
    CHECK_FALSE(timestamp.empty());
    CHECK(request.header("x-pointchain-signature") == pc::test::expected_webhook_signature(secret, timestamp, request.body));
    CHECK(request.header("x-pointchain-signature") !=
          pc::test::expected_webhook_signature("another secret 0123", timestamp, request.body));
    const auto body = nlohmann::json::parse(request.body);
    CHECK(body["id"] == request.header("x-pointchain-event-id"));
    if (body["id"] == "1.0.earn") {
      if (first_body.empty()) first_body = request.body;
      CHECK(request.body == first_body);  // every attempt sends the same bytes
    }
    if (request.answered_status == 200) delivered_ids.push_back(body["id"]);
  }
  CHECK(delivered_ids == std::vector<std::string>{"1.0.earn", "2.0.earn", "3.0.earn"});
  CHECK(receiver.requests().front().answered_status == 500);
}

TEST_CASE("a restart in the middle of retries delivers the event later with the same id", "[webhooks][sender]") {
  // Proves that deliveries survive a restart: events whose attempts failed stay in the
  // queue's LevelDB when the sender and queue go away, and a new queue and sender on the same
  // directory deliver each of them, with the ids the failed attempts carried.
  WebhookReceiver receiver;
  receiver.answer_with(503);
  TestChain chain;
  TempDir dir;
  const node::WebhookSettings settings = settings_for(receiver.url());
  const crypto::PublicKey alice = TxFactory::customer(1).public_key();
  {
    node::WebhookQueue queue(dir.path(), chain.store(), 1, settings);
    node::WebhookSender sender(queue, settings);
    chain.commit_all({chain.txs.issue(1, alice, 10, "order-1"), chain.txs.issue(1, alice, 11, "order-2")});
    queue.block_committed(committed_at(chain.store(), 1));
    REQUIRE(receiver.wait_until([](const auto& requests) { return requests.size() >= 2; }, milliseconds(10'000)));
  }
  // While "down", another block commits: the queue catches up at open.
  chain.commit_all({chain.txs.issue(1, alice, 12, "order-3")});
  const std::size_t failed_attempts = receiver.requests().size();
  for (const auto& request : receiver.requests()) CHECK(request.header("x-pointchain-event-id") == "1.0.earn");
  receiver.answer_with(200);
  node::WebhookQueue queue(dir.path(), chain.store(), 1, settings);
  node::WebhookSender sender(queue, settings);
  REQUIRE(receiver.wait_until([&](const auto&) { return queue.status()[0].queued == 0; }, milliseconds(10'000)));
  std::vector<std::string> delivered;
  const auto requests = receiver.requests();
  for (std::size_t i = failed_attempts; i < requests.size(); ++i) {
    CHECK(requests[i].answered_status == 200);
    delivered.push_back(requests[i].header("x-pointchain-event-id"));
  }
  CHECK(delivered == std::vector<std::string>{"1.0.earn", "1.1.earn", "2.0.earn"});
}

TEST_CASE("retry delays double from the first delay up to the cap", "[webhooks][sender]") {
  // Proves the backoff schedule before jitter.
  node::WebhookSettings settings;
  settings.retry_initial_ms = 1'000;
  settings.retry_max_ms = 600'000;
  CHECK(node::webhook_retry_delay_ms(settings, 1) == 1'000);
  CHECK(node::webhook_retry_delay_ms(settings, 2) == 2'000);
  CHECK(node::webhook_retry_delay_ms(settings, 10) == 512'000);
  CHECK(node::webhook_retry_delay_ms(settings, 11) == 600'000);
  CHECK(node::webhook_retry_delay_ms(settings, 1'000'000) == 600'000);
}

TEST_CASE("a damaged tier change record costs that block's tier_changed, not the queue", "[webhooks][queue][tiers]") {
  // Proves that a queue catching up over a block whose tier change record does not decode
  // queues that block's other events and the later blocks' tier_changed, instead of stopping
  // at it: the record is derived data, and the chain is still whole.
  TestChain chain(pc::test::tier_chain_options());
  TempDir dir;
  const node::WebhookSettings settings =
      settings_for("http://127.0.0.1:9/hooks", {node::WebhookEventType::earn, node::WebhookEventType::tier_changed});
  { node::WebhookQueue opened_at_genesis(dir.path(), chain.store(), 1, settings); }
  const crypto::PublicKey alice = TxFactory::customer(1).public_key();
  const crypto::PublicKey bob = TxFactory::customer(2).public_key();
  pc::test::state::commit_at(chain, pc::test::state::at_day(1), {chain.txs.issue(1, alice, 1'000, "order-1")});
  pc::test::state::commit_at(chain, pc::test::state::at_day(2), {chain.txs.issue(1, bob, 1'000, "order-2")});
  leveldb::WriteOptions sync;
  sync.sync = true;
  REQUIRE(chain.store().database_for_tests().Put(sync, pc::test::tier_changes_key(1), "damaged").ok());

  node::WebhookQueue queue(dir.path(), chain.store(), 1, settings);
  CHECK(queue.cursor_height() == 2);
  CHECK(ids_of(drain(queue)) == std::vector<std::string>{"1.0.earn", "2.0.earn", "2.0.tier_changed"});
}
