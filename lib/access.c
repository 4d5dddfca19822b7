/*
 * access.c - reading and writing fields of a mapped instance. See ipmmap.h.
 *
 * Every call follows one rule: use the lock the handle holds, or take the
 * one the call needs for its own duration. The typed calls are the hot path
 * of C users: with a lock held, ipm_get_i64() on an int32 is a few compares
 * and one load; messages are formatted only on failure.
 *
 * Every touch of the mapping runs inside ipm_map_guarded(), so a file cut
 * short under us is -EIO and not SIGBUS. The typed calls copy the field's
 * bytes between the mapping and a local buffer under the guard and convert
 * outside it. Every write declares its bytes first, in the same guarded
 * call (ipm_lock_declare(): their old bytes go into the undo record), so a
 * write costs what it writes, not the structure's size.
 */
#include "ipmmap_i.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Smallest magnitude a double rounds from to float infinity:
 * FLT_MAX plus half its last unit (the tie goes to even, i.e. infinity). */
#define FLT_OVERFLOW 0x1.ffffffp127

/* Names the field for a message: its path when the caller has one. */
static const char *where(const struct ipm_field *f, const char *path, char buf[96])
{
	if (path)
		return path;
	snprintf(buf, 96, "field at offset %zu (%s)", f->offset,
		 f->type && f->type->name	 ? f->type->name
		 : f->kind <= IPM_BOOL		 ? ipm_scalars[f->kind].name
		 : f->kind == IPM_LONGDOUBLE	 ? ipm_longdouble_type.name
		 : ipm_kind_text(f->kind)	 ? "string"
		 : f->kind == IPM_ARRAY		 ? "array"
						 : "structure");
	return buf;
}

static int may_write(ipm_map *m, const struct ipm_field *f, const char *path);

/* The handle is open, f lies inside its mapping, sized as its kind says, and
 * (to write) the handle may write now. */
static int check_field(ipm_map *m, const struct ipm_field *f, const char *path, bool write)
{
	char b[96];

	if (!m->data)
		return ipm_errf(m->err, -EBADF, "cannot access %s: map is not open",
				path ? path : "a field");
	if ((unsigned)f->kind > IPM_KIND_LAST ||
	    (f->kind <= IPM_BOOL && f->size != ipm_scalars[f->kind].size) ||
	    (f->kind == IPM_LONGDOUBLE && f->size != sizeof(long double)) ||
	    (f->kind == IPM_WSTRING && f->size % IPM_WCHAR_SIZE))
		return ipm_errf(m->err, -EINVAL, "%s: bad field descriptor", where(f, path, b));
	if (f->size > m->size || f->offset > m->size - f->size)
		return ipm_errf(m->err, -EINVAL, "%s: not inside %s (%zu bytes)", where(f, path, b),
				m->type && m->type->name ? m->type->name : "the structure",
				m->size);
	return write ? may_write(m, f, path) : 0;
}

/* Whether the handle may write now: a reader never, and not under a read
 * lock. f NULL: the whole structure. */
static int may_write(ipm_map *m, const struct ipm_field *f, const char *path)
{
	char b[96];
	int rc;

	if (m->role == IPM_READER)
		rc = -EACCES;
	else if (m->held == 1)
		rc = -EPERM;
	else
		return 0;
	return ipm_errf(m->err, rc, "cannot write %s: %s",
			f ? where(f, path, b) : m->path ? m->path : "the map",
			rc == -EACCES ? "handle is a reader" : "handle holds only the read lock");
}

/* Takes the lock the call needs if the handle holds none: 1 if it did (pass
 * that to end()), 0 if one is held, or a negative errno. */
static int begin(ipm_map *m, bool write)
{
	int rc;

	if (m->held)
		return 0;
	rc = write ? ipm_lock_write(m, -1) : ipm_lock_read_access(m);
	return rc < 0 ? rc : 1;
}

static void end(ipm_map *m, int took)
{
	if (took > 0)
		ipm_unlock(m);
}

/* n bytes between offset off of what the handle reads and buf. */
struct span {
	size_t off;     /* in the structure */
	void *buf;      /* the caller's side */
	size_t n;       /* bytes */
	bool in;        /* true: buf into the mapping */
};

static int span_copy(ipm_map *m, void *ctx)
{
	struct span *s = ctx;
	int rc;

	if (s->in) {
		rc = ipm_lock_declare(m, s->off, s->n);
		if (rc < 0)
			return rc;
		memcpy(m->data + s->off, s->buf, s->n);
	} else {
		memcpy(s->buf, m->data + s->off, s->n);
	}
	return 0;
}

static int copy_out(ipm_map *m, size_t off, void *buf, size_t n)
{
	struct span s = {off, buf, n, false};

	return ipm_map_guarded(m, span_copy, &s);
}

/*
 * n bytes at off into buf as the rule says: under the lock the handle holds;
 * without any on a native instance (seqread.c); or under a read lock taken
 * for the call.
 */
static int read_span(ipm_map *m, size_t off, void *buf, size_t n)
{
	int rc, took;

	if (ipm_seq_may(m)) {
		rc = ipm_seq_read(m, off, buf, n);
		if (rc != IPM_SEQ_LOCK)
			return rc;
	}
	took = begin(m, false);
	if (took < 0)
		return took;
	rc = copy_out(m, off, buf, n);
	end(m, took);
	return rc;
}

/* Room for a field's bytes read without a lock: on the stack up to its
 * size, else allocated. */
struct fieldcopy {
	unsigned char stack[256];
	unsigned char *p; /* stack or allocated */
};

/* f's bytes copied without a lock into c->p: 0, a negative errno, or
 * IPM_SEQ_LOCK when the caller must read under the lock. */
static int field_lockfree(ipm_map *m, const struct ipm_field *f, struct fieldcopy *c)
{
	int rc;

	c->p = NULL;
	if (!ipm_seq_may(m))
		return IPM_SEQ_LOCK;
	c->p = f->size <= sizeof(c->stack) ? c->stack : malloc(f->size);
	if (!c->p)
		return IPM_SEQ_LOCK; /* the lock path needs no memory */
	rc = ipm_seq_read(m, f->offset, c->p, f->size);
	if (rc == IPM_SEQ_LOCK) {
		if (c->p != c->stack)
			free(c->p);
		c->p = NULL;
	}
	return rc;
}

static void field_done(struct fieldcopy *c)
{
	if (c->p && c->p != c->stack)
		free(c->p);
}

static int copy_in(ipm_map *m, size_t off, const void *buf, size_t n)
{
	struct span s = {off, (void *)buf, n, true};

	return ipm_map_guarded(m, span_copy, &s);
}

/* Stores a field's bytes; a bit field's only its bits, from the unit at buf. */
static int copy_field_in(ipm_map *m, const struct ipm_field *f, const void *buf)
{
	return f->width ? ipm_bits_store(m, f, buf) : copy_in(m, f->offset, buf, f->size);
}

static bool is_int(enum ipm_kind k)
{
	return k <= IPM_UINT64 || k == IPM_BOOL;
}

static int kind_mismatch(ipm_map *m, const struct ipm_field *f, const char *want)
{
	char b[96];

	return ipm_errf(m->err, -EINVAL, "%s: not %s field", where(f, NULL, b), want);
}

/* The common part of the integer getters: checks, reads under the lock the
 * rule asks for, and loads the value (see ipm_load_int()). */
static int read_int(ipm_map *m, const struct ipm_field *f, uint64_t *u, bool *neg)
{
	unsigned char v[8];
	int rc = check_field(m, f, NULL, false);

	if (rc < 0)
		return rc;
	if (!is_int(f->kind))
		return kind_mismatch(m, f, "an integer or bool");
	assert(f->size <= sizeof(v)); /* check_field() matched size and kind */
	rc = read_span(m, f->offset, v, f->size);
	if (rc < 0)
		return rc;
	if (f->width)
		ipm_bits_get(f, v, v);
	*u = ipm_load_int(v, f->kind, neg);
	return 0;
}

int ipm_get_i64(ipm_map *m, const struct ipm_field *f, int64_t *out)
{
	uint64_t u;
	bool neg;
	int rc = read_int(m, f, &u, &neg);

	if (rc < 0)
		return rc;
	if (!neg && u > INT64_MAX) {
		char b[96];

		return ipm_errf(m->err, -ERANGE, "%s: value %" PRIu64 " does not fit in int64",
				where(f, NULL, b), u);
	}
	*out = (int64_t)u;
	return 0;
}

int ipm_get_u64(ipm_map *m, const struct ipm_field *f, uint64_t *out)
{
	uint64_t u;
	bool neg;
	int rc = read_int(m, f, &u, &neg);

	if (rc < 0)
		return rc;
	if (neg) {
		char b[96];

		return ipm_errf(m->err, -ERANGE, "%s: value %" PRId64 " does not fit in uint64",
				where(f, NULL, b), (int64_t)u);
	}
	*out = u;
	return 0;
}

int ipm_get_f64(ipm_map *m, const struct ipm_field *f, double *out)
{
	unsigned char v[sizeof(long double)];
	uint64_t u;
	bool neg;
	float fl;
	long double ld;
	int rc = check_field(m, f, NULL, false);

	if (rc < 0)
		return rc;
	if (f->kind > IPM_BOOL && f->kind != IPM_LONGDOUBLE)
		return kind_mismatch(m, f, "a number");
	assert(f->size <= sizeof(v)); /* check_field() matched size and kind */
	rc = read_span(m, f->offset, v, f->size);
	if (rc < 0)
		return rc;
	if (f->kind == IPM_FLOAT) {
		memcpy(&fl, v, 4);
		*out = fl;
	} else if (f->kind == IPM_DOUBLE) {
		memcpy(out, v, 8);
	} else if (f->kind == IPM_LONGDOUBLE) {
		/* rounded to the nearest double, as Python reads c_longdouble;
		 * only a finite value past double's range is refused */
		memcpy(&ld, v, sizeof(ld));
		if (isfinite(ld) && fabsl(ld) > DBL_MAX) {
			char b[96];

			return ipm_errf(m->err, -ERANGE, "%s: value %Lg does not fit in double",
					where(f, NULL, b), ld);
		}
		*out = (double)ld;
	} else {
		if (f->width)
			ipm_bits_get(f, v, v);
		u = ipm_load_int(v, f->kind, &neg);
		*out = neg ? (double)(int64_t)u : (double)u;
	}
	return 0;
}

/* A string field's text into a buffer, if it fits. */
struct str_out {
	const struct ipm_field *f; /* the field */
	char *buf;                 /* the caller's buffer */
	size_t len;                /* its size */
	size_t n;                  /* out: length of the text */
};

/* The text of the field's bytes at p into o: a wide one as UTF-8. */
static int str_from(struct str_out *o, const unsigned char *p)
{
	const unsigned char *nul;

	if (o->f->kind == IPM_WSTRING) {
		int n = ipm_wtext_format(o->f->size / IPM_WCHAR_SIZE, p, o->buf, o->len, &o->n);

		return n < 0 ? n : 0;
	}
	nul = memchr(p, '\0', o->f->size);
	o->n = nul ? (size_t)(nul - p) : o->f->size;
	if (o->n >= o->len)
		return -ENOSPC;
	memcpy(o->buf, p, o->n);
	o->buf[o->n] = '\0';
	return 0;
}

static int str_copy(ipm_map *m, void *ctx)
{
	struct str_out *o = ctx;

	return str_from(o, m->data + o->f->offset);
}

int ipm_get_str(ipm_map *m, const struct ipm_field *f, char *buf, size_t len)
{
	struct str_out o = {f, buf, len, 0};
	struct fieldcopy c;
	char b[96];
	int rc = check_field(m, f, NULL, false), took;

	if (rc < 0)
		return rc;
	if (!ipm_kind_text(f->kind))
		return kind_mismatch(m, f, "a string");
	rc = field_lockfree(m, f, &c);
	if (rc == 0)
		rc = str_from(&o, c.p);
	field_done(&c);
	if (rc == IPM_SEQ_LOCK) {
		took = begin(m, false);
		if (took < 0)
			return took;
		rc = ipm_map_guarded(m, str_copy, &o);
		end(m, took);
	}
	if (rc == -ENOSPC)
		return ipm_errf(m->err, -ENOSPC, "%s: %zu bytes of text do not fit in %zu",
				where(f, NULL, b), o.n, len);
	return rc;
}

int ipm_get_bytes(ipm_map *m, const struct ipm_field *f, void *buf, size_t len)
{
	char b[96];
	int rc = check_field(m, f, NULL, false);

	if (rc < 0)
		return rc;
	if (len != f->size)
		return ipm_errf(m->err, -EINVAL, "%s: buffer of %zu bytes for %zu",
				where(f, NULL, b), len, f->size);
	return read_span(m, f->offset, buf, f->size);
}

/* Writes an integer v (negative when neg) into an integer or bool field. */
static int set_int(ipm_map *m, const struct ipm_field *f, bool neg, uint64_t v)
{
	unsigned char tmp[8];
	const struct ipm_scalar *l;
	char b[96];
	int rc = check_field(m, f, NULL, true), took;

	if (rc < 0)
		return rc;
	if (!is_int(f->kind))
		return kind_mismatch(m, f, "an integer or bool");
	l = &ipm_scalars[f->kind];
	if (neg ? (int64_t)v < l->min : v > l->max) {
		if (neg)
			return ipm_errf(m->err, -ERANGE,
					"%s: value %" PRId64 " out of range for %s (%" PRId64
					"..%" PRIu64 ")",
					where(f, NULL, b), (int64_t)v, l->name, l->min, l->max);
		return ipm_errf(m->err, -ERANGE,
				"%s: value %" PRIu64 " out of range for %s (%" PRId64 "..%" PRIu64
				")",
				where(f, NULL, b), v, l->name, l->min, l->max);
	}
	ipm_store_int(tmp, f->size, v);
	if (f->width) { /* the value checked, then placed in a unit */
		unsigned char val[8];
		char e[IPM_ERRLEN];

		memcpy(val, tmp, sizeof(val));
		if (ipm_bits_check(f, val, e) < 0)
			return ipm_errf(m->err, -ERANGE, "%s: %s", where(f, NULL, b), e);
		ipm_bits_put(f, tmp, val);
	}
	took = begin(m, true);
	if (took < 0)
		return took;
	rc = copy_field_in(m, f, tmp);
	end(m, took);
	return rc;
}

int ipm_set_i64(ipm_map *m, const struct ipm_field *f, int64_t v)
{
	return set_int(m, f, v < 0, (uint64_t)v);
}

int ipm_set_u64(ipm_map *m, const struct ipm_field *f, uint64_t v)
{
	return set_int(m, f, false, v);
}

int ipm_set_f64(ipm_map *m, const struct ipm_field *f, double v)
{
	char b[96];
	unsigned char ld[sizeof(long double)];
	float fl;
	int rc = check_field(m, f, NULL, true), took;

	if (rc < 0)
		return rc;
	if (f->kind != IPM_FLOAT && f->kind != IPM_DOUBLE && f->kind != IPM_LONGDOUBLE)
		return kind_mismatch(m, f, "a float, double or longdouble");
	/* compare before converting: an out-of-range conversion is undefined in C */
	if (f->kind == IPM_FLOAT && isfinite(v) && fabs(v) >= FLT_OVERFLOW)
		return ipm_errf(m->err, -ERANGE, "%s: value %g out of range for float",
				where(f, NULL, b), v);
	fl = (float)v;
	if (f->kind == IPM_FLOAT && fl == 0 && v != 0)
		return ipm_errf(m->err, -ERANGE, "%s: value %g out of range for float (rounds to 0)",
				where(f, NULL, b), v);
	if (f->kind == IPM_LONGDOUBLE)
		ipm_store_ldouble(ld, v); /* any double is a long double, exactly */
	took = begin(m, true);
	if (took < 0)
		return took;
	if (f->kind == IPM_FLOAT)
		rc = copy_in(m, f->offset, &fl, 4);
	else if (f->kind == IPM_LONGDOUBLE)
		rc = copy_in(m, f->offset, ld, sizeof(ld));
	else
		rc = copy_in(m, f->offset, &v, 8);
	end(m, took);
	return rc;
}

/* n bytes of text into a string field, the rest zero filled. */
struct str_in {
	const struct ipm_field *f; /* the field */
	const char *s;             /* the text */
	size_t n;                  /* its length, at most f->size */
};

static int str_store(ipm_map *m, void *ctx)
{
	const struct str_in *in = ctx;
	int rc = ipm_lock_declare(m, in->f->offset, in->f->size);

	if (rc < 0)
		return rc;
	if (in->f->kind == IPM_WSTRING) /* checked: cannot fail */
		return ipm_wtext_parse(in->f->size / IPM_WCHAR_SIZE, in->s, in->n,
				       m->data + in->f->offset, NULL);
	memcpy(m->data + in->f->offset, in->s, in->n);
	memset(m->data + in->f->offset + in->n, 0, in->f->size - in->n);
	return 0;
}

int ipm_set_str(ipm_map *m, const struct ipm_field *f, const char *s)
{
	char b[96];
	size_t n;
	int rc = check_field(m, f, NULL, true), took;

	if (rc < 0)
		return rc;
	if (!ipm_kind_text(f->kind))
		return kind_mismatch(m, f, "a string");
	n = strlen(s);
	if (f->kind == IPM_WSTRING) {
		char e[IPM_ERRLEN];

		/* checked before the lock, stored in place under it */
		rc = ipm_wtext_parse(f->size / IPM_WCHAR_SIZE, s, n, NULL, e);
		if (rc < 0)
			return ipm_errf(m->err, rc, "%s: %s", where(f, NULL, b), e);
	} else if (n > f->size)
		return ipm_errf(m->err, -ERANGE, "%s: text of %zu bytes too long for char[%zu]",
				where(f, NULL, b), n, f->size);
	took = begin(m, true);
	if (took < 0)
		return took;
	rc = ipm_map_guarded(m, str_store, &(struct str_in){f, s, n});
	end(m, took);
	return rc;
}

int ipm_set_bytes(ipm_map *m, const struct ipm_field *f, const void *buf, size_t len)
{
	char b[96];
	int rc = check_field(m, f, NULL, true), took;

	if (rc < 0)
		return rc;
	if (len != f->size)
		return ipm_errf(m->err, -EINVAL, "%s: %zu bytes for a field of %zu",
				where(f, NULL, b), len, f->size);
	took = begin(m, true);
	if (took < 0)
		return took;
	rc = copy_field_in(m, f, buf);
	end(m, took);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Text                                                                      */
/* ------------------------------------------------------------------------ */

/* A field as text, or text parsed into a string field in place. */
struct text_io {
	const struct ipm_field *f; /* the field */
	char *buf;                 /* text: out (format) or in (parse) */
	size_t len;                /* buffer size, or text length */
	char *err;                 /* parse: IPM_ERRLEN bytes for the message */
};

static int text_out(ipm_map *m, void *ctx)
{
	struct text_io *t = ctx;

	return ipm_text_format(t->f, m->data + t->f->offset, t->buf, t->len);
}

static int text_in(ipm_map *m, void *ctx)
{
	struct text_io *t = ctx;
	int rc = ipm_lock_declare(m, t->f->offset, t->f->size);

	if (rc < 0)
		return rc;
	return ipm_text_parse(t->f, t->buf, t->len, m->data + t->f->offset, t->err);
}

static int get_text(ipm_map *m, const struct ipm_field *f, const char *path, char *buf,
		    size_t len)
{
	struct fieldcopy c;
	char b[96];
	int rc = check_field(m, f, path, false), took;

	if (rc < 0)
		return rc;
	if (!ipm_kind_leaf(f->kind))
		return ipm_errf(m->err, -EINVAL, "%s: %s has no text value", where(f, path, b),
				f->kind == IPM_ARRAY ? "an array" : "a structure");
	took = field_lockfree(m, f, &c);
	if (took == 0)
		rc = ipm_text_format(f, c.p, buf, len); /* a length: may be 1 */
	else
		rc = took;
	field_done(&c);
	if (took == IPM_SEQ_LOCK) {
		took = begin(m, false);
		if (took < 0)
			return took;
		rc = ipm_map_guarded(m, text_out, &(struct text_io){f, buf, len, NULL});
		end(m, took);
	}
	if (rc == -ENOSPC)
		return ipm_errf(m->err, rc, "%s: text does not fit in %zu bytes", where(f, path, b),
				len);
	return rc;
}

static int set_text(ipm_map *m, const struct ipm_field *f, const char *path, const char *text,
		    size_t len)
{
	char b[96], e[IPM_ERRLEN];
	unsigned char tmp[sizeof(long double)] = {0};
	bool scalar = ipm_kind_leaf(f->kind) && !ipm_kind_text(f->kind);
	int rc = check_field(m, f, path, true), took;

	if (rc < 0)
		return rc;
	/* A scalar is parsed before the lock is taken, to hold it shortly; a
	 * string may be large and is parsed in place (nothing is written unless
	 * all of it is valid). */
	if (scalar) {
		assert(f->size <= sizeof(tmp));
		rc = ipm_text_parse(f, text, len, tmp, e);
		if (rc < 0)
			return ipm_errf(m->err, rc, "%s: %s", where(f, path, b), e);
	} else if (!ipm_kind_leaf(f->kind)) {
		return ipm_errf(m->err, -EINVAL, "%s: %s has no text value", where(f, path, b),
				f->kind == IPM_ARRAY ? "an array" : "a structure");
	}
	took = begin(m, true);
	if (took < 0)
		return took;
	if (scalar)
		rc = copy_field_in(m, f, tmp);
	else
		rc = ipm_map_guarded(m, text_in, &(struct text_io){f, (char *)text, len, e});
	end(m, took);
	if (rc == -EIO)
		return rc;
	if (rc < 0)
		return ipm_errf(m->err, rc, "%s: %s", where(f, path, b), e);
	return 0;
}

int ipm_get_text(ipm_map *m, const struct ipm_field *f, char *buf, size_t len)
{
	return get_text(m, f, NULL, buf, len);
}

int ipm_set_text(ipm_map *m, const struct ipm_field *f, const char *text, size_t len)
{
	return set_text(m, f, NULL, text, len);
}

int ipm_read_text(ipm_map *m, const char *path, char *buf, size_t len)
{
	struct ipm_field f;
	int rc = ipm_map_resolve(m, path, &f);

	return rc < 0 ? rc : get_text(m, &f, path, buf, len);
}

int ipm_write_text(ipm_map *m, const char *path, const char *text)
{
	struct ipm_field f;
	int rc = ipm_map_resolve(m, path, &f);

	return rc < 0 ? rc : set_text(m, &f, path, text, strlen(text));
}

/* ------------------------------------------------------------------------ */
/* Whole structure and header                                                */
/* ------------------------------------------------------------------------ */

/* Open, and (for writing) allowed to write; what names the operation. */
static int whole(ipm_map *m, bool write, const char *what)
{
	if (!m->data)
		return ipm_errf(m->err, -EBADF, "cannot %s: map is not open", what);
	if (write)
		return may_write(m, NULL, NULL);
	return 0;
}

int ipm_map_copy(ipm_map *m, void *buf, size_t len)
{
	int rc = whole(m, false, "copy");

	if (rc < 0)
		return rc;
	if (len < m->size)
		return ipm_errf(m->err, -ENOSPC, "cannot copy %zu bytes into a buffer of %zu",
				m->size, len);
	return read_span(m, 0, buf, m->size);
}

int ipm_map_peek(ipm_map *m, size_t off, void *buf, size_t len)
{
	int rc = whole(m, false, "peek");

	if (rc < 0)
		return rc;
	if (off > m->size || len > m->size - off)
		return ipm_errf(m->err, -EINVAL, "cannot peek %zu bytes at %zu: not inside %zu",
				len, off, m->size);
	if (m->held)
		return copy_out(m, off, buf, len);
	rc = ipm_seq_may(m) ? ipm_seq_read(m, off, buf, len) : IPM_SEQ_LOCK;
	if (rc == IPM_SEQ_LOCK)
		return ipm_errf(m->err, -EAGAIN, "%s: cannot be read without the lock now",
				m->path);
	return rc;
}

static int clear_all(ipm_map *m, void *ctx)
{
	int16_t code = IPM_HEADER_CODE;
	int rc = ipm_lock_declare(m, 0, m->size);

	(void)ctx;
	if (rc < 0)
		return rc;
	/* the header code stays: a zero one would make the file look foreign */
	memset(m->data, 0, m->size);
	memcpy(m->data + IPM_HDR_CODE_OFF, &code, sizeof(code));
	return 0;
}

int ipm_map_clear(ipm_map *m)
{
	int rc = whole(m, true, "clear"), took;

	if (rc < 0)
		return rc;
	took = begin(m, true);
	if (took < 0)
		return took;
	rc = ipm_map_guarded(m, clear_all, NULL);
	end(m, took);
	return rc;
}

int ipm_map_touch(ipm_map *m)
{
	double now;
	int rc = whole(m, true, "touch"), took;

	if (rc < 0)
		return rc;
	now = ipm_now_realtime();
	took = begin(m, true);
	if (took < 0)
		return took;
	rc = copy_in(m, IPM_HDR_STAMP_OFF, &now, sizeof(now));
	end(m, took);
	return rc;
}

int ipm_map_timestamp(ipm_map *m, double *out)
{
	int rc = whole(m, false, "read the time stamp");

	if (rc < 0)
		return rc;
	return read_span(m, IPM_HDR_STAMP_OFF, out, sizeof(*out));
}

/* ------------------------------------------------------------------------ */
/* Raw writes                                                                */
/* ------------------------------------------------------------------------ */

struct range {
	size_t off; /* in the structure */
	size_t len; /* bytes */
};

static int range_declare(ipm_map *m, void *ctx)
{
	const struct range *r = ctx;

	return ipm_lock_declare(m, r->off, r->len);
}

int ipm_write_range(ipm_map *m, size_t offset, size_t len, void **ptr)
{
	struct range r = {offset, len};
	int rc;

	if (!m)
		return -EBADF;
	rc = whole(m, true, "declare a write");
	if (rc < 0)
		return rc;
	if (m->held != IPM_HELD_WRITE)
		return ipm_errf(m->err, -EPERM, "cannot declare a write to %s: %s", m->path,
				"handle does not hold the write lock");
	if (len > m->size || offset > m->size - len)
		return ipm_errf(m->err, -EINVAL,
				"cannot declare a write of %zu bytes at offset %zu: not inside %s "
				"(%zu bytes)",
				len, offset,
				m->type && m->type->name ? m->type->name : "the structure",
				m->size);
	rc = ipm_map_guarded(m, range_declare, &r);
	if (rc == 0 && ptr)
		*ptr = m->data + offset;
	return rc;
}
