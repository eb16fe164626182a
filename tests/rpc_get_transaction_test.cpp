// get_transaction's answer, byte for byte: what docs/rpc.md ("get_transaction") shows, written
// out here field by field from the block as get_block reads it, so that a faster path to the
// same answer (the proof from one chunk, the reads, the printing) cannot change a byte.
#include <catch2/catch.hpp>

#include <string>

#include "crypto/address.hpp"
#include "ledger/merkle.hpp"
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
