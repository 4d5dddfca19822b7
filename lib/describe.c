/*
 * describe.c - a structure's definition as text, and back: the text a
 * manager stores with an instance (stored.c writes and reads the file), its
 * strict reader, and the comparison that names the first field where two
 * layouts part. See ipmmap.h, "Stored definitions".
 *
 * Only the public type calls of ipmmap.h are used to write the text, so it
 * says exactly what a schema file could say. Whatever a type holds that the
 * text cannot say (a kind this file does not know yet) shows when the text
 * is read back before it is handed out: it must lay out to the same size
 * and fingerprint, or it is not given at all.
 *
 * The reader trusts nothing: a length cap before anything else, a NUL byte
 * refused, a fixed header of four lines read by hand, the schema loader's
 * own rules for the rest, then the structure checked against the header and
 * against what the caller expects (the file's size).
 */
#include "ipmmap_i.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD_MAGIC "; ipmmap definition 1\n"
#define NAME_MAX_LEN 63 /* the schema loader's longest structure name */

/* A growing text; on failure of any append, rc says why and the text stops. */
struct sb {
	char *buf;  /* NUL-terminated when len > 0 */
	size_t len; /* bytes written, NUL not counted */
	size_t cap; /* bytes allocated */
	int rc;	    /* 0, -ENOMEM or -EFBIG */
};

__attribute__((format(printf, 2, 3))) static void sb_add(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->rc)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->buf ? b->buf + b->len : NULL, b->buf ? b->cap - b->len : 0, fmt,
			      ap);
		va_end(ap);
		if (n < 0) {
			b->rc = -ENOMEM;
			return;
		}
		if (b->buf && (size_t)n < b->cap - b->len)
			break;
		if (b->len + (size_t)n >= IPM_DEFINITION_MAX) {
			b->rc = -EFBIG;
			return;
		}
		size_t cap = b->cap ? b->cap : 4096;
		while (cap <= b->len + (size_t)n)
			cap *= 2;
		char *nb = realloc(b->buf, cap);

		if (!nb) {
			b->rc = -ENOMEM;
			return;
		}
		b->buf = nb;
		b->cap = cap;
	}
	b->len += (size_t)n;
}

/* The built-in header: every loader knows it, so it is never written. */
static bool is_builtin(const ipm_type *t)
{
	return !strcmp(ipm_type_name(t), IPM_HEADER_STRUCT) && ipm_type_line(t) == 0;
}

/* The structures already written, so each is written once. */
struct seen {
	const ipm_type **v; /* written structures */
	size_t n;	    /* entries in v */
	size_t cap;	    /* room in v */
};

static int seen_add(struct seen *s, const ipm_type *t)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == t)
			return 1;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		const ipm_type **v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = t;
	return 0;
}

/* Writes structure t after every structure it uses (its base first): a
 * reader needs no forward references, and a person reads it top down. The
 * schema loader bounds nesting, so the recursion is bounded too. */
static int emit(struct sb *b, struct seen *s, const ipm_type *t, char *err)
{
	const ipm_type *base = ipm_type_base(t);
	size_t first = base ? ipm_type_nfields(base) : 0, n = ipm_type_nfields(t), i;
	int rc;

	if (is_builtin(t))
		return 0;
	rc = seen_add(s, t);
	if (rc)
		return rc < 0 ? ipm_errf(err, rc, "out of memory") : 0;
	if (base && (rc = emit(b, s, base, err)) < 0)
		return rc;
	for (i = first; i < n; i++) {
		const ipm_type *ft = ipm_type_field_type(t, i);

		while (ipm_type_kind(ft) == IPM_ARRAY)
			ft = ipm_type_elem(ft);
		if (ipm_type_kind(ft) == IPM_STRUCT) {
			rc = emit(b, s, ft, err);
			if (rc < 0)
				return rc;
		} else if (!ipm_kind_leaf(ipm_type_kind(ft))) {
			return ipm_errf(err, -EINVAL, "cannot describe %s.%s: type %s",
					ipm_type_name(t), ipm_type_field_name(t, i),
					ipm_type_name(ft));
		}
	}
	if (base)
		sb_add(b, "\n[%s : %s]\n", ipm_type_name(t), ipm_type_name(base));
	else
		sb_add(b, "\n[%s%s]\n", ipm_type_name(t), ipm_type_is_union(t) ? " : Union" : "");
	/* A derived structure without its own _pack_ takes its base's. */
	if (ipm_type_pack(t) && (!base || ipm_type_pack(base) != ipm_type_pack(t)))
		sb_add(b, "_pack_ = %zu\n", ipm_type_pack(t));
	for (i = first; i < n; i++) {
		unsigned bit, bits = ipm_type_field_bits(t, i, &bit);

		sb_add(b, "%s = %s", ipm_type_field_name(t, i),
		       ipm_type_name(ipm_type_field_type(t, i)));
		sb_add(b, bits ? " : %u\n" : "\n", bits);
	}
	return 0;
}

/* See ipmmap.h. */
int ipm_type_describe(const ipm_type *t, char **text, char err[IPM_ERRLEN])
{
	struct sb b = {0};
	struct seen s = {0};
	ipm_schema *back = NULL;
	const ipm_type *bt;
	int rc;

	if (!text)
		return ipm_errf(err, -EINVAL, "no place for the text");
	*text = NULL;
	if (!t || ipm_type_kind(t) != IPM_STRUCT)
		return ipm_errf(err, -EINVAL, "cannot describe %s: not a structure",
				t ? ipm_type_name(t) : "nothing");
	sb_add(&b, HEAD_MAGIC "; structure = %s\n; size = %zu\n; fingerprint = 0x%016" PRIx64 "\n",
	       ipm_type_name(t), ipm_type_size(t), ipm_type_fingerprint(t));
	rc = emit(&b, &s, t, err);
	free(s.v);
	if (rc == 0 && b.rc)
		rc = b.rc == -EFBIG
			 ? ipm_errf(err, -EFBIG, "cannot describe %s: more than %d bytes of text",
				    ipm_type_name(t), IPM_DEFINITION_MAX)
			 : ipm_errf(err, b.rc, "out of memory");
	/* Read back: what the text cannot say shows here, not in a reader. */
	if (rc == 0) {
		rc = ipm_definition_parse(b.buf, b.len, ipm_type_name(t), ipm_type_name(t),
					  ipm_type_size(t), &back, &bt, err);
		if (rc < 0 && rc != -ENOMEM)
			rc = -EINVAL; /* err says where it went wrong */
		ipm_schema_free(back);
	}
	if (rc < 0) {
		free(b.buf);
		return rc;
	}
	*text = b.buf;
	return (int)b.len;
}

/* "; key = " at *p (the rest of the text: end), moved past it. */
static bool head_key(const char **p, const char *end, const char *key)
{
	size_t n = strlen(key);

	if ((size_t)(end - *p) < n + 5 || memcmp(*p, "; ", 2) || memcmp(*p + 2, key, n) ||
	    memcmp(*p + 2 + n, " = ", 3))
		return false;
	*p += n + 5;
	return true;
}

/* See ipmmap_i.h. */
int ipm_defhead_parse(const char *text, size_t len, const char *name, struct ipm_defhead *h,
		      char *err)
{
	const char *p = text, *end = text + len;
	size_t n = 0;
	int i;

	memset(h, 0, sizeof(*h));
	if (len < sizeof(HEAD_MAGIC) - 1 || memcmp(p, HEAD_MAGIC, sizeof(HEAD_MAGIC) - 1))
		return ipm_errf(err, -EINVAL,
				"%s:1: not a stored definition (expected '; ipmmap definition 1')",
				name);
	p += sizeof(HEAD_MAGIC) - 1;
	if (!head_key(&p, end, "structure"))
		return ipm_errf(err, -EINVAL, "%s:2: expected '; structure = NAME'", name);
	while (p + n < end && n <= NAME_MAX_LEN &&
	       ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') || p[n] == '_' ||
		(n && p[n] >= '0' && p[n] <= '9')))
		n++;
	if (!n || n > NAME_MAX_LEN || p + n == end || p[n] != '\n')
		return ipm_errf(err, -EINVAL, "%s:2: bad structure name", name);
	memcpy(h->structure, p, n);
	p += n + 1;
	if (!head_key(&p, end, "size"))
		return ipm_errf(err, -EINVAL, "%s:3: expected '; size = BYTES'", name);
	for (n = 0; p < end && *p >= '0' && *p <= '9' && n < 11; p++, n++)
		h->size = h->size * 10 + (uint64_t)(*p - '0');
	if (!n || n > 10 || (n > 1 && p[-(ptrdiff_t)n] == '0') || p == end || *p != '\n' ||
	    !h->size || h->size > IPM_SIZE_LIMIT)
		return ipm_errf(err, -EINVAL, "%s:3: bad size", name);
	p++;
	if (!head_key(&p, end, "fingerprint") || end - p < 19 || memcmp(p, "0x", 2))
		return ipm_errf(err, -EINVAL, "%s:4: expected '; fingerprint = 0x' and 16 digits",
				name);
	for (i = 2; i < 18; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (d < 0)
			return ipm_errf(err, -EINVAL, "%s:4: bad fingerprint", name);
		h->fingerprint = h->fingerprint << 4 | (uint64_t)d;
	}
	if (p[18] != '\n')
		return ipm_errf(err, -EINVAL, "%s:4: bad fingerprint", name);
	return 0;
}

/* See ipmmap.h. */
int ipm_definition_parse(const char *text, size_t len, const char *name, const char *structure,
			 size_t size, ipm_schema **schema, const ipm_type **type,
			 char err[IPM_ERRLEN])
{
	struct ipm_defhead h;
	const ipm_type *t;
	ipm_schema *s;
	char *copy;
	int rc;

	if (!schema || !type || (!text && len))
		return ipm_errf(err, -EINVAL, "nothing to read into");
	*schema = NULL;
	*type = NULL;
	if (!name)
		name = "<string>";
	if (len > IPM_DEFINITION_MAX)
		return ipm_errf(err, -EFBIG, "%s: too large (%zu bytes, at most %d)", name, len,
				IPM_DEFINITION_MAX);
	if (len && memchr(text, '\0', len))
		return ipm_errf(err, -EINVAL, "%s: NUL byte in the text", name);
	rc = ipm_defhead_parse(text, len, name, &h, err);
	if (rc < 0)
		return rc;
	if (structure && strcmp(structure, h.structure))
		return ipm_errf(err, -EINVAL, "%s: describes structure '%s', expected '%s'", name,
				h.structure, structure);
	copy = malloc(len + 1);
	s = ipm_schema_new();
	if (!copy || !s) {
		free(copy);
		ipm_schema_free(s);
		return ipm_errf(err, -ENOMEM, "out of memory");
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	rc = ipm_schema_load_string(s, copy, name);
	free(copy);
	if (rc < 0) {
		ipm_errf(err, rc, "%s", ipm_schema_errmsg(s));
		goto fail;
	}
	t = ipm_schema_find(s, h.structure);
	if (!t || is_builtin(t)) {
		rc = ipm_errf(err, -EINVAL, "%s: structure '%s' is not defined in it", name,
			      h.structure);
	} else if (!ipm_type_mappable(t)) {
		rc = ipm_errf(err, -EINVAL, "%s: structure '%s' does not start with %s", name,
			      h.structure, IPM_HEADER_STRUCT);
	} else if (ipm_type_size(t) != h.size) {
		rc = ipm_errf(err, -EINVAL,
			      "%s: '%s' lays out to %zu bytes, its header says %" PRIu64, name,
			      h.structure, ipm_type_size(t), h.size);
	} else if (ipm_type_fingerprint(t) != h.fingerprint) {
		rc = ipm_errf(err, -EINVAL,
			      "%s: '%s' has fingerprint 0x%016" PRIx64
			      ", its header says 0x%016" PRIx64,
			      name, h.structure, ipm_type_fingerprint(t), h.fingerprint);
	} else if (size && ipm_type_size(t) != size) {
		rc = ipm_errf(err, -EINVAL, "%s: '%s' lays out to %zu bytes, the file has %zu",
			      name, h.structure, ipm_type_size(t), size);
	}
	if (rc < 0)
		goto fail;
	*schema = s;
	*type = t;
	return 0;
fail:
	ipm_schema_free(s);
	return rc;
}

/* Appends s to the path of the difference; false when it does not fit. */
static bool path_add(char *path, size_t cap, size_t *used, const char *fmt, const char *s)
{
	int n = snprintf(path + *used, cap - *used, fmt, s);

	if (n < 0 || (size_t)n >= cap - *used)
		return false;
	*used += (size_t)n;
	return true;
}

/* Where a and b part, below the path built so far: 1 with why set, or 0
 * when they lay out alike. Arrays are compared through one element. */
static int differ(const ipm_type *a, const ipm_type *b, char *path, size_t cap, size_t used,
		  char *why, size_t wlen)
{
	const char *at = used ? path : "the structure";
	enum ipm_kind ka = ipm_type_kind(a), kb = ipm_type_kind(b);
	unsigned ba = 0, bb = 0;
	size_t na, nb, i;

	if (ka != kb || (ka != IPM_STRUCT && ipm_type_count(a) != ipm_type_count(b)) ||
	    (ka < IPM_ARRAY && ipm_type_size(a) != ipm_type_size(b))) {
		snprintf(why, wlen, "%s is %s here, %s there", at, ipm_type_name(a),
			 ipm_type_name(b));
		return 1;
	}
	if (ka == IPM_ARRAY)
		return path_add(path, cap, &used, "%s", "[]") &&
		       differ(ipm_type_elem(a), ipm_type_elem(b), path, cap, used, why, wlen);
	if (ka != IPM_STRUCT)
		return 0;
	na = ipm_type_nfields(a);
	nb = ipm_type_nfields(b);
	for (i = 0; i < na && i < nb; i++) {
		const char *fa = ipm_type_field_name(a, i), *fb = ipm_type_field_name(b, i);
		size_t u = used;

		if (strcmp(fa, fb)) {
			snprintf(why, wlen, "field %zu of %s is '%s' here, '%s' there", i + 1, at,
				 fa, fb);
			return 1;
		}
		if (!path_add(path, cap, &u, used ? ".%s" : "%s", fa))
			return 0;
		if (ipm_type_field_offset(a, i) != ipm_type_field_offset(b, i)) {
			snprintf(why, wlen, "%s is at offset %zu here, %zu there", path,
				 ipm_type_field_offset(a, i), ipm_type_field_offset(b, i));
			return 1;
		}
		if (ipm_type_field_bits(a, i, &ba) != ipm_type_field_bits(b, i, &bb) || ba != bb) {
			snprintf(why, wlen, "%s is bits %u..%u here, %u..%u there", path, ba,
				 ba + ipm_type_field_bits(a, i, &ba) - 1, bb,
				 bb + ipm_type_field_bits(b, i, &bb) - 1);
			return 1;
		}
		if (differ(ipm_type_field_type(a, i), ipm_type_field_type(b, i), path, cap, u, why,
			   wlen))
			return 1;
		path[used] = '\0';
	}
	if (na != nb) {
		const ipm_type *more = na > nb ? a : b;

		snprintf(why, wlen, "%s%s%s is %s", used ? path : "", used ? "." : "",
			 ipm_type_field_name(more, i), na > nb ? "here only" : "there only");
		return 1;
	}
	if (ipm_type_size(a) != ipm_type_size(b)) {
		snprintf(why, wlen, "%s is %zu bytes here, %zu there", at, ipm_type_size(a),
			 ipm_type_size(b));
		return 1;
	}
	return 0;
}

/* See ipmmap_i.h. */
int ipm_type_differ(const ipm_type *mine, const ipm_type *stored, char *why, size_t wlen)
{
	char path[512] = "";

	if (differ(mine, stored, path, sizeof(path), 0, why, wlen))
		return 1;
	if (ipm_type_fingerprint(mine) != ipm_type_fingerprint(stored)) {
		snprintf(why, wlen,
			 "layout fingerprint 0x%016" PRIx64 " here, 0x%016" PRIx64 " there",
			 ipm_type_fingerprint(mine), ipm_type_fingerprint(stored));
		return 1;
	}
	return 0;
}
