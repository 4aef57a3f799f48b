/* cni/file.c: directories, atomic durable writes, the one file reader, removals.
 * Temp O_EXCL|O_NOFOLLOW, write, fsync, rename(2), fsync dir (or rename first and the fsyncs
 * later, at a moment the caller chooses, for a caller with work to overlap them with); reads
 * through cni/buf.h. */
#include "cni/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cni/buf.h"
#include "cni/json.h"

/* Directories cni_mkdir_p has checked component by component, with the inode the walk ended
 * on. plexusd checks each of its few directories on every request; after the first walk one
 * lstat() comparing that inode stands for it: whatever a component became since (a symlink,
 * another directory), a path that ends on another inode, or on no directory, is walked again.
 * A process that calls once (bin/plexus) walks every time it would have. */
#define MKDIR_SEEN_MAX 8
static struct {
	char *path;
	dev_t dev;
	ino_t ino;
} mkdir_seen[MKDIR_SEEN_MAX];
static unsigned mkdir_seen_next;
static pthread_mutex_t mkdir_seen_mu = PTHREAD_MUTEX_INITIALIZER;

static bool mkdir_seen_still(const char *path)
{
	struct stat st;
	bool known = false;
	dev_t dev = 0;
	ino_t ino = 0;

	pthread_mutex_lock(&mkdir_seen_mu);
	for (size_t i = 0; i < MKDIR_SEEN_MAX && !known; i++)
		if (mkdir_seen[i].path && strcmp(mkdir_seen[i].path, path) == 0) {
			known = true;
			dev = mkdir_seen[i].dev;
			ino = mkdir_seen[i].ino;
		}
	pthread_mutex_unlock(&mkdir_seen_mu);
	return known && lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_dev == dev &&
	       st.st_ino == ino;
}

static void mkdir_seen_add(const char *path, const struct stat *st)
{
	char *copy = strdup(path);
	size_t i;

	if (!copy)
		return; /* the next call walks again */
	pthread_mutex_lock(&mkdir_seen_mu);
	for (i = 0; i < MKDIR_SEEN_MAX; i++)
		if (mkdir_seen[i].path && strcmp(mkdir_seen[i].path, path) == 0)
			break;
	if (i == MKDIR_SEEN_MAX)
		i = mkdir_seen_next++ % MKDIR_SEEN_MAX;
	free(mkdir_seen[i].path);
	mkdir_seen[i].path = copy;
	mkdir_seen[i].dev = st->st_dev;
	mkdir_seen[i].ino = st->st_ino;
	pthread_mutex_unlock(&mkdir_seen_mu);
}

int cni_mkdir_p(const char *path, mode_t mode, struct cni_err *err)
{
	char *copy, *p;
	struct stat st;
	int ret = -1;

	if (mkdir_seen_still(path))
		return 0;
	copy = strdup(path);
	if (!copy)
		return cni_err_oom(err);
	for (p = copy + 1;; p++) {
		bool last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(copy, mode) < 0 && errno != EEXIST) {
			cni_err_set(err, CNI_ERR_IO, "mkdir %s: %s", copy, strerror(errno));
			goto out;
		}
		if (lstat(copy, &st) < 0 || !S_ISDIR(st.st_mode)) {
			cni_err_set(err, CNI_ERR_IO, "%s: not a directory", copy);
			goto out;
		}
		if (last)
			break;
		*p = '/';
	}
	mkdir_seen_add(path, &st);
	ret = 0;
out:
	free(copy);
	return ret;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int sync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd, ret = -1;

	if (!copy)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		ret = fsync(fd);
		close(fd);
	}
	free(copy);
	return ret;
}

/* The temporary file a write of path goes through (see enum cni_write_who); NULL out of
 * memory. */
static char *temporary_of(const char *path, enum cni_write_who who)
{
	char *tmp = NULL;

	if (who == CNI_WRITE_LOCKED ? asprintf(&tmp, "%s.tmp", path) < 0
				    : asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0)
		return NULL;
	return tmp;
}

/* Writes the temporary and renames it over path. fsync before the rename when sync; with
 * keep_fd the file stays open in *keep_fd (for a flush after the rename). */
static int write_tmp_rename(const char *path, const void *data, size_t len, mode_t mode,
			    enum cni_write_who who, bool sync, int *keep_fd, struct cni_err *err)
{
	char *tmp = temporary_of(path, who);
	int fd = -1, e;

	if (!tmp)
		return cni_err_oom(err);
	unlink(tmp); /* a leftover of a killed writer (with our pid, or holding our lock) */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		goto fail;
	if (fchmod(fd, mode) < 0 || write_all(fd, data, len) < 0 || (sync && fsync(fd) < 0))
		goto fail;
	if (!keep_fd) {
		if (close(fd) < 0) {
			fd = -1;
			goto fail;
		}
		fd = -1;
	}
	if (rename(tmp, path) < 0)
		goto fail;
	free(tmp);
	if (keep_fd)
		*keep_fd = fd;
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return cni_err_set(err, CNI_ERR_IO, "write %s: %s", path, strerror(e));
}

int cni_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		     enum cni_write_who who, struct cni_err *err)
{
	if (write_tmp_rename(path, data, len, mode, who, true, NULL, err) < 0)
		return -1;
	if (sync_dir_of(path) < 0)
		return cni_err_set(err, CNI_ERR_IO, "sync directory of %s: %s", path,
				   strerror(errno));
	return 0;
}

int cni_write_replace(const char *path, const void *data, size_t len, mode_t mode,
		      enum cni_write_who who, struct cni_err *err)
{
	return write_tmp_rename(path, data, len, mode, who, false, NULL, err);
}

struct cni_flush {
	int fd;
	char *path;
	bool done;	  /* the fsyncs have run */
	int err_no;	  /* 0, or the errno of the fsync that failed */
	const char *what; /* which: "sync" or "sync directory of" */
};

int cni_write_atomic_begin(const char *path, const void *data, size_t len, mode_t mode,
			   enum cni_write_who who, struct cni_flush **flush, struct cni_err *err)
{
	struct cni_flush *f = calloc(1, sizeof(*f));

	*flush = NULL;
	if (!f || !(f->path = strdup(path))) {
		free(f);
		return cni_err_oom(err);
	}
	if (write_tmp_rename(path, data, len, mode, who, false, &f->fd, err) < 0) {
		free(f->path);
		free(f);
		return -1;
	}
	*flush = f;
	return 0;
}

void cni_flush_run(struct cni_flush *f)
{
	if (!f || f->done)
		return;
	f->done = true;
	if (fsync(f->fd) < 0) {
		f->err_no = errno;
		f->what = "sync";
	} else if (sync_dir_of(f->path) < 0) {
		f->err_no = errno ? errno : EIO;
		f->what = "sync directory of";
	}
}

int cni_flush_wait(struct cni_flush *f, struct cni_err *err)
{
	int ret = 0;

	if (!f)
		return 0;
	cni_flush_run(f);
	close(f->fd);
	if (f->err_no)
		ret = cni_err_set(err, CNI_ERR_IO, "%s %s: %s", f->what, f->path,
				  strerror(f->err_no));
	free(f->path);
	free(f);
	return ret;
}

char *cni_read_file(const char *path, size_t max, unsigned flags, size_t *len, struct cni_err *err)
{
	int fd = open(path,
		      O_RDONLY | O_CLOEXEC | O_NOCTTY | (flags & CNI_FILE_FOLLOW ? 0 : O_NOFOLLOW));
	struct cni_buf b;
	struct stat st;
	char *data;
	ssize_t r;

	if (fd < 0) {
		if (errno == ENOENT)
			return NULL;
		cni_err_set(err, CNI_ERR_IO, "open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		cni_err_set(err, CNI_ERR_IO, "stat %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		cni_err_set(err, CNI_ERR_IO, "%s: not a regular file", path);
		goto fail;
	}
	if (st.st_size < 0 || (uintmax_t)st.st_size > max) {
		cni_err_set(err, CNI_ERR_IO, "%s: larger than %zu bytes", path, max);
		goto fail;
	}
	cni_buf_init(&b, max, flags & CNI_FILE_WIPE);
	do {
		/* the size is a hint only: the file may grow (or be procfs) while it is read */
		size_t want = b.len < (size_t)st.st_size ? (size_t)st.st_size - b.len + 1 : 4096;

		r = cni_buf_read(&b, fd, want);
	} while (r > 0);
	if (r == -EFBIG)
		cni_err_set(err, CNI_ERR_IO, "%s: larger than %zu bytes", path, max);
	else if (r == -ENOMEM)
		cni_err_oom(err);
	else if (r < 0)
		cni_err_set(err, CNI_ERR_IO, "read %s: %s", path, strerror((int)-r));
	data = r < 0 ? NULL : cni_buf_take(&b, len);
	if (!data && r == 0)
		cni_err_oom(err);
	cni_buf_free(&b);
	close(fd);
	if (!data)
		errno = EIO;
	return data;
fail:
	close(fd);
	errno = EIO;
	return NULL;
}

int cni_read_json(const char *path, size_t max, unsigned flags, cJSON **doc, struct cni_err *err)
{
	size_t len = 0;
	char *text;

	*doc = NULL;
	text = cni_read_file(path, max, flags, &len, err);
	if (!text)
		return cni_err_isset(err) ? -1 : 0;
	*doc = cni_json_parse(text, len, path, err);
	free(text);
	return *doc ? 1 : -1;
}

void cni_file_free_secret(char *data, size_t len)
{
	cni_buf_free_data(data, len);
}

int cni_remove_file(const char *path, struct cni_err *err)
{
	if (unlink(path) < 0) {
		if (errno == ENOENT)
			return 0;
		return cni_err_set(err, CNI_ERR_IO, "remove %s: %s", path, strerror(errno));
	}
	/* not synced: see cni/file.h */
	return 0;
}

/* Whether s is what temporary_of() puts after the path: ".tmp" or ".tmp.<pid>". */
static bool is_temporary_suffix(const char *s)
{
	if (strncmp(s, ".tmp", 4) != 0)
		return false;
	s += 4;
	if (!*s)
		return true;
	return *s == '.' && s[1] && strspn(s + 1, "0123456789") == strlen(s + 1);
}

bool cni_is_temporary_name(const char *name)
{
	for (const char *p = strstr(name, ".tmp"); p; p = strstr(p + 1, ".tmp"))
		if (p != name && is_temporary_suffix(p))
			return true;
	return false;
}

void cni_remove_temporaries(const char *path, enum cni_write_who who)
{
	char *copy, *dir, *base, *tmp;
	struct dirent *de;
	size_t blen;
	DIR *d;

	if (who == CNI_WRITE_LOCKED) {
		tmp = temporary_of(path, who);
		if (tmp)
			unlink(tmp);
		free(tmp);
		return;
	}
	copy = strdup(path);
	if (!copy)
		return;
	base = strrchr(copy, '/');
	if (!base) {
		free(copy);
		return;
	}
	*base++ = '\0';
	dir = copy;
	blen = strlen(base);
	d = opendir(*dir ? dir : "/");
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, base, blen) == 0 && is_temporary_suffix(de->d_name + blen))
			unlinkat(dirfd(d), de->d_name, 0);
	}
	if (d)
		closedir(d);
	free(copy);
}
