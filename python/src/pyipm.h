/*
 * pyipm.h - private declarations shared by the files of ipmmap._ipmmap, the
 * CPython extension that puts Python IPMMAP's API on libipmmap.
 *
 * Objects, from the slowest-changing down:
 *
 *   Schema    one loaded ipm_schema (made from a ctypes class's INI text)
 *   LockRec   one per lock file in this process: which threads hold it
 *             through which handle, so that a thread cannot wait for itself
 *   Entry     what an accessor's constructor arguments resolve to (structure,
 *             tag, directories, role): resolved keys and a pool of handles;
 *             made once by ipmmap.struct_mmap_manager and cached there
 *   Handle    one ipm_map, opened at first use and kept open for the
 *             process's life (the per-process cache of the mapping)
 *   Accessor  the base of DataStructMmapReader/Editor/Manager: borrows a
 *             Handle from its Entry's pool for as long as it lives
 *
 * Fork: a child inherits every open handle, and with it the parent's OFD
 * locks (they belong to the open file description both now share). Using or
 * even closing such a handle in the child would take or drop the parent's
 * locks, so a handle remembers the fork generation it was made in and is
 * left alone (leaked, never closed) once that differs.
 */
#ifndef PYIPM_H
#define PYIPM_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <sys/types.h>

#include "ipmmap.h"

/* Bumped in the child at every fork (pthread_atfork). */
extern unsigned long pyipm_gen;

/* The exception classes of ipmmap.exception.ipmmap_error used here. */
enum pyipm_exc {
	PX_KEY,
	PX_TYPE,
	PX_VALUE,
	PX_CLOSED,
	PX_LAYOUT,
	PX_DEADLOCK,
	PX_MAP,
	PX_NOTFOUND,
	PX_PERM,
	PX_COUNT,
};
extern PyObject *pyipm_exc[PX_COUNT];

/* Raises exception class which with a formatted message; returns NULL. */
PyObject *pyipm_raise(enum pyipm_exc which, const char *fmt, ...);

/* Raises the exception for a libipmmap failure rc with message msg about
 * the file path (may be NULL); returns NULL. */
PyObject *pyipm_raise_rc(int rc, const char *msg, const char *path);

typedef struct {
	PyObject_HEAD ipm_schema *s;
} SchemaObject;

typedef struct {
	PyObject_HEAD struct ipm_field f; /* resolved in the entry's structure */
	PyObject *ctype;		  /* the ctypes type at the key (aggregates), or NULL */
	int single_char;		  /* a c_char field: reads as 1 byte, takes an int too */
} FieldObject;

struct lock_holder {
	unsigned long tid; /* thread that holds it */
	const void *h;	   /* through which handle */
	int mode;	   /* 1 read, 2 write */
};

typedef struct {
	PyObject_HEAD struct lock_holder *v;
	size_t n, cap;
	unsigned long gen; /* fork generation the holders belong to */
} LockRecObject;

typedef struct {
	PyObject_HEAD ipm_map *m; /* never NULL */
	unsigned long gen;	  /* fork generation it was made in */
	int open;		  /* ipm_map_open() succeeded */
	Py_ssize_t exports;	  /* buffers over the mapping handed out */
	dev_t dev;		  /* the mmap file it maps, to notice a new one */
	ino_t ino;
	double checked; /* monotonic time of the last look at the file */
} HandleObject;

typedef struct {
	PyObject_HEAD SchemaObject *schema;
	const ipm_type *type; /* the structure, in schema */
	PyObject *cls;	      /* its ctypes class */
	PyObject *name;	      /* bytes: structure name, tag, directories */
	PyObject *tag;
	PyObject *mmap_dir;
	PyObject *lock_dir;
	PyObject *mmap_path; /* pathlib.Path objects for the attributes */
	PyObject *lock_path;
	PyObject *keys; /* dict: key -> FieldObject */
	LockRecObject *rec;
	int write;	/* editor or manager: write locks */
	unsigned flags; /* ipm_open_opts */
	mode_t mode;
	uint64_t fingerprint;
	HandleObject **pool; /* free handles, opened or not */
	size_t npool, cappool;
} EntryObject;

typedef struct {
	PyObject_HEAD EntryObject *entry; /* NULL until bound, and after close() */
	HandleObject *h;
	int held;      /* lock this accessor holds: 0, 1 read, 2 write */
	int mapped;    /* _acquireMmapResource(lock=False): unlocked access */
	int busy;      /* a call waits with the GIL released */
	uint64_t seen; /* change token of the last block, for wait_change() */
	int have_seen;
} AccessorObject;

extern PyTypeObject SchemaType, FieldType, LockRecType, HandleType, EntryType, AccessorType;

/* handle.c */
HandleObject *pyipm_handle_new(SchemaObject *s);
int pyipm_handle_usable(const HandleObject *h);
int pyipm_handle_stale(HandleObject *h);
int pyipm_handle_open(HandleObject *h, EntryObject *e, enum ipm_role role, unsigned flags);
HandleObject *pyipm_entry_take(EntryObject *e);
void pyipm_entry_give(EntryObject *e, HandleObject *h);
void pyipm_rec_add(LockRecObject *r, const void *h, int mode);
void pyipm_rec_del(LockRecObject *r, const void *h);
int pyipm_rec_conflict(LockRecObject *r, const void *h, int mode);
FieldObject *pyipm_entry_field(EntryObject *e, PyObject *key);
extern PyObject *pyipm_ctype_at; /* ipmmap._layout.ctype_at */
extern PyObject *pyipm_c_char;	 /* ctypes.c_char */

/* value.c */
PyObject *pyipm_read_field(HandleObject *h, const FieldObject *f, PyObject *key, int lockfree);
/* f's bytes into buf by the library's rule for a handle that holds no lock
 * (on a native instance, the lock-free read), the GIL released: 0, or -1
 * and raised. */
int pyipm_get_free(HandleObject *h, const struct ipm_field *f, void *buf);
int pyipm_write_field(HandleObject *h, const FieldObject *f, PyObject *key, PyObject *v);
int pyipm_copy_out(HandleObject *h, size_t off, void *dst, size_t len);
int pyipm_copy_in(HandleObject *h, size_t off, const void *src, size_t len);
int pyipm_fill(HandleObject *h, size_t off, int byte, size_t len);

/* accessor.c */
extern PyMethodDef pyipm_write_methods[];

#endif /* PYIPM_H */
