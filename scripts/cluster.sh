#!/usr/bin/env bash
# A coalition of N partners' nodes on this machine, on loopback, for trying the network out
# and for tests (README.md, "Run a four-partner coalition on one machine").
#   scripts/cluster.sh up [N]     create N partners (default 4) the first time, start every node
#   scripts/cluster.sh status     each node's height, tip and peers, asked over its RPC
#   scripts/cluster.sh stop I     stop partner I's node (SIGTERM)
#   scripts/cluster.sh start I    start partner I's node again
#   scripts/cluster.sh wait       wait until every running node has the same tip (at most 60 s)
#   scripts/cluster.sh down       stop every node
# Settings (environment): PC_CLUSTER_DIR (default ./cluster), PC_CLUSTER_BASE_PORT (default
# 7700: partner I's RPC port is BASE + 2(I-1), its p2p port the next one),
# PC_CLUSTER_BLOCK_INTERVAL_MS (default 200), PC_BIN_DIR (default: the binaries built here).
# The key passphrase is kept in clear in DIR/passphrase: this is a demo, not a deployment
# (docs/node.md, "Joining a coalition", for real partners).
set -euo pipefail

dir="${PC_CLUSTER_DIR:-cluster}"
base_port="${PC_CLUSTER_BASE_PORT:-7700}"
block_interval_ms="${PC_CLUSTER_BLOCK_INTERVAL_MS:-200}"
bin_dir="${PC_BIN_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build/bin}"
node_bin="$bin_dir/pointchain-node"
names=("Harbor Coffee" "Northwind Books" "Summit Fuel" "Lakeside Cinema")
stop_grace_s=30
same_tip_timeout_s=60

die() { echo "cluster.sh: $*" >&2; exit 1; }
rpc_port() { echo $((base_port + 2 * ($1 - 1))); }
p2p_port() { echo $((base_port + 2 * ($1 - 1) + 1)); }
partners() { for d in "$dir"/p*/; do [ -d "$d" ] && basename "$d" | sed 's/^p//'; done | sort -n; }
# The process in pI/node.pid if it still runs and is a pointchain-node (a stale file's pid may
# belong to another process by now).
running_pid() {
  local pid_file="$dir/p$1/node.pid" pid
  [ -f "$pid_file" ] || return 1
  pid=$(cat "$pid_file")
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q pointchain-node; then
    echo "$pid"
  else
    rm -f "$pid_file"
    return 1
  fi
}
rpc() {  # rpc I METHOD: the JSON-RPC answer of partner I's node
  curl -sS --max-time 5 "http://127.0.0.1:$(rpc_port "$1")/" -H 'Content-Type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"'"$2"'","params":{}}'
}

create() {
  local count=$1 i keys validator issuer
  [[ "$count" =~ ^[1-9][0-9]?$ ]] || die "up takes a number of partners from 1 to 99, not $count"
  mkdir -p "$dir"
  ( umask 077; head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/passphrase" )
  local entries=()
  for i in $(seq 1 "$count"); do
    keys=$("$node_bin" keygen --data "$dir/p$i" --passphrase-file "$dir/passphrase")
    validator=$(echo "$keys" | sed -n 's/^ *validator key *\([0-9a-f]*\)$/\1/p')
    issuer=$(echo "$keys" | sed -n 's/^ *issuer key *\([0-9a-f]*\)$/\1/p')
    entries+=("{\"id\": $i, \"name\": \"${names[i - 1]:-Partner $i}\", \"issuer_key\": \"$issuer\",
      \"validator_key\": \"$validator\", \"voting_power\": 1}")
  done
  # The coalition's genesis: every partner with one vote (protocol version 3, the newest).
  cat > "$dir/genesis.json" <<EOF
{
  "chain_id": "local-coalition",
  "coalition_name": "Local Coalition",
  "genesis_time_ms": $(date +%s%3N),
  "partners": [
    $(IFS=,; echo "${entries[*]}")
  ],
  "policy": { "issuance_cap_points": 0, "point_expiry_days": 365, "transfers_allowed": true },
  "protocol_version": 3
}
EOF
  for i in $(seq 1 "$count"); do
    "$node_bin" init --data "$dir/p$i" --genesis "$dir/genesis.json" --partner-id "$i" \
      --passphrase-file "$dir/passphrase" > /dev/null
    local peers=() j config="$dir/p$i/node.json"
    for j in $(seq 1 "$count"); do
      [ "$j" = "$i" ] || peers+=("{\"host\": \"127.0.0.1\", \"port\": $(p2p_port "$j"), \"partner\": $j}")
    done
    sed -i -e "s/\"rpc_port\": [0-9]*/\"rpc_port\": $(rpc_port "$i")/" \
      -e "s/\"block_interval_ms\": [0-9]*/\"block_interval_ms\": $block_interval_ms/" "$config"
    # node.json ends with "  }" and "}": the p2p section goes before the last brace.
    sed -i '$ d' "$config" && sed -i '$ s/$/,/' "$config"
    printf '  "p2p": {"listen_address": "127.0.0.1", "listen_port": %s, "peers": [%s]}\n}\n' \
      "$(p2p_port "$i")" "$(IFS=,; echo "${peers[*]}")" >> "$config"
  done
}

start() {
  local i=$1 data="$dir/p$1"
  [ -d "$data" ] || die "no partner $i in $dir"
  running_pid "$i" > /dev/null && return 0
  "$node_bin" run --data "$data" --passphrase-file "$dir/passphrase" >> "$data/node.log" 2>&1 &
  echo $! > "$data/node.pid"
}

wait_ready() {
  curl -s --retry 30 --retry-delay 1 --retry-connrefused --max-time 60 -o /dev/null \
    "http://127.0.0.1:$(rpc_port "$1")/health" || die "partner $1's node did not answer; see $dir/p$1/node.log"
}

stop() {
  local i=$1 pid waited=0
  pid=$(running_pid "$i") || return 0
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt $((stop_grace_s * 10)) ]; do sleep 0.1; waited=$((waited + 1)); done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  rm -f "$dir/p$i/node.pid"
}

# "HEIGHT HASH" of partner I's tip (chain_info's keys come sorted: block_hash, ..., height, partner).
tip() { echo "$(rpc "$1" chain_info | sed -n 's/.*"block_hash":"\([0-9a-f]*\)".*"height":\([0-9]*\),"partner".*/\2 \1/p')"; }

wait_same_tip() {
  local try i tips
  for try in $(seq 1 $((same_tip_timeout_s * 5))); do
    tips=$(for i in $(partners); do if running_pid "$i" > /dev/null; then tip "$i"; fi; done | sort -u)
    [ -n "$tips" ] || die "no node is running"
    [ "$(echo "$tips" | wc -l)" = 1 ] && echo "every running node is at height ${tips/ /, block }" && return 0
    sleep 0.2
  done
  die "the nodes did not reach one tip within ${same_tip_timeout_s}s: $(echo "$tips" | paste -sd';' -)"
}

[ "${1:-}" = up ] || [ -f "$dir/genesis.json" ] || [ -z "${1:-}" ] || die "no cluster in $dir (scripts/cluster.sh up)"

case "${1:-}" in
  up)
    [ -x "$node_bin" ] || die "$node_bin not found: build first (scripts/build.sh) or set PC_BIN_DIR"
    [ -f "$dir/genesis.json" ] || create "${2:-4}"
    for i in $(partners); do start "$i"; done
    for i in $(partners); do wait_ready "$i"; done
    for i in $(partners); do
      token=$(sed -n 's/.*"api_token": *"\([^"]*\)".*/\1/p' "$dir/p$i/node.json")
      echo "partner $i  RPC http://127.0.0.1:$(rpc_port "$i")/  token $token  data $dir/p$i"
    done ;;
  status)
    for i in $(partners); do
      if ! running_pid "$i" > /dev/null; then echo "partner $i  stopped"; continue; fi
      peers=$(rpc "$i" net_info | grep -o '"partner":[0-9]*' | sed 's/.*://' | paste -sd, -)
      echo "partner $i  height $(tip "$i" | sed 's/ /  tip /')  peers ${peers:-none}"
    done ;;
  start) [ -n "${2:-}" ] || die "start needs a partner number"; start "$2"; wait_ready "$2" ;;
  stop) [ -n "${2:-}" ] || die "stop needs a partner number"; stop "$2" ;;
  wait) wait_same_tip ;;
  down) for i in $(partners); do stop "$i"; done ;;
  *) sed -n '2,14p' "$0" >&2; exit 2 ;;
esac
