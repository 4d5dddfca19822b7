/*
 * ipmmap_i.h - declarations private to libipmmap, shared by its .c files.
 * Nothing here is installed; users see only ipmmap.h.
 */
#ifndef IPMMAP_I_H
#define IPMMAP_I_H

#include "ipmmap.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/types.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Where MmapStructureHeader's members live in every mappable structure, as
 * ctypes lays it out. */
#define IPM_HDR_CODE_OFF 0 /* int16 header_code */
#define IPM_HDR_STAMP_OFF 8 /* double time_stamp */

/*
 * No type may be larger than this. A schema describes one mmap'ed file, so a
 * gigabyte is far beyond any sane use, and the limit keeps every offset
 * computation far from overflowing size_t (layout.c, schema.c).
 */
#define IPM_SIZE_LIMIT ((size_t)1 << 30)

/* Every scalar kind once: kind, C type, schema spelling, and the range of
 * the integer kinds and bool (0 and 0 for floating kinds). */
#define IPM_SCALARS(X)                                                                     \
	X(IPM_INT8, int8_t, "int8", INT8_MIN, INT8_MAX)                                    \
	X(IPM_INT16, int16_t, "int16", INT16_MIN, INT16_MAX)                               \
	X(IPM_INT32, int32_t, "int32", INT32_MIN, INT32_MAX)                               \
	X(IPM_INT64, int64_t, "int64", INT64_MIN, INT64_MAX)                               \
	X(IPM_UINT8, uint8_t, "uint8", 0, UINT8_MAX)                                       \
	X(IPM_UINT16, uint16_t, "uint16", 0, UINT16_MAX)                                   \
	X(IPM_UINT32, uint32_t, "uint32", 0, UINT32_MAX)                                   \
	X(IPM_UINT64, uint64_t, "uint64", 0, UINT64_MAX)                                   \
	X(IPM_FLOAT, float, "float", 0, 0)                                                 \
	X(IPM_DOUBLE, double, "double", 0, 0)                                              \
	X(IPM_BOOL, bool, "bool", 0, 1)

/* The last kind there is, and what kinds are (enum ipm_kind). */
#define IPM_KIND_LAST IPM_LONGDOUBLE
static inline bool ipm_kind_text(enum ipm_kind k)
{
	return k == IPM_STRING || k == IPM_WSTRING;
}
static inline bool ipm_kind_leaf(enum ipm_kind k)
{
	return (unsigned)k <= IPM_KIND_LAST && k != IPM_ARRAY && k != IPM_STRUCT;
}

/* Bytes of one c_wchar: a UTF-32 code unit in host order, as ctypes stores
 * wchar_t on Linux. */
#define IPM_WCHAR_SIZE 4

/* A scalar kind's name, size and range, indexed by enum ipm_kind up to
 * IPM_BOOL (util.c). */
struct ipm_scalar {
	const char *name;          /* as the schema spells it */
	size_t size;               /* bytes */
	int64_t min;               /* lowest value of an integer kind */
	uint64_t max;              /* highest value of an integer kind or bool */
};

extern const struct ipm_scalar ipm_scalars[IPM_BOOL + 1];

/* Stores the low size bytes (1, 2, 4 or 8) of v at p, in host order: the
 * bits of an integer of that size, signed or not. */
static inline void ipm_store_int(void *p, size_t size, uint64_t v)
{
	uint8_t u8 = (uint8_t)v;
	uint16_t u16 = (uint16_t)v;
	uint32_t u32 = (uint32_t)v;

	switch (size) {
	case 1:
		memcpy(p, &u8, 1);
		break;
	case 2:
		memcpy(p, &u16, 2);
		break;
	case 4:
		memcpy(p, &u32, 4);
		break;
	default:
		assert(size == 8);
		memcpy(p, &v, 8);
		break;
	}
}

/* The value of an integer or bool field of kind k at p, in host order: its
 * bits sign-extended to 64 (a bool reads 1 for any non-zero byte), and in
 * *neg whether it is below zero. The one integer load of the library, for
 * typed access (access.c) and text (value.c). */
static inline uint64_t ipm_load_int(const void *p, enum ipm_kind k, bool *neg)
{
	int8_t i8;
	int16_t i16;
	int32_t i32;
	int64_t i64;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	*neg = false;
	switch (k) {
	case IPM_INT8:
		memcpy(&i8, p, 1);
		i64 = i8;
		break;
	case IPM_INT16:
		memcpy(&i16, p, 2);
		i64 = i16;
		break;
	case IPM_INT32:
		memcpy(&i32, p, 4);
		i64 = i32;
		break;
	case IPM_INT64:
		memcpy(&i64, p, 8);
		break;
	case IPM_UINT8:
		memcpy(&u8, p, 1);
		return u8;
	case IPM_UINT16:
		memcpy(&u16, p, 2);
		return u16;
	case IPM_UINT32:
		memcpy(&u32, p, 4);
		return u32;
	case IPM_UINT64:
		memcpy(&u64, p, 8);
		return u64;
	default:
		assert(k == IPM_BOOL);
		memcpy(&u8, p, 1);
		return u8 != 0;
	}
	*neg = i64 < 0;
	return (uint64_t)i64;
}

/* CLOCK_MONOTONIC in nanoseconds. */
static inline int64_t ipm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* UNIX time in seconds, as Python's time.time() gives it. */
static inline double ipm_now_realtime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Longest piece of text a message quotes, and the buffer ipm_quote() needs. */
#define IPM_QUOTE_MAX 40
#define IPM_QUOTE_LEN (IPM_QUOTE_MAX * 4 + 4)

/* The n bytes of s for a message: unprintable bytes, quote and backslash
 * as C escapes, long text cut with "..." (util.c). */
const char *ipm_quote(const char *s, size_t n, char out[IPM_QUOTE_LEN]);

/* One field of a structure. */
struct ipm_member {
	char *name;                /* identifier, owned */
	const struct ipm_type *type; /* owned by the schema */
	size_t offset;             /* from the start of the structure */
	unsigned char bit, width;  /* a bit field (see struct ipm_field), width 0: none */
	int line;                  /* schema line that defined it */
};

/* Every type: scalars are static (layout.c), the rest owned by a schema. */
struct ipm_type {
	enum ipm_kind kind;        /* what it is */
	size_t size;               /* sizeof, trailing padding included */
	size_t align;              /* _Alignof */
	char *name;                /* canonical spelling, see ipm_type_name() */
	/* IPM_ARRAY: count elements of elem. IPM_STRING: count == size. */
	const struct ipm_type *elem;
	size_t count;
	/* IPM_STRUCT */
	struct ipm_member *fields; /* base's fields first */
	size_t nfields;
	const struct ipm_type *base; /* "[Name : Base]", or NULL */
	size_t pack;               /* _pack_: most alignment of a field, 0: none */
	bool is_union;             /* "[Name : Union]": every field at offset 0 */
	const char *file;          /* defining file, owned by the schema */
	int line;                  /* line of the [section] */
	uint64_t fingerprint;      /* see ipm_type_fingerprint() */
	struct ipm_type *next;     /* schema's list of owned types */
};

/* Bit fields (bits.c): a field's bits in its storage unit, as a whole
 * integer of its kind (sign-extended) and back; whether a value of its kind
 * fits the bits (0, or -ERANGE and a message); and the read-modify-write of
 * the unit under a held write lock, from a unit whose field bits are taken. */
void ipm_bits_get(const struct ipm_field *f, const void *unit, void *val);
void ipm_bits_put(const struct ipm_field *f, void *unit, const void *val);
int ipm_bits_check(const struct ipm_field *f, const void *val, char *err);
int ipm_bits_store(ipm_map *m, const struct ipm_field *f, const void *unit);

/* Static scalar types, indexed by enum ipm_kind up to IPM_BOOL, and long
 * double (layout.c). */
extern const struct ipm_type ipm_scalar_types[IPM_BOOL + 1];
extern const struct ipm_type ipm_longdouble_type;

/* Stores v at p (sizeof(long double) bytes), its padding bytes zero, so
 * that equal values have equal bytes (value.c). */
void ipm_store_ldouble(void *p, long double v);

/* The UTF-8 bytes of UTF-32 code unit c into out: 1 to 4, or U+FFFD's 3
 * for a unit that is no character (a surrogate, above U+10FFFF) (value.c). */
size_t ipm_utf8_put(uint32_t c, char out[4]);
/* Offset of the first byte of s that is not well-formed UTF-8 (RFC 3629: no
 * overlongs, no surrogates, nothing above U+10FFFF), or n. */
size_t ipm_utf8_bad(const unsigned char *s, size_t n);

/* UTF-8 text (n bytes, need not be NUL-terminated, no newline taken off)
 * into the count code units at dst, the rest zero (dst NULL: only check):
 * 0, or -EINVAL (not UTF-8, a NUL) / -ERANGE (more than count characters)
 * with a message in err (value.c). */
int ipm_wtext_parse(size_t count, const char *s, size_t n, void *dst, char *err);

/* The text of the count code units at src, up to the first NUL, as UTF-8
 * into buf (len bytes, NUL-terminated): its length, or -ENOSPC and *need
 * the length it has (value.c). */
int ipm_wtext_format(size_t count, const void *src, char *buf, size_t len, size_t *need);

/* Lays out a structure whose members have types: sets offsets, size,
 * align (layout.c). Returns 0 or -EOVERFLOW. */
int ipm_layout_struct(struct ipm_type *t);

/* Computes t->fingerprint from its fields (layout.c). */
void ipm_layout_fingerprint(struct ipm_type *t);

/* ------------------------------------------------------------------------ */
/* Schemas and their loads (schema.c, schema_ini.c, layout.c, strmap.c)     */
/* ------------------------------------------------------------------------ */

#define IPM_NAME_MAX 63 /* longest structure or field name */
#define IPM_DIMS_MAX 16 /* most array dimensions in one type */
/* Deepest chain of structures in structures or bases: far beyond real use,
 * it keeps every recursive walk of a type within a small stack. */
#define IPM_NEST_MAX 1000

/* A string-keyed hash table (open addressing), keys owned by the caller
 * (strmap.c). All zeros is an empty table. */
struct ipm_strmap_slot {
	const char *key; /* NULL: empty */
	void *val;	 /* what key maps to */
};

struct ipm_strmap {
	struct ipm_strmap_slot *slots; /* cap entries */
	size_t cap;		       /* 0 or a power of two */
	size_t n;		       /* keys in use */
};

/* What key maps to, or NULL. */
void *ipm_strmap_get(const struct ipm_strmap *m, const char *key);
/* Maps a key known to be absent: 0 or -ENOMEM. */
int ipm_strmap_put(struct ipm_strmap *m, const char *key, void *val);
/* Makes room for n keys in all, so that as many ipm_strmap_put_room()
 * cannot fail: 0 or -ENOMEM. */
int ipm_strmap_reserve(struct ipm_strmap *m, size_t n);
/* ipm_strmap_put() into a table with room for the key. */
void ipm_strmap_put_room(struct ipm_strmap *m, const char *key, void *val);
void ipm_strmap_free(struct ipm_strmap *m);

struct ipm_schema {
	struct ipm_type **structs; /* in order of definition, [0] the header */
	size_t nstructs;	   /* in use */
	size_t cap;		   /* allocated */
	struct ipm_type *types;	   /* every owned type, linked by ->next */
	struct ipm_strmap names;   /* structure name -> struct ipm_type */
	struct ipm_strmap derived; /* "char[8]", "Point2D[24]" -> struct ipm_type */
	struct ipm_strmap nest;	   /* structure name -> its nesting level */
	char **files;		   /* file names the types point to */
	size_t nfiles;		   /* in use, each allocated exactly */
	char err[IPM_ERRLEN];	   /* last failed load */
};

/* The scalar a schema spells name ("int32", "c_ulong"), or NULL (schema.c). */
const struct ipm_type *ipm_scalar_by_name(const char *name);

/* Bytes per character of a text type spelled name: 1 for "char" and
 * "c_char" (char[N]), IPM_WCHAR_SIZE for "wchar" and "c_wchar"
 * (wchar[N]), 0 for any other name (schema.c). */
size_t ipm_text_width(const char *name);

/*
 * A load runs in three passes over a staging area that the schema does not
 * see until everything succeeded (all or nothing):
 *   1. the INI pass reads the lines; sections and fields are recorded as
 *      text, and everything a single line can get wrong is reported at once
 *      (schema_ini.c);
 *   2. every base and every structure a field names must exist, in this load
 *      or an earlier one (forward references are allowed) (layout.c);
 *   3. structures are laid out depth first, which finds cycles, makes the
 *      array and string types and computes sizes, offsets and fingerprints
 *      (layout.c).
 * Then the staging area is moved into the schema with allocations that were
 * all made beforehand, so that cannot fail half way (schema.c).
 */

/* A field as written, before its type is made. */
struct ipm_pfield {
	char *name;		   /* owned */
	char *tname;		   /* base type name ("Point2D", "c_char"), owned */
	char *text;		   /* the whole type as written, for messages, owned */
	size_t dims[IPM_DIMS_MAX]; /* array sizes, outermost first (C order) */
	int ndims;		   /* in use */
	unsigned width;		   /* "name = type : width", 0: no bit field */
	int line;		   /* where it was written */
};

/* States of a structure in the depth-first layout. */
enum ipm_pstate {
	IPM_PS_NEW,  /* not reached yet */
	IPM_PS_BUSY, /* on the stack: reaching it again is a cycle */
	IPM_PS_DONE, /* laid out */
};

/* A structure defined by this load. */
struct ipm_pstruct {
	struct ipm_type *t;	  /* the type being built, on the load's list */
	char *base;		  /* name of the base, or NULL; owned */
	struct ipm_pfield *fields; /* own fields as written */
	size_t nfields;		  /* in use */
	size_t cap;		  /* allocated */
	struct ipm_strmap fnames; /* own field name -> index in fields + 1 */
	enum ipm_pstate state;	  /* in the depth-first layout */
	size_t pack;		  /* "_pack_ = N" of this section, 0 if none */
	int pack_line;		  /* its line, 0 if none */
	size_t nest;		  /* levels of structures and bases, 1: none */
};

/* One structure on the way down the depth-first layout. */
struct ipm_layout_frame {
	struct ipm_pstruct *ps; /* the structure being laid out */
	bool via_base;		/* entered as the base of the one before */
};

struct ipm_load {
	ipm_schema *s;		   /* where it goes when all is well */
	char *file;		   /* name for messages and types, owned until commit */
	ipm_lines *lines;	   /* the source, owned */
	int lineno;		   /* the line being read */
	char *line;		   /* a section header's copy, cut up while read */
	size_t linecap;		   /* its allocation */
	struct ipm_pstruct *ps;	   /* structures of this load, in order */
	size_t nps;		   /* in use */
	size_t capps;		   /* allocated */
	bool in_section;	   /* a section was opened: ps[nps - 1] is current */
	struct ipm_strmap names;   /* new structure name -> struct ipm_pstruct index + 1 */
	struct ipm_strmap derived; /* new array and string types by name */
	struct ipm_type *types;	   /* every new type, linked by ->next */
	int code;		   /* 0, or the first error */
	int errline;		   /* its line; 0: none; -1: message is complete */
	char err[IPM_ERRLEN];	   /* its message, without the "file:line: " */
	struct ipm_layout_frame *stack; /* structures being laid out, outermost first */
	size_t depth;		   /* in use */
};

/* A reader of text in memory (textread.c), for ipm_schema_load_string(): name
 * is used in messages. NULL if out of memory. */
ipm_lines *ipm_lines_text(const char *text, const char *name);

/* The reader's message without its "path:line: " (textread.c). */
const char *ipm_lines_what(const ipm_lines *r);

/* Records the first error of a load at line (see errline). Returns code
 * (schema.c). */
int ipm_load_fail(struct ipm_load *ld, int code, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int ipm_load_nomem(struct ipm_load *ld);

/* The structure called name, of this load or an earlier one, or NULL; *psp
 * (if psp) is this load's record of it, or NULL (schema.c). */
struct ipm_type *ipm_load_find_struct(struct ipm_load *ld, const char *name,
				      struct ipm_pstruct **psp);

void ipm_pfield_free(struct ipm_pfield *pf);

/* Pass 1: reads the source into ld->ps (schema_ini.c). 0 or ld->code. */
int ipm_load_read_ini(struct ipm_load *ld);

/* Passes 2 and 3: checks the names, lays out every structure of the load
 * (layout.c). 0 or ld->code. */
int ipm_load_layout(struct ipm_load *ld);

/* ======================================================================== */
/* The lock path, from the bottom up; calls only go down (README,           */
/* "Architecture"):                                                          */
/*   guard.c     the SIGBUS guard primitive                                  */
/*   ofd.c       the OFD lock primitive: try, blocking, timed                */
/*   lockfile.c  the lock file: opener, layout, one mapping, repair          */
/*   datafile.c  the .mmap file: checks, mapping, size canary                */
/*   ctl.c       the control page: change counter, leases, futex             */
/*   undo.c      the undo record: save, dead section, restore, close         */
/*   fault.c     guarded access to both files: repair or report a fault      */
/*   follow.c    a .mmap file replaced under a handle: seen at a lock        */
/*   lock.c      the lock protocol: read, write, unlock, sections, priority  */
/*   seqread.c   reads without a lock on a native instance (wseq)            */
/* Above them the map layer: map.c, notify.c, access.c.                      */
/* ======================================================================== */

/*
 * Lock file layout, version 2 (lockfile.c):
 *   0 .. IPM_CTL_SIZE-1          struct ipm_ctl; reserved bytes are zero
 *   IPM_CTL_SIZE ..              struct ipm_undo and its log: IPM_UNDO_SLACK
 *                                bytes plus the structure's size
 * All zeros is a valid state of both; each has a magic stamped from zero.
 * Version 1 (libipmmap before range records) had the same control page and
 * an undo record of the same header followed by a copy of the structure.
 */
#define IPM_CTL_SIZE 4096
#define IPM_CTL_MAGIC "IPMCTL01" /* 8 bytes, no NUL; "01" is the layout version */

struct ipm_ctl {
	uint64_t magic;            /* IPM_CTL_MAGIC's bytes, or 0 before the first open */
	uint32_t seq;              /* change counter and futex word; wraps */
	uint32_t gen;              /* .mmap file generation: bumped when a C manager
				      renames a new file into place (follow.c) */
	uint64_t lease;            /* CLOCK_MONOTONIC ns until which a waiter may sleep */
	uint64_t wlease;           /* CLOCK_MONOTONIC ns until which a writer waits (lock.c) */
	uint32_t wseq;             /* write sequence count: odd while a write section is
				      open, so readers may copy without a lock (seqread.c) */
	uint32_t mode;             /* IPM_MODE_NATIVE, IPM_MODE_COMPAT, or 0: not said, which
				      reads as compat (map.c sets it, lock.c stamps it back) */
	unsigned char reserved[IPM_CTL_SIZE - 40]; /* zero, for later versions */
};

/* The instance's mode (struct ipm_ctl.mode): magic values, so that a page of
 * garbage is not taken for a promise that no foreign writer runs. */
#define IPM_MODE_NATIVE 0x5654414eu /* "NATV": every writer uses libipmmap */
#define IPM_MODE_COMPAT 0x54504d43u /* "CMPT": Python IPMMAP writers may run */

#include "undo_i.h" /* the undo record: its layout and undo.c's calls */

/* An open lock file and its one mapping (lockfile.c). */
struct ipm_lockfile {
	int fd;                    /* open lock file, -1 when closed */
	bool rw;                   /* fd is open for writing: may stamp, repair, bump */
	unsigned char *base;       /* mapping of [0, len) of the file, NULL when closed */
	size_t len;                /* control page + record + a structure's bytes */
	struct ipm_ctl *ctl;       /* control page in base, NULL if unusable */
	struct ipm_undo *undo;     /* undo record in base, NULL if unusable */
	off_t cut_at;              /* where a cut found and not yet mended fell, or len + 1 */
};

/* The last byte of the lock file, at offset len: any cut clears it. */
#define IPM_LOCKFILE_SENTINEL 0xa5

/* What a handle holds (lock.c); the values are ipm_lock_held()'s. */
enum ipm_held {
	IPM_HELD_NONE = 0,
	IPM_HELD_READ = 1,
	IPM_HELD_WRITE = 2,
};

/* Map handle (map.c; the lock path reads and writes its fields). */
struct ipm_map {
	const ipm_schema *schema;  /* not owned */
	const struct ipm_type *type; /* the instance's structure, NULL when closed */
	enum ipm_role role;        /* as opened */
	char *path;                /* the .mmap file */
	char *lock_path;           /* the .lockfile */
	struct ipm_lockfile lf;    /* the lock file, lf.fd -1 when closed */
	enum ipm_held held;        /* the lock this handle holds */
	int data_fd;               /* the mapped file, for checks after a fault; -1 closed */
	unsigned char *data;       /* what the handle reads: mapped, or undo->data */
	unsigned char *mapped;     /* mapping of the .mmap file, NULL when closed */
	size_t size;               /* of the structure (the mapping is whole pages) */
	volatile unsigned char *canary; /* the size canary past the structure, or NULL */
	unsigned size_checks;      /* canary checks, for the fstat() every IPM_SIZE_RECHECK */
	dev_t dev;                 /* the mapped file's device and inode (follow.c; */
	ino_t ino;                 /*   atomic: a waiter reads them) */
	uint32_t gen;              /* the lock file's generation when last looked */
	int64_t look_at;           /* CLOCK_MONOTONIC_COARSE ns of the next look at path */
	int64_t lock_look_at;      /* ... and at lock_path (ipm_follow_lockfile()) */
	int replaced;              /* a waiter saw path name another file (atomic) */
	uint64_t undone;           /* dead sections this handle undid */
	struct ipm_section sec;    /* what the open write section saved (lock.c) */
	unsigned char *saved;      /* a dead section's saved state, to read; or NULL */
	ipm_schema *own;           /* stored definition it was opened with, owned (stored.c) */
	uint32_t mode;             /* the last mode the handle saw in the control page,
				      stamped back after a cut (lock.c); 0: none yet */
	char err[IPM_ERRLEN];      /* last failure */
};

/* Formats a message into err (if not NULL) and returns code, so that a
 * failure reads: return ipm_errf(buf, -EINVAL, "bad %s", x); (error.c) */
int ipm_errf(char *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int ipm_verrf(char *err, int code, const char *fmt, va_list ap);

/* ---- guard.c ---- */

#include <setjmp.h>

/* The jump target of the guarded call running in this thread (NULL: none),
 * where its last fault hit, and whether the handler is in place. fault.c
 * arms it inline on the hot path; everyone else uses ipm_guard_run(). */
extern __thread sigjmp_buf *ipm_guard_armed __attribute__((tls_model("initial-exec")));
extern __thread void *ipm_guard_addr __attribute__((tls_model("initial-exec")));
extern int ipm_guard_on;

/* Installs the SIGBUS handler once, if SIGBUS has its default disposition. */
void ipm_guard_init(void);

/* Runs fn(arg) with this thread's guard armed: 0 with fn's result in *rc,
 * or 1 when a SIGBUS hit this thread meanwhile (fn was abandoned; *addr is
 * where). Without the handler fn simply runs. Nests. */
int ipm_guard_run(int (*fn)(void *arg), void *arg, int *rc, void **addr);

/* ---- ofd.c ---- */

/* Lock with op F_RDLCK / F_WRLCK / F_UNLCK on the whole of fd, waiting up to
 * timeout_ms (0 tries, -1 forever): 0 or a negative errno. */
int ipm_lock_fd(int fd, int type, int timeout_ms);

/* Installs the handler of ipm_lock_signal() once, so that the signal can
 * interrupt a wait. */
void ipm_lock_handler_install(void);

/* Whether ipm_lock_signal() reached the calling thread (not from a timed
 * wait's own timer) since it last cleared: a wait made of several kernel
 * waits asks before each, since one sent between two is lost to them. */
bool ipm_lock_interrupted(bool clear);

/* ---- lockfile.c ---- */

/* Every open of a lock or data file passes these: no links, no FIFO hang,
 * no leak into exec. */
#define IPM_SAFE_OPEN (O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)

/* A message for a failed open() of what+path (ELOOP: a symbolic link). */
int ipm_open_failed(char *err, const char *what, const char *path);

/* fd must be a regular file; made blocking again. 0 or -errno, err set. */
int ipm_check_regular(char *err, int fd, const char *what, const char *path);

/* A file or directory just made gets exactly mode, and group gid unless it
 * is (gid_t)-1 (fd < 0: by path). 0 or -errno with err set. */
int ipm_set_owner(char *err, int fd, const char *path, mode_t mode, gid_t gid);

/* How ipm_lockfile_open() opens. */
enum {
	IPM_LF_READER = 1, /* read-only when it may not write (a reader) */
	IPM_LF_LAX = 2,	   /* a new file's mode and group: no error if refused */
};

/* The lock file at path, made when missing (with mode exactly and group gid,
 * see ipm_set_owner()), read and write, or with IPM_LF_READER read-only
 * when that is all it may be; a regular file, blocking, and not the .mmap
 * data_path under another name (-EINVAL). An fd, or -errno with err set
 * ("cannot open lock file P: ..."). */
int ipm_lockfile_open(const char *path, const char *data_path, mode_t mode, gid_t gid,
		      unsigned flags, char *err);

/* Allocates (when fd may write) and maps the lock file open on fd for a
 * structure of data_size bytes, and stamps the magics. Its undo record is
 * used only if the file gives no more than the .mmap open on data_fd (same
 * owner, no permission the .mmap lacks, same group if it gives its group
 * any): root and the file's owner make it so; otherwise err says why and
 * lf->undo is NULL. 0, or a negative errno with err set ("cannot allocate lock file P: No space left on
 * device"). A region that is unusable (a short file the fd may not grow,
 * someone else's magic: err says so) is NULL and not an error. */
int ipm_lockfile_attach(struct ipm_lockfile *lf, int fd, const char *path, size_t data_size,
			int data_fd, char *err);

/* Unmaps it (the fd is the caller's); harmless when not attached. */
void ipm_lockfile_detach(struct ipm_lockfile *lf);

/* After a fault in the mapping: grows the file back when the fd may write
 * (0; then ipm_lockfile_restamp() under the guard), or -EIO with err set. */
int ipm_lockfile_repair(struct ipm_lockfile *lf, const char *path, char *err);
void ipm_lockfile_restamp(struct ipm_lockfile *lf);

/* -EIO with err saying what happened to the lock file. */
int ipm_lockfile_damaged(const struct ipm_lockfile *lf, const char *path, char *err);

/* Under the guard: whether the lock file is whole (the sentinel, else
 * fstat()): 0; 1 after mending a cut one (headers made anew, an open
 * section whose saved bytes were cut forgotten); or -EIO with err set when
 * the handle may not mend it. */
int ipm_lockfile_check(struct ipm_lockfile *lf, const char *path, char *err);

/* ---- datafile.c ---- */

/* The .mmap file on fd: regular, size bytes, header_code. 0 or -errno. */
int ipm_data_check(char *err, int fd, const char *path, size_t size);

/* Opens path for role and checks it: an fd, or -errno with err set. */
int ipm_data_open(char *err, const char *path, size_t size, enum ipm_role role);

/* Bytes mapped for a structure of size bytes: whole pages. */
size_t ipm_data_maplen(size_t size);

/* Checks fstat() every this many canary checks (a power of two), for
 * growth on tmpfs. */
#define IPM_SIZE_RECHECK 256
#define IPM_CANARY 0xa5 /* any byte but zero */

/* Where the canary lives for m's structure, or NULL for whole pages. */
volatile unsigned char *ipm_data_canary(const ipm_map *m);

/* The fstat() behind a missing canary: 0 or -EIO with m->err set. */
int ipm_data_verify_slow(ipm_map *m);

/* Under the guard, after an access: 0 if the file still has its size, or
 * -EIO with m->err set (see datafile.c on the canary). */
static inline int ipm_data_verify(ipm_map *m)
{
	if (m->canary && *m->canary == IPM_CANARY &&
	    (++m->size_checks & (IPM_SIZE_RECHECK - 1)))
		return 0;
	return ipm_data_verify_slow(m);
}

/*
 * Python's clearMappedBuffer() zeroes the whole structure, header_code
 * included. A file whose header_code is 0 is therefore a cleared instance,
 * not a foreign file: it passes the checks, reads as zeros (or as what
 * Python wrote since), and the next write section gives it its code back.
 * Under the guard, with the write lock held.
 */
static inline void ipm_data_uncleared(ipm_map *m)
{
	int16_t code;

	memcpy(&code, m->mapped + IPM_HDR_CODE_OFF, sizeof(code));
	if (code == 0) {
		code = IPM_HEADER_CODE;
		memcpy(m->mapped + IPM_HDR_CODE_OFF, &code, sizeof(code));
	}
}

/* -EIO with m->err saying what happened to the .mmap file. */
int ipm_data_damaged(ipm_map *m);

/* Whether the file is usable again after a fault: grown back in place, or
 * replaced by a good file, mapped again at the same address. */
int ipm_data_repaired(ipm_map *m);

/* Maps m->path again at the same address if it passes the checks. */
int ipm_data_remap(ipm_map *m);

/* Records the mapped file's device and inode (m->dev, m->ino); ipm_data_id()
 * is the two as one number, never 0. */
void ipm_data_ident(ipm_map *m);
uint64_t ipm_data_id(const ipm_map *m);

/* ---- ctl.c (run under the guard) ---- */

/* Marks a completed write section: one atomic add, and a futex wake only
 * when a waiter's lease runs. No-op without a writable control page. */
void ipm_ctl_bump(struct ipm_lockfile *lf);

/* The change counter; 0 without a control page. */
uint32_t ipm_ctl_seq(const struct ipm_lockfile *lf);

/* Raises the waiters' lease to until (when writable). */
void ipm_ctl_lease(struct ipm_lockfile *lf, uint64_t until);

/* A waiting writer's lease runs IPM_WLEASE_MS ahead of now; one further
 * ahead than that (plus slack for clocks read on two CPUs) is no live
 * writer's: forged, or left from before a reboot, and ignored. */
#define IPM_WLEASE_MS 5
#define IPM_WLEASE_SLACK_NS 50000000

/* The waiting writer's lease: read, raised, dropped if still mine. Need
 * lf->ctl. */
int64_t ipm_ctl_wlease(const struct ipm_lockfile *lf);
void ipm_ctl_wlease_raise(struct ipm_lockfile *lf, uint64_t until);
void ipm_ctl_wlease_drop(struct ipm_lockfile *lf, uint64_t mine);

/*
 * The write sequence count (wseq), under the write lock, around every change
 * of the structure: begin makes it odd (from even +1; from a dead writer's odd
 * +2, so that readers of that dead section's saved state see it move), end
 * makes it even (+1; +2 if it is even, the page having been cut meanwhile).
 * Both order themselves against the data: begin before the stores that
 * follow it, end after those before it (see seqread.c).
 */
void ipm_ctl_wbegin(struct ipm_lockfile *lf);
void ipm_ctl_wend(struct ipm_lockfile *lf);

/* The mode in the control page (0: not said), and setting it (when
 * writable); restamp sets it only where a cut left 0. */
uint32_t ipm_ctl_mode(const struct ipm_lockfile *lf);
void ipm_ctl_mode_set(struct ipm_lockfile *lf, uint32_t mode);
void ipm_ctl_mode_restamp(struct ipm_lockfile *lf, uint32_t mode);

/* Sleeps up to ns while the counter is seq (plainly without a control page,
 * or when its page is gone): 0 (woken, changed, slice over) or -EINTR. */
int ipm_ctl_sleep(struct ipm_lockfile *lf, uint32_t seq, int64_t ns);

/* Sleeps while a writer's lease runs, until the counter moves or until
 * (CLOCK_MONOTONIC ns) passes: 0, or -EINTR. Needs lf->ctl. */
int ipm_ctl_defer(struct ipm_lockfile *lf, int64_t until);

/* ---- fault.c ---- */

#define IPM_VERIFY 1  /* then check the .mmap file's size (datafile.c) */
#define IPM_RESTAMP 2 /* internal: stamp the lock file again first */

/* Runs fn(m, ctx) under the guard, repairing or reporting a fault (see
 * fault.c): fn's result, or -EIO with m->err set. */
int ipm_guarded(ipm_map *m, int (*fn)(ipm_map *m, void *ctx), void *ctx, int flags);

/* ---- follow.c ---- */

/* With a lock just taken: 0 if the handle maps the file its path names, or
 * maps it now; -EIO with m->err set if that file cannot be mapped. */
int ipm_follow(ipm_map *m);

/* With no lock held, before one is taken: at most every IPM_FOLLOW_MS, moves
 * the handle to the lock file its path names if that is another (removed,
 * or replaced), making it if it is gone. Failures leave the old one. */
void ipm_follow_lockfile(ipm_map *m);

/* For a read without a lock whose look is due: follows the lock file, then
 * 0 if the path still names the mapped file (the look is done), 1 if the
 * lock must look (another file to map). */
int ipm_follow_free(ipm_map *m);

/* At open, with the file just mapped: the first lock looks at the path. */
void ipm_follow_init(ipm_map *m);

/* A manager that renamed a new file into place, still under the write
 * lock: bumps the generation, so that every handle looks at its next lock. */
void ipm_follow_renamed(ipm_map *m);

/* For a waiter, with no lock, maybe beside another thread's use of m:
 * 1 if the path names another file than the mapped one (the next lock
 * looks then), else 0. Never touches m->err. */
int ipm_follow_peek(ipm_map *m);

/* ---- seqread.c ---- */

/* What ipm_seq_read() returns when the caller must take the lock instead. */
#define IPM_SEQ_LOCK 1

/*
 * Copies [off, off + n) of the structure into buf without a lock, when the
 * handle holds none and the instance is native: 0, -EIO with m->err set (a
 * damaged file: nothing from it is given), or IPM_SEQ_LOCK when the caller
 * must read under the lock as before (compat, no control page, a file to
 * follow, a live writer in a long section, too many retries). buf may hold
 * anything after a failure.
 */
int ipm_seq_read(ipm_map *m, size_t off, void *buf, size_t n);

/* Whether a read may try ipm_seq_read() at all: no lock held, and native
 * when the handle last looked (a compat instance pays one compare). */
static inline bool ipm_seq_may(const ipm_map *m)
{
	return m->held == IPM_HELD_NONE && m->mode == IPM_MODE_NATIVE;
}

/* ---- lock.c, for the map layer ---- */

/* ipm_lock_read(m, -1) for an access that takes its own lock and checks the
 * .mmap's size itself right after it reads (IPM_VERIFY): the lock does not
 * check it too. Never for a caller that hands out the address. */
int ipm_lock_read_access(ipm_map *m);

/* Ends a write section if one is open and drops any lock (closing). */
void ipm_lock_drop(ipm_map *m);

/* A manager under the write lock: undoes a dead writer's section (1 if it
 * did, 0, or -EIO), or forgets it when the file was written anew. */
int ipm_lock_recover(ipm_map *m);
void ipm_lock_discard(ipm_map *m);

/* Bumps the change counter: the instance changed outside a section. */
void ipm_lock_announce(ipm_map *m);

/* Under the guard, with the write lock held: saves [off, off + len) of the
 * structure in the open section before the caller changes it. 0, or -EIO
 * with m->err set if the .mmap file was cut meanwhile (then the section is
 * closed and the caller must not write). */
int ipm_lock_declare(ipm_map *m, size_t off, size_t len);

/* ipm_map_data() handed out the address: from now on every write section of
 * the handle saves the whole structure, the open one at once. */
void ipm_lock_raw(ipm_map *m);

/* ---- describe.c and stored.c: stored definitions ---- */

/* The four header lines of a stored definition. */
struct ipm_defhead {
	char structure[64];        /* the structure it describes */
	uint64_t size;             /* its size */
	uint64_t fingerprint;      /* its layout fingerprint */
};

/* Reads the header of the len bytes at text (named name in messages): 0, or
 * -EINVAL with "name:line: why" in err. */
int ipm_defhead_parse(const char *text, size_t len, const char *name, struct ipm_defhead *h,
		      char *err);

/* Where structure mine and stored part: 1 with "path is X here, Y there"
 * in why (wlen bytes), or 0 when they lay out alike. */
int ipm_type_differ(const ipm_type *mine, const ipm_type *stored, char *why, size_t wlen);

/* A manager holding the write lock, before it makes or keeps the file at
 * path: stores t's definition in lock_dir when the file will be made anew,
 * or is kept and has none (or a damaged one); refuses a kept file whose
 * definition differs (-EINVAL, m->err naming the field). What cannot be
 * stored is a note in m->err, not a failure. */
int ipm_stored_put(ipm_map *m, const struct ipm_type *t, const char *name, const char *tag,
		   const char *path, const char *lock_dir, const struct ipm_open_opts *o);

/* An editor or reader: -EINVAL (m->err naming the field) if the stored
 * definition of the instance differs from t, else 0 (a note in m->err if it
 * could not be read). */
int ipm_stored_check(ipm_map *m, const struct ipm_type *t, const char *name, const char *tag,
		     const char *lock_dir);

#endif /* IPMMAP_I_H */
