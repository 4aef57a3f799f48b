/* ops/validate.h: `plexus validate`: a netconf, NADs and a pod checked offline by the code ADD
 * runs (netconf parser, NAD conversion, annotation parser, attachment plan), nothing executed. */
#ifndef PLEXUS_OPS_VALIDATE_H
#define PLEXUS_OPS_VALIDATE_H

#include <stdio.h>

#include "cni/err.h"

/* `plexus validate ARGS`: argv[0] is "validate". Returns the exit status (0 valid, 1 invalid,
 * 2 usage). */
int ops_validate_cmd(int argc, char **argv) CNI_MUST_CHECK;
void ops_validate_usage(FILE *out);

#endif
