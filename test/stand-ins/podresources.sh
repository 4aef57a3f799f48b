# test/stand-ins/podresources.sh: shell helpers for the scripts that run the kubelet
# pod-resources stand-in (podresources.py). Sourced after test/lib.sh.

# podresources_start SOCKET DIR FIXTURE: the stand-in in the background serving SOCKET (DIR gets
# its request log and takes its faults.json); returns once it listens, stopped when the test
# ends.
podresources_start() {
	local i
	/usr/bin/python3 -u "$ROOT/test/stand-ins/podresources.py" --socket "$1" --dir "$2" \
		--fixture "$3" --max-lifetime 300 >"$2/out" 2>"$2/err" &
	cleanup_add "kill $!"
	for i in $(seq 1 100); do
		grep -q listening "$2/out" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "the pod-resources stand-in did not start: $(cat "$2/err")"
}
