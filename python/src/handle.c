/*
 * handle.c - the per-process cache behind the accessors: Entry (what an
 * accessor's arguments resolve to, with its resolved keys and a pool of
 * open handles), Handle (one ipm_map, kept open, whose mapping can be lent
 * out as a buffer), LockRec (who in this process holds an instance's lock)
 * and Field (a resolved key).
 */
#include "pyipm.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Free handles an entry keeps; more are closed when given back. */
#define POOL_MAX 8
/* Keys an entry remembers before it starts over. */
#define KEYS_MAX 4096
/* How often (s) a handle looks whether its file was made anew (renamed
 * into place by a manager), which it would otherwise never see. */
#define RECHECK_S 0.2

/* ------------------------------------------------------------------------ */
/* Field                                                                     */
/* ------------------------------------------------------------------------ */

static void field_dealloc(FieldObject *self)
{
	Py_XDECREF(self->ctype);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

PyTypeObject FieldType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ipmmap._ipmmap.Field",
    .tp_basicsize = sizeof(FieldObject),
    .tp_dealloc = (destructor)field_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "a resolved key",
};

FieldObject *pyipm_entry_field(EntryObject *e, PyObject *key)
{
	char err[IPM_ERRLEN];
	FieldObject *f = (FieldObject *)PyDict_GetItemWithError(e->keys, key);
	const char *path;
	Py_ssize_t len;
	PyObject *ct;
	int rc;

	if (f)
		return f; /* borrowed */
	if (PyErr_Occurred())
		return NULL;
	if (!PyUnicode_Check(key))
		return (FieldObject *)pyipm_raise(PX_TYPE, "key must be a str, not %.100s",
						  Py_TYPE(key)->tp_name);
	path = PyUnicode_AsUTF8AndSize(key, &len);
	if (!path)
		return NULL;
	if (strlen(path) != (size_t)len)
		return (FieldObject *)pyipm_raise(PX_KEY, "%R: embedded NUL", key);
	rc = ipm_type_resolve(e->type, path, &(struct ipm_field){0}, err);
	if (rc < 0)
		return (FieldObject *)pyipm_raise(PX_KEY, "%R: %s", key, err);
	f = PyObject_New(FieldObject, &FieldType);
	if (!f)
		return NULL;
	f->ctype = NULL;
	f->single_char = 0;
	ipm_type_resolve(e->type, path, &f->f, NULL);
	ct = PyObject_CallFunctionObjArgs(pyipm_ctype_at, e->cls, key, NULL);
	if (!ct) {
		Py_DECREF(f);
		return NULL;
	}
	if (ct == Py_None) {
		Py_DECREF(ct);
		if (f->f.kind == IPM_ARRAY || f->f.kind == IPM_STRUCT) {
			Py_DECREF(f);
			return (FieldObject *)pyipm_raise(PX_KEY, "%R: no ctypes type there", key);
		}
	} else {
		f->ctype = ct;
		f->single_char = ct == pyipm_c_char;
	}
	if (PyDict_GET_SIZE(e->keys) >= KEYS_MAX)
		PyDict_Clear(e->keys);
	rc = PyDict_SetItem(e->keys, key, (PyObject *)f);
	Py_DECREF(f); /* the dict keeps it */
	return rc < 0 ? NULL : f;
}

/* ------------------------------------------------------------------------ */
/* LockRec                                                                   */
/* ------------------------------------------------------------------------ */

static PyObject *rec_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	LockRecObject *self;

	if (!PyArg_ParseTuple(args, ":LockRec") || (kw && PyDict_GET_SIZE(kw))) {
		if (!PyErr_Occurred())
			PyErr_SetString(PyExc_TypeError, "LockRec() takes no arguments");
		return NULL;
	}
	self = (LockRecObject *)type->tp_alloc(type, 0);
	if (self)
		self->gen = pyipm_gen;
	return (PyObject *)self;
}

static void rec_dealloc(LockRecObject *self)
{
	PyMem_Free(self->v);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

PyTypeObject LockRecType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ipmmap._ipmmap.LockRec",
    .tp_basicsize = sizeof(LockRecObject),
    .tp_dealloc = (destructor)rec_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "LockRec(): who in this process holds one lock file",
    .tp_new = rec_new,
};

/* Holders recorded before a fork are the parent's. */
static void rec_fresh(LockRecObject *r)
{
	if (r->gen != pyipm_gen) {
		r->n = 0;
		r->gen = pyipm_gen;
	}
}

void pyipm_rec_add(LockRecObject *r, const void *h, int mode)
{
	size_t i;

	rec_fresh(r);
	for (i = 0; i < r->n; i++)
		if (r->v[i].h == h) {
			r->v[i].mode = mode;
			r->v[i].tid = PyThread_get_thread_ident();
			return;
		}
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 4;
		struct lock_holder *v = PyMem_Realloc(r->v, cap * sizeof(*v));

		if (!v)
			return; /* only the deadlock check loses sight of it */
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = (struct lock_holder){PyThread_get_thread_ident(), h, mode};
}

void pyipm_rec_del(LockRecObject *r, const void *h)
{
	size_t i;

	rec_fresh(r);
	for (i = 0; i < r->n; i++)
		if (r->v[i].h == h) {
			r->v[i] = r->v[--r->n];
			return;
		}
}

int pyipm_rec_conflict(LockRecObject *r, const void *h, int mode)
{
	unsigned long me = PyThread_get_thread_ident();
	size_t i;

	rec_fresh(r);
	for (i = 0; i < r->n; i++)
		if (r->v[i].h != h && r->v[i].tid == me && (mode == 2 || r->v[i].mode == 2))
			return r->v[i].mode;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Handle                                                                    */
/* ------------------------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

HandleObject *pyipm_handle_new(SchemaObject *s)
{
	HandleObject *h = PyObject_New(HandleObject, &HandleType);

	if (!h)
		return NULL;
	h->m = ipm_map_new(s->s);
	h->gen = pyipm_gen;
	h->open = 0;
	h->exports = 0;
	h->dev = 0;
	h->ino = 0;
	h->checked = 0;
	if (!h->m) {
		/* tp_dealloc must not see a NULL map */
		h->gen = ~pyipm_gen;
		Py_DECREF(h);
		PyErr_NoMemory();
		return NULL;
	}
	return h;
}

int pyipm_handle_usable(const HandleObject *h)
{
	return h->gen == pyipm_gen;
}

static void handle_dealloc(HandleObject *self)
{
	/* a handle inherited through fork shares its lock file's open file
	 * description with the parent: closing it could drop the parent's
	 * locks, so it is left as it is */
	if (self->gen == pyipm_gen)
		ipm_map_free(self->m);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

int pyipm_handle_open(HandleObject *h, EntryObject *e, enum ipm_role role, unsigned flags)
{
	struct ipm_open_opts o = {0};
	const char *name = PyBytes_AS_STRING(e->name), *tag = PyBytes_AS_STRING(e->tag);
	struct stat st;
	int rc;

	o.mmap_dir = e->mmap_dir != Py_None ? PyBytes_AS_STRING(e->mmap_dir) : NULL;
	o.lock_dir = e->lock_dir != Py_None ? PyBytes_AS_STRING(e->lock_dir) : NULL;
	o.flags = flags;
	o.mode = e->mode;
	o.fingerprint = e->fingerprint;
	if (h->open) {
		ipm_map_close(h->m);
		h->open = 0;
	}
	for (;;) {
		/* a manager waits for the write lock, an editor or reader for a
		 * file being made: let other threads run meanwhile */
		PyThreadState *ts = PyEval_SaveThread();

		rc = ipm_map_open(h->m, name, tag, role, &o);
		PyEval_RestoreThread(ts);
		if (rc != -EINTR)
			break;
		if (PyErr_CheckSignals() < 0)
			return -1;
	}
	if (rc < 0) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s_%s.mmap",
			 o.mmap_dir ? o.mmap_dir : IPM_DEFAULT_MMAP_DIR, name, tag);
		pyipm_raise_rc(rc, ipm_map_errmsg(h->m), path);
		return -1;
	}
	h->open = 1;
	h->checked = now_s();
	if (stat(ipm_map_path(h->m), &st) == 0) {
		h->dev = st.st_dev;
		h->ino = st.st_ino;
	}
	return 0;
}

/* Whether the handle's file was replaced by another (looked at every
 * RECHECK_S at most): 1 yes, 0 no. */
int pyipm_handle_stale(HandleObject *h)
{
	double t = now_s();
	struct stat st;

	if (!h->open || t - h->checked < RECHECK_S)
		return 0;
	h->checked = t;
	if (stat(ipm_map_path(h->m), &st) < 0)
		return 0; /* gone: the mapping is all there is; reads go on */
	return st.st_dev != h->dev || st.st_ino != h->ino;
}

static int handle_getbuffer(HandleObject *self, Py_buffer *view, int flags)
{
	int ro;

	if (!self->open || self->gen != pyipm_gen) {
		pyipm_raise(PX_CLOSED, "the mapping is not open");
		view->obj = NULL;
		return -1;
	}
	ro = ipm_map_role(self->m) == IPM_READER;
	if (PyBuffer_FillInfo(view, (PyObject *)self, ipm_map_data(self->m),
			      (Py_ssize_t)ipm_map_size(self->m), ro, flags) < 0)
		return -1;
	self->exports++;
	return 0;
}

static void handle_releasebuffer(HandleObject *self, Py_buffer *view)
{
	(void)view;
	self->exports--;
}

static PyBufferProcs handle_as_buffer = {
    .bf_getbuffer = (getbufferproc)handle_getbuffer,
    .bf_releasebuffer = (releasebufferproc)handle_releasebuffer,
};

PyTypeObject HandleType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ipmmap._ipmmap.Handle",
    .tp_basicsize = sizeof(HandleObject),
    .tp_dealloc = (destructor)handle_dealloc,
    .tp_as_buffer = &handle_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "one open ipm_map; a buffer over its mapping",
};

/* ------------------------------------------------------------------------ */
/* Entry                                                                     */
/* ------------------------------------------------------------------------ */

static PyObject *fs_bytes_or_none(PyObject *o)
{
	PyObject *b;

	if (o == Py_None)
		return Py_NewRef(o);
	if (!PyUnicode_FSConverter(o, &b))
		return NULL;
	if (strlen(PyBytes_AS_STRING(b)) != (size_t)PyBytes_GET_SIZE(b)) {
		Py_DECREF(b);
		return pyipm_raise(PX_VALUE, "embedded NUL in %R", o);
	}
	return b;
}

static PyObject *entry_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"schema",    "name",  "cls",  "tag",	      "mmap_dir",
				 "lock_dir",  "write", "mode", "fingerprint", "mmap_path",
				 "lock_path", "rec",   NULL};
	SchemaObject *schema;
	PyObject *name, *cls, *tag, *mdir, *ldir, *mpath, *lpath;
	LockRecObject *rec;
	int write;
	unsigned int mode;
	unsigned long long fp;
	EntryObject *e;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O!UOUOOpIKOOO!", kwlist, &SchemaType, &schema,
					 &name, &cls, &tag, &mdir, &ldir, &write, &mode, &fp,
					 &mpath, &lpath, &LockRecType, &rec))
		return NULL;
	e = (EntryObject *)type->tp_alloc(type, 0);
	if (!e)
		return NULL;
	e->schema = (SchemaObject *)Py_NewRef(schema);
	e->cls = Py_NewRef(cls);
	e->rec = (LockRecObject *)Py_NewRef(rec);
	e->mmap_path = Py_NewRef(mpath);
	e->lock_path = Py_NewRef(lpath);
	e->write = write;
	e->mode = (mode_t)mode;
	e->fingerprint = fp;
	e->keys = PyDict_New();
	e->name = PyUnicode_AsUTF8String(name);
	e->tag = PyUnicode_AsUTF8String(tag);
	e->mmap_dir = fs_bytes_or_none(mdir);
	e->lock_dir = fs_bytes_or_none(ldir);
	if (!e->keys || !e->name || !e->tag || !e->mmap_dir || !e->lock_dir) {
		Py_DECREF(e);
		return NULL;
	}
	e->type = ipm_schema_find(schema->s, PyBytes_AS_STRING(e->name));
	if (!e->type) {
		Py_DECREF(e);
		return pyipm_raise(PX_LAYOUT, "no structure %R in the schema", name);
	}
	return (PyObject *)e;
}

static void entry_dealloc(EntryObject *e)
{
	size_t i;

	for (i = 0; i < e->npool; i++)
		Py_DECREF(e->pool[i]);
	PyMem_Free(e->pool);
	Py_XDECREF(e->schema);
	Py_XDECREF(e->cls);
	Py_XDECREF(e->rec);
	Py_XDECREF(e->mmap_path);
	Py_XDECREF(e->lock_path);
	Py_XDECREF(e->keys);
	Py_XDECREF(e->name);
	Py_XDECREF(e->tag);
	Py_XDECREF(e->mmap_dir);
	Py_XDECREF(e->lock_dir);
	Py_TYPE(e)->tp_free((PyObject *)e);
}

HandleObject *pyipm_entry_take(EntryObject *e)
{
	while (e->npool) {
		HandleObject *h = e->pool[--e->npool];

		if (pyipm_handle_usable(h))
			return h;
		Py_DECREF(h);
	}
	return pyipm_handle_new(e->schema);
}

void pyipm_entry_give(EntryObject *e, HandleObject *h)
{
	if (pyipm_handle_usable(h) && e->npool < POOL_MAX) {
		if (e->npool == e->cappool) {
			size_t cap = e->cappool ? 2 * e->cappool : 2;
			HandleObject **p = PyMem_Realloc(e->pool, cap * sizeof(*p));

			if (!p) {
				Py_DECREF(h);
				return;
			}
			e->pool = p;
			e->cappool = cap;
		}
		e->pool[e->npool++] = h;
		return;
	}
	Py_DECREF(h);
}

/* Entry.create(force, native=None): the manager's creation step, on a
 * handle of its own that then joins the pool; native True or False records
 * the instance's mode (IPM_NATIVE, IPM_COMPAT), None keeps the one it has. */
static PyObject *entry_create(EntryObject *e, PyObject *args)
{
	PyObject *fo, *no = Py_None;
	unsigned flags = 0;
	HandleObject *h;
	int force;

	if (!PyArg_ParseTuple(args, "O|O:create", &fo, &no))
		return NULL;
	force = PyObject_IsTrue(fo);
	if (force < 0)
		return NULL;
	if (force)
		flags |= IPM_FORCE;
	if (no != Py_None)
		flags |= PyObject_IsTrue(no) ? IPM_NATIVE : IPM_COMPAT;
	h = pyipm_handle_new(e->schema);
	if (!h)
		return NULL;
	if (pyipm_handle_open(h, e, IPM_MANAGER, flags) < 0) {
		Py_DECREF(h);
		return NULL;
	}
	pyipm_entry_give(e, h);
	Py_RETURN_NONE;
}

static PyObject *entry_fingerprint(EntryObject *e, void *unused)
{
	(void)unused;
	return PyLong_FromUnsignedLongLong(ipm_type_fingerprint(e->type));
}

static PyMethodDef entry_methods[] = {
    {"create", (PyCFunction)entry_create, METH_VARARGS,
     "create(force, native=None): make the mmap file (native: record the mode)"},
    {NULL, NULL, 0, NULL},
};

static PyObject *entry_mmap_path(EntryObject *e, void *unused)
{
	(void)unused;
	return Py_NewRef(e->mmap_path);
}

static PyGetSetDef entry_getset[] = {
    {"fingerprint", (getter)entry_fingerprint, NULL, "layout fingerprint", NULL},
    {"mmap_path", (getter)entry_mmap_path, NULL, "the mmap file (pathlib.Path)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject EntryType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ipmmap._ipmmap.Entry",
    .tp_basicsize = sizeof(EntryObject),
    .tp_dealloc = (destructor)entry_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "what an accessor's arguments resolve to (made by struct_mmap_manager)",
    .tp_methods = entry_methods,
    .tp_getset = entry_getset,
    .tp_new = entry_new,
};
