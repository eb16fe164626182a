// The node drives the consensus engine on its writer thread: a validator holding more than
// 2/3 of the voting power commits through the engine's rounds by itself, one holding less
// takes part (proposes, votes, times out) but commits nothing, and a partner with no power
// follows without signing. In-process on a ManualClock; a recording ConsensusPeers stands in
// for the network, which does not exist yet.
#include <catch2/catch.hpp>

#include <mutex>

#include "ledger/chain.hpp"
#include "ledger/limits.hpp"
#include "ledger/proposer.hpp"
#include "node/consensus/consensus.hpp"
#include "node/consensus_files.hpp"
#include "node/consensus_peers.hpp"
#include "node/node.hpp"
#include "tests/fixtures.hpp"

namespace {

using namespace pc;
using pc::test::TxFactory;

constexpr std::uint64_t interval_ms = 1'000;

// What the node sent towards the other validators.
class RecordingPeers final : public node::ConsensusPeers {
 public:
  void send_to_all(const consensus::Message& message) override {
    std::lock_guard lock(mutex_);
    sent_.push_back(message);
  }
  void send_to(ledger::PartnerId, const consensus::Message& message) override {
    std::lock_guard lock(mutex_);
    sent_.push_back(message);
  }
  std::size_t connected_count() const override { return 0; }

  std::vector<consensus::Message> sent() const {
    std::lock_guard lock(mutex_);
    return sent_;
  }
  std::vector<ledger::Proposal> proposals() const {
    std::vector<ledger::Proposal> found;
    for (const consensus::Message& message : sent()) {
      if (const auto* proposal = std::get_if<consensus::ProposalMessage>(&message)) found.push_back(proposal->proposal);
    }
    return found;
  }
  std::vector<ledger::Vote> votes(ledger::VoteType type) const {
    std::vector<ledger::Vote> found;
    for (const consensus::Message& message : sent()) {
      const auto* vote = std::get_if<ledger::Vote>(&message);
      if (vote != nullptr && vote->type == type) found.push_back(*vote);
    }
    return found;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<consensus::Message> sent_;
};

// Partner `self` of a genesis with the given voting powers (partners 1..powers.size()),
// on a fresh store in a temp dir.
class ConsensusHarness {
 public:
  ConsensusHarness(std::vector<std::uint64_t> powers, ledger::PartnerId self, node::MempoolLimits limits = {},
                   std::uint32_t point_expiry_days = 0)
      : genesis_(pc::test::make_genesis({.partners = powers.size(),
                                         .voting_powers = powers,
                                         .point_expiry_days = point_expiry_days})),
        clock_(pc::test::test_genesis_time_ms + 10'000),
        self_(self) {
    config_.data_dir = dir_.path();
    config_.block_interval_ms = interval_ms;
    config_.mempool = limits;
    REQUIRE(ledger::ChainStore::create(dir_.path() / "chain", genesis_).ok());
    start();
  }

  // Stops the node and starts it again on the same data dir (a clean stop commits nothing
  // that could not be committed anyway).
  void restart() {
    node_.reset();
    start();
  }
  // Stops the node; restart() starts it again.
  void stop() { node_.reset(); }
  const std::filesystem::path& data_dir() const { return dir_.path(); }

  node::Node& node() { return *node_; }
  node::ManualClock& clock() { return clock_; }
  const RecordingPeers& peers() const { return peers_; }
  const ledger::Genesis& genesis() const { return genesis_; }

  // Submits an issuance by this node's partner for a fresh customer.
  void submit_one() {
    const auto customer = TxFactory::customer(static_cast<int>(++submitted_));
    REQUIRE(node_->submit(txs_.issue(self_, customer.public_key(), 10, "order-" + std::to_string(submitted_)).bytes()));
  }
  ledger::Result<ledger::Hash256> try_submit() {
    const auto customer = TxFactory::customer(static_cast<int>(++submitted_));
    return node_->submit(txs_.issue(self_, customer.public_key(), 10, "order-" + std::to_string(submitted_)).bytes());
  }

  // Moves the clock by `step_ms` at a time, letting the node act each time, until a block
  // commits or `limit_ms` have passed. The committed height, if any.
  std::optional<std::uint64_t> run_for(std::uint64_t limit_ms, std::uint64_t step_ms = 100) {
    for (std::uint64_t waited = 0; waited < limit_ms; waited += step_ms) {
      clock_.advance_ms(step_ms);
      if (auto height = node_->produce_if_due()) return height;
    }
    return std::nullopt;
  }

 private:
  pc::test::TempDir dir_;
  ledger::Genesis genesis_;
  node::ManualClock clock_;
  ledger::PartnerId self_;
  node::NodeConfig config_;
  node::WorkerPool workers_{2, "pc-cons-test"};
  RecordingPeers peers_;
  TxFactory txs_;
  std::size_t submitted_ = 0;
  std::unique_ptr<node::Node> node_;

  void start() {
    node_ = std::make_unique<node::Node>(config_, genesis_, self_,
                                         pc::test::seeded_key("partner " + std::to_string(self_) + " validator"),
                                         TxFactory::partner_issuer(self_), clock_, workers_, node::StorageOptions{},
                                         &peers_);
  }
};

}  // namespace

TEST_CASE("a validator with all the power commits each due block through a round of one", "[node][consensus]") {
  // Proves the one-validator node commits through the engine: the block's certificate is the
  // engine's precommit of round 0 and verifies, the proposal and both votes went out, and
  // with nothing pending no round starts, so no empty block, however long it waits.
  ConsensusHarness harness({1, 0, 0}, 1);
  harness.submit_one();
  harness.clock().advance_ms(interval_ms);
  REQUIRE(harness.node().produce_if_due() == 1);

  const auto block = harness.node().block_at(1);
  REQUIRE(block.ok());
  CHECK(block->header.round == 0);
  CHECK(block->commit.round == 0);
  REQUIRE(block->commit.signatures.size() == 1);
  CHECK(block->commit.signatures[0].validator == 1);
  CHECK(ledger::check_block_certificate(harness.genesis(), *block).ok());
  const crypto::Hash256 id = block->header.hash();

  const auto proposals = harness.peers().proposals();
  REQUIRE(proposals.size() == 1);
  CHECK(proposals[0].block_id == id);
  CHECK(proposals[0].round == 0);
  const auto prevotes = harness.peers().votes(ledger::VoteType::prevote);
  const auto precommits = harness.peers().votes(ledger::VoteType::precommit);
  REQUIRE(prevotes.size() == 1);
  REQUIRE(precommits.size() == 1);
  CHECK(prevotes[0].block_id == id);
  CHECK(precommits[0].block_id == id);

  const std::size_t sent = harness.peers().sent().size();
  CHECK_FALSE(harness.run_for(20 * interval_ms).has_value());
  CHECK(harness.node().chain_info().tip.height == 1);
  CHECK(harness.peers().sent().size() == sent);  // no round ran: nothing was signed
  const node::ConsensusInfo consensus = harness.node().chain_info().consensus;
  CHECK(consensus.commits_alone);
  CHECK(consensus.height == 2);
  CHECK(consensus.round == 0);
}

TEST_CASE("a validator with all the power commits an expiry block with no transactions", "[node][consensus]") {
  // Proves a due expiry starts a round without pending transactions, and its block is
  // certified by the engine like any other.
  ConsensusHarness harness({1}, 1, {}, 1);
  harness.submit_one();
  harness.clock().advance_ms(interval_ms);
  REQUIRE(harness.node().produce_if_due() == 1);
  const std::uint64_t earned_ms = harness.node().chain_info().tip.time_ms;
  harness.clock().set_ms(earned_ms + ledger::ms_per_day);
  REQUIRE(harness.node().produce_if_due() == 2);
  const auto block = harness.node().block_at(2);
  REQUIRE(block.ok());
  CHECK(block->transactions.empty());
  CHECK(ledger::check_block_certificate(harness.genesis(), *block).ok());
  CHECK(harness.node().chain_info().totals.expired == 10);
}

TEST_CASE("a validator with 3 of 4 power commits alone, also after another proposer's round times out",
          "[node][consensus]") {
  // Proves that more than 2/3 of the power in one validator is enough without any peer, with
  // unequal powers: at heights where the other validator proposes round 0, the propose and
  // precommit timeouts (the writer's timer, on the ManualClock) move this one to its own
  // round, and the certificate of that round verifies with its precommit alone.
  ConsensusHarness harness({3, 1}, 1);
  bool saw_later_round = false;
  for (std::uint64_t height = 1; height <= 4; ++height) {
    const auto schedule = ledger::ProposerSchedule::for_height(harness.genesis(), height);
    std::uint32_t own_round = 0;
    while (schedule.proposer(own_round) != 1) ++own_round;
    harness.submit_one();
    const auto committed = harness.run_for(60'000);
    REQUIRE(committed == height);
    const auto block = harness.node().block_at(height);
    REQUIRE(block.ok());
    CHECK(block->header.round == own_round);
    CHECK(block->commit.round == own_round);
    CHECK(block->commit.signatures.size() == 1);
    CHECK(ledger::check_block_certificate(harness.genesis(), *block).ok());
    saw_later_round = saw_later_round || own_round > 0;
  }
  CHECK(saw_later_round);  // the schedule gave partner 2 round 0 at some height
  CHECK(harness.node().chain_info().consensus.commits_alone);
}

TEST_CASE("a validator with 1/4 of the power proposes and votes when due but commits nothing",
          "[node][consensus]") {
  // Proves a validator without a 2/3 majority starts, takes part in its rounds (proposes on
  // its turn, prevotes its own valid block, rebroadcasts), never commits or precommits a
  // block without more than 2/3, says it has no peers, and its mempool stays bounded.
  node::MempoolLimits limits;
  limits.tx_count_max = 5;
  ConsensusHarness harness({1, 1, 1, 1}, 1, limits);
  REQUIRE(ledger::ProposerSchedule::for_height(harness.genesis(), 1).proposer(0) == 1);

  const node::ConsensusInfo at_start = harness.node().chain_info().consensus;
  CHECK(at_start.voting_power == 1);
  CHECK(at_start.total_voting_power == 4);
  CHECK_FALSE(at_start.commits_alone);
  CHECK(at_start.peers == 0);
  CHECK(node::consensus_status(at_start).find("no peers") != std::string::npos);

  // Nothing pending: nothing proposed.
  CHECK_FALSE(harness.run_for(5 * interval_ms).has_value());
  CHECK(harness.peers().sent().empty());

  harness.submit_one();
  CHECK_FALSE(harness.run_for(interval_ms).has_value());
  const auto proposals = harness.peers().proposals();
  REQUIRE_FALSE(proposals.empty());
  CHECK(proposals[0].height == 1);
  CHECK(proposals[0].round == 0);
  const auto prevotes = harness.peers().votes(ledger::VoteType::prevote);
  REQUIRE_FALSE(prevotes.empty());
  CHECK(prevotes[0].block_id == proposals[0].block_id);

  // Minutes pass: it rebroadcasts, and nothing commits.
  const std::size_t sent = harness.peers().sent().size();
  CHECK_FALSE(harness.run_for(120'000, 1'000).has_value());
  CHECK(harness.peers().sent().size() > sent);
  CHECK(harness.node().next_check_ms() <= harness.clock().now_ms() + consensus::rebroadcast_interval_ms);
  for (const ledger::Vote& precommit : harness.peers().votes(ledger::VoteType::precommit)) {
    CHECK_FALSE(precommit.block_id.has_value());
  }
  CHECK(harness.node().chain_info().tip.height == 0);
  CHECK(harness.node().chain_info().consensus.height == 1);

  // The mempool keeps accepting up to its limit, then refuses.
  for (int i = 0; i < 4; ++i) harness.submit_one();
  auto refused = harness.try_submit();
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ledger::Code::too_large);
  CHECK(harness.node().chain_info().pending_count == 5);
  // At shutdown nothing commits.
  CHECK_FALSE(harness.node().produce_pending().has_value());
}

TEST_CASE("a validator that is not round 0's proposer prevotes nil when the propose timeout fires",
          "[node][consensus]") {
  // Proves timeouts run through the node's timer: with work pending, partner 2 of four equal
  // validators waits for partner 1's proposal, and once propose_timeout_ms has passed on the
  // clock, prevotes nil; it proposes nothing in a round that is not its own.
  ConsensusHarness harness({1, 1, 1, 1}, 2);
  REQUIRE(ledger::ProposerSchedule::for_height(harness.genesis(), 1).proposer(0) == 1);
  harness.submit_one();
  harness.clock().advance_ms(interval_ms);
  CHECK_FALSE(harness.node().produce_if_due().has_value());
  CHECK(harness.peers().votes(ledger::VoteType::prevote).empty());
  CHECK(harness.node().next_check_ms() <= harness.clock().now_ms() + consensus::propose_timeout_ms);

  harness.clock().advance_ms(consensus::propose_timeout_ms - 1);
  CHECK_FALSE(harness.node().produce_if_due().has_value());
  CHECK(harness.peers().votes(ledger::VoteType::prevote).empty());
  harness.clock().advance_ms(1);
  CHECK_FALSE(harness.node().produce_if_due().has_value());
  // The rebroadcast timer falls due at the same moment and sends the prevote again.
  const auto prevotes = harness.peers().votes(ledger::VoteType::prevote);
  REQUIRE_FALSE(prevotes.empty());
  for (const ledger::Vote& prevote : prevotes) {
    CHECK(prevote == prevotes.front());
    CHECK_FALSE(prevote.block_id.has_value());
    CHECK(prevote.round == 0);
    CHECK(prevote.validator == 2);
  }
  CHECK(harness.peers().proposals().empty());
}

TEST_CASE("a partner with no voting power follows and signs nothing", "[node][consensus]") {
  // Proves a follower runs with a null signer: it accepts transactions, sends no proposal or
  // vote, commits nothing by itself, and says it follows.
  ConsensusHarness harness({1, 0, 0}, 2);
  harness.submit_one();
  CHECK_FALSE(harness.run_for(10 * interval_ms).has_value());
  CHECK(harness.peers().sent().empty());
  const node::ConsensusInfo consensus = harness.node().chain_info().consensus;
  CHECK(consensus.voting_power == 0);
  CHECK_FALSE(consensus.commits_alone);
  CHECK(node::consensus_status(consensus).find("following") != std::string::npos);
  CHECK(harness.node().chain_info().pending_count == 1);
}

TEST_CASE("a restarted validator resumes its height from its consensus files and re-signs only what it signed",
          "[node][consensus]") {
  // Proves the node's write-ahead log and signer record are the synced files of
  // data_dir/consensus: a validator with 1/4 of the power that proposed and prevoted at
  // height 1 is restarted with an empty mempool (it is not saved), so a fresh block would
  // differ; it sends the same proposal and prevote again and nothing conflicting, and the signer
  // record on disk names the height and step it signed last.
  const std::vector<std::uint64_t> powers{1, 1, 1, 1};
  const ledger::PartnerId self =
      ledger::ProposerSchedule::for_height(pc::test::make_genesis({.partners = 4, .voting_powers = powers}), 1)
          .proposer(0);
  ConsensusHarness harness(powers, self);
  harness.submit_one();
  harness.clock().advance_ms(interval_ms);
  CHECK_FALSE(harness.node().produce_if_due().has_value());
  const auto proposals = harness.peers().proposals();
  const auto prevotes = harness.peers().votes(ledger::VoteType::prevote);
  REQUIRE(proposals.size() == 1);
  REQUIRE(prevotes.size() == 1);
  CHECK(prevotes[0].block_id == proposals[0].block_id);

  harness.restart();
  auto signer_state = node::FileSignerStateStore::open(harness.data_dir() / node::consensus_directory_name);
  REQUIRE(signer_state.ok());
  const auto last = (*signer_state)->load();
  REQUIRE(last.has_value());
  CHECK(last->height == 1);
  CHECK(last->round == 0);
  CHECK(last->step == consensus::Step::prevote);

  const std::size_t sent_before = harness.peers().sent().size();
  CHECK_FALSE(harness.run_for(3 * consensus::rebroadcast_interval_ms).has_value());
  const auto all_proposals = harness.peers().proposals();
  const auto all_prevotes = harness.peers().votes(ledger::VoteType::prevote);
  REQUIRE(harness.peers().sent().size() > sent_before);
  REQUIRE(all_proposals.size() > proposals.size());
  for (const ledger::Proposal& proposal : all_proposals) {
    if (proposal.height == 1 && proposal.round == 0) CHECK(proposal.block_id == proposals[0].block_id);
  }
  for (const ledger::Vote& vote : all_prevotes) {
    if (vote.height == 1 && vote.round == 0) CHECK(vote.block_id == prevotes[0].block_id);
  }
  CHECK(harness.peers().votes(ledger::VoteType::precommit).empty());
}

TEST_CASE("a log file of a committed height that a crash left behind is deleted at the next start, unreplayed",
          "[node][consensus]") {
  // Proves a crash between a height's commit and the deletion of its log file (done off the
  // writer's path, so such a window exists) is harmless: the next start lists the file, does
  // not replay it (the node resumes at the height after its tip and commits it), and deletes it.
  ConsensusHarness harness({1, 0, 0}, 1);
  harness.submit_one();
  harness.clock().advance_ms(interval_ms);
  REQUIRE(harness.node().produce_if_due() == 1);
  harness.stop();
  const ledger::Genesis& genesis = harness.genesis();
  std::filesystem::path left_behind;
  {
    // Height 1's records as its engine wrote them (work, the own proposal and prevote), signed
    // through a signer state in memory so that the node's own record stays at height 1.
    auto files = node::open_consensus_files(harness.data_dir());
    REQUIRE(files.ok());
    consensus::MemorySignerStateStore scratch;
    const crypto::SecretKey validator_key = pc::test::seeded_key("partner 1 validator");  // the guard keeps a reference
    consensus::SignerGuard guard(validator_key, scratch);
    consensus::Engine engine(genesis, 1, &guard, *files->log);
    const std::uint64_t now_ms = harness.clock().now_ms();
    (void)engine.start_height({1, genesis.hash(), genesis.genesis_time_ms,
                               ledger::ProposerSchedule::for_height(genesis, 1), false},
                              now_ms);
    (void)engine.on_work_available(now_ms);
    (void)engine.on_timeout({consensus::TimeoutKind::propose, 1, 0, 0}, now_ms + consensus::propose_timeout_ms);
    REQUIRE_FALSE(files->log->records(1).empty());
    left_behind = files->log->file_of(1);
  }
  REQUIRE(std::filesystem::exists(left_behind));
  harness.restart();
  CHECK(harness.node().chain_info().consensus.height == 2);
  harness.submit_one();
  harness.clock().advance_ms(interval_ms);
  CHECK(harness.run_for(5 * interval_ms) == 2);
  harness.stop();
  CHECK_FALSE(std::filesystem::exists(left_behind));
}

TEST_CASE("a node whose consensus log holds a checksummed record it cannot replay refuses to start",
          "[node][consensus]") {
  // Proves that a write-ahead log record with a valid checksum but a payload the engine
  // cannot decode (another build's, or damaged before it was checksummed) makes the node
  // refuse to start with a corruption error naming the file and the record, as for other
  // damage to its consensus files, rather than abort in the replay; and that the file is
  // left as it was for the operator.
  ConsensusHarness harness({1}, 1);
  harness.stop();
  const std::filesystem::path wal = harness.data_dir() / node::consensus_directory_name / "wal";
  std::filesystem::path file;
  {
    // The framing is the log's own; the payload is a vote record whose vote is garbage.
    auto log = node::FileWriteAheadLog::open(wal, [](ByteSpan) { return ledger::Status{}; });
    REQUIRE(log.ok());
    (*log)->append(1, Bytes{2, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0xde, 0xad, 0xbe, 0xef});
    file = (*log)->file_of(1);
  }
  const std::uintmax_t size = std::filesystem::file_size(file);
  try {
    harness.restart();
    FAIL("the node started on a log it cannot replay");
  } catch (const std::runtime_error& error) {
    const std::string what = error.what();
    CHECK(what.find("corruption") != std::string::npos);
    CHECK(what.find(file.string() + ": record 0") != std::string::npos);
  }
  CHECK(std::filesystem::file_size(file) == size);
}

TEST_CASE("evidence found again when a restarted validator replays its height is stored once",
          "[node][consensus][evidence]") {
  // Proves the whole path of a replayed equivocation: a height's write-ahead log holds two
  // conflicting prevotes of validator 2 (written, as the engine writes its events, before this
  // validator's own nil prevote); each start of the node replays the height, the engine
  // reports the pair again, and the node keeps it once: one evidence record after two starts.
  const std::vector<std::uint64_t> powers{1, 1, 1, 1};
  ConsensusHarness harness(powers, 1);
  harness.stop();
  const ledger::Genesis& genesis = harness.genesis();
  {
    auto files = node::open_consensus_files(harness.data_dir());
    REQUIRE(files.ok());
    const crypto::SecretKey key = pc::test::seeded_key("partner 1 validator");
    consensus::SignerGuard guard(key, *files->signer_state);
    consensus::Engine engine(genesis, 1, &guard, *files->log);
    const std::uint64_t now_ms = harness.clock().now_ms();
    (void)engine.start_height({1, genesis.hash(), genesis.genesis_time_ms,
                               ledger::ProposerSchedule::for_height(genesis, 1), false},
                              now_ms);
    const crypto::SecretKey other = pc::test::seeded_key("partner 2 validator");
    std::size_t found = 0;
    for (const std::optional<crypto::Hash256>& block_id :
         {std::optional(crypto::sha256(as_bytes(std::string_view("x")))), std::optional<crypto::Hash256>()}) {
      ledger::Vote vote{ledger::VoteType::prevote, genesis.chain_id, 1, 0, block_id, 2, {}};
      vote.signature = other.sign(vote.sign_bytes());
      for (const consensus::Action& action : engine.on_message(vote, now_ms)) {
        if (std::holds_alternative<consensus::EvidenceFound>(action)) ++found;
      }
    }
    REQUIRE(found == 1);
    // This validator's own prevote (nil, on the propose timeout) writes the events before it.
    (void)engine.on_timeout({consensus::TimeoutKind::propose, 1, 0, 0}, now_ms + consensus::propose_timeout_ms);
    REQUIRE_FALSE(files->log->records(1).empty());
  }
  for (int start = 0; start < 2; ++start) {
    harness.restart();
    auto page = harness.node().evidence({}, 10);
    REQUIRE(page.ok());
    REQUIRE(page->evidence.size() == 1);
    CHECK(page->evidence[0].first.validator == 2);
  }
}

TEST_CASE("a validator that needs votes counts the interval from the tip's proposal, not its staging",
          "[node][consensus]") {
  // Proves the next block is due block_interval_ms after this node built (or executed) the tip
  // as a proposal, not after the tip's time alone: that time is when its transactions began
  // staging, here 900 ms before the proposal, and counted from it the next block was due the
  // moment the tip committed, with the few transactions that arrived during its round.
  // 5 of 8: it needs another validator's votes, and proposes round 0 at heights 1 and 2.
  ConsensusHarness harness({5, 1, 1, 1}, 1);
  REQUIRE(ledger::ProposerSchedule::for_height(harness.genesis(), 1).proposer(0) == 1);
  REQUIRE(ledger::ProposerSchedule::for_height(harness.genesis(), 2).proposer(0) == 1);
  const auto proposals_at = [&](std::uint64_t height) {
    std::size_t count = 0;
    for (const ledger::Proposal& proposal : harness.peers().proposals()) count += proposal.height == height ? 1 : 0;
    return count;
  };

  harness.submit_one();
  harness.clock().advance_ms(900);
  CHECK_FALSE(harness.node().produce_if_due().has_value());
  REQUIRE(proposals_at(1) == 1);
  const std::uint64_t proposed_ms = harness.clock().now_ms();
  const ledger::Proposal proposal = harness.peers().proposals().front();

  // The others' votes take 300 ms: the commit comes after the tip's time + the interval.
  harness.clock().advance_ms(300);
  for (const ledger::VoteType type : {ledger::VoteType::prevote, ledger::VoteType::precommit}) {
    for (ledger::PartnerId validator = 2; validator <= 4; ++validator) {
      ledger::Vote vote{type, harness.genesis().chain_id, 1, 0, proposal.block_id, validator, {}};
      vote.signature = pc::test::seeded_key("partner " + std::to_string(validator) + " validator").sign(vote.sign_bytes());
      REQUIRE(harness.node().receive_consensus_message(consensus::Message{vote}));
    }
  }
  (void)harness.node().produce_if_due();  // runs after the votes, which the writer took in order
  REQUIRE(harness.node().chain_info().tip.height == 1);
  REQUIRE(harness.clock().now_ms() >= harness.node().chain_info().tip.time_ms + interval_ms);

  // A transaction arrives right after the commit: due an interval after the tip's proposal.
  harness.submit_one();
  harness.clock().advance_ms(1);
  CHECK_FALSE(harness.node().produce_if_due().has_value());
  CHECK(proposals_at(2) == 0);
  CHECK(harness.node().next_check_ms() == proposed_ms + interval_ms);
  harness.clock().set_ms(proposed_ms + interval_ms - 1);
  CHECK_FALSE(harness.node().produce_if_due().has_value());
  CHECK(proposals_at(2) == 0);
  harness.clock().set_ms(proposed_ms + interval_ms);
  CHECK_FALSE(harness.node().produce_if_due().has_value());
  CHECK(proposals_at(2) == 1);
}
