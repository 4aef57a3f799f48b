/* meta/events.c: AddedInterface events, built from the results and posted best effort.
 * Follows Multus pkg/multus/multus.go delegateAdd (kubeClient.Eventf with "Add %s %v from %s";
 * the IPs of the result converted to the current version, each ip.Address.String()). */
#include "meta/events.h"

#include <stdlib.h>
#include <string.h>

#include "cni/buf.h"
#include "cni/log.h"
#include "cni/result.h"

char *meta_added_interface_message(const struct meta_attachment *a, const cJSON *result)
{
	struct cni_err e = { 0 };
	cJSON *cur = cni_result_convert(result, "1.0.0", &e);
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(cur, "ips"), *ip;
	const cJSON *ifs = cJSON_GetObjectItemCaseSensitive(cur, "interfaces");
	const char *from = a->status_name ? a->status_name : a->network;
	struct cni_buf b;
	bool first = true;
	int st;

	cni_err_clear(&e);
	if (!cur ||
	    ((!cJSON_IsArray(ifs) || !ifs->child) && (!cJSON_IsArray(ips) || !ips->child))) {
		cJSON_Delete(cur);
		return NULL;
	}
	cni_buf_init(&b, 1u << 20, false);
	st = cni_buf_printf(&b, "Add %s [", a->ifname);
	cJSON_ArrayForEach(ip, ips)
	{
		const cJSON *addr = cJSON_GetObjectItemCaseSensitive(ip, "address");

		if (!cJSON_IsString(addr))
			continue;
		st |= cni_buf_printf(&b, "%s%s", first ? "" : " ", addr->valuestring);
		first = false;
	}
	st |= cni_buf_printf(&b, "]");
	if (from && *from)
		st |= cni_buf_printf(&b, " from %s", from);
	cJSON_Delete(cur);
	/* a failed append sticks in b: take then gives NULL */
	(void)st;
	return cni_buf_take(&b, NULL);
}

cJSON *meta_added_interface_events(const struct meta_plan *plan, cJSON *const *results)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr && i < plan->n; i++) {
		char *msg =
		    results[i] ? meta_added_interface_message(&plan->att[i], results[i]) : NULL;
		cJSON *o;

		if (!msg)
			continue;
		o = cJSON_CreateObject();
		if (!cJSON_AddItemToArray(arr, o) ||
		    !cJSON_AddStringToObject(o, "type", "Normal") ||
		    !cJSON_AddStringToObject(o, "reason", "AddedInterface") ||
		    !cJSON_AddStringToObject(o, "message", msg)) {
			cJSON_Delete(arr);
			arr = NULL;
		}
		free(msg);
	}
	return arr;
}

struct k8s_event meta_event_of(const cJSON *o, const char *namespace, const char *name,
			       const char *uid)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(o, "reason");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(o, "message");

	return (struct k8s_event){
		.namespace = namespace,
		.pod_name = name,
		.pod_uid = uid && *uid ? uid : NULL,
		.type = cJSON_IsString(type) ? type->valuestring : "Normal",
		.reason = cJSON_IsString(reason) ? reason->valuestring : "",
		.message = cJSON_IsString(msg) ? msg->valuestring : "",
	};
}

void meta_events_post(struct k8s_client *client, const char *namespace, const char *name,
		      const char *uid, const cJSON *events)
{
	const cJSON *o;

	if (!client || !namespace || !*namespace || !name || !*name)
		return;
	cJSON_ArrayForEach(o, events)
	{
		struct k8s_event ev = meta_event_of(o, namespace, name, uid);
		struct cni_err e = { 0 };

		if (k8s_post_event(client, &ev, &e) < 0)
			log_error("event %s not sent: %s", ev.reason, e.msg);
		cni_err_clear(&e);
	}
}

static meta_events_sink_fn sink;
static void *sink_arg;

void meta_events_set_sink(meta_events_sink_fn fn, void *arg)
{
	sink = fn;
	sink_arg = arg;
}

void meta_events_emit(struct k8s_client *client, const char *namespace, const char *name,
		      const char *uid, cJSON *events, bool asked)
{
	if (!events)
		return;
	if (sink) {
		sink(namespace, name, uid, events, sink_arg);
		return;
	}
	if (asked)
		meta_events_post(client, namespace, name, uid, events);
	cJSON_Delete(events);
}
