// GET /metrics: the node's figures in the Prometheus text exposition format, version 0.0.4
// (docs/rpc.md, "Metrics"). A pure function of values read at one moment, so tests check the
// text without a server. Every value is an integer: times in milliseconds.
#pragma once

#include <string>

#include "node/metrics.hpp"
#include "node/network_info.hpp"
#include "node/node.hpp"

namespace pc::rpc {

// The Content-Type of the exposition.
inline constexpr char metrics_content_type[] = "text/plain; version=0.0.4; charset=utf-8";

std::string metrics_text(const node::ChainInfo& chain, const node::MetricsSnapshot& metrics,
                         const node::NetworkInfo& network);

}  // namespace pc::rpc
