/* test/fuzz/fuzz_result.c: libFuzzer harness: result parsing and conversion to every version.
 * Invariant: a result that parses converts (or fails cleanly) to every version, and a converted
 * result parses again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cni/result.h"
#include "cni/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_err err = { 0 };
	char *text = malloc(size + 1);
	cJSON *res;

	if (!text)
		return 0;
	__builtin_memcpy(text, data, size);
	text[size] = '\0';
	res = cni_result_parse(text, "1.0.0", &err);
	cni_err_clear(&err);
	for (size_t i = 0; res && i < cni_nversions; i++) {
		cJSON *conv = cni_result_convert(res, cni_versions[i], &err);

		cni_err_clear(&err);
		if (conv) {
			char *again = cJSON_PrintUnformatted(conv);
			cJSON *back = again ? cni_result_parse(again, cni_versions[i], &err) : NULL;

			if (again && !back)
				abort(); /* our own output must parse */
			cni_err_clear(&err);
			cJSON_Delete(back);
			free(again);
			cJSON_Delete(conv);
		}
	}
	cJSON_Delete(res);
	free(text);
	return 0;
}
