/*
 * What of a status file's text may reach a terminal.  Status files are
 * written by any user's processes, so a command line or a GPU name is
 * someone else's bytes: a C1 control (U+009B CSI, U+009D OSC) or a stray
 * byte an 8-bit terminal takes for one would drive the reader's terminal.
 * Every view of gb-stat asks gb_stat_printable; the views for people and
 * scripts write what it refuses as \xHH, the status file's own escape
 * (greenboost(7)), JSON and Prometheus in their own escapes.
 */
#include <string.h>

#include "stat/stat.h"

int gb_stat_utf8_len(const unsigned char *s)
{
	int n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* no overlong forms, no surrogates, nothing past U+10FFFF */
	if ((n == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (n == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
	    (n == 4 && s[0] == 0xf0 && s[1] < 0x90) || (n == 4 && s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return n;
}

int gb_stat_printable(const unsigned char *s)
{
	int n = gb_stat_utf8_len(s);

	if (n == 1 && (s[0] < 0x20 || s[0] == 0x7f))
		return 0;
	/* U+0080-U+009F: C2 80 to C2 9F */
	if (n == 2 && s[0] == 0xc2 && s[1] < 0xa0)
		return 0;
	return n;
}

char *gb_stat_safe(const char *in, char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)in;
	size_t j = 0;

	if (!n)
		return out;
	while (*p) {
		int l = gb_stat_printable(p);

		/* whole characters and whole escapes only */
		if (j + (l ? (size_t)l : 4) >= n)
			break;
		if (l) {
			memcpy(out + j, p, (size_t)l);
			j += (size_t)l;
			p += l;
		} else {
			out[j++] = '\\';
			out[j++] = 'x';
			out[j++] = hex[*p >> 4];
			out[j++] = hex[*p & 15];
			p++;
		}
	}
	out[j] = 0;
	return out;
}
