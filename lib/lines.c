/*
 * lines.c - the "path = value" line format of a whole instance: rendering,
 * all-or-nothing parsing, applying under one write lock. See ipmmap.h.
 *
 * Above the map: it uses only the public calls of the other files, so the
 * mount, the tool and C programs read and write one format.
 */
#include "ipmmap_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Rendering                                                                 */
/* ------------------------------------------------------------------------ */

/* One step of the path to the leaf being written, on the C stack: the path
 * is written from these at each leaf, so rendering never allocates (it runs
 * guarded) and no path is too long. */
struct step {
	const struct step *up; /* the step above, NULL at the top */
	const char *name;      /* a field's name or the caller's prefix; NULL: [index] */
	size_t index;          /* an array element's index */
};

/* Where the text goes: bytes past len - 1 are counted, not written. */
struct out {
	char *buf;  /* the caller's buffer */
	size_t len; /* its size, NUL included */
	size_t o;   /* text so far (may pass len: then it does not fit) */
};

static void put(struct out *w, const char *s, size_t n)
{
	if (w->o < w->len && n < w->len - w->o)
		memcpy(w->buf + w->o, s, n);
	w->o += n;
}

/* Writes the path of st; at is where the line started, so that the first
 * field name gets no dot. */
static void put_path(struct out *w, const struct step *st, size_t at)
{
	char num[24];
	size_t i = sizeof(num), v = st->index;

	if (st->up)
		put_path(w, st->up, at);
	if (!st->name) {
		num[--i] = ']';
		do
			num[--i] = (char)('0' + v % 10);
		while (v /= 10);
		num[--i] = '[';
		put(w, num + i, sizeof(num) - i);
		return;
	}
	if (st->up && w->o > at)
		put(w, ".", 1);
	put(w, st->name, strlen(st->name));
}

/* A string's bytes up to its first NUL, so that the value stays on its
 * line and can drive no terminal: a backslash, newline and CR are written
 * \\, \n and \r; other control bytes, C1 controls (U+0080..U+009F: UTF-8
 * terminals take U+009B as CSI) and bytes that are not UTF-8 (a c_char * N
 * holds any bytes) \xHH; the rest as they are. */
static void put_escaped(struct out *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t from = 0;

	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t k = c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
		char x[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
		const char *esc = c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : NULL;

		if (c >= 0x80 && k <= n - i && ipm_utf8_bad((const unsigned char *)s + i, k) == k &&
		    (c != 0xc2 || (unsigned char)s[i + 1] >= 0xa0)) {
			i += k; /* a whole character */
			continue;
		}
		if (!esc && c >= 0x20 && c < 0x7f) {
			i++;
			continue;
		}
		put(w, s + from, i - from);
		put(w, esc ? esc : x, esc ? 2 : 4);
		from = ++i;
	}
	put(w, s + from, n - from);
}

/* A wide string's characters up to its first NUL, as UTF-8, escaped as a
 * string's bytes are: character by character, so nothing is allocated. */
static void put_wide(struct out *w, const unsigned char *p, size_t count)
{
	char u[4];

	for (size_t i = 0; i < count; i++) {
		uint32_t c;

		memcpy(&c, p + i * IPM_WCHAR_SIZE, IPM_WCHAR_SIZE);
		if (!c)
			break;
		put_escaped(w, u, ipm_utf8_put(c, u));
	}
}

static void put_leaf(struct out *w, const struct step *st, const struct ipm_field *f,
		     const unsigned char *data)
{
	size_t at = w->o;

	put_path(w, st, at);
	put(w, " = ", 3);
	if (f->kind == IPM_STRING) {
		const char *s = (const char *)data + f->offset;

		put_escaped(w, s, strnlen(s, f->size));
	} else if (f->kind == IPM_WSTRING) {
		put_wide(w, data + f->offset, f->size / IPM_WCHAR_SIZE);
	} else {
		char v[IPM_SCALAR_TEXTLEN];
		int n = ipm_text_format(f, data + f->offset, v, sizeof(v));

		put(w, v, n > 0 ? (size_t)n : 0); /* n < 0 cannot happen: v holds any scalar */
	}
	put(w, "\n", 1);
}

/* Writes every leaf under type t at offset, st being the path to it. */
static void put_type(struct out *w, const struct step *st, const ipm_type *t, size_t offset,
		     const unsigned char *data)
{
	struct step sub = {st, NULL, 0};

	switch (ipm_type_kind(t)) {
	case IPM_STRUCT:
		for (size_t i = 0; i < ipm_type_nfields(t); i++) {
			const ipm_type *ft = ipm_type_field_type(t, i);
			size_t off = offset + ipm_type_field_offset(t, i);
			unsigned bit, width = ipm_type_field_bits(t, i, &bit);

			sub.name = ipm_type_field_name(t, i);
			if (width) { /* a bit field: a leaf of its own */
				struct ipm_field f = {off, ipm_type_size(ft), ipm_type_kind(ft),
						      (unsigned char)bit, (unsigned char)width, ft};

				put_leaf(w, &sub, &f, data);
				continue;
			}
			put_type(w, &sub, ft, off, data);
		}
		break;
	case IPM_ARRAY: {
		const ipm_type *e = ipm_type_elem(t);

		for (sub.index = 0; sub.index < ipm_type_count(t); sub.index++)
			put_type(w, &sub, e, offset + sub.index * ipm_type_size(e), data);
		break;
	}
	default: {
		struct ipm_field f = {offset, ipm_type_size(t), ipm_type_kind(t), 0, 0, t};

		put_leaf(w, st, &f, data);
	}
	}
}

/* The field path names in t (the whole of t for NULL or ""). */
static int values_root(const ipm_type *t, const char *path, struct ipm_field *f)
{
	if (!path || !*path) {
		*f = (struct ipm_field){0, ipm_type_size(t), ipm_type_kind(t), 0, 0, t};
		return 0;
	}
	return ipm_type_resolve(t, path, f, NULL);
}

/* See ipmmap.h. */
ssize_t ipm_values_format(const ipm_type *t, const char *path, const void *data, char *buf,
			  size_t len)
{
	struct out w = {buf, len, 0};
	struct step top = {NULL, path ? path : "", 0};
	struct ipm_field f;
	int rc = values_root(t, path, &f);

	if (rc < 0)
		return rc;
	put_type(&w, &top, f.type, f.offset, data);
	if (w.o >= len)
		return -ENOSPC;
	buf[w.o] = '\0';
	return (ssize_t)w.o;
}

/* ------------------------------------------------------------------------ */
/* The longest text                                                          */
/* ------------------------------------------------------------------------ */

/* The longest text of the leaves under a type is leaves * p + base for a
 * path of p bytes above it: worked out per type, arrays multiplied rather
 * than walked. Saturates at SIZE_MAX. */
struct span {
	size_t leaves; /* leaves under the type */
	size_t base;   /* their longest lines, less the path above */
};

static size_t sat_add(size_t a, size_t b)
{
	size_t r;

	return __builtin_add_overflow(a, b, &r) ? SIZE_MAX : r;
}

static size_t sat_mul(size_t a, size_t b)
{
	size_t r;

	return __builtin_mul_overflow(a, b, &r) ? SIZE_MAX : r;
}

/* Bytes of "[0]" .. "[n-1]" together. */
static size_t index_bytes(size_t n)
{
	size_t sum = 0, lo = 0, hi = 10, digits = 1;

	while (lo < n) {
		size_t k = (n < hi ? n : hi) - lo;

		sum = sat_add(sum, sat_mul(k, digits + 2));
		if (hi > SIZE_MAX / 10)
			break;
		lo = hi;
		hi *= 10;
		digits++;
	}
	return sum;
}

static struct span span_of(const ipm_type *t)
{
	struct span s = {0, 0}, c;

	switch (ipm_type_kind(t)) {
	case IPM_STRUCT:
		for (size_t i = 0; i < ipm_type_nfields(t); i++) {
			size_t step = 1 + strlen(ipm_type_field_name(t, i)); /* ".name" */

			c = span_of(ipm_type_field_type(t, i));
			s.leaves = sat_add(s.leaves, c.leaves);
			s.base = sat_add(s.base, sat_add(c.base, sat_mul(c.leaves, step)));
		}
		return s;
	case IPM_ARRAY:
		c = span_of(ipm_type_elem(t));
		s.leaves = sat_mul(c.leaves, ipm_type_count(t));
		s.base = sat_add(sat_mul(c.base, ipm_type_count(t)),
				 sat_mul(c.leaves, index_bytes(ipm_type_count(t))));
		return s;
	case IPM_STRING: /* " = ", every byte escaped (\xHH), newline */
		s.leaves = 1;
		s.base = sat_add(4, sat_mul(4, ipm_type_size(t)));
		return s;
	case IPM_WSTRING: /* each of 4 bytes: at most 4 of UTF-8, \xc2\xHH */
		s.leaves = 1;
		s.base = sat_add(4, sat_mul(2, ipm_type_size(t)));
		return s;
	default:
		s.leaves = 1;
		s.base = 4 + IPM_SCALAR_TEXTLEN - 1;
		return s;
	}
}

/* See ipmmap.h. */
size_t ipm_values_textlen(const ipm_type *t, const char *path)
{
	size_t p = path ? strlen(path) : 0, total;
	struct ipm_field f;
	struct span s;

	if (values_root(t, path, &f) < 0)
		return 0;
	s = span_of(f.type);
	total = sat_add(sat_mul(s.leaves, p), s.base);
	/* A structure's first names get no dot when no path is above them:
	 * counting one is only a byte too many per leaf. */
	return sat_add(total, 1);
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                   */
/* ------------------------------------------------------------------------ */

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* A string's value unescaped in place: its new length, or -EINVAL. */
static long unescape(char *v, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = v[i];

		if (c == '\\') {
			c = ++i < n ? v[i] : '\0';
			if (c == 'n')
				c = '\n';
			else if (c == 'r')
				c = '\r';
			else if (c == 'x' && n - i > 2 && hexval(v[i + 1]) >= 0 &&
				 hexval(v[i + 2]) >= 0) {
				c = (char)(hexval(v[i + 1]) << 4 | hexval(v[i + 2]));
				i += 2;
			} else if (c != '\\')
				return -EINVAL;
		}
		v[o++] = c;
	}
	return (long)o;
}

/* A char[N]'s unescaped bytes into dst: any bytes but NUL (its literal
 * text was checked to be UTF-8 before unescaping), NUL padded. */
static int put_bytes(const struct ipm_field *f, const char *v, size_t n, void *dst, char *err)
{
	const char *nul = memchr(v, '\0', n);

	if (n > f->size)
		return ipm_errf(err, -ERANGE, "text of %zu bytes too long for char[%zu]", n,
				f->size);
	if (nul)
		return ipm_errf(err, -EINVAL, "text has a NUL byte at offset %zu",
				(size_t)(nul - v));
	memcpy(dst, v, n);
	memset((char *)dst + n, 0, f->size - n);
	return 0;
}

/* Whether f lies in the header of t (its first field, if t is mappable). */
static int in_header(const ipm_type *t, const struct ipm_field *f)
{
	size_t hoff, hsize;

	if (!ipm_type_mappable(t))
		return 0;
	hoff = ipm_type_field_offset(t, 0);
	hsize = ipm_type_size(ipm_type_field_type(t, 0));
	return f->offset >= hoff && f->offset < hoff + hsize;
}

/* Whether the fields v collected so far write every byte of [off, end):
 * a bit field writes only its bits, so it covers no byte. */
static int covered(const struct ipm_values *v, size_t off, size_t end)
{
	for (;;) {
		size_t next = off;

		for (size_t i = v->n; i-- > 0;) {
			const struct ipm_field *g = &v->fields[i];

			if (!g->width && g->offset <= off && off < g->offset + g->size &&
			    g->offset + g->size > next)
				next = g->offset + g->size;
		}
		if (next >= end)
			return 1;
		if (next == off)
			return 0;
		off = next;
	}
}

/* How many of a field's bytes at src its text depends on: a string's up to
 * its first NUL, any other field's all. */
static size_t needed(const struct ipm_field *f, const unsigned char *src)
{
	static const unsigned char nul[IPM_WCHAR_SIZE];
	size_t unit = f->kind == IPM_WSTRING ? IPM_WCHAR_SIZE : 1;

	if (f->kind != IPM_STRING && f->kind != IPM_WSTRING)
		return f->size;
	for (size_t at = 0; at + unit <= f->size; at += unit)
		if (!memcmp(src + at, nul, unit))
			return at + unit;
	return f->size;
}

/* Whether the leaf at path name of t lies inside a union: only there do
 * two different fields write the same bytes. A prefix at each '.' and '['
 * is resolved (name is cut there for a moment). */
static int in_union(const ipm_type *t, char *name)
{
	if (ipm_type_is_union(t))
		return 1;
	for (char *p = name; *p; p++) {
		struct ipm_field g;
		char c = *p;
		int u;

		if (c != '.' && c != '[')
			continue;
		*p = '\0';
		u = ipm_type_resolve(t, name, &g, NULL) == 0 && ipm_type_is_union(g.type);
		*p = c;
		if (u)
			return 1;
	}
	return 0;
}

/* Whether earlier lines of v write all the bytes f's text depends on. Cheap
 * for a text in the order of the structure: only a field before v->reach
 * can overlap. Elsewhere only inside a union, since covered() looks through
 * every line so far: a field outside any union that a line gives again is
 * parsed again, to the same bytes. */
static int overlaps(const ipm_type *t, const struct ipm_values *v, const struct ipm_field *f,
		    char *name)
{
	const unsigned char *src = (const unsigned char *)v->bytes + f->offset;

	return v->fields && f->offset < v->reach && in_union(t, name) &&
	       covered(v, f->offset, f->offset + needed(f, src));
}

/* Whether the value text (len bytes) says what f's bytes at src already
 * say, as ipm_values_format() would write them. */
static int says_same(const struct ipm_field *f, const unsigned char *src, const char *text,
		     size_t len)
{
	char small[256], *buf = small;
	size_t room = f->size * 4 + IPM_SCALAR_TEXTLEN; /* UTF-8 of a wchar[N] */
	int n, same;

	if (room > sizeof(small) && !(buf = malloc(room)))
		return 0; /* then the line is written: slower, never wrong */
	n = ipm_text_format(f, src, buf, room > sizeof(small) ? room : sizeof(small));
	same = n >= 0 && (size_t)n == len && !memcmp(buf, text, len);
	if (buf != small)
		free(buf);
	return same;
}

/* One line (newline included or not) at line, len bytes, with room for a
 * NUL after them: changed in place. 1 with *out set, 0 for a line that
 * stores nothing, or a negative errno with why in err. A line over bytes
 * that earlier lines of v write, and that says what those bytes already
 * say, stores nothing either: a union's members are lines over the same
 * bytes, and a string member written again would cut what follows its NUL
 * (so a text read out and written back changes nothing). */
static int parse_line(const ipm_type *t, const struct ipm_values *vs, char *line, size_t len,
		      struct ipm_field *out, char *err)
{
	unsigned char *bytes = vs->bytes;
	char q[IPM_QUOTE_LEN], why[IPM_ERRLEN];
	char *eq, *name, *v, *end;
	struct ipm_field f;
	size_t vl;
	int rc;

	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (memchr(line, '\0', len)) /* no text has a NUL: "5\0junk" is not 5 */
		return ipm_errf(err, -EINVAL, "NUL byte in line");
	line[len] = '\0';
	name = line + strspn(line, " \t");
	if (!*name || *name == ';' || *name == '#')
		return 0;
	eq = strchr(name, '=');
	if (!eq)
		return ipm_errf(err, -EINVAL, "'%s': no '=' in line",
				ipm_quote(name, strlen(name), q));
	end = eq;
	while (end > name && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	rc = ipm_type_resolve(t, name, &f, why);
	if (rc == 0 && !ipm_kind_leaf(f.kind))
		rc = ipm_errf(why, -EINVAL, "%s: not a field but a %s", name,
			      f.kind == IPM_ARRAY ? "array" : "structure");
	if (rc < 0) /* not a field: ENOENT would read "no such file" */
		return ipm_errf(err, -EINVAL, "%s", why);
	v = eq + 1;
	vl = len - (size_t)(v - line);
	if (ipm_kind_text(f.kind)) {
		long n;
		size_t bad;

		if (*v == ' ') {
			v++;
			vl--;
		}
		bad = ipm_utf8_bad((const unsigned char *)v, vl);
		if (bad < vl) /* escapes are ASCII: only literal text is looked at */
			return ipm_errf(err, -EINVAL, "%s: text is not valid UTF-8 at offset %zu",
					name, bad);
		n = unescape(v, vl);
		if (n < 0)
			return ipm_errf(err, -EINVAL,
					"%s: bad escape (only \\\\, \\n, \\r and \\xHH)", name);
		vl = (size_t)n;
		if (overlaps(t, vs, &f, name) && says_same(&f, bytes + f.offset, v, vl))
			return 0;
		/* ipm_text_parse() takes one newline at the end as the end of
		 * the text, as a field file's writer sends it: give it one, so
		 * that a string's own last newline ("a\\n") is kept. v[vl] is
		 * the line's NUL or a byte the unescaping freed. */
		if (f.kind != IPM_STRING)
			v[vl++] = '\n';
	} else {
		size_t sp = strspn(v, " \t");

		v += sp;
		vl -= sp;
		while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			vl--;
		if (overlaps(t, vs, &f, name) && says_same(&f, bytes + f.offset, v, vl))
			return 0;
	}
	if (f.kind == IPM_STRING)
		rc = put_bytes(&f, v, vl, bytes + f.offset, why);
	else
		rc = ipm_text_parse(&f, v, vl, (unsigned char *)bytes + f.offset, why);
	if (rc < 0)
		return ipm_errf(err, rc, "%s: %s", name, why);
	if (in_header(t, &f))
		return 0;
	*out = f;
	return 1;
}

/* See ipmmap.h. */
int ipm_values_parse(const ipm_type *t, const char *text, size_t len, struct ipm_values *v,
		     char err[IPM_ERRLEN])
{
	char why[IPM_ERRLEN], *line = NULL;
	size_t p = 0, room = 0;
	int rc = 0;

	for (size_t i = 0; v->fields && !v->reach && i < v->n; i++) /* a v built again */
		if (v->fields[i].offset + v->fields[i].size > v->reach)
			v->reach = v->fields[i].offset + v->fields[i].size;
	while (p < len) {
		const char *nl = memchr(text + p, '\n', len - p);
		size_t l = nl ? (size_t)(nl - (text + p)) + 1 : len - p;
		struct ipm_field f;

		if (l + 1 > room) {
			char *tmp = realloc(line, l + 1);

			if (!tmp) {
				rc = ipm_errf(why, -ENOMEM, "out of memory");
				break;
			}
			line = tmp;
			room = l + 1;
		}
		memcpy(line, text + p, l);
		rc = parse_line(t, v, line, l, &f, why);
		if (rc > 0 && v->fields) {
			if (v->n == v->cap)
				rc = ipm_errf(why, -ENOSPC, "more fields than room for them (%zu)",
					      v->cap);
			else {
				v->fields[v->n++] = f;
				if (f.offset + f.size > v->reach)
					v->reach = f.offset + f.size;
			}
		}
		if (rc < 0)
			break;
		rc = 0;
		v->lines++;
		p += l;
	}
	free(line);
	if (rc < 0)
		ipm_errf(err, rc, "%s:%u: %s", v->name ? v->name : "line", v->lines + 1, why);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Applying                                                                  */
/* ------------------------------------------------------------------------ */

/* Only memory, safe to run twice: it runs guarded (ipmmap.h). Each field
 * is declared before it is written: the undo record saves what changes. */
static int apply_fn(ipm_map *m, void *ctx)
{
	const struct ipm_values *v = ctx;

	for (size_t i = 0; i < v->n; i++) {
		const struct ipm_field *f = &v->fields[i];
		void *p;
		int rc = ipm_write_range(m, f->offset, f->size, &p);

		if (rc < 0)
			return rc;
		if (f->width) { /* only its bits: the shadow's unit may be stale */
			unsigned char b[8];

			ipm_bits_get(f, (const unsigned char *)v->bytes + f->offset, b);
			ipm_bits_put(f, p, b);
		} else
			memcpy(p, (const unsigned char *)v->bytes + f->offset, f->size);
	}
	return 0;
}

/* See ipmmap.h. */
int ipm_values_apply(ipm_map *m, const struct ipm_values *v)
{
	int held = ipm_lock_held(m), rc;

	if (!v->n)
		return 0;
	if (!ipm_map_path(m))
		return ipm_errf(m->err, -EBADF, "handle is not open");
	if (ipm_map_role(m) == IPM_READER)
		return ipm_errf(m->err, -EACCES, "cannot write %s: handle is a reader",
				ipm_map_path(m));
	if (held == 1)
		return ipm_errf(m->err, -EPERM, "cannot write %s: handle holds only the read lock",
				ipm_map_path(m));
	if (!held) {
		rc = ipm_lock_write(m, -1);
		if (rc < 0)
			return rc;
	}
	rc = ipm_map_guarded(m, apply_fn, (void *)v);
	if (rc == 0)
		rc = ipm_map_touch(m);
	if (!held)
		ipm_unlock(m);
	return rc;
}
