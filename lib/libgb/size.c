/* Sizes ("12G", "1.5G", "80%") and durations ("2s", "500ms"). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "gb.h"

/* Decimal number with up to 6 fraction digits: integer part and fraction
 * in millionths.  Returns the pointer past the number, NULL if none. */
static const char *parse_decimal(const char *s, uint64_t *ip, uint64_t *frac_micro, const char **why)
{
	uint64_t v = 0, f = 0, scale = 100000;
	const char *p = s;

	if (!isdigit((unsigned char)*p)) {
		*why = "not a number";
		return NULL;
	}
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10) {
			*why = "number too large";
			return NULL;
		}
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p)) {
			*why = "digit expected after the decimal point";
			return NULL;
		}
		for (; isdigit((unsigned char)*p); p++) {
			f += (uint64_t)(*p - '0') * scale;
			scale /= 10;
		}
	}
	*ip = v;
	*frac_micro = f;
	return p;
}

static int mul_add(uint64_t ip, uint64_t frac_micro, uint64_t mult, uint64_t *out)
{
	unsigned __int128 v = (unsigned __int128)ip * mult + ((unsigned __int128)frac_micro * mult) / 1000000;

	if (v > UINT64_MAX)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

int gb_size_parse(const char *s, uint64_t *out, const char **why)
{
	uint64_t ip, fr, mult = 1;
	const char *p;

	*why = NULL;
	if (!s || !*s) {
		*why = "empty size";
		return -1;
	}
	p = parse_decimal(s, &ip, &fr, why);
	if (!p)
		return -1;
	switch (toupper((unsigned char)*p)) {
	case 0: break;
	case 'B': break;
	case 'K': mult = GB_KiB; p++; break;
	case 'M': mult = GB_MiB; p++; break;
	case 'G': mult = GB_GiB; p++; break;
	case 'T': mult = GB_TiB; p++; break;
	case 'P': mult = GB_TiB << 10; p++; break;
	default:
		*why = "unknown unit (use K, M, G or T)";
		return -1;
	}
	if (mult > 1 && (p[0] == 'i' || p[0] == 'I') && (p[1] == 'B' || p[1] == 'b'))
		p += 2;
	else if (p[0] == 'B' || p[0] == 'b')
		p++;
	if (*p) {
		*why = "trailing characters after the size";
		return -1;
	}
	if (mult == 1 && fr) {
		*why = "a byte count must be whole";
		return -1;
	}
	if (mul_add(ip, fr, mult, out) < 0) {
		*why = "size too large";
		return -1;
	}
	return 0;
}

int gb_sizepct_parse(const char *s, struct gb_sizepct *out, const char **why)
{
	size_t n = s ? strlen(s) : 0;

	*why = NULL;
	memset(out, 0, sizeof(*out));
	if (n && s[n - 1] == '%') {
		uint64_t ip, fr;
		const char *p = parse_decimal(s, &ip, &fr, why);

		if (!p)
			return -1;
		if (p != s + n - 1) {
			*why = "trailing characters in the percentage";
			return -1;
		}
		if (ip > 100 || (ip == 100 && fr)) {
			*why = "percentage over 100%";
			return -1;
		}
		out->is_pct = 1;
		out->pct_milli = (uint32_t)(ip * 1000 + fr / 1000);
		return 0;
	}
	return gb_size_parse(s, &out->bytes, why);
}

uint64_t gb_sizepct_resolve(const struct gb_sizepct *v, uint64_t ref)
{
	if (!v->is_pct)
		return v->bytes;
	return (uint64_t)(((unsigned __int128)ref * v->pct_milli) / 100000);
}

int gb_ms_parse(const char *s, uint64_t *out, const char **why)
{
	uint64_t ip, fr, mult;
	const char *p;

	*why = NULL;
	if (!s || !*s) {
		*why = "empty duration";
		return -1;
	}
	p = parse_decimal(s, &ip, &fr, why);
	if (!p)
		return -1;
	if (!*p || !strcmp(p, "ms"))
		mult = 1;
	else if (!strcmp(p, "s"))
		mult = 1000;
	else if (!strcmp(p, "m") || !strcmp(p, "min"))
		mult = 60000;
	else if (!strcmp(p, "h"))
		mult = 3600000;
	else {
		*why = "unknown unit (use ms, s, m or h)";
		return -1;
	}
	if (mult == 1 && fr) {
		*why = "milliseconds must be whole";
		return -1;
	}
	if (mul_add(ip, fr, mult, out) < 0) {
		*why = "duration too large";
		return -1;
	}
	return 0;
}

char *gb_size_str(uint64_t b, char *buf, size_t n)
{
	static const char units[] = "KMGT";
	int i;

	if (b) {
		for (i = 3; i >= 0; i--) {
			uint64_t m = 1ULL << (10 * (i + 1));

			if (b % m == 0) {
				snprintf(buf, n, "%llu%c", (unsigned long long)(b / m), units[i]);
				return buf;
			}
			/* one exact decimal, "1.5G" */
			if (b >= m && (b * 10) % m == 0 && b < UINT64_MAX / 10) {
				snprintf(buf, n, "%llu.%llu%c", (unsigned long long)(b / m),
					 (unsigned long long)((b % m) * 10 / m), units[i]);
				return buf;
			}
		}
	}
	snprintf(buf, n, "%llu", (unsigned long long)b);
	return buf;
}

char *gb_size_human(uint64_t b, char *buf, size_t n)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)b;
	int i = 0;

	while (v >= 1024.0 && i < 5) {
		v /= 1024.0;
		i++;
	}
	if (i == 0)
		snprintf(buf, n, "%llu B", (unsigned long long)b);
	else
		snprintf(buf, n, "%.1f %s", v, units[i]);
	return buf;
}

char *gb_sizepct_str(const struct gb_sizepct *v, char *buf, size_t n)
{
	if (!v->is_pct)
		return gb_size_str(v->bytes, buf, n);
	if (v->pct_milli % 1000 == 0)
		snprintf(buf, n, "%u%%", v->pct_milli / 1000);
	else {
		char tmp[16];
		size_t l;

		snprintf(tmp, sizeof(tmp), "%03u", v->pct_milli % 1000);
		for (l = strlen(tmp); l > 0 && tmp[l - 1] == '0'; l--)
			tmp[l - 1] = 0;
		snprintf(buf, n, "%u.%s%%", v->pct_milli / 1000, tmp);
	}
	return buf;
}
