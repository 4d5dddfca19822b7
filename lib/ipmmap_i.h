/*
 * ipmmap_i.h - declarations private to libipmmap, shared by its .c files.
 * Nothing here is installed; users see only ipmmap.h.
 */
#ifndef IPMMAP_I_H
#define IPMMAP_I_H

#include "ipmmap.h"

#include <stdarg.h>
#include <stdbool.h>

/* One field of a structure. */
struct ipm_member {
	char *name;                /* identifier, owned */
	const struct ipm_type *type; /* owned by the schema */
	size_t offset;             /* from the start of the structure */
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
	const char *file;          /* defining file, owned by the schema */
	int line;                  /* line of the [section] */
	uint64_t fingerprint;      /* see ipm_type_fingerprint() */
	struct ipm_type *next;     /* schema's list of owned types */
};

/* Static scalar types, indexed by enum ipm_kind up to IPM_BOOL. */
extern const struct ipm_type ipm_scalar_types[IPM_BOOL + 1];

/* Lays out a structure whose members have types: sets offsets, size,
 * align (layout.c). Returns 0 or -EOVERFLOW. */
int ipm_layout_struct(struct ipm_type *t);

/* Computes t->fingerprint from its fields (layout.c). */
void ipm_layout_fingerprint(struct ipm_type *t);

/* Map handle (map.c, lock.c, access.c). */
struct ipm_map {
	const ipm_schema *schema;  /* not owned */
	const struct ipm_type *type; /* the instance's structure, NULL when closed */
	enum ipm_role role;        /* as opened */
	char *path;                /* the .mmap file */
	char *lock_path;           /* the .lockfile */
	int lock_fd;               /* open lock file, -1 when closed */
	int held;                  /* 0 none, 1 read, 2 write */
	unsigned char *data;       /* mapping, NULL when closed */
	size_t size;               /* of the mapping */
	char err[IPM_ERRLEN];      /* last failure */
};

/* Formats a message into err (if not NULL) and returns code, so that a
 * failure reads: return ipm_errf(buf, -EINVAL, "bad %s", x); (error.c) */
int ipm_errf(char *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int ipm_verrf(char *err, int code, const char *fmt, va_list ap);

/* Lock with op F_RDLCK / F_WRLCK / F_UNLCK on fd (lock.c). */
int ipm_lock_fd(int fd, int type, int timeout_ms);

#endif /* IPMMAP_I_H */
