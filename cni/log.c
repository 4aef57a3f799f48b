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
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct {
	enum cni_log_level level;
	bool to_stderr;
	int fd;
	char *prefix;
} logger = { CNI_LOG_PANIC, true, -1, NULL };

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

void cni_log_set_level(enum cni_log_level level)
{
	logger.level = level;
}

void cni_log_set_level_name(const char *name)
{
	int l = cni_log_level_parse(name);

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
	logger.to_stderr = on;
}

int cni_log_set_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return -errno;
	if (logger.fd >= 0)
		close(logger.fd);
	logger.fd = fd;
	return 0;
}

void cni_log_set_prefix(const char *prefix)
{
	free(logger.prefix);
	logger.prefix = prefix ? strdup(prefix) : NULL;
}

void cni_log_close(void)
{
	if (logger.fd >= 0)
		close(logger.fd);
	logger.fd = -1;
	free(logger.prefix);
	logger.prefix = NULL;
}

void cni_log(enum cni_log_level level, const char *fmt, ...)
{
	char stamp[40], *msg = NULL, *line = NULL;
	struct timeval tv;
	struct tm tm;
	va_list ap;
	int n;

	if (level > logger.level)
		return;
	if (!logger.to_stderr && logger.fd < 0)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n = asprintf(&line, "%s.%06ldZ [%s] %s%s%s\n", stamp, (long)tv.tv_usec, level_names[level],
		     logger.prefix ? logger.prefix : "", logger.prefix ? " " : "", msg);
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
