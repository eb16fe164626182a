// The node: the chain store, the mempool, block production through consensus, the
// partner's own signing (earn, return, bonus) and event subscriptions. rpc/ calls only this
// interface. docs/node.md ("Architecture") draws the threads.
//
// Thread-safety: every public method is thread-safe. Everything that changes the store or
// the mempool runs on one writer thread ("pc-writer", node/event_loop.hpp): submissions,
// partner methods and production are events in its bounded inbox, and their callers wait
// for the result. Signature checks of submitted transactions run before that, in the
// caller's thread (or across the worker pool for a batch). Reads never wait for the writer:
// they read the snapshot published after the last commit (node/snapshot.hpp), and the
// mempool under a shared lock the writer takes only to change it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/keys.hpp"
#include "ledger/store.hpp"
#include "node/analytics_report.hpp"
#include "node/clock.hpp"
#include "node/consensus/consensus.hpp"
#include "node/earning_rules.hpp"
#include "node/p2p/transport_config.hpp"
#include "node/loyalty_views.hpp"
#include "node/metrics.hpp"
#include "node/storage_failure.hpp"
#include "node/subscriptions.hpp"
#include "node/webhook_config.hpp"
#include "node/worker_pool.hpp"

namespace leveldb {
class Env;
}

namespace pc::node {

struct EarnRate {
  std::string currency;                // ISO 4217, e.g. "EUR"
  std::uint64_t points_per_unit = 1;   // points per whole currency unit, rounded down
};

struct MempoolLimits {
  std::size_t tx_count_max = 100'000;
  std::size_t bytes_max = 64 * 1024 * 1024;
  std::size_t per_signer_max = 256;    // pending transactions of one customer (partners:
                                       // bounded by the two limits above)
};

// The RPC server's transport limits (node.json "rpc_limits"; docs/rpc.md, "Limits"). The
// node only carries them: rpc/server.cpp enforces them.
struct RpcLimits {
  std::size_t connections_max = 256;              // open TCP connections, HTTP and WebSocket
  std::size_t connections_per_address_max = 64;   // of them from one client IP address
  std::size_t body_bytes_max = 1024 * 1024;       // an HTTP request body
  std::uint64_t idle_timeout_ms = 30'000;         // waiting for a request, its header or body
  std::uint64_t write_timeout_ms = 30'000;        // writing one answer
  std::size_t threads = 4;                        // io threads ("pc-rpc-N")
};

// node.json holds these fields under the same names (docs/node.md); data_dir is where the
// file lives unless the file names another.
struct NodeConfig {
  std::filesystem::path data_dir;      // genesis.json, chain/, history/, analytics/, webhooks/, keys/, node.json
  std::string rpc_address = "127.0.0.1";
  std::uint16_t rpc_port = 8645;
  // The RPC server's per-client-IP token bucket.
  std::uint32_t rpc_rate_requests_per_second = 2'000;
  std::uint32_t rpc_rate_burst_requests = 4'000;
  // Short: a block's round, execution and synced write already take tens of milliseconds,
  // and under load blocks grow by themselves (docs/node.md, "Block production").
  std::uint64_t block_interval_ms = 200;
  std::size_t block_trigger_tx_count = 2'000;  // produce early once this many are pending
  std::vector<EarnRate> earn_rates{{"EUR", 1}, {"USD", 1}};
  std::uint16_t return_window_days = 0;        // pending days given to `earn` issuances
  std::string api_token;                       // partner methods; empty: partner methods off
  std::uint64_t tx_validity_blocks = 1'000;    // last-valid height the node signs with
  MempoolLimits mempool;
  RpcLimits rpc_limits;
  WebhookSettings webhooks;                    // docs/webhooks.md; no endpoints: off
  // The links to the other partners' nodes (node.json "p2p"; docs/node.md, docs/p2p.md).
  // Absent: the node runs alone, as a single-partner chain or a demo.
  std::optional<p2p::TransportConfig> p2p;
  // An auditor's node: its key is no partner's, it syncs the chain from the partners that
  // list its key in their p2p observer_keys, verifies every block, and never votes, proposes
  // or takes transactions (docs/node.md, "Observers"). Needs a p2p section and no api_token.
  bool observer = false;
};

// The partner id an observer node runs as: none (p2p::PeerIdentity's partner 0 alike).
inline constexpr ledger::PartnerId observer_partner = 0;

// The P2P port when node.json's p2p section does not name one (the RPC port's neighbour).
inline constexpr std::uint16_t p2p_port_default = 8646;

// Reads and writes node.json. Config errors are messages (start-up path). Missing fields
// keep their defaults; an unknown field, a wrong type or a value out of range is an error.
// data_dir defaults to the file's directory; a relative data_dir is taken from there.
pc::Result<NodeConfig, std::string> load_node_config(const std::filesystem::path& path);
pc::Result<NodeConfig, std::string> parse_node_config(std::string_view json_text,
                                                      const std::filesystem::path& directory);
// Pretty JSON of every field but data_dir (so a data dir can be moved).
std::string node_config_to_json(const NodeConfig& config);

// ISO 4217 minor-unit digits of the currencies the node knows (EUR 2, JPY 0, KWD 3, ...).
std::optional<unsigned> currency_minor_digits(std::string_view currency);

// Points for a purchase: amount_minor * points_per_unit / 10^(minor digits of currency),
// rounded down. invalid_field for an unknown currency or a negative amount; overflow if the
// product passes 2^64 - 1.
ledger::Result<std::uint64_t> points_for_purchase(const std::vector<EarnRate>& rates,
                                                  std::int64_t amount_minor, std::string_view currency);

// Where a transaction is.
struct TxStatus {
  enum class Where { pending, committed } where = Where::pending;
  ledger::Transaction tx;
  std::uint64_t height = 0;            // committed only
  std::uint32_t index = 0;             // committed only
  ledger::Hash256 block_hash{};        // committed only
  std::vector<ledger::Hash256> merkle_path;  // committed only: proof to the header's root
  std::size_t block_tx_count = 0;      // committed only
  ledger::Hash256 merkle_root{};       // committed only: the header's root the path leads to
};

inline constexpr std::uint32_t history_index_expiry = UINT32_MAX;

struct HistoryEntry {
  std::uint64_t height = 0;
  std::uint32_t index = 0;             // position in block; history_index_expiry for expiry
  std::uint32_t position = 0;          // the event's position among its block's events
  ledger::Event event;
};

// Where a history page starts: entries strictly before (height, position), newest first.
// height 0 starts at the tip; position 0 excludes the whole block at `height`. The last entry
// of a page, as a cursor, gives the next page without losing or repeating an entry.
struct HistoryCursor {
  std::uint64_t height = 0;
  std::uint32_t position = 0;
};

struct AccountView {
  crypto::PublicKey key{};
  bool exists = false;
  ledger::Account account;             // sequence and lots
  std::uint64_t balance = 0;
  std::uint64_t spendable = 0;         // at the tip's time
  std::uint64_t pending = 0;           // balance - spendable: still in a return window
  std::uint64_t pending_sequence = 0;  // the sequence to sign the next transaction with
                                       // (committed + this key's pending transactions + 1)
  // Chains with a tier program (protocol version 4): the customer's tier at the tip's time.
  std::optional<ledger::TierView> tier;
};

struct EarnResult {
  ledger::Hash256 tx_id{};
  std::uint64_t points = 0;
  bool already_known = false;          // the order id was seen before: the same transaction
  std::string reference;               // the issuance's reference: the order id, plus the rule
                                       // set's tag under earning rules (docs/earning-rules.md)
  std::optional<rules::Breakdown> breakdown;  // under earning rules, a new issuance only
  // A new issuance on a chain with tiers: the customer's tier at the tip and its multiplier,
  // and `points` × multiplier, what the chain credits unless the tier changes before the
  // block (the chain applies the tier at block time; the issuance record keeps the one used).
  std::optional<std::uint8_t> tier;
  std::uint32_t multiplier_bp = 0;
  std::uint64_t credited_points = 0;
  // A referral (breakdown->referral): its two issuances, admitted after the purchase's. If the
  // ledger refused them (only its liability cap can, once the rules allowed the referral), the
  // purchase stands and referral_refused says why.
  std::optional<ledger::Hash256> referred_tx_id;
  std::optional<ledger::Hash256> referrer_tx_id;
  std::optional<ledger::Error> referral_refused;
};

// A customer's referral code and whether it resolves to them now (docs/earning-rules.md).
struct ReferralCodeInfo {
  std::string code;                    // canonical, 12 characters
  bool resolves = false;               // the chain has the account, and no other shares the code
  bool ambiguous = false;              // another account shares it: the code cannot be used
};

// One purchase to earn points for (Node::earn's arguments).
struct EarnRequest {
  crypto::PublicKey customer{};
  std::int64_t amount_minor = 0;
  std::string currency;
  std::string order_id;
};

// The earning rules in force (data_dir/earning-rules.json), if the node has a rules file.
struct RulesInfo {
  std::filesystem::path path;
  crypto::Hash256 hash{};
  std::string tag;
};
// How long a till's payment request stays payable: ten minutes unless the till asks otherwise,
// a day at most (a request is a promise of a price, and a QR code on a screen is not a voucher).
inline constexpr std::uint64_t payment_request_expiry_ms_default = 10 * 60 * 1'000;
inline constexpr std::uint64_t payment_request_expiry_ms_max = 24 * 60 * 60 * 1'000;

inline constexpr std::string_view earning_rules_file_name = "earning-rules.json";

// What this node's consensus can do now (docs/node.md, "Consensus").
struct ConsensusInfo {
  std::uint64_t voting_power = 0;        // this partner's; 0: a follower, which never votes
  std::uint64_t total_voting_power = 0;  // of every validator in the genesis
  bool commits_alone = false;            // voting_power is more than 2/3 of the total
  std::size_t peers = 0;                 // partners' nodes connected (0 without a network)
  std::uint64_t height = 0;              // the height consensus works on: the tip's + 1
  std::uint32_t round = 0;               // its round there
};

// A vote the engine counts in the current round (consensus_state).
struct VoteSeen {
  ledger::PartnerId validator = 0;
  std::uint64_t voting_power = 0;
  std::optional<ledger::Hash256> block_id;  // nullopt: a vote for nil
};

// Where this node's consensus engine is, and who it has heard from in its current round
// (docs/rpc.md, consensus_state). An equivocating validator is listed once per block it voted for.
struct ConsensusState {
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  consensus::Step step = consensus::Step::propose;
  bool decided = false;  // the height is decided and being committed
  std::uint64_t total_voting_power = 0;
  std::vector<VoteSeen> prevotes;
  std::vector<VoteSeen> precommits;
};

// One sentence for people (the start-up log, chain_info's consensus.status): whether this
// node can commit, and why not.
std::string consensus_status(const ConsensusInfo& info);

struct ChainInfo {
  std::string chain_id;
  std::string coalition_name;
  ledger::Tip tip;
  std::size_t pending_count = 0;
  ledger::Totals totals;
  ledger::PartnerId partner = 0;       // this node's partner
  ConsensusInfo consensus;
};

// How the node treats its storage at start-up; not in node.json, since each is a decision
// for one start.
struct StorageOptions {
  // Start even when something outside the chain store says the chain was higher than the
  // store (`run --accept-lost-blocks`, docs/node.md "Lost blocks"): those blocks are given up.
  bool accept_lost_blocks = false;
  // The LevelDB Env of the chain store; nullptr for the real file system. Tests inject
  // storage faults (a full disk) through it.
  leveldb::Env* env = nullptr;
};

class ConsensusPeers;

// Blocks fetched by sync whose checks that need no state passed (Node::check_synced_blocks):
// only the node makes them, so committing them cannot skip a check.
class CheckedBlocks {
 public:
  const std::vector<ledger::Block>& blocks() const { return blocks_; }

 private:
  friend class Node;
  explicit CheckedBlocks(std::vector<ledger::Block> blocks) : blocks_(std::move(blocks)) {}
  std::vector<ledger::Block> blocks_;
};

// How far Node::commit_checked_blocks got.
struct SyncCommit {
  std::size_t committed = 0;  // blocks committed (or already held), from the first on
  ledger::Status status;      // the first block's failure that stopped it; ok if none
};

class Node {
 public:
  inline static constexpr std::size_t subscriptions_max = SubscriptionHub::subscriptions_max;
  // Events waiting for the writer at once; a submission or partner call beyond it is refused
  // with too_large ("node busy: ...") and changes nothing.
  inline static constexpr std::size_t writer_inbox_events_max = 65'536;
  inline static constexpr std::size_t history_page_max = 100;

  // Opens the existing store data_dir/chain (`init` creates it; the node never does), and
  // data_dir/history and data_dir/analytics, derived indexes, rebuilt if behind. Refuses to start when
  // data_dir/committed-height or the history index says the chain was higher than the store
  // (node/height_claims.hpp), unless storage.accept_lost_blocks. Throws std::runtime_error on
  // start-up failure.
  //
  // Any genesis partner may run a node: a validator takes part in consensus (and commits by
  // itself when it holds more than 2/3 of the voting power), a partner with no voting power
  // follows. `partner` observer_partner (config.observer) runs an observer: its validator
  // key (its node key on the network) must be no partner's, and it has no api_token; it
  // commits only what sync fetches, and refuses every transaction. `peers` carries consensus messages to the other validators and must outlive the
  // node; nullptr: none (node/consensus_peers.hpp).
  Node(NodeConfig config, ledger::Genesis genesis, ledger::PartnerId partner,
       crypto::SecretKey validator_key, crypto::SecretKey issuer_key, const Clock& clock,
       WorkerPool& workers, const StorageOptions& storage = {}, ConsensusPeers* peers = nullptr);
  ~Node();

  // Decodes, verifies (signature once: cached for block production), and admits against the
  // tip state plus what is pending. Typed ledger errors; mempool_full style limits and a full
  // writer inbox map to Code::too_large with a detail naming the limit. A transaction already pending returns
  // its id again; one already committed fails with sequence_too_low.
  ledger::Result<ledger::Hash256> submit(ByteSpan tx_bytes);
  // The same for many, verifying signatures across the worker pool; results in input order.
  std::vector<ledger::Result<ledger::Hash256>> submit_batch(const std::vector<Bytes>& txs);
  // The same for transactions already decoded (a peer's delivery). One this node verified
  // before (on admission, or in a proposal; the latest 65,536 ids) is not verified again: the
  // id is the hash of its exact bytes, signature included.
  std::vector<ledger::Result<ledger::Hash256>> submit_decoded(const std::vector<ledger::Transaction>& txs);

  // Fires the consensus timeouts that are due, then starts the height's rounds if a block is
  // due: pending transactions and the block interval since the last block has passed, or
  // block_trigger_tx_count pending, or a lot's expiry is due, or (a validator that commits
  // alone) pending transactions and a lull in admissions (docs/node.md, "Block production").
  // No rounds, so no empty blocks, otherwise. Returns the height committed during the call: with a validator that holds more
  // than 2/3 of the power, a due block is proposed, voted on and committed within it (a round
  // of one); with less, a block needs the others' votes. Runs on the writer.
  //
  // A failed block write stops production for good in this process (storage_failure() says
  // why, and the log says so loudly): the store never writes again after a failed write
  // (ledger/store.hpp), submissions are refused with io_error, and reads go on. Both produce
  // calls then return nullopt at once. A committed block's indexes and subscribers are
  // written behind the writer (node/observer_thread.hpp); this call returns once they have it.
  std::optional<std::uint64_t> produce_if_due();
  // Starts rounds for whatever is pending now, whatever the interval: a clean shutdown of a
  // validator that commits alone loses no transaction it has accepted. nullopt when nothing
  // was committed.
  std::optional<std::uint64_t> produce_pending();
  // Lets the writer produce by itself: it checks after every batch of events and sleeps
  // until the next moment a block could be due (the interval's end, the next lot expiry, at
  // most block_interval_ms ahead). Off until called (tests drive produce_if_due() on a
  // ManualClock instead); stop_block_timer() turns it off again.
  void start_block_timer();
  void stop_block_timer();
  // When the block timer looks next (ms since epoch), asked of the writer: a block could be
  // due, or a consensus timeout falls due.
  std::uint64_t next_check_ms() const;

  // The network's ways in (node/peer_protocol.hpp, docs/p2p-protocol.md).
  //
  // A consensus message from a peer, decoded but not verified: queued for the writer, which
  // hands it to the engine (the engine checks signatures, heights and rounds). Never waits:
  // false when the writer's inbox is full, and the message is dropped (validators send their
  // messages again every rebroadcast_interval_ms).
  bool receive_consensus_message(consensus::Message message);
  // A committed block fetched by sync, verified as the audit verifies each block (link to
  // the tip, proposer, Merkle root, commit certificate, every signature, execution and the
  // state hash: ledger/chain.hpp), then committed through the commit pipeline; consensus moves
  // on to the next height. Runs on the writer; the caller waits. Succeeds when committed, and
  // when the store already holds this very block at its height. Errors, with nothing changed:
  // wrong_height for a block above the tip + 1 (a gap); the checks' typed errors (a bad block:
  // its sender is at fault); corruption for a different block at a height already committed
  // here (two certified blocks at one height: more than 1/3 of the power equivocated);
  // io_error after a storage failure; too_large when the inbox is full.
  ledger::Status commit_synced_block(const ledger::Block& block);
  // The same for consecutive blocks of one sync response, in two stages that overlap as the
  // audit's do: check_synced_blocks runs the checks that need no state (each block's Merkle
  // root and commit certificate, every transaction signature) across the worker pool in the
  // caller's thread, without the writer; its error names the first bad block's height.
  // commit_checked_blocks queues the rest for the writer and returns at once: there each
  // block is linked to the tip, executed, its state hash compared and it is committed through
  // the commit pipeline, stopping at the first failure (errors as commit_synced_block); then
  // `done` is called on the writer with how far it got (it must not block). So the caller
  // checks the next response while the writer executes this one. false, and `done` is never
  // called, when the writer's inbox is full.
  ledger::Result<CheckedBlocks> check_synced_blocks(std::vector<ledger::Block> blocks) const;
  bool commit_checked_blocks(CheckedBlocks blocks, std::function<void(const SyncCommit&)> done);
  // Ids of pending transactions, oldest first, at most `limit` (announced to a peer that
  // has just connected). Reads the mempool under its shared lock.
  std::vector<ledger::Hash256> pending_transaction_ids(std::size_t limit) const;
  // Those of `ids` pending here, in the order given (what a peer asked for, or what is pushed
  // to peers). Reads the mempool under its shared lock.
  std::vector<ledger::Transaction> pending_transactions(std::span<const ledger::Hash256> ids) const;
  // Whether the transaction is pending or committed here: a gossiped id that need not be
  // fetched. Cheaper than transaction(): no copy, no Merkle proof.
  bool knows_transaction(const ledger::Hash256& tx_id) const;

  // Set once a block could not be committed; block production has stopped for good.
  std::optional<StorageFailure> storage_failure() const;

  ChainInfo chain_info() const;
  ConsensusInfo consensus_info() const;
  // Read on the writer between two events, so it waits its turn in the inbox: too_large when
  // the inbox is full.
  ledger::Result<ConsensusState> consensus_state() const;
  // Commit counters and histograms since the node started (node/metrics.hpp).
  MetricsSnapshot metrics() const;
  ledger::Result<ledger::Block> block_at(std::uint64_t height) const;
  ledger::Result<ledger::Block> block_by_hash(const ledger::Hash256& hash) const;
  ledger::Result<TxStatus> transaction(const ledger::Hash256& tx_id) const;
  AccountView account(const crypto::PublicKey& key) const;
  // Newest first, before `before`. At most history_page_max entries. The index is written
  // behind the writer: this waits (briefly) until it holds the published snapshot's blocks.
  std::vector<HistoryEntry> history(const crypto::PublicKey& key, HistoryCursor before, std::size_t limit) const;
  std::vector<std::pair<ledger::Partner, ledger::PartnerStats>> partners() const;
  std::map<std::pair<ledger::PartnerId, ledger::PartnerId>, std::uint64_t> settlement() const;
  // Figures over a range from data_dir/analytics (node/analytics_index.hpp); typed errors as
  // there. Reads a LevelDB snapshot: never waits for the writer, only (briefly) for the index
  // to hold the published snapshot's blocks.
  ledger::Result<Report> report(const ReportQuery& query) const;
  // Each configured webhook endpoint's queue (docs/webhooks.md); empty without endpoints.
  std::vector<WebhookEndpointStatus> webhook_status() const;

  // Partner methods: this node signs with its partner's issuer key. Idempotent by
  // reference: the same order id returns the same transaction (pending or committed), with
  // already_known set and the points it was issued with, whatever the repeated call says.
  // earn: invalid_field for an unknown currency, a currency without an earn rate, or a
  // purchase that earns no points. bonus: any reason but purchase. return_purchase: the
  // pending Reverse of that order if there is one; unknown_issuance, already_reversed.
  ledger::Result<EarnResult> earn(const crypto::PublicKey& customer, std::int64_t amount_minor,
                                  const std::string& currency, const std::string& order_id);
  // earn for each request, in order, with the results of earn, as one writer event (the
  // checks that need no state, the customer's key among them, run first on the worker pool):
  // a batch of 1000 purchases does not queue behind, or wait for, 1000 writer turns.
  std::vector<ledger::Result<EarnResult>> earn_batch(std::span<const EarnRequest> requests);
  ledger::Result<EarnResult> bonus(const crypto::PublicKey& customer, std::uint64_t points,
                                   ledger::Reason reason, const std::string& reference);
  ledger::Result<ledger::Hash256> return_purchase(const std::string& order_id);
  // A partial return (protocol version 3): takes back the points of `amount_minor` of the order,
  // in proportion (docs/loyalty.md, "Returns"). The ledger's codes: unknown_issuance,
  // already_reversed, no_purchase_amount, return_exceeds_order (counting pending returns).
  ledger::Result<ledger::Hash256> return_part(const std::string& order_id, std::uint64_t amount_minor);

  // The rewards catalog and vouchers (docs/loyalty.md; node/loyalty_views.hpp). Reads use the
  // published snapshot. Writes are partner methods signed with this partner's issuer key and
  // admitted over what is pending, so two tills using one voucher get voucher_used at once.
  ledger::Result<RewardPage> rewards(const RewardQuery& query) const;
  ledger::Result<VoucherPage> vouchers(const crypto::PublicKey& customer,
                                       const std::optional<std::pair<ledger::PartnerId, std::string>>& after,
                                       std::size_t limit) const;
  // `code` in canonical form (ledger::parse_voucher_code), as this partner's till sees it.
  ledger::Result<VoucherCheck> check_voucher(const std::string& code) const;
  ledger::Result<ledger::Hash256> publish_reward(std::uint32_t reward_id, const ledger::RewardTerms& terms);
  // Tiers (protocol version 4): grants `customer` tier `tier` until block time `until_ms`, a
  // membership this partner sold. The chain's codes: unknown_tier, tier_grant_ended,
  // tier_grant_too_long, tier_grant_held; invalid_public_key for a key that cannot hold one.
  ledger::Result<ledger::Hash256> grant_tier(const crypto::PublicKey& customer, std::uint8_t tier, std::uint64_t until_ms);
  // unknown_voucher (naming the partner whose voucher it is, for a foreign one), voucher_used.
  ledger::Result<ledger::Hash256> use_voucher(const std::string& code);

  // Stamp cards and badges (protocol version 4; docs/loyalty.md). Reads use the published
  // snapshot (node/loyalty_views.hpp); the leaderboard reads the analytics index. Writes are
  // partner methods signed with this partner's issuer key.
  ledger::Result<std::vector<StampCardView>> stamp_cards(const crypto::PublicKey& customer, bool include_empty) const;
  ledger::Result<std::vector<BadgeView>> badges(const crypto::PublicKey& customer, bool include_progress) const;
  ledger::Result<Leaderboard> leaderboard(const LeaderboardQuery& query) const;
  ledger::Result<ledger::Hash256> define_stamp_card(std::uint32_t card_id, const ledger::StampCardTerms& terms);
  ledger::Result<ledger::Hash256> define_badge(std::uint32_t badge_id, const ledger::BadgeTerms& terms);
  ledger::Result<ledger::Hash256> award_badge(std::uint32_t badge_id, const crypto::PublicKey& customer);
  // Paying with points (protocol version 4; docs/loyalty.md, "Paying with points").
  // set_point_value signs a SetPointValue with this partner's issuer key; unsupported_type on
  // an older chain.
  ledger::Result<ledger::Hash256> set_point_value(const ledger::PointValue& value);
  // A payment request for `amount_minor` of `currency`, at the point value in force at the tip,
  // expiring `expires_in_ms` after this node's clock, signed with this partner's issuer key.
  // no_point_value when the partner has declared none; point_value_mismatch when `currency`
  // is not the declared one; invalid_field for an expiry outside 1..payment_request_expiry_ms_max
  // or a field a request cannot hold. A SetPointValue committed before the customer pays makes
  // the request point_value_mismatch on chain: the till asks for a new one.
  ledger::Result<ledger::SignedPaymentRequest> create_payment_request(std::uint64_t amount_minor,
                                                                      const std::string& currency,
                                                                      const std::string& order_id,
                                                                      std::uint64_t expires_in_ms) const;
  // Whether a request was paid, from the published snapshot (see check_payment).
  ledger::Result<PaymentCheck> payment_status(const ledger::Hash256& request_id,
                                              std::optional<std::uint64_t> expires_at_ms) const;
  // The money paid with points per partner and currency, and each partner's point value.
  std::map<ledger::PaymentTotalsKey, ledger::PaymentTotals> payment_totals() const;
  std::map<ledger::PartnerId, ledger::PointValueRecord> point_values() const;
  // The prepaid partners' balances at the published tip (docs/billing.md).
  std::map<ledger::PartnerId, ledger::PrepaidBalance> prepaid_balances() const;

  // Earning rules (docs/earning-rules.md). Without a rules file, earn uses earn_rates and
  // quote and earn_order are refused (invalid_field). Under rules, earn is earn_order of one
  // line without SKU or category, and the issuance's reference is the order id, '~' and the
  // rule set's tag; the order id is then at most rules::rules_order_id_bytes_max bytes without '~'.
  // quote evaluates exactly what earn_order would issue now, without issuing.
  // A referral_code (as typed: crypto::decode_referral_code) makes a first purchase a
  // referral: the breakdown's referral, and on earn its two issuances, or one of the errors of
  // docs/earning-rules.md, "Referrals" (referral_code_invalid ... referral_limit_reached),
  // nothing issued. quote returns the same errors.
  ledger::Result<rules::Breakdown> quote(const crypto::PublicKey& customer, const rules::Order& order,
                                         const std::optional<std::string>& referral_code = std::nullopt) const;
  ledger::Result<EarnResult> earn_order(const crypto::PublicKey& customer, const rules::Order& order,
                                        const std::string& order_id,
                                        const std::optional<std::string>& referral_code = std::nullopt);
  // The customer's referral code; whether it resolves reads the published snapshot.
  ledger::Result<ReferralCodeInfo> referral_code(const crypto::PublicKey& customer) const;
  // The account a referral code names: referral_code_invalid, referral_code_unknown,
  // referral_code_ambiguous. One LevelDB seek over the account records (the published snapshot).
  ledger::Result<crypto::PublicKey> resolve_referral_code(std::string_view text) const;
  // Event rules (docs/earning-rules.md, "Event rules"): the rule's points for `event`
  // ("review", "social_share", "sign_up", "birthday") to the customer, as an Issue whose
  // reference is event '.' event_id '~' tag: idempotent by event_id, like earn by order id.
  // invalid_field without earning rules, for an unknown event or one without a rule, or an
  // event_id that is empty, longer than rules::event_id_bytes_max or holds '~' or a space;
  // cap_exceeded when the customer already has the rule's limit of that event in its period
  // (pending ones counted; block time in the rule set's time zone).
  ledger::Result<EarnResult> earn_event(const crypto::PublicKey& customer, const std::string& event,
                                        const std::string& event_id);
  // Reads data_dir/earning-rules.json again (SIGHUP, the reload_rules RPC). On an error the
  // rules in force stay, and the message names the file, rule and field. A missing file
  // turns the rules off. Thread-safe; an earn already evaluating finishes under the old rules.
  pc::Result<std::optional<RulesInfo>, std::string> reload_rules();
  std::optional<RulesInfo> rules_info() const;
  // Evidence of equivocation (docs/consensus.md, "Evidence"). The consensus driver calls
  // record_evidence for each EvidenceFound, on the writer thread or any other (it then runs on
  // the writer). It is kept in the chain store with one synced write, once per validator,
  // height, round and type: true when written, false when already kept (a replayed height).
  // The errors of ChainStore::record_evidence (verification, too_large past the bounds,
  // io_error), plus the inbox-full error from another thread; each is also logged.
  ledger::Result<bool> record_evidence(const ledger::Evidence& evidence);
  // Kept evidence from `from` on, in key order (height, round, type, validator), at most
  // min(limit, evidence_page_max) records (limit at least 1). Reads the store as it is now.
  inline static constexpr std::size_t evidence_page_max = 100;
  ledger::Result<ledger::EvidencePage> evidence(const ledger::EvidencePosition& from, std::size_t limit) const;

  // nullptr when subscriptions_max are open. The caller owns it; unsubscribe when done.
  std::shared_ptr<Subscription> subscribe(EventFilter filter, std::size_t queue_max);
  void unsubscribe(const std::shared_ptr<Subscription>& subscription);

  const NodeConfig& config() const { return config_; }
  const ledger::Genesis& genesis() const { return genesis_; }
  ledger::PartnerId partner() const { return partner_; }

 private:
  class Impl;
  // What the writer does to earn, once the checks that need no state have passed.
  using EarnWork = std::function<ledger::Result<EarnResult>()>;
  ledger::Result<EarnWork> prepare_earn(const EarnRequest& request) const;
  ledger::Result<EarnWork> prepare_earn_order(const crypto::PublicKey& customer, const rules::Order& order,
                                              const std::string& order_id,
                                              const std::optional<std::string>& referral_code) const;

  const NodeConfig config_;
  const ledger::Genesis genesis_;
  // Checks `body`'s fields, then signs it with the issuer key and admits it on the writer.
  ledger::Result<ledger::Hash256> sign_and_admit(ledger::TxBody body);

  const ledger::PartnerId partner_;
  std::unique_ptr<Impl> impl_;  // declared last: it refers to the members above
};

}  // namespace pc::node
