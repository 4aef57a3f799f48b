/* meta/events.h: the Kubernetes events Multus sends about a pod's attachments, built from the
 * plan and the delegates' results. Follows Multus pkg/multus/multus.go delegateAdd (a Normal
 * event "AddedInterface", "Add <ifname> [<ip/prefix> ...] from <network>", per attachment). */
#ifndef PLEXUS_META_EVENTS_H
#define PLEXUS_META_EVENTS_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "k8s/api.h"
#include "meta/plan.h"

/* The message Multus writes for attachment a once its delegate returned result:
 * "Add <ifname> [<ips>] from <status name>" (ips as in the result, "ip/prefix", separated by
 * spaces, as Go prints a []string). NULL when no event is due (a result with neither interfaces
 * nor IPs) or out of memory. malloc'd. */
char *meta_added_interface_message(const struct meta_attachment *a, const cJSON *result);

/* Every AddedInterface event of an ADD, as data that outlives plan and results: an array of
 * {"type":"Normal","reason":"AddedInterface","message":...} in plan order (results[i] NULL:
 * none for i). Built in microseconds, so a daemon builds it in the ADD and sends it later
 * (meta_events_post) off the ADD's path. NULL out of memory. */
cJSON *meta_added_interface_events(const struct meta_plan *plan, cJSON *const *results);

/* The k8s_event of o, one element of what meta_added_interface_events builds, about the pod
 * namespace/name/uid (uid "" or NULL: none); its strings are borrowed from o and the names. */
struct k8s_event meta_event_of(const cJSON *o, const char *namespace, const char *name,
			       const char *uid);

/* Posts each event of events (as meta_added_interface_events builds them) about the pod
 * namespace/name/uid (uid may be ""), one attempt each; a failure is logged, never returned:
 * an event never fails an ADD. */
void meta_events_post(struct k8s_client *client, const char *namespace, const char *name,
		      const char *uid, const cJSON *events);

/* Where a host process that serves many ADDs (plexusd) wants the events of each: called from
 * the ADD once its delegates succeeded and network-status is written, with events as
 * meta_added_interface_events builds them (owned by the sink from then on) and the pod named
 * as for meta_events_post (strings borrowed for the call). It must not block: it queues and
 * returns, and the host posts them after the ADD's reply, off the ADD's latency. */
typedef void (*meta_events_sink_fn)(const char *namespace, const char *name, const char *uid,
				    cJSON *events, void *arg);

/* Installs sink (NULL removes it) with its arg, once at startup before any ADD runs (it is read
 * without a lock). With a sink every ADD that has its pod hands it its events, whatever the
 * netconf's addedInterfaceEvents says (thick mode: always, as Multus's daemon); without one
 * (bin/plexus) the ADD posts them itself, and only when addedInterfaceEvents is true. */
void meta_events_set_sink(meta_events_sink_fn sink, void *arg);

/* The ADD's way out for its events: to the sink when one is installed, else posted now
 * through client when asked is true; dropped (freed) otherwise. Takes ownership of events. */
void meta_events_emit(struct k8s_client *client, const char *namespace, const char *name,
		      const char *uid, cJSON *events, bool asked);

#endif
