/* gb-stat's rule for a status file's text on a terminal: gb_stat_printable
 * and gb_stat_safe (security review 2026-12-03, item 6) */
#include "stat/stat.h"
#include "../tap.h"

/* bytes, how many gb_stat_printable takes at their start, why */
static const struct {
	const char *s;
	int len;
	const char *what;
} cases[] = {
	{ "a", 1, "a letter" },
	{ " ", 1, "a space" },
	{ "~", 1, "a tilde" },
	{ "\\", 1, "a backslash (the views escape it in their own way)" },
	{ "\x01", 0, "C0 SOH" },
	{ "\t", 0, "C0 tab" },
	{ "\n", 0, "C0 newline" },
	{ "\r", 0, "C0 carriage return" },
	{ "\x07", 0, "C0 BEL (ends an OSC)" },
	{ "\x1b", 0, "C0 ESC" },
	{ "\x1f", 0, "C0 US" },
	{ "\x7f", 0, "DEL" },
	{ "\xc2\x80", 0, "C1 U+0080" },
	{ "\xc2\x85", 0, "C1 NEL" },
	{ "\xc2\x90", 0, "C1 DCS" },
	{ "\xc2\x9b", 0, "C1 CSI" },
	{ "\xc2\x9c", 0, "C1 ST" },
	{ "\xc2\x9d", 0, "C1 OSC" },
	{ "\xc2\x9f", 0, "C1 APC" },
	{ "\xc2\xa0", 2, "U+00A0, the first after C1" },
	{ "\xc3\xa9", 2, "e acute" },
	{ "\xdf\xbf", 2, "U+07FF" },
	{ "\xe2\x82\xac", 3, "the euro sign" },
	{ "\xe6\x97\xa5", 3, "CJK (日)" },
	{ "\xef\xbf\xbd", 3, "U+FFFD" },
	{ "\xf0\x9f\x98\x80", 4, "an emoji, U+1F600" },
	{ "\xf4\x8f\xbf\xbf", 4, "U+10FFFF" },
	{ "\x9b", 0, "a lone C1 byte (CSI on an 8-bit terminal)" },
	{ "\x9d", 0, "a lone C1 byte (OSC on an 8-bit terminal)" },
	{ "\x80", 0, "a lone continuation byte" },
	{ "\xff", 0, "0xff" },
	{ "\xfe", 0, "0xfe" },
	{ "\xc0\x80", 0, "an overlong NUL" },
	{ "\xc1\x9b", 0, "an overlong '['" },
	{ "\xe0\x82\x9b", 0, "an overlong CSI" },
	{ "\xe0\x80\x80", 0, "an overlong NUL, 3 bytes" },
	{ "\xed\xa0\x80", 0, "a surrogate" },
	{ "\xf4\x90\x80\x80", 0, "past U+10FFFF" },
	{ "\xf5\x80\x80\x80", 0, "0xf5" },
	{ "\xc3", 0, "a lead byte at the end" },
	{ "\xc3" "A", 0, "a lead byte before ASCII" },
	{ "\xe6\x97", 0, "a 3-byte character cut short" },
	{ "\xf0\x9f\x98", 0, "a 4-byte character cut short" },
};

static void safe_is(const char *in, size_t n, const char *want, const char *what)
{
	char out[256];

	memset(out, 'z', sizeof(out));
	gb_stat_safe(in, out, n);
	is_str(out, want, "gb_stat_safe, %zu bytes: %s", n, what);
}

/* every string of the given bytes: the result is all printable and
 * unescapes to the input */
static int sweep(int len, int first_min)
{
	unsigned char in[4] = { 0 };
	char out[16], back[8];
	int bad = 0, a, b, c;

	for (a = first_min; a < 256; a++)
		for (b = 1; b < 256; b++)
			for (c = len > 2 ? 1 : 0; c < (len > 2 ? 256 : 1); c++) {
				const unsigned char *p;

				if (a == '\\' || b == '\\' || c == '\\')
					continue;
				in[0] = (unsigned char)a, in[1] = (unsigned char)b, in[2] = (unsigned char)c;
				gb_stat_safe((const char *)in, out, sizeof(out));
				for (p = (const unsigned char *)out; *p;) {
					int l = gb_stat_printable(p);

					if (!l) {
						bad++;
						break;
					}
					p += l;
				}
				gb_stat_unescape(out, back, sizeof(back));
				if (strcmp(back, (const char *)in))
					bad++;
			}
	return bad;
}

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(gb_stat_printable((const unsigned char *)cases[i].s), cases[i].len, "printable %d: %s",
		       cases[i].len, cases[i].what);

	safe_is("python3 serve.py --model llama", 64, "python3 serve.py --model llama", "ASCII as it is");
	safe_is("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80", 64, "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
		"accents, CJK and an emoji as they are");
	safe_is("a\\x1b\\\\", 64, "a\\x1b\\\\", "backslashes as they are");
	safe_is("\x1b[2J\x1b]0;pwned\x07", 64, "\\x1b[2J\\x1b]0;pwned\\x07", "ESC and BEL escaped");
	safe_is("\xc2\x9b" "31mred", 64, "\\xc2\\x9b31mred", "a C1 CSI escaped, both bytes");
	safe_is("\xc2\x9d" "0;pwned\xc2\x9c", 64, "\\xc2\\x9d0;pwned\\xc2\\x9c", "a C1 OSC and ST escaped");
	safe_is("\x9b" "1m\x9d\xff\xfe", 64, "\\x9b1m\\x9d\\xff\\xfe", "bytes that are not UTF-8 escaped");
	safe_is("a\tb\nc\x7f", 64, "a\\x09b\\x0ac\\x7f", "tab, newline and DEL escaped");
	safe_is("\xe0\x82\x9b" "x", 64, "\\xe0\\x82\\x9bx", "an overlong CSI escaped byte by byte");
	safe_is("\xe6\x97", 64, "\\xe6\\x97", "a character cut short at the end");
	safe_is("\xc2\xa0\xc2\x9f", 64, "\xc2\xa0\\xc2\\x9f", "U+00A0 kept, U+009F escaped");
	safe_is("abc\x1b", 7, "abc", "an escape that does not fit is left out whole");
	safe_is("abc\x1b", 8, "abc\\x1b", "an escape that just fits");
	safe_is("a\xc3\xa9", 3, "a", "a character that does not fit is left out whole");
	safe_is("a\xc3\xa9", 4, "a\xc3\xa9", "a character that just fits");
	safe_is("a\xc3\xa9" "b", 4, "a\xc3\xa9", "nothing after what did not fit");
	safe_is("\x1b" "a", 4, "", "cut before a first escape");
	safe_is("abc", 1, "", "room for the NUL only");
	safe_is("", 8, "", "empty");

	is_int(sweep(2, 1), 0, "every 2-byte string: printable after, and unescapes to itself");
	is_int(sweep(3, 0xc0), 0, "every 3-byte string from a lead byte: printable after, and unescapes to itself");
	return done();
}
