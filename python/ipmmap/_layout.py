"""_layout.py - turns a ctypes structure class (and the structures it nests)
into the INI schema text libipmmap loads, and checks that the library lays it
out exactly as ctypes does.

    [Point2D]
    x = double
    y = double

    [DemoMmapStructure]
    header = MmapStructureHeader
    data_xy = Point2D
    ...

Unions become "[Name : Union]" sections, _pack_ a "_pack_ = N" line, and a
bit field ("f", c_uint32, 3) the line "f = uint32 : 3". The library places
bit fields as gcc does, which ctypes does only from Python 3.13 on: every
structure is checked against ctypes (sizes, offsets, and each bit field's
unit, lowest bit and width), so one that ctypes places otherwise is refused
rather than shared wrongly. What the library cannot lay out (pointers,
non-native byte order, bit fields in unions and packed structures) is
refused with a LayoutIpMmapError that names the class and the field.
"""
import ctypes
import keyword
import sys

from .exception import ipmmap_error as Err
from .struct import base_struct

# ctypes' type codes of the scalars libipmmap knows; ints get their size.
_INT_CODES = {"b": "int", "h": "int", "i": "int", "l": "int", "q": "int",
              "B": "uint", "H": "uint", "I": "uint", "L": "uint", "Q": "uint"}
_OTHER_CODES = {"f": "float", "d": "double", "?": "bool", "c": "char", "u": "wchar",
                "g": "longdouble"}

# Names the schema refuses for structures (its scalar spellings, C keywords).
_RESERVED = set("""int8 int16 int32 int64 uint8 uint16 uint32 uint64 float double bool
char c_int8 c_int16 c_int32 c_int64 c_uint8 c_uint16 c_uint32 c_uint64 c_byte c_ubyte
c_short c_ushort c_int c_uint c_long c_ulong c_longlong c_ulonglong c_float c_double
c_bool c_char wchar c_wchar longdouble c_longdouble
auto break case const continue default do else enum extern for goto if
inline int long register restrict return short signed sizeof static struct switch
typedef union unsigned void volatile while _Bool _Complex _Imaginary _Alignas _Alignof
_Atomic _Generic _Noreturn _Static_assert _Thread_local true false Union Structure""".split())

_NATIVE = "__ctype_le__" if sys.byteorder == "little" else "__ctype_be__"


def _fail(where, what):
    raise Err.LayoutIpMmapError("{}: {}".format(where, what))


def is_header(cls):
    """Whether cls is MmapStructureHeader (ours, or a ctypes class of the
    same name and fields, as peers that define their own have)."""
    if cls is base_struct.MmapStructureHeader:
        return True
    return (isinstance(cls, type) and issubclass(cls, ctypes.Structure)
            and cls.__name__ == "MmapStructureHeader"
            and list(cls.__dict__.get("_fields_", ())) ==
            [("header_code", ctypes.c_short), ("time_stamp", ctypes.c_double)])


def own_fields(cls):
    """The (name, type) pairs cls itself adds (not its bases')."""
    return list(cls.__dict__.get("_fields_", ()))


def is_union(cls):
    return isinstance(cls, type) and issubclass(cls, ctypes.Union)


def struct_base(cls):
    """The nearest ctypes base of cls that has fields, or None."""
    for b in cls.__mro__[1:]:
        if b is ctypes.Structure or b is ctypes.Union:
            return None
        if isinstance(b, type) and issubclass(b, (ctypes.Structure, ctypes.Union)) and ctypes.sizeof(b):
            return b
    return None


def check_class(cls, where=None):
    """Refuses what is not a plain ctypes.Structure libipmmap can lay out."""
    where = where or getattr(cls, "__name__", repr(cls))
    if not isinstance(cls, type) or not issubclass(cls, (ctypes.Structure, ctypes.Union)):
        _fail(where, "not a ctypes.Structure or ctypes.Union class ({!r})".format(cls))
    if is_union(cls) and struct_base(cls):
        _fail(where, "a union derived from another union is not supported")
    for c in cls.__mro__:
        if c is ctypes.Structure or c is ctypes.Union:
            break
        if "_align_" in c.__dict__:
            _fail(c.__name__, "_align_ is not supported yet (only the native layout)")
    if hasattr(cls, "_swappedbytes_"):
        _fail(where, "non-native byte order (BigEndianStructure/LittleEndianStructure) "
              "is not supported")


class _Builder:
    """Collects the sections of one schema, nested structures first."""

    def __init__(self):
        self.sections = []   # (section name, [(line text, where)])
        self.names = {}      # class -> name in the schema
        self.used = {"MmapStructureHeader"}

    def name_of(self, cls):
        if is_header(cls):
            return "MmapStructureHeader"
        if cls in self.names:
            return self.names[cls]
        check_class(cls)
        name = cls.__name__
        if (not name.isidentifier() or name in _RESERVED or name in self.used
                or not name.isascii()):
            n = 2
            base = "".join(ch if ch.isascii() and (ch.isalnum() or ch == "_") else "_"
                           for ch in name) or "S"
            while "{}_{}".format(base, n) in self.used:
                n += 1
            name = "{}_{}".format(base, n)
        self.used.add(name)
        self.names[cls] = name
        base = struct_base(cls)
        if is_union(cls):
            head = "[{} : Union]".format(name)
        else:
            head = "[{} : {}]".format(name, self.name_of(base)) if base else "[{}]".format(name)
        lines = []
        if "_pack_" in cls.__dict__:
            lines.append(("_pack_ = {}".format(cls.__dict__["_pack_"]),
                          "{}._pack_".format(cls.__name__)))
        for entry in own_fields(cls):
            where = "{}.{}".format(cls.__name__, entry[0] if entry else "?")
            if not isinstance(entry, tuple) or len(entry) not in (2, 3):
                _fail(where, "bad _fields_ entry {!r}".format(entry))
            fname, ftype = entry[:2]
            if (not isinstance(fname, str) or not fname.isidentifier()
                    or not fname.isascii() or fname in _RESERVED or keyword.iskeyword(fname)):
                _fail(where, "field name {!r} cannot be used by the C library "
                      "(an ASCII identifier that is no C keyword or type name)".format(fname))
            text = "{} = {}".format(fname, self.type_of(ftype, where))
            if len(entry) == 3:
                # ctypes checked the width when it made the class; the
                # library checks it again, and what it may be a bit field of
                if not isinstance(entry[2], int) or isinstance(entry[2], bool):
                    _fail(where, "bad bit field width {!r}".format(entry[2]))
                text += " : {}".format(entry[2])
            lines.append((text, where))
        self.sections.append((head, lines))
        return name

    def type_of(self, t, where):
        dims = []
        while isinstance(t, type) and issubclass(t, ctypes.Array):
            if t._length_ <= 0:
                _fail(where, "zero-length arrays are not supported")
            dims.append(t._length_)
            t = t._type_
        if isinstance(t, type) and issubclass(t, (ctypes.Structure, ctypes.Union)):
            base = self.name_of(t)
        elif isinstance(t, type) and issubclass(t, ctypes._SimpleCData):
            code = t._type_
            if getattr(t, _NATIVE, t) is not t:
                _fail(where, "non-native byte order is not supported")
            if code in _INT_CODES:
                base = "{}{}".format(_INT_CODES[code], 8 * ctypes.sizeof(t))
            elif code in _OTHER_CODES:
                base = _OTHER_CODES[code]
            else:
                _fail(where, "ctypes type {} is not supported (numbers, bool, c_char, "
                      "c_wchar, arrays and structures are)".format(t.__name__))
        elif isinstance(t, type) and issubclass(t, ctypes._Pointer):
            _fail(where, "pointers cannot be shared between processes")
        else:
            _fail(where, "{!r} is not a ctypes type".format(t))
        return base + "".join("[{}]".format(d) for d in dims)


def schema_text(cls):
    """The INI schema of cls and the structures it uses, and where each line
    came from: (text, {line number: "Class.field"}, {class: schema name})."""
    check_class(cls)
    b = _Builder()
    b.name_of(cls)
    out, where = ["; generated by ipmmap from ctypes classes"], {}
    for head, lines in b.sections:
        out.append(head)
        for text, w in lines:
            out.append(text)
            where[len(out)] = w
    return "\n".join(out) + "\n", where, b.names


def field_entries(cls):
    """{field name: its _fields_ entry} of cls and its bases."""
    entries = {}
    for c in reversed(cls.__mro__):
        for entry in c.__dict__.get("_fields_", ()):
            entries[entry[0]] = entry
    return entries


def ctypes_place(cls, entry):
    """Where ctypes puts the field of a _fields_ entry of cls: (offset, size,
    bits, lowest bit); bits is 0 for a field that is no bit field. The
    offset and size of a bit field are its storage unit's."""
    d = getattr(cls, entry[0])
    if len(entry) == 2:
        return d.offset, d.size, 0, 0
    if hasattr(d, "bit_size") and hasattr(d, "byte_offset"):
        # Python 3.14 names them
        return d.byte_offset, d.byte_size, d.bit_size, d.bit_offset
    # before: size holds (bits << 16) | lowest bit, the unit is the type's
    return d.offset, ctypes.sizeof(entry[1]), d.size >> 16, d.size & 0xFFFF


def compare(cls, names, schema):
    """Checks the library's layout (schema.describe()) against ctypes for
    cls and every structure it uses (names: {class: name in schema}), bit
    fields to the bit."""
    for c, name in names.items():
        size, align, fields = schema.describe(name)[:3]
        if size != ctypes.sizeof(c) or align != ctypes.alignment(c):
            _fail(c.__name__, "libipmmap lays it out in {} bytes aligned to {}, ctypes in {} "
                  "aligned to {}".format(size, align, ctypes.sizeof(c), ctypes.alignment(c)))
        entries = field_entries(c)
        for f in fields:
            fname, lib = f[0], (f[1], f[2]) + (tuple(f[4:6]) if len(f) > 5 else (0, 0))
            entry = entries.get(fname)
            ct = ctypes_place(c, entry) if entry else None
            if ct != lib:
                _fail("{}.{}".format(c.__name__, fname),
                      "libipmmap puts it at {}, ctypes at {}{}".format(
                          _place_text(lib), _place_text(ct) if ct else "?",
                          " (ctypes before Python 3.13 places some runs of bit fields "
                          "unlike gcc: see the README)" if lib[2] or (ct and ct[2]) else ""))


def _place_text(p):
    off, size, bits, bit = p
    if bits:
        return "offset {} size {}, {} bits from bit {}".format(off, size, bits, bit)
    return "offset {} size {}".format(off, size)


def ctype_at(cls, key):
    """The ctypes type at a readData key ("a.b[3].c"), or None."""
    t = cls
    for part in key.split("."):
        name, _, rest = part.partition("[")
        fields = {}
        if isinstance(t, type) and issubclass(t, (ctypes.Structure, ctypes.Union)):
            fields = field_entries(t)
        if name not in fields:
            return None
        t = fields[name][1]
        while rest:
            if not (isinstance(t, type) and issubclass(t, ctypes.Array)):
                return None
            t = t._type_
            _, _, rest = rest.partition("[")
    return t


_SCALAR_CTYPES = {
    "int8": ctypes.c_int8, "int16": ctypes.c_int16, "int32": ctypes.c_int32,
    "int64": ctypes.c_int64, "uint8": ctypes.c_uint8, "uint16": ctypes.c_uint16,
    "uint32": ctypes.c_uint32, "uint64": ctypes.c_uint64, "float": ctypes.c_float,
    "double": ctypes.c_double, "bool": ctypes.c_bool, "longdouble": ctypes.c_longdouble,
}


def ctypes_from_schema(schema, name):
    """A ctypes class for structure name of a libipmmap Schema loaded from
    an INI file (and classes for the structures it uses), checked to lay out
    as the library does. KeyError if there is no such structure."""
    made = {}

    def struct(n):
        if n == "MmapStructureHeader":
            return base_struct.MmapStructureHeader
        if n in made:
            return made[n]
        size, align, fields, base, _, _, pack, union = schema.describe(n)[:8]
        parent = struct(base) if base else ctypes.Union if union else ctypes.Structure
        skip = len(schema.describe(base)[2]) if base else 0
        body = {"_fields_": [(f[0], ctype(f[3])) + ((f[4],) if len(f) > 4 and f[4] else ())
                             for f in fields[skip:]]}
        if pack and (not base or pack != schema.describe(base)[6]):
            body["_pack_"] = pack
        cls = type(n, (parent,), body)
        made[n] = cls
        return cls

    def ctype(desc):
        if desc[0] == "char":
            return ctypes.c_char * desc[1]
        if desc[0] == "wchar":
            return ctypes.c_wchar * desc[1]
        if desc[0] == "array":
            return ctype(desc[2]) * desc[1]
        if desc[0] == "struct":
            return struct(desc[1])
        return _SCALAR_CTYPES[desc[0]]

    cls = struct(name)
    compare(cls, {c: n for n, c in made.items()}, schema)
    return cls
