// get_transaction's answer, byte for byte: what docs/rpc.md ("get_transaction") shows, written
// out here field by field from the block as get_block reads it, so that a faster path to the
// same answer (the proof from one chunk, the reads, the printing) cannot change a byte.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "crypto/address.hpp"
#include "ledger/merkle.hpp"
#include "rpc/json_views.hpp"
#include "tests/dispatched_node.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc;
using pc::test::TxFactory;
using crypto::Hash256;

// The shared one-validator node, with get_transaction's answer read through its dispatcher.
class QueriedNode : public test::DispatchedNode {
 public:
  std::string get_transaction_body(const Hash256& id) {
    const rpc::Reply reply =
        handle(R"({"jsonrpc":"2.0","id":1,"method":"get_transaction","params":{"id":")" + to_hex(id) + R"("}})");
    REQUIRE(reply.status == 200);
    return reply.body;
  }
};

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

// docs/rpc.md's transaction object of a Redeem, members in the order the answer prints them.
std::string redeem_object(const ledger::Transaction& tx) {
  const ledger::UnsignedTransaction& fields = tx.fields();
  const auto& redeem = std::get<ledger::Redeem>(fields.body);
  return R"({"chain_id":)" + quoted(fields.chain_id) + R"(,"customer":)" + quoted(crypto::encode_address(redeem.customer)) +
         R"(,"id":)" + quoted(to_hex(tx.id())) + R"(,"last_valid_height":)" + std::to_string(fields.last_valid_height) +
         R"(,"partner":)" + std::to_string(redeem.partner) + R"(,"points":)" + std::to_string(redeem.points) +
         R"(,"reward":"the \"big\" mug","sequence":)" + std::to_string(fields.sequence) + R"(,"signature":)" +
         quoted(to_hex(tx.signature())) + R"(,"type":"redeem"})";
}

}  // namespace

TEST_CASE("get_transaction answers a committed and a pending redeem byte for byte as documented",
          "[rpc][get_transaction]") {
  // Proves the whole answer text: for a redeem in the middle of a block of five, its block's
  // height and hash, its index, the Merkle path computed here over the block's ids, the root,
  // the canonical hex and the transaction object; for a pending one, status, hex and object
  // alone. The reward holds quotes, so the printing escapes a string too.
  QueriedNode harness;
  TxFactory txs;
  std::vector<ledger::Transaction> issues;
  std::vector<ledger::Transaction> redeems;
  for (int n = 1; n <= 5; ++n) {
    issues.push_back(txs.issue(2, TxFactory::customer(n).public_key(), 100, "order-" + std::to_string(n)));
    redeems.push_back(txs.redeem(TxFactory::customer(n), 3, 10 + static_cast<std::uint64_t>(n), "the \"big\" mug"));
  }
  harness.submit_all(issues);
  REQUIRE(harness.produce() == 1);
  harness.submit_all({redeems.begin(), redeems.begin() + 4});
  const std::uint64_t height = harness.produce();
  harness.submit_all({redeems[4]});  // stays pending: no block is produced after it

  auto block = harness.node().block_at(height);
  REQUIRE(block);
  const std::vector<Hash256> ids = block->tx_ids();
  REQUIRE(ids.size() == 4);
  const std::size_t index = 2;
  const ledger::Transaction& queried = block->transactions[index];
  std::string path = "[";
  for (const Hash256& node : ledger::merkle_path(ids, index)) path += (path.size() > 1 ? "," : "") + quoted(to_hex(node));
  path += "]";
  const std::string committed =
      R"({"id":1,"jsonrpc":"2.0","result":{"block_hash":)" + quoted(to_hex(block->header.hash())) + R"(,"height":)" +
      std::to_string(height) + R"(,"hex":)" + quoted(to_hex(queried.bytes())) + R"(,"index":2,"proof":{"count":4,"index":2,"merkle_root":)" +
      quoted(to_hex(block->header.merkle_root)) + R"(,"path":)" + path + R"(},"status":"committed","transaction":)" +
      redeem_object(queried) + "}}";
  CHECK(harness.get_transaction_body(queried.id()) == committed);

  const std::string pending = R"({"id":1,"jsonrpc":"2.0","result":{"hex":)" + quoted(to_hex(redeems[4].bytes())) +
                              R"(,"status":"pending","transaction":)" + redeem_object(redeems[4]) + "}}";
  CHECK(harness.get_transaction_body(redeems[4].id()) == pending);
}

namespace {

// The words in backticks of docs/rpc.md's "Transaction objects" row for `type`, with each
// `name: {a, b}` split into its names.
std::set<std::string> documented_fields(const std::string& type) {
  std::ifstream doc(std::filesystem::path(POINTCHAIN_SOURCE_DIR) / "docs" / "rpc.md");
  std::string line;
  while (std::getline(doc, line) && line != "#### Transaction objects") {
  }
  while (std::getline(doc, line) && !line.starts_with("| `" + type + "` ") && !line.starts_with("#")) {
  }
  INFO("docs/rpc.md needs a row for " << type);
  REQUIRE(line.starts_with("| `" + type + "` "));
  std::set<std::string> words;
  for (std::size_t open = line.find('`', line.find('|', 1)); open != std::string::npos;) {
    const std::size_t close = line.find('`', open + 1);
    REQUIRE(close != std::string::npos);
    std::string quoted = line.substr(open + 1, close - open - 1);
    for (char& c : quoted) {
      if (c == ':' || c == '{' || c == '}' || c == ',') c = ' ';
    }
    std::istringstream names(quoted);
    for (std::string name; names >> name;) words.insert(name);
    open = line.find('`', close + 1);
  }
  return words;
}

// Every member name in `value`, nested objects included.
void member_names(const nlohmann::json& value, std::set<std::string>& names) {
  if (!value.is_object()) return;
  for (const auto& [name, member] : value.items()) {
    names.insert(name);
    member_names(member, names);
  }
}

}  // namespace

TEST_CASE("docs/rpc.md's transaction objects table names every field of every transaction type", "[rpc][docs]") {
  // Proves that an outside reader of get_block finds each member a transaction object has
  // (nested terms, point values and payment requests included) in the documented row of its
  // type, for all fifteen types.
  TxFactory txs;
  const crypto::SecretKey alice = TxFactory::customer(1);
  ledger::RewardTerms reward;
  reward.name = "Mug";
  reward.cost_points = 10;
  ledger::StampCardTerms card;
  card.name = "Coffee card";
  card.stamps_needed = 3;
  card.currency = "EUR";
  card.reward_id = 1;
  ledger::BadgeTerms badge;
  badge.name = "First";
  badge.rule = ledger::BadgeRule::action_count;
  badge.reason = ledger::Reason::purchase;
  badge.threshold = 1;
  const std::vector<ledger::Transaction> all = {
      txs.issue_for(1, alice.public_key(), 5, "order-1", ledger::Reason::purchase, ledger::Purchase{500, "EUR"}),
      txs.redeem(alice, 1, 5),
      txs.transfer(alice, TxFactory::customer(2).public_key(), 1),
      txs.reverse(1, "order-1"),
      txs.publish_reward(1, 1, reward),
      txs.redeem_reward(alice, 1, 1),
      txs.use_voucher(1, "0123456789AB"),
      txs.partial_return(1, "order-1", 100),
      txs.grant_tier(1, alice.public_key(), 1, 1'800'000'000'000),
      txs.prepaid_top_up(1, 1'000, "top-up-1"),
      txs.set_point_value(1, ledger::PointValue{"EUR", 1, 1}),
      txs.pay_with_points(alice, txs.payment_request(1, "till-1", 100, "EUR", 100, 1'800'000'000'000)),
      txs.define_stamp_card(1, 1, card),
      txs.define_badge(1, 1, badge),
      txs.award_badge(1, 1, alice.public_key()),
  };
  std::set<ledger::TxType> types;
  for (const ledger::Transaction& tx : all) {
    types.insert(tx.type());
    const nlohmann::json object = rpc::transaction_json(tx);
    const std::string type = object.at("type").get<std::string>();
    INFO(type << ": " << object.dump());
    const std::set<std::string> documented = documented_fields(type);
    std::set<std::string> names;
    member_names(object, names);
    for (const char* common : {"id", "type", "chain_id", "sequence", "last_valid_height", "signature"}) {
      CHECK(names.erase(common) == 1);
    }
    for (const std::string& name : names) {
      INFO("the member " << name);
      CHECK(documented.contains(name));
    }
  }
  std::size_t named_types = 0;  // every type the ledger has a name for
  for (unsigned type = 0; type <= 255; ++type) {
    named_types += ledger::tx_type_name(static_cast<ledger::TxType>(type)) != "unknown" ? std::size_t{1} : std::size_t{0};
  }
  CHECK(types.size() == named_types);
}
