#include "node/consensus/sim/simulator.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "crypto/check.hpp"
#include "ledger/chain.hpp"
#include "ledger/limits.hpp"
#include "ledger/merkle.hpp"

namespace pc::consensus::sim {
namespace {

using ledger::PartnerId;
using crypto::Hash256;

constexpr std::uint64_t genesis_time_ms = 1'700'000'000'000;
constexpr std::size_t customers = 6;
constexpr std::uint64_t resubmit_interval_ms = 2'000;
constexpr std::size_t block_tx_count_sim_max = 200;
constexpr int flood_copies = 8;

crypto::SecretKey seeded(const std::string& label) {
  return crypto::SecretKey::from_seed(crypto::sha256(as_bytes(label)));
}

// All randomness of a run: one generator seeded once. Only integers: no floating point.
class Random {
 public:
  explicit Random(std::uint64_t seed) : engine_(seed) {}
  std::uint64_t below(std::uint64_t bound) { return bound == 0 ? 0 : engine_() % bound; }
  std::uint64_t between(std::uint64_t low, std::uint64_t high) { return low + below(high - low + 1); }
  bool percent(std::uint64_t chance) { return below(100) < chance; }

 private:
  std::mt19937_64 engine_;
};

ledger::Genesis sim_genesis(std::size_t validators, std::size_t byzantine) {
  ledger::Genesis genesis;
  genesis.chain_id = "sim-chain";
  genesis.coalition_name = "Simulated Coalition";
  genesis.genesis_time_ms = genesis_time_ms;
  genesis.policy.transfers_allowed = true;
  for (std::size_t i = 1; i <= validators; ++i) {
    ledger::Partner partner;
    partner.id = static_cast<PartnerId>(i);
    partner.name = "Partner " + std::to_string(i);
    partner.issuer_key = seeded("partner " + std::to_string(i) + " issuer").public_key();
    partner.validator_key = seeded("partner " + std::to_string(i) + " validator").public_key();
    // Unequal powers: honest validator 1 weighs 2, so weighting is exercised; Byzantine
    // validators weigh 1 and stay below a third of the total.
    partner.voting_power = (i == 1 && byzantine * 3 < validators) ? 2 : 1;
    genesis.partners.push_back(partner);
  }
  PC_CHECK(3 * byzantine < genesis.total_voting_power());
  return genesis;
}

struct Event {
  std::uint64_t at_ms = 0;
  std::uint64_t sequence = 0;  // ties in time resolve in creation order: deterministic
  std::function<void()> run;
};
struct Later {
  bool operator()(const Event& a, const Event& b) const {
    return a.at_ms != b.at_ms ? a.at_ms > b.at_ms : a.sequence > b.sequence;
  }
};

struct PendingTx {
  ledger::Transaction tx;
  std::uint64_t submitted_ms = 0;
};

class Simulation;

// One validator: what survives a crash (committed chain and state, the signer's record, the
// write-ahead log) and what does not (engine, mempool, execution cache, timers).
struct Node {
  PartnerId id = 0;
  bool byzantine = false;
  crypto::SecretKey key;
  std::int64_t clock_offset_ms = 0;
  // Persisted.
  MemorySignerStateStore signer_state;
  MemoryWriteAheadLog log;
  std::vector<ledger::Block> chain;  // index h - 1
  std::unique_ptr<ledger::State> state;
  // Lost on a crash.
  std::unique_ptr<SignerGuard> guard;
  std::unique_ptr<Engine> engine;
  std::map<Hash256, ledger::Transaction> mempool;
  std::vector<Hash256> mempool_order;
  std::map<Hash256, ledger::BlockChanges> executed;  // by block id, until decided
  std::uint64_t generation = 0;  // timers of an earlier life are ignored
  bool up = true;
  std::uint64_t crashes = 0;
  EngineStats stats_before_crashes;

  explicit Node(crypto::SecretKey k) : key(std::move(k)) {}
};

class Simulation {
 public:
  explicit Simulation(const Options& options)
      : options_(options), random_(options.seed), genesis_(sim_genesis(options.validators, options.byzantine_count)) {
    PC_CHECK(options.faults.loss_percent <= 30);
    for (std::size_t i = 1; i <= options.validators; ++i) {
      auto node = std::make_unique<Node>(seeded("partner " + std::to_string(i) + " validator"));
      node->id = static_cast<PartnerId>(i);
      node->byzantine = i > options.validators - options.byzantine_count;
      if (options.faults.clock_drift) {
        node->clock_offset_ms = static_cast<std::int64_t>(random_.below(2 * drift_ms_max + 1)) -
                                static_cast<std::int64_t>(drift_ms_max);
      }
      node->state = std::make_unique<ledger::State>(genesis_);
      nodes_.push_back(std::move(node));
    }
    for (std::size_t c = 0; c < customers; ++c) customer_keys_.push_back(seeded("customer " + std::to_string(c)));
    for (std::size_t p = 1; p <= options.validators; ++p) issuer_keys_.push_back(seeded("partner " + std::to_string(p) + " issuer"));
  }

  Result run() {
    result_.seed = options_.seed;
    for (auto& node : nodes_) boot(*node);
    schedule(options_.tx_interval_ms, [this] { client_tick(); });
    schedule(resubmit_interval_ms, [this] { resubmit_tick(); });
    if (options_.faults.partitions) schedule(random_.between(500, 2'000), [this] { partition_tick(); });
    if (options_.faults.crashes) schedule(random_.between(500, 3'000), [this] { crash_tick(); });
    schedule(options_.fault_ms, [this] { heal(); });
    while (!events_.empty() && result_.violations.empty()) {
      Event event = events_.top();
      events_.pop();
      if (event.at_ms > end_ms_) break;
      now_ms_ = event.at_ms;
      event.run();
    }
    finish();
    return result_;
  }

 private:
  // ---- scheduling ----

  void schedule(std::uint64_t delay_ms, std::function<void()> run) {
    events_.push(Event{now_ms_ + delay_ms, next_sequence_++, std::move(run)});
  }

  std::uint64_t local_ms(const Node& node) const {
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(genesis_time_ms + now_ms_) + node.clock_offset_ms);
  }

  bool honest(const Node& node) const { return !node.byzantine; }

  // ---- node lifecycle ----

  void boot(Node& node) {
    node.up = true;
    node.generation += 1;
    // A Byzantine validator's engine ignores its locks (any behaviour is allowed to it) and
    // signs through a guard; its forgeries (byzantine_broadcast) do not.
    node.guard = std::make_unique<SignerGuard>(node.key, node.signer_state);
    node.engine = std::make_unique<Engine>(genesis_, node.id, node.guard.get(), node.log,
                                           node.byzantine ? BrokenRule::ignore_lock : options_.broken_rule);
    start_next_height(node);
  }

  void start_next_height(Node& node) {
    HeightStart start;
    start.height = node.chain.size() + 1;
    start.previous_block_id = node.chain.empty() ? genesis_.hash() : node.chain.back().header.hash();
    start.previous_time_ms = node.chain.empty() ? genesis_.genesis_time_ms : node.chain.back().header.time_ms;
    start.schedule = ledger::ProposerSchedule::for_height(genesis_, start.height);
    prune_mempool(node, start.height);
    start.work_available = !node.mempool.empty();
    node.executed.clear();
    perform(node, node.engine->start_height(start, local_ms(node)));
  }

  // Drops transactions whose sequence is already used on this validator's chain.
  void prune_mempool(Node& node, std::uint64_t height) {
    ledger::BlockExecutor scratch(*node.state, ledger::BlockContext{height, node.state->time_ms() + 1});
    std::vector<Hash256> kept;
    for (const Hash256& id : node.mempool_order) {
      auto found = node.mempool.find(id);
      if (found == node.mempool.end()) continue;
      auto status = scratch.apply(found->second, ledger::SignatureCheck::already_verified);
      if (!status && status.error().code == ledger::Code::sequence_too_low) {
        node.mempool.erase(found);
      } else {
        kept.push_back(id);
      }
    }
    node.mempool_order = std::move(kept);
  }

  void crash(Node& node) {
    node.up = false;
    node.crashes += 1;
    const EngineStats& s = node.engine->stats();
    node.stats_before_crashes.rounds_started += s.rounds_started;
    node.stats_before_crashes.signatures_verified += s.signatures_verified;
    node.engine.reset();
    node.guard.reset();
    node.mempool.clear();
    node.mempool_order.clear();
    node.executed.clear();
    node.generation += 1;
    result_.faults += 1;
  }

  // ---- actions ----

  void perform(Node& node, const Actions& actions) {
    for (const Action& action : actions) {
      if (!node.up) return;
      std::visit([&](const auto& a) { act(node, a); }, action);
    }
  }

  void act(Node& node, const Broadcast& broadcast) {
    if (node.byzantine) return byzantine_broadcast(node, broadcast.message);
    record_signed(node, broadcast.message);
    for (auto& to : nodes_) send(node, *to, broadcast.message);
  }

  void act(Node& node, const SendDecision& request) {
    if (request.height == 0 || request.height > node.chain.size()) return;
    for (auto& to : nodes_) {
      if (to->id == request.to) send(node, *to, DecisionMessage{node.chain[request.height - 1]});
    }
  }

  void act(Node& node, const ScheduleTimeout& timeout) {
    const std::uint64_t local = local_ms(node);
    const std::uint64_t delay = timeout.at_ms > local ? timeout.at_ms - local : 0;
    const std::uint64_t generation = node.generation;
    Node* target = &node;
    schedule(delay, [this, target, generation, timeout] {
      if (!target->up || target->generation != generation) return;
      if (trace_) {
        std::fprintf(stderr, "t=%llu node %u timeout kind %d h %llu r %u (engine r %u step %d)\n",
                     static_cast<unsigned long long>(now_ms_), target->id, static_cast<int>(timeout.kind),
                     static_cast<unsigned long long>(timeout.height), timeout.round, target->engine->round(),
                     static_cast<int>(target->engine->step()));
      }
      perform(*target, target->engine->on_timeout(timeout, local_ms(*target)));
    });
  }

  void act(Node& node, const BuildProposal& request) {
    if (request.height != node.chain.size() + 1) return;  // the height moved on (see ValidateBlock)
    ledger::Block block;
    ledger::BlockExecutor executor(*node.state, ledger::BlockContext{request.height, request.time_ms});
    for (const Hash256& id : node.mempool_order) {
      if (block.transactions.size() >= block_tx_count_sim_max) break;
      auto found = node.mempool.find(id);
      if (found == node.mempool.end()) continue;
      if (executor.apply(found->second, ledger::SignatureCheck::verify)) block.transactions.push_back(found->second);
    }
    ledger::BlockChanges changes = std::move(executor).finish();
    ledger::BlockHeader& header = block.header;
    header.chain_id = genesis_.chain_id;
    header.height = request.height;
    header.previous_hash = node.chain.empty() ? genesis_.hash() : node.chain.back().header.hash();
    header.time_ms = request.time_ms;
    header.proposer = request.proposer;
    header.round = request.round;
    header.merkle_root = ledger::merkle_root(block.tx_ids());
    header.state_hash = changes.state_hash;
    if (node.byzantine && options_.faults.byzantine == Byzantine::invalid_blocks) header.state_hash[0] ^= 0x5a;
    if (!node.byzantine) node.executed.emplace(header.hash(), std::move(changes));
    perform(node, node.engine->on_block_built(block, local_ms(node)));
  }

  void act(Node& node, const ValidateBlock& request) {
    // The height moved on: a CommitBlock earlier in the same batch of actions (a decision that
    // arrived with the height's first messages) started the next height, so this request is
    // stale. The node's driver drops it the same way (node/node.cpp).
    if (request.block.header.height != node.chain.size() + 1) return;
    bool valid = false;
    if (auto cached = node.executed.find(request.block_id); cached != node.executed.end()) {
      valid = true;
    } else if (auto changes = execute(node, request.block)) {
      valid = true;
      node.executed.emplace(request.block_id, std::move(*changes));
    }
    if (trace_) {
      std::fprintf(stderr, "t=%llu node %u validated %s h %llu round %u proposer %u: %d\n",
                   static_cast<unsigned long long>(now_ms_), node.id, to_hex(request.block_id).substr(0, 8).c_str(),
                   static_cast<unsigned long long>(request.block.header.height), request.block.header.round,
                   request.block.header.proposer, valid);
      if (!valid) {
        auto status = ledger::execute_block(*node.state, request.block, ledger::SignatureCheck::verify);
        std::fprintf(stderr, "   %s\n", status ? "executes" : status.error().message().c_str());
      }
    }
    perform(node, node.engine->on_block_validated(request.block_id, valid, local_ms(node)));
  }

  void act(Node& node, const CommitBlock& commit) {
    const Hash256 id = commit.block.header.hash();
    auto cached = node.executed.find(id);
    std::optional<ledger::BlockChanges> changes;
    if (cached != node.executed.end()) {
      changes = std::move(cached->second);
    } else {
      changes = execute(node, commit.block);  // after a restart the cache is gone
    }
    if (!changes) {
      // An honest engine decides only blocks this node executed; with a broken rule it may not.
      PC_CHECK(options_.broken_rule != BrokenRule::none || !honest(node));
      if (honest(node)) violation("validator " + std::to_string(node.id) + " decided a block that does not execute");
      node.up = false;
      return;
    }
    node.state->apply(std::move(*changes));
    node.chain.push_back(commit.block);
    for (const ledger::Transaction& tx : commit.block.transactions) node.mempool.erase(tx.id());
    if (honest(node)) check_commit(node, commit.block);
    if (healed_ && result_.recovery_ms == 0 && min_honest_height() > healed_heights_) {
      result_.recovery_ms = now_ms_ - options_.fault_ms;
    }
    start_next_height(node);
  }

  void act(Node& node, const EvidenceFound& found) {
    if (!honest(node)) return;
    result_.evidence += 1;
    if (!ledger::verify_evidence(genesis_, found.evidence)) violation("evidence that does not verify");
    const PartnerId culprit = found.evidence.first.validator;
    if (!nodes_[culprit - 1]->byzantine) violation("evidence against honest validator " + std::to_string(culprit));
  }

  std::optional<ledger::BlockChanges> execute(const Node& node, const ledger::Block& block) {
    if (ledger::merkle_root(block.tx_ids()) != block.header.merkle_root) return std::nullopt;
    auto changes = ledger::execute_block(*node.state, block, ledger::SignatureCheck::verify);
    if (!changes) return std::nullopt;
    return std::move(changes).value();
  }

  // ---- network ----

  bool connected(const Node& from, const Node& to) const {
    if (!partitioned_) return true;
    return side_.contains(from.id) == side_.contains(to.id);
  }

  void send(Node& from, Node& to, const Message& message) {
    result_.messages += 1;
    const Faults& f = options_.faults;
    const bool self = from.id == to.id;
    if (!self && now_ms_ < options_.fault_ms) {
      if (!connected(from, to)) return void(result_.faults += 1);
      if (f.loss_percent > 0 && random_.percent(f.loss_percent)) return void(result_.faults += 1);
    }
    // Under split_precommit the adversary holds the favoured validator's messages until a
    // release time: asynchrony, not loss. Only messages sent during the fault window.
    std::uint64_t held_ms = 0;
    if (!self && now_ms_ < options_.fault_ms) {
      if (auto held = held_until_ms_.find(from.id); held != held_until_ms_.end() && held->second > now_ms_) {
        held_ms = held->second - now_ms_;
        result_.faults += 1;
      }
    }
    const int copies = (!self && f.duplication && random_.percent(10)) ? 2 : 1;
    if (copies == 2) result_.faults += 1;
    for (int copy = 0; copy < copies; ++copy) {
      std::uint64_t latency = self ? 0 : random_.between(1, f.latency_ms_max);
      if (!self && f.latency_tail && random_.percent(5)) latency = random_.between(1, 10 * f.latency_ms_max);
      latency += held_ms;
      Node* target = &to;
      const std::uint64_t generation = to.generation;
      const PartnerId sender = from.id;
      schedule(latency, [this, target, generation, message, sender] {
        if (!target->up || target->generation != generation) return;  // in flight during a crash: lost
        const Actions actions = target->engine->on_message(message, local_ms(*target));
        if (trace_) trace_delivery(*target, sender, message);
        perform(*target, actions);
      });
    }
  }

  // PC_SIM_TRACE: each delivered message, with the receiver's height, round and step once it
  // has handled it, so that a stalled height can be read message by message.
  void trace_delivery(const Node& to, PartnerId from, const Message& message) const {
    std::string what;
    const auto id_text = [](const std::optional<Hash256>& id) { return id ? to_hex(*id).substr(0, 8) : std::string("nil"); };
    if (const auto* vote = std::get_if<ledger::Vote>(&message)) {
      what = std::string(vote->type == ledger::VoteType::prevote ? "prevote" : "precommit") + " of " +
             std::to_string(vote->validator) + " h " + std::to_string(vote->height) + " r " +
             std::to_string(vote->round) + " " + id_text(vote->block_id);
    } else if (const auto* proposal = std::get_if<ProposalMessage>(&message)) {
      const ledger::Proposal& p = proposal->proposal;
      what = "proposal of " + std::to_string(p.proposer) + " h " + std::to_string(p.height) + " r " +
             std::to_string(p.round) + " pol " + (p.pol_round ? std::to_string(*p.pol_round) : std::string("none")) +
             " " + id_text(p.block_id);
    } else {
      const ledger::Block& block = std::get<DecisionMessage>(message).block;
      what = "decision h " + std::to_string(block.header.height) + " " + id_text(block.header.hash());
    }
    std::fprintf(stderr, "t=%llu node %u (h %llu r %u step %d) <- %u: %s\n", static_cast<unsigned long long>(now_ms_),
                 to.id, static_cast<unsigned long long>(to.engine->height()), to.engine->round(),
                 static_cast<int>(to.engine->step()), from, what.c_str());
  }

  // ---- Byzantine behaviour ----

  ledger::Vote forged_vote(const Node& node, ledger::Vote vote, std::optional<Hash256> block_id) {
    vote.block_id = block_id;
    vote.signature = node.key.sign(vote.sign_bytes());
    return vote;
  }

  Hash256 random_id() {
    Hash256 id{};
    for (auto& byte : id) byte = static_cast<std::uint8_t>(random_.below(256));
    return id;
  }

  void byzantine_broadcast(Node& node, const Message& message) {
    switch (options_.faults.byzantine) {
      case Byzantine::silent: return;
      case Byzantine::none:
      case Byzantine::invalid_blocks:
        for (auto& to : nodes_) send(node, *to, message);
        return;
      case Byzantine::flood:
        for (auto& to : nodes_) {
          for (int i = 0; i < flood_copies; ++i) send(node, *to, message);
          if (const auto* vote = std::get_if<ledger::Vote>(&message)) {
            ledger::Vote bad = *vote;
            bad.block_id = random_id();  // signature left over the real vote: does not verify
            send(node, *to, bad);
          }
        }
        return;
      case Byzantine::garbage_votes:
        if (const auto* vote = std::get_if<ledger::Vote>(&message)) {
          for (auto& to : nodes_) send(node, *to, forged_vote(node, *vote, random_id()));
          send(node, node, message);  // its own engine keeps counting its real vote
          return;
        }
        for (auto& to : nodes_) send(node, *to, message);
        return;
      case Byzantine::split_precommit:
        if (const auto* vote = std::get_if<ledger::Vote>(&message); vote != nullptr && split_precommit(node, *vote)) {
          return;
        }
        for (auto& to : nodes_) send(node, *to, message);
        return;
      case Byzantine::equivocate: {
        // Half the network gets the real message, the other half a conflicting one.
        std::optional<Message> other;
        if (const auto* vote = std::get_if<ledger::Vote>(&message)) {
          other = forged_vote(node, *vote, vote->block_id ? std::nullopt : std::optional(random_id()));
        } else if (const auto* proposal = std::get_if<ProposalMessage>(&message)) {
          // Another valid block (same transactions, another time, so another id), proposed
          // fresh. Where its engine would re-propose its valid value, everyone gets the fresh
          // twin instead: an attack on validators' locks.
          ProposalMessage twin = *proposal;
          twin.block.header.time_ms += 1;
          twin.block.header.round = twin.proposal.round;
          twin.block.header.proposer = node.id;
          twin.proposal.pol_round.reset();
          twin.proposal.block_id = twin.block.header.hash();
          twin.proposal.signature = node.key.sign(twin.proposal.sign_bytes());
          if (proposal->proposal.pol_round) {
            for (auto& to : nodes_) send(node, *to, to->id == node.id ? message : Message{twin});
            return;
          }
          other = twin;
        }
        for (auto& to : nodes_) {
          const bool first_half = to->id % 2 == 0;
          send(node, *to, (other && !first_half && to->id != node.id) ? *other : message);
        }
        return;
      }
    }
  }

  // Sends the first precommit for a block at a height to the favoured validator only, nil to
  // everyone else (its own engine included, so that it does not decide either), and holds
  // the favoured validator's messages. Returns false where it does not split.
  bool split_precommit(Node& node, const ledger::Vote& vote) {
    if (vote.type != ledger::VoteType::precommit || !vote.block_id || now_ms_ >= options_.fault_ms) return false;
    if (!split_heights_.emplace(node.id, vote.height).second) return false;
    const std::optional<PartnerId> favoured = split_target(vote.height, vote.round);
    if (!favoured) return false;
    std::uint64_t& release = held_until_ms_[*favoured];
    release = std::max(release, now_ms_ + random_.between(split_hold_ms_min, split_hold_ms_max));
    const Message nil = forged_vote(node, vote, std::nullopt);
    for (auto& to : nodes_) send(node, *to, to->id == *favoured ? Message{vote} : nil);
    return true;
  }

  // The favoured validator of a split at (height, round), the same for every Byzantine
  // validator: an honest one that is up, proposes neither this round nor the next (its
  // proposal would be held too), and whose absence still leaves a quorum to the others.
  std::optional<PartnerId> split_target(std::uint64_t height, std::uint32_t round) {
    const auto key = std::pair(height, round);
    if (auto known = split_targets_.find(key); known != split_targets_.end()) return known->second;
    const auto schedule = ledger::ProposerSchedule::for_height(genesis_, height);
    const std::uint64_t total = genesis_.total_voting_power();
    std::vector<PartnerId> candidates;
    for (const auto& node : nodes_) {
      const std::uint64_t power = genesis_.partner(node->id)->voting_power;
      if (!honest(*node) || !node->up || node->id == schedule.proposer(round) || node->id == schedule.proposer(round + 1) ||
          3 * (total - power) <= 2 * total) {
        continue;
      }
      candidates.push_back(node->id);
    }
    std::optional<PartnerId> picked;
    if (!candidates.empty()) picked = candidates[random_.below(candidates.size())];
    split_targets_.emplace(key, picked);
    return picked;
  }

  // ---- clients ----

  ledger::Transaction make_tx(PartnerId signer_partner, const crypto::SecretKey& key, ledger::TxBody body) {
    ledger::UnsignedTransaction fields;
    fields.chain_id = genesis_.chain_id;
    fields.sequence = ++next_sequence_by_key_[key.public_key()];
    fields.last_valid_height = ledger::tx_validity_blocks_max / 2;
    fields.body = std::move(body);
    (void)signer_partner;
    return ledger::Transaction::sign(std::move(fields), key);
  }

  // Each transaction is valid once the earlier ones of the same clients are committed: big
  // issues first, small spends after, reversals only of issuances made for reversing.
  void client_tick() {
    if (now_ms_ >= options_.submit_ms) return;
    const std::size_t partner = random_.below(options_.validators);
    const auto partner_id = static_cast<PartnerId>(partner + 1);
    // The last customer only receives issuances made to be reversed, and never spends.
    const std::size_t customer = random_.below(customers - 1);
    std::optional<ledger::Transaction> tx;
    const std::uint64_t kind = funded_.contains(customer) ? random_.below(4) : 0;
    if (kind == 0) {
      const std::string reference = "order-" + std::to_string(++references_);
      tx = make_tx(partner_id, issuer_keys_[partner],
                   ledger::Issue{partner_id, customer_keys_[customer].public_key(), 100'000, ledger::Reason::purchase,
                                 reference, 0, std::nullopt});
      funded_.insert(customer);
    } else if (kind == 1) {
      tx = make_tx(0, customer_keys_[customer], ledger::Redeem{customer_keys_[customer].public_key(), partner_id, 3, "gift"});
    } else if (kind == 2) {
      const std::size_t other = (customer + 1) % (customers - 1);
      tx = make_tx(0, customer_keys_[customer],
                   ledger::Transfer{customer_keys_[customer].public_key(), customer_keys_[other].public_key(), 2});
    } else {
      // Issue to a customer that only ever receives reversible issuances, then reverse it.
      const std::string reference = "reversible-" + std::to_string(++references_);
      submit(make_tx(partner_id, issuer_keys_[partner],
                     ledger::Issue{partner_id, customer_keys_[customers - 1].public_key(), 10, ledger::Reason::bonus,
                                   reference, 0, std::nullopt}));
      tx = make_tx(partner_id, issuer_keys_[partner], ledger::Reverse{partner_id, reference});
    }
    submit(*tx);
    schedule(options_.tx_interval_ms, [this] { client_tick(); });
  }

  void submit(const ledger::Transaction& tx) {
    submitted_.emplace(tx.id(), PendingTx{tx, now_ms_});
    submitted_order_.push_back(tx.id());
    deliver_to_mempools(tx);
  }

  void deliver_to_mempools(const ledger::Transaction& tx) {
    for (auto& node : nodes_) {
      if (now_ms_ < options_.fault_ms && options_.faults.loss_percent > 0 && random_.percent(options_.faults.loss_percent)) {
        continue;
      }
      Node* target = &*node;
      const std::uint64_t generation = node->generation;
      schedule(random_.between(1, options_.faults.latency_ms_max), [this, target, generation, tx] {
        if (!target->up || target->generation != generation) return;
        if (target->mempool.emplace(tx.id(), tx).second) target->mempool_order.push_back(tx.id());
        perform(*target, target->engine->on_work_available(local_ms(*target)));
      });
    }
  }

  void resubmit_tick() {
    for (const Hash256& id : submitted_order_) {
      if (!committed_at_.contains(id)) deliver_to_mempools(submitted_.at(id).tx);
    }
    schedule(resubmit_interval_ms, [this] { resubmit_tick(); });
  }

  // ---- faults ----

  void partition_tick() {
    if (now_ms_ >= options_.fault_ms) return;
    partitioned_ = !partitioned_;
    if (partitioned_) {
      side_.clear();
      for (auto& node : nodes_) {
        if (random_.percent(50)) side_.insert(node->id);
      }
      result_.faults += 1;
    }
    schedule(random_.between(500, 3'000), [this] { partition_tick(); });
  }

  void crash_tick() {
    if (now_ms_ >= options_.fault_ms) return;
    Node& node = *nodes_[random_.below(nodes_.size())];
    if (node.up && honest(node)) {
      crash(node);
      Node* target = &node;
      schedule(random_.between(300, 3'000), [this, target] {
        if (!target->up) boot(*target);
      });
    }
    schedule(random_.between(1'000, 4'000), [this] { crash_tick(); });
  }

  void heal() {
    partitioned_ = false;
    for (auto& node : nodes_) {
      if (!node->up) boot(*node);
    }
    healed_ = true;
    healed_heights_ = min_honest_height();
    for (const auto& node : nodes_) {
      if (honest(*node) && node->engine->height() == healed_heights_ + 1) {
        result_.heal_round = std::max(result_.heal_round, node->engine->round());
      }
    }
    bool work_pending = options_.submit_ms > options_.fault_ms;
    for (const Hash256& id : submitted_order_) work_pending = work_pending || !committed_at_.contains(id);
    // The run lasts until the check, however late the round at the heal puts it.
    const std::uint64_t deadline_ms = std::max(options_.liveness_bound_ms, protocol_liveness_bound_ms(result_.heal_round));
    result_.liveness_deadline_ms = deadline_ms;
    end_ms_ = std::max(end_ms_, now_ms_ + deadline_ms);
    schedule(deadline_ms, [this, work_pending, deadline_ms] {
      if (work_pending && min_honest_height() <= healed_heights_) {
        violation("liveness: no new block at every honest validator within " + std::to_string(deadline_ms) +
                  " ms after the heal");
      }
    });
  }

  // What the protocol guarantees after the heal for the height the slowest honest validator
  // is at, from the highest honest round there (docs/consensus.md, "The liveness bound"):
  // that round and the next may still fail (the POLs of locks taken during the faults are
  // rebroadcast within a second, and then every honest proposer re-proposes the latest), and
  // so may each round whose proposer is Byzantine; the first later round with an honest
  // proposer decides. Each round counts at its three timeouts plus three message delays, and
  // a validator behind by a height gets the decision within two rebroadcast intervals (its
  // votes are answered once they come a rebroadcast interval after the others' commit).
  std::uint64_t protocol_liveness_bound_ms(std::uint32_t heal_round) const {
    const Faults& f = options_.faults;
    const std::uint64_t delay_ms_max = f.latency_ms_max * (f.latency_tail ? 10 : 1);
    const auto schedule = ledger::ProposerSchedule::for_height(genesis_, healed_heights_ + 1);
    std::uint64_t bound_ms = 2 * rebroadcast_interval_ms;
    for (std::uint32_t round = heal_round; round <= ledger::round_max; ++round) {
      bound_ms += timeout_ms(Step::propose, round) + timeout_ms(Step::prevote, round) +
                  timeout_ms(Step::precommit, round) + 3 * delay_ms_max;
      if (round >= heal_round + 2 && honest(*nodes_[schedule.proposer(round) - 1])) break;
    }
    return bound_ms;
  }

  // ---- checkers ----

  void violation(std::string what) {
    result_.violations.push_back("t=" + std::to_string(now_ms_) + "ms " + std::move(what));
  }

  std::uint64_t min_honest_height() const {
    std::uint64_t lowest = UINT64_MAX;
    for (const auto& node : nodes_) {
      if (honest(*node)) lowest = std::min<std::uint64_t>(lowest, node->chain.size());
    }
    return lowest;
  }

  // Every message an honest validator signs, by position: two different ones is a double-sign.
  void record_signed(const Node& node, const Message& message) {
    std::tuple<PartnerId, std::uint64_t, std::uint32_t, int> key;
    Bytes signed_bytes;
    (void)node;  // a validator also relays others' votes: the signer is the message's
    if (const auto* vote = std::get_if<ledger::Vote>(&message)) {
      key = {vote->validator, vote->height, vote->round, static_cast<int>(vote->type)};
      signed_bytes = vote->sign_bytes();
    } else if (const auto* proposal = std::get_if<ProposalMessage>(&message)) {
      key = {proposal->proposal.proposer, proposal->proposal.height, proposal->proposal.round, 0};
      signed_bytes = proposal->proposal.sign_bytes();
    } else {
      return;
    }
    if (nodes_[std::get<0>(key) - 1]->byzantine) return;
    auto [existing, inserted] = signed_.emplace(key, signed_bytes);
    if (!inserted && existing->second != signed_bytes) {
      violation("validator " + std::to_string(std::get<0>(key)) + " signed two different messages at height " +
                std::to_string(std::get<1>(key)) + " round " + std::to_string(std::get<2>(key)));
    }
  }

  void check_commit(const Node& node, const ledger::Block& block) {
    const std::uint64_t height = block.header.height;
    const Hash256 id = block.header.hash();
    auto [decided, first] = decided_.emplace(height, std::pair(id, node.state->state_hash()));
    if (first) {
      for (const ledger::Transaction& tx : block.transactions) {
        if (!committed_at_.emplace(tx.id(), height).second) {
          violation("transaction committed twice");
        }
        if (auto found = submitted_.find(tx.id()); found != submitted_.end()) {
          result_.latency_ms_total += now_ms_ - found->second.submitted_ms;
        }
      }
      result_.transactions += block.transactions.size();
      check_validity(block);
    } else if (decided->second.first != id) {
      violation("safety: validator " + std::to_string(node.id) + " committed another block at height " +
                std::to_string(height));
    } else if (decided->second.second != node.state->state_hash()) {
      violation("state hash differs at height " + std::to_string(height));
    }
  }

  // What the audit checks of each block, on a replay of its own (docs/audit.md).
  void check_validity(const ledger::Block& block) {
    if (auto status = ledger::check_block_envelope(genesis_, audit_tip_, block); !status) {
      return violation("invalid block committed: " + status.error().message());
    }
    const auto schedule_of_height = ledger::ProposerSchedule::for_height(genesis_, block.header.height);
    if (auto status = ledger::check_block_proposer(schedule_of_height, block.header); !status) {
      return violation("invalid block committed: " + status.error().message());
    }
    auto changes = ledger::execute_block(audit_state_, block, ledger::SignatureCheck::verify);
    if (!changes) return violation("invalid block committed: " + changes.error().message());
    audit_state_.apply(std::move(changes).value());
    audit_tip_ = ledger::tip_after(block);
  }

  void finish() {
    // A committed block never changes: every honest chain still matches the first commit.
    // By position, not by the header each entry holds now: an entry overwritten by another
    // committed block must count as a change too.
    for (const auto& node : nodes_) {
      if (!honest(*node)) continue;
      for (std::uint64_t height = 1; height <= node->chain.size(); ++height) {
        const ledger::Block& block = node->chain[height - 1];
        auto decided = decided_.find(height);
        if (decided == decided_.end() || block.header.height != height || decided->second.first != block.header.hash()) {
          violation("validator " + std::to_string(node->id) + "'s block at height " + std::to_string(height) +
                    " changed");
        }
      }
      const EngineStats& s = node->engine ? node->engine->stats() : EngineStats{};
      result_.rounds += s.rounds_started + node->stats_before_crashes.rounds_started;
      result_.signature_checks += s.signatures_verified + node->stats_before_crashes.signatures_verified;
    }
    result_.heights = min_honest_height();
    if (std::getenv("PC_SIM_DEBUG") != nullptr) {
      for (const auto& node : nodes_) {
        std::fprintf(stderr, "node %u%s up %d chain %zu engine h %llu r %u step %d decided %d mempool %zu\n", node->id,
                     node->byzantine ? " (byzantine)" : "", node->up, node->chain.size(),
                     static_cast<unsigned long long>(node->engine ? node->engine->height() : 0),
                     node->engine ? node->engine->round() : 0, node->engine ? static_cast<int>(node->engine->step()) : 0,
                     node->engine ? node->engine->decided() : 0, node->mempool.size());
      }
    }
    if (result_.violations.empty()) {
      std::size_t missing = 0;
      for (const Hash256& id : submitted_order_) missing += committed_at_.contains(id) ? 0U : 1U;
      if (missing > 0) violation(std::to_string(missing) + " submitted transactions never committed");
    }
  }

  const Options options_;
  Random random_;
  const ledger::Genesis genesis_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<crypto::SecretKey> customer_keys_;
  std::vector<crypto::SecretKey> issuer_keys_;
  std::priority_queue<Event, std::vector<Event>, Later> events_;
  std::uint64_t next_sequence_ = 0;
  std::uint64_t now_ms_ = 0;
  bool partitioned_ = false;
  const bool trace_ = std::getenv("PC_SIM_TRACE") != nullptr;
  std::set<PartnerId> side_;
  std::map<PartnerId, std::uint64_t> held_until_ms_;  // split_precommit: the favoured validator's messages
  std::set<std::pair<PartnerId, std::uint64_t>> split_heights_;  // (Byzantine validator, height) split once
  std::map<std::pair<std::uint64_t, std::uint32_t>, std::optional<PartnerId>> split_targets_;
  bool healed_ = false;
  std::uint64_t end_ms_ = options_.run_ms;  // later than run_ms if the liveness check falls later
  std::uint64_t healed_heights_ = 0;
  std::map<crypto::PublicKey, std::uint64_t> next_sequence_by_key_;
  std::set<std::size_t> funded_;
  std::uint64_t references_ = 0;
  std::map<Hash256, PendingTx> submitted_;
  std::vector<Hash256> submitted_order_;
  std::map<Hash256, std::uint64_t> committed_at_;
  std::map<std::uint64_t, std::pair<Hash256, Hash256>> decided_;  // height: block id, state hash
  std::map<std::tuple<PartnerId, std::uint64_t, std::uint32_t, int>, Bytes> signed_;
  ledger::State audit_state_{genesis_};
  ledger::Tip audit_tip_ = ledger::genesis_tip(audit_state_);
  Result result_;
};

}  // namespace

std::string_view byzantine_name(Byzantine behaviour) {
  switch (behaviour) {
    case Byzantine::none: return "none";
    case Byzantine::equivocate: return "equivocate";
    case Byzantine::invalid_blocks: return "invalid-blocks";
    case Byzantine::garbage_votes: return "garbage-votes";
    case Byzantine::silent: return "silent";
    case Byzantine::flood: return "flood";
    case Byzantine::split_precommit: return "split-precommit";
  }
  return "?";
}

Result run(const Options& options) { return Simulation(options).run(); }

Options mixed_options(std::uint64_t seed, std::size_t validators) {
  Random random(seed ^ 0x9e3779b97f4a7c15ULL);  // not the run's own stream
  Options options;
  options.seed = seed;
  options.validators = validators;
  options.byzantine_count = validators >= 7 ? 2 : 1;
  Faults& f = options.faults;
  f.byzantine = static_cast<Byzantine>(1 + seed % 6);
  f.loss_percent = static_cast<std::uint32_t>(random.below(31));
  f.latency_ms_max = random.between(5, 80);
  f.latency_tail = random.percent(50);
  f.duplication = random.percent(50);
  f.partitions = random.percent(50);
  f.crashes = random.percent(50);
  f.clock_drift = random.percent(50);
  return options;
}

std::string reproduce_line(const Options& options) {
  const Faults& f = options.faults;
  std::ostringstream line;
  line << "pointchain-sim --seed " << options.seed << " --validators " << options.validators << " --byzantine "
       << options.byzantine_count << " --behaviour " << byzantine_name(f.byzantine) << " --loss " << f.loss_percent
       << " --latency " << f.latency_ms_max << (f.latency_tail ? " --tail" : "") << (f.duplication ? " --duplicate" : "")
       << (f.partitions ? " --partitions" : "") << (f.crashes ? " --crashes" : "") << (f.clock_drift ? " --drift" : "")
       << " --fault-ms " << options.fault_ms << " --submit-ms " << options.submit_ms << " --run-ms " << options.run_ms
       << " --tx-interval-ms " << options.tx_interval_ms << " --liveness-bound-ms " << options.liveness_bound_ms
       << (options.broken_rule == BrokenRule::ignore_lock ? " --break-ignore-lock" : "")
       << (options.broken_rule == BrokenRule::skip_validation ? " --break-skip-validation" : "");
  return line.str();
}

}  // namespace pc::consensus::sim
