/*
 * bits.c - bit fields ("x = c_uint32 : 3"): a field's bits in its storage
 * unit, read, checked and merged without touching the neighbours. See
 * struct ipm_field in ipmmap.h and the declarations in ipmmap_i.h.
 *
 * gcc numbers a bit field's bits from the unit's least significant bit on a
 * little-endian platform and from its most significant on a big-endian one;
 * the unit is an integer of the field's kind, in host order, either way.
 */
#include "ipmmap_i.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

static bool is_signed(enum ipm_kind k)
{
	return k <= IPM_INT64;
}

/* The shift of f's lowest bit in its unit, read as an integer. */
static unsigned shift_of(const struct ipm_field *f)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return 8 * (unsigned)f->size - f->bit - f->width;
#else
	return f->bit;
#endif
}

static uint64_t mask_of(const struct ipm_field *f)
{
	return f->width >= 64 ? UINT64_MAX : (UINT64_C(1) << f->width) - 1;
}

static uint64_t unit_load(const struct ipm_field *f, const void *unit)
{
	bool neg;

	/* unsigned: the unit's bits as they are */
	return ipm_load_int(unit, f->size == 1 ? IPM_UINT8 : f->size == 2 ? IPM_UINT16
					    : f->size == 4 ? IPM_UINT32 : IPM_UINT64, &neg);
}

void ipm_bits_get(const struct ipm_field *f, const void *unit, void *val)
{
	uint64_t v = (unit_load(f, unit) >> shift_of(f)) & mask_of(f);

	if (is_signed(f->kind) && f->width < 64 && (v >> (f->width - 1)) & 1)
		v |= ~mask_of(f); /* sign-extended */
	ipm_store_int(val, f->size, v);
}

void ipm_bits_put(const struct ipm_field *f, void *unit, const void *val)
{
	uint64_t u = unit_load(f, unit), m = mask_of(f) << shift_of(f);
	uint64_t v = unit_load(f, val);

	u = (u & ~m) | ((v << shift_of(f)) & m);
	ipm_store_int(unit, f->size, u);
}

int ipm_bits_check(const struct ipm_field *f, const void *val, char *err)
{
	bool neg;
	uint64_t v = ipm_load_int(val, f->kind, &neg);
	int64_t lo = 0;
	uint64_t hi = mask_of(f);

	if (is_signed(f->kind)) {
		hi >>= 1;
		lo = -(int64_t)hi - 1;
	}
	if (neg ? (int64_t)v >= lo : v <= hi)
		return 0;
	if (neg)
		return ipm_errf(err, -ERANGE,
				"value %" PRId64 " out of range for %u bits (%" PRId64 "..%" PRIu64
				")",
				(int64_t)v, f->width, lo, hi);
	return ipm_errf(err, -ERANGE,
			"value %" PRIu64 " out of range for %u bits (%" PRId64 "..%" PRIu64 ")", v,
			f->width, lo, hi);
}

struct bits_in {
	const struct ipm_field *f; /* the bit field */
	const void *unit;	   /* whose bits of f are stored */
};

static int bits_store(ipm_map *m, void *ctx)
{
	const struct bits_in *in = ctx;
	unsigned char v[8];
	int rc = ipm_lock_declare(m, in->f->offset, in->f->size);

	if (rc < 0)
		return rc;
	ipm_bits_get(in->f, in->unit, v);
	ipm_bits_put(in->f, m->data + in->f->offset, v);
	return 0;
}

int ipm_bits_store(ipm_map *m, const struct ipm_field *f, const void *unit)
{
	return ipm_map_guarded(m, bits_store, &(struct bits_in){f, unit});
}
