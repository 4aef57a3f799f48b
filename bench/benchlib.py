"""bench/benchlib.py: what the bench scripts share: the API stand-in (started, controlled, a
kubeconfig for it), plexusd's unix socket as an HTTP client, its readiness and its memory, and
what the filesystem under a path is."""
import http.client, json, os, shutil, socket, ssl, statistics, subprocess, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "build", "bench", "tinyplugin")
PLEXUS = os.environ.get("PLEXUS", os.path.join(ROOT, "bin", "plexus"))
PLEXUSD = os.environ.get("PLEXUSD", os.path.join(ROOT, "bin", "plexusd"))
SHIM = os.environ.get("PLEXUS_SHIM", os.path.join(ROOT, "bin", "plexus-shim"))


def own_ms(calls, refs, slices=5):
    """'F ms (L-H)': F the median of calls minus the median of refs (times of one loop, in
    order), L and H the lowest and highest of that difference over `slices` consecutive slices
    of the loop: how far a shared machine's noise moves the figure within one run"""
    k = max(1, len(calls) // slices)
    parts = [statistics.median(calls[i:i + k]) - statistics.median(refs[i:i + k])
             for i in range(0, len(calls) - k + 1, k)]
    return "%.2f ms (%.2f-%.2f)" % (statistics.median(calls) - statistics.median(refs),
                                     min(parts), max(parts))


def durable_write_ms(directory, runs=50):
    """(file, directory): medians in ms of what one plan's durable write waits for in
    directory: the fsync of a new 600-byte file renamed into place (cni/file.c), then of the
    directory. Measured beside the calls, on the same filesystem, so a reader can tell the
    device's share of an ADD from plexus's."""
    files, dirs = [], []
    os.makedirs(directory, exist_ok=True)
    dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for i in range(runs):
            tmp, path = "%s/fsync%d.tmp" % (directory, i), "%s/fsync%d" % (directory, i)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, b"x" * 600)
            os.rename(tmp, path)
            t0 = time.perf_counter()
            os.fsync(fd)
            t1 = time.perf_counter()
            os.fsync(dfd)
            t2 = time.perf_counter()
            os.close(fd)
            os.unlink(path)
            files.append((t1 - t0) * 1000.0)
            dirs.append((t2 - t1) * 1000.0)
    finally:
        os.close(dfd)
    return statistics.median(files), statistics.median(dirs)


def describe_fs(path):
    """The filesystem under path, as far as its removals cost: ext4 without a journal and mounted
    with discard trims a removed file's blocks before unlink returns (ext4_free_blocks); with a
    journal, the trim waits for the commit, off the caller's path."""
    dev, best = None, ""
    with open("/proc/self/mounts") as f:
        for line in f:
            src, mnt, fstype, opts = line.split()[:4]
            if (path + "/").startswith(mnt.rstrip("/") + "/") and len(mnt) >= len(best):
                best, dev, kind, mopts = mnt, src, fstype, opts.split(",")
    if dev is None:
        return "unknown"
    words = [kind]
    if kind == "ext4":
        try:
            with open("/proc/fs/ext4/%s/options" % os.path.basename(dev)) as f:
                opts = f.read().split()
        except OSError:
            opts = mopts
        words.append("journal" if any(o.startswith("data=") for o in opts) else "no journal")
    if "discard" in mopts:
        words.append("discard")
    return ", ".join(words)


def thick_setup(bindir, sockdir):
    """bindir with the tiny plugin and sockdir for plexusd's socket; False (having said why)
    when thick mode is not built."""
    missing = [b for b in (PLEXUSD, SHIM) if not os.access(b, os.X_OK)]
    if missing:
        print("thick: not built (%s missing)" % ", ".join(os.path.relpath(m, ROOT)
                                                          for m in missing))
        return False
    os.makedirs(bindir)
    os.makedirs(sockdir, mode=0o700)
    shutil.copy(TINY, bindir + "/tiny")
    return True


class StandIn:
    """test/stand-ins/apiserver.py in DIR with FIXTURE, as test/lib.sh apiserver_start runs it.
    kubeconfig() writes a kubeconfig for it with a token the fixture maps to a user; control()
    calls its /_standin/ endpoints."""

    def __init__(self, directory, fixture):
        os.makedirs(directory, exist_ok=True)
        self.dir = directory
        with open(directory + "/fixture.json", "w") as f:
            json.dump(fixture, f)
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", "-u", os.path.join(ROOT, "test/stand-ins/apiserver.py"),
             "--dir", directory, "--fixture", directory + "/fixture.json",
             "--max-lifetime", "900"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode().split()
        if len(line) != 2:
            self.stop()
            raise RuntimeError("the API stand-in did not start (it needs the openssl CLI)")
        self.url = line[1]
        self.ctx = ssl.create_default_context(cafile=directory + "/ca.crt")

    def control(self, method, path, body=None):
        req = urllib.request.Request(self.url + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self.ctx) as r:
            data = r.read()
            return json.loads(data) if data else None

    def kubeconfig(self, path, token="bench-token"):
        with open(path, "w") as f:
            f.write("apiVersion: v1\nkind: Config\ncurrent-context: b\ncontexts:\n- name: b\n"
                    "  context: {cluster: s, user: u}\nclusters:\n- name: s\n  cluster: "
                    "{server: \"%s\", certificate-authority: %s/ca.crt}\nusers:\n- name: u\n"
                    "  user: {token: %s}\n" % (self.url, self.dir, token))
        os.chmod(path, 0o600)
        return path

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class UnixHTTP(http.client.HTTPConnection):
    """HTTP/1.1 over the daemon's unix socket (Multus's clients dial it the same way)."""

    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def status_of(pid):
    with open("/proc/%d/status" % pid) as f:
        return {l.split(":")[0]: l.split(":")[1].strip() for l in f if ":" in l}


def kib(pid, key):
    return int(status_of(pid)[key].split()[0])


def wait_ready(proc, sock, timeout=15.0):
    """None once plexusd's /readyz answers 200 on sock, else why not."""
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            return "exited with %d" % proc.returncode
        try:
            c = UnixHTTP(sock, timeout=1)
            c.request("GET", "/readyz")
            if c.getresponse().status == 200:
                c.close()
                return None
            c.close()
        except OSError:
            pass
        time.sleep(0.05)
    return "not ready after %.0f s" % timeout


def stop(proc):
    """SIGTERM, then SIGKILL when it lingers."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
