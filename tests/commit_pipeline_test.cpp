// The node's commit pipeline and its readers' snapshots, on a real store: the order of its
// steps (write, publish, revalidate, observers), that a failed write publishes nothing, and
// that a reader holding a snapshot sees one height while blocks commit.
#include <catch2/catch.hpp>

#include <atomic>
#include <shared_mutex>
#include <thread>

#include "node/demo.hpp"
#include "node/commit_pipeline.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc;
using pc::test::TxFactory;

constexpr std::uint64_t start_ms = pc::test::test_genesis_time_ms + 10'000;

// A store, a mempool and a pipeline over them, as the node's writer holds them.
class PipelineHarness {
 public:
  PipelineHarness() : genesis_(pc::test::make_genesis()), clock_(start_ms) {
    auto created = ledger::ChainStore::create(dir_.path() / "chain", genesis_);
    REQUIRE(created);
    store_ = std::move(created).value();
    committed_height_ = std::make_unique<node::CommittedHeightFile>(committed_height_path(), 0);
    mempool_ = std::make_unique<node::Mempool>(store_->state(), node::MempoolLimits{}, clock_.now_ms());
    pipeline_ = std::make_unique<node::CommitPipeline>(*store_, *mempool_, pending_mutex_, published_,
                                                       *committed_height_, clock_);
    pipeline_->publish_initial();
  }
  ~PipelineHarness() { published_.store(nullptr); }

  void admit(const ledger::Transaction& tx) { REQUIRE(mempool_->admit(tx, clock_.now_ms())); }

  // A block of everything pending, executed the way the node's proposer does.
  node::ProducedBlock propose() {
    clock_.advance_ms(1'000);
    return node::produce_block(store_->state(), store_->tip(), mempool_->transactions(), clock_.now_ms(),
                               node::ProposerIdentity{1, &validator_}, ledger::SignatureCheck::already_verified);
  }

  ledger::ChainStore& store() { return *store_; }
  node::Mempool& mempool() { return *mempool_; }
  node::CommitPipeline& pipeline() { return *pipeline_; }
  node::PublishedSnapshot& published() { return published_; }
  std::filesystem::path committed_height_path() const { return dir_.path() / node::CommittedHeightFile::file_name; }

 private:
  pc::test::TempDir dir_;
  ledger::Genesis genesis_;
  node::ManualClock clock_;
  crypto::SecretKey validator_ = pc::test::seeded_key("partner 1 validator");
  std::shared_mutex pending_mutex_;
  node::PublishedSnapshot published_;
  std::unique_ptr<ledger::ChainStore> store_;
  std::unique_ptr<node::CommittedHeightFile> committed_height_;
  std::unique_ptr<node::Mempool> mempool_;
  std::unique_ptr<node::CommitPipeline> pipeline_;
};

// Records, when told of a block, what the rest of the node looked like at that moment.
class RecordingObserver final : public node::CommitObserver {
 public:
  RecordingObserver(std::string name, PipelineHarness& harness, std::vector<std::string>& calls)
      : name_(std::move(name)), harness_(harness), calls_(calls) {}

  void block_committed(const node::CommittedBlock& block) override {
    calls_.push_back(name_);
    const std::uint64_t height = block.block.header.height;
    auto stored = harness_.store().stored_tip();
    on_disk = stored && stored->height == height;
    height_recorded = node::CommittedHeightFile::read(harness_.committed_height_path()) == height;
    auto snapshot = harness_.published().load();
    published = snapshot->tip.height == height && snapshot->tip.block_hash == block.block_hash;
    // The snapshot was taken after the write: its own view holds the block.
    snapshot_holds_block = snapshot->store.block_at(height).ok();
    bool any_left = false;
    for (const ledger::Hash256& id : block.ids) any_left = any_left || harness_.mempool().find(id) != nullptr;
    mempool_revalidated = !any_left;
  }

  bool on_disk = false;
  bool height_recorded = false;
  bool published = false;
  bool snapshot_holds_block = false;
  bool mempool_revalidated = false;

 private:
  std::string name_;
  PipelineHarness& harness_;
  std::vector<std::string>& calls_;
};

}  // namespace

TEST_CASE("the commit pipeline writes, then publishes, then revalidates, then tells observers in order",
          "[node][pipeline]") {
  // Proves the pipeline's order: by the time any observer hears of a block, it is on disk,
  // the published snapshot (taken after the write) shows it, and the mempool no longer holds
  // its transactions; observers are told in the order they were added, once per block.
  PipelineHarness harness;
  std::vector<std::string> calls;
  RecordingObserver history("history", harness, calls);
  RecordingObserver websocket("websocket", harness, calls);
  harness.pipeline().add_observer(history);
  harness.pipeline().add_observer(websocket);

  TxFactory txs;
  const auto customer = TxFactory::customer(1);
  harness.admit(txs.issue(2, customer.public_key(), 500, "order-1"));
  harness.admit(txs.issue(2, customer.public_key(), 20, "order-2"));
  node::ProducedBlock produced = harness.propose();
  REQUIRE(produced.block.transactions.size() == 2);

  auto committed = harness.pipeline().commit(std::move(produced.block), std::move(produced.changes));
  REQUIRE(committed);
  CHECK((*committed)->block.header.height == 1);
  CHECK(calls == std::vector<std::string>{"history", "websocket"});
  for (const RecordingObserver* observer : {&history, &websocket}) {
    CHECK(observer->on_disk);
    CHECK(observer->height_recorded);
    CHECK(observer->published);
    CHECK(observer->snapshot_holds_block);
    CHECK(observer->mempool_revalidated);
  }
  CHECK(harness.mempool().empty());
  CHECK(harness.published().load()->totals.issued == 520);
}

TEST_CASE("a failed block write publishes nothing, tells no observer and keeps the mempool", "[node][pipeline]") {
  // Proves step 1 stops the pipeline: a block whose write is refused (its changes are not
  // its own, so the store refuses it before LevelDB) leaves the published snapshot, the
  // store's tip, the mempool and the observers exactly as they were.
  PipelineHarness harness;
  std::vector<std::string> calls;
  RecordingObserver observer("observer", harness, calls);
  harness.pipeline().add_observer(observer);

  TxFactory txs;
  const auto customer = TxFactory::customer(1);
  harness.admit(txs.issue(2, customer.public_key(), 500, "order-1"));
  node::ProducedBlock produced = harness.propose();
  produced.changes.state_hash[0] ^= 0x01;
  const std::shared_ptr<const node::Snapshot> before = harness.published().load();

  auto committed = harness.pipeline().commit(std::move(produced.block), std::move(produced.changes));
  REQUIRE_FALSE(committed);
  CHECK(committed.error().code == ledger::Code::bad_state_hash);
  CHECK(harness.published().load() == before);
  CHECK(harness.store().tip().height == 0);
  auto stored = harness.store().stored_tip();
  REQUIRE(stored);
  CHECK(stored->height == 0);
  CHECK(harness.mempool().size() == 1);
  CHECK(calls.empty());
  CHECK(node::CommittedHeightFile::read(harness.committed_height_path()) == 0);
  // The store refused the block before LevelDB and can still write: no storage failure.
  CHECK_FALSE(harness.pipeline().failure());
}

TEST_CASE("a reader holding a snapshot sees one height while blocks commit", "[node][pipeline][snapshot]") {
  // Proves readers need no lock against the writer: a snapshot taken before commits keeps
  // answering for its own height (tip, totals, blocks, accounts), and a reader thread that
  // loads snapshots while 20 blocks commit always finds them internally consistent.
  PipelineHarness harness;
  TxFactory txs;
  const auto customer = TxFactory::customer(1);
  harness.admit(txs.issue(2, customer.public_key(), 100, "order-0"));
  node::ProducedBlock first = harness.propose();
  REQUIRE(harness.pipeline().commit(std::move(first.block), std::move(first.changes)));
  const std::shared_ptr<const node::Snapshot> held = harness.published().load();
  REQUIRE(held->tip.height == 1);

  std::atomic<bool> done{false};
  std::atomic<std::size_t> inconsistent{0};
  std::atomic<std::size_t> reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      const std::shared_ptr<const node::Snapshot> snapshot = harness.published().load();
      const std::uint64_t height = snapshot->tip.height;
      auto tip_block = snapshot->store.block_at(height);
      auto next_block = snapshot->store.block_at(height + 1);
      auto account = snapshot->store.account(customer.public_key());
      const bool consistent = tip_block && tip_block->header.hash() == snapshot->tip.block_hash && !next_block &&
                              next_block.error().code == ledger::Code::not_found && account && account->has_value() &&
                              (*account)->balance() == snapshot->totals.balance_sum &&
                              (*account)->balance() == 100 * height;
      if (!consistent) ++inconsistent;
      ++reads;
    }
  });
  // Commits start once the reader has read: on a loaded machine its thread may otherwise not
  // run before the twenty commits are over, and the test would prove nothing.
  while (reads.load() == 0) std::this_thread::yield();
  for (int i = 1; i <= 20; ++i) {
    harness.admit(txs.issue(2, customer.public_key(), 100, "order-" + std::to_string(i)));
    node::ProducedBlock produced = harness.propose();
    REQUIRE(harness.pipeline().commit(std::move(produced.block), std::move(produced.changes)));
  }
  done = true;
  reader.join();
  CHECK(reads.load() > 0);
  CHECK(inconsistent.load() == 0);

  // The snapshot held from height 1 still answers for height 1.
  CHECK(held->tip.height == 1);
  CHECK(held->totals.issued == 100);
  CHECK(held->store.block_at(2).error().code == ledger::Code::not_found);
  auto old_account = held->store.account(customer.public_key());
  REQUIRE(old_account);
  REQUIRE(old_account->has_value());
  CHECK((*old_account)->balance() == 100);
  CHECK(harness.published().load()->tip.height == 21);
  CHECK(harness.published().load()->totals.issued == 2'100);
}
