/* test/unit/test_k8s_podresources.c: the kubelet pod-resources client against the gRPC stand-in
 * (test/stand-ins/podresources.py, python3-grpcio), the checkpoint fallback and the decoders. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "k8s/curl.h"
#include "k8s/podresources.h"
#include "test/unit/unit.h"
#include "test/unit/unit_devmap.h"

static char dir[64];	    /* the stand-in's socket, log, faults; checkpoints */
static char sock[PATH_MAX]; /* DIR/kubelet.sock */
static pid_t standin = -1;

/* Two containers of ns1/p1 hold devices of two resources, unsorted; ns2/p1 (same name, other
 * namespace) must never leak into ns1/p1's map; ns1/p2 has no devices. cpu_ids are fields
 * plexus does not declare, sent as kubelet sends them. */
static const char fixture[] =
    "{\"pods\": ["
    " {\"name\": \"p1\", \"namespace\": \"ns1\", \"containers\": ["
    "  {\"name\": \"c1\", \"cpu_ids\": [2, 3], \"devices\": ["
    "   {\"resource_name\": \"intel.com/sriov_a\", \"device_ids\": [\"0000:00:05.2\","
    "    \"0000:00:05.1\"], \"numa\": [0]}]},"
    "  {\"name\": \"c2\", \"devices\": ["
    "   {\"resource_name\": \"intel.com/sriov_b\", \"device_ids\": [\"0000:00:06.0\"]},"
    "   {\"resource_name\": \"intel.com/sriov_a\", \"device_ids\": [\"0000:00:04.7\"]}]}]},"
    " {\"name\": \"p1\", \"namespace\": \"ns2\", \"containers\": [{\"name\": \"c\", \"devices\": ["
    "   {\"resource_name\": \"intel.com/sriov_a\", \"device_ids\": [\"0000:00:09.0\"]}]}]},"
    " {\"name\": \"p2\", \"namespace\": \"ns1\", \"containers\": [{\"name\": \"c\"}]}]}";

static void write_file(const char *name, const char *text)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

/* The stand-in reads (and removes) faults.json at its next call. */
static void faults(const char *json)
{
	write_file("faults.json", json);
}

/* The calls the stand-in saw since the last reset, one "<method> <code>" per line. */
static char *calls(int *n)
{
	char path[PATH_MAX], line[1024];
	static char out[8192];
	FILE *f;

	snprintf(path, sizeof(path), "%s/requests.log", dir);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	out[0] = '\0';
	*n = 0;
	while (fgets(line, sizeof(line), f)) {
		cJSON *e = cJSON_Parse(line);

		ck_assert_ptr_nonnull(e);
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s %s\n",
			 cJSON_GetObjectItem(e, "method")->valuestring,
			 cJSON_GetObjectItem(e, "code")->valuestring);
		cJSON_Delete(e);
		(*n)++;
	}
	fclose(f);
	return out;
}

static void standin_start(void)
{
	char root[PATH_MAX], script[PATH_MAX + 64], fix[PATH_MAX], line[256];

	unit_repo_root(root, sizeof(root));
	snprintf(script, sizeof(script), "%s/test/stand-ins/podresources.py", root);
	unit_tmpdir(dir, sizeof(dir), "pr");
	snprintf(sock, sizeof(sock), "%s/kubelet.sock", dir);
	write_file("fixture.json", fixture);
	snprintf(fix, sizeof(fix), "%s/fixture.json", dir);
	standin = unit_standin((const char *const[]){ "/usr/bin/python3", script, "--socket", sock,
						      "--dir", dir, "--fixture", fix,
						      "--max-lifetime", "600", NULL },
			       line, sizeof(line));
	ck_assert_msg(strncmp(line, "listening unix:", 15) == 0, "stand-in did not start: %s",
		      line);
}

static void standin_stop(void)
{
	unit_standin_stop(standin);
	if (unit_rmtree(dir) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* Every stand-in test starts with no faults and an empty call log. */
static void reset(void)
{
	char path[PATH_MAX];

	faults("{}");
	snprintf(path, sizeof(path), "%s/requests.log", dir);
	ck_assert_int_eq(truncate(path, 0), 0);
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* "res=id,id;res=id" for compact expectations. */
#define P1_DEVICES                                                                                 \
	"intel.com/sriov_a=0000:00:04.7,0000:00:05.1,0000:00:05.2;"                                \
	"intel.com/sriov_b=0000:00:06.0"

static struct k8s_devmap *get_ok(const struct k8s_podres_opts *o, const char *ns, const char *name)
{
	struct cni_err err = { 0 };
	struct k8s_devmap *m = NULL;

	ck_assert_msg(k8s_podres_get(o, ns, name, "uid-1", &m, &err) == 0, "failed: %s", err.msg);
	ck_assert_msg(!cni_err_isset(&err), "success left an error: %s", err.msg);
	ck_assert_ptr_nonnull(m);
	return m;
}

/* ---- without the stand-in ---- */

/* Runs first, in its own TCase: nothing in this process has touched libcurl yet. */
START_TEST(checkpoint_fallback_never_loads_curl)
{
	struct k8s_podres_opts o = { .socket = "/nonexistent/kubelet.sock",
				     .checkpoint = "/nonexistent/checkpoint" };
	struct cni_err err = { 0 };
	struct k8s_devmap *m = NULL;

	ck_assert_int_eq(k8s_podres_get(&o, "ns1", "p1", "uid-1", &m, &err), -1);
	ck_assert(!k8s_curl_loaded());
	cni_err_clear(&err);
}
END_TEST

static const char checkpoint_numa[] =
    "{\"Data\":{\"PodDeviceEntries\":["
    "{\"PodUID\":\"uid-1\",\"ContainerName\":\"c1\",\"ResourceName\":\"intel.com/sriov_a\","
    " \"DeviceIDs\":{\"1\":[\"0000:00:05.2\"],\"0\":[\"0000:00:05.1\",\"0000:00:04.7\"]},"
    " \"AllocResp\":\"CgA=\"},"
    "{\"PodUID\":\"uid-2\",\"ContainerName\":\"c1\",\"ResourceName\":\"intel.com/sriov_a\","
    " \"DeviceIDs\":{\"0\":[\"0000:00:09.0\"]},\"AllocResp\":\"CgA=\"},"
    "{\"PodUID\":\"uid-1\",\"ContainerName\":\"c2\",\"ResourceName\":\"intel.com/sriov_b\","
    " \"DeviceIDs\":{\"0\":[\"0000:00:06.0\"]},\"AllocResp\":\"CgA=\"}],"
    "\"RegisteredDevices\":{\"intel.com/sriov_a\":[\"0000:00:05.1\"]}},\"Checksum\":1234}";

static const char checkpoint_list[] =
    "{\"Data\":{\"PodDeviceEntries\":["
    "{\"PodUID\":\"uid-1\",\"ContainerName\":\"c1\",\"ResourceName\":\"intel.com/sriov_a\","
    " \"DeviceIDs\":[\"0000:00:05.2\",\"0000:00:04.7\"],\"AllocResp\":\"CgA=\"},"
    "{\"PodUID\":\"uid-1\",\"ContainerName\":\"c2\",\"ResourceName\":\"intel.com/sriov_a\","
    " \"DeviceIDs\":[\"0000:00:05.1\"],\"AllocResp\":\"CgA=\"},"
    "{\"PodUID\":\"uid-1\",\"ContainerName\":\"c2\",\"ResourceName\":\"intel.com/sriov_b\","
    " \"DeviceIDs\":[\"0000:00:06.0\"],\"AllocResp\":\"CgA=\"}],"
    "\"RegisteredDevices\":{}},\"Checksum\":1}";

static void checkpoint_case(const char *text)
{
	char tmpl[64], path[128];
	struct k8s_podres_opts o = { .socket = "/nonexistent/kubelet.sock", .checkpoint = path };
	struct k8s_devmap *m;
	FILE *f;

	unit_tmpdir(tmpl, sizeof(tmpl), "ck");
	snprintf(path, sizeof(path), "%s/kubelet_internal_checkpoint", tmpl);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	m = get_ok(&o, "ns1", "p1");
	ck_assert_int_eq(m->source, K8S_PODRES_FROM_CHECKPOINT);
	ck_assert_str_eq(unit_devmap_dump(m), P1_DEVICES);
	k8s_devmap_free(m);
	unlink(path);
	rmdir(tmpl);
}

START_TEST(missing_socket_falls_back_to_the_checkpoint_numa_map)
{
	checkpoint_case(checkpoint_numa);
}
END_TEST

START_TEST(missing_socket_falls_back_to_the_checkpoint_id_list)
{
	checkpoint_case(checkpoint_list);
}
END_TEST

START_TEST(checkpoint_needs_the_pod_uid)
{
	struct k8s_podres_opts o = { .socket = "/nonexistent/kubelet.sock",
				     .checkpoint = "/nonexistent/checkpoint" };
	struct cni_err err = { 0 };
	struct k8s_devmap *m = NULL;

	ck_assert_int_eq(k8s_podres_get(&o, "ns1", "p1", NULL, &m, &err), -1);
	ck_assert_uint_eq(err.code, 7);
	ck_assert_str_eq(err.msg, "kubelet checkpoint /nonexistent/checkpoint: the pod's UID is "
				  "unknown, and the checkpoint is keyed by it");
	cni_err_clear(&err);
}
END_TEST

START_TEST(missing_socket_and_checkpoint_names_the_checkpoint)
{
	struct k8s_podres_opts o = { .socket = "/nonexistent/kubelet.sock",
				     .checkpoint = "/nonexistent/checkpoint" };
	struct cni_err err = { 0 };
	struct k8s_devmap *m = NULL;

	ck_assert_int_eq(k8s_podres_get(&o, "ns1", "p1", "uid-1", &m, &err), -1);
	ck_assert_ptr_null(m);
	ck_assert_uint_eq(err.code, 5);
	ck_assert_str_eq(err.msg,
			 "kubelet checkpoint /nonexistent/checkpoint: No such file or directory");
	cni_err_clear(&err);
}
END_TEST

START_TEST(malformed_checkpoints_are_decode_errors)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "{\"Data\":", NULL },
		{ "[]", "checkpoint is not a JSON object" },
		{ "{\"Data\":{\"PodDeviceEntries\":{}}}",
		  "checkpoint Data: \"PodDeviceEntries\" must be a" },
		{ "{\"Data\":{\"PodDeviceEntries\":[7]}}",
		  "Data.PodDeviceEntries[0]: not an object with string PodUID and ResourceName" },
		{ "{\"Data\":{\"PodDeviceEntries\":[{\"PodUID\":\"uid-1\",\"ResourceName\":\"r\","
		  "\"DeviceIDs\":5}]}}",
		  "Data.PodDeviceEntries[0].DeviceIDs is neither a list nor a map of lists" },
		{ "{\"Data\":{\"PodDeviceEntries\":[{\"PodUID\":\"uid-1\",\"ResourceName\":\"r\","
		  "\"DeviceIDs\":{\"0\":\"x\"}}]}}",
		  "Data.PodDeviceEntries[0].DeviceIDs[\"0\"] is not a list" },
		{ "{\"Data\":{\"PodDeviceEntries\":[{\"PodUID\":\"uid-1\",\"ResourceName\":\"r\","
		  "\"DeviceIDs\":[1]}]}}",
		  "Data.PodDeviceEntries[0].DeviceIDs: a device ID is not a string" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct cni_err err = { 0 };
		struct k8s_devmap *m = (struct k8s_devmap *)1;

		ck_assert_int_eq(k8s_podres_parse_checkpoint(cases[i].text, strlen(cases[i].text),
							     "uid-1", &m, &err),
				 -1);
		ck_assert_ptr_null(m);
		ck_assert_uint_eq(err.code, 6);
		if (cases[i].msg)
			ck_assert_msg(strstr(err.msg, cases[i].msg), "case %zu: got \"%s\"", i,
				      err.msg);
		cni_err_clear(&err);
	}
}
END_TEST

START_TEST(checkpoint_of_other_pods_gives_an_empty_map)
{
	struct cni_err err = { 0 };
	struct k8s_devmap *m = NULL;

	ck_assert_int_eq(k8s_podres_parse_checkpoint(checkpoint_numa, strlen(checkpoint_numa),
						     "uid-9", &m, &err),
			 0);
	ck_assert_uint_eq(m->n, 0);
	k8s_devmap_free(m);
}
END_TEST

/* Hand-encoded protobuf, as the wire carries it. */
static size_t pb_str(uint8_t *p, int field, const char *s)
{
	size_t n = strlen(s);

	p[0] = (uint8_t)(field << 3 | 2);
	p[1] = (uint8_t)n; /* short strings only */
	memcpy(p + 2, s, n);
	return n + 2;
}

static size_t pb_msg(uint8_t *p, int field, const uint8_t *m, size_t n)
{
	p[0] = (uint8_t)(field << 3 | 2);
	p[1] = (uint8_t)n;
	memcpy(p + 2, m, n);
	return n + 2;
}

/* A gRPC body: prefix + GetPodResourcesResponse{PodResources{ns, name, one container with the
 * devices of one resource}}. */
static size_t get_reply(uint8_t *out, const char *ns, const char *name, const char *res,
			const char *const *ids)
{
	uint8_t dev[256], ctr[300], pod[400], msg[500];
	size_t nd = 0, nc = 0, np = 0, nm;

	nd += pb_str(dev + nd, 1, res);
	for (; *ids; ids++)
		nd += pb_str(dev + nd, 2, *ids);
	nc += pb_str(ctr + nc, 1, "c");
	nc += pb_msg(ctr + nc, 2, dev, nd);
	np += pb_str(pod + np, 1, name);
	np += pb_str(pod + np, 2, ns);
	np += pb_msg(pod + np, 3, ctr, nc);
	nm = pb_msg(msg, 1, pod, np);
	out[0] = 0;
	out[1] = out[2] = out[3] = 0;
	out[4] = (uint8_t)nm;
	memcpy(out + 5, msg, nm);
	return nm + 5;
}

START_TEST(decode_keeps_the_pod_and_sorts)
{
	const char *const ids[] = { "b", "a", "c", NULL };
	uint8_t body[512];
	size_t n = get_reply(body, "ns1", "p1", "r", ids);
	struct cni_err err = { 0 };
	struct k8s_devmap *m = NULL;

	ck_assert_int_eq(k8s_podres_decode(K8S_PODRES_FROM_GET, body, n, "ns1", "p1", &m, &err), 0);
	ck_assert_str_eq(unit_devmap_dump(m), "r=a,b,c");
	k8s_devmap_free(m);
	/* The same message read as a List reply: one pod entry, filtered by ns/name. */
	ck_assert_int_eq(k8s_podres_decode(K8S_PODRES_FROM_LIST, body, n, "ns1", "p1", &m, &err),
			 0);
	ck_assert_str_eq(unit_devmap_dump(m), "r=a,b,c");
	k8s_devmap_free(m);
	ck_assert_int_eq(k8s_podres_decode(K8S_PODRES_FROM_LIST, body, n, "ns2", "p1", &m, &err),
			 0);
	ck_assert_uint_eq(m->n, 0);
	k8s_devmap_free(m);
}
END_TEST

/* ContainerResources.dynamic_resources (field 5), as kubelet sends it with the
 * KubeletPodResourcesDynamicResources gate: the part after '=' of each CDI name, keyed by the
 * claim's name; a CDI name without '=' and ClaimResource's driver_name (a field plexus does not
 * declare) are skipped. */
START_TEST(decode_keys_dynamic_resources_by_claim_name)
{
	uint8_t cdi1[32], cdi2[32], cr[96], dr[112], ctr[120], pod[124], body[128];
	size_t n1 = pb_str(cdi1, 1, "k8s.d.io/vf=0000:00:08.1"), n2 = pb_str(cdi2, 1, "noeq");
	size_t ncr = 0, ndr = 0, nc = 0, np = 0, nm;
	struct cni_err err = { 0 };
	struct k8s_devmap *m = NULL;

	ncr += pb_msg(cr + ncr, 1, cdi1, n1);
	ncr += pb_msg(cr + ncr, 1, cdi2, n2);
	ncr += pb_str(cr + ncr, 2, "d.io");
	ndr += pb_str(dr + ndr, 2, "p1-vf");
	ndr += pb_str(dr + ndr, 3, "ns1");
	ndr += pb_msg(dr + ndr, 4, cr, ncr);
	nc += pb_str(ctr + nc, 1, "c");
	nc += pb_msg(ctr + nc, 5, dr, ndr);
	np += pb_str(pod + np, 1, "p1");
	np += pb_str(pod + np, 2, "ns1");
	np += pb_msg(pod + np, 3, ctr, nc);
	nm = pb_msg(body + 5, 1, pod, np);
	memset(body, 0, 5);
	body[4] = (uint8_t)nm;
	ck_assert_msg(k8s_podres_decode(K8S_PODRES_FROM_GET, body, nm + 5, "ns1", "p1", &m, &err) ==
			  0,
		      "%s", err.msg);
	ck_assert_uint_eq(m->n, 0);
	ck_assert_ptr_nonnull(m->claims);
	ck_assert_str_eq(unit_devmap_dump(m->claims), "p1-vf=0000:00:08.1");
	k8s_devmap_free(m);
}
END_TEST

START_TEST(decode_refuses_bad_framing_and_other_pods)
{
	const char *const ids[] = { "a", NULL };
	uint8_t body[512], bad[512];
	size_t n = get_reply(body, "ns1", "p1", "r", ids);
	struct cni_err err = { 0 };
	struct k8s_devmap *m = NULL;

	ck_assert_int_eq(k8s_podres_decode(K8S_PODRES_FROM_GET, body, 4, "ns1", "p1", &m, &err),
			 -1);
	ck_assert_str_eq(err.msg, "reply: 4 bytes, shorter than a gRPC message prefix");
	memcpy(bad, body, n);
	bad[0] = 1;
	ck_assert_int_eq(k8s_podres_decode(K8S_PODRES_FROM_GET, bad, n, "ns1", "p1", &m, &err), -1);
	ck_assert_str_eq(err.msg, "reply: message flags 0x01 (compressed or unknown), expected 0");
	ck_assert_int_eq(k8s_podres_decode(K8S_PODRES_FROM_GET, body, n - 1, "ns1", "p1", &m, &err),
			 -1);
	ck_assert(strstr(err.msg, "announced") != NULL);
	memcpy(bad, body, n);
	bad[1] = 0x02; /* 32 MiB announced */
	ck_assert_int_eq(k8s_podres_decode(K8S_PODRES_FROM_GET, bad, n, "ns1", "p1", &m, &err), -1);
	ck_assert(strstr(err.msg, "exceeds the 16 MiB limit") != NULL);
	ck_assert_int_eq(k8s_podres_decode(K8S_PODRES_FROM_GET, body, n, "ns1", "p9", &m, &err),
			 -1);
	ck_assert_str_eq(err.msg, "reply: Get for ns1/p9 answered with pod \"ns1/p1\"");
	ck_assert_uint_eq(err.code, 6);
	ck_assert_ptr_null(m);
	cni_err_clear(&err);
}
END_TEST

START_TEST(kth_attachment_of_a_resource_gets_the_kth_id)
{
	struct cni_err err = { 0 };
	struct k8s_devmap *m = NULL;
	const char *id = NULL;

	ck_assert_int_eq(k8s_podres_parse_checkpoint(checkpoint_numa, strlen(checkpoint_numa),
						     "uid-1", &m, &err),
			 0);
	ck_assert_int_eq(k8s_devmap_assign(m, "intel.com/sriov_a", "ns1/net-a", &id, &err), 0);
	ck_assert_str_eq(id, "0000:00:04.7");
	ck_assert_int_eq(k8s_devmap_assign(m, "intel.com/sriov_b", "ns1/net-b", &id, &err), 0);
	ck_assert_str_eq(id, "0000:00:06.0");
	ck_assert_int_eq(k8s_devmap_assign(m, "intel.com/sriov_a", "ns1/net-a2", &id, &err), 0);
	ck_assert_str_eq(id, "0000:00:05.1");
	ck_assert_int_eq(k8s_devmap_assign(m, "intel.com/sriov_a", "ns1/net-a3", &id, &err), 0);
	ck_assert_str_eq(id, "0000:00:05.2");
	k8s_devmap_free(m);
}
END_TEST

START_TEST(not_enough_devices_names_the_resource_and_the_network)
{
	struct cni_err err = { 0 };
	struct k8s_devmap *m = NULL;
	const char *id = "untouched";

	ck_assert_int_eq(k8s_podres_parse_checkpoint(checkpoint_numa, strlen(checkpoint_numa),
						     "uid-1", &m, &err),
			 0);
	ck_assert_int_eq(k8s_devmap_assign(m, "intel.com/sriov_b", "ns1/net-b", &id, &err), 0);
	ck_assert_int_eq(k8s_devmap_assign(m, "intel.com/sriov_b", "ns1/net-b2", &id, &err), -1);
	ck_assert_str_eq(id, "0000:00:06.0");
	ck_assert_uint_eq(err.code, 7);
	ck_assert_str_eq(err.msg, "network \"ns1/net-b2\": not enough devices of resource "
				  "\"intel.com/sriov_b\": the pod has 1, all taken by earlier "
				  "attachments");
	ck_assert_int_eq(k8s_devmap_assign(m, "intel.com/sriov_c", "ns1/net-c", &id, &err), -1);
	ck_assert_str_eq(err.msg, "network \"ns1/net-c\": the pod has no device of resource "
				  "\"intel.com/sriov_c\" (does the pod request it in its "
				  "resources?)");
	cni_err_clear(&err);
	k8s_devmap_free(m);
}
END_TEST

/* ---- against the stand-in ---- */

START_TEST(get_returns_the_pods_devices_sorted_over_all_containers)
{
	struct k8s_podres_opts o = { .socket = sock };
	struct k8s_devmap *m = get_ok(&o, "ns1", "p1");
	int n;

	ck_assert_int_eq(m->source, K8S_PODRES_FROM_GET);
	ck_assert_str_eq(unit_devmap_dump(m), P1_DEVICES);
	ck_assert_str_eq(calls(&n), "Get OK\n");
	k8s_devmap_free(m);
}
END_TEST

START_TEST(list_is_used_when_get_is_unimplemented)
{
	struct k8s_podres_opts o = { .socket = sock };
	struct k8s_devmap *m;
	int n;

	faults("{\"get\": \"unimplemented\"}");
	m = get_ok(&o, "ns1", "p1");
	ck_assert_int_eq(m->source, K8S_PODRES_FROM_LIST);
	ck_assert_str_eq(unit_devmap_dump(m), P1_DEVICES); /* ns2/p1's device is not there */
	ck_assert_str_eq(calls(&n), "Get UNIMPLEMENTED\nList OK\n");
	k8s_devmap_free(m);
}
END_TEST

START_TEST(list_is_used_when_the_get_feature_gate_is_off)
{
	struct k8s_podres_opts o = { .socket = sock };
	struct k8s_devmap *m;
	int n;

	faults("{\"get\": \"disabled\"}");
	m = get_ok(&o, "ns1", "p1");
	ck_assert_int_eq(m->source, K8S_PODRES_FROM_LIST);
	ck_assert_str_eq(unit_devmap_dump(m), P1_DEVICES);
	ck_assert_str_eq(calls(&n), "Get UNKNOWN\nList OK\n");
	k8s_devmap_free(m);
}
END_TEST

START_TEST(pod_without_devices_gives_an_empty_map)
{
	struct k8s_podres_opts o = { .socket = sock };
	struct k8s_devmap *m = get_ok(&o, "ns1", "p2");
	struct cni_err err = { 0 };
	const char *id = NULL;

	ck_assert_uint_eq(m->n, 0);
	ck_assert_int_eq(k8s_devmap_assign(m, "intel.com/sriov_a", "ns1/net-a", &id, &err), -1);
	ck_assert(strstr(err.msg, "\"intel.com/sriov_a\"") && strstr(err.msg, "\"ns1/net-a\""));
	cni_err_clear(&err);
	k8s_devmap_free(m);
}
END_TEST

START_TEST(unknown_pod_reports_kubelets_message)
{
	struct k8s_podres_opts o = { .socket = sock };
	struct cni_err err = { 0 };
	struct k8s_devmap *m = NULL;
	char want[PATH_MAX + 128];
	int n;

	ck_assert_int_eq(k8s_podres_get(&o, "ns1", "gone", "uid-1", &m, &err), -1);
	snprintf(want, sizeof(want),
		 "kubelet pod-resources Get (%s): UNKNOWN: pod gone in namespace ns1 not found",
		 sock);
	ck_assert_str_eq(err.msg, want);
	ck_assert_uint_eq(err.code, 5);
	ck_assert_str_eq(calls(&n), "Get UNKNOWN\n"); /* not retried */
	cni_err_clear(&err);
}
END_TEST

START_TEST(unavailable_and_resource_exhausted_are_retried)
{
	struct k8s_podres_opts o = { .socket = sock, .backoff_ms = 10 };
	struct k8s_devmap *m;
	int n;

	faults("{\"unavailable\": 1, \"exhausted\": 2}");
	m = get_ok(&o, "ns1", "p1");
	ck_assert_str_eq(unit_devmap_dump(m), P1_DEVICES);
	ck_assert_str_eq(
	    calls(&n), "Get UNAVAILABLE\nGet RESOURCE_EXHAUSTED\nGet RESOURCE_EXHAUSTED\nGet OK\n");
	k8s_devmap_free(m);
}
END_TEST

START_TEST(retries_give_up_after_max_attempts_with_code_11)
{
	struct k8s_podres_opts o = { .socket = sock, .backoff_ms = 10, .max_attempts = 3 };
	struct cni_err err = { 0 };
	struct k8s_devmap *m = NULL;
	char want[PATH_MAX + 128];
	int n;

	faults("{\"exhausted\": 100}");
	ck_assert_int_eq(k8s_podres_get(&o, "ns1", "p1", "uid-1", &m, &err), -1);
	ck_assert_uint_eq(err.code, 11);
	snprintf(want, sizeof(want),
		 "kubelet pod-resources Get (%s): RESOURCE_EXHAUSTED: rejected by rate limit "
		 "(gave up after 3 attempts in",
		 sock);
	ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "got \"%s\"", err.msg);
	calls(&n);
	ck_assert_int_eq(n, 3);
	cni_err_clear(&err);
}
END_TEST

/* The retries end when the next wait would pass the deadline. The waits (400 ms, then 800) are
 * long beside an attempt, so the second attempt starts with about 600 ms left: on a loaded
 * machine an attempt can take more than 50 ms, and with 50 ms waits the last one ran into the
 * deadline (a different error) in one CI run. */
START_TEST(retries_stop_at_the_deadline)
{
	struct k8s_podres_opts o = {
		.socket = sock, .deadline_ms = 1000, .max_attempts = 1000, .backoff_ms = 400
	};
	struct cni_err err = { 0 };
	struct k8s_devmap *m = NULL;
	struct timespec t0;

	faults("{\"unavailable\": 1000}");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(k8s_podres_get(&o, "ns1", "p1", "uid-1", &m, &err), -1);
	ck_assert_int_lt(elapsed_ms(&t0), 1500);
	ck_assert_uint_eq(err.code, 11);
	ck_assert_msg(strstr(err.msg, "UNAVAILABLE: kubelet is restarting (stand-in fault) (gave "
				      "up after "),
		      "got \"%s\"", err.msg);
	cni_err_clear(&err);
}
END_TEST

START_TEST(slow_reply_past_the_deadline_fails_in_time)
{
	struct k8s_podres_opts o = { .socket = sock, .deadline_ms = 300 };
	struct cni_err err = { 0 };
	struct k8s_devmap *m = NULL;
	struct timespec t0;

	faults("{\"delay_ms\": 3000}");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(k8s_podres_get(&o, "ns1", "p1", "uid-1", &m, &err), -1);
	ck_assert_int_lt(elapsed_ms(&t0), 1500);
	ck_assert_uint_eq(err.code, 11);
	/* libcurl's timer or the server's (it got grpc-timeout), whichever fires first. */
	ck_assert_msg(strstr(err.msg, "deadline of 300 ms exceeded") ||
			  strstr(err.msg, "DEADLINE_EXCEEDED"),
		      "got \"%s\"", err.msg);
	ck_assert_ptr_null(m);
	cni_err_clear(&err);
}
END_TEST

START_TEST(garbage_message_is_a_decode_error)
{
	struct k8s_podres_opts o = { .socket = sock };
	struct cni_err err = { 0 };
	struct k8s_devmap *m = NULL;
	char want[PATH_MAX + 128];

	faults("{\"garbage\": 1}");
	ck_assert_int_eq(k8s_podres_get(&o, "ns1", "p1", "uid-1", &m, &err), -1);
	ck_assert_uint_eq(err.code, 6);
	snprintf(want, sizeof(want),
		 "kubelet pod-resources Get (%s): reply: not a v1.GetPodResourcesResponse message",
		 sock);
	ck_assert_str_eq(err.msg, want);
	cni_err_clear(&err);
}
END_TEST

START_TEST(oversize_message_is_refused)
{
	struct k8s_podres_opts o = { .socket = sock };
	struct cni_err err = { 0 };
	struct k8s_devmap *m = NULL;

	faults("{\"get\": \"unimplemented\", \"oversize\": 1}");
	ck_assert_int_eq(k8s_podres_get(&o, "ns1", "p1", "uid-1", &m, &err), -1);
	ck_assert_uint_eq(err.code, 6);
	ck_assert_msg(strstr(err.msg, "List (") && strstr(err.msg, "exceeds the 16 MiB limit"),
		      "got \"%s\"", err.msg);
	cni_err_clear(&err);
}
END_TEST

/* A unix socket at path whose peer is no gRPC server: it answers with HTTP/1 text. */
static pid_t garbage_server(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t pid;

	strcpy(sa.sun_path, path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		static const char junk[] =
		    "HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nno\n";
		char buf[4096];

		for (;;) {
			int c = accept(fd, NULL, NULL);

			if (c < 0)
				_exit(0);
			if (read(c, buf, sizeof(buf)) < 0 || write(c, junk, strlen(junk)) < 0)
				_exit(0);
			close(c);
		}
	}
	close(fd);
	return pid;
}

START_TEST(garbage_on_the_wire_is_a_transport_error)
{
	char path[PATH_MAX + 16];
	struct k8s_podres_opts o = { .socket = path, .deadline_ms = 3000 };
	struct cni_err err = { 0 };
	struct k8s_devmap *m = NULL;
	struct timespec t0;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/junk.sock", dir);
	pid = garbage_server(path);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(k8s_podres_get(&o, "ns1", "p1", "uid-1", &m, &err), -1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink(path);
	ck_assert_int_lt(elapsed_ms(&t0), 2500);
	ck_assert_uint_eq(err.code, 5);
	ck_assert_msg(strncmp(err.msg, "kubelet pod-resources Get (", 27) == 0, "got \"%s\"",
		      err.msg);
	cni_err_clear(&err);
}
END_TEST

START_TEST(socket_without_a_listener_is_retried_then_given_up)
{
	char path[PATH_MAX + 16];
	struct k8s_podres_opts o = { .socket = path, .backoff_ms = 10, .max_attempts = 3 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct cni_err err = { 0 };
	struct k8s_devmap *m = NULL;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	/* A socket file left by a kubelet that is not running: no checkpoint fallback. */
	snprintf(path, sizeof(path), "%s/stale.sock", dir);
	strcpy(sa.sun_path, path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	ck_assert_int_eq(k8s_podres_get(&o, "ns1", "p1", "uid-1", &m, &err), -1);
	unlink(path);
	ck_assert_uint_eq(err.code, 11);
	ck_assert_msg(strstr(err.msg, "(gave up after 3 attempts in"), "got \"%s\"", err.msg);
	cni_err_clear(&err);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("k8s_podresources");
	TCase *lazy = tcase_create("lazy");
	TCase *pure = tcase_create("checkpoint and decoding");
	TCase *tc = tcase_create("stand-in");

	tcase_add_test(lazy, checkpoint_fallback_never_loads_curl);
	suite_add_tcase(s, lazy);
	tcase_add_test(pure, missing_socket_falls_back_to_the_checkpoint_numa_map);
	tcase_add_test(pure, missing_socket_falls_back_to_the_checkpoint_id_list);
	tcase_add_test(pure, checkpoint_needs_the_pod_uid);
	tcase_add_test(pure, missing_socket_and_checkpoint_names_the_checkpoint);
	tcase_add_test(pure, malformed_checkpoints_are_decode_errors);
	tcase_add_test(pure, checkpoint_of_other_pods_gives_an_empty_map);
	tcase_add_test(pure, decode_keeps_the_pod_and_sorts);
	tcase_add_test(pure, decode_refuses_bad_framing_and_other_pods);
	tcase_add_test(pure, decode_keys_dynamic_resources_by_claim_name);
	tcase_add_test(pure, kth_attachment_of_a_resource_gets_the_kth_id);
	tcase_add_test(pure, not_enough_devices_names_the_resource_and_the_network);
	suite_add_tcase(s, pure);
	tcase_add_unchecked_fixture(tc, standin_start, standin_stop);
	tcase_add_checked_fixture(tc, reset, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, get_returns_the_pods_devices_sorted_over_all_containers);
	tcase_add_test(tc, list_is_used_when_get_is_unimplemented);
	tcase_add_test(tc, list_is_used_when_the_get_feature_gate_is_off);
	tcase_add_test(tc, pod_without_devices_gives_an_empty_map);
	tcase_add_test(tc, unknown_pod_reports_kubelets_message);
	tcase_add_test(tc, unavailable_and_resource_exhausted_are_retried);
	tcase_add_test(tc, retries_give_up_after_max_attempts_with_code_11);
	tcase_add_test(tc, retries_stop_at_the_deadline);
	tcase_add_test(tc, slow_reply_past_the_deadline_fails_in_time);
	tcase_add_test(tc, garbage_message_is_a_decode_error);
	tcase_add_test(tc, oversize_message_is_refused);
	tcase_add_test(tc, garbage_on_the_wire_is_a_transport_error);
	tcase_add_test(tc, socket_without_a_listener_is_retried_then_given_up);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(suite)
