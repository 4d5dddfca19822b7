"""ctypes_leaves.py CLASS... - for tests/cli/lib.sh's same_layout: prints
each class of classes.py (in the working directory) as "Name size", then
"Name.path offset" for every leaf, the way `ipmmap check` lists them
(strings of c_char and c_wchar are one leaf, arrays of others one an
element)."""
import ctypes as c
import sys

import classes


def leaves(cls, prefix, base):
    for name, typ in cls._fields_:
        yield from walk(typ, prefix + name, base + getattr(cls, name).offset)


def walk(typ, path, off):
    if issubclass(typ, (c.Structure, c.Union)):
        yield from leaves(typ, path + ".", off)
    elif issubclass(typ, c.Array) and typ._type_ not in (c.c_char, c.c_wchar):
        for i in range(typ._length_):
            yield from walk(typ._type_, f"{path}[{i}]", off + i * c.sizeof(typ._type_))
    else:
        yield path, off


for name in sys.argv[1:]:
    cls = getattr(classes, name)
    print(cls.__name__, c.sizeof(cls))
    for path, off in leaves(cls, "", 0):
        print(f"{cls.__name__}.{path}", off)
