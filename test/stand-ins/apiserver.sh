# test/stand-ins/apiserver.sh: shell helpers for the scripts that run the kube-apiserver stand-in
# (apiserver.py): start it, call it as a test (curl with its CA), write NAD objects.
# Sourced after test/lib.sh; API_DIR is the stand-in's directory (certificates, logs).

# standin_start DIR FIXTURE MAX-LIFETIME: the stand-in in the background; sets API_DIR,
# API_PID and API (https://127.0.0.1:PORT). The caller stops it (kill $API_PID).
standin_start() {
	local i
	API_DIR=$1
	mkdir -p "$API_DIR"
	/usr/bin/python3 -u "$ROOT/test/stand-ins/apiserver.py" --dir "$API_DIR" --fixture "$2" \
		--max-lifetime "$3" >"$API_DIR/out" 2>"$API_DIR/err" &
	API_PID=$!
	for i in $(seq 1 100); do
		grep -q listening "$API_DIR/out" 2>/dev/null && break
		sleep 0.1
	done
	API=$(awk '/listening/{print $2}' "$API_DIR/out")
	[ -n "$API" ] || fail "stand-in did not start: $(cat "$API_DIR/err")"
}

api() { # METHOD PATH [BODY]
	if [ -n "${3:-}" ]; then
		printf '%s' "$3" >"$API_DIR/body"
		curl -sS --cacert "$API_DIR/ca.crt" -X "$1" -H 'Content-Type: application/json' --data-binary @"$API_DIR/body" "$API$2"
	else
		curl -sS --cacert "$API_DIR/ca.crt" -X "$1" "$API$2"
	fi
}

nad() { # NAMESPACE NAME CONFIG-JSON [RESOURCE]
	/usr/bin/python3 -c 'import json,sys
o={"apiVersion":"k8s.cni.cncf.io/v1","kind":"NetworkAttachmentDefinition","metadata":{"name":sys.argv[2],"namespace":sys.argv[1]},"spec":{"config":sys.argv[3]}}
if len(sys.argv)>4: o["metadata"]["annotations"]={"k8s.v1.cni.cncf.io/resourceName":sys.argv[4]}
print(json.dumps(o))' "$@"
}
