/* test/fuzz/fuzz_netconf.c: libFuzzer harness: the plexus netconf, conf/conflist loading, the
 * per-plugin stdin derivation, and the plan built from static delegates. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cni/config.h"
#include "meta/netconf.h"
#include "meta/kube.h"
#include "meta/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct meta_k8s_args k8s = { "ns", "pod", "uid", "sb" };
	struct cni_err err = { 0 };
	struct cni_conflist list;
	struct meta_netconf nc;

	if (cni_conflist_parse((const char *)data, size, &list, &err) == 0) {
		for (size_t i = 0; i < list.nplugins; i++)
			free(cni_conflist_plugin_stdin(&list, i, NULL, list.root, NULL, &err));
		cni_conflist_free(&list);
	}
	cni_err_clear(&err);
	if (meta_netconf_parse((const char *)data, size, &nc, &err) == 0) {
		struct meta_plan plan = { 0 };

		plan.ifname = strdup("eth0");
		plan.container_id = strdup("fuzz"); /* a cached plan always names its container */
		if (!nc.cluster_network &&
		    meta_plan_add_static(&plan, &nc, &k8s, NULL, &err) == 0 &&
		    meta_plan_finish(&plan, &nc, "A=1;B=2=3;junk", &k8s, &err) == 0) {
			cJSON *j = meta_plan_to_json(&plan);
			struct meta_plan back;

			if (j && meta_plan_from_json(j, &back, &err) != 0)
				abort(); /* our own cache must read back */
			meta_plan_free(&back);
			cJSON_Delete(j);
		}
		meta_plan_free(&plan);
		meta_netconf_free(&nc);
	}
	cni_err_clear(&err);
	return 0;
}
