/* libgb sizes and durations */
#include "gb.h"
#include "../tap.h"

static void size_ok(const char *s, uint64_t want)
{
	const char *why;
	uint64_t v = 0;
	int r = gb_size_parse(s, &v, &why);

	ok(r == 0 && v == want, "size '%s' = %llu (got %llu%s%s)", s, (unsigned long long)want,
	   (unsigned long long)v, r ? ", error: " : "", r ? why : "");
}

static void size_bad(const char *s, const char *why_part)
{
	const char *why = NULL;
	uint64_t v;

	ok(gb_size_parse(s, &v, &why) < 0 && why && strstr(why, why_part), "size '%s' rejected: %s (%s)", s,
	   why_part, why ? why : "accepted");
}

static void ms_case(const char *s, int good, uint64_t want)
{
	const char *why;
	uint64_t v = 0;
	int r = gb_ms_parse(s, &v, &why);

	if (good)
		ok(r == 0 && v == want, "duration '%s' = %llums", s, (unsigned long long)want);
	else
		ok(r < 0 && why, "duration '%s' rejected (%s)", s, why ? why : "accepted");
}

int main(void)
{
	struct gb_sizepct p;
	const char *why;
	char buf[64];
	uint64_t v;

	size_ok("0", 0);
	size_ok("4096", 4096);
	size_ok("512K", 512 * GB_KiB);
	size_ok("512k", 512 * GB_KiB);
	size_ok("64M", 64 * GB_MiB);
	size_ok("12G", 12 * GB_GiB);
	size_ok("12GiB", 12 * GB_GiB);
	size_ok("12GB", 12 * GB_GiB);
	size_ok("1.5G", 3 * GB_GiB / 2);
	size_ok("0.25T", GB_TiB / 4);
	size_ok("2T", 2 * GB_TiB);
	size_ok("1P", GB_TiB * 1024);
	size_ok("100B", 100);
	size_ok("16383P", 16383ULL * GB_TiB * 1024);
	size_bad("", "empty");
	size_bad("G", "not a number");
	size_bad("-1G", "not a number");
	size_bad("12X", "unknown unit");
	size_bad("12 G", "unknown unit");
	size_bad("12G ", "trailing");
	size_bad("12Gx", "trailing");
	size_bad("1.5", "whole");
	size_bad("1.", "digit expected");
	size_bad("16384P", "too large");
	size_bad("99999999999999999999", "too large");
	size_bad("80%", "unknown unit");

	ok(gb_sizepct_parse("80%", &p, &why) == 0 && p.is_pct && p.pct_milli == 80000, "80%% parses");
	ok(gb_sizepct_parse("12.5%", &p, &why) == 0 && p.pct_milli == 12500, "12.5%% parses");
	ok(gb_sizepct_parse("100%", &p, &why) == 0 && p.pct_milli == 100000, "100%% parses");
	ok(gb_sizepct_parse("100.1%", &p, &why) < 0, "100.1%% rejected");
	ok(gb_sizepct_parse("101%", &p, &why) < 0, "101%% rejected");
	ok(gb_sizepct_parse("%", &p, &why) < 0, "bare %% rejected");
	ok(gb_sizepct_parse("5x%", &p, &why) < 0, "5x%% rejected");
	ok(gb_sizepct_parse("8G", &p, &why) == 0 && !p.is_pct && p.bytes == 8 * GB_GiB, "8G as sizepct");
	gb_sizepct_parse("50%", &p, &why);
	is_int(gb_sizepct_resolve(&p, 10 * GB_GiB), 5 * GB_GiB, "50%% of 10G is 5G");
	gb_sizepct_parse("33.333%", &p, &why);
	is_int(gb_sizepct_resolve(&p, 100000), 33333, "33.333%% of 100000");
	gb_sizepct_parse("100%", &p, &why);
	is_int(gb_sizepct_resolve(&p, UINT64_MAX), UINT64_MAX, "100%% of the largest size does not overflow");

	ms_case("500ms", 1, 500);
	ms_case("500", 1, 500);
	ms_case("2s", 1, 2000);
	ms_case("1.5s", 1, 1500);
	ms_case("1m", 1, 60000);
	ms_case("1h", 1, 3600000);
	ms_case("1.5ms", 0, 0);
	ms_case("2 s", 0, 0);
	ms_case("s", 0, 0);
	ms_case("", 0, 0);

	is_str(gb_size_str(0, buf, sizeof(buf)), "0", "format 0");
	is_str(gb_size_str(512 * GB_MiB, buf, sizeof(buf)), "512M", "format 512M");
	is_str(gb_size_str(3 * GB_GiB / 2, buf, sizeof(buf)), "1.5G", "format 1.5G");
	is_str(gb_size_str(12 * GB_GiB, buf, sizeof(buf)), "12G", "format 12G");
	is_str(gb_size_str(1000, buf, sizeof(buf)), "1000", "format 1000");
	is_str(gb_size_str(GB_TiB, buf, sizeof(buf)), "1T", "format 1T");
	for (v = 1; v < (1ULL << 50); v = v * 3 + 7) {
		uint64_t back;

		gb_size_str(v, buf, sizeof(buf));
		if (gb_size_parse(buf, &back, &why) < 0 || back != v)
			break;
	}
	ok(v >= (1ULL << 50), "every formatted size parses back to itself");
	is_str(gb_size_human(1536 * GB_MiB, buf, sizeof(buf)), "1.5 GiB", "human 1.5 GiB");
	is_str(gb_size_human(100, buf, sizeof(buf)), "100 B", "human 100 B");
	gb_sizepct_parse("12.5%", &p, &why);
	is_str(gb_sizepct_str(&p, buf, sizeof(buf)), "12.5%", "format 12.5%%");
	return done();
}
