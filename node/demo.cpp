#include "node/demo.hpp"

#include <fstream>
#include <stdexcept>

#include "crypto/check.hpp"
#include "crypto/hash.hpp"
#include "ledger/limits.hpp"
#include "ledger/proposer.hpp"
#include "ledger/store.hpp"
#include "ledger/voucher.hpp"

namespace pc::node {

ProducedBlock produce_block(const ledger::State& state, const ledger::Tip& tip,
                            std::span<const ledger::Transaction> candidates, std::uint64_t time_ms,
                            const ProposerIdentity& proposer, ledger::SignatureCheck check) {
  PC_CHECK(proposer.validator_key != nullptr);
  const auto schedule = ledger::ProposerSchedule::for_height(state.genesis(), tip.height + 1);
  BlockSlot slot{0, proposer.partner};
  // The schedule names every validator within total-power rounds.
  while (schedule.proposer(slot.round) != proposer.partner) {
    PC_CHECK(slot.round < ledger::round_max);
    ++slot.round;
  }
  ProducedBlock produced = build_block(state, tip, candidates, time_ms, slot, check);
  const ledger::BlockHeader& header = produced.block.header;
  produced.block.commit.round = header.round;
  produced.block.commit.signatures.push_back(ledger::sign_commit(proposer.partner, *proposer.validator_key,
                                                                 header.chain_id, header.height, header.round,
                                                                 header.hash()));
  return produced;
}
namespace {

constexpr std::uint64_t demo_genesis_time_ms = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

struct DemoSigner {
  ledger::PartnerId partner;
  crypto::SecretKey issuer;
  std::uint64_t sequence = 0;
};

ledger::UnsignedTransaction fields(std::uint64_t sequence, ledger::TxBody body) {
  ledger::UnsignedTransaction tx;
  tx.chain_id = "demo-coalition";
  tx.sequence = sequence;
  tx.last_valid_height = 1'000;
  tx.body = std::move(body);
  return tx;
}

}  // namespace

crypto::SecretKey demo_key(std::string_view label) {
  return crypto::SecretKey::from_seed(crypto::sha256(as_bytes(label)));
}

crypto::SecretKey demo_billing_key() { return demo_key("demo coalition billing"); }

ledger::Genesis demo_genesis() {
  ledger::Genesis genesis;
  genesis.protocol_version = ledger::protocol_version_newest;
  genesis.chain_id = "demo-coalition";
  genesis.coalition_name = "Demo Coalition";
  genesis.genesis_time_ms = demo_genesis_time_ms;
  const char* names[] = {"Harbor Coffee", "Northwind Books", "Summit Fuel"};
  for (ledger::PartnerId id = 1; id <= 3; ++id) {
    ledger::Partner partner;
    partner.id = id;
    partner.name = names[id - 1];
    partner.issuer_key = demo_key("demo partner " + std::to_string(id) + " issuer").public_key();
    partner.validator_key = demo_key("demo partner " + std::to_string(id) + " validator").public_key();
    // One validator for now: the multi-partner network gives every partner a vote.
    partner.voting_power = id == 1 ? 1 : 0;
    genesis.partners.push_back(std::move(partner));
  }
  genesis.policy.point_expiry_days = 365;
  genesis.policy.transfers_allowed = true;
  genesis.policy.issuance_cap_points = 10'000'000;
  // Harbor Coffee and Northwind Books post-paid at EUR 0.25 per 1000 points issued; Summit
  // Fuel prepaid at EUR 0.20 per 1000, with 2000 points bought before the chain began. The
  // billing key that signs top-ups derives from a public seed, like every demo key.
  genesis.policy.billing = ledger::no_charge_billing(genesis.partners, demo_billing_key().public_key());
  for (ledger::PartnerBilling& terms : genesis.policy.billing->partners) terms.price_per_1000_points_minor = 25;
  genesis.policy.billing->partners[2] = {3, ledger::BillingPlan::prepaid, 20, 2'000};
  // The tier program (protocol version 4): docs/loyalty.md's example. Nobody in the demo earns
  // a tier; Summit Fuel sells one customer a year of Gold.
  genesis.policy.tiers.window_days = 365;
  genesis.policy.tiers.grace_days = 30;
  genesis.policy.tiers.tiers = {{"Silver", 1'000, 12'500}, {"Gold", 5'000, 15'000}};
  return genesis;
}

DemoResult build_demo_chain(const std::filesystem::path& data_dir) {
  const ledger::Genesis genesis = demo_genesis();
  std::filesystem::create_directories(data_dir);
  {
    std::ofstream file(data_dir / "genesis.json");
    file << ledger::genesis_to_json(genesis);
    if (!file) throw std::runtime_error("cannot write " + (data_dir / "genesis.json").string());
  }
  // create() refuses a chain/ that holds anything, so an existing chain is never added to.
  auto store = ledger::ChainStore::create(data_dir / "chain", genesis);
  if (!store) throw std::runtime_error("cannot create the demo chain: " + store.error().message());

  std::vector<DemoSigner> partners;
  for (ledger::PartnerId id = 1; id <= 3; ++id) {
    partners.push_back({id, demo_key("demo partner " + std::to_string(id) + " issuer")});
  }
  std::vector<crypto::SecretKey> customers;
  std::vector<std::uint64_t> customer_sequence(5, 0);
  for (int i = 1; i <= 5; ++i) customers.push_back(demo_key("demo customer " + std::to_string(i)));
  const crypto::SecretKey validator = demo_key("demo partner 1 validator");

  DemoResult result;
  std::uint64_t time_ms = demo_genesis_time_ms;
  int order = 0;
  const auto issue = [&](std::size_t partner, std::size_t customer, std::uint64_t points,
                         std::int64_t amount_cents, std::uint16_t pending_days) {
    DemoSigner& signer = partners[partner];
    ledger::Issue body;
    body.partner = signer.partner;
    body.customer = customers[customer].public_key();
    body.points = points;
    body.reference = "order-" + std::to_string(++order);
    body.pending_days = pending_days;
    body.purchase = ledger::Purchase{amount_cents, "EUR"};
    return ledger::Transaction::sign(fields(++signer.sequence, body), signer.issuer);
  };
  const auto redeem = [&](std::size_t customer, ledger::PartnerId at, std::uint64_t points) {
    ledger::Redeem body{customers[customer].public_key(), at, points, "reward at partner " + std::to_string(at)};
    return ledger::Transaction::sign(fields(++customer_sequence[customer], body), customers[customer]);
  };
  const auto commit = [&](std::vector<ledger::Transaction> txs, std::uint64_t advance_ms) {
    time_ms += advance_ms;
    const ledger::State& state = (*store)->state();
    ProducedBlock produced = produce_block(state, (*store)->tip(), txs, time_ms, {1, &validator},
                                           ledger::SignatureCheck::verify);
    if (!produced.rejected.empty()) {
      throw std::runtime_error("demo transaction rejected: " + produced.rejected[0].second.message());
    }
    result.transactions += produced.block.transactions.size();
    if (auto status = (*store)->append_executed(produced.block, std::move(produced.changes)); !status) {
      throw std::runtime_error("demo block refused: " + status.error().message());
    }
  };

  // Day 0: purchases at every partner; one with a 14-day return window.
  commit({issue(0, 0, 120, 1200, 0), issue(1, 0, 300, 3000, 0), issue(2, 1, 450, 4500, 0),
          issue(0, 2, 80, 800, 0), issue(1, 3, 500, 5000, 14)},
         1'000);
  // A referral bonus and a transfer between customers.
  {
    ledger::Issue referral;
    referral.partner = 1;
    referral.customer = customers[4].public_key();
    referral.points = 50;
    referral.reason = ledger::Reason::referral;
    referral.reference = "referral-1";
    DemoSigner& harbor = partners[0];
    ledger::Transfer gift{customers[1].public_key(), customers[4].public_key(), 100};
    commit({ledger::Transaction::sign(fields(++harbor.sequence, referral), harbor.issuer),
            ledger::Transaction::sign(fields(++customer_sequence[1], gift), customers[1])},
           1'000);
  }
  // Redemptions: points issued at one partner spent at another (the settlement matrix).
  commit({redeem(0, 3, 200), redeem(1, 1, 150), redeem(4, 2, 120)}, 1'000);
  // Customer 4 returns the purchase in its return window: the pending points are taken back.
  {
    DemoSigner& northwind = partners[1];
    ledger::Reverse reverse{2, "order-5"};
    commit({ledger::Transaction::sign(fields(++northwind.sequence, reverse), northwind.issuer)}, 1'000);
  }
  // The rewards catalog (protocol version 3): Harbor Coffee and Northwind Books publish
  // rewards, Summit Fuel takes back a third of order 3 (a partial return: 150 of its 450
  // points), and two customers redeem rewards by id, each redemption yielding a voucher.
  std::vector<std::string> vouchers;
  {
    DemoSigner& harbor = partners[0];
    DemoSigner& northwind = partners[1];
    DemoSigner& summit = partners[2];
    ledger::RewardTerms coffee;
    coffee.name = "Free coffee";
    coffee.cost_points = 50;
    coffee.stock = 100;
    coffee.limit_per_customer = 2;
    ledger::RewardTerms paperback;
    paperback.name = "Paperback of the month";
    paperback.cost_points = 100;
    paperback.limit_per_period = 1;
    paperback.period_days = 30;
    commit({ledger::Transaction::sign(fields(++harbor.sequence, ledger::PublishReward{1, 1, coffee}), harbor.issuer),
            ledger::Transaction::sign(fields(++northwind.sequence, ledger::PublishReward{2, 1, paperback}),
                                      northwind.issuer),
            ledger::Transaction::sign(fields(++summit.sequence, ledger::PartialReturn{3, "order-3", 1'500}),
                                      summit.issuer)},
           1'000);
    const auto redeem_reward = [&](std::size_t customer, ledger::PartnerId at, std::uint32_t reward_id) {
      ledger::RedeemReward body{customers[customer].public_key(), at, reward_id, 1};
      const ledger::Transaction tx = ledger::Transaction::sign(fields(++customer_sequence[customer], body), customers[customer]);
      vouchers.push_back(ledger::voucher_code(tx.id(), 0));
      return tx;
    };
    commit({redeem_reward(2, 1, 1), redeem_reward(0, 2, 1)}, 1'000);
    // Harbor Coffee's till takes the first voucher; the second stays valid.
    commit({ledger::Transaction::sign(fields(++harbor.sequence, ledger::UseVoucher{1, vouchers[0]}), harbor.issuer)},
           1'000);
  }
  // Stamp cards and badges (protocol version 4): Harbor Coffee's card gives the free coffee
  // for 3 purchases of at least 5 EUR, one a day; its "Regular" badge counts purchases from
  // now on, and "Founding member" is given by hand. Customer 1 buys a coffee on three days:
  // the third fills the card (a voucher) and earns the badge; customer 3 is a founding member.
  {
    DemoSigner& harbor = partners[0];
    ledger::StampCardTerms card;
    card.name = "Coffee card";
    card.stamps_needed = 3;
    card.min_amount_minor = 500;
    card.currency = "EUR";
    card.rule = ledger::StampRule::per_day;
    card.reward_id = 1;
    ledger::BadgeTerms regular{"Regular", ledger::BadgeRule::action_count, ledger::Reason::purchase, 3, true};
    ledger::BadgeTerms founder{"Founding member", ledger::BadgeRule::awarded, std::nullopt, 0, true};
    commit({ledger::Transaction::sign(fields(++harbor.sequence, ledger::DefineStampCard{1, 1, card}), harbor.issuer),
            ledger::Transaction::sign(fields(++harbor.sequence, ledger::DefineBadge{1, 1, regular}), harbor.issuer),
            ledger::Transaction::sign(fields(++harbor.sequence, ledger::DefineBadge{1, 2, founder}), harbor.issuer)},
           1'000);
    commit({issue(0, 0, 6, 600, 0)}, ledger::ms_per_day);
    commit({issue(0, 0, 6, 650, 0)}, ledger::ms_per_day);
    commit({issue(0, 0, 7, 700, 0),
            ledger::Transaction::sign(fields(++harbor.sequence, ledger::AwardBadge{1, 2, customers[2].public_key()}),
                                      harbor.issuer)},
           ledger::ms_per_day);
  }
  // Paying with points (protocol version 4): Harbor Coffee declares a point worth half a cent,
  // its till makes a payment request for 0.40 EUR (80 points), and customer 1 pays it.
  {
    DemoSigner& harbor = partners[0];
    const ledger::PointValue half_cent{"EUR", 1, 2};
    commit({ledger::Transaction::sign(fields(++harbor.sequence, ledger::SetPointValue{1, half_cent}), harbor.issuer)},
           1'000);
    const ledger::PaymentRequest request{"demo-coalition", 1, "till-1-0001", 40, "EUR", 80,
                                         time_ms + 10 * 60 * 1'000, 1};
    const ledger::PayWithPoints pay{customers[0].public_key(), ledger::sign_payment_request(request, harbor.issuer)};
    commit({ledger::Transaction::sign(fields(++customer_sequence[0], pay), customers[0])}, 1'000);
  }
  // Day 200: Summit Fuel grants customer 1 a year of Gold (a paid membership), so the purchase
  // after it earns 60 × 1.5 = 90 points; the coalition's billing key tops up Summit Fuel's
  // prepaid points by 1000 before its next purchase; day 370: the day-0 points still unspent
  // expire.
  {
    DemoSigner& summit = partners[2];
    const std::uint64_t day_200_ms = time_ms + 200 * ledger::ms_per_day;
    const ledger::GrantTier gold{3, customers[0].public_key(), 2, day_200_ms + 365 * ledger::ms_per_day};
    const ledger::PrepaidTopUp top_up{3, 1'000, "INV-DEMO-0001"};
    commit({ledger::Transaction::sign(fields(++summit.sequence, gold), summit.issuer), issue(0, 0, 60, 600, 0),
            ledger::Transaction::sign(fields(1, top_up), demo_billing_key()), issue(2, 2, 200, 2000, 0)},
           200 * ledger::ms_per_day);
  }
  commit({redeem(0, 1, 20)}, 170 * ledger::ms_per_day);
  result.tip = (*store)->tip();
  return result;
}

}  // namespace pc::node
