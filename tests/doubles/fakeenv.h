/*
 * The FAKECUDA_* environment, read the same way by the test doubles of
 * the CUDA driver (fakecuda.c) and of NVML (fakenvml.c), so that both
 * describe the same fake devices.
 *
 *   FAKECUDA_DEVICES           number of devices, 0 to 8 (default 1)
 *   FAKECUDA_VRAM              bytes of fake VRAM per device; K, M, G, T
 *                              suffixes (binary), e.g. "512M" (default 1G)
 *   FAKECUDA_VERSION           cuDriverGetVersion (default 13000)
 *   FAKECUDA_NO_HOST_NUMA_VMM  1: no VMM allocations in host memory
 *   FAKECUDA_REGISTER_FAIL     1: cuMemHostRegister fails (out of memory)
 *   FAKECUDA_EVENT_DELAY       cuEventQuery says "not ready" this many
 *                              times after each record (default 0)
 *   FAKECUDA_GPA_THUNKS        1: cuGetProcAddress hands out thunks, not
 *                              the exported functions
 */
#ifndef FAKEENV_H
#define FAKEENV_H

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#define FAKE_MAX_DEVICES 8
#define FAKE_DEFAULT_VRAM (1ULL << 30)

/* a non-negative integer; def if unset or malformed */
static inline long fake_env_int(const char *name, long def)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtol(s, &end, 10);
	if (!isdigit((unsigned char)*s) || *end || errno) {
		fprintf(stderr, "fakecuda: ignoring %s=%s: not a number\n", name, s);
		return def;
	}
	return v;
}

/* set to anything but "" or "0" */
static inline int fake_env_flag(const char *name)
{
	const char *s = getenv(name);

	return s && *s && !(s[0] == '0' && !s[1]);
}

static inline int fake_env_devices(void)
{
	long n = fake_env_int("FAKECUDA_DEVICES", 1);

	return n > FAKE_MAX_DEVICES ? FAKE_MAX_DEVICES : (int)n;
}

static inline unsigned long long fake_env_vram(void)
{
	const char *s = getenv("FAKECUDA_VRAM");
	unsigned long long v, mul = 1;
	char *end;

	if (!s || !*s)
		return FAKE_DEFAULT_VRAM;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (!isdigit((unsigned char)*s) || errno)
		goto bad;
	switch (*end) {
	case 'k': case 'K':
		mul = 1ULL << 10;
		break;
	case 'm': case 'M':
		mul = 1ULL << 20;
		break;
	case 'g': case 'G':
		mul = 1ULL << 30;
		break;
	case 't': case 'T':
		mul = 1ULL << 40;
		break;
	}
	if (mul > 1)
		end++;
	if (*end || !v || v > ULLONG_MAX / mul)
		goto bad;
	return v * mul;
bad:
	fprintf(stderr, "fakecuda: ignoring FAKECUDA_VRAM=%s: not a size\n", s);
	return FAKE_DEFAULT_VRAM;
}

#endif
