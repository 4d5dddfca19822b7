/*
 * value.c - one scalar or string field as text and back. See ipmmap.h.
 *
 * Parsing is strict on purpose: a value that a shell script writes into a
 * field file either is exactly one value of the field's type or is refused
 * with a message, and nothing is written. Floating text is checked against
 * our own grammar first and only then handed to strtod()/strtof(), so
 * nothing the C library would quietly accept (hex floats, leading spaces,
 * "nan(...)") gets in. strtod() reads the decimal point of the current
 * locale; the library and ipmmapfs never call setlocale(), so it is ".". A
 * program that sets a locale with another decimal point must switch
 * LC_NUMERIC back to "C" around these calls.
 *
 * Floating values are printed as Python's repr() prints a float: the
 * shortest digits that read back to the same bits, in fixed notation when
 * the decimal exponent is in -4..15, in scientific notation otherwise.
 */
#include "ipmmap_i.h"

#include <assert.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The schema's name of a scalar kind. */
static const char *kind_name(enum ipm_kind k)
{
	return k <= IPM_BOOL ? ipm_scalars[k].name : ipm_longdouble_type.name;
}

static int not_a(const char *s, size_t n, enum ipm_kind k, const char *why, char *err)
{
	char q[IPM_QUOTE_LEN];
	const char *name = kind_name(k);

	return ipm_errf(err, -EINVAL, "'%s' is not %s %s%s", ipm_quote(s, n, q),
			name[0] == 'i' ? "an" : "a", name, why);
}

/* ------------------------------------------------------------------------ */
/* Integers                                                                  */
/* ------------------------------------------------------------------------ */

static int out_of_range(const char *s, size_t n, enum ipm_kind k, char *err)
{
	char q[IPM_QUOTE_LEN];
	const struct ipm_scalar *sc = &ipm_scalars[k];

	if (k <= IPM_INT64)
		return ipm_errf(err, -ERANGE,
				"value %s out of range for %s (%" PRId64 "..%" PRId64 ")",
				ipm_quote(s, n, q), sc->name, sc->min, (int64_t)sc->max);
	return ipm_errf(err, -ERANGE, "value %s out of range for %s (0..%" PRIu64 ")",
			ipm_quote(s, n, q), sc->name, sc->max);
}

static int parse_int(enum ipm_kind k, const char *s, size_t n, void *dst, char *err)
{
	const struct ipm_scalar *sc = &ipm_scalars[k];
	bool neg = false, over = false;
	uint64_t mag = 0;
	size_t i = 0, j;

	if (n && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == n)
		return not_a(s, n, k, "", err);
	for (j = i; j < n; j++) {
		unsigned d = (unsigned char)s[j] - '0';

		if (d > 9)
			return not_a(s, n, k, "", err);
		if (mag > (UINT64_MAX - d) / 10)
			over = true;
		else
			mag = mag * 10 + d;
	}
	/* Python 3 refuses "007" too: it reads like C octal. */
	if (s[i] == '0' && n - i > 1)
		return not_a(s, n, k, " (leading zero)", err);
	if (k > IPM_INT64) {
		if (neg && mag == 0)
			return not_a(s, n, k, " (sign)", err);
		if (neg || over || mag > sc->max)
			return out_of_range(s, n, k, err);
		ipm_store_int(dst, ipm_scalars[k].size, mag);
		return 0;
	}
	if (over || mag > (uint64_t)sc->max + neg)
		return out_of_range(s, n, k, err);
	/* Two's complement: the bits of -mag are those of 0 - mag. */
	ipm_store_int(dst, ipm_scalars[k].size, neg ? 0 - mag : mag);
	return 0;
}

static int parse_bool(const char *s, size_t n, void *dst, char *err)
{
	uint8_t v;

	if (n == 1 && (s[0] == '0' || s[0] == '1'))
		v = s[0] == '1';
	else if (n == 4 && !strncasecmp(s, "true", 4))
		v = 1;
	else if (n == 5 && !strncasecmp(s, "false", 5))
		v = 0;
	else
		return not_a(s, n, IPM_BOOL, " (0, 1, true or false)", err);
	memcpy(dst, &v, 1);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Floating point                                                            */
/* ------------------------------------------------------------------------ */

static bool word_is(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && !strncasecmp(s, w, n);
}

static size_t digits(const char *s, size_t n, size_t i)
{
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/*
 * The spellings Python's float() takes, less whitespace and underscores:
 * [sign] (digits [. [digits]] | . digits) [(e|E) [sign] digits], or
 * [sign] inf|infinity|nan in any case. Sets *special for the words.
 */
static bool float_syntax(const char *s, size_t n, bool *special)
{
	size_t i = 0, j;

	if (n && (s[0] == '+' || s[0] == '-'))
		i = 1;
	*special = word_is(s + i, n - i, "inf") || word_is(s + i, n - i, "infinity") ||
		   word_is(s + i, n - i, "nan");
	if (*special)
		return true;
	j = digits(s, n, i);
	if (j < n && s[j] == '.') {
		size_t f = digits(s, n, j + 1);

		if (f == j + 1 && j == i)
			return false;
		j = f;
	} else if (j == i) {
		return false;
	}
	if (j < n && (s[j] == 'e' || s[j] == 'E')) {
		size_t e = j + 1;

		if (e < n && (s[e] == '+' || s[e] == '-'))
			e++;
		j = digits(s, n, e);
		if (j == e)
			return false;
	}
	return j == n;
}

/* Whether the digits of a float's text before its exponent are not all 0. */
static bool nonzero_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n && s[i] != 'e' && s[i] != 'E'; i++)
		if (s[i] >= '1' && s[i] <= '9')
			return true;
	return false;
}

static int parse_float(enum ipm_kind k, const char *s, size_t n, void *dst, char *err)
{
	char local[128], *copy = local, q[IPM_QUOTE_LEN];
	bool special;
	float fv = 0;
	double dv;
	long double lv = 0;

	if (!float_syntax(s, n, &special))
		return not_a(s, n, k, "", err);
	/* strtod() needs a terminated string; valid texts are rarely long */
	if (n >= sizeof(local)) {
		copy = malloc(n + 1);
		if (!copy)
			return ipm_errf(err, -ENOMEM, "out of memory");
	}
	memcpy(copy, s, n);
	copy[n] = '\0';
	if (k == IPM_FLOAT) {
		fv = strtof(copy, NULL);
		dv = fv;
	} else if (k == IPM_LONGDOUBLE) {
		lv = strtold(copy, NULL);
		/* only what matters below: infinite, zero, or neither */
		dv = isinf(lv) ? (double)lv : lv == 0 ? 0 : 1;
	} else {
		dv = strtod(copy, NULL);
	}
	if (copy != local)
		free(copy);
	if (isinf(dv) && !special)
		return ipm_errf(err, -ERANGE, "value %s out of range for %s", ipm_quote(s, n, q),
				kind_name(k));
	/* Python reads 1e-400 as 0.0; a field refuses it, as it refuses 1e999:
	 * a value other than the one written would read back. A subnormal is a
	 * value and is taken. */
	if (dv == 0 && !special && nonzero_digits(s, n))
		return ipm_errf(err, -ERANGE, "value %s out of range for %s (rounds to 0)",
				ipm_quote(s, n, q), kind_name(k));
	if (k == IPM_FLOAT)
		memcpy(dst, &fv, 4);
	else if (k == IPM_LONGDOUBLE)
		ipm_store_ldouble(dst, lv);
	else
		memcpy(dst, &dv, 8);
	return 0;
}

void ipm_store_ldouble(void *p, long double v)
{
	unsigned char b[sizeof(long double)] = {0};

	/* x86's 80-bit format: 10 bytes of value, the rest padding that a
	 * plain store would fill with whatever the stack held */
	memcpy(b, &v, LDBL_MANT_DIG == 64 ? 10 : sizeof(v));
	memcpy(p, b, sizeof(b));
}

/*
 * A positive decimal d[0].d[1]...d[n-1] * 10^e, the digits as characters.
 */
struct dec {
	char d[24]; /* significant digits, '0'..'9' */
	int n;      /* how many */
	int e;      /* decimal exponent of d[0] */
};

/* x correctly rounded to p significant digits, by the C library. */
static void dec_print(double x, int p, struct dec *r)
{
	char t[48], *s = t;

	snprintf(t, sizeof(t), "%.*e", p - 1, x);
	r->n = 0;
	for (; *s != 'e'; s++)
		if (*s != '.')
			r->d[r->n++] = *s;
	assert(r->n <= (int)sizeof(r->d));
	r->e = atoi(s + 1);
}

/* One unit up or down in the last of r's digits, staying at r->n digits. */
static void dec_step(struct dec *r, int dir)
{
	int i;

	if (dir > 0) {
		for (i = r->n - 1; i >= 0 && r->d[i] == '9'; i--)
			r->d[i] = '0';
		if (i >= 0) {
			r->d[i]++;
		} else { /* 9.99 -> 10.0 */
			r->d[0] = '1';
			r->e++;
		}
		return;
	}
	for (i = r->n - 1; i >= 0 && r->d[i] == '0'; i--)
		r->d[i] = '9';
	assert(i >= 0); /* r is never zero */
	r->d[i]--;
	if (r->d[0] == '0') { /* 1.00 -> 0.999: one decade lower, all nines */
		memset(r->d, '9', r->n);
		r->e--;
	}
}

/*
 * x rounded to p < full->n digits, from its longer rounding full. Rounding
 * twice is wrong only when full's cut-off tail is exactly "50...0", since
 * that tail was itself rounded; then ask the C library.
 */
static void dec_round(const struct dec *full, double x, int p, struct dec *r)
{
	bool up = full->d[p] > '5', tie = full->d[p] == '5';
	int i;

	for (i = p + 1; tie && i < full->n; i++)
		if (full->d[i] != '0')
			up = true, tie = false;
	if (tie) {
		dec_print(x, p, r);
		return;
	}
	memcpy(r->d, full->d, p);
	r->n = p;
	r->e = full->e;
	if (up)
		dec_step(r, 1);
}

static bool dec_reads_back(const struct dec *r, double x, bool single)
{
	char t[48];
	int o = 0;

	t[o++] = r->d[0];
	t[o++] = '.';
	memcpy(t + o, r->d + 1, r->n - 1);
	o += r->n - 1;
	snprintf(t + o, sizeof(t) - o, "e%d", r->e);
	if (single)
		return strtof(t, NULL) == (float)x;
	return strtod(t, NULL) == x;
}

/*
 * The shortest digits that read back to x (positive, finite), the one
 * nearest x among equals, as Python's repr() and David Gay's dtoa mode 0
 * choose them. Up to DBL_DIG (FLT_DIG) digits a decimal survives the round
 * trip through a normal double (float), so the correctly rounded DBL_DIG
 * digits, stripped of their zeros, are the answer whenever any answer that
 * short exists. Longer, the rounded value may miss where the interval that
 * reads back to x is lopsided (at powers of two), but then a neighbour one
 * unit away hits. Subnormals have fewer bits, so they search from 1 digit.
 */
static void dec_shortest(double x, bool single, struct dec *out)
{
	int maxp = single ? 9 : 17, safe = single ? FLT_DIG : DBL_DIG;
	bool normal = x >= (single ? FLT_MIN : DBL_MIN);
	struct dec full, c, nb;
	int p;

	dec_print(x, maxp, &full);
	for (p = normal ? safe : 1; p < maxp; p++) {
		dec_round(&full, x, p, &c);
		if (dec_reads_back(&c, x, single)) {
			*out = c;
			goto strip;
		}
		if (normal && p == safe)
			continue;
		nb = c;
		dec_step(&nb, 1);
		if (dec_reads_back(&nb, x, single)) {
			*out = nb;
			goto strip;
		}
		nb = c;
		dec_step(&nb, -1);
		if (dec_reads_back(&nb, x, single)) {
			*out = nb;
			goto strip;
		}
	}
	*out = full;
strip:
	while (out->n > 1 && out->d[out->n - 1] == '0')
		out->n--;
}

/*
 * The same for a long double, by the C library alone: up to LDBL_DIG digits
 * a decimal survives the round trip, so the correctly rounded LDBL_DIG
 * digits are the answer when they read back; else the first longer
 * rounding that does (at most LDBL_DECIMAL_DIG). Subnormals search from 1.
 */
static void ldec_shortest(long double x, struct dec *out)
{
	char t[64], *s;
	int p = x >= LDBL_MIN ? LDBL_DIG : 1;

	for (; p < LDBL_DECIMAL_DIG; p++) {
		snprintf(t, sizeof(t), "%.*Le", p - 1, x);
		if (strtold(t, NULL) == x)
			break;
	}
	snprintf(t, sizeof(t), "%.*Le", p - 1, x);
	out->n = 0;
	for (s = t; *s != 'e'; s++)
		if (*s != '.')
			out->d[out->n++] = *s;
	assert(out->n <= (int)sizeof(out->d));
	out->e = atoi(s + 1);
	while (out->n > 1 && out->d[out->n - 1] == '0')
		out->n--;
}

static int format_dec(const struct dec *r, char *t, int o);

/* Python's repr() of a float into t (at least 32 bytes); returns the length. */
static int format_float(double x, bool single, char *t)
{
	struct dec r;
	int o = 0;

	if (isnan(x))
		return sprintf(t, "nan");
	if (signbit(x))
		t[o++] = '-';
	x = fabs(x);
	if (isinf(x))
		return o + sprintf(t + o, "inf");
	if (x == 0)
		return o + sprintf(t + o, "0.0");
	dec_shortest(x, single, &r);
	return format_dec(&r, t, o);
}

static int format_ldouble(long double x, char *t)
{
	struct dec r;
	int o = 0;

	if (isnan(x))
		return sprintf(t, "nan");
	if (signbit(x))
		t[o++] = '-';
	x = fabsl(x);
	if (isinf(x))
		return o + sprintf(t + o, "inf");
	if (x == 0)
		return o + sprintf(t + o, "0.0");
	ldec_shortest(x, &r);
	return format_dec(&r, t, o);
}

/* r's digits into t from o on, as Python's repr() places them: fixed
 * notation when the exponent is in -4..15, else scientific. */
static int format_dec(const struct dec *rr, char *t, int o)
{
	const struct dec r = *rr;
	int i;

	if (r.e < -4 || r.e >= 16) {
		t[o++] = r.d[0];
		if (r.n > 1) {
			t[o++] = '.';
			memcpy(t + o, r.d + 1, r.n - 1);
			o += r.n - 1;
		}
		return o + sprintf(t + o, "e%c%02d", r.e < 0 ? '-' : '+', abs(r.e));
	}
	if (r.e < 0) {
		t[o++] = '0';
		t[o++] = '.';
		for (i = -1; i > r.e; i--)
			t[o++] = '0';
		memcpy(t + o, r.d, r.n);
		return o + r.n;
	}
	for (i = 0; i <= r.e; i++)
		t[o++] = i < r.n ? r.d[i] : '0';
	t[o++] = '.';
	if (r.n <= r.e + 1) {
		t[o++] = '0';
	} else {
		memcpy(t + o, r.d + r.e + 1, r.n - r.e - 1);
		o += r.n - r.e - 1;
	}
	t[o] = '\0';
	return o;
}

/* ------------------------------------------------------------------------ */
/* Strings                                                                   */
/* ------------------------------------------------------------------------ */

/* See ipmmap_i.h. */
size_t ipm_utf8_bad(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], need, lo = 0x80, hi = 0xbf, k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else {
			return i;
		}
		if (n - i <= need)
			return i;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (k = 2; k <= need; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
		i += need + 1;
	}
	return n;
}

static int parse_string(size_t cap, const char *s, size_t n, void *dst, char *err)
{
	const char *nul;
	size_t bad;

	if (n > cap)
		return ipm_errf(err, -ERANGE, "text of %zu bytes too long for char[%zu]", n, cap);
	if (!n) { /* text may be NULL */
		memset(dst, 0, cap);
		return 0;
	}
	nul = memchr(s, '\0', n);
	if (nul)
		return ipm_errf(err, -EINVAL, "text has a NUL byte at offset %zu",
				(size_t)(nul - s));
	bad = ipm_utf8_bad((const unsigned char *)s, n);
	if (bad < n)
		return ipm_errf(err, -EINVAL, "text is not valid UTF-8 at offset %zu", bad);
	memcpy(dst, s, n);
	memset((char *)dst + n, 0, cap - n);
	return 0;
}

/* Wide text: ctypes' c_wchar * N on Linux, one UTF-32 code unit per
 * character in host order, NUL padded; text is UTF-8 on our side. */

size_t ipm_utf8_put(uint32_t c, char out[4])
{
	if (c >= 0xd800 && (c <= 0xdfff || c > 0x10ffff))
		c = 0xfffd; /* no character: a C program or Python wrote it */
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | c >> 12);
		out[1] = (char)(0x80 | (c >> 6 & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | c >> 18);
	out[1] = (char)(0x80 | (c >> 12 & 0x3f));
	out[2] = (char)(0x80 | (c >> 6 & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

int ipm_wtext_format(size_t count, const void *src, char *buf, size_t len, size_t *need)
{
	const unsigned char *p = src;
	size_t o = 0, i;
	char u[4];

	for (i = 0; i < count; i++) {
		uint32_t c;
		size_t k;

		memcpy(&c, p + i * IPM_WCHAR_SIZE, IPM_WCHAR_SIZE);
		if (!c)
			break;
		k = ipm_utf8_put(c, u);
		if (o + k < len)
			memcpy(buf + o, u, k);
		o += k;
	}
	if (need)
		*need = o;
	if (o >= len) {
		if (len)
			buf[0] = '\0';
		return -ENOSPC;
	}
	buf[o] = '\0';
	return (int)o;
}

int ipm_wtext_parse(size_t count, const char *s, size_t n, void *dst, char *err)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char *d = dst;
	size_t i, chars = 0, bad;
	const char *nul;

	if (!n) { /* text may be NULL */
		if (dst)
			memset(dst, 0, count * IPM_WCHAR_SIZE);
		return 0;
	}
	nul = memchr(s, '\0', n);
	if (nul)
		return ipm_errf(err, -EINVAL, "text has a NUL byte at offset %zu",
				(size_t)(nul - s));
	bad = ipm_utf8_bad(u, n);
	if (bad < n)
		return ipm_errf(err, -EINVAL, "text is not valid UTF-8 at offset %zu", bad);
	for (i = 0; i < n; i++)
		chars += (u[i] & 0xc0) != 0x80;
	if (chars > count)
		return ipm_errf(err, -ERANGE, "text of %zu characters too long for wchar[%zu]",
				chars, count);
	if (!d)
		return 0;
	/* well formed: decode without checks */
	for (i = 0, chars = 0; i < n; chars++) {
		uint32_t c = u[i];
		size_t more = c < 0x80 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;

		if (more)
			c &= 0x3f >> more;
		for (i++; more--; i++)
			c = c << 6 | (u[i] & 0x3f);
		memcpy(d + chars * IPM_WCHAR_SIZE, &c, IPM_WCHAR_SIZE);
	}
	memset(d + chars * IPM_WCHAR_SIZE, 0, (count - chars) * IPM_WCHAR_SIZE);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The two entry points                                                      */
/* ------------------------------------------------------------------------ */

static int format_uint(uint64_t v, bool neg, char *t)
{
	char r[24];
	int n = 0, o = 0;

	do {
		r[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (neg)
		t[o++] = '-';
	while (n)
		t[o++] = r[--n];
	t[o] = '\0';
	return o;
}

int ipm_text_format(const struct ipm_field *f, const void *src, char *buf, size_t len)
{
	char t[IPM_SCALAR_TEXTLEN];
	const char *text = t;
	int n;
	uint64_t u;
	bool neg;
	float fl;
	double db;
	long double ld;
	unsigned char v[8];

	if (f->width) { /* a bit field: its value out of the unit at src */
		ipm_bits_get(f, src, v);
		src = v;
	}

	switch (f->kind) {
	case IPM_INT8:
	case IPM_INT16:
	case IPM_INT32:
	case IPM_INT64:
	case IPM_UINT8:
	case IPM_UINT16:
	case IPM_UINT32:
	case IPM_UINT64:
	case IPM_BOOL:
		u = ipm_load_int(src, f->kind, &neg);
		/* the magnitude of a negative value, INT64_MIN's included */
		n = format_uint(neg ? 0 - u : u, neg, t);
		break;
	case IPM_FLOAT:
		memcpy(&fl, src, 4);
		n = format_float(fl, true, t);
		break;
	case IPM_DOUBLE:
		memcpy(&db, src, 8);
		n = format_float(db, false, t);
		break;
	case IPM_LONGDOUBLE: {
		/* one FPU operation gives bytes the FPU never makes (a C program's
		 * pseudo-denormal) their normal form: the text then reads back */
		static volatile long double one = 1;

		memcpy(&ld, src, sizeof(ld));
		n = format_ldouble(ld * one, t);
		break;
	}
	case IPM_STRING: {
		const char *nul = memchr(src, '\0', f->size);

		text = src;
		n = nul ? (int)(nul - text) : (int)f->size;
		break;
	}
	case IPM_WSTRING:
		return ipm_wtext_format(f->size / IPM_WCHAR_SIZE, src, buf, len, NULL);
	default:
		return -EINVAL;
	}
	assert(text != t || n < (int)sizeof(t));
	if ((size_t)n >= len) {
		if (len)
			buf[0] = '\0';
		return -ENOSPC;
	}
	memcpy(buf, text, n);
	buf[n] = '\0';
	return n;
}

int ipm_text_parse(const struct ipm_field *f, const char *text, size_t len, void *dst,
		   char err[IPM_ERRLEN])
{
	if (len && text[len - 1] == '\n')
		len--;
	if (f->kind == IPM_STRING)
		return parse_string(f->size, text, len, dst, err);
	if (f->kind == IPM_WSTRING)
		return ipm_wtext_parse(f->size / IPM_WCHAR_SIZE, text, len, dst, err);
	if (!ipm_kind_leaf(f->kind))
		return ipm_errf(err, -EINVAL, "cannot set %s from text",
				f->type && f->type->name ? f->type->name
				: f->kind == IPM_ARRAY	 ? "an array"
							 : "a structure");
	if (len == 0)
		return ipm_errf(err, -EINVAL, "empty value");
	if (f->kind == IPM_BOOL)
		return parse_bool(text, len, dst, err);
	if (f->kind == IPM_FLOAT || f->kind == IPM_DOUBLE || f->kind == IPM_LONGDOUBLE)
		return parse_float(f->kind, text, len, dst, err);
	if (f->width) { /* a bit field: checked, then merged into the unit at dst */
		unsigned char v[8];
		int rc = parse_int(f->kind, text, len, v, err);

		if (rc < 0 || (rc = ipm_bits_check(f, v, err)) < 0)
			return rc;
		ipm_bits_put(f, dst, v);
		return 0;
	}
	return parse_int(f->kind, text, len, dst, err);
}
