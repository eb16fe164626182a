// Structure-aware fuzzing of the state machine: the input is a program of issue, redeem,
// transfer, reverse, replay and new-block operations (layout in fuzz_support.hpp) over
// three partners and four customers with seeded keys. Each transaction goes through
// Transaction::decode, as one from the network would, and then BlockExecutor::apply;
// most fail (wrong sequence, no balance, unknown reference...), which is the point: a
// failure that left part of its change behind would break an invariant. Properties:
//  - after every committed block, State::check_invariants() passes;
//  - at the end, State::from_records over records() rebuilds an equal state, and the next
//    block (which may expire lots) changes both exactly alike.
//
// Transactions carry a zero signature: they are applied with SignatureCheck::already_verified,
// which never looks at it, and signing would cost most of the run time for no coverage.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "ledger/limits.hpp"

namespace {

namespace ledger = pc::ledger;
using pc::fuzz::ByteCursor;
using pc::fuzz::Op;

constexpr std::uint16_t pending_days_choices[] = {0, 1, 2, ledger::pending_days_max};

class Machine {
 public:
  explicit Machine(ledger::Genesis genesis) : state_(std::move(genesis)) { open_block(1'000); }

  void run(ByteCursor& in) {
    for (std::size_t op_count = 0; op_count < pc::fuzz::state_machine_ops_max && !in.empty(); ++op_count) {
      const std::uint8_t op_byte = in.u8();
      const auto kind = static_cast<Op>((op_byte & 7) % 6);
      const int skew = (op_byte >> 3) & 3;
      const bool expired = (op_byte & 0x20) != 0;
      switch (kind) {
        case Op::issue: {
          ledger::Issue body;
          body.partner = partner(in);
          body.customer = customer(in).public_key();
          body.points = amount(in);
          body.reference = reference(in);
          body.pending_days = pending_days_choices[in.u8() % 4];
          submit(issuer(body.partner).public_key(), body, skew, expired);
          break;
        }
        case Op::redeem: {
          ledger::Redeem body;
          body.customer = customer(in).public_key();
          body.partner = partner(in);
          body.points = amount(in);
          body.reward = "reward";
          submit(body.customer, body, skew, expired);
          break;
        }
        case Op::transfer: {
          ledger::Transfer body;
          body.from = customer(in).public_key();
          body.to = customer(in).public_key();
          body.points = amount(in);
          submit(body.from, body, skew, expired);
          break;
        }
        case Op::reverse: {
          ledger::Reverse body;
          body.partner = partner(in);
          body.reference = reference(in);
          submit(issuer(body.partner).public_key(), body, skew, expired);
          break;
        }
        case Op::block:
          commit_block();
          open_block(pc::fuzz::block_advances_ms[in.u8() % 8]);
          break;
        case Op::replay:
          if (!submitted_.empty()) {
            const ledger::Transaction again = submitted_[in.u8() % submitted_.size()];
            if (apply(again)) next_sequence_[signer(again)] += 1;
          }
          break;
      }
    }
    commit_block();
  }

  // Rebuilds the state from its records, as a node restarting from its store does, and
  // checks that the copy is equal and evolves equally.
  void check_reload() const {
    const std::vector<ledger::Record> records = state_.records();
    auto reloaded = ledger::State::from_records(state_.genesis(), state_.height(), state_.time_ms(),
                                                state_.state_hash(), records);
    if (!reloaded) std::fprintf(stderr, "%s\n", reloaded.error().message().c_str());
    FUZZ_CHECK(reloaded.ok());
    FUZZ_CHECK(reloaded->records() == records);
    FUZZ_CHECK(reloaded->totals() == state_.totals());
    FUZZ_CHECK(reloaded->settlement_matrix() == state_.settlement_matrix());

    const ledger::BlockContext next{state_.height() + 1, state_.time_ms() + 31 * ledger::ms_per_day};
    ledger::BlockChanges original = ledger::BlockExecutor(state_, next).finish();
    ledger::BlockChanges copy = ledger::BlockExecutor(*reloaded, next).finish();
    FUZZ_CHECK(original.records == copy.records);
    FUZZ_CHECK(original.state_hash == copy.state_hash);
  }

 private:
  static const pc::crypto::SecretKey& issuer(ledger::PartnerId id) {
    return pc::fuzz::keys().issuers[id - 1];
  }
  static ledger::PartnerId partner(ByteCursor& in) {
    return static_cast<ledger::PartnerId>(in.u8() % pc::fuzz::partner_count + 1);
  }
  static const pc::crypto::SecretKey& customer(ByteCursor& in) {
    return pc::fuzz::keys().customers[in.u8() % pc::fuzz::customer_count];
  }
  static std::string reference(ByteCursor& in) { return "ref-" + std::to_string(in.u8() % 8); }
  static std::uint64_t amount(ByteCursor& in) {
    const std::uint8_t first = in.u8();
    switch (first >> 6) {
      case 0: return std::uint64_t{first} + 1;
      case 1: return in.little_endian(2);
      case 2: return in.little_endian(4);
      default: return in.little_endian(8);
    }
  }

  static pc::crypto::PublicKey signer(const ledger::Transaction& tx) {
    if (auto partner_id = tx.partner_signer()) return issuer(*partner_id).public_key();
    return *tx.customer_signer();
  }

  void open_block(std::uint64_t advance_ms) {
    const ledger::BlockContext context{state_.height() + 1, state_.time_ms() + advance_ms};
    executor_.emplace(state_, context);
  }

  void commit_block() {
    state_.apply(std::move(*executor_).finish());
    executor_.reset();
    const ledger::Status invariants = state_.check_invariants();
    if (!invariants) std::fprintf(stderr, "%s\n", invariants.error().message().c_str());
    FUZZ_CHECK(invariants.ok());
  }

  // Builds the transaction with the signer's next sequence number (skewed on request) and
  // hands it over the way the network would: as bytes through the decoder.
  void submit(const pc::crypto::PublicKey& signer, ledger::TxBody body, int skew, bool expired) {
    const std::uint64_t height = executor_->context().height;
    ledger::UnsignedTransaction fields;
    fields.chain_id = pc::fuzz::chain_id;
    fields.sequence = next_sequence_[signer] + 1;
    if (skew == 1) fields.sequence -= 1;
    if (skew == 2) fields.sequence += 1;
    fields.last_valid_height = expired ? height - 1 : height + 100;
    fields.body = std::move(body);
    const auto built = ledger::Transaction::with_signature(std::move(fields), pc::crypto::Signature{});
    auto decoded = ledger::Transaction::decode(built.bytes());
    if (!decoded) return;  // a field the decoder refuses (zero points, self transfer...)
    submitted_.push_back(*decoded);
    if (apply(*decoded)) next_sequence_[signer] += 1;
  }

  bool apply(const ledger::Transaction& tx) {
    return executor_->apply(tx, ledger::SignatureCheck::already_verified).ok();
  }

  ledger::State state_;
  std::optional<ledger::BlockExecutor> executor_;
  std::map<pc::crypto::PublicKey, std::uint64_t> next_sequence_;  // last used, per signer
  std::vector<ledger::Transaction> submitted_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pc::fuzz::initialize_once();
  ByteCursor in(data, size);
  const std::uint8_t policy_byte = in.u8();
  Machine machine(pc::fuzz::small_genesis(pc::fuzz::policy_from_byte(policy_byte)));
  machine.run(in);
  machine.check_reload();
  return 0;
}
