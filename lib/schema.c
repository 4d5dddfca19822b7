/*
 * schema.c - INI schema files (read with inih) to structure types: type
 * spellings (C and ctypes), inheritance, forward references, and
 * "file:line: what is wrong" errors. See ipmmap.h.
 *
 * A load runs in three passes over a staging area that the schema does not
 * see until everything succeeded (all or nothing):
 *   1. inih reads the lines; sections and fields are recorded as text, and
 *      everything that a single line can get wrong is reported at once;
 *   2. every base and every structure a field names must exist, in this load
 *      or an earlier one (forward references are allowed);
 *   3. structures are laid out depth first, which finds cycles, makes the
 *      array and string types and computes sizes, offsets and fingerprints.
 * Then the staging area is moved into the schema with allocations that were
 * all made beforehand, so the commit cannot fail half way.
 *
 * Debian's inih (see INIH-NOTES.md) gives no line numbers to the handler and
 * never reports an empty section, so the reader callback counts lines and
 * reads section headers itself; inih parses the "name = type" lines, the
 * comments and the inline comments. Lines that inih would take as the
 * continuation of a value (indented lines) are refused in the reader, before
 * inih sees them, so they can never read as a duplicate field.
 */
#include "ipmmap_i.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IPM_NAME_MAX 63			 /* longest structure or field name */
#define IPM_DIMS_MAX 16			 /* most array dimensions in one type */
/* Deepest chain of structures in structures or bases: far beyond real use,
 * it keeps every recursive walk of a type (here and in its users) within a
 * small stack. */
#define IPM_NEST_MAX 1000
#define BUILTIN_FILE "<builtin>"

/* ------------------------------------------------------------------------ */
/* A string-keyed hash table (open addressing), keys owned by the caller.    */
/* ------------------------------------------------------------------------ */

struct sm_slot {
	const char *key; /* NULL: empty */
	void *val;	 /* what key maps to */
};

struct strmap {
	struct sm_slot *slots; /* cap entries */
	size_t cap;	       /* 0 or a power of two */
	size_t n;	       /* keys in use */
};

static uint64_t sm_hash(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

static void *sm_get(const struct strmap *m, const char *key)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = sm_hash(key) & (m->cap - 1); m->slots[i].key; i = (i + 1) & (m->cap - 1))
		if (!strcmp(m->slots[i].key, key))
			return m->slots[i].val;
	return NULL;
}

/* Inserts a key known to be absent into a table with room for it. */
static void sm_put_room(struct strmap *m, const char *key, void *val)
{
	size_t i = sm_hash(key) & (m->cap - 1);

	while (m->slots[i].key)
		i = (i + 1) & (m->cap - 1);
	m->slots[i].key = key;
	m->slots[i].val = val;
	m->n++;
}

/* Makes room for n keys in all, so that as many sm_put() cannot fail. */
static int sm_reserve(struct strmap *m, size_t n)
{
	struct strmap bigger = {0};
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
			sm_put_room(&bigger, m->slots[i].key, m->slots[i].val);
	free(m->slots);
	*m = bigger;
	return 0;
}

static int sm_put(struct strmap *m, const char *key, void *val)
{
	if (sm_reserve(m, m->n + 1))
		return -ENOMEM;
	sm_put_room(m, key, val);
	return 0;
}

static void sm_free(struct strmap *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------------ */
/* The schema                                                                */
/* ------------------------------------------------------------------------ */

struct ipm_schema {
	struct ipm_type **structs; /* in order of definition, [0] the header */
	size_t nstructs;	   /* in use */
	size_t cap;		   /* allocated */
	struct ipm_type *types;	   /* every owned type, linked by ->next */
	struct strmap names;	   /* structure name -> struct ipm_type */
	struct strmap derived;	   /* "char[8]", "Point2D[24]" -> struct ipm_type */
	struct strmap nest;	   /* structure name -> its nesting level */
	char **files;		   /* file names the types point to */
	size_t nfiles;		   /* in use, each allocated exactly */
	char err[IPM_ERRLEN];	   /* last failed load */
};

static void type_free(struct ipm_type *t)
{
	size_t i;

	for (i = 0; i < t->nfields; i++)
		free(t->fields[i].name);
	free(t->fields);
	free(t->name);
	free(t);
}

static void types_free(struct ipm_type *t)
{
	while (t) {
		struct ipm_type *next = t->next;

		type_free(t);
		t = next;
	}
}

ipm_schema *ipm_schema_new(void)
{
	ipm_schema *s = calloc(1, sizeof(*s));
	struct ipm_type *h = calloc(1, sizeof(*h));
	struct ipm_member *f = calloc(2, sizeof(*f));

	if (!s || !h || !f)
		goto fail;
	s->types = h;
	h->kind = IPM_STRUCT;
	h->fields = f;
	h->name = strdup(IPM_HEADER_STRUCT);
	f[0].name = strdup("header_code");
	f[1].name = strdup("time_stamp");
	f[0].type = &ipm_scalar_types[IPM_INT16];
	f[1].type = &ipm_scalar_types[IPM_DOUBLE];
	h->nfields = 2;
	h->file = BUILTIN_FILE;
	s->structs = malloc(8 * sizeof(*s->structs));
	if (!h->name || !f[0].name || !f[1].name || !s->structs || sm_put(&s->names, h->name, h) ||
	    sm_put(&s->nest, h->name, (void *)(uintptr_t)1))
		goto fail;
	s->cap = 8;
	s->structs[s->nstructs++] = h;
	ipm_layout_struct(h);
	ipm_layout_fingerprint(h);
	return s;
fail:
	if (s && s->types) {
		ipm_schema_free(s);
		return NULL;
	}
	free(f);
	free(h);
	free(s);
	return NULL;
}

void ipm_schema_free(ipm_schema *s)
{
	size_t i;

	if (!s)
		return;
	types_free(s->types);
	for (i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	free(s->structs);
	sm_free(&s->names);
	sm_free(&s->derived);
	sm_free(&s->nest);
	free(s);
}

const char *ipm_schema_errmsg(const ipm_schema *s)
{
	return s ? s->err : "";
}

const ipm_type *ipm_schema_find(const ipm_schema *s, const char *name)
{
	return s && name ? sm_get(&s->names, name) : NULL;
}

size_t ipm_schema_count(const ipm_schema *s)
{
	return s ? s->nstructs : 0;
}

const ipm_type *ipm_schema_at(const ipm_schema *s, size_t i)
{
	return s && i < s->nstructs ? s->structs[i] : NULL;
}

/* ------------------------------------------------------------------------ */
/* Names                                                                     */
/* ------------------------------------------------------------------------ */

/* Spellings of the scalar types; char and c_char are strings, see parse. */
static const struct {
	const char *name; /* as written in a schema */
	int kind;	  /* enum ipm_kind; -1: C long, whose size the ABI says */
} scalar_names[] = {
	{"int8", IPM_INT8},
	{"int16", IPM_INT16},
	{"int32", IPM_INT32},
	{"int64", IPM_INT64},
	{"uint8", IPM_UINT8},
	{"uint16", IPM_UINT16},
	{"uint32", IPM_UINT32},
	{"uint64", IPM_UINT64},
	{"float", IPM_FLOAT},
	{"double", IPM_DOUBLE},
	{"bool", IPM_BOOL},
	{"c_int8", IPM_INT8},
	{"c_int16", IPM_INT16},
	{"c_int32", IPM_INT32},
	{"c_int64", IPM_INT64},
	{"c_uint8", IPM_UINT8},
	{"c_uint16", IPM_UINT16},
	{"c_uint32", IPM_UINT32},
	{"c_uint64", IPM_UINT64},
	{"c_byte", IPM_INT8},
	{"c_ubyte", IPM_UINT8},
	{"c_short", IPM_INT16},
	{"c_ushort", IPM_UINT16},
	{"c_int", IPM_INT32},
	{"c_uint", IPM_UINT32},
	{"c_long", -1},
	{"c_ulong", -2},
	{"c_longlong", IPM_INT64},
	{"c_ulonglong", IPM_UINT64},
	{"c_float", IPM_FLOAT},
	{"c_double", IPM_DOUBLE},
	{"c_bool", IPM_BOOL},
};

/* The scalar spelled name, or NULL. */
static const struct ipm_type *scalar_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(scalar_names) / sizeof(scalar_names[0]); i++) {
		int k = scalar_names[i].kind;

		if (strcmp(scalar_names[i].name, name))
			continue;
		if (k == -1)
			k = sizeof(long) == 8 ? IPM_INT64 : IPM_INT32;
		else if (k == -2)
			k = sizeof(long) == 8 ? IPM_UINT64 : IPM_UINT32;
		return &ipm_scalar_types[k];
	}
	return NULL;
}

static bool is_char_name(const char *name)
{
	return !strcmp(name, "char") || !strcmp(name, "c_char");
}

/* Refused as names so that generated C headers compile. */
static const char *const c_keywords[] = {
	"auto", "break", "case", "char", "const", "continue", "default", "do", "double",
	"else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long",
	"register", "restrict", "return", "short", "signed", "sizeof", "static", "struct",
	"switch", "typedef", "union", "unsigned", "void", "volatile", "while", "_Bool",
	"_Complex", "_Imaginary", "_Alignas", "_Alignof", "_Atomic", "_Generic", "_Noreturn",
	"_Static_assert", "_Thread_local", "bool", "true", "false",
};

static bool is_c_keyword(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(c_keywords) / sizeof(c_keywords[0]); i++)
		if (!strcmp(c_keywords[i], name))
			return true;
	return false;
}

static bool is_ident(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (s++; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/* ------------------------------------------------------------------------ */
/* A load in progress                                                        */
/* ------------------------------------------------------------------------ */

/* A field as written, before its type is made. */
struct pfield {
	char *name;		   /* owned */
	char *tname;		   /* base type name ("Point2D", "c_char"), owned */
	char *text;		   /* the whole type as written, for messages, owned */
	size_t dims[IPM_DIMS_MAX]; /* array sizes, outermost first (C order) */
	int ndims;		   /* in use */
	int line;		   /* where it was written */
};

enum { PS_NEW, PS_BUSY, PS_DONE }; /* states of the depth-first layout */

/* A structure defined by this load. */
struct pstruct {
	struct ipm_type *t;    /* the type being built, on the load's list */
	char *base;	       /* name of the base, or NULL; owned */
	struct pfield *fields; /* own fields as written */
	size_t nfields;	       /* in use */
	size_t cap;	       /* allocated */
	struct strmap fnames;  /* own field name -> index in fields + 1 */
	int state;	       /* PS_* */
	size_t nest;	       /* levels of structures and bases, 1: none */
};

/* One structure on the way down the depth-first layout. */
struct frame {
	struct pstruct *ps; /* the structure being laid out */
	bool via_base;	    /* entered as the base of the one before */
};

struct load {
	ipm_schema *s;		/* where it goes when all is well */
	char *file;		/* name for messages and types, owned until commit */
	FILE *fp;		/* source, or NULL for text */
	const char *text;	/* rest of the text source */
	char *line;		/* the current line (getline buffer) */
	size_t linecap;		/* its allocation */
	int lineno;		/* lines read so far */
	struct pstruct *ps;	/* structures of this load, in order */
	size_t nps;		/* in use */
	size_t capps;		/* allocated */
	bool in_section;	/* a section was opened: ps[nps - 1] is current */
	struct strmap names;	/* new structure name -> struct pstruct index + 1 */
	struct strmap derived;	/* new array and string types by name */
	struct ipm_type *types; /* every new type, linked by ->next */
	int code;		/* 0, or the first error */
	int errline;		/* its line; 0: none; -1: message is complete */
	char err[IPM_ERRLEN];	/* its message, without the "file:line: " */
	struct frame *stack;	/* structures being laid out, outermost first */
	size_t depth;		/* in use */
};

/* Records the first error of a load at line (see errline). Returns code. */
__attribute__((format(printf, 4, 5))) static int fail(struct load *ld, int code, int line,
						      const char *fmt, ...)
{
	va_list ap;

	if (ld->code)
		return ld->code;
	ld->code = code;
	ld->errline = line;
	va_start(ap, fmt);
	ipm_verrf(ld->err, code, fmt, ap);
	va_end(ap);
	return code;
}

static int nomem(struct load *ld)
{
	return fail(ld, -ENOMEM, 0, "out of memory");
}

/* The structure called name, of this load or an earlier one, or NULL; *psp
 * (if psp) is this load's record of it, or NULL. */
static struct ipm_type *struct_find(struct load *ld, const char *name, struct pstruct **psp)
{
	uintptr_t i = (uintptr_t)sm_get(&ld->names, name);

	if (psp)
		*psp = i ? &ld->ps[i - 1] : NULL;
	if (i)
		return ld->ps[i - 1].t;
	return sm_get(&ld->s->names, name);
}

/* Checks a structure or field name; what says which, for the message. */
static int check_name(struct load *ld, const char *what, const char *name, bool type)
{
	if (!*name)
		return fail(ld, -EINVAL, ld->lineno, "missing %s name", what);
	if (!is_ident(name))
		return fail(ld, -EINVAL, ld->lineno, "bad %s name '%s'", what, name);
	if (strlen(name) > IPM_NAME_MAX)
		return fail(ld, -EINVAL, ld->lineno,
			    "%s name '%s' is too long (more than %d characters)", what, name,
			    IPM_NAME_MAX);
	if (type && (scalar_find(name) || is_char_name(name)))
		return fail(ld, -EINVAL, ld->lineno, "bad %s name '%s': a built-in type", what,
			    name);
	if (is_c_keyword(name))
		return fail(ld, -EINVAL, ld->lineno, "bad %s name '%s': a C keyword", what, name);
	return 0;
}

/* A structure without fields has no C equivalent; a derived one without
 * fields of its own is fine (a Python subclass with only "pass"). */
static int end_section(struct load *ld)
{
	struct pstruct *ps = ld->in_section ? &ld->ps[ld->nps - 1] : NULL;

	ld->in_section = false;
	if (ps && !ps->nfields && !ps->base)
		return fail(ld, -EINVAL, ps->t->line, "structure '%s' has no fields", ps->t->name);
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* "[Name]" or "[Name : Base]" at p, in the reader's copy of the line. */
static int begin_section(struct load *ld, char *p)
{
	char *end = strchr(p, ']'), *name, *base = NULL, *colon, *after;
	struct pstruct *dup, *ps;
	struct ipm_type *old, *t;

	if (end_section(ld))
		return ld->code;
	if (!end)
		return fail(ld, -EINVAL, ld->lineno, "missing ']' in section header");
	after = end + 1;
	while (isspace((unsigned char)*after))
		after++;
	if (*after && *after != ';' && *after != '#')
		return fail(ld, -EINVAL, ld->lineno, "unexpected text after ']'");
	*end = '\0';
	colon = strchr(p + 1, ':');
	if (colon) {
		*colon = '\0';
		base = trim(colon + 1);
	}
	name = trim(p + 1);
	if (check_name(ld, "structure", name, true))
		return ld->code;
	if (base && check_name(ld, "base structure", base, true))
		return ld->code;
	old = struct_find(ld, name, &dup);
	if (dup)
		return fail(ld, -EINVAL, ld->lineno, "duplicate structure '%s' (first at line %d)",
			    name, old->line);
	if (old && old->line == 0)
		return fail(ld, -EINVAL, ld->lineno, "duplicate structure '%s' (built in)", name);
	if (old)
		return fail(ld, -EINVAL, ld->lineno, "duplicate structure '%s' (first at %s:%d)",
			    name, old->file, old->line);

	if (ld->nps == ld->capps) {
		size_t cap = ld->capps ? 2 * ld->capps : 16;
		struct pstruct *bigger = realloc(ld->ps, cap * sizeof(*bigger));

		if (!bigger)
			return nomem(ld);
		ld->ps = bigger;
		ld->capps = cap;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return nomem(ld);
	t->next = ld->types;
	ld->types = t;
	t->kind = IPM_STRUCT;
	t->file = ld->file;
	t->line = ld->lineno;
	t->name = strdup(name);
	ps = &ld->ps[ld->nps];
	memset(ps, 0, sizeof(*ps));
	ps->t = t;
	if (!t->name || (base && !(ps->base = strdup(base))))
		goto nomem;
	if (sm_put(&ld->names, t->name, (void *)(uintptr_t)(ld->nps + 1)))
		goto nomem;
	ld->nps++;
	ld->in_section = true;
	return 0;
nomem:
	free(ps->base);
	return nomem(ld);
}

/* One array size, the n bytes at tok, of the type text whole. */
static int parse_size(struct load *ld, const char *tok, size_t n, const char *whole, size_t *out)
{
	size_t i, v = 0;

	if (!n)
		return fail(ld, -EINVAL, ld->lineno, "missing array size in '%s'", whole);
	for (i = tok[0] == '-'; i < n && isdigit((unsigned char)tok[i]); i++)
		;
	if (i < n || n == (size_t)(tok[0] == '-'))
		return fail(ld, -EINVAL, ld->lineno, "array size '%.*s' in '%s' is not a number",
			    (int)n, tok, whole);
	if (tok[0] == '-')
		return fail(ld, -EINVAL, ld->lineno, "array size %.*s in '%s' must be at least 1",
			    (int)n, tok, whole);
	for (i = 0; i < n; i++) {
		v = v * 10 + (size_t)(tok[i] - '0');
		if (v > IPM_SIZE_LIMIT)
			return fail(ld, -EINVAL, ld->lineno, "array size %.*s in '%s' is too large",
				    (int)n, tok, whole);
	}
	if (!v)
		return fail(ld, -EINVAL, ld->lineno, "array size %.*s in '%s' must be at least 1",
			    (int)n, tok, whole);
	*out = v;
	return 0;
}

/*
 * Reads a type as written: a name, then C sizes "[N]" (outermost first), then
 * ctypes sizes "* N" (each wrapping all before it), white space anywhere in
 * between. "int32[4][3]" and "c_int * 3 * 4" are both 4 arrays of 3 int32.
 */
static int parse_type(struct load *ld, const char *text, struct pfield *pf)
{
	size_t cdims[IPM_DIMS_MAX], pydims[IPM_DIMS_MAX], nc = 0, npy = 0, i, v = 0;
	const char *p = text, *tok;

	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	if (p == text || isdigit((unsigned char)*text))
		return fail(ld, -EINVAL, ld->lineno, "bad type '%s'", text);
	pf->tname = strndup(text, (size_t)(p - text));
	if (!pf->tname)
		return nomem(ld);
	for (;;) {
		char c;

		while (isspace((unsigned char)*p))
			p++;
		c = *p;
		if (!c)
			break;
		if ((c != '[' && c != '*') || (c == '[' && npy))
			return fail(ld, -EINVAL, ld->lineno, "bad type '%s'", text);
		if (nc + npy == IPM_DIMS_MAX)
			return fail(ld, -EINVAL, ld->lineno,
				    "too many array dimensions in '%s' (more than %d)", text,
				    IPM_DIMS_MAX);
		for (p++; isspace((unsigned char)*p); p++)
			;
		for (tok = p; *p && !isspace((unsigned char)*p) && !strchr("[]*", *p); p++)
			;
		if (parse_size(ld, tok, (size_t)(p - tok), text, &v))
			return ld->code;
		if (c == '[') {
			while (isspace((unsigned char)*p))
				p++;
			if (*p != ']')
				return fail(ld, -EINVAL, ld->lineno, "missing ']' in type '%s'",
					    text);
			p++;
			cdims[nc++] = v;
		} else {
			pydims[npy++] = v;
		}
	}
	for (i = 0; i < npy; i++)
		pf->dims[pf->ndims++] = pydims[npy - 1 - i];
	for (i = 0; i < nc; i++)
		pf->dims[pf->ndims++] = cdims[i];
	return 0;
}

static void pfield_free(struct pfield *pf)
{
	free(pf->name);
	free(pf->tname);
	free(pf->text);
}

/* The inih handler: one "name = value" line of the current section. The
 * section inih passes is ignored: the reader tracks sections itself. */
static int on_field(void *user, const char *section, const char *name, const char *value)
{
	struct load *ld = user;
	struct pstruct *ps;
	struct pfield *pf;
	uintptr_t first;

	(void)section;
	if (ld->code)
		return 0;
	if (!ld->in_section) {
		fail(ld, -EINVAL, ld->lineno, "field '%s' outside any structure", name);
		return 0;
	}
	ps = &ld->ps[ld->nps - 1];
	if (check_name(ld, "field", name, false))
		return 0;
	first = (uintptr_t)sm_get(&ps->fnames, name);
	if (first) {
		fail(ld, -EINVAL, ld->lineno, "duplicate field '%s' in '%s' (first at line %d)",
		     name, ps->t->name, ps->fields[first - 1].line);
		return 0;
	}
	if (!*value) {
		fail(ld, -EINVAL, ld->lineno, "missing type for field '%s'", name);
		return 0;
	}
	if (ps->nfields == ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 8;
		struct pfield *bigger = realloc(ps->fields, cap * sizeof(*bigger));

		if (!bigger) {
			nomem(ld);
			return 0;
		}
		ps->fields = bigger;
		ps->cap = cap;
	}
	pf = &ps->fields[ps->nfields];
	memset(pf, 0, sizeof(*pf));
	pf->line = ld->lineno;
	if (parse_type(ld, value, pf))
		goto fail;
	pf->name = strdup(name);
	pf->text = strdup(value);
	if (!pf->name || !pf->text ||
	    sm_put(&ps->fnames, pf->name, (void *)(uintptr_t)(ps->nfields + 1))) {
		nomem(ld);
		goto fail;
	}
	ps->nfields++;
	return 1;
fail:
	pfield_free(pf);
	return 0;
}

/* Puts the next line of the source into ld->line without its end of line.
 * Returns its length, or -1 at the end or on an error (then ld->code). */
static ssize_t next_line(struct load *ld)
{
	ssize_t len;

	if (ld->fp) {
		errno = 0;
		len = getline(&ld->line, &ld->linecap, ld->fp);
		if (len < 0) {
			if (ferror(ld->fp))
				fail(ld, errno ? -errno : -EIO, -1, "cannot read %s: %s", ld->file,
				     strerror(errno ? errno : EIO));
			else if (errno == ENOMEM)
				nomem(ld);
			return -1;
		}
	} else {
		const char *nl = strchr(ld->text, '\n');

		if (!*ld->text)
			return -1;
		len = nl ? nl - ld->text : (ssize_t)strlen(ld->text);
		if ((size_t)len + 2 > ld->linecap) {
			char *bigger = realloc(ld->line, (size_t)len + 2);

			if (!bigger) {
				nomem(ld);
				return -1;
			}
			ld->line = bigger;
			ld->linecap = (size_t)len + 2;
		}
		memcpy(ld->line, ld->text, (size_t)len);
		ld->line[len] = '\0';
		ld->text += len + (nl != NULL);
	}
	if (len && ld->line[len - 1] == '\n')
		ld->line[--len] = '\0';
	if (len && ld->line[len - 1] == '\r')
		ld->line[--len] = '\0';
	return len;
}

/*
 * The inih reader: hands inih one line at a time, counting them, and stops
 * the parse (NULL) at the first error, since inih 55 would go on.
 */
static char *reader(char *str, int num, void *stream)
{
	struct load *ld = stream;
	ssize_t len;
	char *p, *line;

	if (ld->code)
		return NULL;
	len = next_line(ld);
	if (len < 0)
		return NULL;
	ld->lineno++;
	line = ld->line;
	if (memchr(line, '\0', (size_t)len)) {
		fail(ld, -EINVAL, ld->lineno, "NUL byte in line");
		return NULL;
	}
	if (ld->lineno == 1 && !strncmp(line, "\xEF\xBB\xBF", 3)) {
		line += 3;
		len -= 3;
	}
	/* inih would cut it into two lines */
	if (len >= num) {
		fail(ld, -EINVAL, ld->lineno, "line too long (more than %d characters)", num - 1);
		return NULL;
	}
	memcpy(str, line, (size_t)len + 1);
	for (p = line; isspace((unsigned char)*p); p++)
		;
	if (!*p || *p == ';' || *p == '#')
		return str;
	if (p > line) {
		struct pstruct *ps = ld->in_section ? &ld->ps[ld->nps - 1] : NULL;

		if (ps && ps->nfields)
			fail(ld, -EINVAL, ld->lineno,
			     "indented line continues '%s'; schema lines must not be indented",
			     ps->fields[ps->nfields - 1].name);
		else
			fail(ld, -EINVAL, ld->lineno,
			     "indented line; schema lines must not be indented");
		return NULL;
	}
	if (*p == '[' && begin_section(ld, p))
		return NULL;
	return str;
}

/* ------------------------------------------------------------------------ */
/* Passes 2 and 3: names, then layout                                        */
/* ------------------------------------------------------------------------ */

static int check_refs(struct load *ld)
{
	size_t i, j;

	for (i = 0; i < ld->nps; i++) {
		struct pstruct *ps = &ld->ps[i];

		if (ps->base && !struct_find(ld, ps->base, NULL))
			return fail(ld, -EINVAL, ps->t->line, "unknown base structure '%s'",
				    ps->base);
		for (j = 0; j < ps->nfields; j++) {
			struct pfield *pf = &ps->fields[j];

			if (!scalar_find(pf->tname) && !is_char_name(pf->tname) &&
			    !struct_find(ld, pf->tname, NULL))
				return fail(ld, -EINVAL, pf->line, "unknown type '%s'", pf->tname);
		}
	}
	return 0;
}

/* The string or array type called name (allocated; taken over): the
 * schema's, this load's, or a new one of n elem (NULL elem: char[n]). */
static const struct ipm_type *derived(struct load *ld, char *name, const struct ipm_type *elem,
				      size_t n)
{
	struct ipm_type *t = sm_get(&ld->s->derived, name);

	if (!t)
		t = sm_get(&ld->derived, name);
	if (t) {
		free(name);
		return t;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		free(name);
		nomem(ld);
		return NULL;
	}
	t->name = name;
	t->count = n;
	if (elem) {
		t->kind = IPM_ARRAY;
		t->elem = elem;
		t->size = n * elem->size;
		t->align = elem->align;
	} else {
		t->kind = IPM_STRING;
		t->size = n;
		t->align = 1;
	}
	t->next = ld->types;
	ld->types = t;
	if (sm_put(&ld->derived, t->name, t)) {
		nomem(ld);
		return NULL;
	}
	return t;
}

/* The type of field pf, whose named structure (if any) st is laid out. */
static const struct ipm_type *make_type(struct load *ld, const struct pfield *pf,
					const struct ipm_type *st)
{
	const struct ipm_type *t;
	int i = pf->ndims - 1;
	char *name;

	if (is_char_name(pf->tname)) {
		size_t n = pf->ndims ? pf->dims[i--] : 1;

		if (asprintf(&name, "char[%zu]", n) < 0) {
			nomem(ld);
			return NULL;
		}
		t = derived(ld, name, NULL, n);
	} else {
		t = scalar_find(pf->tname);
		if (!t)
			t = st;
	}
	for (; t && i >= 0; i--) {
		size_t n = pf->dims[i], at = strcspn(t->name, "[");

		if (t->size > IPM_SIZE_LIMIT / n) {
			fail(ld, -EINVAL, pf->line, "'%s' is too large (more than %zu bytes)",
			     pf->text, IPM_SIZE_LIMIT);
			return NULL;
		}
		if (asprintf(&name, "%.*s[%zu]%s", (int)at, t->name, n, t->name + at) < 0) {
			nomem(ld);
			return NULL;
		}
		t = derived(ld, name, t, n);
	}
	return t;
}

static int layout(struct load *ld, struct pstruct *ps, bool via_base);

/* Structure name, reached from the top of the stack at line, made ready. */
/* Reports the cycle from dep, on the stack, back to itself. Out of line, so
 * that the recursion does not carry the path buffer. */
static __attribute__((noinline)) void cycle(struct load *ld, struct pstruct *dep, int line,
					    bool via_base)
{
	const char *name = dep->t->name;
	char path[IPM_ERRLEN];
	bool all_base = via_base;
	size_t i, at, len = 0;

	for (at = ld->depth; ld->stack[at - 1].ps != dep; at--)
		;
	for (i = at - 1; i < ld->depth; i++) {
		if (i >= at)
			all_base = all_base && ld->stack[i].via_base;
		len += (size_t)snprintf(path + len, len < sizeof(path) ? sizeof(path) - len : 0,
					"%s -> ", ld->stack[i].ps->t->name);
		if (len >= sizeof(path))
			len = sizeof(path) - 1;
	}
	fail(ld, -EINVAL, line, "'%s' %s itself (%s%s)", name,
	     all_base ? "inherits from" : "contains", path, name);
}

/* Nesting level of a structure that is laid out. */
static size_t nest_of(struct load *ld, const struct ipm_type *t)
{
	struct pstruct *ps;

	struct_find(ld, t->name, &ps);
	return ps ? ps->nest : (uintptr_t)sm_get(&ld->s->nest, t->name);
}

static const struct ipm_type *enter(struct load *ld, const char *name, int line, bool via_base)
{
	struct pstruct *dep;
	struct ipm_type *t = struct_find(ld, name, &dep);

	if (!dep || dep->state == PS_DONE)
		return t;
	if (dep->state == PS_NEW)
		return layout(ld, dep, via_base) ? NULL : t;
	cycle(ld, dep, line, via_base);
	return NULL;
}

static int too_deep(struct load *ld, const struct ipm_type *t)
{
	return fail(ld, -EINVAL, t->line,
		    "'%s' is nested or derived too deeply (more than %d levels)", t->name,
		    IPM_NEST_MAX);
}

/* Lays out ps after everything it contains (depth first). */
static int layout(struct load *ld, struct pstruct *ps, bool via_base)
{
	struct ipm_type *t = ps->t;
	const struct ipm_type *bt = NULL;
	struct strmap inherited = {0};
	size_t i, nbase = 0;

	/* every structure on the stack is one level in the one at its bottom */
	if (ld->depth == IPM_NEST_MAX)
		return too_deep(ld, ld->stack[0].ps->t);
	ps->state = PS_BUSY;
	ps->nest = 1;
	ld->stack[ld->depth].ps = ps;
	ld->stack[ld->depth++].via_base = via_base;
	if (ps->base) {
		bt = enter(ld, ps->base, t->line, true);
		if (!bt)
			return ld->code;
		nbase = bt->nfields;
		ps->nest = nest_of(ld, bt) + 1;
	}
	t->base = bt;
	t->fields = calloc(nbase + ps->nfields, sizeof(*t->fields));
	if (!t->fields)
		return nomem(ld);
	for (i = 0; i < nbase; i++) {
		struct ipm_member *m = &t->fields[t->nfields];

		*m = bt->fields[i];
		m->name = strdup(bt->fields[i].name);
		if (!m->name)
			goto nomem;
		t->nfields++;
		if (sm_put(&inherited, m->name, m))
			goto nomem;
	}
	for (i = 0; i < ps->nfields; i++) {
		struct pfield *pf = &ps->fields[i];
		struct ipm_member *m = &t->fields[t->nfields];
		const struct ipm_type *st = NULL;

		if (sm_get(&inherited, pf->name)) {
			fail(ld, -EINVAL, pf->line,
			     "duplicate field '%s' in '%s' (inherited from '%s')", pf->name,
			     t->name, bt->name);
			goto out;
		}
		if (!scalar_find(pf->tname) && !is_char_name(pf->tname)) {
			st = enter(ld, pf->tname, pf->line, false);
			if (!st)
				goto out;
			if (nest_of(ld, st) + 1 > ps->nest)
				ps->nest = nest_of(ld, st) + 1;
		}
		m->type = make_type(ld, pf, st);
		if (!m->type)
			goto out;
		m->name = strdup(pf->name);
		if (!m->name)
			goto nomem;
		m->line = pf->line;
		t->nfields++;
	}
	if (ps->nest > IPM_NEST_MAX) {
		too_deep(ld, t);
		goto out;
	}
	if (ipm_layout_struct(t)) {
		fail(ld, -EINVAL, t->line, "structure '%s' is too large (more than %zu bytes)",
		     t->name, IPM_SIZE_LIMIT);
		goto out;
	}
	ipm_layout_fingerprint(t);
	ps->state = PS_DONE;
	ld->depth--;
	goto out;
nomem:
	nomem(ld);
out:
	sm_free(&inherited);
	return ld->code;
}

/* Moves everything the load made into the schema; cannot fail half way. */
static int commit(struct load *ld)
{
	ipm_schema *s = ld->s;
	struct ipm_type **tail;
	char **files;
	size_t i;

	if (!ld->nps)
		return 0;
	if (s->nstructs + ld->nps > s->cap) {
		size_t cap = 2 * (s->nstructs + ld->nps);
		struct ipm_type **bigger = realloc(s->structs, cap * sizeof(*bigger));

		if (!bigger)
			return nomem(ld);
		s->structs = bigger;
		s->cap = cap;
	}
	files = realloc(s->files, (s->nfiles + 1) * sizeof(*files));
	if (!files)
		return nomem(ld);
	s->files = files;
	if (sm_reserve(&s->names, s->names.n + ld->nps) ||
	    sm_reserve(&s->nest, s->nest.n + ld->nps) ||
	    sm_reserve(&s->derived, s->derived.n + ld->derived.n))
		return nomem(ld);

	for (i = 0; i < ld->nps; i++) {
		s->structs[s->nstructs++] = ld->ps[i].t;
		sm_put_room(&s->names, ld->ps[i].t->name, ld->ps[i].t);
		sm_put_room(&s->nest, ld->ps[i].t->name, (void *)(uintptr_t)ld->ps[i].nest);
	}
	for (i = 0; i < ld->derived.cap; i++)
		if (ld->derived.slots[i].key)
			sm_put_room(&s->derived, ld->derived.slots[i].key,
				    ld->derived.slots[i].val);
	for (tail = &ld->types; *tail; tail = &(*tail)->next)
		;
	*tail = s->types;
	s->types = ld->types;
	ld->types = NULL;
	s->files[s->nfiles++] = ld->file;
	ld->file = NULL;
	return 0;
}

static int load(struct load *ld)
{
	ipm_schema *s = ld->s;
	int rc;
	size_t i;

	rc = ini_parse_stream(reader, ld, on_field, ld);
	if (rc == -2 || (rc < 0 && !ld->code))
		nomem(ld);
	/* inih's own complaint, a line it could not read, came first */
	if (rc > 0 && (!ld->code || (ld->errline > 0 && rc < ld->errline))) {
		ld->code = 0;
		fail(ld, -EINVAL, rc, "expected 'name = type' or '[Structure]'");
	}
	if (!ld->code)
		end_section(ld);
	if (!ld->code)
		check_refs(ld);
	if (!ld->code) {
		ld->stack = calloc(ld->nps + 1, sizeof(*ld->stack));
		if (!ld->stack)
			nomem(ld);
	}
	for (i = 0; !ld->code && i < ld->nps; i++)
		if (ld->ps[i].state == PS_NEW)
			layout(ld, &ld->ps[i], false);
	if (!ld->code)
		commit(ld);

	if (ld->code) {
		size_t n = 0;

		if (ld->errline > 0)
			n = (size_t)snprintf(s->err, sizeof(s->err), "%s:%d: ", ld->file,
					     ld->errline);
		else if (ld->errline == 0)
			n = (size_t)snprintf(s->err, sizeof(s->err), "%s: ", ld->file);
		if (n < sizeof(s->err)) {
			size_t len = strlen(ld->err);

			if (len > sizeof(s->err) - n - 1)
				len = sizeof(s->err) - n - 1;
			memcpy(s->err + n, ld->err, len);
			s->err[n + len] = '\0';
		}
	}

	for (i = 0; i < ld->nps; i++) {
		size_t j;

		for (j = 0; j < ld->ps[i].nfields; j++)
			pfield_free(&ld->ps[i].fields[j]);
		free(ld->ps[i].fields);
		free(ld->ps[i].base);
		sm_free(&ld->ps[i].fnames);
	}
	free(ld->ps);
	free(ld->stack);
	free(ld->line);
	sm_free(&ld->names);
	sm_free(&ld->derived);
	types_free(ld->types);
	free(ld->file);
	return ld->code;
}

int ipm_schema_load_file(ipm_schema *s, const char *path)
{
	struct load ld = {.s = s};
	int rc;

	if (!s || !path)
		return -EINVAL;
	s->err[0] = '\0';
	ld.fp = fopen(path, "r");
	if (!ld.fp) {
		rc = errno ? -errno : -EIO;
		snprintf(s->err, sizeof(s->err), "cannot open %s: %s", path, strerror(-rc));
		return rc;
	}
	ld.file = strdup(path);
	if (!ld.file) {
		fclose(ld.fp);
		snprintf(s->err, sizeof(s->err), "%s: out of memory", path);
		return -ENOMEM;
	}
	rc = load(&ld);
	fclose(ld.fp);
	return rc;
}

int ipm_schema_load_string(ipm_schema *s, const char *text, const char *name)
{
	struct load ld = {.s = s, .text = text};

	if (!s || !text)
		return -EINVAL;
	if (!name)
		name = "<string>";
	s->err[0] = '\0';
	ld.file = strdup(name);
	if (!ld.file) {
		snprintf(s->err, sizeof(s->err), "%s: out of memory", name);
		return -ENOMEM;
	}
	return load(&ld);
}
