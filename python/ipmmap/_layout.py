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

Unions become "[Name : Union]" sections and _pack_ a "_pack_ = N" line. What
the library cannot lay out yet (bit fields, pointers, non-native byte order)
is refused with a LayoutIpMmapError that names the
class and the field.
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
_Atomic _Generic _Noreturn _Static_assert _Thread_local true false Union""".split())

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
            if not isinstance(entry, tuple) or len(entry) != 2:
                if isinstance(entry, tuple) and len(entry) == 3:
                    _fail(where, "bit fields are not supported yet")
                _fail(where, "bad _fields_ entry {!r}".format(entry))
            fname, ftype = entry
            if (not isinstance(fname, str) or not fname.isidentifier()
                    or not fname.isascii() or fname in _RESERVED or keyword.iskeyword(fname)):
                _fail(where, "field name {!r} cannot be used by the C library "
                      "(an ASCII identifier that is no C keyword or type name)".format(fname))
            lines.append(("{} = {}".format(fname, self.type_of(ftype, where)), where))
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


def compare(cls, names, describe):
    """Checks the library's layout (describe(name) -> (size, align, [(field,
    offset, size)])) against ctypes for cls and every structure it uses."""
    for c, name in names.items():
        size, align, fields = describe(name)
        if size != ctypes.sizeof(c) or align != ctypes.alignment(c):
            _fail(c.__name__, "libipmmap lays it out in {} bytes aligned to {}, ctypes in {} "
                  "aligned to {}".format(size, align, ctypes.sizeof(c), ctypes.alignment(c)))
        for fname, off, fsize in fields:
            d = getattr(c, fname, None)
            if d is None or d.offset != off or d.size != fsize:
                _fail("{}.{}".format(c.__name__, fname),
                      "libipmmap puts it at offset {} size {}, ctypes at {} size {}".format(
                          off, fsize, getattr(d, "offset", "?"), getattr(d, "size", "?")))


def ctype_at(cls, key):
    """The ctypes type at a readData key ("a.b[3].c"), or None."""
    t = cls
    for part in key.split("."):
        name, _, rest = part.partition("[")
        fields = {}
        if isinstance(t, type) and issubclass(t, (ctypes.Structure, ctypes.Union)):
            for c in reversed(t.__mro__):
                fields.update(dict(c.__dict__.get("_fields_", ())))
        if name not in fields:
            return None
        t = fields[name]
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
        body = {"_fields_": [(f[0], ctype(f[3])) for f in fields[skip:]]}
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

    def describe(n):
        size, align, fields = schema.describe(n)[:3]
        return size, align, [(f[0], f[1], f[2]) for f in fields]
    compare(cls, {c: n for n, c in made.items()}, describe)
    return cls
