/*
 * ipmmap.h - share typed structures between processes through mmap'ed files.
 *
 * The one public header of libipmmap. Everything the library offers is declared
 * and documented here; the .c files only say "see ipmmap.h".
 *
 * Data walks one way:
 *
 *   schema text (INI)  ->  ipm_schema / ipm_type   (ipm_schema_load_*)
 *   type + name + tag  ->  ipm_map                 (ipm_map_open)
 *   map                ->  reader/writer lock      (ipm_lock_*)
 *   "a.b[3].c"         ->  struct ipm_field        (ipm_map_resolve)
 *   field              ->  value, typed or text    (ipm_get_* / ipm_set_*)
 *
 * Invariants (ipmmap(3), INVARIANTS, says each at length)
 * ----------
 * - A schema is built by one thread, then never changes and may be shared;
 *   it must outlive its handles. A map handle belongs to one thread at a time.
 * - The .mmap file holds exactly the structure's bytes, as C and ctypes lay
 *   them out: Python IPMMAP shares it unchanged. The library's own state
 *   (change counter, leases, undo record) lives in the lock file, which
 *   fasteners only locks; its record is used only when the lock file gives
 *   nobody more than the .mmap gives. Locks are OFD locks over the whole lock
 *   file: they exclude fasteners' POSIX locks, and die with their holder.
 * - Damage from outside is answered per handle: a lock file cut short is
 *   grown back by a handle that may write it (-EIO for others), one removed
 *   or replaced is followed within IPM_FOLLOW_MS, a .mmap that changed size
 *   fails every call with -EIO until it is whole, links and FIFOs are
 *   refused. Accesses through ipm_map_data() are guarded only inside
 *   ipm_map_guarded().
 *
 * Calling sequence
 * ----------------
 *   ipm_schema *s = ipm_schema_new();
 *   ipm_schema_load_file(s, "conf/demo.ini");        // < 0: ipm_schema_errmsg(s)
 *   ipm_map *m = ipm_map_new(s);
 *   ipm_map_open(m, "DemoMmapStructure", "", IPM_EDITOR, NULL); // ipm_map_errmsg(m)
 *   struct ipm_field f;
 *   ipm_map_resolve(m, "multi_pts.multi_points[3].y", &f);   // once
 *   ipm_lock_write(m, -1); ipm_set_f64(m, &f, 2.5); ipm_map_touch(m); ipm_unlock(m);
 *   ipm_map_free(m); ipm_schema_free(s);
 *
 * Error handling
 * --------------
 * Every call that can fail returns 0 (or a non-negative count) on success and
 * a negative errno value on failure, so a FUSE server can hand it straight to
 * fuse_reply_err(req, -rc). The handle the call was made on keeps a message of
 * the last failure, which names the place: "conf/demo.ini:12: unknown type
 * 'u33'", "cannot map .mmap/Demo_.mmap: size 600, expected 688",
 * "multi_pts.multi_points[24]: index out of range (0..23)". Messages state the
 * problem first, in lowercase, without a full stop. Calls without a handle take
 * an optional buffer of IPM_ERRLEN bytes for their message (NULL: none).
 * The library never prints, never aborts, never exits, and keeps no global
 * state except two documented signal handlers (see ipm_lock_read() and
 * ipm_map_guarded()).
 *
 * Crashes (ipmmap(3), CRASHES)
 * -------
 * A process killed while it holds a lock blocks nobody. A writer killed
 * inside a write section leaves no half update for C readers: the section
 * saved what it changes in the undo record, and the next handle to lock
 * undoes it (ipm_map_recovery() says so). Python IPMMAP writers keep no
 * record; Python readers see a dead C writer's half update until a C
 * process with write access undoes it (ipm_map_recover(), `ipmmap recover`).
 *
 * Modes (ipmmap(3), MODES)
 * -----
 * compat (the default): every read takes the read lock. native (IPM_NATIVE;
 * every writer uses this library): a read that holds no lock takes none and
 * copies as a seqlock reader does, never returning a torn state.
 *
 * Timeouts follow git's lockfile.h: 0 means try once, -1 means wait forever,
 * a positive value is a limit in milliseconds.
 */
#ifndef IPMMAP_H
#define IPMMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility; what this header declares is
 * its exported interface, and nothing else. */
#pragma GCC visibility push(default)

#define IPM_VERSION "0.1.0"

/* Size of a message buffer for the calls that take one. */
#define IPM_ERRLEN 256

/* header_code the manager writes, as Python IPMMAP does. */
#define IPM_HEADER_CODE 0x1128

/* Name of the built-in header structure every mappable structure starts with:
 * MmapStructureHeader { int16 header_code; double time_stamp; } (16 bytes). */
#define IPM_HEADER_STRUCT "MmapStructureHeader"

/* Default directories, relative to the working directory, as Python IPMMAP. */
#define IPM_DEFAULT_MMAP_DIR "./.mmap"
#define IPM_DEFAULT_LOCK_DIR "./.fasteners"

/* Longest text any scalar formats to, with its NUL (char[N], wchar[N]: size+1). */
#define IPM_SCALAR_TEXTLEN 32

/* ------------------------------------------------------------------------ */
/* Types                                                                     */
/* ------------------------------------------------------------------------ */

/* What a type is; a leaf is any kind but IPM_ARRAY and IPM_STRUCT. Kinds
 * added later come after IPM_STRUCT, so that no number changes. */
enum ipm_kind {
	IPM_INT8,
	IPM_INT16,
	IPM_INT32,
	IPM_INT64,
	IPM_UINT8,
	IPM_UINT16,
	IPM_UINT32,
	IPM_UINT64,
	IPM_FLOAT,
	IPM_DOUBLE,
	IPM_BOOL,
	IPM_STRING, /* char[N]: NUL-padded text, like ctypes c_char * N */
	IPM_ARRAY,  /* T[N] */
	IPM_STRUCT, /* a structure of the schema */
	IPM_WSTRING,    /* wchar[N]: UTF-32 text, like ctypes c_wchar * N */
	IPM_LONGDOUBLE, /* long double: x86-64's 80-bit extended, in 16 bytes */
};

typedef struct ipm_schema ipm_schema; /* a loaded set of structure types */
typedef struct ipm_type ipm_type;     /* one type, owned by its schema */
typedef struct ipm_map ipm_map;       /* one mapped instance */

/*
 * A field resolved from a dotted path, relative to the start of the
 * structure it was resolved in. A plain value: copy it, keep it, reuse it in
 * hot loops; it stays valid as long as the schema that made it.
 */
struct ipm_field {
	size_t offset;         /* byte offset from the start of the structure */
	size_t size;           /* bytes the field occupies */
	enum ipm_kind kind;    /* kind of type, repeated for speed */
	unsigned char bit;     /* a bit field: its lowest bit in the unit below */
	unsigned char width;   /* a bit field's bits ("x = c_uint32 : 3"), 0: none */
	const ipm_type *type;  /* the field's type */
};
/* A bit field's offset and size are its storage unit's (a whole kind, laid
 * out as gcc does on the platform). Typed and text access read and write only
 * its bits, refuse a value wider than them, and never move the neighbours;
 * ipm_get_bytes/ipm_set_bytes move the unit, of which set takes only the
 * field's bits. */

/* ------------------------------------------------------------------------ */
/* Schema                                                                    */
/* ------------------------------------------------------------------------ */

/*
 * Schema files are INI. Each section defines a structure, each line a field
 * in layout order:
 *
 *   [Point2D]
 *   x = double
 *   y = double
 *
 *   [DemoMmapStructure]
 *   header      = MmapStructureHeader
 *   data_int    = int32
 *   data_string = char[256]            ; or: c_char * 256
 *   multi_pts   = MultiPointsData
 *
 *   [Derived : DemoMmapStructure]      ; Base's fields first, then these
 *   extra = Point2D[4][2]              ; or: Point2D * 2 * 4 (ctypes order)
 *
 * Types: int8 .. uint64, float, double, longdouble, bool, char[N], wchar[N]
 * (UTF-32, as ctypes' c_wchar * N), any structure of the schema (defined
 * before or after its use), arrays T[N] and T[N][M], and the ctypes
 * spellings (c_int, c_size_t, c_char, c_wchar, "T * N", ...; ipmmap(3),
 * SCHEMA TYPES, lists them and says what C sees). Layout is ctypes' and C's;
 * "_pack_ = N" packs a section as ctypes does, "[Name : Union]" is a union
 * (kind IPM_STRUCT), "f = c_uint32 : 3" a bit field; pointers are refused.
 * At most IPM_TEXT_MAX bytes and lines of 199 characters are read.
 */

/* A new, empty schema that knows only MmapStructureHeader. NULL if out of
 * memory. Free it with ipm_schema_free(). */
ipm_schema *ipm_schema_new(void);

/* Frees a schema and every type in it. NULL is harmless. Every map handle
 * and field descriptor made from it must be gone first. */
void ipm_schema_free(ipm_schema *s);

/*
 * Adds the structures defined in the INI file at path. All or nothing: on any
 * error the schema is left as it was. Structures may refer to those loaded
 * earlier into the same schema. Returns 0, or -EINVAL (bad schema, a line
 * too long; the message is "path:line: what is wrong"), -EFBIG (over
 * IPM_TEXT_MAX), -ENOENT/-EACCES/... (cannot read the file), -ENOMEM.
 */
int ipm_schema_load_file(ipm_schema *s, const char *path);

/* As ipm_schema_load_file(), from text in memory; name is used in messages
 * in place of a file name (NULL: "<string>"). */
int ipm_schema_load_string(ipm_schema *s, const char *text, const char *name);

/* Message of the last failed load; "" if none. Valid until the next call on s. */
const char *ipm_schema_errmsg(const ipm_schema *s);

/* The structure called name, or NULL. */
const ipm_type *ipm_schema_find(const ipm_schema *s, const char *name);

/* Number of structures, and the i-th in order of definition (the built-in
 * MmapStructureHeader is number 0). */
size_t ipm_schema_count(const ipm_schema *s);
const ipm_type *ipm_schema_at(const ipm_schema *s, size_t i);

/* The bounded line reader schemas are read with, for programs that read INI
 * with inih too (ipmmapfs): a file without end is an error at once, and lines
 * are counted. One thread per reader: open, next until 0 or an error, close. */
#define IPM_TEXT_MAX (1 << 20) /* most bytes read from one file or string */
typedef struct ipm_lines ipm_lines; /* an open text file, read line by line */

/* Opens path (a pipe works). NULL, "cannot open PATH: why" in err and errno. */
ipm_lines *ipm_lines_open(const char *path, char err[IPM_ERRLEN]);

/*
 * The next line into buf (size >= 2 bytes, as inih's reader callback gets):
 * without "\n" or "\r\n", nor a UTF-8 byte order mark on line 1. Returns 1, 0
 * at the end, or with "PATH:LINE: what" in ipm_lines_errmsg() -EINVAL ("line
 * too long (more than SIZE-1 characters)", read no further; "NUL byte in
 * line"), -EFBIG ("file too large (more than 1048576 bytes)"), or -errno
 * ("cannot read PATH: why"). An error stays.
 */
int ipm_lines_next(ipm_lines *r, char *buf, size_t size);

/* Line last read or stopped in (1: the first), 0 before; last message or "". */
int ipm_lines_number(const ipm_lines *r);
const char *ipm_lines_errmsg(const ipm_lines *r);

void ipm_lines_close(ipm_lines *r); /* closes and frees; NULL is harmless */

/* ------------------------------------------------------------------------ */
/* Type introspection (for tree walkers, generators and checkers)            */
/* ------------------------------------------------------------------------ */

enum ipm_kind ipm_type_kind(const ipm_type *t);
size_t ipm_type_size(const ipm_type *t);
size_t ipm_type_align(const ipm_type *t);

/* The type's name as the schema spells it in its canonical form: "int32",
 * "char[256]", "Point2D", "Point2D[24]", "int32[4][3]". Owned by the schema. */
const char *ipm_type_name(const ipm_type *t);

/* IPM_ARRAY: element count and element type (itself maybe an array);
 * IPM_STRING, IPM_WSTRING: N (characters) and NULL; others: 0 / NULL. */
size_t ipm_type_count(const ipm_type *t);
const ipm_type *ipm_type_elem(const ipm_type *t);

/* IPM_STRUCT: number of fields (a derived structure counts its base's fields
 * first), and the i-th field's name, offset, type and schema line. */
size_t ipm_type_nfields(const ipm_type *t);
const char *ipm_type_field_name(const ipm_type *t, size_t i);
size_t ipm_type_field_offset(const ipm_type *t, size_t i);
const ipm_type *ipm_type_field_type(const ipm_type *t, size_t i);
/* The i-th field's bits (0: not a bit field) and its lowest bit in its unit. */
unsigned ipm_type_field_bits(const ipm_type *t, size_t i, unsigned *bit);

/* IPM_STRUCT: the base structure of "[Name : Base]", or NULL. */
const ipm_type *ipm_type_base(const ipm_type *t);

size_t ipm_type_pack(const ipm_type *t); /* IPM_STRUCT: "_pack_ = N" (or base's), 0 */
int ipm_type_is_union(const ipm_type *t); /* IPM_STRUCT of "[Name : Union]": 1, else 0 */

/* Where the structure was defined: file name (owned by the schema) and line.
 * "<builtin>" and 0 for MmapStructureHeader and for non-structures. */
const char *ipm_type_file(const ipm_type *t);
int ipm_type_line(const ipm_type *t);

/* Whether instances of t may be mapped: it is a structure whose first field
 * is of type MmapStructureHeader. */
int ipm_type_mappable(const ipm_type *t);

/* 64-bit layout fingerprint: a hash (FNV-1a) of the names, kinds, offsets and
 * sizes of every field, recursively. Equal fingerprints mean equal layouts. */
uint64_t ipm_type_fingerprint(const ipm_type *t);

/*
 * Resolves a dotted path with array indexes inside structure t:
 * "data_xy.x", "multi_pts.multi_points[3].y", "arr[1][2]". The path may stop at
 * any level (a structure, an array, an element). Returns 0, -ENOENT (no such
 * field), -ERANGE (index out of range) or -EINVAL (malformed path), with a
 * message naming the path in err when err is not NULL.
 */
int ipm_type_resolve(const ipm_type *t, const char *path, struct ipm_field *out,
		     char err[IPM_ERRLEN]);

/* ipm_type_walk() visits, in layout order, every leaf (scalar, char[N]) and,
 * with IPM_WALK_DIRS, each structure and array before and after its members. */
enum ipm_walk_event {
	IPM_WALK_LEAF,  /* a scalar or a char[N] string */
	IPM_WALK_ENTER, /* a structure or array, before its members */
	IPM_WALK_LEAVE, /* the same, after them */
};
#define IPM_WALK_DIRS 0x1 /* flag: report IPM_WALK_ENTER and IPM_WALK_LEAVE too */
#define IPM_WALK_SKIP 1   /* returned for ENTER: skip its members and its LEAVE */
/* One visit; all of it, path and name too, valid only during the callback. */
struct ipm_walk {
	enum ipm_walk_event event; /* what this visit is */
	const char *path;          /* dotted path, starting with the walk's path */
	const char *name;          /* last part: field name or index ("3"); "" at depth 0 */
	struct ipm_field field;    /* offset (plus the walk's), size, kind, type */
	const ipm_type *parent;    /* structure or array holding it; NULL at depth 0 */
	size_t index;              /* field number in parent, or element index */
	size_t depth;              /* 0: the walked type, 1: its members, ... */
};
typedef int (*ipm_walk_fn)(const struct ipm_walk *w, void *ctx);

/*
 * Calls fn(w, ctx) for each node below t (t itself included) with the path
 * ipm_type_resolve() reads back ("multi_pts.multi_points[3].y"). path is t's
 * own (NULL: ""), offset t's, so a walk may start at a resolved field. State
 * is on the heap: any nesting walks in little stack. fn returns 0, SKIP, or
 * anything else to stop the walk, which returns it. 0, -EINVAL or -ENOMEM.
 */
int ipm_type_walk(const ipm_type *t, const char *path, size_t offset, unsigned flags,
		  ipm_walk_fn fn, void *ctx);

/* ------------------------------------------------------------------------ */
/* Values as text (pure functions on bytes; no map, no lock)                 */
/* ------------------------------------------------------------------------ */

/*
 * Formats the value of a scalar or string field whose bytes start at src.
 * Integers in decimal; float, double and longdouble as the shortest text
 * that reads back to the same bits, as Python prints them ("0.1", "1.0",
 * "-1e+300", "inf", "nan"); bool as 0 or 1; a string up to its first NUL
 * (a wchar[N] as UTF-8). No newline.
 * Writes at most len bytes including the NUL. Returns the length of the text
 * (without NUL) or -ENOSPC if it does not fit, -EINVAL for an aggregate.
 */
int ipm_text_format(const struct ipm_field *f, const void *src, char *buf, size_t len);

/*
 * Parses text (len bytes, need not be NUL-terminated) strictly into f->size
 * bytes at dst: the whole text must be one valid value of the field's type;
 * one trailing "\n" is allowed. Integers: decimal, optional sign ('-' only
 * for signed types), no leading zeros, no spaces, in range. Floats: decimal
 * or exponent notation, "inf", "-inf", "nan"; out of the type's range, or
 * non-zero text that would read as 0, is an error. bool: 0, 1, true, false.
 * Strings: valid UTF-8 without NUL, at most N bytes (wchar[N]: characters).
 * Returns 0, -EINVAL (not a value of this type) or -ERANGE (out of range, too
 * long); on error dst is untouched and err (if not NULL) says why.
 */
int ipm_text_parse(const struct ipm_field *f, const char *text, size_t len, void *dst,
		   char err[IPM_ERRLEN]);

/* ------------------------------------------------------------------------ */
/* Instances as "path = value" lines (lines.c)                               */
/* ------------------------------------------------------------------------ */

/*
 * The one text format of a whole instance: what the mount's .values file
 * shows and takes, what `ipmmap dump` prints, `ipmmap set STRUCT FILE` reads
 * and `ipmmap watch` prints.
 *
 *   header.header_code = 4392
 *   header.time_stamp = 1795000000.123456
 *   data_int = 42
 *   data_string = two\nlines and a \\ backslash
 *   multi_pts.multi_points[3].y = 2.5
 *
 * One line per leaf (scalar or string), in layout order: the dotted path,
 * " = ", the value as ipm_text_format() writes it, a newline. In a string,
 * and only there, a backslash, newline and CR are written \\, \n and \r,
 * other control bytes (C1's U+0080..U+009F too: \xc2\xHH) and a char[N]'s
 * bytes that are not UTF-8 \xHH: every value stays on its line, no string
 * forges a line or drives a terminal.
 *
 * Reading follows inih's conventions: blank and ;/# comment lines skipped,
 * header lines checked and ignored, any bad line refuses the whole text;
 * ipmmap(3), THE LINE FORMAT, gives every rule.
 *
 * Calling sequence (the mount checks lines as write() brings them and
 * applies them all at close, under one write lock):
 *   struct ipm_values v = {.bytes = scratch,        // ipm_type_size(t) bytes
 *                          .fields = fields,        // one per line of text
 *                          .cap = nlines, .name = "saved.txt"};
 *   if (ipm_values_parse(t, text, len, &v, err) < 0)  // once, or piece by piece
 *           fprintf(stderr, "%s\n", err);            // "saved.txt:3: data_int: ..."
 *   else
 *           ipm_values_apply(m, &v);
 */

/* A parsed update not applied yet: what ipm_values_parse() fills and
 * ipm_values_apply() writes. The caller owns every buffer; zero it, then
 * set bytes, and fields and cap to collect the fields (fields NULL: only
 * check the text). Members are only ever added at the end. */
struct ipm_values {
	void *bytes;              /* ipm_type_size(t) bytes, values at offsets */
	struct ipm_field *fields; /* the fields set, in line order, or NULL */
	size_t cap;               /* room in fields: one per line is enough */
	size_t n;                 /* fields collected so far */
	unsigned lines;           /* lines read good so far (an error: +1) */
	const char *name;         /* the text's name in messages; NULL: "line" */
	size_t reach;             /* the library's: end of the furthest field */
};

/* Room a buffer needs for ipm_values_format(t, path, ...), NUL included; at
 * least the longest text any bytes can give (SIZE_MAX if it overflows).
 * path as for ipm_values_format(); 0 if it does not resolve. */
size_t ipm_values_textlen(const ipm_type *t, const char *path);

/*
 * Writes the lines of every leaf of structure t, whose bytes are at data
 * (ipm_type_size(t) of them), into buf, NUL-terminated, at most len bytes.
 * With path NULL or "", the whole instance; otherwise only the leaves under
 * path (resolved as ipm_type_resolve() does; a leaf itself gives its one
 * line), their lines starting with path as given. Reads only memory, never
 * allocates, so it may run inside ipm_map_guarded().
 * Returns the length of the text, -ENOSPC if it does not fit (see
 * ipm_values_textlen()), or what ipm_type_resolve() returns for path.
 */
ssize_t ipm_values_format(const ipm_type *t, const char *path, const void *data, char *buf,
			  size_t len);

/*
 * Parses the lines of text (len bytes, need not be NUL-terminated; the last
 * line may lack its newline) for structure t into v: each value's bytes go
 * to v->bytes at its field's offset, and with v->fields set the field is
 * appended there (the last value wins; a union's line saying what earlier
 * ones did is skipped, so its dump applied back changes nothing). A text may
 * come in pieces of whole lines, one call each: v->lines and v->n carry on.
 * Returns 0, or on the first bad line -EINVAL (no '=', not a leaf of t, a
 * bad escape, a NUL byte, or a value that is not of the type), -ERANGE (out
 * of range, too long) or -ENOSPC (more fields than cap), with "name:N: path:
 * why" in err when err is not NULL. v->bytes may then hold part of the
 * text's values: nothing is applied until ipm_values_apply().
 */
int ipm_values_parse(const ipm_type *t, const char *text, size_t len, struct ipm_values *v,
		     char err[IPM_ERRLEN]);

/*
 * Writes the v->n fields of v from v->bytes into m's instance, all under
 * one write lock, and sets the header's time_stamp to now; with v->n 0 it
 * does nothing. Uses the write lock m holds, or takes it for the call,
 * waiting as long as it takes. Returns 0, -EACCES (a reader handle), -EPERM
 * (m holds the read lock), -EIO (the file was cut short) or another error
 * of the lock, with a message on m.
 */
int ipm_values_apply(ipm_map *m, const struct ipm_values *v);

/* ------------------------------------------------------------------------ */
/* Maps: files, roles, mapping                                               */
/* ------------------------------------------------------------------------ */

enum ipm_role {
	IPM_MANAGER, /* creates the file, then reads and writes; write locks */
	IPM_EDITOR,  /* reads and writes an existing file */
	IPM_READER,  /* only reads: data O_RDONLY, PROT_READ, read locks only */
};

/* Flags of struct ipm_open_opts. */
#define IPM_FORCE 0x1 /* manager: re-create the file even if it matches */

#define IPM_GROUP 0x2 /* files and directories made get group gid */

/* Manager: record the instance's mode (see "Modes" at the top). Neither:
 * the instance keeps the mode it has (a new lock file: compat). */
#define IPM_NATIVE 0x4 /* every writer uses libipmmap: reads take no lock */
#define IPM_COMPAT 0x8 /* Python IPMMAP writers may run: reads lock */

/* Default mode of the files the library makes: only their owner may use
 * them. Directories get the files' mode plus search (x) wherever it gives
 * read: 0700 for 0600, 0750 for 0640, 0755 for 0644. */
#define IPM_DEFAULT_MODE 0600

/* Options of ipm_map_open(); NULL means all defaults. Zero-initialise it;
 * members are only ever added at the end. */
struct ipm_open_opts {
	const char *mmap_dir;  /* NULL: IPM_DEFAULT_MMAP_DIR; made when missing */
	const char *lock_dir;  /* NULL: IPM_DEFAULT_LOCK_DIR; made when missing */
	unsigned flags;        /* IPM_FORCE, IPM_GROUP, IPM_NATIVE, IPM_COMPAT */
	uint64_t fingerprint;  /* non-zero: refuse unless the layout has it */
	mode_t mode;           /* new files (exact, not less the umask); 0: 0600 */
	gid_t gid;             /* with IPM_GROUP: group of new files and dirs */
};

/* A new, closed handle on schema s. NULL if out of memory. */
ipm_map *ipm_map_new(const ipm_schema *s);

/* Closes (if open) and frees the handle. NULL is harmless. */
void ipm_map_free(ipm_map *m);

/*
 * Opens the instance <mmap_dir>/<name>_<tag>.mmap of structure name, with its
 * lock file <lock_dir>/<name>_<tag>.lockfile (tag may be "" or NULL: "Name_").
 * The structure must be mappable; name and tag may not contain '/', "..",
 * control characters, and the tag no '.' (Python IPMMAP cuts file names at
 * a tag's last dot: the message names the file Python would use); together
 * at most NAME_MAX - 10 bytes, as in Python.
 * - IPM_MANAGER creates the file under the write lock (zeros, header_code,
 *   time_stamp = now) and stores the structure's definition beside the lock
 *   file. A matching file is kept (unless IPM_FORCE), after undoing a dead
 *   writer's section; a cleared one (header_code 0) gets its code back; one
 *   of another size is refused (-EINVAL, both sizes) unless IPM_FORCE, which
 *   makes it anew and renames it over the old one.
 * - IPM_EDITOR and IPM_READER open an existing file; an editor undoes a dead
 *   writer's section as it opens, if it can take the write lock at once.
 * - New files and directories get opts->mode (default 0600) and, with
 *   IPM_GROUP, group opts->gid, exactly; existing ones keep theirs.
 * Every role checks size and header_code, waiting at most 1 s under the
 * read lock for a manager that may be making the file (ipm_lock_signal()
 * ends the wait: -EINTR), and refuses a stored definition that differs from
 * its own schema, naming the first field that differs. The lock file is
 * allocated in full at open (-ENOSPC, naming it, on a full disk). The file is
 * mapped once, and again at the same address when it is made anew or
 * replaced (IPM_FOLLOW_MS). ipmmap(3), OPENING, says each rule at length.
 * Returns 0 or a negative errno: -ENOENT (no such file or structure), -EINVAL
 * (bad name or tag, structure not mappable, size or magic mismatch, layout
 * fingerprint mismatch, a different stored definition, lock or data file not
 * a regular file, lock file a hard link of the .mmap), -ELOOP (lock or data
 * file is a symbolic link), -EINTR, -EBUSY (handle open), others. On success
 * ipm_map_errmsg() is "" unless the lock file held bytes not ours (see
 * Invariants) or the stored definition could not be read, compared or
 * written (it then says why; the open stands on the handle's own schema).
 */
int ipm_map_open(ipm_map *m, const char *name, const char *tag, enum ipm_role role,
		 const struct ipm_open_opts *opts);

/* As ipm_map_open(), but when the handle's schema lacks structure name (or
 * is NULL), with the instance's stored definition (ipm_definition_read()),
 * owned by the handle until it is freed or opened so again. Returns what
 * both return: -ENOENT (no file, or none stored: made by Python IPMMAP or an
 * older libipmmap), -EIO (one that cannot be trusted, with the reason), ... */
int ipm_map_open_described(ipm_map *m, const char *name, const char *tag, enum ipm_role role,
			   const struct ipm_open_opts *opts);

/* The instance's mode as its control page says now: 1 native, 0 compat
 * (see "Modes"), -EIO (a lock file cut short that the handle cannot grow
 * back) or -EBADF. One guarded load, no lock, no system call. */
int ipm_map_native(ipm_map *m);

/* The same of the lock file at lock_path, for tools that only look (ipmmap
 * list): 1 native, 0 compat (also a file not stamped yet), or -errno if it
 * cannot be read. One pread(): no lock, no mapping, nothing created. */
int ipm_lockfile_native(const char *lock_path);

/* Unlocks, unmaps and closes; the handle can be opened again. Harmless twice. */
void ipm_map_close(ipm_map *m);

/* Message of the last failure on m; "" if none. Valid until the next call. */
const char *ipm_map_errmsg(const ipm_map *m);

/* Role, structure type, and file paths of an open handle (owned by it). */
enum ipm_role ipm_map_role(const ipm_map *m);
const ipm_type *ipm_map_type(const ipm_map *m);
const char *ipm_map_path(const ipm_map *m);
const char *ipm_map_lock_path(const ipm_map *m);

/* The mapped structure's address and size, for C programs with a matching
 * struct definition (see the generated headers). A reader's mapping is
 * read-only: writing through it faults. Hold the right lock while touching it,
 * and ask for the address after taking it: under a read lock it may point at
 * the saved state of a dead writer's section (see "Crashes"). Accesses
 * through it are not guarded against SIGBUS unless made in ipm_map_guarded().
 * On a handle that may write, the first call makes every later write section
 * of the handle (and the open one) save the whole structure for crash
 * recovery, until the handle is closed: the library cannot see what is
 * written through the address (see "Crashes" for the cheaper ways). */
void *ipm_map_data(ipm_map *m);
size_t ipm_map_size(const ipm_map *m);

/* The same address, to read through: what ipm_map_data() returns, without
 * its cost. Writing through it (casting const away) is not undone after a
 * crash. */
const void *ipm_map_view(const ipm_map *m);

/*
 * Declares that the open write section will change the len bytes at offset
 * of the structure, and gives in *ptr (if not NULL) the address to write
 * them at: their old bytes are saved in the undo record first (see
 * "Crashes"), so a writer killed while changing them is undone. What the
 * section writes outside the ranges it declared is not undone. Declaring a
 * range twice, or one that overlaps another, costs nothing more. The
 * address is good until the section ends; accesses through it are not
 * guarded unless made in ipm_map_guarded(). Needs the write lock.
 *   void *p;                              // struct Big from the generated header
 *   ipm_lock_write(m, -1);
 *   if (ipm_write_range(m, offsetof(struct Big, frame), sizeof(frame), &p) == 0)
 *           memcpy(p, frame, sizeof(frame));
 *   ipm_unlock(m);
 * Returns 0, -EACCES (a reader handle), -EPERM (the handle does not hold the
 * write lock), -EINVAL (the range is not inside the structure), -EIO (the
 * .mmap file was damaged: nothing may be written), -EBADF (not open).
 */
int ipm_write_range(ipm_map *m, size_t offset, size_t len, void **ptr);

/* Resolves path in the handle's structure (see ipm_type_resolve()); the
 * message goes to the handle. */
int ipm_map_resolve(ipm_map *m, const char *path, struct ipm_field *out);

/*
 * Runs fn(m, ctx) and returns what it returns, except that a bus error
 * (SIGBUS) raised in the calling thread while fn runs, as when fn touches
 * the mapping of a file another process cut short, ends fn at once and the
 * call returns -EIO with a message on m ("<path>: file was truncated to N
 * bytes"). If the file is whole again by then, fn runs once more first, so
 * fn must be safe to run twice. fn must only access memory: no locks, no
 * allocation (it may be abandoned half way, as by longjmp()). Every access
 * of the library to a mapping runs this way. When fn succeeds, the file's
 * size is checked before the call returns (see Invariants): -EIO if it
 * changed. It costs about 10 ns.
 *
 * The handler is installed once, when first needed. A handler the program
 * had before (Python's faulthandler, a sanitizer's) is kept and called for
 * every fault outside a guarded call, as the kernel would have called it;
 * without one, such a fault gets the default action. A program that sets
 * its own SIGBUS handler after that replaces the guard (fn then runs
 * unguarded). -EBADF if m is not open.
 */
int ipm_map_guarded(ipm_map *m, int (*fn)(ipm_map *m, void *ctx), void *ctx);

/* ------------------------------------------------------------------------ */
/* Stored definitions: instances that describe themselves                    */
/* ------------------------------------------------------------------------ */

/*
 * A manager stores its structure's definition beside the lock file, in
 * <lock_dir>/<name>_<tag>.schema (see ipm_map_open()): four header lines,
 * then the schema text of the structure and of every structure it uses:
 *
 *   ; ipmmap definition 1
 *   ; structure = DemoMmapStructure
 *   ; size = 688
 *   ; fingerprint = 0x27e68f77d67e6795
 *   [Point2D] ...
 *
 * Written under a temporary name and renamed, with the mode and group of the
 * instance's files; Python IPMMAP never looks at it. Being input from
 * whoever may write the lock directory, it is read with limits: at most
 * IPM_DEFINITION_MAX bytes, the loader's rules, a mappable structure of the
 * size and fingerprint its header says and, from a file, of the .mmap's size.
 */
#define IPM_DEFINITION_MAX (256 * 1024)

/* The definition of structure t, malloc()ed into *text (the caller frees
 * it), checked by reading it back. Returns its length, or -EINVAL (t is not
 * a mappable structure, or holds what the text cannot say), -EFBIG, -ENOMEM,
 * with a message in err (if not NULL). */
int ipm_type_describe(const ipm_type *t, char **text, char err[IPM_ERRLEN]);

/*
 * Reads a definition (len bytes at text, need not be NUL-terminated; named
 * name in messages) into a new schema in *schema (free it with
 * ipm_schema_free()) and its structure in *type. structure (NULL: any) and
 * size (0: any) are what it must describe. Returns 0, or -EFBIG, -EINVAL
 * (not a definition, a bad schema, a structure missing, not mappable, or of
 * another size or fingerprint), -ENOMEM, with "name[:line]: why" in err (if
 * not NULL) and *schema NULL.
 */
int ipm_definition_parse(const char *text, size_t len, const char *name, const char *structure,
			 size_t size, ipm_schema **schema, const ipm_type **type,
			 char err[IPM_ERRLEN]);

/*
 * The same from the stored file of instance <name>_<tag> (directories of
 * opts, as ipm_map_open() takes them; it makes nothing), for structure name
 * and the .mmap file's size. With tag NULL, name is the files' whole
 * "<Struct>_<tag>", as a listing finds it, and the structure is the one the
 * definition names. Returns 0, -ENOENT (no .mmap file, or no stored
 * definition: err says which), -EIO (one that cannot be trusted: err says
 * why), or the system's error.
 */
int ipm_definition_read(const char *name, const char *tag, const struct ipm_open_opts *opts,
			ipm_schema **schema, const ipm_type **type, char err[IPM_ERRLEN]);

/* ------------------------------------------------------------------------ */
/* Locks                                                                     */
/* ------------------------------------------------------------------------ */

/*
 * Takes the shared (read) or exclusive (write) lock on the instance's lock
 * file, waiting in the kernel (F_OFD_SETLKW) up to timeout_ms: 0 tries once,
 * -1 waits forever. A reader handle can take only read locks (-EACCES).
 * Taking the lock the handle already holds is a no-op. Going from write to
 * read is atomic and never waits. Going from read to write is atomic only
 * when it succeeds at once (no other reader); otherwise, unless timeout_ms
 * is 0, the read lock is dropped before waiting, so others may get in
 * between.
 * Returns 0, -EAGAIN (try failed), -ETIMEDOUT, -EINTR (a signal interrupted
 * the wait), or another negative errno.
 *
 * Writer priority: a writer that has to wait announces itself, and readers of
 * this library step aside for it, at most 10 ms a call (ipmmap(3), WRITER
 * PRIORITY); a try-read fails with -EAGAIN while a writer waits.
 *
 * A damaged file (see Invariants) makes both calls fail with -EIO, no lock held.
 *
 * A failure leaves the lock held before the call, except that a read to
 * write conversion that had to wait leaves NO lock (ipmmap(3), WHAT A FAILED
 * LOCK LEAVES); check ipm_lock_held() when in doubt.
 *
 * Sending ipm_lock_signal() to a waiting thread (pthread_kill) ends its wait
 * with -EINTR (ipmmap(3), TIMED WAITS).
 */
int ipm_lock_read(ipm_map *m, int timeout_ms);
int ipm_lock_write(ipm_map *m, int timeout_ms);

/* Releases the lock the handle holds. Harmless if it holds none. After a
 * write section during which the .mmap file was damaged, the lock is
 * released all the same and the call returns -EIO: what the section wrote
 * may be lost. */
int ipm_unlock(ipm_map *m);

/* 0 none, 1 read, 2 write: the lock this handle holds. */
int ipm_lock_held(const ipm_map *m);

/* The signal used to bound and interrupt lock waits: SIGRTMIN + 3. */
int ipm_lock_signal(void);

/* ------------------------------------------------------------------------ */
/* Waiting for a change                                                      */
/* ------------------------------------------------------------------------ */

/*
 * A change is the end of a write section of this library (waiters wake within
 * microseconds) or a new header time_stamp, whoever wrote it (seen within
 * IPM_WAIT_POLL_MS); wake-ups may be spurious. ipmmap(3), WHAT COUNTS AS A
 * CHANGE, says more.
 *
 * Calling sequence (no change is missed: the token is taken under the same
 * read lock as the data, and a writer counts its change before it unlocks):
 *   uint64_t seen;
 *   for (;;) {
 *           ipm_lock_read(m, -1);
 *           ipm_map_changes(m, &seen);
 *           ... read what you need ...
 *           ipm_unlock(m);
 *           rc = ipm_map_wait(m, seen, 1000);   // hold no lock while waiting
 *           if (rc == -EINTR && stop) break;
 *   }
 *
 * A reader that may not write the lock file sees changes within
 * IPM_WAIT_POLL_MS (ipmmap(3), WAITING WITHOUT WRITE ACCESS).
 */

/* Longest time a waiter sleeps before it looks at time_stamp again, in ms.
 * 20 ms: five times sooner than the Python demo's 100 ms polling, at a cost
 * of 50 wake-ups a second of a few microseconds each per waiter. */
#define IPM_WAIT_POLL_MS 20

/* A .mmap file replaced under a handle (renamed into place) is mapped at
 * the same address by the handle's next lock when a C manager made it, else
 * by its first lock or read IPM_FOLLOW_MS after it last looked (one stat()
 * a second at most). ipmmap(3), REPLACED FILES, says the rest. */
#define IPM_FOLLOW_MS 1000

/*
 * Stores in *seq a token of the instance's current state: the change counter
 * and a hash of time_stamp. Two loads, no syscall, no lock needed. Tokens are
 * opaque: compare them only for equality, and only from the same handle.
 * Returns 0, -EIO (the file was cut short), or -EBADF if the handle is not open.
 */
int ipm_map_changes(ipm_map *m, uint64_t *seq);

/*
 * Waits until the instance's token differs from seen (a change since
 * ipm_map_changes() gave seen), up to timeout_ms: 0 checks once, -1 waits
 * forever. Returns 0 at once if it already differs. Returns 0 (changed),
 * -ETIMEDOUT (no change in time, also for timeout 0), -EIO (the file was
 * cut short; message on m), -EINTR (a signal
 * handler ran: ipm_lock_signal() sent with pthread_kill(), or a handler
 * installed without SA_RESTART; a signal that comes just before the wait
 * starts does not end it, so a program that stops on a signal should wait
 * with a finite timeout and check its flag), or -EBADF. Only -EBADF and -EIO
 * leave a message on m, so one thread may wait on a handle while another
 * uses it, as long as neither closes it.
 */
int ipm_map_wait(ipm_map *m, uint64_t seen, int timeout_ms);

/* ------------------------------------------------------------------------ */
/* Field access                                                              */
/* ------------------------------------------------------------------------ */

/*
 * Locking rule for every call below: if the handle holds a lock, the call
 * uses it (writing needs the write lock: -EPERM under a read lock); if it
 * holds none, the call takes the lock it needs for its own duration, waiting
 * as long as it takes, except that a read of a native instance takes no lock
 * at all (see "Modes"). Writing through a reader handle fails with -EACCES.
 * Field descriptors must come from the handle's structure type.
 *
 * Typed access refuses what does not fit instead of truncating (-ERANGE: a
 * 300 into a uint8, a -1 into any unsigned), strings always terminate
 * (-ENOSPC if len is too small), kind mismatches are -EINVAL, and on error
 * nothing is written (ipmmap(3), TYPED ACCESS, has every rule).
 */
int ipm_get_i64(ipm_map *m, const struct ipm_field *f, int64_t *out);
int ipm_get_u64(ipm_map *m, const struct ipm_field *f, uint64_t *out);
int ipm_get_f64(ipm_map *m, const struct ipm_field *f, double *out);
int ipm_get_str(ipm_map *m, const struct ipm_field *f, char *buf, size_t len);
int ipm_get_bytes(ipm_map *m, const struct ipm_field *f, void *buf, size_t len);
int ipm_set_i64(ipm_map *m, const struct ipm_field *f, int64_t v);
int ipm_set_u64(ipm_map *m, const struct ipm_field *f, uint64_t v);
int ipm_set_f64(ipm_map *m, const struct ipm_field *f, double v);
int ipm_set_str(ipm_map *m, const struct ipm_field *f, const char *s);
int ipm_set_bytes(ipm_map *m, const struct ipm_field *f, const void *buf, size_t len);

/* Text access: ipm_text_format() / ipm_text_parse() on the mapped bytes.
 * ipm_get_text returns the text length; ipm_set_text parses all of text
 * (len bytes) before it writes anything. */
int ipm_get_text(ipm_map *m, const struct ipm_field *f, char *buf, size_t len);
int ipm_set_text(ipm_map *m, const struct ipm_field *f, const char *text, size_t len);

/* The same by dotted path, resolved on each call (Python's readData and
 * writeData). text is NUL-terminated. */
int ipm_read_text(ipm_map *m, const char *path, char *buf, size_t len);
int ipm_write_text(ipm_map *m, const char *path, const char *text);

/* ------------------------------------------------------------------------ */
/* Whole structure and header                                                */
/* ------------------------------------------------------------------------ */

/* Copies the whole structure (ipm_map_size() bytes) into buf (len bytes):
 * one state, the lock-free snapshot of a native instance (see "Modes"). */
int ipm_map_copy(ipm_map *m, void *buf, size_t len);

/* As ipm_map_copy() of len bytes at off into buf, but never waits for a
 * lock, for callers that must not block (the mount): -EAGAIN when the
 * bytes need one now (a compat instance, a live writer's long section, a
 * file to map). Under a lock the handle holds it copies under that lock. */
int ipm_map_peek(ipm_map *m, size_t off, void *buf, size_t len);

/* Zero fills the structure, keeping header_code; time_stamp becomes 0. */
int ipm_map_clear(ipm_map *m);

/*
 * Python IPMMAP's clearMappedBuffer() zero fills the whole structure,
 * header_code included. A file whose header_code is 0 is taken as such a
 * cleared instance (any other code but IPM_HEADER_CODE is refused at open):
 * it reads as zeros, or as what Python wrote since, and the next write
 * section of this library (any ipm_lock_write(), or a manager's
 * ipm_map_open()) puts IPM_HEADER_CODE back, leaving time_stamp alone.
 * Returns 1 while the header_code reads 0, 0 when it does not, -EIO (the
 * file was cut short) or -EBADF. No lock, no syscall; under no lock the
 * answer may be stale by the time it returns.
 */
int ipm_map_cleared(ipm_map *m);

/* Sets the header's time_stamp to now (UNIX seconds as a double). */
int ipm_map_touch(ipm_map *m);

/* Reads the header's time_stamp. */
int ipm_map_timestamp(ipm_map *m, double *out);

/* ------------------------------------------------------------------------ */
/* Crash recovery                                                            */
/* ------------------------------------------------------------------------ */

/* What ipm_map_recovery() reports (see "Crashes" at the top). */
struct ipm_recovery {
	uint64_t count;      /* dead write sections undone on this instance, by anyone */
	uint64_t undone;     /* of those, undone by this handle */
	double last_time;    /* UNIX time of the last undo; 0 if none */
	int32_t last_pid;    /* process that died inside that section; 0 if none */
	int pending;         /* 1: this handle holds the read lock and a dead writer's
				section is not undone yet (nobody could) */
	int reading_saved;   /* 1: this handle reads the saved copy meanwhile */
};

/* Fills *out; 0, or -EBADF if the handle is not open. No lock, no syscall. */
int ipm_map_recovery(ipm_map *m, struct ipm_recovery *out);

/*
 * Undoes a dead writer's open section now, if there is one, instead of at
 * the next lock: for programs (and `ipmmap recover`) that want Python
 * readers, who read the file and never the saved copy, to see the last
 * complete update as early as possible. Without an open section it returns
 * 0 at once (one guarded load, no lock, no syscall: cheap enough to call
 * periodically). Otherwise it takes the write lock, waiting up to
 * timeout_ms (0 tries once), which undoes the section, and releases it.
 * Returns 1 (undone), 0 (nothing to undo, or the section was a live
 * writer's that has ended meanwhile), -EAGAIN / -ETIMEDOUT (someone holds a
 * lock: a live writer in its section, or readers), -EACCES (a reader
 * handle), -EBUSY (this handle holds a lock), -EIO, -EBADF.
 */
int ipm_map_recover(ipm_map *m, int timeout_ms);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* IPMMAP_H */
