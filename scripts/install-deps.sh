#!/usr/bin/env bash
# Installs every build and test dependency from Debian's packages. Idempotent:
# a machine that already has them spends one `apt-get update` and a no-op install.
set -euo pipefail

packages=(
  build-essential g++ clang lld libclang-rt-dev cmake ninja-build git pkg-config
  libsodium-dev libleveldb-dev libsnappy-dev libjemalloc-dev
  libboost-dev libboost-system-dev
  nlohmann-json3-dev catch2
  libqrencode-dev
  curl python3
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo_prefix=()
[ "$(id -u)" -eq 0 ] || sudo_prefix=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_prefix[@]}" apt-get update
"${sudo_prefix[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
