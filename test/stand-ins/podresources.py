#!/usr/bin/python3
# test/stand-ins/podresources.py: a TEST STAND-IN for kubelet's pod-resources gRPC service, not a
# kubelet. Serves the real service, paths and wire messages (package v1, PodResourcesLister/List
# and /Get, kubelet's api.proto field numbers) on a unix socket with Debian's python3-grpcio, a
# generic handler and hand-encoded protobuf, plus fault injection and a request log for tests.
#
# Usage: podresources.py --socket PATH --dir DIR [--fixture FILE] [--parent-pid PID]
#                        [--max-lifetime S]
#   Once serving it prints one line to stdout: "listening unix:PATH". It exits when the parent
#   process goes away or after --max-lifetime seconds (default 600), removing the socket.
#   DIR/requests.log gets one JSON object per call: {"seq", "method", "pod_name",
#   "pod_namespace", "code", "fault"}.
#
# Fixture (JSON): {"pods": [{"name", "namespace", "containers": [{"name", "cpu_ids": [int...],
#                   "devices": [{"resource_name", "device_ids": [...], "numa": [int...]}],
#                   "dynamic_resources": [{"claim_name", "claim_namespace",
#                                          "claim_resources": [{"cdi_devices": [NAME...],
#                                                               "driver_name", "pool_name",
#                                                               "device_name"}]}]}]}]}
#   dynamic_resources are sent as kubelet does with its KubeletPodResourcesDynamicResources gate
#   (ContainerResources field 5; ClaimResource driver_name/pool_name/device_name, fields 2-4,
#   are unknown to plexus's subset and exercise skipping unknown fields).
#   cpu_ids are sent as kubelet does (ContainerResources field 3, packed) and are unknown to
#   plexus's subset of the API, so they exercise skipping unknown fields.
#
# Faults: write DIR/faults.json (atomically: write a temporary file, rename it); the next call
# reads and removes it, and its content replaces the whole fault state (absent keys = default):
#   {"unavailable": N, "exhausted": N}  the next N calls (of either method) fail with
#                                       UNAVAILABLE / RESOURCE_EXHAUSTED (unavailable first);
#   "delay_ms": D                       every call sleeps D ms first (until changed);
#   "get": "ok" | "unimplemented" | "disabled"
#                                       unimplemented: Get answers UNIMPLEMENTED as a kubelet
#                                       < 1.27 does; disabled: UNKNOWN "PodResources API Get
#                                       method disabled" as a kubelet with the gate off does;
#   "garbage": N                        the next N replies carry bytes that are no protobuf;
#   "oversize": N                       the next N replies are over 16 MiB (a 17 MiB pod name);
#   "pods": [...]                       replaces the fixture's pods (kept until replaced).
import argparse
import json
import os
import sys
import threading
import time
from concurrent import futures

import grpc

SERVICE = "v1.PodResourcesLister"


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_bytes(num, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(num << 3 | 2) + varint(len(data)) + data


def field_varint(num, v):
    return varint(num << 3) + varint(v)


def enc_devices(d):
    out = field_bytes(1, d.get("resource_name", ""))
    for i in d.get("device_ids", []):
        out += field_bytes(2, i)
    if "numa" in d:
        topo = b"".join(field_bytes(1, field_varint(1, n)) for n in d["numa"])
        out += field_bytes(3, topo)
    return out


def enc_dynamic_resource(r):
    """api.proto DynamicResource (claim_name 2, claim_namespace 3, claim_resources 4)."""
    out = field_bytes(2, r.get("claim_name", "")) + field_bytes(3, r.get("claim_namespace", ""))
    for cr in r.get("claim_resources", []):
        body = b"".join(field_bytes(1, field_bytes(1, n)) for n in cr.get("cdi_devices", []))
        for num, key in ((2, "driver_name"), (3, "pool_name"), (4, "device_name")):
            if cr.get(key):
                body += field_bytes(num, cr[key])
        out += field_bytes(4, body)
    return out


def enc_container(c):
    out = field_bytes(1, c.get("name", ""))
    for d in c.get("devices", []):
        out += field_bytes(2, enc_devices(d))
    if c.get("cpu_ids"):
        out += field_bytes(3, b"".join(varint(x) for x in c["cpu_ids"]))
    for r in c.get("dynamic_resources", []):
        out += field_bytes(5, enc_dynamic_resource(r))
    return out


def enc_pod(p):
    out = field_bytes(1, p.get("name", "")) + field_bytes(2, p.get("namespace", ""))
    for c in p.get("containers", []):
        out += field_bytes(3, enc_container(c))
    return out


def dec_fields(buf):
    """The length-delimited and varint fields of a message, as {number: value} (last wins)."""
    fields, i = {}, 0

    def rd():
        nonlocal i
        shift = v = 0
        while True:
            b = buf[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v

    while i < len(buf):
        key = rd()
        num, wt = key >> 3, key & 7
        if wt == 0:
            fields[num] = rd()
        elif wt == 2:
            n = rd()
            fields[num] = bytes(buf[i:i + n])
            i += n
        else:
            raise ValueError("wire type %d" % wt)
    return fields


class State:
    def __init__(self, fixture, d):
        self.lock = threading.Lock()
        self.pods = fixture.get("pods", [])
        self.faults = {}
        self.dir = d
        self.seq = 0
        self.log = open(os.path.join(d, "requests.log"), "a", buffering=1)

    def take_faults(self):
        path = os.path.join(self.dir, "faults.json")
        try:
            with open(path) as f:
                faults = json.load(f)
            os.unlink(path)
        except FileNotFoundError:
            return
        if "pods" in faults:
            self.pods = faults.pop("pods")
        self.faults = faults

    def consume(self, key):
        n = self.faults.get(key, 0)
        if n > 0:
            self.faults[key] = n - 1
            return True
        return False

    def record(self, method, req, code, fault):
        self.seq += 1
        self.log.write(json.dumps({"seq": self.seq, "method": method,
                                   "pod_name": req.get("pod_name"),
                                   "pod_namespace": req.get("pod_namespace"),
                                   "code": code, "fault": fault}) + "\n")


def handle(state, method, request, context):
    with state.lock:
        state.take_faults()
        req = {}
        if method == "Get":
            f = dec_fields(request)
            req = {"pod_name": f.get(1, b"").decode(), "pod_namespace": f.get(2, b"").decode()}
        delay = state.faults.get("delay_ms", 0)
        get_mode = state.faults.get("get", "ok")
        fault = None
        # A Get that kubelet would not serve consumes no fault: the List after it gets them.
        if method != "Get" or get_mode == "ok":
            for key in ("unavailable", "exhausted", "garbage", "oversize"):
                if state.consume(key):
                    fault = key
                    break
        pods = list(state.pods)
    if delay:
        time.sleep(delay / 1000.0)

    def fail(code, msg, fault_name):
        with state.lock:
            state.record(method, req, code.name, fault_name)
        context.abort(code, msg)

    if method == "Get" and get_mode == "unimplemented":
        fail(grpc.StatusCode.UNIMPLEMENTED,
             "unknown method Get for service v1.PodResourcesLister", "get-unimplemented")
    if method == "Get" and get_mode == "disabled":
        fail(grpc.StatusCode.UNKNOWN, "PodResources API Get method disabled", "get-disabled")
    if fault == "unavailable":
        fail(grpc.StatusCode.UNAVAILABLE, "kubelet is restarting (stand-in fault)", fault)
    if fault == "exhausted":
        fail(grpc.StatusCode.RESOURCE_EXHAUSTED, "rejected by rate limit", fault)
    if fault == "garbage":
        body = b"\x0a\xff\xff\xff\xff\x0f\x07\x07"
    elif method == "Get":
        pod = next((p for p in pods if p.get("name") == req["pod_name"]
                    and p.get("namespace") == req["pod_namespace"]), None)
        if pod is None:
            # What kubelet's Get answers for a pod it does not know (code Unknown).
            fail(grpc.StatusCode.UNKNOWN, "pod %s in namespace %s not found"
                 % (req["pod_name"], req["pod_namespace"]), None)
        body = field_bytes(1, enc_pod(pod))
    else:
        body = b"".join(field_bytes(1, enc_pod(p)) for p in pods)
    if fault == "oversize":
        body += field_bytes(1, enc_pod({"name": "x" * (17 << 20), "namespace": "big"}))
    with state.lock:
        state.record(method, req, "OK", fault)
    return body


class Handler(grpc.GenericRpcHandler):
    def __init__(self, state):
        self.state = state

    def service(self, details):
        prefix = "/%s/" % SERVICE
        if not details.method.startswith(prefix):
            return None
        method = details.method[len(prefix):]
        if method not in ("List", "Get"):
            return None  # grpcio answers UNIMPLEMENTED, as kubelet would
        return grpc.unary_unary_rpc_method_handler(
            lambda request, context: handle(self.state, method, request, context))


def watchdog(parent, deadline, sock):
    while True:
        gone = False
        if parent:
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                gone = True
        if gone or time.monotonic() > deadline or (parent and os.getppid() != parent):
            try:
                os.unlink(sock)
            except OSError:
                pass
            os._exit(0)
        time.sleep(0.2)


def main():
    ap = argparse.ArgumentParser(description="kubelet pod-resources TEST STAND-IN")
    ap.add_argument("--socket", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--fixture")
    ap.add_argument("--parent-pid", type=int, default=os.getppid())
    ap.add_argument("--max-lifetime", type=float, default=600)
    a = ap.parse_args()
    threading.Thread(target=watchdog,
                     args=(a.parent_pid, time.monotonic() + a.max_lifetime, a.socket),
                     daemon=True).start()
    fixture = {}
    if a.fixture:
        with open(a.fixture) as f:
            fixture = json.load(f)
    state = State(fixture, a.dir)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16),
                         handlers=[Handler(state)],
                         options=[("grpc.max_send_message_length", -1),
                                  ("grpc.max_receive_message_length", 16 << 20)])
    try:
        os.unlink(a.socket)
    except FileNotFoundError:
        pass
    server.add_insecure_port("unix:" + a.socket)
    server.start()
    print("listening unix:%s" % a.socket, flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    sys.exit(main())
