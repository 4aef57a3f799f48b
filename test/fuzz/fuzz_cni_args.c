/* test/fuzz/fuzz_cni_args.c: libFuzzer harness: CNI_ARGS parsing, names validation and the
 * Go-compatible JSON printer over whatever cJSON accepts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cni/json.h"
#include "cni/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const known[] = { "IP", "K8S_POD_NAME", NULL };
	struct cni_err err = { 0 };
	struct cni_args args;
	char *text = malloc(size + 1);
	cJSON *j;

	if (!text)
		return 0;
	__builtin_memcpy(text, data, size);
	text[size] = '\0';
	if (cni_args_parse(text, &args, &err) == 0) {
		(void)cni_args_check_known(&args, known, &err);
		cni_args_free(&args);
	}
	cni_err_clear(&err);
	(void)cni_validate_ifname(text, &err);
	cni_err_clear(&err);
	(void)cni_validate_container_id(text, &err);
	cni_err_clear(&err);
	j = cni_json_parse((const char *)data, size, "fuzz", &err);
	if (j) {
		char *a = cni_json_print_go(j, true), *b = cni_json_print_conf(j);
		cJSON *again = a ? cJSON_Parse(a) : NULL;

		if (a && !again)
			abort(); /* what we print must be JSON */
		cJSON_Delete(again);
		free(a);
		free(b);
		cJSON_Delete(j);
	}
	cni_err_clear(&err);
	free(text);
	return 0;
}
