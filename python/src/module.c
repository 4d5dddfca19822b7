/*
 * module.c - the ipmmap._ipmmap module: its initialisation, the exceptions it
 * raises, the fork generation, and Schema (an ipm_schema loaded from text,
 * with the introspection ipmmap._layout needs to check it against ctypes).
 */
#include "pyipm.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>

unsigned long pyipm_gen;
PyObject *pyipm_exc[PX_COUNT];
PyObject *pyipm_ctype_at;
PyObject *pyipm_c_char;

static void after_fork_child(void)
{
	pyipm_gen++;
}

PyObject *pyipm_raise(enum pyipm_exc which, const char *fmt, ...)
{
	va_list ap;
	PyObject *msg;

	va_start(ap, fmt);
	msg = PyUnicode_FromFormatV(fmt, ap);
	va_end(ap);
	if (msg) {
		PyErr_SetObject(pyipm_exc[which], msg);
		Py_DECREF(msg);
	}
	return NULL;
}

PyObject *pyipm_raise_rc(int rc, const char *msg, const char *path)
{
	enum pyipm_exc which = PX_MAP;
	PyObject *e;

	if (rc == -ENOMEM)
		return PyErr_NoMemory();
	if (rc == -ENOENT)
		which = PX_NOTFOUND;
	else if (rc == -EACCES || rc == -EPERM || rc == -EROFS)
		which = PX_PERM;
	if (!msg || !*msg)
		msg = strerror(-rc);
	e = PyObject_CallFunction(pyipm_exc[which], "isz", -rc, msg, path);
	if (e) {
		PyErr_SetObject(pyipm_exc[which], e);
		Py_DECREF(e);
	}
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Schema                                                                    */
/* ------------------------------------------------------------------------ */

static PyObject *schema_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"text", "name", "path", NULL};
	const char *text = NULL, *name = NULL, *path = NULL;
	SchemaObject *self;
	int rc;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|zzz", kwlist, &text, &name, &path))
		return NULL;
	if (!text == !path) {
		PyErr_SetString(PyExc_TypeError, "Schema() takes text or path");
		return NULL;
	}
	self = (SchemaObject *)type->tp_alloc(type, 0);
	if (!self)
		return NULL;
	self->s = ipm_schema_new();
	if (!self->s) {
		Py_DECREF(self);
		return PyErr_NoMemory();
	}
	rc = text ? ipm_schema_load_string(self->s, text, name)
		  : ipm_schema_load_file(self->s, path);
	if (rc < 0) {
		if (rc == -EINVAL)
			PyErr_SetString(PyExc_ValueError, ipm_schema_errmsg(self->s));
		else
			pyipm_raise_rc(rc, ipm_schema_errmsg(self->s), path);
		Py_DECREF(self);
		return NULL;
	}
	return (PyObject *)self;
}

static void schema_dealloc(SchemaObject *self)
{
	ipm_schema_free(self->s);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static const ipm_type *find_struct(SchemaObject *self, const char *name)
{
	const ipm_type *t = ipm_schema_find(self->s, name);

	if (!t)
		PyErr_Format(PyExc_KeyError, "no structure '%s' in the schema", name);
	return t;
}

/* A type as nested tuples: ("int32",) ("char", N) ("wchar", N)
 * ("array", N, elem) ("struct", name). */
static PyObject *type_desc(const ipm_type *t)
{
	switch (ipm_type_kind(t)) {
	case IPM_STRING:
		return Py_BuildValue("(sn)", "char", (Py_ssize_t)ipm_type_count(t));
	case IPM_WSTRING:
		return Py_BuildValue("(sn)", "wchar", (Py_ssize_t)ipm_type_count(t));
	case IPM_ARRAY: {
		PyObject *e = type_desc(ipm_type_elem(t));

		return e ? Py_BuildValue("(snN)", "array", (Py_ssize_t)ipm_type_count(t), e) : NULL;
	}
	case IPM_STRUCT:
		return Py_BuildValue("(ss)", "struct", ipm_type_name(t));
	default:
		return Py_BuildValue("(s)", ipm_type_name(t));
	}
}

static PyObject *schema_describe(SchemaObject *self, PyObject *arg)
{
	const char *name = PyUnicode_AsUTF8(arg);
	const ipm_type *t;
	PyObject *fields, *base;
	size_t i;

	if (!name || !(t = find_struct(self, name)))
		return NULL;
	fields = PyList_New(0);
	if (!fields)
		return NULL;
	for (i = 0; i < ipm_type_nfields(t); i++) {
		const ipm_type *ft = ipm_type_field_type(t, i);
		PyObject *d = type_desc(ft), *item;
		unsigned bit = 0, bits = ipm_type_field_bits(t, i, &bit);

		item = d ? Py_BuildValue("(snnNII)", ipm_type_field_name(t, i),
					 (Py_ssize_t)ipm_type_field_offset(t, i),
					 (Py_ssize_t)ipm_type_size(ft), d, bits, bits ? bit : 0)
			 : NULL;
		if (!item || PyList_Append(fields, item) < 0) {
			Py_XDECREF(item);
			Py_DECREF(fields);
			return NULL;
		}
		Py_DECREF(item);
	}
	base = ipm_type_base(t) ? PyUnicode_FromString(ipm_type_name(ipm_type_base(t)))
				: Py_NewRef(Py_None);
	return Py_BuildValue("(nnNNiKni)", (Py_ssize_t)ipm_type_size(t),
			     (Py_ssize_t)ipm_type_align(t), fields, base, ipm_type_mappable(t),
			     (unsigned long long)ipm_type_fingerprint(t),
			     (Py_ssize_t)ipm_type_pack(t), ipm_type_is_union(t));
}

static PyObject *schema_names(SchemaObject *self, PyObject *unused)
{
	PyObject *l = PyList_New(0);
	size_t i;
	(void)unused;

	for (i = 0; l && i < ipm_schema_count(self->s); i++) {
		PyObject *n = PyUnicode_FromString(ipm_type_name(ipm_schema_at(self->s, i)));

		if (!n || PyList_Append(l, n) < 0)
			Py_CLEAR(l);
		Py_XDECREF(n);
	}
	return l;
}

static PyMethodDef schema_methods[] = {
    {"describe", (PyCFunction)schema_describe, METH_O,
     "describe(name) -> (size, align, [(field, offset, size, type, bits, lowest bit)], "
     "base, mappable, fingerprint, pack, is_union); a bit field's offset and size are "
     "its unit's, bits is 0 for other fields"},
    {"names", (PyCFunction)schema_names, METH_NOARGS, "the structures, in order"},
    {NULL, NULL, 0, NULL},
};

PyTypeObject SchemaType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ipmmap._ipmmap.Schema",
    .tp_basicsize = sizeof(SchemaObject),
    .tp_dealloc = (destructor)schema_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Schema(text=None, name=None, path=None): a libipmmap schema",
    .tp_methods = schema_methods,
    .tp_new = schema_new,
};

/* ------------------------------------------------------------------------ */
/* Module                                                                    */
/* ------------------------------------------------------------------------ */

static PyObject *mod_generation(PyObject *m, PyObject *unused)
{
	(void)m;
	(void)unused;
	return PyLong_FromUnsignedLong(pyipm_gen);
}

static PyMethodDef module_methods[] = {
    {"generation", mod_generation, METH_NOARGS, "fork generation (changes in a child)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ipmmap._ipmmap",
    .m_doc = "libipmmap for Python IPMMAP's API (see ipmmap.struct_mmap_manager)",
    .m_size = -1,
    .m_methods = module_methods,
};

static int load_exceptions(void)
{
	static const char *names[PX_COUNT] = {
	    [PX_KEY] = "KeyIpMmapError",	 [PX_TYPE] = "TypeIpMmapError",
	    [PX_VALUE] = "ValueIpMmapError",	 [PX_CLOSED] = "ClosedIpMmapError",
	    [PX_LAYOUT] = "LayoutIpMmapError",	 [PX_DEADLOCK] = "DeadlockIpMmapError",
	    [PX_MAP] = "MapIpMmapError",	 [PX_NOTFOUND] = "MmapFileNotFoundIpMmapError",
	    [PX_PERM] = "PermissionIpMmapError",
	};
	PyObject *mod = PyImport_ImportModule("ipmmap.exception.ipmmap_error");
	PyObject *lay, *ct;
	int i;

	if (!mod)
		return -1;
	for (i = 0; i < PX_COUNT; i++) {
		pyipm_exc[i] = PyObject_GetAttrString(mod, names[i]);
		if (!pyipm_exc[i]) {
			Py_DECREF(mod);
			return -1;
		}
	}
	Py_DECREF(mod);
	lay = PyImport_ImportModule("ipmmap._layout");
	if (!lay)
		return -1;
	pyipm_ctype_at = PyObject_GetAttrString(lay, "ctype_at");
	Py_DECREF(lay);
	ct = PyImport_ImportModule("ctypes");
	if (!ct)
		return -1;
	pyipm_c_char = PyObject_GetAttrString(ct, "c_char");
	Py_DECREF(ct);
	return pyipm_ctype_at && pyipm_c_char ? 0 : -1;
}

PyMODINIT_FUNC PyInit__ipmmap(void)
{
	PyTypeObject *types[] = {&SchemaType, &FieldType, &LockRecType,
				 &HandleType, &EntryType, &AccessorType};
	PyObject *m, *w;
	size_t i;

	if (load_exceptions() < 0)
		return NULL;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (PyType_Ready(types[i]) < 0)
			return NULL;
	m = PyModule_Create(&moduledef);
	if (!m)
		return NULL;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		const char *dot = strrchr(types[i]->tp_name, '.');

		if (PyModule_AddObjectRef(m, dot + 1, (PyObject *)types[i]) < 0)
			goto fail;
	}
	/* writeData & co. belong to the editor classes only (a reader has
	 * none, as in Python IPMMAP): descriptors they take into their body */
	w = PyDict_New();
	if (!w || PyModule_AddObject(m, "write_methods", w) < 0) {
		Py_XDECREF(w);
		goto fail;
	}
	for (i = 0; pyipm_write_methods[i].ml_name; i++) {
		PyObject *d = PyDescr_NewMethod(&AccessorType, &pyipm_write_methods[i]);

		if (!d || PyDict_SetItemString(w, pyipm_write_methods[i].ml_name, d) < 0) {
			Py_XDECREF(d);
			goto fail;
		}
		Py_DECREF(d);
	}
	if (PyModule_AddIntConstant(m, "HEADER_CODE", IPM_HEADER_CODE) < 0 ||
	    PyModule_AddIntConstant(m, "WAIT_POLL_MS", IPM_WAIT_POLL_MS) < 0 ||
	    PyModule_AddIntConstant(m, "FORCE", IPM_FORCE) < 0 ||
	    PyModule_AddIntConstant(m, "DEFAULT_MODE", IPM_DEFAULT_MODE) < 0 ||
	    PyModule_AddStringConstant(m, "LIB_VERSION", IPM_VERSION) < 0)
		goto fail;
	{
		static int once;

		if (!once++ && pthread_atfork(NULL, NULL, after_fork_child) != 0) {
			PyErr_SetString(PyExc_OSError, "pthread_atfork failed");
			goto fail;
		}
	}
	return m;
fail:
	Py_DECREF(m);
	return NULL;
}
