/* test/unit/unit_devmap.h: a device map (k8s/podresources.h) as one line for assertions, shared
 * by the suites that build maps: "res=id,id;res=id". */
#ifndef PLEXUS_TEST_UNIT_DEVMAP_H
#define PLEXUS_TEST_UNIT_DEVMAP_H

#include <stdio.h>
#include <string.h>

#include "k8s/podresources.h"

/* The map's resources and IDs in their order; a static buffer, valid until the next call. */
static inline const char *unit_devmap_dump(const struct k8s_devmap *m)
{
	static char out[4096];

	out[0] = '\0';
	for (size_t i = 0; i < m->n; i++) {
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s=", i ? ";" : "",
			 m->res[i].resource);
		for (size_t j = 0; j < m->res[i].nids; j++)
			snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", j ? "," : "",
				 m->res[i].ids[j]);
	}
	return out;
}

#endif
