/* meta/version.h: the one place the release number lives (--version of both plugins' CLI).
 * PLEXUS_GIT_DESCRIBE may come from the compiler command line; a tarball build has none. */
#ifndef PLEXUS_META_VERSION_H
#define PLEXUS_META_VERSION_H

#define PLEXUS_VERSION "0.1.0"

#ifndef PLEXUS_GIT_DESCRIBE
#define PLEXUS_GIT_DESCRIBE ""
#endif

#endif
