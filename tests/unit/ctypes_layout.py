#!/usr/bin/python3
"""ctypes_layout.py - lays out structures with Python ctypes, for test_layout.

Reads structure descriptions on stdin, in the canonical type names of
ipm_type_name(), structures in any order (forward references allowed):

    struct Derived Base        (or "-" for no base, "Union" for a ctypes.Union)
    pack 2                     (optional: _pack_ = 2)
    field x int32
    field pts Point2D[24]
    field grid int32[4][3]     (C order: 4 arrays of 3)
    field names char[8][16]    (8 strings of 16 bytes; wchar[N]: c_wchar * N)
    end

and prints, for every structure, in input order:

    Derived size <sizeof> align <alignment>
    Derived.x <offset> <size>      (own fields only, as ctypes lists them)

A derived structure is a Python subclass of its base, as Python IPMMAP does.
"""
import ctypes
import re
import sys

SCALARS = {
    "int8": ctypes.c_int8, "int16": ctypes.c_int16, "int32": ctypes.c_int32,
    "int64": ctypes.c_int64, "uint8": ctypes.c_uint8, "uint16": ctypes.c_uint16,
    "uint32": ctypes.c_uint32, "uint64": ctypes.c_uint64, "float": ctypes.c_float,
    "double": ctypes.c_double, "bool": ctypes.c_bool, "longdouble": ctypes.c_longdouble,
}


def main():
    order, specs, done = [], {}, {"MmapStructureHeader": None}

    class MmapStructureHeader(ctypes.Structure):
        _fields_ = [("header_code", ctypes.c_short), ("time_stamp", ctypes.c_double)]

    done["MmapStructureHeader"] = MmapStructureHeader
    cur = None
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "struct":
            cur = {"base": None if words[2] == "-" else words[2], "fields": [], "pack": None}
            specs[words[1]] = cur
            order.append(words[1])
        elif words[0] == "pack":
            cur["pack"] = int(words[1])
        elif words[0] == "field":
            cur["fields"].append((words[1], words[2]))

    def typeof(text):
        m = re.fullmatch(r"(\w+)((?:\[\d+\])*)", text)
        base, dims = m.group(1), [int(d) for d in re.findall(r"\d+", m.group(2))]
        if base == "char":
            t, dims = ctypes.c_char * dims[-1], dims[:-1]
        elif base == "wchar":
            t, dims = ctypes.c_wchar * dims[-1], dims[:-1]
        elif base in SCALARS:
            t = SCALARS[base]
        else:
            t = make(base)
        for n in reversed(dims):
            t = t * n
        return t

    def make(name):
        if name not in done:
            spec = specs[name]
            if spec["base"] == "Union":
                base = ctypes.Union
            else:
                base = make(spec["base"]) if spec["base"] else ctypes.Structure
            fields = [(f, typeof(t)) for f, t in spec["fields"]]
            body = {"_fields_": fields}
            if spec["pack"]:
                body["_pack_"] = spec["pack"]
            done[name] = type(name, (base,), body)
        return done[name]

    for name in order:
        cls = make(name)
        print(f"{name} size {ctypes.sizeof(cls)} align {ctypes.alignment(cls)}")
        for f, _ in specs[name]["fields"]:
            d = getattr(cls, f)
            print(f"{name}.{f} {d.offset} {d.size}")


main()
