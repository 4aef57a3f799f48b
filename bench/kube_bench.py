#!/usr/bin/python3
"""bench/kube_bench.py: plexus against the kube-apiserver stand-in with injected latency.

For 1, 4 and 16 networks in the pod's annotation: API requests per ADD (by kind) and per DEL,
connections per ADD, and ADD latency (median). Delegates are a tiny static plugin so the
numbers are plexus's and the API's, not a network plugin's."""
import json, os, shutil, statistics, subprocess, sys, tempfile, time, ssl, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLEXUS = os.path.join(ROOT, "bin", "plexus")
RUNS = int(os.environ.get("BENCH_RUNS", "30"))
LATENCY_MS = int(os.environ.get("BENCH_API_LATENCY_MS", "2"))
work = tempfile.mkdtemp(prefix="plexus-kbench.")
netns = "pxkb%d" % (os.getpid() % 10000)


def main():
    bindir = work + "/bin"
    os.makedirs(bindir)
    shutil.copy(os.path.join(ROOT, "build", "bench", "tinyplugin"), bindir + "/tiny")
    nads = [{"apiVersion": "k8s.cni.cncf.io/v1", "kind": "NetworkAttachmentDefinition",
             "metadata": {"name": "n%d" % i, "namespace": "bench"},
             "spec": {"config": json.dumps({"cniVersion": "1.0.0", "name": "n%d" % i,
                                            "type": "tiny"})}} for i in range(16)]
    fixture = {"tokens": {"bench-token": "bench"}, "pods": [], "nads": nads}
    with open(work + "/fixture.json", "w") as f:
        json.dump(fixture, f)
    api_dir = work + "/api"
    os.makedirs(api_dir)
    srv = subprocess.Popen(["/usr/bin/python3", "-u", os.path.join(ROOT, "test/stand-ins/apiserver.py"),
                            "--dir", api_dir, "--fixture", work + "/fixture.json",
                            "--max-lifetime", "900"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    url = srv.stdout.readline().decode().split()[1]
    ctx = ssl.create_default_context(cafile=api_dir + "/ca.crt")

    def control(method, path, body=None):
        req = urllib.request.Request(url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=ctx) as r:
            data = r.read()
            return json.loads(data) if data else None

    with open(work + "/kubeconfig", "w") as f:
        f.write("apiVersion: v1\nkind: Config\ncurrent-context: b\ncontexts:\n- name: b\n"
                "  context: {cluster: s, user: u}\nclusters:\n- name: s\n  cluster: {server: \"%s\", "
                "certificate-authority: %s/ca.crt}\nusers:\n- name: u\n  user: {token: bench-token}\n"
                % (url, api_dir))
    conf = json.dumps({"cniVersion": "1.0.0", "name": "bench", "type": "plexus",
                       "kubeconfig": work + "/kubeconfig", "cniDir": work + "/cni", "binDir": bindir,
                       "delegates": [{"cniVersion": "1.0.0", "name": "cluster", "type": "tiny"}]}).encode()
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        control("POST", "/_standin/faults", {"latency_ms": LATENCY_MS})
        print("plexus against the API stand-in, %d ms injected latency per request, %d runs, medians"
              % (LATENCY_MS, RUNS))
        print()
        print("| networks | GET pod | GET NAD | PATCH | other | connections | requests per DEL (cache) | ADD latency |")
        print("|---|---|---|---|---|---|---|---|")
        for n in (1, 4, 16):
            annot = ",".join("n%d" % i for i in range(n))
            control("POST", "/_standin/objects", {"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "p%d" % n, "namespace": "bench", "uid": "u%d" % n,
                                 "annotations": {"k8s.v1.cni.cncf.io/networks": annot}}})
            lat, counts, dels = [], None, None
            for r in range(RUNS):
                env = dict(os.environ, CNI_CONTAINERID="c%d" % r, CNI_NETNS="/run/netns/" + netns,
                           CNI_IFNAME="eth0", CNI_PATH=bindir,
                           CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=p%d;K8S_POD_UID=u%d" % (n, n))
                control("POST", "/_standin/reset-log")
                t0 = time.perf_counter()
                p = subprocess.run([PLEXUS], input=conf, env=dict(env, CNI_COMMAND="ADD"),
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
                lat.append((time.perf_counter() - t0) * 1000)
                if p.returncode:
                    sys.exit("ADD failed: " + p.stdout.decode())
                log = control("GET", "/_standin/requests")
                counts = (sum(1 for x in log if x["method"] == "GET" and "/pods/" in x["path"]),
                          sum(1 for x in log if x["method"] == "GET" and "network-attachment" in x["path"]),
                          sum(1 for x in log if x["method"] == "PATCH"),
                          sum(1 for x in log if x["method"] not in ("GET", "PATCH")),
                          len({x["conn"] for x in log}))
                control("POST", "/_standin/reset-log")
                subprocess.run([PLEXUS], input=conf, env=dict(env, CNI_COMMAND="DEL"), check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                dels = len(control("GET", "/_standin/requests"))
            print("| %d | %d | %d | %d | %d | %d | %d | %.1f ms |" % ((n,) + counts + (dels, statistics.median(lat))))
    finally:
        subprocess.run(["ip", "netns", "del", netns])
        srv.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
