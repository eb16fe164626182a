#include "ledger/genesis.hpp"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "crypto/domains.hpp"
#include "crypto/keys.hpp"
#include "ledger/codec.hpp"
#include "ledger/limits.hpp"

namespace pc::ledger {
namespace {

using Json = nlohmann::json;

// Genesis encoding 1 carries no protocol version (its chains run version 1); encoding 2
// follows the encoding byte with the protocol version as a u16.
constexpr std::uint8_t genesis_encoding_unversioned = 1;
constexpr std::uint8_t genesis_encoding_versioned = 2;

// Names are shown to people and written back out as JSON, so they must be well-formed UTF-8
// without control characters (nlohmann::json::dump throws on invalid UTF-8).
bool is_display_text(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x20 || lead == 0x7f) return false;
    std::size_t length = 1;
    std::uint32_t code = lead;
    if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4, code = lead & 0x07u;
    } else if (lead >= 0xe0) {
      length = 3, code = lead & 0x0fu;
    } else if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2, code = lead & 0x1fu;
    } else if (lead >= 0x80) {
      return false;
    }
    if (text.size() - i < length) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0u) != 0x80u) return false;
      code = (code << 6) | (next & 0x3fu);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    if ((length == 3 && code < 0x800) || (length == 4 && (code < 0x10000 || code > 0x10ffff)) ||
        (code >= 0xd800 && code <= 0xdfff)) {
      return false;
    }
    i += length;
  }
  return true;
}

bool is_currency_code(std::string_view code) {
  return code.size() == 3 && std::all_of(code.begin(), code.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

std::string validate_billing(const BillingTerms& billing, const std::vector<Partner>& partners) {
  if (!is_currency_code(billing.currency)) return "billing currency must be an ISO 4217 code of three capital letters";
  if (billing.currency_minor_digits > currency_minor_digits_max) return "billing currency_minor_digits must be 0 to 4";
  if (!crypto::is_valid_public_key(billing.billing_key)) return "invalid billing key";
  if (billing.partners.size() != partners.size()) return "billing terms must list every partner once, in genesis order";
  for (std::size_t i = 0; i < partners.size(); ++i) {
    const PartnerBilling& terms = billing.partners[i];
    const std::string which = "billing of partner " + std::to_string(terms.partner) + ": ";
    if (terms.partner != partners[i].id) return "billing terms must list every partner once, in genesis order";
    if (terms.plan != BillingPlan::postpaid && terms.plan != BillingPlan::prepaid) return which + "unknown plan";
    if (terms.price_per_1000_points_minor > billing_price_per_1000_points_minor_max) {
      return which + "price_per_1000_points_minor over " + std::to_string(billing_price_per_1000_points_minor_max);
    }
    if (terms.plan == BillingPlan::postpaid && terms.initial_prepaid_points != 0) {
      return which + "a post-paid partner has no prepaid points";
    }
  }
  return {};
}

std::string validate(const Genesis& genesis) {
  if (!is_supported_protocol_version(genesis.protocol_version)) {
    return "protocol_version must be " + std::to_string(protocol_version_first) + " to " +
           std::to_string(protocol_version_newest);
  }
  if (!is_valid_chain_id(genesis.chain_id)) return "chain_id must be 1 to 32 characters of a-z 0-9 . -";
  if (genesis.coalition_name.empty() || genesis.coalition_name.size() > name_bytes_max) {
    return "coalition name must be 1 to 64 bytes";
  }
  if (!is_display_text(genesis.coalition_name)) return "coalition name must be UTF-8 without control characters";
  if (genesis.genesis_time_ms > block_time_ms_max) return "genesis time is past the year 9999";
  if (genesis.partners.empty() || genesis.partners.size() > partners_max) {
    return "a coalition has 1 to 256 partners";
  }
  PartnerId previous = 0;
  std::uint64_t power = 0;
  for (const Partner& partner : genesis.partners) {
    const std::string which = "partner " + std::to_string(partner.id) + ": ";
    // previous starts at 0, so this also refuses id 0 (which u16 can hold).
    if (partner.id <= previous) return which + "ids must be 1 to 65535 and strictly ascending";
    previous = partner.id;
    if (partner.name.empty() || partner.name.size() > name_bytes_max) {
      return which + "name must be 1 to 64 bytes";
    }
    if (!is_display_text(partner.name)) return which + "name must be UTF-8 without control characters";
    if (!crypto::is_valid_public_key(partner.issuer_key)) return which + "invalid issuer key";
    if (!crypto::is_valid_public_key(partner.validator_key)) return which + "invalid validator key";
    // Voting power is kept small enough that sums and the 2/3 test cannot overflow.
    if (partner.voting_power > (std::uint64_t{1} << 32)) return which + "voting power over 2^32";
    power += partner.voting_power;
  }
  if (power == 0) return "at least one partner must have voting power";
  if (genesis.policy.point_expiry_days > point_expiry_days_max) return "point expiry over 36500 days";
  if (genesis.policy.billing.has_value() != has_billing_terms(genesis.protocol_version)) {
    return has_billing_terms(genesis.protocol_version) ? "billing terms are required from protocol version 4"
                                                       : "billing terms need protocol version 4";
  }
  if (genesis.policy.billing) {
    if (std::string problem = validate_billing(*genesis.policy.billing, genesis.partners); !problem.empty()) return problem;
  }
  if (!has_tiers(genesis.protocol_version) && !(genesis.policy.tiers == TierProgram{})) {
    return "policy.tiers needs protocol version 4";
  }
  if (std::string problem = validate_tier_program(genesis.policy.tiers); !problem.empty()) return "policy.tiers: " + problem;
  return {};
}

// A problem in genesis JSON, already worded as "<member>: <rule>".
struct JsonProblem : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string member_path(std::string_view where, std::string_view name) {
  return where.empty() ? std::string(name) : std::string(where) + "." + std::string(name);
}

// Every member listed in `required` must be present, and nothing outside `required` and
// `optional`: a misspelt member would otherwise be ignored and its default used silently.
void expect_members(const Json& object, std::string_view where, std::initializer_list<std::string_view> required,
                    std::initializer_list<std::string_view> optional = {}) {
  if (!object.is_object()) throw JsonProblem((where.empty() ? "the top level" : std::string(where)) + ": must be an object");
  for (const auto& item : object.items()) {
    const std::string& key = item.key();
    const auto listed = [&key](std::initializer_list<std::string_view> names) {
      return std::find(names.begin(), names.end(), key) != names.end();
    };
    if (!listed(required) && !listed(optional)) throw JsonProblem(member_path(where, key) + ": unknown member");
  }
  for (std::string_view name : required) {
    if (!object.contains(name)) throw JsonProblem(member_path(where, name) + ": missing");
  }
}

// nlohmann's get<uint16_t>() would silently truncate 70000 and wrap -1, so every integer is
// read as an unsigned JSON number and range-checked here.
std::uint64_t unsigned_from_json(const Json& object, std::string_view where, const char* field, std::uint64_t max) {
  const Json& value = object.at(field);
  if (!value.is_number_unsigned() || value.get<std::uint64_t>() > max) {
    throw JsonProblem(member_path(where, field) + ": must be an integer from 0 to " + std::to_string(max));
  }
  return value.get<std::uint64_t>();
}

std::string string_from_json(const Json& object, std::string_view where, const char* field) {
  const Json& value = object.at(field);
  if (!value.is_string()) throw JsonProblem(member_path(where, field) + ": must be a string");
  return value.get<std::string>();
}

bool bool_from_json(const Json& object, std::string_view where, const char* field) {
  const Json& value = object.at(field);
  if (!value.is_boolean()) throw JsonProblem(member_path(where, field) + ": must be true or false");
  return value.get<bool>();
}

PublicKey key_from_json(const Json& object, std::string_view where, const char* field) {
  auto key = fixed_from_hex<32>(string_from_json(object, where, field));
  if (!key) throw JsonProblem(member_path(where, field) + ": must be 64 hex characters");
  return *key;
}

BillingTerms billing_from_json(const Json& json) {
  const std::string where = "policy.billing";
  expect_members(json, where, {"currency", "currency_minor_digits", "billing_key", "partners"});
  BillingTerms billing;
  billing.currency = string_from_json(json, where, "currency");
  if (!is_currency_code(billing.currency)) throw JsonProblem(where + ".currency: must be three capital letters (ISO 4217)");
  billing.currency_minor_digits =
      static_cast<std::uint8_t>(unsigned_from_json(json, where, "currency_minor_digits", currency_minor_digits_max));
  billing.billing_key = key_from_json(json, where, "billing_key");
  const Json& partners = json.at("partners");
  if (!partners.is_array()) throw JsonProblem(where + ".partners: must be an array");
  for (std::size_t i = 0; i < partners.size(); ++i) {
    const std::string at = where + ".partners[" + std::to_string(i) + "]";
    const Json& entry = partners[i];
    if (!entry.is_object()) throw JsonProblem(at + ": must be an object");
    const bool prepaid = entry.contains("plan") && entry.at("plan") == "prepaid";
    if (prepaid) {
      expect_members(entry, at, {"id", "plan", "price_per_1000_points_minor", "initial_prepaid_points"});
    } else {
      expect_members(entry, at, {"id", "plan", "price_per_1000_points_minor"});
    }
    PartnerBilling terms;
    terms.partner = static_cast<PartnerId>(unsigned_from_json(entry, at, "id", 0xffff));
    const std::string plan = string_from_json(entry, at, "plan");
    if (plan != "postpaid" && plan != "prepaid") throw JsonProblem(at + ".plan: must be \"postpaid\" or \"prepaid\"");
    terms.plan = prepaid ? BillingPlan::prepaid : BillingPlan::postpaid;
    terms.price_per_1000_points_minor =
        unsigned_from_json(entry, at, "price_per_1000_points_minor", billing_price_per_1000_points_minor_max);
    if (prepaid) terms.initial_prepaid_points = unsigned_from_json(entry, at, "initial_prepaid_points", UINT64_MAX);
    billing.partners.push_back(terms);
  }
  return billing;
}

Json billing_to_json(const BillingTerms& billing) {
  Json partners = Json::array();
  for (const PartnerBilling& terms : billing.partners) {
    Json entry = {{"id", terms.partner},
                  {"plan", std::string(billing_plan_name(terms.plan))},
                  {"price_per_1000_points_minor", terms.price_per_1000_points_minor}};
    if (terms.plan == BillingPlan::prepaid) entry["initial_prepaid_points"] = terms.initial_prepaid_points;
    partners.push_back(std::move(entry));
  }
  return {{"currency", billing.currency},
          {"currency_minor_digits", billing.currency_minor_digits},
          {"billing_key", to_hex(billing.billing_key)},
          {"partners", partners}};
}

TierProgram tier_program_from_json(const Json& object) {
  const std::string where = "policy.tiers";
  expect_members(object, where, {"window_days", "grace_days", "levels"});
  TierProgram program;
  program.window_days = static_cast<std::uint16_t>(unsigned_from_json(object, where, "window_days", tier_window_days_max));
  program.grace_days = static_cast<std::uint16_t>(unsigned_from_json(object, where, "grace_days", tier_window_days_max));
  const Json& levels = object.at("levels");
  if (!levels.is_array() || levels.size() > tiers_max) {
    throw JsonProblem(where + ".levels: must be an array of at most " + std::to_string(tiers_max) + " tiers");
  }
  for (std::size_t i = 0; i < levels.size(); ++i) {
    const std::string level_where = where + ".levels[" + std::to_string(i) + "]";
    expect_members(levels[i], level_where, {"name", "threshold_points", "multiplier_bp"});
    Tier tier;
    tier.name = string_from_json(levels[i], level_where, "name");
    tier.threshold_points = unsigned_from_json(levels[i], level_where, "threshold_points", UINT64_MAX);
    tier.multiplier_bp =
        static_cast<std::uint32_t>(unsigned_from_json(levels[i], level_where, "multiplier_bp", tier_multiplier_bp_max));
    program.tiers.push_back(std::move(tier));
  }
  return program;
}

}  // namespace

std::string_view billing_plan_name(BillingPlan plan) {
  return plan == BillingPlan::prepaid ? "prepaid" : "postpaid";
}

const PartnerBilling* BillingTerms::of(PartnerId partner) const {
  for (const PartnerBilling& terms : partners) {
    if (terms.partner == partner) return &terms;
  }
  return nullptr;
}

BillingTerms no_charge_billing(const std::vector<Partner>& partners, const PublicKey& billing_key) {
  BillingTerms billing;
  billing.currency = "EUR";
  billing.currency_minor_digits = 2;
  billing.billing_key = billing_key;
  for (const Partner& partner : partners) billing.partners.push_back({partner.id, BillingPlan::postpaid, 0, 0});
  return billing;
}

const Partner* Genesis::partner(PartnerId id) const {
  for (const Partner& candidate : partners) {
    if (candidate.id == id) return &candidate;
  }
  return nullptr;
}

std::uint64_t Genesis::total_voting_power() const {
  std::uint64_t total = 0;
  for (const Partner& partner : partners) total += partner.voting_power;
  return total;
}

Bytes Genesis::encode() const {
  Writer out;
  if (protocol_version == protocol_version_first) {
    out.u8(genesis_encoding_unversioned);
  } else {
    out.u8(genesis_encoding_versioned);
    out.u16(protocol_version);
  }
  out.string(chain_id);
  out.string(coalition_name);
  out.u64(genesis_time_ms);
  out.length(partners.size());
  for (const Partner& partner : partners) {
    out.u16(partner.id);
    out.string(partner.name);
    out.raw(partner.issuer_key);
    out.raw(partner.validator_key);
    out.u64(partner.voting_power);
  }
  out.u32(policy.point_expiry_days);
  out.u8(policy.transfers_allowed ? 1 : 0);
  out.u64(policy.issuance_cap_points);
  if (policy.billing) {
    const BillingTerms& billing = *policy.billing;
    out.raw(as_bytes(billing.currency));
    out.u8(billing.currency_minor_digits);
    out.raw(billing.billing_key);
    out.length(billing.partners.size());
    for (const PartnerBilling& terms : billing.partners) {
      out.u16(terms.partner);
      out.u8(static_cast<std::uint8_t>(terms.plan));
      out.u64(terms.price_per_1000_points_minor);
      if (terms.plan == BillingPlan::prepaid) out.u64(terms.initial_prepaid_points);
    }
  }
  if (has_tiers(protocol_version)) {
    out.u16(policy.tiers.window_days);
    out.u16(policy.tiers.grace_days);
    out.length(policy.tiers.tiers.size());
    for (const Tier& tier : policy.tiers.tiers) {
      out.string(tier.name);
      out.u64(tier.threshold_points);
      out.u32(tier.multiplier_bp);
    }
  }
  return out.take();
}

Hash256 Genesis::hash() const { return crypto::tagged_hash(domain::genesis, {encode()}); }

Result<Genesis> decode_genesis(ByteSpan bytes) {
  Reader in(bytes);
  Genesis genesis;
  const std::uint8_t encoding = in.u8();
  if (encoding == genesis_encoding_versioned) {
    genesis.protocol_version = in.u16();
    // Version 1 has exactly one encoding: the one without the field.
    if (genesis.protocol_version == protocol_version_first && in.ok()) {
      return Error{Code::invalid_field, "protocol_version 1 is written in genesis encoding 1"};
    }
    // Which fields follow depends on the version (billing terms and the tier program from
    // version 4): an unknown one is refused before reading them.
    if (in.ok() && !is_supported_protocol_version(genesis.protocol_version)) {
      return Error{Code::invalid_field, "protocol_version must be " + std::to_string(protocol_version_first) + " to " +
                                            std::to_string(protocol_version_newest)};
    }
  } else if (encoding != genesis_encoding_unversioned && in.ok()) {
    return Error{Code::unknown_version, "genesis version"};
  }
  genesis.chain_id = in.string(chain_id_bytes_max, "chain id");
  genesis.coalition_name = in.string(name_bytes_max, "coalition name");
  genesis.genesis_time_ms = in.u64();
  const std::uint64_t count = in.length(partners_max, "partner count");
  for (std::uint64_t i = 0; i < count && in.ok(); ++i) {
    Partner partner;
    partner.id = in.u16();
    partner.name = in.string(name_bytes_max, "partner name");
    partner.issuer_key = in.fixed<32>();
    partner.validator_key = in.fixed<32>();
    partner.voting_power = in.u64();
    genesis.partners.push_back(std::move(partner));
  }
  genesis.policy.point_expiry_days = in.u32();
  const std::uint8_t transfers = in.u8();
  if (transfers > 1) in.fail(Code::invalid_field, "transfers_allowed must be 0 or 1");
  genesis.policy.transfers_allowed = transfers == 1;
  genesis.policy.issuance_cap_points = in.u64();
  if (in.ok() && has_billing_terms(genesis.protocol_version)) {
    BillingTerms billing;
    const ByteSpan currency = in.raw(3);
    billing.currency.assign(currency.begin(), currency.end());
    billing.currency_minor_digits = in.u8();
    billing.billing_key = in.fixed<32>();
    const std::uint64_t terms_count = in.length(partners_max, "billing partner count");
    for (std::uint64_t i = 0; i < terms_count && in.ok(); ++i) {
      PartnerBilling terms;
      terms.partner = in.u16();
      const std::uint8_t plan = in.u8();
      if (in.ok() && plan != static_cast<std::uint8_t>(BillingPlan::postpaid) &&
          plan != static_cast<std::uint8_t>(BillingPlan::prepaid)) {
        in.fail(Code::invalid_field, "billing plan must be 1 (post-paid) or 2 (prepaid)");
      }
      terms.plan = static_cast<BillingPlan>(plan);
      terms.price_per_1000_points_minor = in.u64();
      if (terms.plan == BillingPlan::prepaid) terms.initial_prepaid_points = in.u64();
      billing.partners.push_back(terms);
    }
    genesis.policy.billing = std::move(billing);
  }
  if (in.ok() && has_tiers(genesis.protocol_version)) {
    TierProgram& program = genesis.policy.tiers;
    program.window_days = in.u16();
    program.grace_days = in.u16();
    const std::uint64_t tier_count = in.length(tiers_max, "tier count");
    for (std::uint64_t i = 0; i < tier_count && in.ok(); ++i) {
      Tier tier;
      tier.name = in.string(tier_name_bytes_max, "tier name");
      tier.threshold_points = in.u64();
      tier.multiplier_bp = in.u32();
      program.tiers.push_back(std::move(tier));
    }
  }
  if (auto status = in.finish(); !status) return status.error();
  if (std::string problem = validate(genesis); !problem.empty()) {
    return Error{Code::invalid_field, problem};
  }
  return genesis;
}

pc::Result<Genesis, std::string> parse_genesis_json(std::string_view json_text) {
  Genesis genesis;
  try {
    const Json json = Json::parse(json_text);
    expect_members(json, "", {"chain_id", "coalition_name", "genesis_time_ms", "partners", "policy"},
                   {"protocol_version"});
    // Genesis files written before protocol versions were named have no such member: version 1.
    if (json.contains("protocol_version")) {
      genesis.protocol_version = static_cast<std::uint16_t>(unsigned_from_json(json, "", "protocol_version", 0xffff));
    }
    genesis.chain_id = string_from_json(json, "", "chain_id");
    genesis.coalition_name = string_from_json(json, "", "coalition_name");
    genesis.genesis_time_ms = unsigned_from_json(json, "", "genesis_time_ms", block_time_ms_max);
    const Json& partners = json.at("partners");
    if (!partners.is_array()) throw JsonProblem("partners: must be an array");
    for (std::size_t i = 0; i < partners.size(); ++i) {
      const std::string where = "partners[" + std::to_string(i) + "]";
      const Json& entry = partners[i];
      expect_members(entry, where, {"id", "name", "issuer_key", "validator_key", "voting_power"});
      Partner partner;
      partner.id = static_cast<PartnerId>(unsigned_from_json(entry, where, "id", 0xffff));
      partner.name = string_from_json(entry, where, "name");
      partner.issuer_key = key_from_json(entry, where, "issuer_key");
      partner.validator_key = key_from_json(entry, where, "validator_key");
      partner.voting_power = unsigned_from_json(entry, where, "voting_power", UINT64_MAX);
      genesis.partners.push_back(std::move(partner));
    }
    const Json& policy = json.at("policy");
    // The billing terms and the tier program are required from protocol version 4 and refused
    // before it, so that a file never means something its chain's version cannot hold. Each
    // member is checked against the version before the other members, so the message names it.
    if (policy.is_object() && policy.contains("billing") != has_billing_terms(genesis.protocol_version)) {
      throw JsonProblem(policy.contains("billing") ? "policy.billing: needs protocol_version 4 or later"
                                                   : "policy.billing: missing (required from protocol_version 4)");
    }
    if (has_tiers(genesis.protocol_version)) {
      expect_members(policy, "policy", {"point_expiry_days", "transfers_allowed", "issuance_cap_points", "tiers"},
                     {"billing"});
      genesis.policy.tiers = tier_program_from_json(policy.at("tiers"));
    } else if (policy.is_object() && policy.contains("tiers")) {
      throw JsonProblem("policy.tiers: needs protocol_version 4 or later");
    } else {
      expect_members(policy, "policy", {"point_expiry_days", "transfers_allowed", "issuance_cap_points"}, {"billing"});
    }
    genesis.policy.point_expiry_days =
        static_cast<std::uint32_t>(unsigned_from_json(policy, "policy", "point_expiry_days", point_expiry_days_max));
    genesis.policy.transfers_allowed = bool_from_json(policy, "policy", "transfers_allowed");
    genesis.policy.issuance_cap_points = unsigned_from_json(policy, "policy", "issuance_cap_points", UINT64_MAX);
    if (policy.contains("billing")) genesis.policy.billing = billing_from_json(policy.at("billing"));
  } catch (const Json::parse_error& error) {
    return std::string("genesis: not valid JSON: ") + error.what();
  } catch (const JsonProblem& problem) {
    return std::string("genesis: ") + problem.what();
  } catch (const Json::out_of_range& error) {
    // The parser's own range error: a number too large even for a double (found by fuzzing).
    return std::string("genesis: not valid JSON: ") + error.what();
  }
  if (std::string problem = validate(genesis); !problem.empty()) return "genesis: " + problem;
  return genesis;
}

pc::Result<Genesis, std::string> load_genesis_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return "cannot read genesis file " + path.string();
  std::stringstream text;
  text << file.rdbuf();
  auto genesis = parse_genesis_json(text.str());
  if (!genesis) return path.string() + ": " + genesis.error();
  return genesis;
}

std::string genesis_to_json(const Genesis& genesis) {
  Json partners = Json::array();
  for (const Partner& partner : genesis.partners) {
    partners.push_back({{"id", partner.id},
                        {"name", partner.name},
                        {"issuer_key", to_hex(partner.issuer_key)},
                        {"validator_key", to_hex(partner.validator_key)},
                        {"voting_power", partner.voting_power}});
  }
  Json policy = {{"point_expiry_days", genesis.policy.point_expiry_days},
                 {"transfers_allowed", genesis.policy.transfers_allowed},
                 {"issuance_cap_points", genesis.policy.issuance_cap_points}};
  if (genesis.policy.billing) policy["billing"] = billing_to_json(*genesis.policy.billing);
  if (has_tiers(genesis.protocol_version)) {
    Json levels = Json::array();
    for (const Tier& tier : genesis.policy.tiers.tiers) {
      levels.push_back({{"name", tier.name}, {"threshold_points", tier.threshold_points}, {"multiplier_bp", tier.multiplier_bp}});
    }
    policy["tiers"] = {{"window_days", genesis.policy.tiers.window_days},
                       {"grace_days", genesis.policy.tiers.grace_days},
                       {"levels", std::move(levels)}};
  }
  const Json json = {
      {"protocol_version", genesis.protocol_version},
      {"chain_id", genesis.chain_id},
      {"coalition_name", genesis.coalition_name},
      {"genesis_time_ms", genesis.genesis_time_ms},
      {"partners", partners},
      {"policy", std::move(policy)},
  };
  return json.dump(2) + "\n";
}

}  // namespace pc::ledger
