/*
 * store.c - text written to a field file or to .values: placed, checked in
 * write() itself, and stored under one write lock (sysfs' "store").
 *
 * - A field: each write() is placed at its offset in the open file's buffer
 *   and the whole text is parsed strictly there, so that bad text fails
 *   write() itself with EINVAL or ERANGE (bash's builtin echo loses errors
 *   of close). The value is stored, with the header time stamp, under one
 *   write lock: a number as soon as its text ends with a newline; a string,
 *   and a number without one (printf 42, dd, Python), at the opener's last
 *   close (file.c), or when a new value starts at offset 0. So a value
 *   written in several chunks is stored once, whole. O_APPEND (>>) writes
 *   like > (sysfs does the same).
 * - A second value on the same open file: once a number ending in a
 *   newline was stored, a write at the end of it starts a new value, as on
 *   sysfs: `{ echo 1; echo 2; } > f` stores 1, then 2 (a string's text may
 *   hold newlines: see store_field_done()).
 * - .values: written lines are checked as soon as they are complete (bash
 *   writes one line per write()), and applied all together at the opener's
 *   last close under ONE write lock, only if every line was good.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"

#define FS_VALUES_MAX (1 << 20) /* longest text accepted by .values */
#define FS_SCALAR_CAP 128	/* longest text accepted by a number field */

/* See file.h. */
size_t fs_store_textcap(const struct fs_node *n)
{
	size_t cap;

	if (n->kind != FS_FIELD)
		return 0;
	/* Text accepted, then room for the parsed bytes, aligned. */
	cap = fs_is_text(n->field.kind) ? n->textmax + 1 : FS_SCALAR_CAP;
	if (cap < n->textmax + 1)
		cap = n->textmax + 1;
	return (cap + 15) & ~(size_t)15;
}

/* Stores bytes parsed from text: fields[i] from src + fields[i].offset,
 * or one field from src, with the time stamp, under one write lock. */
static int store_map(struct fs_inst *in, const struct ipm_field *fields, size_t n,
		     const unsigned char *src, int shifted)
{
	struct fs_lk lk;
	int rc;

	rc = fs_acquire(in, 1, &lk);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n && rc >= 0; i++)
		rc = ipm_set_bytes(lk.m, &fields[i], shifted ? src + fields[i].offset : src,
				   fields[i].size);
	if (rc >= 0)
		rc = ipm_map_touch(lk.m);
	fs_release(in, &lk);
	return rc < 0 ? rc : 0;
}

/* ------------------------------------------------------------------------ */
/* Field text                                                                */
/* ------------------------------------------------------------------------ */

/* Length of text without an incomplete UTF-8 character at its end, which a
 * later chunk (dd bs=16) may complete; len if it ends on a boundary. */
static size_t store_utf8_whole(const char *text, size_t len)
{
	for (size_t back = 1; back <= 3 && back <= len; back++) {
		unsigned char c = (unsigned char)text[len - back];
		size_t need;

		if ((c & 0xc0) == 0x80)
			continue; /* continuation byte: look further back */
		if (c >= 0x80 && (c < 0xc2 || c > 0xf4))
			return len; /* starts no character: never completed */
		need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		return need > back ? len - back : len;
	}
	return len;
}

/* The placed text parsed: 0 with h PENDING or CUT, or a negative errno. */
static int store_field_parse(struct fs_handle *h)
{
	const struct ipm_field *f = &h->node->field;
	unsigned char *scratch = (unsigned char *)h->buf + h->textcap;
	size_t whole;
	int rc;

	rc = ipm_text_parse(f, h->buf, h->len, scratch, NULL);
	if (!rc) {
		fs_file_to(h, FS_F_PENDING);
	} else if (rc == -EINVAL && fs_is_text(f->kind)) {
		whole = store_utf8_whole(h->buf, h->len);
		if (whole < h->len && !ipm_text_parse(f, h->buf, whole, scratch, NULL)) {
			fs_file_to(h, FS_F_CUT);
			rc = 0;
		}
	}
	return rc;
}

/* Stores the written text; FS_PARK leaves it pending (STORING). */
static int store_field_commit(struct fs_handle *h)
{
	int rc = 0;

	if (h->state == FS_F_CUT) /* fails, and says why */
		rc = ipm_text_parse(&h->node->field, h->buf, h->len,
				    (unsigned char *)h->buf + h->textcap, NULL);
	if (rc >= 0)
		rc = store_map(h->in, &h->node->field, 1, (unsigned char *)h->buf + h->textcap, 0);
	if (rc == 0)
		h->stores++;
	fs_file_to(h, rc == FS_PARK ? FS_F_STORING : FS_F_WRITTEN);
	return rc;
}

/* Written number text ending in a newline, stored: the next write at its
 * end starts a new value (sysfs: `{ echo 1; echo 2; } > f`). Not for a
 * string: its text may hold newlines, and bash's printf writes
 * "a\nb" as two writes, so a string's file takes all its text as one
 * value (`{ echo a; echo b; } > f` stores "a\nb"). */
static int store_field_done(const struct fs_handle *h)
{
	return !fs_is_text(h->node->field.kind) && h->state == FS_F_WRITTEN && h->len &&
	       h->buf[h->len - 1] == '\n';
}

static int store_field_write(struct fs_handle *h, const char *data, size_t size, off_t off)
{
	int rc;

	if (h->state == FS_F_STORING) /* parked after its text was placed */
		return store_field_commit(h);
	if (h->state == FS_F_SHOWN)
		h->len = 0;
	if (h->oflags & O_APPEND) {
		if (store_field_done(h))
			h->len = 0;
		off = (off_t)h->len;
	} else if (off == 0) {
		/* A new value: the one before it is complete. Parked, nothing
		 * has changed yet. */
		if (fs_file_pending(h)) {
			enum fs_fstate was = h->state;

			rc = store_field_commit(h);
			if (rc == FS_PARK)
				fs_file_to(h, was); /* run again from the start */
			if (rc < 0)
				return rc;
		}
		h->len = 0;
		h->base = 0;
	} else if (store_field_done(h) && off == h->base + (off_t)h->len) {
		h->base = off;
		h->len = 0;
	}
	if (off < h->base)
		return -EINVAL; /* back into a value already stored */
	off -= h->base;
	if ((size_t)off > h->textcap || size > h->textcap - (size_t)off)
		return fs_is_text(h->node->field.kind) ? -ERANGE : -EINVAL;
	if ((size_t)off > h->len)
		memset(h->buf + h->len, 0, (size_t)off - h->len); /* a hole: refused */
	memcpy(h->buf + off, data, size);
	if ((size_t)off + size > h->len)
		h->len = (size_t)off + size;
	rc = store_field_parse(h);
	if (rc < 0)
		return rc;
	/* A string waits for the close: its text may hold newlines. */
	if (fs_is_text(h->node->field.kind) || !h->len || h->buf[h->len - 1] != '\n')
		return 0;
	return store_field_commit(h);
}

/* ------------------------------------------------------------------------ */
/* .values text                                                              */
/* ------------------------------------------------------------------------ */

/* Checks (apply 0) or collects (apply 1) the lines of buf[from, to); see
 * values.c. */
static int store_values_parse(struct fs_handle *h, size_t from, size_t to, int apply)
{
	unsigned lines = h->lines;
	int rc;

	if (apply) {
		h->nset = 0;
		lines = 0;
	}
	rc = fs_values_parse(h->in->tree->type, h->scratch, h->buf + from, to - from,
			     apply ? h->set : NULL, &h->nset, &lines);
	if (rc < 0 && h->in->fs->verbose)
		fprintf(stderr, FS_NAME ": %s/.values:%u: refused: %s\n", h->in->dirname, lines + 1,
			strerror(-rc));
	if (!apply)
		h->lines = lines;
	return rc;
}

static int store_values_write(struct fs_handle *h, const char *data, size_t size, off_t off)
{
	const char *nl;
	size_t end;
	int rc;

	if (h->state == FS_F_SHOWN) {
		h->len = h->checked = 0;
		h->lines = 0;
	}
	if (h->oflags & O_APPEND)
		off = (off_t)h->len;
	if ((size_t)off > FS_VALUES_MAX || size > FS_VALUES_MAX - (size_t)off)
		return -EFBIG;
	if (!h->scratch) {
		h->scratch = calloc(1, ipm_type_size(h->in->tree->type));
		if (!h->scratch)
			return -ENOMEM;
	}
	rc = fs_file_grow(h, (size_t)off + size + 1);
	if (rc < 0)
		return rc;
	if ((size_t)off > h->len)
		memset(h->buf + h->len, '\n', (size_t)off - h->len);
	memcpy(h->buf + off, data, size);
	if ((size_t)off + size > h->len)
		h->len = (size_t)off + size;
	if ((size_t)off < h->checked) { /* rewritten: check again from the top */
		h->checked = 0;
		h->lines = 0;
	}
	fs_file_to(h, FS_F_PENDING);
	nl = memrchr(h->buf + h->checked, '\n', h->len - h->checked);
	if (!nl)
		return 0;
	end = (size_t)(nl - h->buf) + 1;
	rc = store_values_parse(h, h->checked, end, 0);
	h->checked = end;
	return rc;
}

/* All lines, then every value under one write lock. */
static int store_values_commit(struct fs_handle *h)
{
	size_t nl = 1;
	int rc;

	rc = store_values_parse(h, h->checked, h->len, 0);
	h->checked = h->len;
	if (rc < 0)
		goto out;
	/* At most one field per line. */
	for (const char *p = h->buf; (p = memchr(p, '\n', h->len - (size_t)(p - h->buf))); p++)
		nl++;
	free(h->set);
	h->set = malloc(nl * sizeof(*h->set));
	rc = h->set ? store_values_parse(h, 0, h->len, 1) : -ENOMEM;
	if (rc < 0 || !h->nset)
		goto out;
	rc = store_map(h->in, h->set, h->nset, h->scratch, 1);
	if (rc == 0)
		h->stores++;
out:
	/* Parked: parsed again when the waiter runs it. */
	fs_file_to(h, rc == FS_PARK ? FS_F_STORING : FS_F_WRITTEN);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Either                                                                    */
/* ------------------------------------------------------------------------ */

/* See file.h. */
int fs_store_write(struct fs_handle *h, const char *data, size_t size, off_t off)
{
	if (h->node->kind == FS_FIELD)
		return store_field_write(h, data, size, off);
	if (h->node->kind == FS_VALUES)
		return store_values_write(h, data, size, off);
	return -EACCES;
}

/* See file.h. */
int fs_store_commit(struct fs_handle *h)
{
	if (h->node->kind == FS_FIELD)
		return store_field_commit(h);
	if (h->node->kind == FS_VALUES)
		return store_values_commit(h);
	fs_file_to(h, FS_F_WRITTEN);
	return 0;
}
