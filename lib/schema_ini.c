/*
 * schema_ini.c - pass 1 of a schema load: the INI text, read with inih, to
 * structures and fields as written; everything one line can get wrong is
 * reported here, at its line. See ipmmap_i.h for the passes.
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

/* s for a message, escaped (util.c): a schema may be any file, and what
 * it echoes must not drive the terminal it is printed on. */
#define Q(s, buf) ipm_quote((s), strlen(s), (buf))

/* Refused as names so that generated C headers compile. */
static const char *const c_keywords[] = {
    "auto",	  "break",     "case",		 "char",
    "const",	  "continue",  "default",	 "do",
    "double",	  "else",      "enum",		 "extern",
    "float",	  "for",       "goto",		 "if",
    "inline",	  "int",       "long",		 "register",
    "restrict",	  "return",    "short",		 "signed",
    "sizeof",	  "static",    "struct",	 "switch",
    "typedef",	  "union",     "unsigned",	 "void",
    "volatile",	  "while",     "_Bool",		 "_Complex",
    "_Imaginary", "_Alignas",  "_Alignof",	 "_Atomic",
    "_Generic",	  "_Noreturn", "_Static_assert", "_Thread_local",
    "bool",	  "true",      "false",
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

/* ctypes' bases of a byte order: 1 a structure, 2 a union, in the host's
 * order; -1, -2 the same in the other order; 0 any other name. */
static int endian_base(const char *name)
{
	static const char *const names[] = {"LittleEndianStructure", "LittleEndianUnion",
					    "BigEndianStructure", "BigEndianUnion"};
	bool little = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

	for (int i = 0; i < 4; i++)
		if (!strcmp(name, names[i]))
			return (i % 2 + 1) * ((i < 2) == little ? 1 : -1);
	return 0;
}

/* Checks a structure or field name; what says which, for the message. */
static int check_name(struct ipm_load *ld, const char *what, const char *name, bool type)
{
	char q[IPM_QUOTE_LEN];

	if (!*name)
		return ipm_load_fail(ld, -EINVAL, ld->lineno, "missing %s name", what);
	if (!is_ident(name))
		return ipm_load_fail(ld, -EINVAL, ld->lineno, "bad %s name '%s'", what, Q(name, q));
	if (strlen(name) > IPM_NAME_MAX)
		return ipm_load_fail(ld, -EINVAL, ld->lineno,
				     "%s name '%s' is too long (more than %d characters)", what,
				     name, IPM_NAME_MAX);
	if (type && (ipm_scalar_by_name(name) || ipm_text_width(name) || !strcmp(name, "Union") ||
		     !strcmp(name, "Structure") || endian_base(name)))
		return ipm_load_fail(ld, -EINVAL, ld->lineno, "bad %s name '%s': a built-in type",
				     what, name);
	if (is_c_keyword(name))
		return ipm_load_fail(ld, -EINVAL, ld->lineno, "bad %s name '%s': a C keyword", what,
				     name);
	return 0;
}

/* A structure without fields has no C equivalent; a derived one without
 * fields of its own is fine (a Python subclass with only "pass"). */
static int close_section(struct ipm_load *ld)
{
	struct ipm_pstruct *ps = ld->in_section ? &ld->ps[ld->nps - 1] : NULL;

	ld->in_section = false;
	if (ps && !ps->nfields && !ps->base)
		return ipm_load_fail(ld, -EINVAL, ps->t->line, "%s '%s' has no fields",
				     ps->t->is_union ? "union" : "structure", ps->t->name);
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

/* "[Name]", "[Name : Base]" or "[Name : Union]" at p, in the reader's copy
 * of the line. "Union" is a name no structure may take, as ctypes.Union is
 * the base that makes a Python class a union. */
static int open_section(struct ipm_load *ld, char *p)
{
	char *end = strchr(p, ']'), *name, *base = NULL, *colon, *after;
	struct ipm_pstruct *dup, *ps;
	struct ipm_type *old, *t;

	if (close_section(ld))
		return ld->code;
	if (!end)
		return ipm_load_fail(ld, -EINVAL, ld->lineno, "missing ']' in section header");
	after = end + 1;
	while (isspace((unsigned char)*after))
		after++;
	if (*after && *after != ';' && *after != '#')
		return ipm_load_fail(ld, -EINVAL, ld->lineno, "unexpected text after ']'");
	*end = '\0';
	colon = strchr(p + 1, ':');
	if (colon) {
		*colon = '\0';
		base = trim(colon + 1);
	}
	name = trim(p + 1);
	if (check_name(ld, "structure", name, true))
		return ld->code;
	/* LittleEndianStructure is Structure on a little-endian host, as in
	 * ctypes; a byte order other than the host's has no access path */
	if (base && endian_base(base) < 0)
		return ipm_load_fail(
		    ld, -EINVAL, ld->lineno,
		    "'%s' is not supported: fields are in the host's byte order (%s)", base,
		    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? "little endian" : "big endian");
	if (base && endian_base(base) == 2)
		base = "Union";
	else if (base && (endian_base(base) == 1 || !strcmp(base, "Structure")))
		base = NULL; /* [Name : Structure], as Python writes it: no base */
	if (base && strcmp(base, "Union") && check_name(ld, "base structure", base, true))
		return ld->code;
	old = ipm_load_find_struct(ld, name, &dup);
	if (dup)
		return ipm_load_fail(ld, -EINVAL, ld->lineno,
				     "duplicate structure '%s' (first at line %d)", name,
				     old->line);
	if (old && old->line == 0)
		return ipm_load_fail(ld, -EINVAL, ld->lineno, "duplicate structure '%s' (built in)",
				     name);
	if (old)
		return ipm_load_fail(ld, -EINVAL, ld->lineno,
				     "duplicate structure '%s' (first at %s:%d)", name, old->file,
				     old->line);

	if (ld->nps == ld->capps) {
		size_t cap = ld->capps ? 2 * ld->capps : 16;
		struct ipm_pstruct *bigger = realloc(ld->ps, cap * sizeof(*bigger));

		if (!bigger)
			return ipm_load_nomem(ld);
		ld->ps = bigger;
		ld->capps = cap;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return ipm_load_nomem(ld);
	t->next = ld->types;
	ld->types = t;
	t->kind = IPM_STRUCT;
	t->file = ld->file;
	t->line = ld->lineno;
	t->name = strdup(name);
	ps = &ld->ps[ld->nps];
	memset(ps, 0, sizeof(*ps));
	ps->t = t;
	t->is_union = base && !strcmp(base, "Union");
	if (t->is_union)
		base = NULL;
	if (!t->name || (base && !(ps->base = strdup(base))))
		goto nomem;
	if (ipm_strmap_put(&ld->names, t->name, (void *)(uintptr_t)(ld->nps + 1)))
		goto nomem;
	ld->nps++;
	ld->in_section = true;
	return 0;
nomem:
	free(ps->base);
	return ipm_load_nomem(ld);
}

/* One number, the n bytes at tok, of the type text whole: what is "array
 * size" or "bit field width", for the message. */
static int parse_size(struct ipm_load *ld, const char *what, const char *tok, size_t n,
		      const char *whole, size_t *out)
{
	char qt[IPM_QUOTE_LEN], qw[IPM_QUOTE_LEN];
	size_t i, v = 0;

	ipm_quote(tok, n, qt);
	Q(whole, qw);
	if (!n)
		return ipm_load_fail(ld, -EINVAL, ld->lineno, "missing %s in '%s'", what, qw);
	for (i = tok[0] == '-'; i < n && isdigit((unsigned char)tok[i]); i++)
		;
	if (i < n || n == (size_t)(tok[0] == '-'))
		return ipm_load_fail(ld, -EINVAL, ld->lineno, "%s '%s' in '%s' is not a number",
				     what, qt, qw);
	if (tok[0] == '-')
		return ipm_load_fail(ld, -EINVAL, ld->lineno, "%s %s in '%s' must be at least 1",
				     what, qt, qw);
	for (i = 0; i < n; i++) {
		v = v * 10 + (size_t)(tok[i] - '0');
		if (v > IPM_SIZE_LIMIT)
			return ipm_load_fail(ld, -EINVAL, ld->lineno, "%s %s in '%s' is too large",
					     what, qt, qw);
	}
	if (!v)
		return ipm_load_fail(ld, -EINVAL, ld->lineno, "%s %s in '%s' must be at least 1",
				     what, qt, qw);
	*out = v;
	return 0;
}

/* ctypes' pointer types, and the callables that make them: refused by
 * name, since an address in one process means nothing in another. */
static const char *const pointer_names[] = {
    "c_void_p", "c_char_p",  "c_wchar_p",   "py_object",  "POINTER",
    "pointer",	"CFUNCTYPE", "WINFUNCTYPE", "PYFUNCTYPE", "HRESULT",
};

static int fail_pointer(struct ipm_load *ld, const char *text)
{
	char q[IPM_QUOTE_LEN];

	return ipm_load_fail(ld, -EINVAL, ld->lineno,
			     "bad type '%s': a pointer means nothing in another process",
			     Q(text, q));
}

/*
 * Reads a type as written: a name, then C sizes "[N]" (outermost first), then
 * ctypes sizes "* N" (each wrapping all before it), white space anywhere in
 * between. "int32[4][3]" and "c_int * 3 * 4" are both 4 arrays of 3 int32.
 */
static int parse_type(struct ipm_load *ld, const char *text, struct ipm_pfield *pf)
{
	size_t cdims[IPM_DIMS_MAX], pydims[IPM_DIMS_MAX], nc = 0, npy = 0, i, v = 0;
	char q[IPM_QUOTE_LEN];
	const char *p = text, *tok;

	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	if (p == text || isdigit((unsigned char)*text))
		return ipm_load_fail(ld, -EINVAL, ld->lineno, "bad type '%s'", Q(text, q));
	for (i = 0; i < sizeof(pointer_names) / sizeof(pointer_names[0]); i++)
		if (strlen(pointer_names[i]) == (size_t)(p - text) &&
		    !memcmp(text, pointer_names[i], (size_t)(p - text)))
			return fail_pointer(ld, text);
	pf->tname = strndup(text, (size_t)(p - text));
	if (!pf->tname)
		return ipm_load_nomem(ld);
	for (;;) {
		char c;

		while (isspace((unsigned char)*p))
			p++;
		c = *p;
		if (!c)
			break;
		if ((c != '[' && c != '*') || (c == '[' && npy))
			return ipm_load_fail(ld, -EINVAL, ld->lineno, "bad type '%s'", Q(text, q));
		if (nc + npy == IPM_DIMS_MAX)
			return ipm_load_fail(ld, -EINVAL, ld->lineno,
					     "too many array dimensions in '%s' (more than %d)",
					     Q(text, q), IPM_DIMS_MAX);
		for (p++; isspace((unsigned char)*p); p++)
			;
		if (c == '*' && (!*p || *p == '*')) /* C's "T *" */
			return fail_pointer(ld, text);
		for (tok = p; *p && !isspace((unsigned char)*p) && !strchr("[]*", *p); p++)
			;
		if (parse_size(ld, "array size", tok, (size_t)(p - tok), text, &v))
			return ld->code;
		if (c == '[') {
			while (isspace((unsigned char)*p))
				p++;
			if (*p != ']')
				return ipm_load_fail(ld, -EINVAL, ld->lineno,
						     "missing ']' in type '%s'", Q(text, q));
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

/* "type : N", a bit field as ctypes' ('name', type, N): the width into pf,
 * and the type alone into pf->text for parse_type(). Whether N fits the type
 * is checked at layout, where the type is known. */
static int parse_bits(struct ipm_load *ld, const char *value, struct ipm_pfield *pf)
{
	const char *colon = strchr(value, ':'), *p;
	char q[IPM_QUOTE_LEN];
	size_t n = 0;

	if (!colon)
		return 0;
	for (p = colon + 1; isspace((unsigned char)*p); p++)
		;
	if (parse_size(ld, "bit field width", p, strlen(p), value, &n))
		return ld->code;
	if (n > 64)
		return ipm_load_fail(ld, -EINVAL, ld->lineno,
				     "bit field width %zu in '%s' is more than 64", n, Q(value, q));
	for (p = colon; p > value && isspace((unsigned char)p[-1]); p--)
		;
	pf->width = (unsigned)n;
	pf->text = strndup(value, (size_t)(p - value));
	return pf->text ? 0 : ipm_load_nomem(ld);
}

/* "_pack_ = N" in structure ps, as ctypes' _pack_: N a power of two up to
 * 16 (what C's #pragma pack takes), once. */
static int set_pack(struct ipm_load *ld, struct ipm_pstruct *ps, const char *value)
{
	static const char *const ok[] = {"1", "2", "4", "8", "16"};
	char q[IPM_QUOTE_LEN];
	size_t i;

	if (ps->pack_line)
		return ipm_load_fail(ld, -EINVAL, ld->lineno,
				     "duplicate _pack_ in '%s' (first at line %d)", ps->t->name,
				     ps->pack_line);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!strcmp(value, ok[i]))
			break;
	if (i == sizeof(ok) / sizeof(ok[0]))
		return ipm_load_fail(ld, -EINVAL, ld->lineno,
				     "bad _pack_ '%s': expected 1, 2, 4, 8 or 16", Q(value, q));
	ps->pack = (size_t)1 << i;
	ps->pack_line = ld->lineno;
	return 0;
}

/* The inih handler: one "name = value" line of the current section. The
 * section inih passes is ignored: the reader tracks sections itself. */
static int add_field(void *user, const char *section, const char *name, const char *value)
{
	struct ipm_load *ld = user;
	struct ipm_pstruct *ps;
	struct ipm_pfield *pf;
	uintptr_t first;
	char q[IPM_QUOTE_LEN];

	(void)section;
	if (ld->code)
		return 0;
	if (!ld->in_section) {
		ipm_load_fail(ld, -EINVAL, ld->lineno, "field '%s' outside any structure",
			      Q(name, q));
		return 0;
	}
	ps = &ld->ps[ld->nps - 1];
	if (!strcmp(name, "_pack_"))
		return set_pack(ld, ps, value) ? 0 : 1;
	if (check_name(ld, "field", name, false))
		return 0;
	first = (uintptr_t)ipm_strmap_get(&ps->fnames, name);
	if (first) {
		ipm_load_fail(ld, -EINVAL, ld->lineno,
			      "duplicate field '%s' in '%s' (first at line %d)", name, ps->t->name,
			      ps->fields[first - 1].line);
		return 0;
	}
	if (!*value) {
		ipm_load_fail(ld, -EINVAL, ld->lineno, "missing type for field '%s'", name);
		return 0;
	}
	if (ps->nfields == ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 8;
		struct ipm_pfield *bigger = realloc(ps->fields, cap * sizeof(*bigger));

		if (!bigger) {
			ipm_load_nomem(ld);
			return 0;
		}
		ps->fields = bigger;
		ps->cap = cap;
	}
	pf = &ps->fields[ps->nfields];
	memset(pf, 0, sizeof(*pf));
	pf->line = ld->lineno;
	if (parse_bits(ld, value, pf) || parse_type(ld, pf->text ? pf->text : value, pf))
		goto fail;
	free(pf->text);
	pf->text = NULL;
	pf->name = strdup(name);
	pf->text = strdup(value);
	if (!pf->name || !pf->text ||
	    ipm_strmap_put(&ps->fnames, pf->name, (void *)(uintptr_t)(ps->nfields + 1))) {
		ipm_load_nomem(ld);
		goto fail;
	}
	ps->nfields++;
	return 1;
fail:
	ipm_pfield_free(pf);
	return 0;
}

/*
 * The inih reader: hands inih one line at a time from the bounded reader,
 * and stops the parse (NULL) at the first error, since inih 55 would go on.
 * Section headers are read here, from a copy of the line that they may cut.
 */
static char *feed_inih(char *str, int num, void *stream)
{
	struct ipm_load *ld = stream;
	size_t len;
	char *p;
	int rc;

	if (ld->code)
		return NULL;
	rc = ipm_lines_next(ld->lines, str, (size_t)num);
	ld->lineno = ipm_lines_number(ld->lines);
	if (rc < 0) {
		const char *what = ipm_lines_what(ld->lines);

		/* a read error names the file, the others a line */
		ipm_load_fail(ld, rc, what == ipm_lines_errmsg(ld->lines) ? -1 : ld->lineno, "%s",
			      what);
		return NULL;
	}
	if (rc == 0)
		return NULL;
	for (p = str; isspace((unsigned char)*p); p++)
		;
	if (!*p || *p == ';' || *p == '#')
		return str;
	if (p > str) {
		struct ipm_pstruct *ps = ld->in_section ? &ld->ps[ld->nps - 1] : NULL;

		if (ps && ps->nfields)
			ipm_load_fail(
			    ld, -EINVAL, ld->lineno,
			    "indented line continues '%s'; schema lines must not be indented",
			    ps->fields[ps->nfields - 1].name);
		else
			ipm_load_fail(ld, -EINVAL, ld->lineno,
				      "indented line; schema lines must not be indented");
		return NULL;
	}
	if (*p != '[')
		return str;
	len = strlen(p);
	if (len >= ld->linecap) {
		char *bigger = realloc(ld->line, len + 1);

		if (!bigger) {
			ipm_load_nomem(ld);
			return NULL;
		}
		ld->line = bigger;
		ld->linecap = len + 1;
	}
	memcpy(ld->line, p, len + 1);
	return open_section(ld, ld->line) ? NULL : str;
}

int ipm_load_read_ini(struct ipm_load *ld)
{
	int rc = ini_parse_stream(feed_inih, ld, add_field, ld);

	if (rc == -2 || (rc < 0 && !ld->code))
		ipm_load_nomem(ld);
	/* inih's own complaint, a line it could not read, came first */
	if (rc > 0 && (!ld->code || (ld->errline > 0 && rc < ld->errline))) {
		ld->code = 0;
		ipm_load_fail(ld, -EINVAL, rc, "expected 'name = type' or '[Structure]'");
	}
	if (!ld->code)
		close_section(ld);
	return ld->code;
}
