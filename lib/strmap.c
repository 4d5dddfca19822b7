/*
 * strmap.c - a string-keyed hash table (open addressing, FNV-1a), keys
 * owned by the caller: the schema's and a load's names. See ipmmap_i.h.
 */
#include "ipmmap_i.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t strmap_hash(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

void *ipm_strmap_get(const struct ipm_strmap *m, const char *key)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = strmap_hash(key) & (m->cap - 1); m->slots[i].key; i = (i + 1) & (m->cap - 1))
		if (!strcmp(m->slots[i].key, key))
			return m->slots[i].val;
	return NULL;
}

void ipm_strmap_put_room(struct ipm_strmap *m, const char *key, void *val)
{
	size_t i;

	assert(m->n < m->cap);
	i = strmap_hash(key) & (m->cap - 1);
	while (m->slots[i].key)
		i = (i + 1) & (m->cap - 1);
	m->slots[i].key = key;
	m->slots[i].val = val;
	m->n++;
}

int ipm_strmap_reserve(struct ipm_strmap *m, size_t n)
{
	struct ipm_strmap bigger = {0};
	size_t i;

	if (n * 2 <= m->cap)
		return 0;
	bigger.cap = 16;
	while (bigger.cap < n * 2)
		bigger.cap *= 2;
	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -ENOMEM;
	for (i = 0; i < m->cap; i++)
		if (m->slots[i].key)
			ipm_strmap_put_room(&bigger, m->slots[i].key, m->slots[i].val);
	free(m->slots);
	*m = bigger;
	return 0;
}

int ipm_strmap_put(struct ipm_strmap *m, const char *key, void *val)
{
	if (ipm_strmap_reserve(m, m->n + 1))
		return -ENOMEM;
	ipm_strmap_put_room(m, key, val);
	return 0;
}

void ipm_strmap_free(struct ipm_strmap *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}
