#!/usr/bin/env bash
# Holds the API to its OpenAPI document: Schemathesis generates requests from
# /api/v1/openapi.json (its examples, coverage, fuzzing and stateful phases) and sends them
# to a real `ipvet serve` on a fresh SQLite database, once with an admin token and once with
# a viewer's. It fails on any 5xx, any schema-valid request refused for a reason the document
# does not list, any request that breaks the schema yet is accepted, and any answer whose
# status, type or body the document does not describe.
#
# The server runs in a network namespace of its own that has only loopback: generated
# networks and zones are arbitrary public ones, and whatever the probes or DNSBL queries
# send there goes nowhere.
#
# Usage: server/tests/schemathesis.sh [IPVET_BINARY]   (default: target/debug/ipvet)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

if [ -z "${IPVET_ST_NETNS:-}" ]; then
  # Mapping root keeps this working for a user without CAP_SYS_ADMIN, where user
  # namespaces are allowed.
  exec env IPVET_ST_NETNS=1 unshare --net --map-root-user "$0" "$@"
fi
ip link set lo up

ipvet=${1:-${CARGO_TARGET_DIR:-$root/target}/debug/ipvet}
st=${IPVET_SCHEMATHESIS:-$("$root/.ci/install-tools.sh" schemathesis)}
[ -x "$ipvet" ] || { echo "schemathesis.sh: no ipvet binary at $ipvet; build it first" >&2; exit 2; }
ipvet=$(realpath "$ipvet")
[ -x "$st" ] || { echo "schemathesis.sh: no schemathesis; run .ci/install-tools.sh test" >&2; exit 2; }

work=$(mktemp -d)
server_pid=
stop() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop EXIT
trap 'exit 130' INT TERM

# The namespace is ours alone, so any port is free in it.
port=3180
base="http://127.0.0.1:$port"
export IPVET_DATABASE="sqlite://$work/ipvet.db"
export IPVET_LISTEN="127.0.0.1:$port"
export IPVET_SECURE_COOKIES=off
export IPVET_ADMIN_PASSWORD="schemathesis-first-admin"
# Networks without their own probe methods are checked by a script that finds every address
# free; DNSBL queries go to a closed loopback port.
export IPVET_IP_CHECKER_SCRIPT="$here/fixtures/always-free.sh"
export IPVET_DNS_RESOLVER=127.0.0.1:9
# Networks the run creates with their own probe methods are probed for real; inside the
# namespace every probe fails at once, and these keep a failing allocation short.
export IPVET_PROBE_TIMEOUT=50ms IPVET_PING_TIMEOUT=50ms IPVET_PING_COUNT=1
export IPVET_CHECK_TIMEOUT=1s IPVET_ALLOCATION_TIMEOUT=5s
# Zones the run adds fail their self-test by design; their warnings would bury the rest.
export RUST_LOG=${RUST_LOG:-error}
# Draws the document's custom `cidr` format.
export SCHEMATHESIS_HOOKS="$here/schemathesis_hooks.py"

"$ipvet" migrate >/dev/null
echo "schemathesis-admin-password" | "$ipvet" user add st-admin --role admin >/dev/null
echo "schemathesis-viewer-password" | "$ipvet" user add st-viewer --role viewer >/dev/null
admin=$("$ipvet" token create st-admin --name schemathesis 2>/dev/null)
viewer=$("$ipvet" token create st-viewer --name schemathesis 2>/dev/null)

"$ipvet" serve >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -fsS -o /dev/null "$base/api/v1/openapi.json" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done

# Something for the stateful phase to walk: a network with an allocated address.
seed() {
  curl -fsS -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' "$@" >/dev/null
}
seed -d '{"cidr": "198.18.0.0/24", "name": "schemathesis"}' "$base/api/v1/networks"
seed -d '{"owner": "seed"}' "$base/api/v1/networks/1/allocations"

run() {
  local who=$1 token=$2
  echo "== schemathesis as $who"
  # Deterministic generation, a fixed seed and a bounded number of examples, in about a
  # minute. The stateful phase follows the server's answers (whether a check cycle still
  # runs, say), so its request count can differ a little from run to run.
  (cd "$work" && "$st" --no-color --config-file "$here/schemathesis.toml" run "$base/api/v1/openapi.json" \
    --header "Authorization: Bearer $token" \
    --phases examples,coverage,fuzzing,stateful \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,positive_data_acceptance,negative_data_rejection,missing_required_header,unsupported_method,ignored_auth \
    --seed 17 --generation-deterministic --max-examples "${IPVET_ST_EXAMPLES:-100}" \
    --continue-on-failure --request-timeout 120 --workers 1 2>&1) || status=$?
}

status=0
run admin "$admin"
run viewer "$viewer"
if [ "$status" -ne 0 ]; then
  echo "== the server's log" >&2
  tail -n 30 "$work/server.log" >&2
fi
exit "$status"
