#include "ledger/genesis.hpp"

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

std::string validate(const Genesis& genesis) {
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
    if (partner.id <= previous) return which + "ids must be positive and strictly ascending";
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
  return {};
}

// nlohmann's get<uint16_t>() would silently truncate 70000 and wrap -1, so every integer is
// read as an unsigned JSON number and range-checked here.
std::uint64_t unsigned_from_json(const Json& object, const char* field, std::uint64_t max) {
  const Json& value = object.at(field);
  if (!value.is_number_unsigned() || value.get<std::uint64_t>() > max) {
    throw std::invalid_argument(std::string(field) + " must be an integer from 0 to " + std::to_string(max));
  }
  return value.get<std::uint64_t>();
}

PublicKey key_from_json(const Json& value, const char* field) {
  auto key = fixed_from_hex<32>(value.at(field).get<std::string>());
  if (!key) throw std::invalid_argument(std::string(field) + " must be 64 hex characters");
  return *key;
}

}  // namespace

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
  out.u8(encoding_version);
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
  return out.take();
}

Hash256 Genesis::hash() const { return crypto::tagged_hash(domain::genesis, {encode()}); }

Result<Genesis> decode_genesis(ByteSpan bytes) {
  Reader in(bytes);
  Genesis genesis;
  if (in.u8() != encoding_version && in.ok()) return Error{Code::unknown_version, "genesis version"};
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
    genesis.chain_id = json.at("chain_id").get<std::string>();
    genesis.coalition_name = json.at("coalition_name").get<std::string>();
    genesis.genesis_time_ms = unsigned_from_json(json, "genesis_time_ms", block_time_ms_max);
    for (const Json& entry : json.at("partners")) {
      Partner partner;
      partner.id = static_cast<PartnerId>(unsigned_from_json(entry, "id", 0xffff));
      partner.name = entry.at("name").get<std::string>();
      partner.issuer_key = key_from_json(entry, "issuer_key");
      partner.validator_key = key_from_json(entry, "validator_key");
      partner.voting_power = unsigned_from_json(entry, "voting_power", UINT64_MAX);
      genesis.partners.push_back(std::move(partner));
    }
    const Json& policy = json.at("policy");
    genesis.policy.point_expiry_days =
        static_cast<std::uint32_t>(unsigned_from_json(policy, "point_expiry_days", point_expiry_days_max));
    genesis.policy.transfers_allowed = policy.at("transfers_allowed").get<bool>();
    genesis.policy.issuance_cap_points = unsigned_from_json(policy, "issuance_cap_points", UINT64_MAX);
  } catch (const std::exception& error) {
    return std::string("genesis: ") + error.what();
  }
  if (std::string problem = validate(genesis); !problem.empty()) return "genesis: " + problem;
  return genesis;
}

pc::Result<Genesis, std::string> load_genesis_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return "cannot read genesis file " + path.string();
  std::stringstream text;
  text << file.rdbuf();
  return parse_genesis_json(text.str());
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
  const Json json = {
      {"chain_id", genesis.chain_id},
      {"coalition_name", genesis.coalition_name},
      {"genesis_time_ms", genesis.genesis_time_ms},
      {"partners", partners},
      {"policy",
       {{"point_expiry_days", genesis.policy.point_expiry_days},
        {"transfers_allowed", genesis.policy.transfers_allowed},
        {"issuance_cap_points", genesis.policy.issuance_cap_points}}},
  };
  return json.dump(2) + "\n";
}

}  // namespace pc::ledger
