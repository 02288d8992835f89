/* Logging in one fixed form: "PROG: level: message". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gb.h"

int gb_log_level = GB_LOG_WARN;
static const char *log_prog = "greenboost";
static int log_fd = 2;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void gb_log_setup(const char *prog, int level, int fd)
{
	if (prog)
		log_prog = prog;
	gb_log_level = level;
	log_fd = fd < 0 ? 2 : fd;
}

const char *gb_log_prog(void)
{
	return log_prog;
}

/* One write(2) per line, so lines from threads and processes sharing the
 * descriptor do not interleave. */
static void emit(const char *level, const char *fmt, va_list ap, const char *tail)
{
	char line[1024];
	int n, m;

	n = snprintf(line, sizeof(line), "%s: %s: ", log_prog, level);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n >= sizeof(line) - 2)
		n = sizeof(line) - 2;
	if (tail) {
		m = snprintf(line + n, sizeof(line) - n, ": %s", tail);
		if (m > 0)
			n += m;
		if ((size_t)n >= sizeof(line) - 2)
			n = sizeof(line) - 2;
	}
	line[n++] = '\n';
	while (write(log_fd, line, n) < 0 && errno == EINTR)
		;
}

void gb_vlog(int level, const char *fmt, va_list ap)
{
	int saved = errno;

	if (level > gb_log_level)
		return;
	if (level < 0)
		level = 0;
	if (level > GB_LOG_DEBUG)
		level = GB_LOG_DEBUG;
	emit(level_names[level], fmt, ap, NULL);
	errno = saved;
}

void gb_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gb_vlog(level, fmt, ap);
	va_end(ap);
}

void gb_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("fatal", fmt, ap, NULL);
	va_end(ap);
	exit(code);
}

void gb_die_errno(int code, const char *fmt, ...)
{
	const char *why = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	emit("fatal", fmt, ap, why);
	va_end(ap);
	exit(code);
}

void gb_die_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("usage", fmt, ap, NULL);
	va_end(ap);
	exit(GB_EXIT_USAGE);
}

int gb_err_set(struct gb_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}
