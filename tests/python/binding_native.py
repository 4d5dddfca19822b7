#!/usr/bin/python3
"""binding_native.py - the binding on native and compat instances, printing
"ok - ..." / "not ok - ..." lines for tests/run.sh.

    binding_native.py WORKDIR IPMMAP_TOOL SCHEMA WRITER PEER ITERATIONS

WRITER is native_writer (built from tests/python/native_writer.c), PEER
tests/python/peer.py (a fasteners peer, as Python IPMMAP locks). In WORKDIR
(the default .mmap/.fasteners are made there):
  - modes: DataStructMmapManager(native=True/False/None) records the mode that
    `ipmmap list` and a C handle see, and `native` says;
  - reads: outside a block, a native instance is read without a lock, a
    compat one refuses; they never hang on a lock of this process, and a
    file cut short under them raises;
  - torn: the binding's lock-free reads of a C writer's multi-field updates
    never see a torn state (ITERATIONS updates).
"""
import ctypes
import faulthandler
import os
import subprocess
import sys
import threading
import time

from ipmmap import DataStructMmapEditor, DataStructMmapManager, DataStructMmapReader
from ipmmap.exception import ipmmap_error as Err
from ipmmap.struct import base_struct as bs

FAILS = 0
S = "DemoMmapStructure"
SCHEMA = None  # conf/demo.ini, for the C writer


def ok(cond, what, detail=""):
    global FAILS
    if not cond:
        FAILS += 1
    print("{}ok - {}{}".format("" if cond else "not ", what,
                               ": " + detail if detail and not cond else ""))
    sys.stdout.flush()


def raises(what, exc, fn, *a, **kw):
    try:
        fn(*a, **kw)
    except exc as e:
        ok(bool(str(e)), "{}: {} ({})".format(what, type(e).__name__, e))
        return
    except BaseException as e:
        ok(False, what, "raised {}: {}".format(type(e).__name__, e))
        return
    ok(False, what, "no exception")


class Point2D(ctypes.Structure):
    _fields_ = (("x", ctypes.c_double), ("y", ctypes.c_double))


class MultiPointsData(ctypes.Structure):
    _fields_ = (("multi_data_int", ctypes.c_int32), ("multi_points", Point2D * 24))


class DemoMmapStructure(bs.BaseMmapStructure):
    _fields_ = (("header", bs.MmapStructureHeader), ("data_int", ctypes.c_int32),
                ("data_string", ctypes.c_char * 256), ("data_xy", Point2D),
                ("multi_pts", MultiPointsData))


def listed_mode(tool, tag):
    """The PEERS column of `ipmmap list` for S_tag."""
    out = subprocess.run([tool, "list"], capture_output=True, text=True, timeout=30).stdout
    for line in out.splitlines():
        cols = line.split()
        if len(cols) >= 5 and cols[0] == S and cols[1] == (tag or "-"):
            return cols[4]
    return "<not listed>\n" + out


def c_native(writer, tag):
    """What a C handle's ipm_map_native() says of S_tag."""
    p = subprocess.Popen([writer, SCHEMA, ".mmap", ".fasteners", tag, "0"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().strip()
    p.stdin.close()
    p.wait(30)
    return line


def group_modes(tool, writer):
    DataStructMmapManager(S, tag="nat", create=True, native=True)
    DataStructMmapManager(S, tag="cmp", create=True)
    ok(listed_mode(tool, "nat") == "native", "a manager with native=True: ipmmap list says native")
    ok(listed_mode(tool, "cmp") == "compat", "a manager without native=: ipmmap list says compat")
    ok(c_native(writer, "nat") == "native 1", "a C handle finds the binding's native instance native")
    ok(c_native(writer, "cmp") == "native 0", "a C handle finds the compat one compat")
    for cls in (DataStructMmapReader, DataStructMmapEditor, DataStructMmapManager):
        ok(cls(S, "nat").native is True and cls(S, "cmp").native is False,
           "{}.native says the mode".format(cls.__name__))

    # using an instance does not change its mode; only a manager given native= does
    for tag in ("nat", "cmp"):
        DataStructMmapManager(S, tag, create=True, force=True)
        DataStructMmapManager(S, tag, create=True)
        with DataStructMmapEditor(S, tag) as e:
            e.writeData("data_int", 5)
        with DataStructMmapReader(S, tag) as r:
            r.readData("data_int")
    ok(listed_mode(tool, "nat") == "native" and listed_mode(tool, "cmp") == "compat",
       "editors, readers and managers without native= keep each instance's mode")
    DataStructMmapManager(S, "nat", create=True, native=False)
    ok(listed_mode(tool, "nat") == "compat" and DataStructMmapReader(S, "nat").native is False,
       "native=False makes a native instance compat")
    DataStructMmapManager(S, "nat", create=True, native=True)
    ok(listed_mode(tool, "nat") == "native", "...and native=True makes it native again")
    with DataStructMmapReader(S, "nat") as r:
        ok(r.readData("data_int") == 5, "changing the mode keeps the values")

    raises("native= without create=True", Err.ValueIpMmapError, DataStructMmapManager, S, "nat",
           native=True)
    raises("native=1 (not a bool)", Err.TypeIpMmapError, DataStructMmapManager, S, "nat",
           create=True, native=1)
    raises("native= is the manager's alone", TypeError, DataStructMmapReader, S, "nat",
           native=True)


def group_reads(peer):
    with DataStructMmapEditor(S, "nat") as e:
        e.writeData("data_int", 11)
        e.writeData("data_xy.x", 1.5)
        e.updateLastUpdate()
    r, c = DataStructMmapReader(S, "nat"), DataStructMmapReader(S, "cmp")
    ok(r.readData("data_int") == 11 and r.readData("data_xy").x == 1.5,
       "native: readData() outside a block reads without a lock")
    ok(r.readMappedBuffer().data_int == 11, "native: readMappedBuffer() outside a block too")
    ok(r.locked is None, "...and holds no lock after it")
    ok(r.getLastUpdate() == -1, "getLastUpdate() outside a block is still -1 (as IPMMAP)")
    raises("compat: readData() outside a block is refused", Err.ClosedIpMmapError,
           c.readData, "data_int")
    raises("compat: readMappedBuffer() outside a block is refused", Err.ClosedIpMmapError,
           c.readMappedBuffer)
    for acc, name in ((r, "native"), (c, "compat")):
        acc._acquireMmapResource(lock=False)
        ok(acc.readData("data_int") == (11 if acc is r else 5) and acc.getLastUpdate() > 0,
           "{}: _acquireMmapResource(lock=False) reads as before".format(name))
        acc._releaseMmapResource(lock=False)

    # no lock: a Python IPMMAP writer (fasteners) holding the write lock does
    # not delay a native read (native is the promise that no such writer runs)
    p = subprocess.Popen([sys.executable, peer, "-m", ".mmap", "-l", ".fasteners", "-t", "nat",
                          "session"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    p.stdin.write("begin write\n")
    p.stdin.flush()
    held = p.stdout.readline().strip()
    t0 = time.monotonic()
    v = r.readData("data_int")
    took = time.monotonic() - t0
    ok(held == "held write" and v == 11 and took < 5,
       "native: a read outside a block does not wait for a fasteners write lock",
       "{} {} {:.1f}s".format(held, v, took))
    p.stdin.write("end\nquit\n")
    p.stdin.close()
    p.wait(30)

    # this thread holds the write lock (its section open): the read gives what
    # it wrote, instead of waiting for itself
    e = DataStructMmapEditor(S, "nat")
    with e:
        e.writeData("data_int", 12)
        ok(r.readData("data_int") == 12,
           "a lock-free read while this thread holds the write lock gives its write")
        ok(r.readMappedBuffer().data_int == 12, "...readMappedBuffer() too")
    # another thread holds it, and needs the GIL to release it: the read
    # waits with the GIL released
    held, go = threading.Event(), threading.Event()

    def writer():
        with DataStructMmapEditor(S, "nat") as w:
            w.writeData("data_int", 13)
            held.set()
            go.wait(30)
            w.writeData("data_int", 14)

    t = threading.Thread(target=writer)
    t.start()
    held.wait(30)
    threading.Timer(0.2, go.set).start()
    v = r.readData("data_int")
    t.join(30)
    ok(v == 14, "a read meeting another thread's long write section waits for it, GIL released",
       repr(v))


class Big(bs.BaseMmapStructure):
    _fields_ = (("header", bs.MmapStructureHeader), ("pad", ctypes.c_char * 9000),
                ("x", ctypes.c_int64))


class Wide(bs.BaseMmapStructure):
    _fields_ = (("header", bs.MmapStructureHeader), ("name", ctypes.c_wchar * 8),
                ("ld", ctypes.c_longdouble), ("flags", ctypes.c_uint32, 3))


def group_kinds():
    """Every kind of field is read without a lock: text, long double, bits."""
    DataStructMmapManager(Wide, "nat", create=True, native=True)
    with DataStructMmapEditor(Wide, "nat") as e:
        e.writeData("name", "päivä")
        e.writeData("ld", 0.25)
        e.writeData("flags", 5)
    r = DataStructMmapReader(Wide, "nat")
    ok((r.readData("name"), r.readData("ld"), r.readData("flags")) == ("päivä", 0.25, 5),
       "c_wchar * N, c_longdouble and a bit field read outside a block")


def group_cut():
    """A file cut short under a lock-free read: an exception, never a crash
    (SIGBUS) and never a value of the cut file."""
    DataStructMmapManager("Big", "cut", create=True, native=True)
    with DataStructMmapEditor("Big", "cut") as e:
        e.writeData("x", 77)
    r = DataStructMmapReader("Big", "cut")
    ok(r.readData("x") == 77, "a native instance of 9 KiB is read without a lock")
    path = r.mmapFilePath
    os.truncate(path, 100)
    for what, call in (("readData()", lambda: r.readData("x")),
                       ("readMappedBuffer()", r.readMappedBuffer)):
        try:
            got = call()
            ok(False, "{} of a cut file raises".format(what), "read {!r}".format(got))
        except (Err.IpMmapError, OSError) as x:
            ok(True, "{} of a cut file raises: {}".format(what, x))
    os.truncate(path, ctypes.sizeof(Big))
    with DataStructMmapEditor("Big", "cut") as e:
        e.writeData("x", 78)
    ok(r.readData("x") == 78, "once whole again, it is read again")


def group_torn(writer, n):
    """The C writer's updates set several fields together; the binding reads
    them without a lock and must never see two updates mixed."""
    DataStructMmapManager(S, "torn", create=True, native=True)
    r = DataStructMmapReader(S, "torn")
    ok(r.native, "the instance for the torn-read test is native")
    p = subprocess.Popen([writer, SCHEMA, ".mmap", ".fasteners", "torn", str(n)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ok(p.stdout.readline().strip() == "native 1", "the C writer finds it native")
    p.stdin.write("go\n")
    p.stdin.flush()
    reads = torn = 0
    seen = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        running = p.poll() is None
        s = r.readMappedBuffer()
        v = s.data_int
        pts = s.multi_pts
        if not (s.data_xy.x == v and s.data_xy.y == -v and pts.multi_data_int == v
                and pts.multi_points[23].y == v and s.data_string == (b"v%d" % v if v else b"")):
            torn += 1
        xy = r.readData("data_xy")
        if xy.x != -xy.y:
            torn += 1
        mp = r.readData("multi_pts")
        if mp.multi_points[23].y != mp.multi_data_int:
            torn += 1
        seen.add(v)
        reads += 3
        if not running:
            break
    out = p.stdout.read().strip()
    p.wait(30)
    ok(out == "done {}".format(n), "the C writer made its {} updates".format(n), out)
    ok(torn == 0, "{} lock-free reads (whole structure, data_xy, multi_pts): 0 torn".format(reads),
       "{} torn".format(torn))
    ok(len(seen) > 2, "the reads met the writer at work ({} different updates seen)"
       .format(len(seen)))
    ok(r.readData("data_int") == n, "after it, the last update is read")


def main():
    global SCHEMA
    work, tool, SCHEMA, writer, peer, n = sys.argv[1:7]
    os.chdir(work)
    # a hang (a read waiting for a lock of this process) fails loudly
    faulthandler.dump_traceback_later(100, exit=True)
    group_modes(tool, writer)
    group_reads(peer)
    group_kinds()
    group_cut()
    group_torn(writer, int(n))
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
