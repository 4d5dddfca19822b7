#!/usr/bin/python3
"""binding_checks.py - checks of the Python binding run in one process each,
printing "ok - ..." / "not ok - ..." lines for tests/run.sh.

    binding_checks.py GROUP WORKDIR [IPMMAP_TOOL SCHEMA]

GROUP is one of:
    bad        bad input gets a clear exception (an IpMmapError that is also
               the built-in exception Python uses for the mistake), never a
               crash, and nothing is written; then a fuzz of random calls
    behaviour  the per-process cache, locks between accessors, threads,
               fork, views, unlocked access, a file made anew
    new        wait_change(), recovery(), fingerprints, INI schemas
It runs in WORKDIR (the default .mmap/.fasteners are made there).
"""
import ctypes
import os
import random
import signal
import subprocess
import sys
import threading
import time
import traceback

import ipmmap
from ipmmap import DataStructMmapEditor, DataStructMmapManager, DataStructMmapReader
from ipmmap.exception import ipmmap_error as Err
from ipmmap.struct import base_struct as bs

FAILS = 0


def ok(cond, what, detail=""):
    global FAILS
    if cond:
        print("ok - " + what)
    else:
        FAILS += 1
        print("not ok - {}{}".format(what, ": " + detail if detail else ""))
    sys.stdout.flush()


def raises(what, exc, fn, *a, **kw):
    """fn(*a, **kw) raises exc (and the message is not empty)."""
    try:
        fn(*a, **kw)
    except exc as e:
        ok(bool(str(e)), "{}: {} ({})".format(what, type(e).__name__, e), "empty message")
        return e
    except BaseException as e:  # anything else is a failure of the check
        ok(False, what, "raised {}: {}".format(type(e).__name__, e))
        return None
    ok(False, what, "no exception")
    return None


class Point2D(ctypes.Structure):
    _fields_ = (("x", ctypes.c_double), ("y", ctypes.c_double))


class MultiPointsData(ctypes.Structure):
    _fields_ = (("multi_data_int", ctypes.c_int32), ("multi_points", Point2D * 24))


class DemoMmapStructure(bs.BaseMmapStructure):
    _fields_ = (("header", bs.MmapStructureHeader), ("data_int", ctypes.c_int32),
                ("data_string", ctypes.c_char * 256), ("data_xy", Point2D),
                ("multi_pts", MultiPointsData))


class AllTypes(bs.BaseMmapStructure):
    _fields_ = (("header", bs.MmapStructureHeader),
                ("i8", ctypes.c_int8), ("u8", ctypes.c_uint8), ("i16", ctypes.c_int16),
                ("u16", ctypes.c_uint16), ("i32", ctypes.c_int32), ("u32", ctypes.c_uint32),
                ("i64", ctypes.c_int64), ("u64", ctypes.c_uint64), ("lng", ctypes.c_long),
                ("f32", ctypes.c_float), ("f64", ctypes.c_double), ("flag", ctypes.c_bool),
                ("ch", ctypes.c_char), ("s8", ctypes.c_char * 8), ("grid", ctypes.c_int16 * 3 * 2),
                ("names", ctypes.c_char * 4 * 3), ("pts", Point2D * 2))


class Derived(AllTypes):
    _fields_ = (("extra", ctypes.c_uint8),)


class NoHeader(bs.BaseMmapStructure):
    _fields_ = (("a", ctypes.c_int32),)


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------

RANGES = {"i8": (-2**7, 2**7 - 1), "u8": (0, 2**8 - 1), "i16": (-2**15, 2**15 - 1),
          "u16": (0, 2**16 - 1), "i32": (-2**31, 2**31 - 1), "u32": (0, 2**32 - 1),
          "i64": (-2**63, 2**63 - 1), "u64": (0, 2**64 - 1), "lng": (-2**63, 2**63 - 1)}


def group_bad():
    DataStructMmapManager("AllTypes", create=True, force=True)
    DataStructMmapManager("DemoMmapStructure", create=True, force=True)
    e = DataStructMmapEditor("AllTypes")
    with e:
        for k, (lo, hi) in RANGES.items():
            e.writeData(k, lo)
            ok(e.readData(k) == lo, "{} takes its lowest value {}".format(k, lo))
            e.writeData(k, hi)
            ok(e.readData(k) == hi, "{} takes its highest value {}".format(k, hi))
            for bad in (lo - 1, hi + 1, 2**200, -2**200):
                err = raises("{} = {} is refused".format(k, bad), Err.ValueIpMmapError,
                             e.writeData, k, bad)
                ok(isinstance(err, ValueError), "...and it is a ValueError")
            ok(e.readData(k) == hi, "{} unchanged by the refused writes".format(k))
        e.writeData("f32", 3.4e38)
        raises("f32 = 1e39 is refused (ctypes would store inf)", Err.ValueIpMmapError,
               e.writeData, "f32", 1e39)
        ok(abs(e.readData("f32") - 3.4e38) < 1e32, "f32 unchanged")
        e.writeData("f32", float("inf"))
        ok(e.readData("f32") == float("inf"), "f32 takes inf")
        raises("f64 = 10**400 is refused", Err.ValueIpMmapError, e.writeData, "f64", 10**400)
        e.writeData("f64", 7)
        ok(e.readData("f64") == 7.0 and isinstance(e.readData("f64"), float),
           "an int into a double reads back as a float")
        e.writeData("flag", True)
        ok(e.readData("flag") is True, "bool True")
        e.writeData("flag", 0)
        ok(e.readData("flag") is False, "bool 0")
        raises("bool = 2 is refused", Err.ValueIpMmapError, e.writeData, "flag", 2)
        raises("bool = 'yes' is refused", Err.TypeIpMmapError, e.writeData, "flag", "yes")
        for k, v in (("i32", 1.5), ("i32", "1"), ("i32", None), ("u8", b"a"), ("f64", "1.0"),
                     ("f64", None), ("f64", b"1"), ("s8", "text"), ("s8", 5), ("ch", "a"),
                     ("pts", 1), ("grid", [1, 2, 3]), ("pts", Point2D()),
                     ("names", b"abc")):
            err = raises("{} = {!r} is a wrong type".format(k, v), Err.TypeIpMmapError,
                         e.writeData, k, v)
            ok(isinstance(err, TypeError), "...and it is a TypeError")
        e.writeData("s8", b"12345678")
        ok(e.readData("s8") == b"12345678", "char[8] takes 8 bytes (no NUL, as ctypes)")
        raises("char[8] refuses 9 bytes", Err.ValueIpMmapError, e.writeData, "s8", b"123456789")
        e.writeData("s8", bytearray(b"ab"))
        ok(e.readData("s8") == b"ab", "char[8] takes a bytearray; the rest is zeroed")
        e.writeData("ch", b"\xff")
        ok(e.readData("ch") == b"\xff", "c_char takes one byte and reads it back")
        e.writeData("ch", 65)
        ok(e.readData("ch") == b"A", "c_char takes an int as ctypes does")
        e.writeData("ch", 0)
        ok(e.readData("ch") == b"\x00", "a zero c_char reads as b'\\x00' as ctypes does")
        raises("c_char refuses two bytes", Err.ValueIpMmapError, e.writeData, "ch", b"ab")
        raises("c_char refuses 256", Err.ValueIpMmapError, e.writeData, "ch", 256)
        g = (ctypes.c_int16 * 3 * 2)()
        g[1][2] = -7
        e.writeData("grid", g)
        ok(e.readData("grid[1][2]") == -7 and e.readData("grid")[1][2] == -7,
           "an array field takes an instance of its ctypes type")
        e.writeData("names[2]", b"abcd")
        ok(e.readData("names[2]") == b"abcd" and e.readData("names")[2].value == b"abcd",
           "an array of strings by index")
        e.writeData("pts[1]", Point2D(1.5, 2.5))
        ok(e.readData("pts[1].y") == 2.5, "a structure element takes a structure")
        for key in ("nope", "pts.z", "pts[2].x", "pts[-1]", "", ".", "i32.x", "pts[1", "i32 ",
                    "a\x00b", "header..code", "pts[99999999999999999999999]"):
            err = raises("readData({!r}) is refused".format(key), Err.KeyIpMmapError,
                         e.readData, key)
            ok(isinstance(err, AttributeError), "...and it is an AttributeError")
        raises("writeData to an unknown key", Err.KeyIpMmapError, e.writeData, "nope", 1)
        for key in (5, None, b"i32", ("i32",)):
            raises("readData({!r}) is a wrong type".format(key), Err.TypeIpMmapError,
                   e.readData, key)
        raises("writeData with one argument", TypeError, e.writeData, "i32")
    raises("readData outside a block", Err.ClosedIpMmapError, e.readData, "i32")
    raises("writeData outside a block", Err.ClosedIpMmapError, e.writeData, "i32", 1)
    raises("referMappedBuffer outside a block", Err.ClosedIpMmapError, e.referMappedBuffer)
    raises("readMappedBuffer outside a block", Err.ClosedIpMmapError, e.readMappedBuffer)
    raises("clearMappedBuffer outside a block", Err.ClosedIpMmapError, e.clearMappedBuffer)
    raises("updateLastUpdate outside a block", Err.ClosedIpMmapError, e.updateLastUpdate)
    ok(e.getLastUpdate() == -1, "getLastUpdate outside a block is -1, as in the original")
    e.close()
    raises("entering a closed accessor", Err.ClosedIpMmapError, e.__enter__)
    raises("readData on a closed accessor", Err.ClosedIpMmapError, e.readData, "i32")
    e.close()
    ok(True, "close() twice is harmless")
    r = DataStructMmapReader("AllTypes")
    ok(not hasattr(r, "writeData") and not hasattr(r, "referMappedBuffer"),
       "a reader has no writeData/referMappedBuffer, as in the original")

    # structures
    class U(ctypes.Union):
        _fields_ = (("a", ctypes.c_int), ("b", ctypes.c_float))

    class WithUnion(bs.BaseMmapStructure):
        _fields_ = (("header", bs.MmapStructureHeader), ("u", U))

    class WithBits(bs.BaseMmapStructure):
        # integer bit fields are mapped (17_binding_bits.sh); a bool one is not
        _fields_ = (("header", bs.MmapStructureHeader), ("a", ctypes.c_bool, 1))

    class Packed(bs.BaseMmapStructure):
        _pack_ = 1
        _fields_ = (("header", bs.MmapStructureHeader), ("a", ctypes.c_int))

    class WithPointer(bs.BaseMmapStructure):
        _fields_ = (("header", bs.MmapStructureHeader), ("p", ctypes.POINTER(ctypes.c_int)))

    class WithWchar(bs.BaseMmapStructure):
        _fields_ = (("header", bs.MmapStructureHeader), ("w", ctypes.c_wchar))

    class BadName(bs.BaseMmapStructure):
        _fields_ = (("header", bs.MmapStructureHeader), ("int", ctypes.c_int))

    class Big(ctypes.BigEndianStructure):
        _fields_ = (("header", bs.MmapStructureHeader), ("a", ctypes.c_int))

    for name, cls in (("WithUnion", WithUnion), ("Packed", Packed)):
        with DataStructMmapManager(name, create=True, force=True) as e:
            e.writeData("u.a" if cls is WithUnion else "a", 0x3f800000)
            got = e.readData("u.b") if cls is WithUnion else e.readData("a")
            ok(got == (1.0 if cls is WithUnion else 0x3f800000),
               "{} (a {}) is mapped and its members overlap as in ctypes".format(
                   name, "union" if cls is WithUnion else "_pack_ = 1"), repr(got))
    with DataStructMmapManager("WithWchar", create=True, force=True) as e:
        e.writeData("w", "\u00e9")
        ok(e.readData("w") == "\u00e9", "WithWchar (a c_wchar) is mapped and reads a str",
           repr(e.readData("w")))
    for name, cls, word in (("WithBits", WithBits, "WithBits.a"),
                            ("WithPointer", WithPointer, "WithPointer.p"),
                            ("BadName", BadName, "BadName.int")):
        err = raises("{} is refused".format(name), Err.LayoutIpMmapError,
                     DataStructMmapManager, name, create=True)
        ok(err is not None and word in str(err), "...naming {}".format(word), str(err))
    raises("a BigEndianStructure class is refused", Err.LayoutIpMmapError,
           DataStructMmapReader, Big)
    raises("a class that is no ctypes.Structure is refused", Err.LayoutIpMmapError,
           DataStructMmapReader, dict)
    raises("a ctypes.Union class without the header is refused",
           Err.CommonHeaderNotFoundIpMmapError, DataStructMmapReader, U)
    raises("a structure without the common header (manager)",
           Err.CommonHeaderNotFoundIpMmapError, DataStructMmapManager, "NoHeader", create=True)
    raises("a structure without the common header (reader)",
           Err.CommonHeaderNotFoundIpMmapError, DataStructMmapReader, "NoHeader")
    raises("an unknown structure name", Err.StructNotFoundIpMmapError,
           DataStructMmapReader, "NoSuchStructure")
    raises("a structure name of the wrong type", Err.TypeIpMmapError, DataStructMmapReader, 5)
    raises("a tag of the wrong type", Err.TypeIpMmapError, DataStructMmapReader,
           "DemoMmapStructure", 5)
    raises("a directory of the wrong type", Err.TypeIpMmapError, DataStructMmapReader,
           "DemoMmapStructure", "", 5)
    raises("a bad fingerprint argument", Err.ValueIpMmapError, DataStructMmapReader,
           "DemoMmapStructure", fingerprint=-1)
    bad = DataStructMmapReader("DemoMmapStructure", "a/b")
    err = raises("a tag with '/' is refused when opening", Err.MapIpMmapError, bad.__enter__)
    ok(isinstance(err, OSError), "...and it is an OSError")
    err = raises("an editor before any manager: no such file",
                 Err.MmapFileNotFoundIpMmapError, DataStructMmapEditor("DemoMmapStructure",
                                                                       "missing").__enter__)
    ok(isinstance(err, FileNotFoundError), "...and it is a FileNotFoundError")
    with open(".mmap/DemoMmapStructure_short.mmap", "wb") as f:
        f.write(b"\0" * 100)
    raises("a file of the wrong size is refused", Err.MapIpMmapError,
           DataStructMmapEditor("DemoMmapStructure", "short").__enter__)
    fuzz()


def fuzz(calls=4000):
    """Random calls with random arguments: every failure is an IpMmapError
    (or the TypeError of a bad call signature), nothing crashes."""
    rnd = random.Random(1234)
    keys = ["data_int", "data_string", "data_xy", "data_xy.x", "multi_pts",
            "multi_pts.multi_points[3].y", "multi_pts.multi_points[24].y", "header.time_stamp",
            "header", "nope", "", "data_xy.", "multi_pts.multi_points[x]", "data_int[0]",
            "multi_pts.multi_points[3]", 7, None, b"data_int"]
    values = [0, -1, 2**31, -2**31 - 1, 2**64, 1.5, float("nan"), float("inf"), -1e308, "",
              "text", b"", b"x" * 256, b"x" * 257, bytearray(b"y"), None, True, [], {},
              Point2D(1, 2), (Point2D * 24)(), MultiPointsData(), object()]
    accs = []
    bad = 0
    for i in range(calls):
        try:
            op = rnd.randrange(12)
            if op == 0 or not accs:
                cls = rnd.choice([DataStructMmapReader, DataStructMmapEditor])
                accs.append(cls(rnd.choice(["DemoMmapStructure", "DemoMmapStructure",
                                            "Nope", 3])))
                if len(accs) > 6:
                    accs.pop(0).close()
                continue
            a = rnd.choice(accs)
            if op == 1:
                a._acquireMmapResource(lock=rnd.random() < 0.8, blocking=False)
            elif op == 2:
                a._releaseMmapResource(lock=rnd.random() < 0.8)
            elif op in (3, 4):
                a.readData(rnd.choice(keys))
            elif op in (5, 6) and hasattr(a, "writeData"):
                a.writeData(rnd.choice(keys), rnd.choice(values))
            elif op == 7:
                a.readMappedBuffer()
            elif op == 8 and hasattr(a, "clearMappedBuffer"):
                rnd.choice([a.clearMappedBuffer, a.updateLastUpdate, a.referMappedBuffer])()
            elif op == 9:
                a.getLastUpdate()
                a.recovery()
            elif op == 10:
                a.wait_change(rnd.choice([0, 0.001, -1, "x"]))
            else:
                rnd.choice([a.close, lambda: a.__exit__(None, None, None)])()
        except Err.IpMmapError:
            pass
        except Exception as e:
            bad += 1
            if bad < 5:
                print("# fuzz call {}: {}: {}".format(i, type(e).__name__, e))
    for a in accs:
        a.close()
    ok(bad == 0, "fuzz: {} random calls, every failure an IpMmapError, no crash".format(calls),
       "{} other exceptions".format(bad))
    with DataStructMmapReader("DemoMmapStructure") as r:
        ok(r.readData("header.header_code") == 0x1128, "the file is still whole after the fuzz")


# ---------------------------------------------------------------------------
# behaviour
# ---------------------------------------------------------------------------

def nfds():
    return len(os.listdir("/proc/self/fd"))


def group_behaviour(tool, schema):
    DataStructMmapManager("DemoMmapStructure", create=True, force=True)
    with DataStructMmapEditor("DemoMmapStructure") as e:
        e.writeData("data_int", 5)
    before = 0
    for i in range(2000):
        # (the previous r and e live until the new ones are made: two
        # handles of each kind take turns)
        with DataStructMmapReader("DemoMmapStructure") as r:
            r.readData("data_int")
        with DataStructMmapEditor("DemoMmapStructure") as e:
            e.writeData("data_int", i)
        if i == 10:
            before = nfds()
    ok(nfds() == before, "accessors made per block reuse cached handles: no new files "
       "open after 2000 ({} -> {})".format(before, nfds()))
    ok(e.mmapFilePath.name == "DemoMmapStructure_.mmap" and e.mmapFilePath.is_absolute(),
       "mmapFilePath is the absolute path of the file")
    ok(e.structType is DemoMmapStructure, "structType is the ctypes class")

    a = DataStructMmapEditor("DemoMmapStructure")
    b = DataStructMmapEditor("DemoMmapStructure")
    with a:
        ok(b._acquireMmapResource(blocking=False) is False,
           "two editors in one process exclude each other (as two processes)")
        raises("waiting in the same thread for a lock it holds raises, never hangs",
               Err.DeadlockIpMmapError, DataStructMmapReader("DemoMmapStructure").__enter__)
        got = []
        t = threading.Thread(target=lambda: got.append(b.__enter__() and b.readData("data_int")))
        t.start()
        t.join(0.05)
        ok(t.is_alive(), "another thread's blocking editor waits (with the GIL released)")
        a.writeData("data_int", 4242)
    t.join(30)
    ok(got == [4242], "it gets the lock after the release and sees the write", repr(got))
    b.__exit__(None, None, None)

    # fork: the child cannot use or drop the parent's lock
    with a:
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                c = DataStructMmapReader("DemoMmapStructure")
                if c._acquireMmapResource(blocking=False) is not False:
                    code |= 1
                try:
                    a.readData("data_int")
                    code |= 2
                except Err.ClosedIpMmapError:
                    pass
                a.__exit__(None, None, None)  # must not release the parent's lock
                del c
            except BaseException:
                traceback.print_exc()
                code |= 4
            os._exit(code)
        _, st = os.waitpid(pid, 0)
        ok(os.WIFEXITED(st) and os.WEXITSTATUS(st) & 1 == 0,
           "a forked child's new reader is refused under the parent's write lock")
        ok(os.WIFEXITED(st) and os.WEXITSTATUS(st) & 2 == 0,
           "the child cannot use the block it inherited")
        ok(os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0, "the child exits cleanly", str(st))
        p = subprocess.run([tool, "-s", schema, "-w", "0", "get", "DemoMmapStructure",
                            "data_int"], capture_output=True, text=True)
        ok(p.returncode == 1, "after the child exits the parent still holds its lock",
           p.stdout + p.stderr)
        a.writeData("data_int", 99)
    p = subprocess.run([tool, "-s", schema, "get", "DemoMmapStructure", "data_int"],
                       capture_output=True, text=True)
    ok(p.stdout.strip() == "99", "C reads the value written after the fork", p.stderr)

    # views and unlocked access, as the original allows them
    with a:
        v = a.referMappedBuffer()
        v.data_xy.x = 1.25
        v.multi_pts.multi_points[2].y = -3.0
    with DataStructMmapReader("DemoMmapStructure") as r:
        ok(r.readData("data_xy.x") == 1.25 and r.readData("multi_pts.multi_points[2].y") == -3.0,
           "referMappedBuffer edits the mapping in place")
        whole = r.readMappedBuffer()
        ok(isinstance(whole, DemoMmapStructure) and whole.data_xy.x == 1.25,
           "readMappedBuffer is a copy in the ctypes class")
        xy = r.readData("data_xy")
        ok(isinstance(xy, Point2D) and xy.x == 1.25, "a nested structure reads as a ctypes copy")
    a.close()
    del a
    ok(v.data_xy.x == 1.25, "a view kept after its block and its accessor still reads "
       "(the mapping lives as long as the view)")
    e = DataStructMmapEditor("DemoMmapStructure")
    with e:
        u = DataStructMmapReader("DemoMmapStructure")
        ok(u._acquireMmapResource(lock=False) is True,
           "_acquireMmapResource(lock=False) maps without the lock, as the original")
        e.writeData("data_int", 123)
        ok(u.readData("data_int") == 123, "and reads without waiting for the writer")
        u._releaseMmapResource(lock=False)
    with e:
        e.writeData("data_string", b"keep")
        e.clearMappedBuffer()
        ok(e.readData("header.header_code") == 0x1128 and e.readData("data_string") == b""
           and e.readData("header.time_stamp") == 0.0,
           "clearMappedBuffer zeroes all but header_code")
        e.writeData("data_int", 7)
    p = subprocess.run([tool, "-s", schema, "get", "DemoMmapStructure", "data_int"],
                       capture_output=True, text=True)
    ok(p.stdout.strip() == "7", "C opens the cleared file", p.stderr)

    # a file made anew (renamed into place) is found again
    r = DataStructMmapReader("DemoMmapStructure")
    with r:
        old = r.readData("data_int")
    with open(".mmap/DemoMmapStructure_.mmap", "rb") as f:
        data = bytearray(f.read())
    data[16:20] = (31337).to_bytes(4, "little")
    with open(".mmap/new.tmp", "wb") as f:
        f.write(data)
    os.rename(".mmap/new.tmp", ".mmap/DemoMmapStructure_.mmap")
    end = time.monotonic() + 10
    seen = old
    while seen != 31337 and time.monotonic() < end:
        with r:
            seen = r.readData("data_int")
    ok(seen == 31337, "a file renamed into place is picked up by a cached accessor")

    # crash atomicity: a writer killed in mid-update leaves nothing half done
    with e:
        e.writeData("data_xy.x", 1.0)
        e.writeData("data_xy.y", 1.0)
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        w = DataStructMmapEditor("DemoMmapStructure")
        w.__enter__()
        w.writeData("data_xy.x", 2.0)
        os.write(wr, b"x")
        time.sleep(60)
        os._exit(0)
    os.read(rd, 1)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    with DataStructMmapEditor("DemoMmapStructure") as e2:
        ok((e2.readData("data_xy.x"), e2.readData("data_xy.y")) == (1.0, 1.0),
           "a binding writer killed mid-update: its half update is undone")
        rec = e2.recovery()
    ok(rec["count"] >= 1 and rec["last_pid"] == pid,
       "recovery() reports it (count {}, last_pid {})".format(rec["count"], rec["last_pid"]),
       repr(rec))
    os.close(rd)
    os.close(wr)


# ---------------------------------------------------------------------------
# new: waits, fingerprints, INI schemas
# ---------------------------------------------------------------------------

def group_new(tool, schema, orig):
    m = DataStructMmapManager("DemoMmapStructure", create=True, force=True)
    r = DataStructMmapReader("DemoMmapStructure")
    with r:
        r.readData("data_int")
    ok(r.wait_change(0) is False, "wait_change(0) without a change is False")
    ok(r.wait_change(0.05) is False, "wait_change(0.05) without a change times out: False")
    with r:
        raises("wait_change inside a block", Err.DeadlockIpMmapError, r.wait_change, 1)
    raises("a negative timeout", Err.ValueIpMmapError, r.wait_change, -1)
    raises("a timeout of the wrong type", TypeError, r.wait_change, "1")

    stop = threading.Event()

    def writer():
        e = DataStructMmapEditor("DemoMmapStructure")
        i = 0
        while not stop.is_set():
            with e:
                e.writeData("data_int", i)
            i += 1
            time.sleep(0.01)
    t = threading.Thread(target=writer)
    t.start()
    got = r.wait_change(60)
    stop.set()
    t.join()
    ok(got is True, "wait_change returns True when another accessor writes")
    with m:
        pass
    ok(r.wait_change(0) is True, "a change made since the reader's last block counts at once")
    ok(r.wait_change(0) is False, "and is seen once")

    if orig:
        # an original editor that stamps time_stamp, in another process
        code = ("import sys, ctypes, time; sys.path.insert(0, {!r}); "
                "from ipmmap import DataStructMmapEditor as E; "
                "from ipmmap.struct import base_struct as bs\n"
                "class Point2D(ctypes.Structure): _fields_ = (('x', ctypes.c_double), "
                "('y', ctypes.c_double))\n"
                "class MultiPointsData(ctypes.Structure): _fields_ = (('multi_data_int', "
                "ctypes.c_int32), ('multi_points', Point2D * 24))\n"
                "class DemoMmapStructure(bs.BaseMmapStructure): _fields_ = (('header', "
                "bs.MmapStructureHeader), ('data_int', ctypes.c_int32), ('data_string', "
                "ctypes.c_char * 256), ('data_xy', Point2D), ('multi_pts', MultiPointsData))\n"
                "import pathlib\n"
                "for i in range(3000):\n"
                "    with E('DemoMmapStructure', mmapDir=pathlib.Path('.mmap')) as e:\n"
                "        e.writeData('data_int', i); e.updateLastUpdate()\n"
                "    time.sleep(0.01)\n").format(orig)
        with r:
            pass
        env = dict(os.environ, PYTHONPATH=orig)
        env.pop("LD_PRELOAD", None)
        p = subprocess.Popen([sys.executable, "-c", code], env=env)
        got = r.wait_change(60)
        p.kill()
        p.wait()
        ok(got is True, "wait_change sees an original IPMMAP writer (through time_stamp)")

    # fingerprints: the ctypes classes and conf/demo.ini agree, and C says the same
    fp = ipmmap.layout_fingerprint(DemoMmapStructure)
    hdr = subprocess.run([tool, "-s", schema, "header"], capture_output=True, text=True).stdout
    want = [l.split("UINT64_C(")[1].rstrip(")") for l in hdr.splitlines()
            if "DemoMmapStructure_FINGERPRINT" in l]
    ok(want and int(want[0], 16) == fp,
       "the fingerprint of the ctypes classes is the C header's ({:#x})".format(fp), repr(want))
    ok(r.fingerprint == fp, "an accessor reports it")
    with DataStructMmapReader("DemoMmapStructure", fingerprint=fp) as x:
        ok(x.readData("header.header_code") == 0x1128, "opening with the right fingerprint works")
    raises("opening with another fingerprint is refused", Err.MapIpMmapError,
           DataStructMmapReader("DemoMmapStructure", fingerprint=fp ^ 1).__enter__)
    txt = ipmmap.schema_text(AllTypes)
    ok("[AllTypes]" in txt and "grid = int16[2][3]" in txt and "names = char[3][4]" in txt,
       "schema_text gives the INI of a ctypes class")
    ok(ipmmap.layout_fingerprint(Derived) != ipmmap.layout_fingerprint(AllTypes),
       "a derived structure has its own fingerprint")
    DataStructMmapManager("Derived", create=True, force=True)
    with DataStructMmapEditor("Derived") as d:
        d.writeData("extra", 200)
        d.writeData("i32", -5)
        ok(d.readData("extra") == 200 and d.readData("i32") == -5,
           "a structure derived from another (base fields first) works")

    # an INI schema in place of ctypes classes (shared with C)
    with DataStructMmapEditor("DemoMmapStructure") as e:
        e.writeData("multi_pts.multi_points[5].x", 6.5)
        e.writeData("data_string", b"ini")
    with DataStructMmapReader("DemoMmapStructure", schema=schema) as s:
        ok(s.readData("multi_pts.multi_points[5].x") == 6.5 and s.readData("data_string") == b"ini",
           "schema=conf/demo.ini reads what the ctypes accessor wrote")
        whole = s.readMappedBuffer()
        ok(whole.multi_pts.multi_points[5].x == 6.5 and ctypes.sizeof(whole) == 688,
           "readMappedBuffer with an INI schema gives a generated ctypes class")
        ok(s.fingerprint == fp, "the INI schema has the same fingerprint")
    raises("a structure the INI schema lacks", Err.StructNotFoundIpMmapError,
           DataStructMmapReader, "Nope", schema=schema)


def main():
    group, work = sys.argv[1], sys.argv[2]
    os.chdir(work)
    try:
        if group == "bad":
            group_bad()
        elif group == "behaviour":
            group_behaviour(sys.argv[3], sys.argv[4])
        elif group == "new":
            group_new(sys.argv[3], sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else "")
        else:
            raise SystemExit("unknown group " + group)
    except Exception:
        traceback.print_exc()
        ok(False, "group {} ran to its end".format(group))
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
