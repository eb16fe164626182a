#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "ledger/genesis.hpp"
#include "tests/fixtures.hpp"

namespace {

nlohmann::json genesis_json() { return nlohmann::json::parse(pc::ledger::genesis_to_json(pc::test::make_genesis())); }

std::string parse_error(const nlohmann::json& json) {
  auto parsed = pc::ledger::parse_genesis_json(json.dump());
  return parsed ? std::string() : parsed.error();
}

}  // namespace

TEST_CASE("genesis JSON round-trips through the canonical form", "[ledger][genesis]") {
  // Proves that writing, parsing and binary encoding agree, so the genesis hash is stable.
  const pc::ledger::Genesis genesis = pc::test::make_genesis();
  auto parsed = pc::ledger::parse_genesis_json(pc::ledger::genesis_to_json(genesis));
  REQUIRE(parsed.ok());
  CHECK(*parsed == genesis);
  auto decoded = pc::ledger::decode_genesis(genesis.encode());
  REQUIRE(decoded.ok());
  CHECK(*decoded == genesis);
  CHECK(decoded->hash() == genesis.hash());
}

TEST_CASE("genesis JSON with out-of-range or mistyped numbers is refused", "[ledger][genesis]") {
  // Proves that integers are range-checked rather than truncated or wrapped by the JSON library.
  auto json = genesis_json();
  json["partners"][0]["id"] = 70000;
  CHECK(parse_error(json).find("id must be") != std::string::npos);

  json = genesis_json();
  json["partners"][0]["voting_power"] = -1;
  CHECK(parse_error(json).find("voting_power must be") != std::string::npos);

  json = genesis_json();
  json["policy"]["point_expiry_days"] = 4294967297ULL;
  CHECK(parse_error(json).find("point_expiry_days must be") != std::string::npos);

  json = genesis_json();
  json["policy"]["issuance_cap_points"] = "10";
  CHECK(parse_error(json).find("issuance_cap_points must be") != std::string::npos);

  json = genesis_json();
  json["genesis_time_ms"] = 1.5;
  CHECK(parse_error(json).find("genesis_time_ms must be") != std::string::npos);
}

TEST_CASE("genesis rules: ids ascending, keys valid, someone votes", "[ledger][genesis]") {
  // Proves that a genesis no chain could run on is refused with a message naming the problem.
  auto json = genesis_json();
  std::swap(json["partners"][0], json["partners"][1]);
  CHECK(parse_error(json).find("strictly ascending") != std::string::npos);

  json = genesis_json();
  json["partners"][1]["issuer_key"] = "01" + std::string(62, '0');  // the identity: small order
  CHECK(parse_error(json).find("invalid issuer key") != std::string::npos);

  json = genesis_json();
  for (auto& partner : json["partners"]) partner["voting_power"] = 0;
  CHECK(parse_error(json).find("voting power") != std::string::npos);

  json = genesis_json();
  json["chain_id"] = "Upper-Case";
  CHECK(parse_error(json).find("chain_id") != std::string::npos);

  // A truncated UTF-8 sequence: written into the text by hand, since the JSON library will
  // not dump invalid UTF-8.
  json = genesis_json();
  json["partners"][0]["name"] = "@NAME@";
  std::string text = json.dump();
  text.replace(text.find("@NAME@"), 6, "Caf\xc3");
  auto truncated = pc::ledger::parse_genesis_json(text);
  REQUIRE_FALSE(truncated);
  CHECK(truncated.error().find("UTF-8") != std::string::npos);

  json = genesis_json();
  json["coalition_name"] = "line\nbreak";
  CHECK(parse_error(json).find("control characters") != std::string::npos);

  json = genesis_json();
  json["partners"][0]["name"] = "Caf\xc3\xa9 \xe2\x82\xac";  // "Café €" is a fine name
  CHECK(parse_error(json).empty());

  json = genesis_json();
  json.erase("policy");
  CHECK(parse_error(json).find("policy") != std::string::npos);
}
