#!/usr/bin/env bash
# Installs what building and testing mcp-background-job needs on a fresh Debian 12 machine.
# Idempotent: packages already present are not fetched again, so `make run` stays fast after the
# first time. Needs root (or sudo) for apt-get; npm packages go into tests/e2e/node_modules.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev          # Asio event loop (header-only parts)
  libboost-url1.81-dev      # Host and Origin headers and the allow-lists (RFC 3986 parsing)
  libssl-dev                # bearer token: SHA-256 and a constant-time compare (libcrypto)
  nlohmann-json3-dev        # JSON
  libcli11-dev              # command-line parsing
  libspdlog-dev libfmt-dev  # logging to stderr, formatting
  libre2-dev                # wait/grep patterns: linear-time regular expressions
  libtomlplusplus-dev       # TOML config file
  libexpected-dev           # tl::expected
  prometheus-cpp-dev        # GET /metrics: registry and text serializer (core library only)
  libsqlite3-dev libsqlitecpp-dev  # job history and persisted jobs (SQLite, SQLiteCpp wrapper)
  libgtest-dev libgmock-dev # unit and integration tests
  libbenchmark-dev          # micro benchmarks
  nodejs npm                # end-to-end tests with the official MCP TypeScript SDK
  clang-14                  # make fuzz: libFuzzer targets need clang
  libclang-rt-14-dev        # make fuzz: the libFuzzer, ASan and UBSan runtimes for clang 14
  clang-format-14           # make format-check (part of make test): the tree as .clang-format says
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    # nodejs/npm may come from outside Debian (as on the CI image); accept a working binary.
    case "$p" in
      nodejs) command -v node >/dev/null && continue ;;
      npm) command -v npm >/dev/null && continue ;;
    esac
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
