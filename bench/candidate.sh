#!/usr/bin/env bash
# Gatehouse as a candidate of the shared gateway harness (a separate checkout, called $HARNESS_DIR in
# bench/README.md; see its README). Its candidate lines (bench/harness-candidates.conf), with GATEHOUSE_DIR
# set to this repository's checkout:
#
#   gatehouse-rs256       rs256 yes bash "$GATEHOUSE_DIR/bench/candidate.sh"
#   gatehouse-es256       es256 yes bash "$GATEHOUSE_DIR/bench/candidate.sh"
#   gatehouse-rs256-miss  rs256 yes env MODE=miss bash "$GATEHOUSE_DIR/bench/candidate.sh"
#   gatehouse-public      rs256 no  env MODE=public bash "$GATEHOUSE_DIR/bench/candidate.sh"
#
# Reads the harness's environment: PORT UPSTREAM_URL JWKS_PATH ISSUER AUDIENCE REQUIRED_ROLE RUN_DIR.
# Serves one route `/api/*` (GET) that requires a bearer token from provider `bench` (type oidc,
# RS256 + ES256, keys fetched over HTTP from a tiny local JWKS server that serves JWKS_PATH) and the
# role REQUIRED_ROLE, forwards to UPSTREAM_URL with the default identity headers, and writes one audit
# line per request to $RUN_DIR/audit.log (audit is part of the product, so it stays on).
#
# Knobs:
#   MODE=hit (default)  the harness sends one token over and over: Gatehouse verifies it once and then
#                       serves it from its verified-token cache.
#   MODE=miss           additionally mints MISS_TOKENS (default 40000; see bench/README.md, "Cache misses in
#                       the harness", for why fewer would measure hits) distinct tokens with the harness's private key into
#                       $(dirname JWKS_PATH)/rotate-$PORT.txt. bench/wrk-rotate.lua, used as the harness's
#                       wrk script with BENCH_ROTATE_DIR=$(dirname JWKS_PATH), then cycles through them, so
#                       every request misses the cache.
#                       MISS_ALG=rs256|es256 (default rs256) picks the key.
#   MODE=public         the same route `public: true`: no authentication, policy or identity headers (there
#                       is no identity), still routing, header hygiene, forwarding and the audit line; the
#                       peer to compare with is node-baseline-plain (node:http + undici, no auth).
#   AUDIT_SINK=off      no audit lines (to measure what they cost; the default writes them to AUDIT_PATH).
#   HEAP_HEADROOM       sets `heap.headroom` (auto, off or a size; default: the config's default, auto).
#   GATEHOUSE_RUNTIME   dist (default when dist/cli/main.js exists; build with `npx tsc -p tsconfig.build.json`)
#                       or tsx (runs src/ through tsx: slower start, same steady state),
#                       or bun (the built dist/ on the Bun runtime, binary $BUN, default `bun` on PATH:
#                       node:http on Bun + the real undici; see bench/README.md "Bun engine").
#   GATEHOUSE_DIR       the Gatehouse checkout to run (default: the one this script is in).
#   NODE_EXTRA          extra node flags, e.g. NODE_EXTRA="--cpu-prof --cpu-prof-dir=/tmp/prof".
#   AUDIT_PATH          default $RUN_DIR/audit.log (grows ~0.5 kB per request).
#
# The last step execs node, so the PID the harness started is the gateway itself and SIGTERM reaches it
# (Gatehouse drains and exits 0). The JWKS server is its child and exits as soon as its parent is gone.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GATEHOUSE_DIR=${GATEHOUSE_DIR:-$(cd "$HERE/.." && pwd)}
: "${PORT:?}" "${UPSTREAM_URL:?}" "${JWKS_PATH:?}" "${ISSUER:?}" "${AUDIENCE:?}"
REQUIRED_ROLE=${REQUIRED_ROLE:-reader}
RUN_DIR=${RUN_DIR:-$(mktemp -d /tmp/gatehouse-candidate.XXXXXX)}
MODE=${MODE:-hit}
mkdir -p "$RUN_DIR"
AUDIT_PATH=${AUDIT_PATH:-$RUN_DIR/audit.log}
export PORT UPSTREAM_URL ISSUER AUDIENCE REQUIRED_ROLE AUDIT_PATH

# 1. JWKS over HTTP (the provider fetches jwksUri at start and every refreshInterval).
node "$HERE/jwks-server.mjs" "$JWKS_PATH" > "$RUN_DIR/jwks.port" 2> "$RUN_DIR/jwks.log" &
for _ in $(seq 1 100); do [ -s "$RUN_DIR/jwks.port" ] && break; sleep 0.05; done
JWKS_PORT=$(head -1 "$RUN_DIR/jwks.port")
[ -n "$JWKS_PORT" ] || { echo "candidate.sh: JWKS server did not start" >&2; exit 1; }
export BENCH_JWKS_URI="http://127.0.0.1:$JWKS_PORT/jwks.json"

# 2. Distinct tokens for cache-miss load.
if [ "$MODE" = miss ]; then
  KEYS_DIR=$(dirname "$JWKS_PATH")
  MISS_ALG=${MISS_ALG:-rs256}
  ALG=$(echo "$MISS_ALG" | tr a-z A-Z)
  KID=$(node -e 'const j=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));const k=j.keys.find(k=>k.alg===process.argv[2]);if(!k)process.exit(1);console.log(k.kid)' "$JWKS_PATH" "$ALG")
  # One part per CPU of the machine (this script is pinned to the proxy's core, and the harness waits
  # only ~15 s for the port): RS256 signing of 40,000 tokens takes ~13 s on one core.
  N=${MISS_TOKENS:-40000}; CPUS=$(nproc --all); CHUNK=$(( (N + CPUS - 1) / CPUS ))
  MINTERS=()
  for ((c = 0; c < CPUS; c++)); do
    FROM=$((c * CHUNK)); COUNT=$(( N - FROM < CHUNK ? N - FROM : CHUNK ))
    [ "$COUNT" -gt 0 ] || continue
    taskset -c "$c" node "$HERE/mint-tokens.mjs" --key "$KEYS_DIR/$MISS_ALG.key.pem" --alg "$ALG" --kid "$KID" --iss "$ISSUER" --aud "$AUDIENCE" \
      --role "$REQUIRED_ROLE" --from "$FROM" --n "$COUNT" --out "$RUN_DIR/tokens.$c" &
    MINTERS+=($!)
  done
  for pid in "${MINTERS[@]}"; do wait "$pid"; done
  cat "$RUN_DIR"/tokens.* > "$KEYS_DIR/rotate-$PORT.txt" && rm -f "$RUN_DIR"/tokens.*
elif [ "$MODE" != hit ] && [ "$MODE" != public ]; then
  echo "candidate.sh: MODE must be hit, miss or public" >&2; exit 2
fi

# 3. Config: every value comes from the environment through ${env:} references (no quoting issues).
CONFIG="$RUN_DIR/gatehouse.yaml"
cat > "$CONFIG" <<'YAML'
listen: { host: 127.0.0.1, port: "${env:PORT}" }
admin: { host: 127.0.0.1, port: 0 }
audit: { sink: file, path: "${env:AUDIT_PATH}" }
log: { level: info }
providers:
  bench:
    type: oidc
    issuer: "${env:ISSUER}"
    jwksUri: "${env:BENCH_JWKS_URI}"
    audience: "${env:AUDIENCE}"
    algorithms: [RS256, ES256]
routes:
  - name: api
    match: { path: /api/*, methods: [GET] }
    authenticate: [bench]
    allow: [ { name: readers, roles: ["${env:REQUIRED_ROLE}"] } ]
    upstream: { url: "${env:UPSTREAM_URL}" }
YAML
if [ "$MODE" = public ]; then
  # The route without authentication (the provider stays configured, as in a real deployment).
  sed -i -e '/^    authenticate: \[bench\]$/d' -e 's/^    allow: .*$/    public: true/' "$CONFIG"
fi

if [ "${AUDIT_SINK:-file}" = off ]; then sed -i 's/^audit: .*$/audit: { sink: off }/' "$CONFIG"; fi
if [ -n "${HEAP_HEADROOM:-}" ]; then printf 'heap: { headroom: "%s" }\n' "$HEAP_HEADROOM" >> "$CONFIG"; fi

# 4. The gateway, exec'd (same PID as this script).
if [ -z "${GATEHOUSE_RUNTIME:-}" ]; then
  if [ -f "$GATEHOUSE_DIR/dist/cli/main.js" ]; then GATEHOUSE_RUNTIME=dist; else GATEHOUSE_RUNTIME=tsx; fi
fi
# shellcheck disable=SC2086
case $GATEHOUSE_RUNTIME in
  dist) exec node ${NODE_EXTRA:-} "$GATEHOUSE_DIR/bin/gatehouse.js" start -c "$CONFIG" ;;
  tsx)  cd "$GATEHOUSE_DIR" && exec node ${NODE_EXTRA:-} --import tsx "$GATEHOUSE_DIR/test/harness/cli.ts" start -c "$CONFIG" ;;
  bun)  GATEHOUSE_ALLOW_BUN=1 exec "${BUN:-bun}" "$GATEHOUSE_DIR/bin/gatehouse.js" start -c "$CONFIG" ;;  # the evaluation opt-in (src/server/engine.ts)
  *) echo "candidate.sh: GATEHOUSE_RUNTIME must be dist, tsx or bun" >&2; exit 2 ;;
esac
