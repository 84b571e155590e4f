#!/usr/bin/env bash
# Browser test of the statistics dashboard (GET /dashboard) in headless
# Chromium, with playwright-core from tests/browser/package-lock.json.
#
# Starts `samling serve` (debug build: every region's services plus the
# gateway, embedded SQLite) on free ports with a temporary data dir, seeds
# demo data into two regions of different sizes, mints a council member's
# token and runs tests/browser/dashboard.test.mjs (node:test): log in, see
# national figures, switch region and period (the figures shown must be the
# JSON API's for that scope), download a CSV, find a small count shown as
# "<5", tab through the controls. Screenshots go to target/browser/ (CI
# keeps target/). The server is stopped and the data dir removed on exit.
#
# Knobs (env): SAMLING_BIN (default target/debug/samling, built here if
# needed), CHROMIUM (default /usr/bin/chromium; installed with apt-get when
# missing and running as root), BR_TIMEOUT (seconds for the node test,
# default 240), BR_KEEP=1 keeps the work dir (server log).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

BIN=${SAMLING_BIN:-$ROOT/target/debug/samling}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
BR_TIMEOUT=${BR_TIMEOUT:-240}
SHOTS=$ROOT/target/browser
BIG=stockholm-gotland
SMALL=norr

WORK=$(mktemp -d /tmp/samling-br.XXXXXX)
DATA=$WORK/data
SERVER_PID=""
NODE_PID=""

cleanup() {
    local rc=$?
    if [[ -n "$NODE_PID" ]] && kill -0 "$NODE_PID" 2>/dev/null; then
        kill -TERM "$NODE_PID" 2>/dev/null || true
        wait "$NODE_PID" 2>/dev/null || true
    fi
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ $rc -ne 0 && -f "$WORK/server.log" ]]; then
        echo "-- last lines of the server log ($WORK/server.log):"
        tail -n 40 "$WORK/server.log" || true
    fi
    if [[ "${BR_KEEP:-}" == 1 || $rc -ne 0 ]]; then
        echo "-- work dir kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

echo "-- chromium ($CHROMIUM)"
if [[ ! -x "$CHROMIUM" ]]; then
    if [[ $(id -u) -eq 0 ]]; then
        export DEBIAN_FRONTEND=noninteractive
        timeout 600 apt-get install -y --no-install-recommends chromium \
            || { timeout 300 apt-get update && timeout 600 apt-get install -y --no-install-recommends chromium; }
    else
        echo "$CHROMIUM is missing; install Debian's chromium (apt-get install chromium) as root" >&2
        exit 1
    fi
fi
"$CHROMIUM" --version

echo "-- npm ci (tests/browser: playwright-core, no browser download)"
(cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 300 npm ci --no-audit --no-fund --loglevel=error)

if [[ -z "${SAMLING_BIN:-}" ]]; then
    echo "-- cargo build --bin samling (debug; .ci/run passes cargo test's binary as SAMLING_BIN instead)"
    cargo build --quiet --bin samling
fi

# Free ports: one for HTTP, six consecutive ones for the regions' gRPC.
read -r HTTP_PORT GRPC_BASE < <(python3 - <<'EOF'
import random, socket

def free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    http = s.getsockname()[1]
rng = random.Random()
while True:
    base = rng.randrange(20000, 60000)
    if http not in range(base, base + 6) and all(free(p) for p in range(base, base + 6)):
        break
print(http, base)
EOF
)
BASE_URL="http://127.0.0.1:$HTTP_PORT"

# The server's environment: only what this test sets.
while read -r name; do
    unset "$name"
done < <(compgen -e | grep -E '^(SAMLING_|OTEL_)')
export SAMLING_GRPC_BASE_PORT=$GRPC_BASE
export SAMLING_HTTP_ADDR=127.0.0.1:$HTTP_PORT
export SAMLING_LOG=${BR_LOG:-warn}
# The page asks once per county for the county grid; the defaults (6000 per
# token, 60 per address a minute for the public page and assets) would do,
# but a slow machine retrying must not meet a 429 in the middle of a check.
cat >"$WORK/samling.toml" <<'EOF'
[gateway]
token_rate_per_minute = 1000000
ip_rate_per_minute = 1000000
EOF
SAMLING=("$BIN" --config "$WORK/samling.toml" --data-dir "$DATA")

echo "-- starting $BIN serve (HTTP $HTTP_PORT, gRPC $GRPC_BASE..$((GRPC_BASE + 5)))"
"${SAMLING[@]}" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
ready=""
for _ in $(seq 1 120); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "the server exited early" >&2
        exit 1
    fi
    if curl -fsS "$BASE_URL/readyz" >/dev/null 2>&1; then
        ready=1
        break
    fi
    sleep 0.5
done
[[ -n "$ready" ]] || { echo "the server was not ready within 60 s" >&2; exit 1; }

echo "-- seeding demo data into $BIG (larger) and $SMALL (small: counts under 5)"
"${SAMLING[@]}" seed-demo --region "$BIG" --homes 40 --children 40 >"$WORK/seed-big.log" 2>&1 \
    || { cat "$WORK/seed-big.log"; exit 1; }
"${SAMLING[@]}" seed-demo --region "$SMALL" --homes 6 --children 6 --seed 7 >"$WORK/seed-small.log" 2>&1 \
    || { cat "$WORK/seed-small.log"; exit 1; }

TOKEN=$("${SAMLING[@]}" token issue --role council_member --sub browser-test --ttl 3600)

mkdir -p "$SHOTS"
echo "-- node --test tests/browser/dashboard.test.mjs (≤ ${BR_TIMEOUT}s; screenshots in $SHOTS)"
set +e
(
    cd tests/browser
    BASE_URL=$BASE_URL TOKEN=$TOKEN CHROMIUM=$CHROMIUM SHOTS=$SHOTS \
        BIG_REGION=$BIG SMALL_REGION=$SMALL \
        timeout --kill-after=10 "$BR_TIMEOUT" node --test --test-concurrency=1 --test-reporter=spec dashboard.test.mjs
) &
NODE_PID=$!
wait "$NODE_PID"
st=$?
NODE_PID=""
set -e
if [[ $st -eq 124 || $st -eq 137 ]]; then
    echo "the browser test did not finish within ${BR_TIMEOUT}s" >&2
fi
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "the server died during the run" >&2
    st=1
fi
exit "$st"
