/* Minimal TAP for the C tests: ok(cond, fmt...), then done() prints the plan. */
#ifndef GB_TAP_H
#define GB_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static int __attribute__((format(printf, 2, 3), unused)) ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		tap_failed++;
	return cond;
}

#define is_int(a, b, ...) \
	do { long long a_ = (long long)(a), b_ = (long long)(b); \
	     if (!ok(a_ == b_, __VA_ARGS__)) printf("#   got %lld, expected %lld\n", a_, b_); } while (0)
#define is_str(a, b, ...) \
	do { const char *a_ = (a), *b_ = (b); \
	     if (!ok(a_ && b_ && !strcmp(a_, b_), __VA_ARGS__)) printf("#   got '%s'\n#   expected '%s'\n", a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)

static int __attribute__((unused)) done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
