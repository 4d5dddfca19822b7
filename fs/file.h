/*
 * file.h - one open file of the mount: its buffer and its state. Private to
 * file.c (the requests on an open file) and store.c (written text checked
 * and stored); the rest of fs/ sees struct fs_handle as opaque.
 *
 * The states of an open file's buffer (FS_F_*), and who moves it:
 *
 *            read@0                 write (checked)           store
 *   FRESH ----------> SHOWN ------------------------> PENDING ------> WRITTEN
 *     |                ^  \__ write refused (err) ___/  |  ^  \          |
 *     |                |                               CUT |  `- STORING-'
 *     `- write ------->|<------------- read@0 --------------------------'
 *
 * - FRESH: opened; nothing read or written yet.
 * - SHOWN: buf holds the text the last read at offset 0 rendered, or, with
 *   primed set, the text an fstat or the open itself rendered or was handed
 *   (attr.c), which the next read serves instead of rendering anew.
 * - PENDING: buf holds written text, checked good so far, not stored yet.
 * - CUT: as PENDING, but the text ends inside a UTF-8 character that a
 *   later write may finish; storing it as it is fails (EINVAL).
 * - STORING: the store of the written text found the lock busy and its
 *   request was parked; run again, the request only stores.
 * - WRITTEN: buf holds written text and nothing is pending: it was stored,
 *   or refused (err), or dropped (a writer was killed: err is -ECANCELED).
 * fs_file_to() asserts every move against this diagram. A read of a file
 * with pending text stores it first (O_RDWR), so SHOWN is never entered
 * with text pending.
 */
#ifndef IPMFS_FILE_H
#define IPMFS_FILE_H

#include "fs.h"

/* Files tables (lock owners) other than the opener's remembered as
 * writers of one open file. */
#define FS_WRITERS 4

enum fs_fstate {
	FS_F_FRESH,
	FS_F_SHOWN,
	FS_F_PENDING,
	FS_F_CUT,
	FS_F_STORING,
	FS_F_WRITTEN,
};

/* One open file. */
struct fs_handle {
	pthread_mutex_t mu;	      /* guards all below but the links; made once at malloc */
	struct fs_handle *next;	      /* free list, or open list; under fs->free_mu */
	struct fs_handle *prev;	      /* open list */
	struct fs_handle *inext;      /* fs->byino chain (read-only opens); under free_mu */
	struct fs_poll *poll;	      /* poll state once polled (poll.c), else NULL */
	struct fs_inst *in;	      /* instance */
	const struct fs_node *node;   /* file */
	char *buf;		      /* text: rendered, or written so far */
	size_t cap;		      /* bytes at buf */
	size_t len;		      /* bytes of text in buf */
	size_t textcap;		      /* field: bytes of text accepted; scratch follows */
	size_t checked;		      /* .values: bytes of complete lines checked */
	off_t base;		      /* field: file offset of the value being written */
	unsigned parked;	      /* requests of this handle parked (park.c) */
	unsigned lines;		      /* .values: lines in those bytes */
	int err;		      /* sticky negative errno of a refused write */
	int oflags;		      /* open(2) flags: O_APPEND is looked at */
	enum fs_fstate state;	      /* see the diagram above */
	int primed;		      /* SHOWN by an open or fstat, not read yet */
	unsigned stores;	      /* values stored through this open file */
	struct fs_snapmeta meta;      /* SHOWN: what buf was rendered from */
	fuse_ino_t ino;		      /* its inode */
	pid_t opener;		      /* the task that opened it */
	uint64_t owner;		      /* the opener's files table; 0 until seen */
	uint64_t writers[FS_WRITERS]; /* other files tables that wrote to it */
	unsigned nwriters;	      /* entries in writers; FS_WRITERS + 1: more */
	unsigned char *scratch;	      /* .values: parsed values, structure-sized */
	struct ipm_field *set;	      /* .values: fields to store */
	size_t nset;		      /* entries in set */
	char small[192];	      /* buf for short texts: no allocation per open */
};

/* Moves h to state to, asserting the move is one of the diagram's. */
void fs_file_to(struct fs_handle *h, enum fs_fstate to);

/* Written text not stored yet: PENDING, CUT or STORING. */
static inline int fs_file_pending(const struct fs_handle *h)
{
	return h->state == FS_F_PENDING || h->state == FS_F_CUT || h->state == FS_F_STORING;
}

/* Room for need bytes at h->buf, its text kept. 0 or -ENOMEM. */
int fs_file_grow(struct fs_handle *h, size_t need);

/* store.c: bytes of text a field file accepts (the parsed value follows
 * them in the buffer), 0 for other files. */
size_t fs_store_textcap(const struct fs_node *n);

/* store.c: one write() placed and checked (field or .values): 0, FS_PARK
 * (nothing changed that running it again would repeat) or a negative
 * errno (-EACCES for other files). */
int fs_store_write(struct fs_handle *h, const char *data, size_t size, off_t off);

/* store.c: the pending text stored under one write lock with the time
 * stamp: 0, FS_PARK or a negative errno; nothing is pending afterwards,
 * except on FS_PARK (STORING). */
int fs_store_commit(struct fs_handle *h);

#endif /* IPMFS_FILE_H */
