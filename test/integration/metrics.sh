#!/usr/bin/env bash
# test/integration/metrics.sh: plexusd's /metrics (daemon/metrics.c) over real TCP, its text read
# by an independent parser (prometheus_client's text_string_to_metric_families) and its listener
# checked with ss: the default address is the loopback, 404 and 405 as documented.
. "$(dirname "$0")/../lib.sh"

SERVE=$BUILD/test/tools/metrics-serve

# serve BIND: starts the tool with the port the kernel picks; sets PORT, stopped at exit.
serve() {
	mkfifo "$WORK/in"
	"$SERVE" "$1" 0 <"$WORK/in" >"$WORK/out" 2>"$WORK/err" &
	local pid=$!
	exec 3>"$WORK/in"
	cleanup_add "kill $pid"
	for _ in $(seq 1 50); do grep -q listening "$WORK/out" && break; sleep 0.1; done
	PORT=$(awk '/listening/{print $2}' "$WORK/out")
	[ -n "$PORT" ] || fail "metrics-serve did not start: $(cat "$WORK/err")"
}

t_text_parses_with_prometheus_client() {
	/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null ||
		skip "python3-prometheus-client is not installed (scripts/deps)"
	serve ""
	curl -sS -D "$WORK/headers" -o "$WORK/metrics" "http://127.0.0.1:$PORT/metrics"
	expect_contains "content type" "$(tr -d '\r' <"$WORK/headers")" \
		"Content-Type: text/plain; version=0.0.4; charset=utf-8"
	/usr/bin/python3 - "$WORK/metrics" <<'PY'
import math, sys
from prometheus_client.parser import text_string_to_metric_families

fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
def want(cond, what):
    if not cond:
        sys.exit("FAIL: " + what)

types = {n: f.type for n, f in fams.items()}
for name, typ in [("multus_server_request", "counter"),
                  ("plexus_cni_request_duration_seconds", "histogram"),
                  ("plexus_delegate_exec_duration_seconds", "histogram"),
                  ("plexus_api_requests", "counter"), ("plexus_watch_restarts", "counter"),
                  ("plexus_cache_objects", "gauge"), ("plexus_pod_lookups", "counter"),
                  ("plexus_hotplug_reconciles", "counter"),
                  ("plexus_queue_depth", "gauge"), ("plexus_requests_in_flight", "gauge"),
                  ("plexus_attachments", "gauge"), ("process_cpu_seconds", "counter"),
                  ("process_resident_memory_bytes", "gauge"), ("process_open_fds", "gauge")]:
    want(types.get(name) == typ, "%s: type %s, want %s" % (name, types.get(name), typ))

req = fams["multus_server_request"]
want(req.documentation == "Counter of HTTP requests", "HELP " + req.documentation)
got = {(s.labels["handler"], s.labels["code"], s.labels["method"]): s.value for s in req.samples}
want(got == {("/cni", "200", "post"): 1, ("/cni", "400", "post"): 1,
             ("/healthz", "200", "get"): 1, ("NotFound", "404", "get"): 1}, "requests %r" % got)
want([list(s.labels) for s in req.samples][0] == ["handler", "code", "method"], "label order")

for fam in ("plexus_cni_request_duration_seconds", "plexus_delegate_exec_duration_seconds"):
    series = {}
    for s in fams[fam].samples:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        series.setdefault(key, []).append(s)
    for key, samples in series.items():
        buckets = [(float(s.labels["le"]), s.value) for s in samples if s.name.endswith("_bucket")]
        count = [s.value for s in samples if s.name.endswith("_count")][0]
        want(buckets == sorted(buckets), "%s %r: buckets out of order" % (fam, key))
        want(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), "%s %r: not cumulative" % (fam, key))
        want(math.isinf(buckets[-1][0]) and buckets[-1][1] == count, "%s %r: +Inf != _count" % (fam, key))

verb = {(s.name, s.labels.get("verb"), s.labels.get("result"), s.labels.get("le")): s.value
        for s in fams["plexus_cni_request_duration_seconds"].samples}
want(verb[("plexus_cni_request_duration_seconds_count", "ADD", "success", None)] == 2, "ADD count")
want(abs(verb[("plexus_cni_request_duration_seconds_sum", "ADD", "success", None)] - 0.703) < 1e-9, "ADD sum")
want(verb[("plexus_cni_request_duration_seconds_bucket", "ADD", "success", "0.005")] == 1, "ADD le=0.005")
want(verb[("plexus_cni_request_duration_seconds_bucket", "ADD", "success", "1")] == 2, "ADD le=1")

odd = [s for s in fams["plexus_delegate_exec_duration_seconds"].samples
       if s.name.endswith("_count") and s.labels["type"] == 'od"d\\ty\npe']
want(len(odd) == 1 and odd[0].value == 1 and odd[0].labels["result"] == "error",
     "escaped delegate type did not round-trip: %r" % odd)
want(fams["plexus_queue_depth"].samples[0].value == 4, "queue depth")
want(fams["plexus_requests_in_flight"].samples[0].value == 2, "in flight")
want(fams["plexus_attachments"].samples[0].value == 9, "attachments")
want(fams["process_resident_memory_bytes"].samples[0].value > 1 << 20, "rss")
want(fams["process_open_fds"].samples[0].value >= 3, "open fds")
PY
}

t_default_bind_is_the_loopback_only() {
	serve ""
	expect_eq "listeners on the port" \
		"$(ss -Hltn "sport = :$PORT" | awk '{print $4}')" "127.0.0.1:$PORT"
}

t_ipv6_bind_address_is_honoured() {
	[ -e /proc/net/if_inet6 ] || skip "no IPv6 on this host"
	serve "::1"
	expect_eq "listeners on the port" "$(ss -Hltn "sport = :$PORT" | awk '{print $4}')" "[::1]:$PORT"
	expect_eq "GET over IPv6" "$(curl -s -o /dev/null -w '%{http_code}' "http://[::1]:$PORT/metrics")" 200
}

t_other_paths_404_other_methods_405() {
	serve "127.0.0.1"
	local u=http://127.0.0.1:$PORT
	expect_eq "GET /" "$(curl -s -o /dev/null -w '%{http_code}' "$u/")" 404
	expect_eq "GET /metrics/x" "$(curl -s -o /dev/null -w '%{http_code}' "$u/metrics/x")" 404
	expect_eq "POST /metrics" "$(curl -s -o /dev/null -w '%{http_code}' -d x "$u/metrics")" 405
	expect_eq "PUT /metrics" "$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$u/metrics")" 405
	expect_contains "405 Allow" "$(curl -s -D - -o /dev/null -X PUT "$u/metrics" | tr -d '\r')" \
		"Allow: GET, HEAD"
	expect_eq "HEAD /metrics" "$(curl -s -o /dev/null -w '%{http_code}' -I "$u/metrics")" 200
}

t_unusable_address_is_refused_with_a_message() {
	local rc=0
	"$SERVE" "localhost" 0 </dev/null >/dev/null 2>"$WORK/err" || rc=$?
	expect_eq "exit" "$rc" 1
	expect_eq "message" "$(cat "$WORK/err")" \
		'metrics-serve: metrics: bind address "localhost" is not an IPv4 or IPv6 address'
}

# every metric name the dashboard's queries use, with or without labels after it (a bare
# rate(plexus_x_total[5m]) or sum(plexus_x) included): each (plexus|multus|process)_ token of a
# query, once its string literals, label matchers ({...}), grouping labels (by/without/on/
# ignoring/group_left/group_right (...)) and label_values' label argument are taken out, so no
# label name counts as a metric
t_dashboard_queries_only_exported_metrics() {
	serve ""
	curl -sS -o "$WORK/metrics" "http://127.0.0.1:$PORT/metrics"
	/usr/bin/python3 - "$ROOT/deploy/grafana-plexusd.json" "$WORK/metrics" <<'PY'
import json, re, sys
dash = json.load(open(sys.argv[1]))
exported = {l.split("{")[0].split(" ")[0] for l in open(sys.argv[2]) if l[0] != "#"}
def panels(ps):  # rows keep their collapsed panels in their own "panels"
    for p in ps:
        yield p
        yield from panels(p.get("panels", []))
exprs = [t["expr"] for p in panels(dash["panels"]) for t in p.get("targets", []) if "expr" in t]
for v in dash["templating"]["list"]:
    q = v.get("query")
    exprs += [d for d in (v.get("definition"), q.get("query") if isinstance(q, dict) else q
                          if v.get("type") == "query" else None) if isinstance(d, str)]
def metric_names(e):
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', e)
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    e = re.sub(r"\blabel_values\s*\(([^,)]*),[^)]*\)", r"(\1)", e)
    return set(re.findall(r"(?<![a-zA-Z0-9_:])(?:plexus|multus|process)_[a-zA-Z0-9_:]*", e))
names = set().union(*map(metric_names, exprs)) if exprs else set()
missing = sorted(names - exported)
if not exprs or not names or missing:
    sys.exit("FAIL: dashboard queries metrics /metrics does not export: %r" % missing)
print("    %d queries, %d metric names, all exported" % (len(exprs), len(names)))
PY
}

run_tests
