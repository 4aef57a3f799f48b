#!/usr/bin/python3
# test/cri/criclient.py: the CRI lane's client: what kubelet sends a container runtime over CRI
# (k8s.io/cri-api runtime.v1, RuntimeService) for a pod sandbox, with Debian's python3-grpcio.
# The messages are declared from api.proto's field numbers with protobuf's descriptor API
# (only the fields kubelet sets for a sandbox and the ones read back); no generated code.
#
# Usage: criclient.py --socket PATH [--timeout S] COMMAND ...
#   version                         VersionResponse as JSON
#   run POD.json...                 RunPodSandbox for each pod, concurrently; one line per pod:
#                                   "<sandbox id>" or "error: <gRPC code>: <message>"
#   status ID                       PodSandboxStatus (verbose) as JSON; "info" decoded
#   stop ID... | remove ID...       StopPodSandbox / RemovePodSandbox, concurrently; one line
#                                   per ID: "ok" or "error: <code>: <message>"
#   list                            ListPodSandbox items as JSON
# Exit status: 0 when every call succeeded, 1 otherwise.
#
# POD.json: {"name", "namespace", "uid", "attempt"?, "labels"?, "annotations"?,
#            "ports"?: [{"protocol": "TCP"|"UDP"|"SCTP", "containerPort", "hostPort",
#                        "hostIP"?}], "cgroupParent"?, "logDirectory"?}
# becomes a PodSandboxConfig as kubelet's generatePodSandboxConfig builds it
# (pkg/kubelet/kuberuntime/kuberuntime_sandbox.go): metadata; hostname; log directory; DNS;
# the pod's labels plus io.kubernetes.pod.{name,namespace,uid}; its annotations; port
# mappings from the containers' hostPorts; linux: cgroup parent, namespace options
# (network POD, pid CONTAINER, ipc POD) and a RuntimeDefault seccomp profile.
import argparse
import json
import sys
from concurrent import futures

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

PKG = "runtime.v1"
SERVICE = "/runtime.v1.RuntimeService/"

# (message, [(field, number, type, label, type_name)]), field numbers from runtime.v1 api.proto
T = descriptor_pb2.FieldDescriptorProto
S, I32, U32, I64, B, M, E = (T.TYPE_STRING, T.TYPE_INT32, T.TYPE_UINT32, T.TYPE_INT64,
                             T.TYPE_BOOL, T.TYPE_MESSAGE, T.TYPE_ENUM)
OPT, REP = T.LABEL_OPTIONAL, T.LABEL_REPEATED
MAP = "map"  # map<string, string>: a repeated nested *Entry message
MESSAGES = [
    ("VersionRequest", [("version", 1, S, OPT, None)]),
    ("VersionResponse", [("version", 1, S, OPT, None), ("runtime_name", 2, S, OPT, None),
                         ("runtime_version", 3, S, OPT, None),
                         ("runtime_api_version", 4, S, OPT, None)]),
    ("DNSConfig", [("servers", 1, S, REP, None), ("searches", 2, S, REP, None),
                   ("options", 3, S, REP, None)]),
    ("PortMapping", [("protocol", 1, E, OPT, "Protocol"), ("container_port", 2, I32, OPT, None),
                     ("host_port", 3, I32, OPT, None), ("host_ip", 4, S, OPT, None)]),
    ("PodSandboxMetadata", [("name", 1, S, OPT, None), ("uid", 2, S, OPT, None),
                            ("namespace", 3, S, OPT, None), ("attempt", 4, U32, OPT, None)]),
    ("NamespaceOption", [("network", 1, E, OPT, "NamespaceMode"),
                         ("pid", 2, E, OPT, "NamespaceMode"),
                         ("ipc", 3, E, OPT, "NamespaceMode"), ("target_id", 4, S, OPT, None)]),
    ("SecurityProfile", [("profile_type", 1, E, OPT, "SecurityProfile.ProfileType"),
                         ("localhost_ref", 2, S, OPT, None)]),
    ("LinuxSandboxSecurityContext", [("namespace_options", 1, M, OPT, "NamespaceOption"),
                                     ("seccomp", 9, M, OPT, "SecurityProfile")]),
    ("LinuxPodSandboxConfig", [("cgroup_parent", 1, S, OPT, None),
                               ("security_context", 2, M, OPT, "LinuxSandboxSecurityContext"),
                               ("sysctls", 3, MAP, REP, None)]),
    ("PodSandboxConfig", [("metadata", 1, M, OPT, "PodSandboxMetadata"),
                          ("hostname", 2, S, OPT, None), ("log_directory", 3, S, OPT, None),
                          ("dns_config", 4, M, OPT, "DNSConfig"),
                          ("port_mappings", 5, M, REP, "PortMapping"),
                          ("labels", 6, MAP, REP, None), ("annotations", 7, MAP, REP, None),
                          ("linux", 8, M, OPT, "LinuxPodSandboxConfig")]),
    ("RunPodSandboxRequest", [("config", 1, M, OPT, "PodSandboxConfig"),
                              ("runtime_handler", 2, S, OPT, None)]),
    ("RunPodSandboxResponse", [("pod_sandbox_id", 1, S, OPT, None)]),
    ("StopPodSandboxRequest", [("pod_sandbox_id", 1, S, OPT, None)]),
    ("StopPodSandboxResponse", []),
    ("RemovePodSandboxRequest", [("pod_sandbox_id", 1, S, OPT, None)]),
    ("RemovePodSandboxResponse", []),
    ("PodSandboxStatusRequest", [("pod_sandbox_id", 1, S, OPT, None), ("verbose", 2, B, OPT, None)]),
    ("PodIP", [("ip", 1, S, OPT, None)]),
    ("PodSandboxNetworkStatus", [("ip", 1, S, OPT, None), ("additional_ips", 2, M, REP, "PodIP")]),
    ("PodSandboxStatus", [("id", 1, S, OPT, None), ("metadata", 2, M, OPT, "PodSandboxMetadata"),
                          ("state", 3, E, OPT, "PodSandboxState"), ("created_at", 4, I64, OPT, None),
                          ("network", 5, M, OPT, "PodSandboxNetworkStatus"),
                          ("labels", 7, MAP, REP, None), ("annotations", 8, MAP, REP, None),
                          ("runtime_handler", 9, S, OPT, None)]),
    ("PodSandboxStatusResponse", [("status", 1, M, OPT, "PodSandboxStatus"),
                                  ("info", 2, MAP, REP, None)]),
    ("PodSandboxFilter", [("id", 1, S, OPT, None)]),
    ("ListPodSandboxRequest", [("filter", 1, M, OPT, "PodSandboxFilter")]),
    ("PodSandbox", [("id", 1, S, OPT, None), ("metadata", 2, M, OPT, "PodSandboxMetadata"),
                    ("state", 3, E, OPT, "PodSandboxState"), ("created_at", 4, I64, OPT, None),
                    ("labels", 5, MAP, REP, None), ("annotations", 6, MAP, REP, None),
                    ("runtime_handler", 7, S, OPT, None)]),
    ("ListPodSandboxResponse", [("items", 1, M, REP, "PodSandbox")]),
]
ENUMS = [
    ("Protocol", ["TCP", "UDP", "SCTP"]),
    ("NamespaceMode", ["POD", "CONTAINER", "NODE", "TARGET"]),
    ("PodSandboxState", ["SANDBOX_READY", "SANDBOX_NOTREADY"]),
]
NESTED_ENUMS = {"SecurityProfile": ("ProfileType", ["RuntimeDefault", "Unconfined", "Localhost"])}


def build_messages():
    fd = descriptor_pb2.FileDescriptorProto(name="plexus/cri-runtime-v1.proto", package=PKG,
                                            syntax="proto3")
    for name, values in ENUMS:
        e = fd.enum_type.add(name=name)
        for i, v in enumerate(values):
            e.value.add(name=v, number=i)
    for name, fields in MESSAGES:
        m = fd.message_type.add(name=name)
        if name in NESTED_ENUMS:
            ename, values = NESTED_ENUMS[name]
            e = m.enum_type.add(name=ename)
            for i, v in enumerate(values):
                e.value.add(name=v, number=i)
        for fname, num, ftype, label, tname in fields:
            f = m.field.add(name=fname, number=num, label=label)
            if ftype == MAP:
                entry = "".join(p.capitalize() for p in fname.split("_")) + "Entry"
                em = m.nested_type.add(name=entry)
                em.options.map_entry = True
                em.field.add(name="key", number=1, type=S, label=OPT)
                em.field.add(name="value", number=2, type=S, label=OPT)
                f.type, f.type_name = M, ".%s.%s.%s" % (PKG, name, entry)
            else:
                f.type = ftype
                if tname:
                    f.type_name = ".%s.%s" % (PKG, tname)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    # GetMessageClass since protobuf 4.22; Debian 12 has 4.21 (python3-protobuf 3.21)
    make = getattr(message_factory, "GetMessageClass", None) or \
        message_factory.MessageFactory(pool).GetPrototype
    return {name: make(pool.FindMessageTypeByName(PKG + "." + name)) for name, _ in MESSAGES}


MSG = build_messages()


class Runtime:
    def __init__(self, socket, timeout):
        self.channel = grpc.insecure_channel("unix://" + socket)
        self.timeout = timeout

    def call(self, method, request, response):
        rpc = self.channel.unary_unary(SERVICE + method,
                                       request_serializer=lambda m: m.SerializeToString(),
                                       response_deserializer=MSG[response].FromString)
        return rpc(request, timeout=self.timeout)


def sandbox_config(pod):
    """PodSandboxConfig as kubelet's generatePodSandboxConfig fills it for this pod."""
    name, ns, uid = pod["name"], pod["namespace"], pod["uid"]
    labels = dict(pod.get("labels", {}))
    labels.update({"io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": ns,
                   "io.kubernetes.pod.uid": uid})
    annotations = dict(pod.get("annotations", {}))
    annotations.setdefault("kubernetes.io/config.source", "api")
    annotations.setdefault("kubernetes.io/config.seen", "2026-01-01T00:00:00.000000000Z")
    c = MSG["PodSandboxConfig"]()
    c.metadata.name, c.metadata.namespace, c.metadata.uid = name, ns, uid
    c.metadata.attempt = pod.get("attempt", 0)
    c.hostname = name
    c.log_directory = pod.get("logDirectory", "")
    c.dns_config.servers.append("10.96.0.10")
    c.dns_config.searches.extend([ns + ".svc.cluster.local", "svc.cluster.local",
                                  "cluster.local"])
    c.dns_config.options.append("ndots:5")
    for p in pod.get("ports", []):
        m = c.port_mappings.add()
        m.protocol = ["TCP", "UDP", "SCTP"].index(p.get("protocol", "TCP"))
        m.container_port, m.host_port = p["containerPort"], p.get("hostPort", 0)
        m.host_ip = p.get("hostIP", "")
    c.labels.update(labels)
    c.annotations.update(annotations)
    c.linux.cgroup_parent = pod.get("cgroupParent", "")
    nso = c.linux.security_context.namespace_options
    nso.network, nso.pid, nso.ipc = 0, 1, 0  # POD, CONTAINER, POD
    c.linux.security_context.seccomp.profile_type = 0  # RuntimeDefault
    return c


def error_line(e):
    return "error: %s: %s" % (e.code().name, e.details())


def concurrently(fn, items):
    """fn(item) for every item at once; lines in the items' order; True when all succeeded."""
    with futures.ThreadPoolExecutor(max_workers=max(1, len(items))) as pool:
        results = list(pool.map(fn, items))
    for line, _ in results:
        print(line, flush=True)
    return all(ok for _, ok in results)


def main():
    ap = argparse.ArgumentParser(description="a CRI runtime.v1 client for pod sandboxes")
    ap.add_argument("--socket", required=True)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("command", choices=["version", "run", "status", "stop", "remove", "list"])
    ap.add_argument("args", nargs="*")
    a = ap.parse_args()
    rt = Runtime(a.socket, a.timeout)
    try:
        if a.command == "version":
            r = rt.call("Version", MSG["VersionRequest"](version="v1"), "VersionResponse")
            print(json_format.MessageToJson(r, preserving_proto_field_name=True))
            return 0
        if a.command == "list":
            r = rt.call("ListPodSandbox", MSG["ListPodSandboxRequest"](), "ListPodSandboxResponse")
            print(json.dumps([json_format.MessageToDict(i, preserving_proto_field_name=True)
                              for i in r.items]))
            return 0
        if a.command == "status":
            r = rt.call("PodSandboxStatus",
                        MSG["PodSandboxStatusRequest"](pod_sandbox_id=a.args[0], verbose=True),
                        "PodSandboxStatusResponse")
            d = json_format.MessageToDict(r, preserving_proto_field_name=True,
                                          including_default_value_fields=True)
            d["info"] = {k: json.loads(v) for k, v in d.get("info", {}).items()}
            print(json.dumps(d))
            return 0
    except grpc.RpcError as e:
        print(error_line(e), file=sys.stderr)
        return 1

    def run(path):
        with open(path) as f:
            pod = json.load(f)
        try:
            r = rt.call("RunPodSandbox", MSG["RunPodSandboxRequest"](config=sandbox_config(pod)),
                        "RunPodSandboxResponse")
            return r.pod_sandbox_id, True
        except grpc.RpcError as e:
            return error_line(e), False

    def by_id(method):
        def call(sid):
            try:
                rt.call(method + "PodSandbox", MSG[method + "PodSandboxRequest"](pod_sandbox_id=sid),
                        method + "PodSandboxResponse")
                return "ok", True
            except grpc.RpcError as e:
                return error_line(e), False
        return call

    fn = run if a.command == "run" else by_id(a.command.capitalize())
    return 0 if concurrently(fn, a.args) else 1


if __name__ == "__main__":
    sys.exit(main())
