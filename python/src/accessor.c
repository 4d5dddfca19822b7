/*
 * accessor.c - Accessor, the C base of DataStructMmapReader, ...Editor and
 * ...Manager: with blocks, locks, readData/writeData and the other methods
 * of Python IPMMAP, plus wait_change(), recovery() and fingerprint.
 *
 * An accessor borrows a Handle from its Entry's pool when it is bound (at
 * construction) and gives it back when it is closed or collected, so that
 * constructing one per block costs a dictionary lookup, not an open(). Two
 * accessors alive at once have two handles, which exclude each other like
 * two processes do; a thread that would wait for a lock it holds itself
 * through another accessor gets DeadlockIpMmapError instead of hanging.
 */
#include "pyipm.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#define TS_OFFSET 8 /* MmapStructureHeader.time_stamp */

static const char *role_name(AccessorObject *a)
{
	return a->entry && a->entry->write ? "write" : "read";
}

static void give_back(AccessorObject *a)
{
	HandleObject *h = a->h;

	a->h = NULL;
	if (!h)
		return;
	if (a->held && pyipm_handle_usable(h)) {
		ipm_unlock(h->m);
		pyipm_rec_del(a->entry->rec, h);
	}
	a->held = 0;
	a->mapped = 0;
	pyipm_entry_give(a->entry, h);
}

static int check_bound(AccessorObject *a)
{
	if (!a->entry) {
		pyipm_raise(PX_CLOSED, "the accessor is closed");
		return -1;
	}
	if (a->busy) {
		pyipm_raise(PX_CLOSED, "the accessor is busy in another thread");
		return -1;
	}
	return 0;
}

/* The accessor's handle, open and not inherited from a parent process. */
static int ready(AccessorObject *a)
{
	HandleObject *h;
	int rc;

	if (check_bound(a) < 0)
		return -1;
	if (!a->h || !pyipm_handle_usable(a->h)) {
		if (a->held || a->mapped) {
			/* forked inside a block: the lock is the parent's */
			pyipm_raise(PX_CLOSED, "this block was entered before fork(): the lock "
					       "belongs to the parent process");
			return -1;
		}
		Py_XDECREF(a->h); /* the parent's: left alone (see pyipm.h) */
		a->h = pyipm_entry_take(a->entry);
		if (!a->h)
			return -1;
	}
	h = a->h;
	if (!h->open || (!a->held && !a->mapped && pyipm_handle_stale(h))) {
		enum ipm_role role = a->entry->write ? IPM_EDITOR : IPM_READER;

		if (h->open && h->exports) {
			/* views still point into the old mapping: keep it for them */
			HandleObject *n = pyipm_handle_new(a->entry->schema);

			if (!n)
				return -1;
			Py_DECREF(h);
			a->h = h = n;
		}
		/* the open lets other threads run: they must not use h meanwhile */
		a->busy = 1;
		rc = pyipm_handle_open(h, a->entry, role, 0);
		a->busy = 0;
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* 1: locked (or mapped without lock), 0: busy (non-blocking), -1: raised */
static int acquire(AccessorObject *a, int lock, int blocking)
{
	int mode, rc, other;
	ipm_map *m;

	if (ready(a) < 0)
		return -1;
	if (!lock) {
		a->mapped = 1;
		return 1;
	}
	mode = a->entry->write ? 2 : 1;
	if (a->held == mode)
		return 1;
	m = a->h->m;
	rc = mode == 2 ? ipm_lock_write(m, 0) : ipm_lock_read(m, 0);
	if (rc == -EAGAIN && blocking) {
		other = pyipm_rec_conflict(a->entry->rec, a->h, mode);
		if (other) {
			pyipm_raise(PX_DEADLOCK,
				    "%s: this thread holds the %s lock through another accessor; "
				    "waiting for the %s lock would never end",
				    ipm_map_path(m), other == 2 ? "write" : "read", role_name(a));
			return -1;
		}
		a->busy = 1;
		do {
			PyThreadState *ts = PyEval_SaveThread();

			rc = mode == 2 ? ipm_lock_write(m, -1) : ipm_lock_read(m, -1);
			PyEval_RestoreThread(ts);
		} while (rc == -EINTR && PyErr_CheckSignals() == 0);
		a->busy = 0;
		if (rc == -EINTR)
			return -1; /* a signal handler raised (KeyboardInterrupt) */
	}
	if (rc == -EAGAIN || rc == -ETIMEDOUT)
		return 0;
	if (rc < 0) {
		pyipm_raise_rc(rc, ipm_map_errmsg(m), ipm_map_path(m));
		return -1;
	}
	a->held = mode;
	pyipm_rec_add(a->entry->rec, a->h, mode);
	return 1;
}

/* 0, or -1 with an exception when the lock was released but the file was
 * damaged during a write section (what it wrote may be lost). */
static int release(AccessorObject *a, int lock)
{
	HandleObject *h = a->h;
	int rc = 0;

	if (lock && a->held && h && pyipm_handle_usable(h)) {
		/* the token for wait_change(): a reader's under its lock (what it
		 * read), a writer's after its own change is counted */
		if (a->held == 1 && ipm_map_changes(h->m, &a->seen) == 0)
			a->have_seen = 1;
		rc = ipm_unlock(h->m);
		if (a->held == 2 && ipm_map_changes(h->m, &a->seen) == 0)
			a->have_seen = 1;
		pyipm_rec_del(a->entry->rec, h);
		a->held = 0;
	}
	a->mapped = 0;
	if (rc < 0) {
		pyipm_raise_rc(rc, ipm_map_errmsg(h->m), ipm_map_path(h->m));
		return -1;
	}
	return 0;
}

/* The accessor may touch the mapping now (inside a block). */
static int inside(AccessorObject *a, const char *what)
{
	if (check_bound(a) < 0)
		return -1;
	if ((!a->held && !a->mapped) || !a->h || !a->h->open || !pyipm_handle_usable(a->h)) {
		pyipm_raise(PX_CLOSED, "%s() outside a with block (or _acquireMmapResource())",
			    what);
		return -1;
	}
	return 0;
}

/*
 * How a read of the accessor reaches the mapping: 0 directly (under its
 * block's lock, or unlocked access on a compat instance), 1 by the library's
 * lock-free read (a native instance, no lock held: inside
 * _acquireMmapResource(lock=False), or outside any block), -1 raised.
 */
static int read_via(AccessorObject *a, const char *what)
{
	int native;

	if (check_bound(a) < 0)
		return -1;
	if (a->held || a->mapped) {
		if (inside(a, what) < 0)
			return -1;
		if (a->held)
			return 0;
	} else if (ready(a) < 0) {
		return -1;
	}
	/* also brings the handle's idea of the mode up to date */
	native = ipm_map_native(a->h->m);
	if (native == 1) {
		/* this thread holds the write lock through another accessor:
		 * the library's read of its open section would wait for it;
		 * nobody else writes, and what it wrote is there to read */
		if (pyipm_rec_conflict(a->entry->rec, a->h, 1) == 2)
			return 0;
		return 1;
	}
	if (a->mapped)
		return 0;
	if (native < 0) {
		pyipm_raise_rc(native, ipm_map_errmsg(a->h->m), ipm_map_path(a->h->m));
		return -1;
	}
	pyipm_raise(PX_CLOSED,
		    "%s() outside a with block (or _acquireMmapResource()); only a native "
		    "instance is read without one",
		    what);
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Binding, blocks and locks                                                 */
/* ------------------------------------------------------------------------ */

static PyObject *acc_bind(AccessorObject *a, PyObject *arg)
{
	if (!PyObject_TypeCheck(arg, &EntryType)) {
		PyErr_SetString(PyExc_TypeError, "_bind() takes an Entry");
		return NULL;
	}
	if (a->busy)
		return pyipm_raise(PX_CLOSED, "the accessor is busy in another thread");
	if (a->entry) {
		give_back(a);
		Py_CLEAR(a->entry);
	}
	a->entry = (EntryObject *)Py_NewRef(arg);
	a->h = pyipm_entry_take(a->entry);
	a->have_seen = 0;
	if (!a->h) {
		Py_CLEAR(a->entry);
		return NULL;
	}
	Py_RETURN_NONE;
}

static PyObject *acc_close(AccessorObject *a, PyObject *unused)
{
	(void)unused;
	if (a->busy)
		return pyipm_raise(PX_CLOSED, "the accessor is busy in another thread");
	if (a->entry) {
		give_back(a);
		Py_CLEAR(a->entry);
	}
	Py_RETURN_NONE;
}

static PyObject *acc_enter(AccessorObject *a, PyObject *unused)
{
	(void)unused;
	if (acquire(a, 1, 1) < 0)
		return NULL;
	return Py_NewRef(a);
}

static PyObject *acc_exit(AccessorObject *a, PyObject *const *args, Py_ssize_t n)
{
	/* a failure is reported unless the block already ends with one */
	if (a->entry && !a->busy && release(a, 1) < 0 && n >= 1 && args[0] != Py_None)
		PyErr_Clear();
	else if (PyErr_Occurred())
		return NULL;
	Py_RETURN_FALSE;
}

static PyObject *acc_acquire(AccessorObject *a, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"lock", "blocking", NULL};
	int lock = 1, blocking = 1, rc;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|pp:_acquireMmapResource", kwlist, &lock,
					 &blocking))
		return NULL;
	rc = acquire(a, lock, blocking);
	if (rc < 0)
		return NULL;
	return PyBool_FromLong(rc);
}

static PyObject *acc_release(AccessorObject *a, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"lock", NULL};
	int lock = 1;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|p:_releaseMmapResource", kwlist, &lock))
		return NULL;
	if (check_bound(a) < 0 || release(a, lock) < 0)
		return NULL;
	Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

static PyObject *acc_read(AccessorObject *a, PyObject *key)
{
	FieldObject *f;
	PyObject *r;
	int via = read_via(a, "readData");

	if (via < 0)
		return NULL;
	f = pyipm_entry_field(a->entry, key);
	if (!f)
		return NULL;
	/* a lock-free read lets other threads run: they must not use h */
	a->busy = via;
	r = pyipm_read_field(a->h, f, key, via);
	a->busy = 0;
	return r;
}

/* The whole structure in one state: ipm_map_copy(), the lock-free snapshot
 * of a native instance (see read_via()), the GIL released. */
static int copy_free(AccessorObject *a, void *buf, size_t n)
{
	/* the copy that never waits first, as pyipm_get_free() */
	int rc = ipm_map_peek(a->h->m, 0, buf, n);

	a->busy = 1;
	if (rc == -EAGAIN) {
		do {
			PyThreadState *ts = PyEval_SaveThread();

			rc = ipm_map_copy(a->h->m, buf, n);
			PyEval_RestoreThread(ts);
		} while (rc == -EINTR && PyErr_CheckSignals() == 0);
	}
	a->busy = 0;
	if (rc == -EINTR)
		return -1;
	if (rc < 0) {
		pyipm_raise_rc(rc, ipm_map_errmsg(a->h->m), ipm_map_path(a->h->m));
		return -1;
	}
	return 0;
}

static PyObject *acc_read_buffer(AccessorObject *a, PyObject *unused)
{
	size_t n;
	PyObject *b, *r;
	int via = read_via(a, "readMappedBuffer"), rc;
	(void)unused;

	if (via < 0)
		return NULL;
	n = ipm_map_size(a->h->m);
	b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n);
	if (!b)
		return NULL;
	rc = via ? copy_free(a, PyBytes_AS_STRING(b), n)
		 : pyipm_copy_out(a->h, 0, PyBytes_AS_STRING(b), n);
	if (rc < 0) {
		Py_DECREF(b);
		return NULL;
	}
	r = PyObject_CallMethod(a->entry->cls, "from_buffer_copy", "O", b);
	Py_DECREF(b);
	return r;
}

static PyObject *acc_last_update(AccessorObject *a, PyObject *unused)
{
	double ts;
	(void)unused;

	/* as Python IPMMAP: -1 outside a block */
	if (!a->entry || a->busy || (!a->held && !a->mapped) || !a->h || !a->h->open ||
	    !pyipm_handle_usable(a->h))
		return PyFloat_FromDouble(-1);
	if (!a->held && ipm_map_native(a->h->m) == 1 &&
	    pyipm_rec_conflict(a->entry->rec, a->h, 1) != 2) {
		/* unlocked access to a native instance: the lock-free read */
		int rc = ipm_map_peek(a->h->m, TS_OFFSET, &ts, sizeof(ts));

		a->busy = 1;
		if (rc == -EAGAIN) {
			do {
				PyThreadState *st = PyEval_SaveThread();

				rc = ipm_map_timestamp(a->h->m, &ts);
				PyEval_RestoreThread(st);
			} while (rc == -EINTR && PyErr_CheckSignals() == 0);
		}
		a->busy = 0;
		if (rc == -EINTR)
			return NULL;
		if (rc < 0)
			return pyipm_raise_rc(rc, ipm_map_errmsg(a->h->m), ipm_map_path(a->h->m));
		return PyFloat_FromDouble(ts);
	}
	if (pyipm_copy_out(a->h, TS_OFFSET, &ts, sizeof(ts)) < 0)
		return NULL;
	return PyFloat_FromDouble(ts);
}

/* ------------------------------------------------------------------------ */
/* Writing (the editor's and manager's methods)                              */
/* ------------------------------------------------------------------------ */

static int inside_writing(AccessorObject *a, const char *what)
{
	if (inside(a, what) < 0)
		return -1;
	if (!a->entry->write || ipm_map_role(a->h->m) == IPM_READER) {
		pyipm_raise(PX_CLOSED, "%s(): this accessor only reads", what);
		return -1;
	}
	return 0;
}

static PyObject *acc_write(AccessorObject *a, PyObject *const *args, Py_ssize_t n)
{
	FieldObject *f;

	if (n != 2) {
		PyErr_Format(PyExc_TypeError, "writeData() takes 2 arguments (%zd given)", n);
		return NULL;
	}
	if (inside_writing(a, "writeData") < 0)
		return NULL;
	f = pyipm_entry_field(a->entry, args[0]);
	if (!f || pyipm_write_field(a->h, f, args[0], args[1]) < 0)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *acc_refer(AccessorObject *a, PyObject *unused)
{
	(void)unused;
	if (inside_writing(a, "referMappedBuffer") < 0)
		return NULL;
	/* the view keeps the handle, and so the mapping, alive */
	return PyObject_CallMethod(a->entry->cls, "from_buffer", "O", a->h);
}

static PyObject *acc_clear(AccessorObject *a, PyObject *unused)
{
	int16_t code;
	(void)unused;

	if (inside_writing(a, "clearMappedBuffer") < 0)
		return NULL;
	/* header_code stays: C peers refuse a file without it */
	if (pyipm_copy_out(a->h, 0, &code, sizeof(code)) < 0 ||
	    pyipm_fill(a->h, 0, 0, ipm_map_size(a->h->m)) < 0 ||
	    pyipm_copy_in(a->h, 0, &code, sizeof(code)) < 0)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *acc_touch(AccessorObject *a, PyObject *unused)
{
	struct timespec ts;
	double t;
	(void)unused;

	if (inside_writing(a, "updateLastUpdate") < 0)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &ts);
	t = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	if (pyipm_copy_in(a->h, TS_OFFSET, &t, sizeof(t)) < 0)
		return NULL;
	Py_RETURN_NONE;
}

PyMethodDef pyipm_write_methods[] = {
    {"writeData", (PyCFunction)(void (*)(void))acc_write, METH_FASTCALL,
     "writeData(key, value): store value in the field at key (\"a.b[3].c\"); a value "
     "that does not fit raises (TypeIpMmapError, ValueIpMmapError)"},
    {"referMappedBuffer", (PyCFunction)acc_refer, METH_NOARGS,
     "a ctypes structure over the mapping itself, to edit in place within the block"},
    {"clearMappedBuffer", (PyCFunction)acc_clear, METH_NOARGS,
     "zero fill the structure, keeping header_code"},
    {"updateLastUpdate", (PyCFunction)acc_touch, METH_NOARGS, "set the header's time_stamp to now"},
    {NULL, NULL, 0, NULL},
};

/* ------------------------------------------------------------------------ */
/* New: waits, recovery, fingerprint                                         */
/* ------------------------------------------------------------------------ */

static PyObject *acc_wait(AccessorObject *a, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"timeout", NULL};
	PyObject *to = Py_None;
	double timeout = -1, left;
	struct timespec t0, t1;
	uint64_t seen, now;
	PyThreadState *ts;
	int rc;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:wait_change", kwlist, &to))
		return NULL;
	if (to != Py_None) {
		if (!PyFloat_Check(to) && !PyLong_Check(to))
			return pyipm_raise(PX_TYPE,
					   "wait_change(): timeout must be None or a "
					   "number of seconds, not %.100s",
					   Py_TYPE(to)->tp_name);
		timeout = PyFloat_AsDouble(to);
		if (timeout == -1 && PyErr_Occurred())
			return NULL;
		if (!(timeout >= 0) || isinf(timeout))
			return pyipm_raise(PX_VALUE,
					   "wait_change(): timeout must be None or a "
					   "finite number >= 0, not %R",
					   to);
	}
	if (ready(a) < 0)
		return NULL;
	if (a->held)
		return pyipm_raise(PX_DEADLOCK, "wait_change() inside a with block: writers "
						"could not change anything while it waits");
	if (!a->have_seen) {
		rc = ipm_map_changes(a->h->m, &a->seen);
		if (rc < 0)
			return pyipm_raise_rc(rc, ipm_map_errmsg(a->h->m), ipm_map_path(a->h->m));
		a->have_seen = 1;
	}
	seen = a->seen;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	a->busy = 1;
	for (;;) {
		int slice = 200; /* ms: looks at signals (Ctrl-C) this often */

		left = 1e9;
		if (timeout >= 0) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			left = timeout - (double)(t1.tv_sec - t0.tv_sec) -
			       (t1.tv_nsec - t0.tv_nsec) / 1e9;
			if (left < 0)
				left = 0;
			if (left * 1000 < slice)
				slice = (int)ceil(left * 1000);
		}
		ts = PyEval_SaveThread();
		rc = ipm_map_wait(a->h->m, seen, slice);
		PyEval_RestoreThread(ts);
		if (rc == 0 || (rc != -ETIMEDOUT && rc != -EINTR))
			break;
		if (PyErr_CheckSignals() < 0) {
			a->busy = 0;
			return NULL;
		}
		if (rc == -ETIMEDOUT && timeout >= 0 && left <= slice / 1000.0)
			break;
	}
	a->busy = 0;
	if (rc == 0) {
		if (ipm_map_changes(a->h->m, &now) == 0)
			a->seen = now;
		Py_RETURN_TRUE;
	}
	if (rc == -ETIMEDOUT)
		Py_RETURN_FALSE;
	return pyipm_raise_rc(rc, ipm_map_errmsg(a->h->m), ipm_map_path(a->h->m));
}

static PyObject *acc_recovery(AccessorObject *a, PyObject *unused)
{
	struct ipm_recovery r;
	int rc;
	(void)unused;

	if (ready(a) < 0)
		return NULL;
	rc = ipm_map_recovery(a->h->m, &r);
	if (rc < 0)
		return pyipm_raise_rc(rc, ipm_map_errmsg(a->h->m), ipm_map_path(a->h->m));
	return Py_BuildValue("{sKsKsdsisOsO}", "count", (unsigned long long)r.count, "undone",
			     (unsigned long long)r.undone, "last_time", r.last_time, "last_pid",
			     (int)r.last_pid, "pending", r.pending ? Py_True : Py_False,
			     "reading_saved", r.reading_saved ? Py_True : Py_False);
}

/* The same operation as `with accessor: accessor.readData(key)` done n times
 * by the C library alone (resolved field, ipm_get_i64 under the lock):
 * what bench/py_bench.py compares the binding's own overhead with. Returns
 * nanoseconds per operation. */
static PyObject *acc_c_loop(AccessorObject *a, PyObject *args)
{
	PyObject *key;
	Py_ssize_t n, i;
	FieldObject *f;
	struct timespec t0, t1;
	int64_t v;
	int rc = 0;

	if (!PyArg_ParseTuple(args, "On:_c_loop", &key, &n))
		return NULL;
	if (ready(a) < 0 || a->held)
		return a->held ? pyipm_raise(PX_CLOSED, "_c_loop() inside a block") : NULL;
	f = pyipm_entry_field(a->entry, key);
	if (!f)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n && rc == 0; i++) {
		rc = a->entry->write ? ipm_lock_write(a->h->m, -1) : ipm_lock_read(a->h->m, -1);
		if (rc == 0)
			rc = ipm_get_i64(a->h->m, &f->f, &v);
		ipm_unlock(a->h->m);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc < 0)
		return pyipm_raise_rc(rc, ipm_map_errmsg(a->h->m), ipm_map_path(a->h->m));
	return PyFloat_FromDouble(
	    ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
	    (double)(n ? n : 1));
}

/* ------------------------------------------------------------------------ */
/* The type                                                                  */
/* ------------------------------------------------------------------------ */

static void acc_dealloc(AccessorObject *a)
{
	if (a->entry && !a->busy)
		give_back(a);
	else
		Py_CLEAR(a->h); /* busy: another thread waits on it; cannot happen
				   while a method runs, which holds a reference */
	Py_CLEAR(a->entry);
	Py_TYPE(a)->tp_free((PyObject *)a);
}

#define ENTRY_GETTER(field)                                                                        \
	static PyObject *get_##field(AccessorObject *a, void *unused)                              \
	{                                                                                          \
		(void)unused;                                                                      \
		if (!a->entry)                                                                     \
			Py_RETURN_NONE;                                                            \
		return Py_NewRef(a->entry->field);                                                 \
	}
ENTRY_GETTER(mmap_path)
ENTRY_GETTER(lock_path)
ENTRY_GETTER(cls)

static PyObject *get_fingerprint(AccessorObject *a, void *unused)
{
	(void)unused;
	if (check_bound(a) < 0)
		return NULL;
	return PyLong_FromUnsignedLongLong(ipm_type_fingerprint(a->entry->type));
}

static PyObject *get_native(AccessorObject *a, void *unused)
{
	int rc;
	(void)unused;

	if (ready(a) < 0)
		return NULL;
	rc = ipm_map_native(a->h->m);
	if (rc < 0)
		return pyipm_raise_rc(rc, ipm_map_errmsg(a->h->m), ipm_map_path(a->h->m));
	return PyBool_FromLong(rc);
}

static PyObject *get_locked(AccessorObject *a, void *unused)
{
	static const char *names[] = {NULL, "read", "write"};
	(void)unused;

	if (!a->held)
		Py_RETURN_NONE;
	return PyUnicode_FromString(names[a->held]);
}

static PyGetSetDef acc_getset[] = {
    {"mmapFilePath", (getter)get_mmap_path, NULL, "the mmap file (pathlib.Path)", NULL},
    {"fastenerFilePath", (getter)get_lock_path, NULL, "the lock file (pathlib.Path)", NULL},
    {"structType", (getter)get_cls, NULL, "the ctypes structure class", NULL},
    {"fingerprint", (getter)get_fingerprint, NULL,
     "64-bit layout fingerprint (libipmmap's, as the C headers carry)", NULL},
    {"locked", (getter)get_locked, NULL, "'read', 'write' or None: the lock held", NULL},
    {"native", (getter)get_native, NULL,
     "True if the instance is native (every writer uses libipmmap; reads outside a block "
     "take no lock), False if compat (opens the mapping if needed)",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef acc_methods[] = {
    {"_bind", (PyCFunction)acc_bind, METH_O, "_bind(entry): take a handle of entry"},
    {"close", (PyCFunction)acc_close, METH_NOARGS,
     "leave any block and give the handle back; the accessor cannot be used after"},
    {"__enter__", (PyCFunction)acc_enter, METH_NOARGS, "take the lock (blocking)"},
    {"__exit__", (PyCFunction)(void (*)(void))acc_exit, METH_FASTCALL, "release the lock"},
    {"_acquireMmapResource", (PyCFunction)(void (*)(void))acc_acquire, METH_VARARGS | METH_KEYWORDS,
     "_acquireMmapResource(lock=True, blocking=True) -> bool: take the lock "
     "(lock=False: unlocked access)"},
    {"_releaseMmapResource", (PyCFunction)(void (*)(void))acc_release, METH_VARARGS | METH_KEYWORDS,
     "_releaseMmapResource(lock=True)"},
    {"readData", (PyCFunction)acc_read, METH_O,
     "readData(key): the value of the field at key (\"a.b\", \"a.b[3].c\"); in a block, "
     "or outside one on a native instance (one lock-free, consistent copy)"},
    {"readMappedBuffer", (PyCFunction)acc_read_buffer, METH_NOARGS,
     "a copy of the whole structure (an instance of its ctypes class); in a block, or "
     "outside one on a native instance (one whole update, without a lock)"},
    {"getLastUpdate", (PyCFunction)acc_last_update, METH_NOARGS,
     "the header's time_stamp; -1 outside a block"},
    {"wait_change", (PyCFunction)(void (*)(void))acc_wait, METH_VARARGS | METH_KEYWORDS,
     "wait_change(timeout=None) -> bool: wait (outside any block) until the instance "
     "changes after this accessor's last block; False on timeout (seconds)"},
    {"recovery", (PyCFunction)acc_recovery, METH_NOARGS,
     "crash recovery status: count, undone, last_time, last_pid, pending, reading_saved"},
    {"_c_loop", (PyCFunction)acc_c_loop, METH_VARARGS,
     "_c_loop(key, n) -> ns: the library alone doing a block + readData(key), n times"},
    {NULL, NULL, 0, NULL},
};

PyTypeObject AccessorType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ipmmap._ipmmap.Accessor",
    .tp_basicsize = sizeof(AccessorObject),
    .tp_dealloc = (destructor)acc_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "base of the accessor classes of ipmmap.struct_mmap_manager",
    .tp_methods = acc_methods,
    .tp_getset = acc_getset,
    .tp_new = PyType_GenericNew,
};
