#!/usr/bin/env bash
# test/integration/shim.sh: bin/plexus-shim as a runtime calls it: VERSION, size and libraries,
# the /cni request it sends (checked against what a daemon stand-in recorded), result versions,
# error passthrough, the bounded readiness wait, and DEL with the daemon down (real netns).
. "$(dirname "$0")/../lib.sh"

SHIM=${SHIM:-$ROOT/bin/plexus-shim}
PLEXUS=${PLEXUS:-$ROOT/bin/plexus}
STANDIN=$ROOT/test/stand-ins/plexusd.py
GOLDEN=$ROOT/test/unit/golden/result

# shim VERB [CID] < netconf: ADD/CHECK need a netns path, which the shim only forwards
shim() {
	CNI_COMMAND=$1 CNI_CONTAINERID=${2:-c1} CNI_NETNS=${NETNS:-/run/netns/none} CNI_IFNAME=eth0 \
	CNI_PATH=$PLUGINS CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod-${2:-c1}" \
	kept $MEMCHECK "$SHIM"
}

# The daemon's socket directory, one per test: short, as a unix socket path has at most 107
# bytes, and the same whichever subshell asks.
SOCKROOT=$(mktemp -d "/tmp/pxs-$TAG.XXXXXX")
cleanup_add "rm -rf $SOCKROOT"
# a stand-in started in a test's subshell registers its kill there, where the script's cleanups
# never see it: every stand-in under this run's socket root goes at exit
cleanup_add "pkill -f -- '--socket $SOCKROOT/'"
run_dir() {
	RUN=$SOCKROOT/$(printf '%s' "$CURRENT" | cksum | cut -d' ' -f1)
	mkdir -p "$RUN"
}

# standin [OPTIONS]: the daemon stand-in on $RUN/multus.sock, requests in $WORK/requests
standin() {
	run_dir
	/usr/bin/python3 -u "$STANDIN" --socket "$RUN/multus.sock" --record "$WORK/requests" \
		"$@" >"$WORK/standin.out" 2>&1 &
	cleanup_add "kill $!"
	for _ in $(seq 1 100); do grep -q listening "$WORK/standin.out" 2>/dev/null && return 0; sleep 0.05; done
	fail "the daemon stand-in did not start: $(cat "$WORK/standin.out")"
}

# shim_conf VERSION [EXTRA-KEYS]: the netconf 00-plexus.conflist hands the shim
shim_conf() {
	run_dir
	echo "{\"cniVersion\":\"$1\",\"name\":\"plexus-cni-network\",\"type\":\"plexus-shim\",\"daemonSocketPath\":\"$RUN/multus.sock\",\"readinessTimeoutSeconds\":2${2:+,$2}}"
}

# the last recorded request to PATH, decoded by python: env, config (the decoded bytes), headers
last_request() { # PATH PYEXPR (r: the request, env, config)
	/usr/bin/python3 - "$WORK/requests" "$1" "$2" <<'EOF'
import base64, json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["path"] == sys.argv[2]]
r = reqs[-1]
body = json.loads(r["body"]) if r["body"] else {}
env = body.get("env", {})
config = base64.b64decode(body["config"]).decode() if "config" in body else None
v = eval(sys.argv[3])
print(v if isinstance(v, str) else json.dumps(v))
EOF
}

count_requests() { # PATH
	grep -c "\"path\": \"$1\"" "$WORK/requests" 2>/dev/null || true
}

json_same() { # WHAT GOT-JSON WANT-FILE: structurally equal
	/usr/bin/python3 -c 'import json,sys; sys.exit(json.loads(sys.argv[1]) != json.load(open(sys.argv[2])))' "$2" "$3" ||
		fail "$1: got $2, want $(cat "$3")"
}

t_version_is_answered_without_a_daemon() {
	local out
	out=$(CNI_COMMAND=VERSION "$SHIM" </dev/null)
	expect_eq "supported versions are bin/plexus's" "$(json_get "$out" 'j["supportedVersions"]')" \
		"$(json_get "$(CNI_COMMAND=VERSION "$PLEXUS" </dev/null)" 'j["supportedVersions"]')"
	expect_eq cniVersion "$(json_get "$out" 'j["cniVersion"]')" 1.1.0
}

t_static_small_with_no_loader_and_no_library_to_map() {
	local needed size shipped=$ROOT/bin/plexus-shim
	# the shipped binary, even when SHIM names a sanitizer build (make integration-asan)
	# tiny: the issue's bound for the shim is 150 KiB
	size=$(stat -c %s "$shipped")
	[ "$size" -le $((150 * 1024)) ] || fail "bin/plexus-shim is $size bytes, over 150 KiB"
	needed=$(readelf -d "$shipped" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
	expect_eq "NEEDED" "$needed" ""
	readelf -l "$shipped" | grep -q 'INTERP' && fail "bin/plexus-shim asks for a dynamic loader"
	# position-independent (ASLR kept): an ELF of type DYN with no loader
	readelf -h "$shipped" | grep -q 'Type:.*DYN' || fail "bin/plexus-shim is not position-independent: $(readelf -h "$shipped" | grep Type:)"
	nm "$shipped" | grep -q ' T cJSON_ParseWithLength$' || fail "cJSON is not inside bin/plexus-shim"
}

t_add_forwards_env_and_exact_config_bytes() {
	local out conf
	standin --result "$GOLDEN/matrix-from-1.0.0.in.json"
	# odd spacing and non-ASCII: the daemon must get the bytes, not a re-encoding
	conf="$(shim_conf 1.0.0 '"extra":  {"ünïcode": "x\u0041"}')  "
	out=$(printf '%s' "$conf" | SHIM_TEST_VAR='a=b;c' shim ADD cfw)
	expect_eq "request line" "$(last_request /cni 'r["method"] + " " + r["path"]')" "POST /cni"
	expect_eq "content type" "$(last_request /cni 'r["headers"].get("Content-Type")')" application/json
	expect_eq "config is base64 of stdin" "$(last_request /cni 'config')" "$conf"
	expect_eq CNI_COMMAND "$(last_request /cni 'env["CNI_COMMAND"]')" ADD
	expect_eq CNI_CONTAINERID "$(last_request /cni 'env["CNI_CONTAINERID"]')" cfw
	expect_eq CNI_NETNS "$(last_request /cni 'env["CNI_NETNS"]')" /run/netns/none
	expect_eq CNI_IFNAME "$(last_request /cni 'env["CNI_IFNAME"]')" eth0
	expect_eq CNI_ARGS "$(last_request /cni 'env["CNI_ARGS"]')" "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod-cfw"
	expect_eq CNI_PATH "$(last_request /cni 'env["CNI_PATH"]')" "$PLUGINS"
	expect_eq "the rest of the environment, split at the first =" \
		"$(last_request /cni 'env["SHIM_TEST_VAR"]')" 'a=b;c'
	# a ready daemon is asked once: /cni, no /readyz before it (Multus's shim asks both)
	expect_eq "requests" "$(count_requests /cni) /cni, $(count_requests /readyz) /readyz" "1 /cni, 0 /readyz"
	expect_eq "result printed" "$(json_get "$out" 'j["ips"][0]["address"]')" 10.56.217.10/24
}

# The environment goes over as it is: a value with quotes, backslashes, control characters and
# non-ASCII arrives byte for byte, and of a name given twice the first wins, as getenv() reads
# it (the shim prints the body itself, so this is its JSON escaping against python's parser). An
# environment with a name twice can only come from an execve(2): python's, through ctypes.
t_env_arrives_exactly_and_a_repeated_name_keeps_its_first() {
	local out
	standin --result "$GOLDEN/matrix-from-1.0.0.in.json"
	cat >"$WORK/exec.py" <<'EOF'
import ctypes, os, sys
env = [b"CNI_COMMAND=ADD", b"CNI_CONTAINERID=cenv", b"CNI_NETNS=/run/netns/none",
       b"CNI_IFNAME=eth0", b"CNI_PATH=" + sys.argv[2].encode(),
       b"CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod-cenv",
       b"DUP=first", b"ODD=q\"b\\n\nt\t\x01\xc3\xbc=", b"EMPTY=", b"DUP=second"]
argv = (ctypes.c_char_p * 2)(sys.argv[1].encode(), None)
envp = (ctypes.c_char_p * (len(env) + 1))(*env, None)
ctypes.CDLL(None, use_errno=True).execve(argv[0], argv, envp)
sys.exit("execve %s: %s" % (sys.argv[1], os.strerror(ctypes.get_errno())))
EOF
	out=$(shim_conf 1.0.0 | /usr/bin/python3 "$WORK/exec.py" "$SHIM" "$PLUGINS") || fail "ADD: $out"
	expect_eq "the first of a repeated name" "$(last_request /cni 'env["DUP"]')" first
	expect_eq "a value that needs escaping" "$(last_request /cni 'env["ODD"].encode("unicode_escape").decode()')" 'q"b\\n\nt\t\x01\xfc='
	expect_eq "an empty value" "$(last_request /cni 'repr(env["EMPTY"])')" "''"
	expect_eq "every name once" "$(last_request /cni '" ".join(sorted(env))')" "CNI_ARGS CNI_COMMAND CNI_CONTAINERID CNI_IFNAME CNI_NETNS CNI_PATH DUP EMPTY ODD"
	expect_eq "result printed" "$(json_get "$out" 'j["ips"][0]["address"]')" 10.56.217.10/24
}

# a request far larger than the socket's buffer: the daemon gets every byte, in order, however
# many writes it takes
t_large_config_is_forwarded_whole() {
	local conf
	standin --result "$GOLDEN/matrix-from-1.0.0.in.json"
	conf="$(shim_conf 1.0.0 "\"pad\":\"$(head -c 900000 /dev/zero | tr '\0' 'p')\",\"end\":\"z\"")"
	printf '%s' "$conf" >"$WORK/large.json"
	shim ADD clarge <"$WORK/large.json" >/dev/null
	expect_eq "config bytes" "$(last_request /cni "(len(config), config == open('$WORK/large.json').read())")" "[${#conf}, true]"
}

t_result_printed_in_the_netconf_version() {
	local v out
	standin --result "$GOLDEN/matrix-from-1.0.0.in.json"
	for v in 0.3.1 0.4.0 1.0.0; do
		out=$(shim_conf $v | shim ADD crv)
		json_same "result in $v" "$out" "$GOLDEN/matrix-from-1.0.0-to-$v.want.json"
	done
}

t_every_body_framing_is_read() {
	local f out
	for f in chunked close; do
		( standin --framing $f --result "$GOLDEN/matrix-from-1.0.0.in.json"
		  out=$(shim_conf 1.0.0 | shim ADD cfr)
		  json_same "$f body" "$out" "$GOLDEN/matrix-from-1.0.0-to-1.0.0.want.json" )
	done
}

t_daemon_error_code_passes_through() {
	local out rc=0
	standin --error '{"code":7,"msg":"network \"x\": bad vlan","details":"vlan 4096"}'
	out=$(shim_conf 1.0.0 | shim ADD cerr) || rc=$?
	expect_eq "exit status" $rc 1
	expect_eq "code" "$(json_get "$out" 'j["code"]')" 7
	expect_eq "msg" "$(json_get "$out" 'j["msg"]')" 'network "x": bad vlan'
	expect_eq "details" "$(json_get "$out" 'j["details"]')" "vlan 4096"
	# and for DEL, which the daemon reached: its error, no fallback
	out=$(shim_conf 1.0.0 | shim DEL cerr) && fail "DEL with a daemon error succeeded"
	expect_eq "DEL code" "$(json_get "$out" 'j["code"]')" 7
}

t_other_answers_are_999_naming_status_and_socket_never_the_config() {
	local out
	standin --status 500 --body 'internal <garbage> body'
	out=$(shim_conf 1.0.0 '"secret":"s3cr3t-in-stdin"' | shim ADD c999) && fail "ADD passed on a 500"
	expect_eq "code" "$(json_get "$out" 'j["code"]')" 999
	expect_contains "status" "$(json_get "$out" 'j["msg"]')" "HTTP 500"
	expect_contains "socket" "$(json_get "$out" 'j["msg"]')" "$RUN/multus.sock"
	expect_contains "the body, quoted" "$(json_get "$out" 'j["details"]')" 'internal <garbage> body'
	expect_not_contains "no stdin" "$out" s3cr3t
}

t_200_without_a_result_is_an_error() {
	local out
	standin --status 200 --body 'not json'
	out=$(shim_conf 1.0.0 | shim ADD cnr) && fail "ADD passed without a Result"
	expect_eq "code" "$(json_get "$out" 'j["code"]')" 999
	expect_contains "says why" "$out" 'without a \"Result\"'
}

t_replies_over_the_cap_or_cut_short_are_errors() {
	local f out
	for f in length chunked close; do
		( standin --framing $f --status 200 --body-size $((5 * 1024 * 1024))
		  out=$(shim_conf 1.0.0 | shim ADD cbig) && fail "$f: a 5 MiB reply was taken"
		  expect_eq "$f: code" "$(json_get "$out" 'j["code"]')" 999
		  expect_contains "$f: says why" "$(json_get "$out" 'j["msg"]')" "over 4194304 bytes" )
	done
	( standin --truncate --status 200 --body '{"Result":{"cniVersion":"1.0.0"}}'
	  out=$(shim_conf 1.0.0 | shim ADD ccut) && fail "a reply cut short was taken"
	  expect_contains "says why" "$(json_get "$out" 'j["msg"]')" "connection closed before the reply was complete" )
}

# chunked framing read strictly: chunk data ends with CRLF, a chunk-size line is bounded
t_bad_chunk_framing_is_an_error() {
	local k out
	for k in crlf line; do
		( standin --framing chunked --bad-chunk $k --result "$GOLDEN/matrix-from-1.0.0.in.json"
		  out=$(shim_conf 1.0.0 | shim ADD cchunk) && fail "$k: a broken chunk was taken: $out"
		  expect_eq "$k: code" "$(json_get "$out" 'j["code"]')" 999
		  expect_contains "$k: says why" "$(json_get "$out" 'j["msg"]')" \
			"$([ $k = crlf ] && echo "chunk data not ended by CRLF" || echo "chunk-size line over 1024 bytes")" )
	done
	# the same reply, framed right, is taken: what failed above was the framing
	standin --framing chunked --result "$GOLDEN/matrix-from-1.0.0.in.json"
	out=$(shim_conf 1.0.0 | shim ADD cchunk)
	expect_eq "result" "$(json_get "$out" 'j["ips"][0]["address"]')" 10.56.217.10/24
}

# the cap is on the body, not on its framing: 4,000,000 bytes in 7-byte chunks (6.9 MB on the
# wire) are read whole, and then judged for what they say
t_body_under_the_cap_in_small_chunks_is_read_whole() {
	local out
	standin --framing chunked --status 200 --body-size 4000000
	out=$(shim_conf 1.0.0 | shim ADD csmall) && fail "a body with no result was taken"
	expect_contains "read whole, then judged" "$(json_get "$out" 'j["msg"]')" 'answered ADD without a "Result"'
}

t_slow_daemon_is_waited_for() {
	local out
	standin --delay 1.5 --result "$GOLDEN/matrix-from-1.0.0.in.json"
	out=$(shim_conf 1.0.0 | shim ADD cslow)
	expect_eq "result" "$(json_get "$out" 'j["ips"][0]["address"]')" 10.56.217.10/24
}

t_add_waits_for_readiness() {
	local start out
	standin --ready-after 1.2 --result "$GOLDEN/matrix-from-1.0.0.in.json"
	start=$(date +%s%N)
	out=$(shim_conf 1.0.0 '"readinessTimeoutSeconds":5' | shim ADD cwait)
	[ $(( ($(date +%s%N) - start) / 1000000 )) -ge 1000 ] || fail "ADD did not wait for /readyz"
	expect_eq "result" "$(json_get "$out" 'j["ips"][0]["address"]')" 10.56.217.10/24
	# /cni answered 503 (not ready), /readyz polled, then /cni again
	expect_eq "/cni requests" "$(count_requests /cni)" 2
	[ "$(count_requests /readyz)" -ge 2 ] || fail "/readyz was not polled: $(count_requests /readyz) requests"
}

t_add_waits_for_a_daemon_that_is_not_listening_yet() {
	local out pid
	run_dir
	# the daemon starts 1 s after the shim: nothing listens on the socket till then
	(sleep 1 && exec /usr/bin/python3 -u "$STANDIN" --socket "$RUN/multus.sock" --record "$WORK/requests" \
		--result "$GOLDEN/matrix-from-1.0.0.in.json" >"$WORK/standin.out" 2>&1) &
	pid=$!
	cleanup_add "kill $pid"
	out=$(shim_conf 1.0.0 '"readinessTimeoutSeconds":10' | shim ADD clate)
	expect_eq "result" "$(json_get "$out" 'j["ips"][0]["address"]')" 10.56.217.10/24
	expect_eq "/cni requests" "$(count_requests /cni)" 1
}

t_readiness_wait_is_bounded_with_a_clear_error() {
	local start ms out
	standin --never-ready
	start=$(date +%s%N)
	out=$(echo "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"plexus-shim\",\"daemonSocketPath\":\"$RUN/multus.sock\",\"readinessTimeoutSeconds\":1}" | shim ADD cnotready) &&
		fail "ADD passed with the daemon never ready"
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ $ms -ge 900 ] && [ $ms -lt 3000 ] || fail "gave up after $ms ms, want about 1000"
	expect_eq "code (try again)" "$(json_get "$out" 'j["code"]')" 11
	expect_eq "msg" "$(json_get "$out" 'j["msg"]')" "plexus daemon at $RUN/multus.sock not ready after 1 s (readinessTimeoutSeconds)"
	expect_eq "details" "$(json_get "$out" 'j["details"]')" "/readyz answered HTTP 500"
	# the first try, answered 503; none while /readyz said 500
	expect_eq "/cni requests" "$(count_requests /cni)" 1
}

t_multus_thick_conf_with_type_changed_works() {
	local out
	standin --result "$GOLDEN/matrix-from-1.0.0.in.json"
	# Multus's generated 00-multus.conf (pkg/server/config/generator.go), "type" changed
	out=$(echo "{\"cniVersion\":\"0.3.1\",\"name\":\"multus-cni-network\",\"type\":\"plexus-shim\",\"logLevel\":\"verbose\",\"logToStderr\":true,\"daemonSocketDir\":\"$RUN/\"}" | shim ADD cmul)
	json_same "result in 0.3.1" "$out" "$GOLDEN/matrix-from-1.0.0-to-0.3.1.want.json"
	shim_conf 1.0.0 | shim DEL cmul
	expect_eq "DEL forwarded" "$(last_request /cni 'env["CNI_COMMAND"]')" DEL
}

# a stand-in for bin/plexus in binDir: records how it was run, answers as told
fake_plexus() { # EXIT-STATUS OUTPUT
	mkdir -p "$WORK/bin"
	printf '#!/bin/sh\ncat >"%s/fallback.stdin"\nenv >"%s/fallback.env"\nprintf "%%s" %q\nexit %s\n' \
		"$WORK" "$WORK" "$2" "$1" >"$WORK/bin/plexus"
	chmod +x "$WORK/bin/plexus"
}

t_del_falls_back_to_the_thin_plugin_when_the_daemon_is_down() {
	local out rc=0 conf
	fake_plexus 3 '{"code":5,"msg":"from the thin plugin"}'
	conf=$(shim_conf 1.0.0 "\"binDir\":\"$WORK/bin\"")
	out=$(printf '%s' "$conf" | shim DEL cfb) || rc=$?
	expect_eq "exit status is the thin plugin's" $rc 3
	expect_eq "output is the thin plugin's" "$out" '{"code":5,"msg":"from the thin plugin"}'
	expect_eq "same stdin" "$(cat "$WORK/fallback.stdin")" "$conf"
	expect_contains "same environment" "$(cat "$WORK/fallback.env")" "CNI_CONTAINERID=cfb"
	# not ready (shutting down) counts as away too
	rm -f "$WORK/fallback.stdin"
	standin --never-ready
	fake_plexus 0 ""
	printf '%s' "$conf" | shim DEL cfb
	[ -f "$WORK/fallback.stdin" ] || fail "no fallback with the daemon not ready"
	# one /cni, answered 503; the thin plugin did the DEL
	expect_eq "/cni requests" "$(count_requests /cni)" 1
}

t_del_with_the_daemon_down_removes_everything() {
	local ns=${TAG}d out
	run_dir
	mkdir -p "$WORK/bin" "$WORK/ipam"
	ln -s "$PLEXUS" "$WORK/bin/plexus"
	netns_new $ns
	cleanup_add "ip link del ${TAG}b0"
	# thin mode adds (a real bridge + host-local delegate)...
	echo "{\"cniVersion\":\"1.0.0\",\"name\":\"plexus-cni-network\",\"type\":\"plexus\",\"cniDir\":\"$WORK/cni\",\"binDir\":\"$WORK/bin\",\"delegates\":[{\"cniVersion\":\"1.0.0\",\"name\":\"cluster\",\"type\":\"bridge\",\"bridge\":\"${TAG}b0\",\"isGateway\":true,\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$WORK/ipam\",\"ranges\":[[{\"subnet\":\"10.233.4.0/24\"}]]}}]}" >"$WORK/thin.json"
	out=$(NETNS=/run/netns/$ns CNI_COMMAND=ADD CNI_CONTAINERID=cdown CNI_NETNS=/run/netns/$ns \
		CNI_IFNAME=eth0 CNI_PATH=$PLUGINS CNI_ARGS="IgnoreUnknown=1" "$PLEXUS" <"$WORK/thin.json")
	expect_contains "added" "$(ip -n $ns -4 -br addr show eth0)" 10.233.4.2/24
	[ -n "$(find "$WORK/ipam" -type f -name '10.233.4.*')" ] || fail "no IP reservation"
	# ...and the shim deletes with no daemon, from a Multus-style netconf naming no network
	echo "{\"cniVersion\":\"1.0.0\",\"name\":\"plexus-cni-network\",\"type\":\"plexus-shim\",\"daemonSocketPath\":\"$RUN/absent.sock\",\"cniDir\":\"$WORK/cni\",\"binDir\":\"$WORK/bin\"}" |
		CNI_COMMAND=DEL CNI_CONTAINERID=cdown CNI_NETNS=/run/netns/$ns CNI_IFNAME=eth0 \
		CNI_PATH=$PLUGINS CNI_ARGS="IgnoreUnknown=1" "$SHIM"
	expect_eq "interfaces left in the netns" "$(links_in $ns)" 0
	out=$(find "$WORK/ipam" -type f ! -name lock ! -name 'last_reserved_ip*')
	expect_eq "IP reservations left" "$out" ""
	out=$(find "$WORK/cni" -type f)
	expect_eq "cache files left" "$out" ""
	out=$(ip -o link show master ${TAG}b0 2>/dev/null || true)
	expect_eq "host veths left on the bridge" "$out" ""
}

run_tests
