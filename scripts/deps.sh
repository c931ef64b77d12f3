#!/usr/bin/env bash
# Installs the Debian packages bftcore needs to build and test, if any are missing.
# Safe to run repeatedly: it touches apt only when a package is absent.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev
  libsodium-dev openssl
  libasio-dev iproute2 python3
  libcli11-dev libleveldb-dev libsnappy-dev prometheus
  libprotobuf-dev protobuf-compiler python3-protobuf
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
