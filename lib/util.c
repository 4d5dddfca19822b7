/*
 * util.c - small helpers several files of the library share. See ipmmap_i.h.
 */
#include "ipmmap_i.h"

#define IPM_SCALAR_INFO(k, T, n, lo, hi) [k] = {n, sizeof(T), lo, hi},

const struct ipm_scalar ipm_scalars[IPM_BOOL + 1] = {IPM_SCALARS(IPM_SCALAR_INFO)};

const char *ipm_quote(const char *s, size_t n, char out[IPM_QUOTE_LEN])
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < n && i < IPM_QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\') {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	if (i < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}
