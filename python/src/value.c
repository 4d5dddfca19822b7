/*
 * value.c - field bytes in the mapping <-> Python values, as ctypes reads and
 * writes them, but strict: a value that does not fit raises instead of being
 * truncated (a bit field's too: only its bits are read and written). Every
 * access to the mapping goes through ipm_map_guarded(), so a file cut short
 * by another process raises instead of killing the process.
 */
#include "pyipm.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

struct copy {
	size_t off;
	void *dst;	 /* copy out to here, or */
	const void *src; /* copy in from here, or */
	int fill;	 /* fill with this byte (when both are NULL) */
	size_t len;
	void *to;		      /* writing: where in the mapping */
	const struct ipm_field *bits; /* writing src into a bit field's bits of the unit */
};

/* ------------------------------------------------------------------------ */
/* Bit fields                                                                */
/* ------------------------------------------------------------------------ */

/* A bit field's bits sit in a unit of its kind's size, an integer in host
 * order; gcc (and so the library, lib/bits.c) numbers them from the least
 * significant bit on a little-endian platform, from the most significant
 * on a big-endian one. */
static unsigned bits_shift(const struct ipm_field *f)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return 8 * (unsigned)f->size - f->bit - f->width;
#else
	return f->bit;
#endif
}

static uint64_t bits_mask(const struct ipm_field *f)
{
	return f->width >= 64 ? UINT64_MAX : (UINT64_C(1) << f->width) - 1;
}

static uint64_t unit_load(const void *p, size_t size)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	switch (size) {
	case 1:
		memcpy(&u8, p, 1);
		return u8;
	case 2:
		memcpy(&u16, p, 2);
		return u16;
	case 4:
		memcpy(&u32, p, 4);
		return u32;
	default:
		memcpy(&u64, p, 8);
		return u64;
	}
}

static void unit_store(void *p, size_t size, uint64_t v)
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
		memcpy(p, &v, 8);
		break;
	}
}

/* The field's value from its unit's bytes, sign-extended for a signed kind,
 * back into the unit's bytes (as a whole field of its kind would read). */
static void bits_get(const struct ipm_field *f, unsigned char *unit)
{
	uint64_t v = (unit_load(unit, f->size) >> bits_shift(f)) & bits_mask(f);

	if (f->kind <= IPM_INT64 && f->width < 64 && (v >> (f->width - 1)) & 1)
		v |= ~bits_mask(f);
	unit_store(unit, f->size, v);
}

/* The field's bits of the unit at p replaced by the low bits of v. */
static void bits_put(const struct ipm_field *f, void *p, uint64_t v)
{
	uint64_t m = bits_mask(f) << bits_shift(f);

	unit_store(p, f->size, (unit_load(p, f->size) & ~m) | ((v << bits_shift(f)) & m));
}

/* Reads through ipm_map_view(), writes where ipm_write_range() said:
 * ipm_map_data() would make every later write section of the handle save
 * the whole structure (ipmmap.h, "Crashes"). */
static int do_copy(ipm_map *m, void *ctx)
{
	struct copy *c = ctx;

	if (c->dst)
		memcpy(c->dst, (const char *)ipm_map_view(m) + c->off, c->len);
	else if (c->bits)
		bits_put(c->bits, c->to, unit_load(c->src, c->len));
	else if (c->src)
		memcpy(c->to, c->src, c->len);
	else
		memset(c->to, c->fill, c->len);
	return 0;
}

static int guarded(HandleObject *h, struct copy *c)
{
	int rc = 0;

	if (c->off > ipm_map_size(h->m) || c->len > ipm_map_size(h->m) - c->off) {
		PyErr_SetString(PyExc_SystemError, "ipmmap: access outside the structure");
		return -1;
	}
	/* A write section saves the range first (crash recovery); without the
	 * write lock (a manager's openMemory()) there is no section to save in. */
	if (!c->dst && ipm_lock_held(h->m) == 2)
		rc = ipm_write_range(h->m, c->off, c->len, &c->to);
	else if (!c->dst)
		c->to = (char *)ipm_map_view(h->m) + c->off;
	if (rc == 0)
		rc = ipm_map_guarded(h->m, do_copy, c);
	if (rc < 0) {
		pyipm_raise_rc(rc, ipm_map_errmsg(h->m), ipm_map_path(h->m));
		return -1;
	}
	return 0;
}

int pyipm_copy_out(HandleObject *h, size_t off, void *dst, size_t len)
{
	struct copy c = {off, dst, NULL, 0, len, NULL, NULL};

	return guarded(h, &c);
}

int pyipm_copy_in(HandleObject *h, size_t off, const void *src, size_t len)
{
	struct copy c = {off, NULL, src, 0, len, NULL, NULL};

	return guarded(h, &c);
}

int pyipm_fill(HandleObject *h, size_t off, int byte, size_t len)
{
	struct copy c = {off, NULL, NULL, byte, len, NULL, NULL};

	return guarded(h, &c);
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

static PyObject *scalar_value(enum ipm_kind k, const unsigned char *b)
{
	union {
		int8_t i8;
		int16_t i16;
		int32_t i32;
		int64_t i64;
		uint8_t u8;
		uint16_t u16;
		uint32_t u32;
		uint64_t u64;
		float f;
		double d;
	} u;

	memcpy(&u, b, 8);
	switch (k) {
	case IPM_INT8:
		return PyLong_FromLong(u.i8);
	case IPM_INT16:
		return PyLong_FromLong(u.i16);
	case IPM_INT32:
		return PyLong_FromLong(u.i32);
	case IPM_INT64:
		return PyLong_FromLongLong(u.i64);
	case IPM_UINT8:
		return PyLong_FromUnsignedLong(u.u8);
	case IPM_UINT16:
		return PyLong_FromUnsignedLong(u.u16);
	case IPM_UINT32:
		return PyLong_FromUnsignedLong(u.u32);
	case IPM_UINT64:
		return PyLong_FromUnsignedLongLong(u.u64);
	case IPM_FLOAT:
		return PyFloat_FromDouble(u.f);
	case IPM_DOUBLE:
		return PyFloat_FromDouble(u.d);
	case IPM_BOOL:
		return PyBool_FromLong(u.u8 != 0);
	default:
		PyErr_SetString(PyExc_SystemError, "ipmmap: not a scalar");
		return NULL;
	}
}

int pyipm_get_free(HandleObject *h, const struct ipm_field *f, void *buf)
{
	/* First the copy that never waits, the GIL held (releasing it would
	 * cost twice the copy); -EAGAIN: the library would take the lock */
	int rc = ipm_map_peek(h->m, f->offset, buf, f->size);

	if (rc == -EAGAIN) {
		do {
			/* the lock path waits for a live writer's long section:
			 * maybe a thread of ours, which needs the GIL to end it */
			PyThreadState *ts = PyEval_SaveThread();

			rc = ipm_get_bytes(h->m, f, buf, f->size);
			PyEval_RestoreThread(ts);
		} while (rc == -EINTR && PyErr_CheckSignals() == 0);
		if (rc == -EINTR)
			return -1;
	}
	if (rc < 0) {
		pyipm_raise_rc(rc, ipm_map_errmsg(h->m), ipm_map_path(h->m));
		return -1;
	}
	return 0;
}

/* f's bytes into buf: from the mapping under the caller's lock (or none,
 * unlocked access), or by the library's lock-free read (lockfree). */
static int field_bytes(HandleObject *h, const struct ipm_field *f, void *buf, int lockfree)
{
	return lockfree ? pyipm_get_free(h, f, buf) : pyipm_copy_out(h, f->offset, buf, f->size);
}

static int type_error(PyObject *key, const char *want, PyObject *v);
static int float_bytes(PyObject *key, PyObject *v, enum ipm_kind k, unsigned char *out);

/* A c_wchar field (not c_wchar * 1): ctypes reads it as one character,
 * NUL included, as it reads a c_char as one byte. */
static int is_one_wchar(const FieldObject *f)
{
	return f->ctype && PyType_Check(f->ctype) &&
	       !strcmp(((PyTypeObject *)f->ctype)->tp_name, "c_wchar");
}

/* c_wchar * N and c_longdouble as ctypes reads them: a str up to the first
 * NUL (ValueError past U+10FFFF, as ctypes), a float (rounded). */
static PyObject *read_wide(HandleObject *h, const FieldObject *f, int lockfree)
{
	size_t count = f->f.size / 4, n;
	Py_UCS4 *buf;
	PyObject *r;

	if (f->f.kind == IPM_LONGDOUBLE) {
		long double ld;

		if (f->f.size != sizeof(ld)) {
			PyErr_SetString(PyExc_SystemError, "ipmmap: long double of another size");
			return NULL;
		}
		if (field_bytes(h, &f->f, &ld, lockfree) < 0)
			return NULL;
		return PyFloat_FromDouble((double)ld);
	}
	buf = PyMem_Malloc(f->f.size);
	if (!buf)
		return PyErr_NoMemory();
	if (field_bytes(h, &f->f, buf, lockfree) < 0) {
		PyMem_Free(buf);
		return NULL;
	}
	for (n = 0; n < count && buf[n]; n++)
		;
	if (is_one_wchar(f))
		n = 1;
	r = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, (Py_ssize_t)n);
	PyMem_Free(buf);
	return r;
}

/* A str into c_wchar * N (at most N characters, no surrogate: the C side
 * refuses them as text), a float into c_longdouble (exactly). */
static int write_wide(HandleObject *h, const FieldObject *f, PyObject *key, PyObject *v)
{
	size_t count = f->f.size / 4;
	Py_ssize_t n, i;
	Py_UCS4 *buf;
	int rc;

	if (f->f.kind == IPM_LONGDOUBLE) {
		unsigned char b[8], ld[sizeof(long double)] = {0};
		long double x;
		double d;

		if (float_bytes(key, v, IPM_DOUBLE, b) < 0)
			return -1;
		memcpy(&d, b, sizeof(d));
		x = d;
		memcpy(ld, &x, LDBL_MANT_DIG == 64 ? 10 : sizeof(x)); /* padding stays 0 */
		return pyipm_copy_in(h, f->f.offset, ld, sizeof(ld));
	}
	if (!PyUnicode_Check(v))
		return type_error(key, "str", v);
	n = PyUnicode_GET_LENGTH(v);
	if ((size_t)n > count) {
		pyipm_raise(PX_VALUE, "writeData('%U'): %zd characters do not fit in wchar[%zu]",
			    key, n, count);
		return -1;
	}
	buf = PyMem_Calloc(count, 4);
	if (!buf) {
		PyErr_NoMemory();
		return -1;
	}
	if (n && !PyUnicode_AsUCS4(v, buf, (Py_ssize_t)count, 0)) {
		PyMem_Free(buf);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (buf[i] >= 0xd800 && buf[i] <= 0xdfff) {
			char u[16];

			snprintf(u, sizeof(u), "U+%04X", (unsigned)buf[i]);
			PyMem_Free(buf);
			pyipm_raise(PX_VALUE, "writeData('%U'): %s is a surrogate, no character",
				    key, u);
			return -1;
		}
	rc = pyipm_copy_in(h, f->f.offset, buf, f->f.size);
	PyMem_Free(buf);
	return rc;
}

PyObject *pyipm_read_field(HandleObject *h, const FieldObject *f, PyObject *key, int lockfree)
{
	unsigned char small[256];
	PyObject *b, *r;
	(void)key;

	if (f->f.kind == IPM_WSTRING || f->f.kind == IPM_LONGDOUBLE)
		return read_wide(h, f, lockfree);
	if (f->f.kind < IPM_STRING) {
		unsigned char v[8] = {0};

		if (field_bytes(h, &f->f, v, lockfree) < 0)
			return NULL;
		if (f->f.width)
			bits_get(&f->f, v);
		return scalar_value(f->f.kind, v);
	}
	if (f->f.kind == IPM_STRING && f->f.size <= sizeof(small)) {
		if (field_bytes(h, &f->f, small, lockfree) < 0)
			return NULL;
		if (f->single_char)
			return PyBytes_FromStringAndSize((char *)small, 1);
		return PyBytes_FromStringAndSize((char *)small, strnlen((char *)small, f->f.size));
	}
	b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)f->f.size);
	if (!b)
		return NULL;
	if (field_bytes(h, &f->f, PyBytes_AS_STRING(b), lockfree) < 0) {
		Py_DECREF(b);
		return NULL;
	}
	if (f->f.kind == IPM_STRING) {
		size_t n = strnlen(PyBytes_AS_STRING(b), f->f.size);

		if (n == f->f.size)
			return b;
		r = PyBytes_FromStringAndSize(PyBytes_AS_STRING(b), (Py_ssize_t)n);
		Py_DECREF(b);
		return r;
	}
	/* a structure or an array: a copy in its ctypes type, as ctypes gives */
	r = PyObject_CallMethod(f->ctype, "from_buffer_copy", "O", b);
	Py_DECREF(b);
	return r;
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

static const struct {
	const char *name;
	long long lo;
	unsigned long long hi;
} int_range[] = {
    [IPM_INT8] = {"int8", INT8_MIN, INT8_MAX},
    [IPM_INT16] = {"int16", INT16_MIN, INT16_MAX},
    [IPM_INT32] = {"int32", INT32_MIN, INT32_MAX},
    [IPM_INT64] = {"int64", INT64_MIN, INT64_MAX},
    [IPM_UINT8] = {"uint8", 0, UINT8_MAX},
    [IPM_UINT16] = {"uint16", 0, UINT16_MAX},
    [IPM_UINT32] = {"uint32", 0, UINT32_MAX},
    [IPM_UINT64] = {"uint64", 0, UINT64_MAX},
    [IPM_BOOL] = {"bool", 0, 1},
};

static int type_error(PyObject *key, const char *want, PyObject *v)
{
	pyipm_raise(PX_TYPE, "writeData('%U'): %s expected, not %.100s", key, want,
		    Py_TYPE(v)->tp_name);
	return -1;
}

static int range_error(PyObject *key, PyObject *v, enum ipm_kind k)
{
	if (k == IPM_BOOL)
		pyipm_raise(PX_VALUE, "writeData('%U'): %R is not a bool (True, False, 0 or 1)",
			    key, v);
	else
		pyipm_raise(PX_VALUE, "writeData('%U'): %R is out of range for %s (%lld..%llu)",
			    key, v, int_range[k].name, int_range[k].lo, int_range[k].hi);
	return -1;
}

/* An int (or an object with __index__, as ctypes takes) in range for kind k,
 * into 8 bytes at out in the field's representation. */
static int int_bytes(PyObject *key, PyObject *v, enum ipm_kind k, unsigned char *out)
{
	PyObject *i;
	int overflow = 0;
	long long s = 0;
	unsigned long long u = 0;
	int neg;

	if (PyFloat_Check(v) || !PyIndex_Check(v))
		return type_error(key, k == IPM_BOOL ? "bool" : "int", v);
	i = PyNumber_Index(v);
	if (!i)
		return -1;
	s = PyLong_AsLongLongAndOverflow(i, &overflow);
	if (s == -1 && PyErr_Occurred()) {
		Py_DECREF(i);
		return -1;
	}
	neg = overflow < 0 || (!overflow && s < 0);
	if (overflow > 0) {
		u = PyLong_AsUnsignedLongLong(i);
		if (u == (unsigned long long)-1 && PyErr_Occurred()) {
			PyErr_Clear();
			Py_DECREF(i);
			return range_error(key, v, k);
		}
	} else if (!neg) {
		u = (unsigned long long)s;
	}
	Py_DECREF(i);
	if (neg ? (overflow || s < int_range[k].lo) : u > int_range[k].hi)
		return range_error(key, v, k);
	switch (k) {
	case IPM_INT8:
	case IPM_UINT8:
	case IPM_BOOL: {
		uint8_t x = neg ? (uint8_t)(int8_t)s : (uint8_t)u;
		memcpy(out, &x, 1);
		break;
	}
	case IPM_INT16:
	case IPM_UINT16: {
		uint16_t x = neg ? (uint16_t)(int16_t)s : (uint16_t)u;
		memcpy(out, &x, 2);
		break;
	}
	case IPM_INT32:
	case IPM_UINT32: {
		uint32_t x = neg ? (uint32_t)(int32_t)s : (uint32_t)u;
		memcpy(out, &x, 4);
		break;
	}
	default: {
		uint64_t x = neg ? (uint64_t)s : (uint64_t)u;
		memcpy(out, &x, 8);
		break;
	}
	}
	return 0;
}

static int float_bytes(PyObject *key, PyObject *v, enum ipm_kind k, unsigned char *out)
{
	double d;

	/* ctypes takes anything with __float__ or __index__; so do we, but not
	 * text or bytes */
	if (PyUnicode_Check(v) || PyBytes_Check(v) || PyByteArray_Check(v) ||
	    (!PyFloat_Check(v) && !PyIndex_Check(v) &&
	     !(Py_TYPE(v)->tp_as_number && Py_TYPE(v)->tp_as_number->nb_float)))
		return type_error(key, "float", v);
	d = PyFloat_AsDouble(v);
	if (d == -1.0 && PyErr_Occurred()) {
		if (!PyErr_ExceptionMatches(PyExc_OverflowError))
			return -1;
		PyErr_Clear();
		pyipm_raise(PX_VALUE, "writeData('%U'): %R is out of range for double", key, v);
		return -1;
	}
	if (k == IPM_FLOAT) {
		float f = (float)d;

		if (isinf(f) && !isinf(d)) {
			pyipm_raise(PX_VALUE,
				    "writeData('%U'): %R is out of range for float (|x| <= %g)",
				    key, v, (double)FLT_MAX);
			return -1;
		}
		memcpy(out, &f, sizeof(f));
	} else {
		memcpy(out, &d, sizeof(d));
	}
	return 0;
}

/* A value of the field's kind in b (int_bytes()) that also fits the bit
 * field's bits, as the library and the mount take it: -1 and raised if not.
 * (ctypes, and so Python IPMMAP, keeps the low bits silently.) */
static int bits_fit(PyObject *key, PyObject *v, const struct ipm_field *f, const unsigned char *b)
{
	uint64_t u = unit_load(b, f->size);
	long long lo = 0;
	unsigned long long hi = bits_mask(f);

	if (f->width >= 8 * f->size)
		return 0; /* the kind's range, checked */
	if (f->kind <= IPM_INT64) {
		int64_t x;

		if ((u >> (8 * f->size - 1)) & 1)
			u |= ~(uint64_t)0 << (8 * f->size - 1); /* sign-extended to 64 */
		x = (int64_t)u;
		hi >>= 1;
		lo = -(long long)hi - 1;
		if (x >= lo && x <= (int64_t)hi)
			return 0;
	} else if (u <= hi) {
		return 0;
	}
	pyipm_raise(PX_VALUE, "writeData('%U'): %R is out of range for a %u-bit field (%lld..%llu)",
		    key, v, (unsigned)f->width, lo, hi);
	return -1;
}

/* The low bits of the unit at b into the bit field f, its neighbours kept. */
static int copy_bits(HandleObject *h, const struct ipm_field *f, const unsigned char *b)
{
	struct copy c = {f->offset, NULL, b, 0, f->size, NULL, f};

	return guarded(h, &c);
}

int pyipm_write_field(HandleObject *h, const FieldObject *f, PyObject *key, PyObject *v)
{
	unsigned char b[8];
	enum ipm_kind k = f->f.kind;

	if (k <= IPM_UINT64 || k == IPM_BOOL) {
		if (PyBool_Check(v)) {
			PyObject *i = PyLong_FromLong(v == Py_True);
			int rc = i ? int_bytes(key, i, k, b) : -1;

			Py_XDECREF(i);
			if (rc < 0)
				return -1;
		} else if (int_bytes(key, v, k, b) < 0) {
			return -1;
		}
		if (f->f.width)
			return bits_fit(key, v, &f->f, b) < 0 ? -1 : copy_bits(h, &f->f, b);
		return pyipm_copy_in(h, f->f.offset, b, f->f.size);
	}
	if (k == IPM_WSTRING || k == IPM_LONGDOUBLE)
		return write_wide(h, f, key, v);
	if (k == IPM_FLOAT || k == IPM_DOUBLE) {
		if (float_bytes(key, v, k, b) < 0)
			return -1;
		return pyipm_copy_in(h, f->f.offset, b, f->f.size);
	}
	if (k == IPM_STRING) {
		const char *p;
		Py_ssize_t n;
		int rc;

		if (f->single_char && PyLong_Check(v)) {
			if (int_bytes(key, v, IPM_UINT8, b) < 0)
				return -1;
			return pyipm_copy_in(h, f->f.offset, b, 1);
		}
		if (PyBytes_Check(v)) {
			p = PyBytes_AS_STRING(v);
			n = PyBytes_GET_SIZE(v);
		} else if (PyByteArray_Check(v)) {
			p = PyByteArray_AS_STRING(v);
			n = PyByteArray_GET_SIZE(v);
		} else {
			return type_error(key,
					  f->single_char ? "bytes of length 1 or int"
							 : "bytes (encode a str first)",
					  v);
		}
		if (f->single_char && n != 1) {
			pyipm_raise(PX_VALUE, "writeData('%U'): c_char takes one byte, not %zd",
				    key, n);
			return -1;
		}
		if ((size_t)n > f->f.size) {
			pyipm_raise(PX_VALUE, "writeData('%U'): %zd bytes do not fit in char[%zu]",
				    key, n, f->f.size);
			return -1;
		}
		/* the text and zeros after it, in one guarded copy */
		if ((size_t)n == f->f.size)
			return pyipm_copy_in(h, f->f.offset, p, f->f.size);
		{
			char *tmp = PyMem_Calloc(1, f->f.size);

			if (!tmp) {
				PyErr_NoMemory();
				return -1;
			}
			memcpy(tmp, p, (size_t)n);
			rc = pyipm_copy_in(h, f->f.offset, tmp, f->f.size);
			PyMem_Free(tmp);
			return rc;
		}
	}
	/* a structure or an array: an instance of its ctypes type, copied */
	{
		Py_buffer view;
		int rc, is = f->ctype ? PyObject_IsInstance(v, f->ctype) : 0;

		if (is < 0)
			return -1;
		if (!is)
			return type_error(key, f->ctype ? ((PyTypeObject *)f->ctype)->tp_name : "?",
					  v);
		if (PyObject_GetBuffer(v, &view, PyBUF_SIMPLE) < 0)
			return -1;
		if ((size_t)view.len != f->f.size) {
			PyBuffer_Release(&view);
			pyipm_raise(PX_TYPE, "writeData('%U'): %zd bytes given for %zu", key,
				    view.len, f->f.size);
			return -1;
		}
		rc = pyipm_copy_in(h, f->f.offset, view.buf, f->f.size);
		PyBuffer_Release(&view);
		return rc;
	}
}
