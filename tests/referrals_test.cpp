// Referrals (docs/earning-rules.md, "Referrals"): the referral code's format, its resolution
// against the chain's accounts, and the node's referral on a first purchase with each abuse
// case refused by a typed error that issues nothing.
#include <catch2/catch.hpp>

#include <random>

#include "crypto/referral_code.hpp"
#include "node/node.hpp"
#include "tests/fixtures.hpp"
#include "tests/rules_harness.hpp"

namespace {

using namespace pc;
using pc::test::TxFactory;
using namespace pc::test::rules_harness;

const std::string referral_rules = R"({"version": 1, "time_zone_offset_minutes": 60,
  "currencies": [{"currency": "EUR", "points_per_unit": 1}],
  "referrals": {"name": "bring a friend", "referrer_points": 100, "referred_points": 50,
                "referrer_limit_count": 2, "referrer_limit_period": "month"}})";

// A valid key sharing `key`'s first 55 bits (so its referral code), and different from it.
crypto::PublicKey key_sharing_code(const crypto::PublicKey& key) {
  for (std::uint8_t tail = 1;; ++tail) {
    crypto::PublicKey other = key;
    other[6] = static_cast<std::uint8_t>(other[6] ^ 0x01);  // the bit after the 55
    for (std::size_t i = 7; i < other.size(); ++i) other[i] = static_cast<std::uint8_t>(other[i] + tail * (i + 1));
    if (crypto::is_valid_public_key(other)) return other;
    REQUIRE(tail < 200);
  }
}

std::size_t pending(RulesHarness& harness) { return harness.node().chain_info().pending_count; }

}  // namespace

TEST_CASE("a referral code is 12 checked characters of the key, read back as people type it", "[crypto][referrals]") {
  // Proves the format: 12 characters XXXX-XXXX-XXXX, derived from the key alone; decoding
  // tolerates case, dashes and the look-alikes; a wrong check character, a wrong length or a
  // foreign character is its own error; and the decoded prefix is the key's first 55 bits.
  const crypto::PublicKey key = TxFactory::customer(1).public_key();
  const std::string code = crypto::encode_referral_code(key);
  REQUIRE(code.size() == crypto::referral_code_chars);
  CHECK(code == crypto::encode_referral_code(key));
  CHECK(code != crypto::encode_referral_code(TxFactory::customer(2).public_key()));
  const std::string shown = crypto::format_referral_code(code);
  CHECK(shown.size() == 14);
  CHECK(shown[4] == '-');

  std::string typed = shown;
  for (char& c : typed) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  auto decoded = crypto::decode_referral_code(typed);
  REQUIRE(decoded);
  CHECK(decoded->code == code);
  CHECK(crypto::key_has_referral_prefix(key, decoded->key_prefix));
  CHECK(crypto::key_has_referral_prefix(key_sharing_code(key), decoded->key_prefix));
  crypto::PublicKey beyond = key;
  beyond[6] = static_cast<std::uint8_t>(beyond[6] ^ 0x02);  // the 55th bit
  CHECK_FALSE(crypto::key_has_referral_prefix(beyond, decoded->key_prefix));

  // One character changed: the check catches it (every one of the other 31 values).
  const std::string_view alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  std::size_t caught = 0;
  for (char replacement : alphabet) {
    if (replacement == code[3]) continue;
    std::string typo = code;
    typo[3] = replacement;
    auto refused = crypto::decode_referral_code(typo);
    if (!refused && refused.error() == crypto::ReferralCodeError::bad_check) ++caught;
  }
  CHECK(caught >= 29);  // a 5-bit check lets about 1 in 32 through
  CHECK(crypto::decode_referral_code(code.substr(0, 11)).error() == crypto::ReferralCodeError::bad_length);
  CHECK(crypto::decode_referral_code(code + "0").error() == crypto::ReferralCodeError::bad_length);
  CHECK(crypto::decode_referral_code(code.substr(0, 11) + "U").error() == crypto::ReferralCodeError::bad_character);
  CHECK(crypto::decode_referral_code(std::string(40, '-')).error() == crypto::ReferralCodeError::bad_length);
}

TEST_CASE("a first purchase with a referral code gives both customers points, with references that name the "
          "referred customer, and quote shows the same",
          "[node][rules][referrals]") {
  // Proves the referral: the purchase, then an Issue with reason referral to the referred
  // customer and one to the referrer, each pending for the return window, each reference
  // `referral.` / `referrer.` + the referred customer's code + the rule set's tag; quote names
  // the same referral, and get_referral_code says the referrer's code resolves.
  RulesHarness harness(referral_rules);
  const auto referrer = TxFactory::customer(1).public_key();
  const auto friend_key = TxFactory::customer(2).public_key();
  const std::string tag = tag_of(referral_rules);
  auto before = harness.node().referral_code(referrer);
  REQUIRE(before);
  CHECK_FALSE(before->resolves);  // no account yet
  REQUIRE(harness.node().earn_order(referrer, coffee_order(1'000), "r-1"));
  REQUIRE(harness.node().produce_pending());
  auto info = harness.node().referral_code(referrer);
  REQUIRE(info);
  CHECK(info->resolves);
  CHECK(info->code == crypto::encode_referral_code(referrer));
  const std::string code = crypto::format_referral_code(info->code);

  auto quoted = harness.node().quote(friend_key, coffee_order(2'000), code);
  REQUIRE(quoted);
  REQUIRE(quoted->referral);
  CHECK(quoted->points == 20);
  auto earned = harness.node().earn_order(friend_key, coffee_order(2'000), "f-1", code);
  REQUIRE(earned);
  REQUIRE(earned->breakdown);
  REQUIRE(earned->breakdown->referral);
  const node::rules::ReferralAward& award = *earned->breakdown->referral;
  CHECK(summary(*earned->breakdown) == summary(*quoted));
  CHECK(award.rule == quoted->referral->rule);
  CHECK(award.referrer == quoted->referral->referrer);
  CHECK(award.note == quoted->referral->note);
  CHECK(award.referrer == referrer);
  CHECK(award.referrer_points == 100);
  CHECK(award.referred_points == 50);
  CHECK(award.note == "1 of 2 this month for the referrer");
  REQUIRE(earned->referred_tx_id);
  REQUIRE(earned->referrer_tx_id);
  CHECK_FALSE(earned->referral_refused);

  const std::string friend_code = crypto::encode_referral_code(friend_key);
  const ledger::Issue to_friend = harness.issue(*earned->referred_tx_id);
  CHECK(to_friend.customer == friend_key);
  CHECK(to_friend.reason == ledger::Reason::referral);
  CHECK(to_friend.points == 50);
  CHECK(to_friend.reference == "referral." + friend_code + "~" + tag);
  const ledger::Issue to_referrer = harness.issue(*earned->referrer_tx_id);
  CHECK(to_referrer.customer == referrer);
  CHECK(to_referrer.reason == ledger::Reason::referral);
  CHECK(to_referrer.points == 100);
  CHECK(to_referrer.reference == "referrer." + friend_code + "~" + tag);
  REQUIRE(harness.node().produce_pending());
  CHECK(harness.node().account(friend_key).balance == 70);
  CHECK(harness.node().account(referrer).balance == 110);

  // A repeated order id returns the purchase and issues no second referral.
  auto again = harness.node().earn_order(friend_key, coffee_order(2'000), "f-1", code);
  REQUIRE(again);
  CHECK(again->already_known);
  CHECK(pending(harness) == 0);
}

TEST_CASE("each referral abuse case is refused with its own code and issues nothing", "[node][rules][referrals]") {
  // Proves the abuse cases: a malformed or mistyped code, a code no account has, a code two
  // accounts share, the customer's own code, a second referral of the same customer, a
  // referral on a purchase that is not the customer's first here, and the referrer's limit per
  // period (pending referrals counted; the next month's allowance back at the local month's
  // edge by block time). Quote refuses alike; nothing is pending after any refusal.
  RulesHarness harness(referral_rules, local_midnight_ms);  // Monday 30 November, local
  const auto referrer = TxFactory::customer(1).public_key();
  const auto regular = TxFactory::customer(2).public_key();
  const auto twin = key_sharing_code(TxFactory::customer(3).public_key());
  REQUIRE(harness.node().earn_order(referrer, coffee_order(1'000), "r-1"));
  REQUIRE(harness.node().earn_order(regular, coffee_order(1'000), "g-1"));
  REQUIRE(harness.node().earn_order(TxFactory::customer(3).public_key(), coffee_order(1'000), "c3-1"));
  REQUIRE(harness.node().earn_order(twin, coffee_order(1'000), "twin-1"));
  REQUIRE(harness.node().produce_pending());
  const std::string code = crypto::format_referral_code(crypto::encode_referral_code(referrer));

  const auto refused_with = [&](const crypto::PublicKey& customer, const std::string& referral_code,
                                ledger::Code expected) {
    INFO("code " << referral_code << ", expected " << ledger::code_name(expected));
    const std::size_t before = pending(harness);
    auto quoted = harness.node().quote(customer, coffee_order(1'000), referral_code);
    REQUIRE_FALSE(quoted);
    CHECK(quoted.error().code == expected);
    auto earned = harness.node().earn_order(customer, coffee_order(1'000), "abuse-" + std::to_string(before),
                                            referral_code);
    REQUIRE_FALSE(earned);
    CHECK(earned.error().code == expected);
    CHECK(pending(harness) == before);
  };

  const auto newcomer = [](int n) { return TxFactory::customer(100 + n).public_key(); };
  std::string typo = crypto::encode_referral_code(referrer);
  typo[0] = typo[0] == '0' ? '1' : '0';
  refused_with(newcomer(1), typo, ledger::Code::referral_code_invalid);
  refused_with(newcomer(1), "ABCD", ledger::Code::referral_code_invalid);
  refused_with(newcomer(1), crypto::encode_referral_code(newcomer(50)), ledger::Code::referral_code_unknown);
  refused_with(newcomer(1), crypto::encode_referral_code(twin), ledger::Code::referral_code_ambiguous);
  auto twin_info = harness.node().referral_code(twin);
  REQUIRE(twin_info);
  CHECK(twin_info->ambiguous);
  CHECK_FALSE(twin_info->resolves);
  // Self-referral: the referrer buys again naming its own code (refused before "not first").
  refused_with(referrer, code, ledger::Code::self_referral);
  // Not the first purchase here: the regular bought before without a code.
  refused_with(regular, code, ledger::Code::referral_not_first_purchase);

  // A second referral of the same customer: once referred (pending), never again here.
  REQUIRE(harness.node().earn_order(newcomer(1), coffee_order(1'000), "n1-1", code));
  refused_with(newcomer(1), code, ledger::Code::already_referred);
  REQUIRE(harness.node().produce_pending());
  refused_with(newcomer(1), code, ledger::Code::already_referred);

  // The referrer's limit: 2 a month; the second is pending when the third is asked.
  REQUIRE(harness.node().earn_order(newcomer(2), coffee_order(1'000), "n2-1", code));
  refused_with(newcomer(3), code, ledger::Code::referral_limit_reached);
  harness.clock().set_ms(local_midnight_ms + 86'400'000 - 1'000);
  REQUIRE(harness.node().produce_pending());  // committed on 30 November, 23:59:59 local
  harness.clock().set_ms(local_midnight_ms + 86'400'000 - 1);
  refused_with(newcomer(3), code, ledger::Code::referral_limit_reached);
  harness.clock().set_ms(local_midnight_ms + 86'400'000);  // 1 December, local midnight
  auto december = harness.node().earn_order(newcomer(3), coffee_order(1'000), "n3-1", code);
  REQUIRE(december);
  REQUIRE(december->breakdown);
  REQUIRE(december->breakdown->referral);
  CHECK(december->breakdown->referral->note == "1 of 2 this month for the referrer");
}

TEST_CASE("quote equals earn with referral codes over seeded random customers and codes", "[node][rules][referrals]") {
  // Proves quote = earn with referrals on the real node while the chain and the mempool change:
  // whatever the quote says (a referral, or an abuse code), the earn right after does the same.
  RulesHarness harness(referral_rules);
  const std::uint32_t seed = 90'210;
  INFO("seed " << seed);
  std::mt19937 random(seed);
  for (int i = 0; i < 4; ++i) {
    REQUIRE(harness.node().earn_order(TxFactory::customer(i).public_key(), coffee_order(500), "seed-" + std::to_string(i)));
  }
  REQUIRE(harness.node().produce_pending());
  for (int round = 0; round < 30; ++round) {
    const auto customer = TxFactory::customer(static_cast<int>(random() % 12)).public_key();
    const std::string code = crypto::encode_referral_code(TxFactory::customer(static_cast<int>(random() % 6)).public_key());
    const auto order = coffee_order(static_cast<std::int64_t>(100 + random() % 3'000));
    auto quoted = harness.node().quote(customer, order, code);
    auto earned = harness.node().earn_order(customer, order, "order-" + std::to_string(round), code);
    INFO("round " << round);
    REQUIRE(quoted.ok() == earned.ok());
    if (!quoted) {
      CHECK(quoted.error().code == earned.error().code);
      continue;
    }
    REQUIRE(earned->breakdown);
    CHECK(summary(*earned->breakdown) == summary(*quoted));
    REQUIRE(quoted->referral.has_value() == earned->breakdown->referral.has_value());
    if (quoted->referral) {
      CHECK(quoted->referral->referrer == earned->breakdown->referral->referrer);
      CHECK(quoted->referral->note == earned->breakdown->referral->note);
      CHECK(earned->referrer_tx_id.has_value());
    }
    if (round % 5 == 4) {
      harness.clock().advance_ms(1'000);
      REQUIRE(harness.node().produce_pending());
    }
  }
}
