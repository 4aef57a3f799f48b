/* cni/log.c: leveled logging to stderr and/or an append-only file.
 * Follows Multus pkg/logging (levels, defaults); lines carry a timestamp and the request prefix. */
#include "cni/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct {
	enum cni_log_level level;
	bool to_stderr;
	int fd;
	long long max_bytes;
	int max_backups, max_age_days;
	bool fixed; /* a host process (plexusd) owns the settings: netconf keys change nothing */
} logger = { CNI_LOG_PANIC, true, -1, 0, 0, 0, false };

/* Per thread: plexusd serves many requests at once, each with its own pod in the prefix. */
static _Thread_local char *prefix;

static const char *const level_names[] = { "panic", "error", "verbose", "debug" };

int cni_log_level_parse(const char *s)
{
	if (!s)
		return -1;
	for (int i = 0; i <= CNI_LOG_DEBUG; i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

void cni_log_fix(void)
{
	logger.fixed = true;
}

void cni_log_set_level(enum cni_log_level level)
{
	if (logger.fixed)
		return;
	logger.level = level;
}

void cni_log_set_level_name(const char *name)
{
	int l = cni_log_level_parse(name);

	if (logger.fixed)
		return;
	if (l < 0) {
		cni_log(CNI_LOG_ERROR, "unknown log level \"%s\", keeping \"%s\"", name ? name : "",
			level_names[logger.level]);
		return;
	}
	logger.level = (enum cni_log_level)l;
}

enum cni_log_level cni_log_get_level(void)
{
	return logger.level;
}

void cni_log_set_stderr(bool on)
{
	if (logger.fixed)
		return;
	logger.to_stderr = on;
}

void cni_log_set_rotation(long long max_bytes, int max_backups, int max_age_days)
{
	if (logger.fixed)
		return;
	logger.max_bytes = max_bytes;
	logger.max_backups = max_backups;
	logger.max_age_days = max_age_days;
}

static void rotate(const char *path)
{
	struct stat st;
	char *from = NULL, *to = NULL;
	int keep = logger.max_backups > 0 ? logger.max_backups : 5;

	if (logger.max_bytes <= 0 || lstat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size < logger.max_bytes)
		return;
	/* several plugins may log at once: whoever renames first rotates, the others find a
	 * small file and go on */
	for (int i = keep; i >= 1; i--) {
		if (asprintf(&from, i == 1 ? "%s" : "%s.%d", path, i - 1) < 0 ||
		    asprintf(&to, "%s.%d", path, i) < 0)
			break;
		if (i == keep)
			unlink(to);
		rename(from, to);
		free(from);
		free(to);
		from = to = NULL;
	}
	free(from);
	free(to);
	for (int i = 1; logger.max_age_days > 0 && i <= keep; i++) {
		char *b = NULL;

		if (asprintf(&b, "%s.%d", path, i) < 0)
			break;
		if (stat(b, &st) == 0 && time(NULL) - st.st_mtime > logger.max_age_days * 86400L)
			unlink(b);
		free(b);
	}
}

int cni_log_set_file(const char *path)
{
	int fd;

	if (logger.fixed)
		return 0;
	rotate(path);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (logger.fd >= 0)
		close(logger.fd);
	logger.fd = fd;
	return 0;
}

void cni_log_set_prefix(const char *p)
{
	free(prefix);
	prefix = p ? strdup(p) : NULL;
}

void cni_log_close(void)
{
	if (logger.fd >= 0)
		close(logger.fd);
	logger.fd = -1;
	logger.fixed = false;
	free(prefix);
	prefix = NULL;
}

const char *cni_rfc3339(time_t t, long usec, char buf[CNI_RFC3339_MAX])
{
	char sec[24];
	struct tm tm;

	/* RFC 3339 has four-digit years (Go's time.MarshalJSON refuses the others too) */
	if (!gmtime_r(&t, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900 ||
	    !strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm))
		return NULL;
	if (usec >= 0)
		snprintf(buf, CNI_RFC3339_MAX, "%s.%06ldZ", sec, usec % 1000000);
	else
		snprintf(buf, CNI_RFC3339_MAX, "%sZ", sec);
	return buf;
}

void cni_log(enum cni_log_level level, const char *fmt, ...)
{
	char stamp[CNI_RFC3339_MAX], *msg = NULL, *line = NULL;
	struct timeval tv;
	va_list ap;
	int n;

	if (level > logger.level)
		return;
	if (!logger.to_stderr && logger.fd < 0)
		return;
	gettimeofday(&tv, NULL);
	if (!cni_rfc3339(tv.tv_sec, (long)tv.tv_usec, stamp))
		strcpy(stamp, "-");
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n = asprintf(&line, "%s [%s] %s%s%s\n", stamp, level_names[level], prefix ? prefix : "",
		     prefix ? " " : "", msg);
	free(msg);
	if (n < 0)
		return;
	/* One write() per line keeps lines whole when processes share the file. */
	if (logger.to_stderr && write(STDERR_FILENO, line, (size_t)n) < 0)
		errno = 0;
	if (logger.fd >= 0 && write(logger.fd, line, (size_t)n) < 0)
		errno = 0;
	free(line);
}
