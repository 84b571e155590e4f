#!/usr/bin/env bash
# Property-based conformance test of the REST gateway against its own
# OpenAPI document (GET /openapi.json), with Schemathesis.
#
# Starts `samling serve` (debug build: every region's registry plus the
# gateway, embedded SQLite) on free ports with a temporary data dir, seeds a
# little demo data, collects real ids so that generated requests reach the
# services and not only the gateway's 404s, and runs `schemathesis run` with
# a regional_officer token (of $REGION), a fixed seed and a bounded number of examples per
# operation. Any failed check fails the script (and CI). The server is
# stopped and the data dir removed on exit.
#
# Knobs (env): ST_MAX_EXAMPLES (default 50), ST_SEED (default 20260101),
# ST_WORKERS (default 1), ST_TIMEOUT (seconds for schemathesis, default 900),
# SAMLING_BIN (default target/debug/samling, built here if needed),
# ST_KEEP=1 keeps the work dir (server log, reports), ST_REPORT (default
# junit; e.g. junit,ndjson), ST_REUSE_VENV=1 skips re-creating the venv
# (local runs; CI always makes it afresh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

VENV=/tmp/samling-st-venv
MAX_EXAMPLES=${ST_MAX_EXAMPLES:-50}
SEED=${ST_SEED:-20260101}
# One worker: reproducible with the seed, and Python 3.11.7's ast.parse is not
# thread-safe (Hypothesis describing filters from two workers at once failed
# with "SystemError: AST constructor recursion depth mismatch").
WORKERS=${ST_WORKERS:-1}
ST_TIMEOUT=${ST_TIMEOUT:-900}
BIN=${SAMLING_BIN:-$ROOT/target/debug/samling}
REGION=stockholm-gotland

WORK=$(mktemp -d /tmp/samling-st.XXXXXX)
DATA=$WORK/data
SERVER_PID=""
ST_PID=""

cleanup() {
    local rc=$?
    if [[ -n "$ST_PID" ]] && kill -0 "$ST_PID" 2>/dev/null; then
        kill -TERM "$ST_PID" 2>/dev/null || true
        wait "$ST_PID" 2>/dev/null || true
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
    if [[ "${ST_KEEP:-}" == 1 || $rc -ne 0 ]]; then
        echo "-- work dir kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

echo "-- venv ($VENV)"
if [[ "${ST_REUSE_VENV:-}" != 1 || ! -x "$VENV/bin/schemathesis" ]]; then
    python3 -m venv --clear "$VENV"
    timeout 600 "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r .ci/requirements-schemathesis.txt
fi
"$VENV/bin/schemathesis" --version

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

# The server's environment: only what this test sets (no Redis, database
# URL, TLS or config file from the caller's environment).
LOG=${SAMLING_LOG:-warn}
while read -r name; do
    unset "$name"
done < <(compgen -e | grep -E '^(SAMLING_|OTEL_)')
export SAMLING_GRPC_BASE_PORT=$GRPC_BASE
export SAMLING_HTTP_ADDR=127.0.0.1:$HTTP_PORT
export SAMLING_LOG=$LOG
# The per-token and per-address rate limits (6000 and 60/min by default;
# ignored_auth sends requests without a token, all from 127.0.0.1) would turn
# much of the run into 429s; 429 is documented, so this only keeps the run useful.
# A body limit of 1 KiB (4 MiB by default) so that generated bodies reach it
# and the answer over the limit is checked against the document too.
cat >"$WORK/samling.toml" <<'EOF'
[gateway]
token_rate_per_minute = 1000000
ip_rate_per_minute = 1000000
public_form_rate_per_minute = 1000000
body_limit_bytes = 1024
EOF

echo "-- starting $BIN serve (HTTP $HTTP_PORT, gRPC $GRPC_BASE..$((GRPC_BASE + 5)))"
"$BIN" --config "$WORK/samling.toml" --data-dir "$DATA" serve >"$WORK/server.log" 2>&1 &
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

TOKEN=$("$BIN" --config "$WORK/samling.toml" --data-dir "$DATA" token issue --role regional_officer --region "$REGION" --sub schemathesis --ttl 3600)

echo "-- seeding demo data into $REGION"
"$BIN" --config "$WORK/samling.toml" --data-dir "$DATA" seed-demo --region "$REGION" --homes 15 --children 15 >"$WORK/seed.log" 2>&1 \
    || { cat "$WORK/seed.log"; exit 1; }

# Real ids, codes and plausible values, offered to Schemathesis as
# dictionaries for the path, query and body fields of the same name (the
# body fields found in the document itself), so that most requests reach a
# record and a service's logic rather than stopping at a 404 or at the
# services' own validation. Each binding has a probability below 1, so that
# generated values are still sent too.
"$VENV/bin/python" - "$BASE_URL" "$TOKEN" "$REGION" "$WORK/schemathesis.toml" <<'EOF'
import datetime, json, sys
import requests

base, token, region, out = sys.argv[1:5]
s = requests.Session()
s.headers["Authorization"] = f"Bearer {token}"

def get(path, **params):
    r = s.get(f"{base}/v1/regions/{region}/{path}", params=params, timeout=30)
    r.raise_for_status()
    return r.json()

homes = get("homes", **{"page.page_size": 50}).get("homes", [])
children = get("children").get("children", [])
members = []
for h in homes[:8]:
    members += get(f"homes/{h['id']}").get("members", [])
values = {
    "home_id": [h["id"] for h in homes],
    "member_id": [m["id"] for m in members if m.get("id")],
    "agency_id": [a["id"] for a in get("agencies").get("agencies", [])],
    "unit_id": [u["id"] for u in get("units").get("units", [])],
    "child_id": [c["id"] for c in children],
    "placement_id": [p["id"] for p in get("placements").get("placements", [])],
    "decision_id": [d["id"] for d in get("unexecuted-decisions").get("decisions", [])],
    "home_request_id": [r["id"] for r in get("home-requests").get("requests", [])],
    "flag_id": [f["id"] for f in get("duplicate-flags").get("flags", [])],
    "municipality_code": [h.get("municipality_code") for h in homes]
    + [c.get("placing_municipality_code") for c in children],
    "personnummer": [c.get("personnummer") for c in children]
    + [m.get("personnummer") for m in members],
    "expected_version": ["1", "2", "3"],
    # ISO dates (`format: date`) in the past year, which the services'
    # rules take for decisions, placements and inspections alike.
    "date": [(datetime.date.today() - datetime.timedelta(days=d)).isoformat()
             for d in (1, 30, 95, 200, 364)],
}
values = {k: list(dict.fromkeys(v for v in vs if v)) for k, vs in values.items()}

# Body fields by their path in each request body: ids and codes by their
# name, dates (strings of `format: date`) from the dates above.
doc = s.get(f"{base}/openapi.json", timeout=30).json()
components = doc["components"]["schemas"]
body_fields = {}

def walk(schema, prefix, depth):
    if depth > 4:
        return
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    for key, sub in (schema.get("properties") or {}).items():
        path = f"{prefix}.{key}" if prefix else key
        if "$ref" in sub or "properties" in sub:
            walk(sub, path, depth + 1)
        elif sub.get("format") == "date":
            body_fields[path] = "date"
        elif key.endswith("municipality_code"):
            body_fields[path] = "municipality_code"
        elif key in values:
            body_fields[path] = key

query_dates = set()
for item in doc["paths"].values():
    for op in item.values():
        schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if schema:
            walk(schema, "", 0)
        for p in op.get("parameters", []):
            if p.get("in") == "query" and p.get("schema", {}).get("format") == "date":
                query_dates.add(p["name"])

def q(v):
    return json.dumps(v)

# The token through the document's security scheme (not a plain header), so
# that Schemathesis leaves it out where a case is about its absence.
toml = ["# Generated by .ci/schemathesis.sh", "", "[auth.openapi.bearerAuth]", f"bearer = {q(token)}",
        "", "[dictionaries.region]", f"values = [{q(region)}]"]
bindings = ['"path.region" = { dictionary = "region", probability = 0.9 }']
for name, vs in values.items():
    if vs:
        toml += ["", f"[dictionaries.{name}]", "values = [" + ", ".join(q(v) for v in vs) + "]"]
for name in ("home_id", "member_id", "agency_id", "unit_id", "child_id", "placement_id",
             "decision_id", "home_request_id", "flag_id", "municipality_code"):
    if values[name]:
        bindings.append(f'"path.{name}" = {{ dictionary = "{name}", probability = 0.8 }}')
        bindings.append(f'"query.{name}" = {{ dictionary = "{name}", probability = 0.5 }}')
for path, name in sorted(body_fields.items()):
    if values[name]:
        bindings.append(f'"body.{path}" = {{ dictionary = "{name}", probability = 0.7 }}')
for name in sorted(query_dates):
    bindings.append(f'"query.{name}" = {{ dictionary = "date", probability = 0.5 }}')
# A request over the body limit is refused (413) before its headers are
# read; for a request that is also invalid elsewhere that is a refusal too.
toml += ["", "[checks.negative_data_rejection]",
         'expected-statuses = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429, "5xx"]']
toml += ["", "[parameters]"] + bindings
open(out, "w").write("\n".join(toml) + "\n")
print("dictionaries:", ", ".join(f"{k}={len(v)}" for k, v in values.items()),
      f"({len(bindings)} bindings)")
EOF

# Schemathesis draws Idempotency-Key values from a small space, so a valid
# key soon recurs with another body and the gateway answers 422 (documented,
# correct, but then the request never reaches a service). Valid keys are
# made unique per request; invalid ones are sent as drawn (and must get 400).
# Likewise a body's `request_id` (the services' idempotency key).
cat >"$WORK/st_hooks.py" <<'EOF'
import itertools
import re

import schemathesis

_VALID = re.compile(r"^[!-~]{1,128}$")
_counter = itertools.count()


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    for name in list(headers):
        value = headers[name]
        if name.lower() == "idempotency-key" and isinstance(value, str) and _VALID.match(value):
            headers[name] = f"st-{next(_counter)}"
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("request_id"), str) and body["request_id"]:
        body["request_id"] = f"st-{next(_counter)}"
EOF

echo "-- schemathesis run (seed $SEED, ≤ $MAX_EXAMPLES examples per operation, $WORKERS workers, ≤ ${ST_TIMEOUT}s)"
# The checks: no 5xx; every status, content type, header and body as the
# document declares it; schema-violating input refused with a 4xx; methods
# the document lacks answered 405 with Allow; the token enforced; deleted
# records gone. The default generation mode (positive and negative) sends
# invalid input as well, which must come back as a documented 4xx.
#
# Left out, on principle: positive_data_acceptance (a schema-valid request
# must be accepted). The schemas are derived from the protobuf types, which
# carry none of the services' semantic rules (ids are UUIDs, page_size at
# most 500, quarter 1-4, valid dates and personnummer, opaque page tokens),
# so schema-valid requests are rightly refused with 400 naming the field.
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance
CHECKS+=,response_headers_conformance,response_schema_conformance
CHECKS+=,negative_data_rejection,missing_required_header,ignored_auth
CHECKS+=,unsupported_method,allow_header_conformance
CHECKS+=,use_after_free,ensure_resource_availability
# In the background and waited for, so that a TERM to this script (CI's
# timeout) ends the run and the server at once.
set +e
PYTHONPATH=$WORK SCHEMATHESIS_HOOKS=st_hooks \
    timeout --kill-after=10 "$ST_TIMEOUT" "$VENV/bin/schemathesis" --config-file "$WORK/schemathesis.toml" run \
    "$BASE_URL/openapi.json" \
    --checks "$CHECKS" \
    --max-examples "$MAX_EXAMPLES" \
    --seed "$SEED" \
    --workers "$WORKERS" \
    --generation-database none \
    --request-timeout 30 \
    --no-color \
    --report "${ST_REPORT:-junit}" --report-dir "$WORK/report" &
ST_PID=$!
wait "$ST_PID"
st=$?
ST_PID=""
set -e
if [[ $st -eq 124 || $st -eq 137 ]]; then
    echo "schemathesis did not finish within ${ST_TIMEOUT}s" >&2
fi
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "the server died during the run" >&2
    st=1
fi
exit "$st"
