/* meta/plugin.h: bin/plexus as a CNI plugin: the verbs cni/skel dispatches when a runtime runs
 * it (ADD and DEL in meta/plugin.c, CHECK and STATUS in meta/check.c, GC in meta/gc.c). */
#ifndef PLEXUS_META_PLUGIN_H
#define PLEXUS_META_PLUGIN_H

#include "cni/skel.h"

/* The versions plexus speaks (0.1.0 ... 1.1.0) and its verbs, for cni_skel_run(). */
extern const struct cni_plugin meta_plugin;

#endif
