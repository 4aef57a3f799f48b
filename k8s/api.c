/* k8s/api.c: the Kubernetes objects plexus reads and writes (pods, NADs, ResourceClaims and
 * ResourceSlices, the pod's annotations, events), each one request over k8s/client's
 * k8s_request. Follows Multus pkg/k8sclient/k8sclient.go (GetPod, getKubernetesDelegate,
 * SetNetworkStatus) with a merge patch instead of its PUT. */
#include "k8s/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cni/json.h"
#include "cni/log.h"

bool k8s_valid_subdomain(const char *s)
{
	size_t n = s ? strlen(s) : 0, label = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

		if (ch == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!alnum && ch != '-')
			return false;
		if (label == 0 && !alnum)
			return false;
		label++;
	}
	return label > 0 && s[n - 1] != '-';
}

static int check_names(const char *kind, const char *ns, const char *name, struct cni_err *err)
{
	if (!k8s_valid_subdomain(ns))
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "%s: namespace \"%.64s\" is not a valid Kubernetes name", kind,
				   ns ? ns : "");
	if (!k8s_valid_subdomain(name))
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "%s: name \"%.64s\" is not a valid Kubernetes name", kind,
				   name ? name : "");
	return 0;
}

/* GET path (owned: freed here) -> *obj, an object; what names it in messages. */
static int get_path(struct k8s_client *c, char *path, const char *what, cJSON **obj,
		    struct cni_err *err)
{
	int ret = k8s_request(c, "GET", path, what, NULL, NULL, true, obj, err);

	if (ret == 0 && !*obj)
		ret = cni_err_set(err, CNI_ERR_IO, "GET %s: empty reply", what);
	free(path);
	return ret;
}

/* GET <api>/namespaces/<ns>/<kind>/<name>. */
static int get_object(struct k8s_client *c, const char *api, const char *kind, const char *ns,
		      const char *name, cJSON **obj, struct cni_err *err)
{
	char *path = NULL, *what = NULL;
	int ret;

	*obj = NULL;
	if (check_names(kind, ns, name, err) < 0)
		return -1;
	if (asprintf(&path, "%s/namespaces/%s/%s/%s", api, ns, kind, name) < 0 ||
	    asprintf(&what, "%s/%s/%s", kind, ns, name) < 0) {
		free(path);
		return cni_err_oom(err);
	}
	ret = get_path(c, path, what, obj, err);
	free(what);
	return ret;
}

int k8s_get_pod(struct k8s_client *c, const char *ns, const char *name, cJSON **pod,
		struct cni_err *err)
{
	return get_object(c, "/api/v1", "pods", ns, name, pod, err);
}

int k8s_get_nad(struct k8s_client *c, const char *ns, const char *name, cJSON **nad,
		struct cni_err *err)
{
	return get_object(c, "/apis/k8s.cni.cncf.io/v1", "network-attachment-definitions", ns, name,
			  nad, err);
}

int k8s_get_resource_claim(struct k8s_client *c, const char *ns, const char *name, cJSON **claim,
			   struct cni_err *err)
{
	return get_object(c, "/apis/resource.k8s.io/v1", "resourceclaims", ns, name, claim, err);
}

int k8s_list_resource_slices(struct k8s_client *c, const char *node, const char *driver,
			     cJSON **list, struct cni_err *err)
{
	char *path = NULL, *what = NULL;
	int ret;

	*list = NULL;
	if (!k8s_valid_subdomain(node) || !k8s_valid_subdomain(driver))
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "resourceslices: node \"%.64s\" or driver \"%.64s\" is not a "
				   "valid Kubernetes name",
				   node ? node : "", driver ? driver : "");
	/* DNS-1123 subdomains need no escaping; the selector's '=' and ',' are escaped */
	if (asprintf(&path,
		     "/apis/resource.k8s.io/v1/resourceslices?fieldSelector=spec.nodeName%%3D%s"
		     "%%2Cspec.driver%%3D%s",
		     node, driver) < 0 ||
	    asprintf(&what, "resourceslices (node %s, driver %s)", node, driver) < 0) {
		free(path);
		return cni_err_oom(err);
	}
	ret = get_path(c, path, what, list, err);
	free(what);
	return ret;
}

int k8s_patch_pod_annotations(struct k8s_client *c, const char *ns, const char *name,
			      const cJSON *annotations, struct cni_err *err)
{
	cJSON *patch = NULL, *meta, *copy;
	char *path = NULL, *what = NULL, *body = NULL;
	const cJSON *a;
	int ret = -1;

	if (check_names("pods", ns, name, err) < 0)
		return -1;
	if (!cJSON_IsObject(annotations))
		return cni_err_set(err, CNI_ERR_INVALID_CONFIG,
				   "PATCH pods/%s/%s: annotations must be an object", ns, name);
	cJSON_ArrayForEach(a, annotations)
	{
		if (!cJSON_IsString(a) && !cJSON_IsNull(a))
			return cni_err_set(
			    err, CNI_ERR_INVALID_CONFIG,
			    "PATCH pods/%s/%s: annotation \"%s\" must be a string or "
			    "null",
			    ns, name, a->string);
	}
	patch = cJSON_CreateObject();
	meta = cJSON_AddObjectToObject(patch, "metadata");
	copy = cJSON_Duplicate(annotations, 1);
	if (!meta || !copy || !cJSON_AddItemToObject(meta, "annotations", copy)) {
		cJSON_Delete(copy);
		goto oom;
	}
	body = cni_json_print_go(patch, false);
	if (!body || asprintf(&path, "/api/v1/namespaces/%s/pods/%s/status", ns, name) < 0 ||
	    asprintf(&what, "pods/%s/%s/status", ns, name) < 0)
		goto oom;
	ret = k8s_request(c, "PATCH", path, what, "application/merge-patch+json", body, true, NULL,
			  err);
	goto out;
oom:
	cni_err_oom(err);
out:
	cJSON_Delete(patch);
	free(body);
	free(path);
	free(what);
	return ret;
}

int k8s_post_event(struct k8s_client *c, const struct k8s_event *ev, struct cni_err *err)
{
	struct timespec ts;
	char stamp[CNI_RFC3339_MAX], *name = NULL, *path = NULL, *body = NULL;
	const char *component = ev->component ? ev->component : "plexus";
	cJSON *e = NULL, *meta, *inv, *src;
	int ret = -1;

	if (check_names("events", ev->namespace, ev->pod_name, err) < 0)
		return -1;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (!cni_rfc3339(ts.tv_sec, -1, stamp))
		return cni_err_set(err, CNI_ERR_INTERNAL, "event: the clock cannot be read");
	/* client-go's recorder names events <object>.<unix nanoseconds in hex>. */
	if (asprintf(&name, "%s.%llx", ev->pod_name,
		     (unsigned long long)ts.tv_sec * 1000000000ull +
			 (unsigned long long)ts.tv_nsec) < 0 ||
	    asprintf(&path, "/api/v1/namespaces/%s/events", ev->namespace) < 0) {
		name = path = NULL;
		goto oom;
	}
	e = cJSON_CreateObject();
	if (!e || !cJSON_AddStringToObject(e, "apiVersion", "v1") ||
	    !cJSON_AddStringToObject(e, "kind", "Event") ||
	    !(meta = cJSON_AddObjectToObject(e, "metadata")) ||
	    !cJSON_AddStringToObject(meta, "name", name) ||
	    !cJSON_AddStringToObject(meta, "namespace", ev->namespace) ||
	    !(inv = cJSON_AddObjectToObject(e, "involvedObject")) ||
	    !cJSON_AddStringToObject(inv, "apiVersion", "v1") ||
	    !cJSON_AddStringToObject(inv, "kind", "Pod") ||
	    !cJSON_AddStringToObject(inv, "name", ev->pod_name) ||
	    !cJSON_AddStringToObject(inv, "namespace", ev->namespace) ||
	    (ev->pod_uid && ev->pod_uid[0] && !cJSON_AddStringToObject(inv, "uid", ev->pod_uid)) ||
	    !cJSON_AddStringToObject(e, "reason", ev->reason ? ev->reason : "") ||
	    !cJSON_AddStringToObject(e, "message", ev->message ? ev->message : "") ||
	    !cJSON_AddStringToObject(e, "type", ev->type ? ev->type : "Normal") ||
	    !(src = cJSON_AddObjectToObject(e, "source")) ||
	    !cJSON_AddStringToObject(src, "component", component) ||
	    !cJSON_AddStringToObject(e, "firstTimestamp", stamp) ||
	    !cJSON_AddStringToObject(e, "lastTimestamp", stamp) ||
	    !cJSON_AddNumberToObject(e, "count", 1) ||
	    !cJSON_AddStringToObject(e, "reportingComponent", component))
		goto oom;
	body = cni_json_print_go(e, false);
	if (!body)
		goto oom;
	ret = k8s_request(c, "POST", path, "events", "application/json", body, false, NULL, err);
	goto out;
oom:
	cni_err_oom(err);
out:
	cJSON_Delete(e);
	free(name);
	free(path);
	free(body);
	return ret;
}
