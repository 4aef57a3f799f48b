/* sriov/state.c: the per-attachment state file, the allocation record and the per-VF lock.
 * Follows sriov-cni pkg/config LoadConfFromCache, pkg/utils/pci_allocator.go; saved first. */
#include "sriov/state.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "cni/file.h"
#include "cni/json.h"
#include "cni/lock.h"
#include "cni/netns.h"
#include "sriov/conf.h"
#include "sriov/pci.h"

#define STATE_MAX (1u << 20)

char *sriov_state_path(const char *dir, const char *container_id, const char *ifname)
{
	char *p;

	return asprintf(&p, "%s/%s-%s", dir, container_id, ifname) < 0 ? NULL : p;
}

/* The state and the record are written and removed alike: these take the path (and the text) over;
 * NULL for either is an allocation that failed. */
static int write_owned(char *path, char *text, struct cni_err *err)
{
	int r = path && text
		    ? cni_write_atomic(path, text, strlen(text), 0600, CNI_WRITE_SHARED, err)
		    : cni_err_oom(err);

	free(path);
	free(text);
	return r;
}

static int remove_owned(char *path, struct cni_err *err)
{
	int r = path ? cni_remove_file(path, err) : cni_err_oom(err);

	free(path);
	return r;
}

int sriov_state_dirs(const char *dir, struct cni_err *err)
{
	char *lock_dir;
	int r;

	if (asprintf(&lock_dir, "%s/pci/vf_lock", dir) < 0)
		return cni_err_oom(err);
	r = cni_mkdir_p(lock_dir, 0700, err);
	free(lock_dir);
	return r;
}

int sriov_state_save(const char *dir, const struct sriov_state *st, struct cni_err *err)
{
	char *path = sriov_state_path(dir, st->container_id, st->ifname);

	return write_owned(path, sriov_state_to_json(st), err);
}

int sriov_state_load_path(const char *path, struct sriov_state *st, struct cni_err *err)
{
	size_t len;
	char *text = cni_read_file(path, STATE_MAX, CNI_FILE_NOFOLLOW, &len, err);
	int r;

	memset(st, 0, sizeof(*st));
	if (!text)
		return errno == ENOENT && !cni_err_isset(err) ? 0 : -1;
	r = sriov_state_from_json(text, st, err);
	free(text);
	if (r < 0)
		return cni_err_prefix(err, "%s", path);
	return 1;
}

int sriov_state_load(const char *dir, const char *container_id, const char *ifname,
		     struct sriov_state *st, struct cni_err *err)
{
	char *path = sriov_state_path(dir, container_id, ifname);
	int r = path ? sriov_state_load_path(path, st, err) : cni_err_oom(err);

	free(path);
	return r;
}

int sriov_state_remove(const char *dir, const char *container_id, const char *ifname,
		       struct cni_err *err)
{
	return remove_owned(sriov_state_path(dir, container_id, ifname), err);
}

int sriov_state_list(const char *dir, char ***paths, size_t *n, struct cni_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;

	*paths = NULL;
	*n = 0;
	if (!d)
		return errno == ENOENT
			   ? 0
			   : cni_err_set(err, CNI_ERR_IO, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		char *p;

		if (e->d_type != DT_REG || !strchr(e->d_name, '-') || e->d_name[0] == '.')
			continue;
		if (*n == cap) {
			char **grown = realloc(*paths, (cap = cap ? cap * 2 : 8) * sizeof(**paths));

			if (!grown)
				goto oom;
			*paths = grown;
		}
		if (asprintf(&p, "%s/%s", dir, e->d_name) < 0)
			goto oom;
		(*paths)[(*n)++] = p;
	}
	closedir(d);
	return 0;
oom:
	closedir(d);
	sriov_state_paths_free(*paths, *n);
	*paths = NULL;
	*n = 0;
	return cni_err_oom(err);
}

void sriov_state_paths_free(char **paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

void sriov_state_free(struct sriov_state *st)
{
	free(st->container_id);
	free(st->ifname);
	free(st->netns);
	free(st->network);
	free(st->device_id);
	free(st->pf_name);
	free(st->device_info_file);
	free(st->cni_version);
	free(st->ipam_type);
	memset(st, 0, sizeof(*st));
}

int sriov_alloc_lock(const char *dir, const char *pci, int timeout_ms, struct cni_err *err)
{
	char *path;
	int fd;

	if (asprintf(&path, "%s/pci/vf_lock/%s.lock", dir, pci) < 0)
		return cni_err_oom(err);
	fd = cni_lock(path, timeout_ms, false, err);
	if (fd < 0 && err->code == CNI_ERR_TRY_AGAIN)
		/* sriov-cni's words for the busy case, which users may match on */
		cni_err_set(err, CNI_ERR_TRY_AGAIN,
			    "time out while waiting to acquire exclusive lock on [%s]", path);
	free(path);
	return fd;
}

static char *alloc_path(const char *dir, const char *pci)
{
	char *p;

	return asprintf(&p, "%s/pci/%s", dir, pci) < 0 ? NULL : p;
}

/* Beside the record, in a file sriov-cni never opens: who holds the VF. */
static char *owner_path(const char *dir, const char *pci)
{
	char *p;

	return asprintf(&p, "%s/pci/%s" SRIOV_ALLOC_OWNER_SUFFIX, dir, pci) < 0 ? NULL : p;
}

/* Reads path whole; NULL with err unset when it does not exist. */
static char *read_opt(char *path, struct cni_err *err)
{
	size_t len;
	char *text = path ? cni_read_file(path, STATE_MAX, CNI_FILE_NOFOLLOW, &len, err) : NULL;

	if (!path)
		cni_err_oom(err);
	free(path);
	return text;
}

/* {"netns","containerID","ifname"}: the owner file, and the record of earlier releases. */
static char *owner_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

static void rd_owner(const cJSON *o, struct sriov_alloc *a)
{
	a->netns = owner_str(o, "netns");
	a->container_id = owner_str(o, "containerID");
	a->ifname = owner_str(o, "ifname");
}

int sriov_alloc_read(const char *dir, const char *pci, struct sriov_alloc *a, struct cni_err *err)
{
	char *text, *owner_text;
	cJSON *o, *owner;
	struct sriov_alloc own = { 0 };

	memset(a, 0, sizeof(*a));
	text = read_opt(alloc_path(dir, pci), err);
	if (!text)
		return errno == ENOENT && !cni_err_isset(err) ? 0 : -1;
	o = cJSON_Parse(text);
	if (cJSON_IsObject(o)) {
		rd_owner(o, a); /* a record bin/sriov wrote before it wrote sriov-cni's */
		goto out;
	}
	/* sriov-cni's record (pkg/utils/pci_allocator.go SaveAllocatedPCI): the netns path alone */
	text[strcspn(text, "\n")] = '\0';
	a->netns = strdup(text);
	owner_text = read_opt(owner_path(dir, pci), err);
	if (!owner_text && cni_err_isset(err)) {
		sriov_alloc_free(a);
		free(text);
		return -1;
	}
	owner = owner_text ? cJSON_Parse(owner_text) : NULL;
	if (cJSON_IsObject(owner))
		rd_owner(owner, &own);
	/* An owner left behind by a record sriov-cni has since rewritten is not this one's. */
	if (own.netns && a->netns && strcmp(own.netns, a->netns) == 0) {
		a->container_id = own.container_id;
		a->ifname = own.ifname;
		own.container_id = own.ifname = NULL;
	}
	sriov_alloc_free(&own);
	cJSON_Delete(owner);
	free(owner_text);
out:
	cJSON_Delete(o);
	free(text);
	return 1;
}

void sriov_alloc_free(struct sriov_alloc *a)
{
	free(a->netns);
	free(a->container_id);
	free(a->ifname);
	memset(a, 0, sizeof(*a));
}

int sriov_alloc_check(const char *dir, const char *pci, struct cni_err *err)
{
	struct sriov_alloc a;
	int r = sriov_alloc_read(dir, pci, &a, err);

	if (r <= 0)
		return r;
	if (a.netns && cni_netns_exists(a.netns)) {
		cni_err_set(err, CNI_ERR_TRY_AGAIN, "pci address %s is already allocated", pci);
		cni_err_details(err, "held by container %s (netns %s)",
				a.container_id ? a.container_id : "(unknown)", a.netns);
		sriov_alloc_free(&a);
		return -1;
	}
	sriov_alloc_free(&a);
	return sriov_alloc_remove(dir, pci, err);
}

bool sriov_alloc_is_ours(const struct sriov_alloc *a, const char *container_id, const char *ifname,
			 const char *netns)
{
	if (a->container_id)
		return strcmp(a->container_id, container_id) == 0 &&
		       (!a->ifname || strcmp(a->ifname, ifname) == 0);
	return !a->netns || !netns || strcmp(a->netns, netns) == 0;
}

int sriov_alloc_write(const char *dir, const char *pci, const char *netns, const char *container_id,
		      const char *ifname, struct cni_err *err)
{
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;

	if (o && cni_json_add_opt_string(o, "netns", netns) == 0 &&
	    cni_json_add_opt_string(o, "containerID", container_id) == 0 &&
	    cni_json_add_opt_string(o, "ifname", ifname) == 0)
		text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (write_owned(owner_path(dir, pci), text, err) < 0)
		return -1;
	return write_owned(alloc_path(dir, pci), strdup(netns ? netns : ""), err);
}

int sriov_alloc_remove(const char *dir, const char *pci, struct cni_err *err)
{
	if (remove_owned(alloc_path(dir, pci), err) < 0)
		return -1;
	return remove_owned(owner_path(dir, pci), err);
}
