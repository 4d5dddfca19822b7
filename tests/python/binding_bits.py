#!/usr/bin/python3
"""binding_bits.py - bit fields ("f", c_uint32, 3) through the binding,
printing "ok - ..." / "not ok - ..." lines for tests/run.sh.

    binding_bits.py checks WORKDIR IPMMAP_TOOL   (on the binding)
    binding_bits.py write WORKDIR                (on either package: an editor
                                                  writes WRITTEN, as ctypes
                                                  takes it)
    binding_bits.py read WORKDIR                 (either: a reader prints the
                                                  fields, space-separated)

checks: the schema the binding makes, each bit field's unit, lowest bit and
width checked against ctypes through bytes (written with ctypes from_buffer
on the file and read by the binding, and the reverse), neighbours that never
move, values too wide refused (and what a ctypes view does instead), the C
tool on the same instance, and the layouts refused: union and _pack_ with
bit fields, a bool bit field, and a run that ctypes places unlike gcc.
"""
import ctypes
import mmap
import os
import random
import subprocess
import sys

from ipmmap import DataStructMmapEditor, DataStructMmapManager, DataStructMmapReader
from ipmmap.struct import base_struct as bs

FAILS = 0


def ok(cond, what, detail=""):
    global FAILS
    if not cond:
        FAILS += 1
    print("{}ok - {}{}".format("" if cond else "not ", what,
                               ": " + detail if detail and not cond else ""))
    sys.stdout.flush()


class Flags(bs.BaseMmapStructure):
    """Runs that gcc and ctypes (3.11 too) place alike: each type's run
    starts on a unit of its own."""
    _fields_ = (("header", bs.MmapStructureHeader),
                ("mode", ctypes.c_uint32, 3), ("level", ctypes.c_int32, 5),
                ("count", ctypes.c_uint32, 24),
                ("plain", ctypes.c_int32),
                ("big", ctypes.c_uint64, 40), ("sbig", ctypes.c_int64, 24),
                ("on", ctypes.c_uint8, 1), ("nib", ctypes.c_uint8, 4), ("sb", ctypes.c_int8, 3),
                ("h1", ctypes.c_uint16, 15), ("hs", ctypes.c_int16, 1),
                ("whole", ctypes.c_uint32, 32), ("after", ctypes.c_uint16))


BITS = [e for e in Flags._fields_ if len(e) == 3]
NAMES = [e[0] for e in Flags._fields_[1:]]
WRITTEN = {"mode": 9, "level": -3, "count": 70000, "nib": 0x1F}  # mode, nib: too wide


def bounds(entry):
    t, w = entry[1], entry[2] if len(entry) == 3 else 8 * ctypes.sizeof(entry[1])
    if t(-1).value < 0:
        return -(1 << (w - 1)), (1 << (w - 1)) - 1
    return 0, (1 << w) - 1


def raw(path):
    with open(path, "rb") as f:
        return f.read()


def through_ctypes(path, values):
    """Writes values as Python IPMMAP does: ctypes from_buffer on the file."""
    with open(path, "r+b") as f:
        mm = mmap.mmap(f.fileno(), 0)
        s = Flags.from_buffer(mm)
        for k, v in values.items():
            setattr(s, k, v)
        del s
        mm.close()


def group_checks(tool):
    from ipmmap import schema_text
    from ipmmap.exception import ipmmap_error as Err

    text = schema_text(Flags)
    ok("mode = uint32 : 3" in text and "sbig = int64 : 24" in text and "plain = int32" in text,
       "the schema gets 'name = type : bits' lines")
    DataStructMmapManager("Flags", create=True, force=True)
    path = DataStructMmapReader("Flags").mmapFilePath
    e, r = DataStructMmapEditor("Flags"), DataStructMmapReader("Flags")
    fields = dict((x[0], x) for x in Flags._fields_)

    # each field at its extremes, written by the binding: the file's bytes
    # are those ctypes makes of the same structure
    same = True
    for name in NAMES:
        for v in bounds(fields[name]):
            before = raw(path)
            with e:
                e.writeData(name, v)
            want = Flags.from_buffer_copy(before)
            setattr(want, name, v)
            got = raw(path)
            if got[16:] != bytes(want)[16:]:
                same = False
                ok(False, "binding writes {} = {} where ctypes does".format(name, v),
                   "{} != {}".format(got[16:].hex(), bytes(want)[16:].hex()))
    ok(same, "every field at its lowest and highest: the binding's bytes are ctypes' bytes")

    rng = random.Random(12)
    for rnd in range(200):
        vals = {n: rng.randint(*bounds(fields[n])) for n in NAMES}
        through_ctypes(path, vals)
        with r:
            got = {n: r.readData(n) for n in NAMES}
        if got != vals:
            ok(False, "ctypes writes, the binding reads (round {})".format(rnd),
               "{} != {}".format(got, vals))
            break
        vals = {n: rng.randint(*bounds(fields[n])) for n in NAMES}
        with e:
            for n in NAMES:
                e.writeData(n, vals[n])
        c = Flags.from_buffer_copy(raw(path))
        got = {n: getattr(c, n) for n in NAMES}
        if got != vals:
            ok(False, "the binding writes, ctypes reads (round {})".format(rnd),
               "{} != {}".format(got, vals))
            break
    else:
        ok(True, "200 rounds of random values: ctypes from_buffer writes, the binding reads, "
           "and the reverse")

    # one field written: its neighbours keep their values
    moved = []
    for rnd in range(300):
        with e:
            before = {n: e.readData(n) for n in NAMES}
            n = rng.choice([b[0] for b in BITS])
            v = rng.randint(*bounds(fields[n]))
            e.writeData(n, v)
            after = {k: e.readData(k) for k in NAMES}
        before[n] = v
        if after != before:
            moved.append((n, v))
    ok(not moved, "300 single bit-field writes: every neighbour stays", repr(moved[:3]))

    # too wide: refused as every integer field is, nothing written
    with e:
        keep = {n: e.readData(n) for n in NAMES}
        for n, bad in (("mode", 8), ("level", 16), ("level", -17), ("nib", 16), ("on", 2),
                       ("sb", 4), ("hs", 1), ("count", 1 << 24), ("big", 1 << 40),
                       ("sbig", -(1 << 23) - 1), ("mode", -1), ("whole", 1 << 32)):
            try:
                e.writeData(n, bad)
                ok(False, "{} = {} is refused".format(n, bad), "accepted")
            except Err.ValueIpMmapError as x:
                ok(isinstance(x, ValueError) and str(x), "{} = {} is refused ({})".format(
                    n, bad, x))
        ok({n: e.readData(n) for n in NAMES} == keep, "...and nothing was written")
        e.writeData("on", True)
        ok(e.readData("on") == 1, "True into a 1-bit field reads 1")
        # a ctypes view is ctypes: it keeps the low bits, as Python IPMMAP did
        view = e.referMappedBuffer()
        view.mode = 9
        view.level = 17
        ok(e.readData("mode") == 1 and e.readData("level") == -15,
           "referMappedBuffer(): assignment keeps the low bits, as ctypes (Python IPMMAP)")
        del view

    # the C tool, on the definition the binding stored beside the lock file
    def tool_run(*args):
        p = subprocess.run([tool] + list(args), capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout.strip(), p.stderr.strip()
    rc, out, err = tool_run("set", "Flags", "mode", "5", "level", "-9", "nib", "11")
    with r:
        ok(rc == 0 and (r.readData("mode"), r.readData("level"), r.readData("nib")) == (5, -9, 11),
           "ipmmap set writes the bits the binding reads", out + err)
    with e:
        e.writeData("count", 123456)
        e.writeData("sbig", -77)
    rc, out, err = tool_run("get", "Flags", "count", "sbig", "mode")
    ok(rc == 0 and out.split() == ["123456", "-77", "5"], "ipmmap get reads the binding's bits",
       out + err)
    rc, out, err = tool_run("set", "Flags", "mode", "8")
    ok(rc != 0 and "mode" in err, "ipmmap set refuses 8 into the 3-bit field too", err)

    # an INI schema with bit fields in place of the ctypes classes
    with open("flags.ini", "w") as f:
        f.write(schema_text(Flags))
    with DataStructMmapReader("Flags", schema="flags.ini") as s:
        whole = s.readMappedBuffer()
        ok(s.readData("count") == 123456 and s.readData("level") == -9 and whole.sbig == -77
           and whole.nib == 11 and type(whole).__name__ == "Flags" and whole is not None,
           "schema= an INI with bit fields: readData and the generated ctypes class agree")

    # layouts the binding refuses, naming the class and the field
    class U(ctypes.Union):
        _fields_ = (("a", ctypes.c_uint32, 3), ("b", ctypes.c_uint32))

    class WithUnion(bs.BaseMmapStructure):
        _fields_ = (("header", bs.MmapStructureHeader), ("u", U))

    class Packed(bs.BaseMmapStructure):
        _pack_ = 1
        _fields_ = (("header", bs.MmapStructureHeader), ("c", ctypes.c_uint8),
                    ("a", ctypes.c_uint32, 3))

    class BoolBits(bs.BaseMmapStructure):
        _fields_ = (("header", bs.MmapStructureHeader), ("f", ctypes.c_bool, 1))

    for cls, where in ((WithUnion, "U.a: "), (Packed, "Packed.a: "), (BoolBits, "BoolBits.f: ")):
        try:
            DataStructMmapManager(cls, create=True)
            ok(False, "{} is refused".format(cls.__name__), "accepted")
        except Err.LayoutIpMmapError as x:
            ok(str(x).startswith(where), "{} is refused: {}".format(cls.__name__, x))

    class Mixed(bs.BaseMmapStructure):
        # gcc: a at bit 8 of the unit at 16 (beside c); ctypes before 3.13:
        # a new unit at 20
        _fields_ = (("header", bs.MmapStructureHeader), ("c", ctypes.c_uint8),
                    ("a", ctypes.c_uint32, 3))
    try:
        DataStructMmapManager(Mixed, create=True)
        with DataStructMmapEditor(Mixed) as m:
            m.writeData("a", 5)
        ok(Mixed.from_buffer_copy(raw(DataStructMmapReader(Mixed).mmapFilePath)).a == 5,
           "a run ctypes places as gcc does is shared (Python {}.{})".format(*sys.version_info))
    except Err.LayoutIpMmapError as x:
        ok(str(x).startswith("Mixed.a: ") and "ctypes" in str(x),
           "a run ctypes places unlike gcc is refused, not shared wrongly: {}".format(x))


def main():
    what, work = sys.argv[1], sys.argv[2]
    os.chdir(work)
    if what == "checks":
        group_checks(sys.argv[3])
    elif what == "write":
        with DataStructMmapEditor("Flags") as e:
            for k, v in WRITTEN.items():
                try:
                    e.writeData(k, v)
                    print("{} stored".format(k))
                except ValueError as x:
                    print("{} refused: {}".format(k, x))
    elif what == "read":
        with DataStructMmapReader("Flags") as r:
            print(" ".join(str(r.readData(n)) for n in NAMES))
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
