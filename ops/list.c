/* ops/list.c: `plexus list`: the caches of <cniDir>/plexus as a table or JSON.
 * Reads only (no locks: caches are replaced atomically); a bad cache is a row, not a crash. */
#include "ops/list.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cni/config.h"
#include "cni/file.h"
#include "cni/json.h"
#include "meta/netconf.h"
#include "meta/plan.h"
#include "ops/cli.h"

#define SHORT_ID 12

/* An empty field is shown as an absent one. Returns 0 or -1 out of memory. */
static int add_shown(cJSON *o, const char *key, const char *value)
{
	return cni_json_add_opt_string(o, key, value && *value ? value : NULL);
}

static cJSON *attachment_json(const struct meta_attachment *a)
{
	cJSON *o = cJSON_CreateObject(), *types = cJSON_CreateArray();
	struct cni_conflist list;
	struct cni_err err = { 0 };

	if (!o || !types) {
		cJSON_Delete(o);
		cJSON_Delete(types);
		return NULL;
	}
	cJSON_AddStringToObject(o, "ifname", a->ifname);
	cJSON_AddStringToObject(o, "network", a->network);
	if (add_shown(o, "statusName", a->status_name) < 0) {
		cJSON_Delete(o);
		cJSON_Delete(types);
		return NULL;
	}
	cJSON_AddBoolToObject(o, "master", a->master);
	if (cni_conflist_parse(a->config, a->config_len, &list, &err) == 0) {
		for (size_t k = 0; k < list.nplugins; k++)
			cJSON_AddItemToArray(types,
					     cJSON_CreateString(cni_plugin_type(list.plugins[k])));
		cni_conflist_free(&list);
	} else {
		cJSON_AddStringToObject(o, "error", err.msg);
	}
	cni_err_clear(&err);
	cJSON_AddItemToObject(o, "types", types);
	if (add_shown(o, "deviceID", a->device_id) < 0 ||
	    add_shown(o, "resourceName", a->resource_name) < 0 ||
	    add_shown(o, "deviceInfoFile", a->devinfo_file) < 0 ||
	    add_shown(o, "origin", a->origin) < 0 || add_shown(o, "added", a->added) < 0 ||
	    (a->pending && !cJSON_AddBoolToObject(o, "pending", true))) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *container_json(const char *dir, const char *name)
{
	struct meta_plan plan = { 0 };
	struct cni_err err = { 0 };
	cJSON *o = cJSON_CreateObject(), *atts;
	char *path = NULL;
	int found;

	if (!o || asprintf(&path, "%s/%s", dir, name) < 0) {
		cJSON_Delete(o);
		return NULL;
	}
	cJSON_AddStringToObject(o, "containerID", name);
	cJSON_AddStringToObject(o, "file", path);
	found = meta_plan_load(path, &plan, &err);
	if (found == 0) {
		/* deleted by a DEL since the directory was read: not attached any more */
		cJSON_Delete(o);
		o = NULL;
	}
	if (found <= 0)
		goto out;
	if (add_shown(o, "podNamespace", plan.pod_namespace) < 0 ||
	    add_shown(o, "podName", plan.pod_name) < 0 ||
	    add_shown(o, "podUID", plan.pod_uid) < 0 ||
	    add_shown(o, "sandboxID", plan.sandbox_id) < 0 ||
	    add_shown(o, "netns", plan.netns) < 0 || add_shown(o, "ifname", plan.ifname) < 0 ||
	    add_shown(o, "cniVersion", plan.cni_version) < 0) {
		cni_err_oom(&err);
		goto out;
	}
	atts = cJSON_AddArrayToObject(o, "attachments");
	for (size_t i = 0; atts && i < plan.n; i++)
		cJSON_AddItemToArray(atts, attachment_json(&plan.att[i]));
out:
	if (o && cni_err_isset(&err))
		cJSON_AddStringToObject(o, "error", err.msg);
	cni_err_clear(&err);
	meta_plan_free(&plan);
	free(path);
	return o;
}

cJSON *ops_list_collect(const char *cni_dir, struct cni_err *err)
{
	char **names = NULL, *dir = NULL;
	cJSON *doc = NULL, *arr;
	int n;

	if (!(dir = meta_plan_dir(cni_dir))) {
		cni_err_oom(err);
		return NULL;
	}
	n = meta_plan_names(dir, &names, err);
	if (n < 0)
		goto out;
	doc = cJSON_CreateObject();
	arr = doc ? cJSON_AddArrayToObject(doc, "containers") : NULL;
	if (!arr) {
		cJSON_Delete(doc);
		doc = NULL;
		cni_err_oom(err);
	}
	for (int i = 0; arr && i < n; i++) {
		cJSON *c = container_json(dir, names[i]);

		if (c)
			cJSON_AddItemToArray(arr, c);
	}
	meta_plan_names_free(names, n);
out:
	free(dir);
	return doc;
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) && *v->valuestring ? v->valuestring : "-";
}

#define NCOLS 8

struct table {
	char *(*rows)[NCOLS];
	size_t n;
	int width[NCOLS];
};

/* Takes ownership of the strings. A row's last cell is not padded, so it does not widen its
 * column (an error message spans the rest of the row). */
static void table_row(struct table *t, char *cells[NCOLS])
{
	char *(*g)[NCOLS] = realloc(t->rows, (t->n + 1) * sizeof(*t->rows));
	int last = NCOLS - 1;

	if (!g) {
		for (int c = 0; c < NCOLS; c++)
			free(cells[c]);
		return;
	}
	t->rows = g;
	while (last > 0 && !cells[last])
		last--;
	for (int c = 0; c < NCOLS; c++) {
		int w;

		t->rows[t->n][c] = cells[c];
		w = c < last && cells[c] ? (int)strlen(cells[c]) : 0;
		if (w > t->width[c])
			t->width[c] = w;
	}
	t->n++;
}

static char *join_types(const cJSON *types)
{
	const cJSON *t;
	char *out = NULL;

	cJSON_ArrayForEach(t, types)
	{
		char *next = NULL;

		if (!cJSON_IsString(t))
			continue;
		if (asprintf(&next, "%s%s%s", out ? out : "", out ? "," : "", t->valuestring) < 0)
			break;
		free(out);
		out = next;
	}
	return out ? out : strdup("-");
}

void ops_list_table(const cJSON *doc, bool no_trunc, FILE *out)
{
	static const char *const head[NCOLS] = { "CONTAINER", "POD",  "NETNS",	"IFNAME",
						 "NETWORK",   "TYPE", "DEVICE", "ADDED" };
	struct table t = { 0 };
	const cJSON *c;
	char *cells[NCOLS];

	for (int i = 0; i < NCOLS; i++)
		cells[i] = strdup(head[i]);
	table_row(&t, cells);
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "containers"))
	{
		const cJSON *atts = cJSON_GetObjectItemCaseSensitive(c, "attachments"), *a;
		const char *error =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "error"));
		const char *ns = str(c, "podNamespace"), *pod = str(c, "podName");
		char *id = strdup(str(c, "containerID"));
		bool first = true;

		if (id && !no_trunc && strlen(id) > SHORT_ID)
			id[SHORT_ID] = '\0';
		if (error) {
			cells[0] = id;
			cells[1] = NULL;
			if (asprintf(&cells[2], "(unreadable cache: %s)", error) < 0)
				cells[2] = NULL;
			for (int i = 3; i < NCOLS; i++)
				cells[i] = NULL;
			table_row(&t, cells);
			continue;
		}
		cells[0] = id;
		if (asprintf(&cells[1], "%s/%s", ns, pod) < 0)
			cells[1] = NULL;
		cells[2] = strdup(str(c, "netns"));
		if (!cJSON_GetArraySize(atts)) {
			for (int i = 3; i < NCOLS; i++)
				cells[i] = strdup("-");
			table_row(&t, cells);
			continue;
		}
		cJSON_ArrayForEach(a, atts)
		{
			if (!first)
				cells[0] = cells[1] = cells[2] = NULL;
			first = false;
			cells[3] = strdup(str(a, "ifname"));
			cells[4] = strdup(str(a, "statusName"));
			cells[5] = join_types(cJSON_GetObjectItemCaseSensitive(a, "types"));
			cells[6] = strdup(str(a, "deviceID"));
			/* hot-plugged: when; attached by the pod's ADD: empty */
			cells[7] = cJSON_GetObjectItemCaseSensitive(a, "added")
				       ? strdup(str(a, "added"))
				       : NULL;
			table_row(&t, cells);
		}
	}
	for (size_t r = 0; r < t.n; r++) {
		int last = NCOLS - 1;

		/* no trailing blanks: a row ends at its last non-empty cell */
		while (last > 0 && !t.rows[r][last])
			last--;
		for (int col = 0; col <= last; col++) {
			const char *s = t.rows[r][col] ? t.rows[r][col] : "";

			if (col == last)
				fprintf(out, "%s\n", s);
			else
				fprintf(out, "%-*s  ", t.width[col], s);
			free(t.rows[r][col]);
		}
		for (int col = last + 1; col < NCOLS; col++)
			free(t.rows[r][col]);
	}
	free(t.rows);
}

void ops_list_usage(FILE *out)
{
	fputs("Usage: plexus list [OPTION]...\n"
	      "Show what plexus attached on this node, from its caches (CNI-DIR/plexus/*): each\n"
	      "container with its pod and netns, and per attachment the interface, the network,\n"
	      "the delegate plugin type(s) and the device (VF PCI address).\n"
	      "\n"
	      "  --cni-dir DIR    plexus's cniDir (" META_DEFAULT_CNI_DIR ")\n"
	      "  --json           JSON instead of a table\n"
	      "  --no-trunc       full container IDs in the table\n"
	      "  -h, --help       this help\n"
	      "\n"
	      "A cache that cannot be read is listed with its error. Exit status: 0 listed (also\n"
	      "when a cache is unreadable), 1 the cache dir cannot be read, 2 usage.\n"
	      "See plexus-list(1).\n",
	      out);
}

static const struct option list_options[] = {
	{ "cni-dir", required_argument, NULL, 'd' },
	{ "json", no_argument, NULL, 'j' },
	{ "no-trunc", no_argument, NULL, 'n' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int ops_list_cmd(int argc, char **argv)
{
	const char *cni_dir = META_DEFAULT_CNI_DIR;
	struct cni_err err = { 0 };
	bool json = false, no_trunc = false;
	cJSON *doc;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", list_options, NULL)) != -1) {
		switch (c) {
		case 'd':
			cni_dir = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'n':
			no_trunc = true;
			break;
		case 'h':
			ops_list_usage(stdout);
			return 0;
		default:
			return ops_getopt_error("list", c, argv[optind - 1]);
		}
	}
	if (optind < argc)
		return ops_usage_error("list", "unexpected argument \"%s\"", argv[optind]);
	if (!*cni_dir)
		return ops_usage_error("list", "--cni-dir has an empty value");
	doc = ops_list_collect(cni_dir, &err);
	if (!doc) {
		fprintf(stderr, "plexus list: %s\n", err.msg);
		cni_err_clear(&err);
		return 1;
	}
	if (json) {
		char *text = cJSON_Print(doc);

		if (text)
			puts(text);
		free(text);
	} else {
		ops_list_table(doc, no_trunc, stdout);
	}
	cJSON_Delete(doc);
	return 0;
}
