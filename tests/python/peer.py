#!/usr/bin/python3
"""peer.py - a Python process that shares the seed's demo structure the way
Python IPMMAP does, written for the interoperability tests from the facts in
PYTHON-IPMMAP.md (no code of the original library is used).

Every operation is what one IPMMAP `with` block does: take the fasteners lock
on <lock_dir>/<Struct>_<tag>.lockfile (read lock for a reader, write lock for
a manager or editor), open and mmap <mmap_dir>/<Struct>_<tag>.mmap, reach the
fields through a ctypes structure laid over the mapping, then unmap, close and
release.

    peer.py [-m MMAPDIR] [-l LOCKDIR] [-t TAG] COMMAND [ARGS]

    create [force]        as DataStructMmapManager: make the file (sizeof,
                          header_code 0x1128, time_stamp now); prints the path
    write PATH VALUE ...  as DataStructMmapEditor: write the pairs, then
                          updateLastUpdate(), in one block; prints time_stamp
    read PATH ...         as DataStructMmapReader: print each value
    header                as DataStructMmapReader: print code and time_stamp
    size                  print sizeof and the offsets of the top fields
    layout                print "offset size path" of every leaf field
    bench N [read|write]  time N reader blocks reading data_int, or editor
                          blocks writing it; prints microseconds per block
    session               commands from stdin, one per line, answers on
                          stdout, so a test can hold a lock across steps:
                            begin read|write   blocking acquire + map
                                               ("waiting" once if it polls)
                            try read|write     one non-blocking acquire
                            get PATH / set PATH VALUE / touch (inside a block)
                            end                unmap, close, release
                            poke               open and close the lock file
                                               (drops this process's POSIX
                                               locks: fasteners' weak spot)
                            pid                the peer's process id
                            quit
"""
import ctypes
import mmap
import os
import re
import sys
import time

import fasteners

HEADER_CODE = 0x1128


class MmapStructureHeader(ctypes.Structure):
    _fields_ = [("header_code", ctypes.c_short),
                ("time_stamp", ctypes.c_double)]


class Point2D(ctypes.Structure):
    _fields_ = [("x", ctypes.c_double),
                ("y", ctypes.c_double)]


class MultiPointsData(ctypes.Structure):
    _fields_ = [("multi_data_int", ctypes.c_int32),
                ("multi_points", Point2D * 24)]


class DemoMmapStructure(ctypes.Structure):
    _fields_ = [("header", MmapStructureHeader),
                ("data_int", ctypes.c_int32),
                ("data_string", ctypes.c_char * 256),
                ("data_xy", Point2D),
                ("multi_pts", MultiPointsData)]


STRUCT = DemoMmapStructure


class Peer:
    def __init__(self, mmap_dir, lock_dir, tag):
        name = "%s_%s" % (STRUCT.__name__, tag)
        self.dirs = (mmap_dir, lock_dir)
        self.path = os.path.join(mmap_dir, name + ".mmap")
        self.lock = fasteners.InterProcessReaderWriterLock(
            os.path.join(lock_dir, name + ".lockfile"),
            sleep_func=self._sleep)
        self.mode = None  # "read" or "write" while inside a block
        self.file = None
        self.mm = None
        self.said_waiting = False

    def _sleep(self, seconds):
        # fasteners sleeps only after a failed try: say so once, so that a
        # test can see the peer is waiting without sleeping itself
        if not self.said_waiting:
            self.said_waiting = True
            say("waiting")
        time.sleep(seconds)

    def begin(self, mode, blocking=True):
        self.said_waiting = False
        if mode == "write":
            got = self.lock.acquire_write_lock(blocking=blocking)
        else:
            got = self.lock.acquire_read_lock(blocking=blocking)
        if not got:
            return False
        self.mode = mode
        try:
            self._map()
        except BaseException:
            self._release()
            raise
        return True

    def _map(self):
        if self.mode == "write":
            self.file = open(self.path, "r+b")
            self.mm = mmap.mmap(self.file.fileno(), ctypes.sizeof(STRUCT))
        else:
            self.file = open(self.path, "rb")
            self.mm = mmap.mmap(self.file.fileno(), ctypes.sizeof(STRUCT),
                                access=mmap.ACCESS_READ)

    def _release(self):
        mode, self.mode = self.mode, None
        if mode == "write":
            self.lock.release_write_lock()
        elif mode == "read":
            self.lock.release_read_lock()

    def end(self):
        if self.mm is not None:
            self.mm.close()
            self.mm = None
        if self.file is not None:
            self.file.close()
            self.file = None
        self._release()

    def view(self):
        # a live view for an editor; a reader's mapping is read-only, so it
        # gets a copy (ctypes cannot lay a structure over a read-only buffer)
        if self.mode == "write":
            return STRUCT.from_buffer(self.mm)
        return STRUCT.from_buffer_copy(self.mm)

    def get(self, path):
        return fmt(walk(self.view(), path))

    def set(self, path, text):
        if self.mode != "write":
            raise PeerError("set outside a write block")
        owner, last = split(self.view(), path)
        old = leaf(owner, last)
        if isinstance(old, bytes):
            new = text.encode()  # ctypes refuses more than the field holds
        elif isinstance(old, float):
            new = float(text)
        else:
            new = int(text)
        if isinstance(last, int):
            owner[last] = new
        else:
            setattr(owner, last, new)
        del owner

    def touch(self):
        s = self.view()
        s.header.time_stamp = time.time()
        ts = s.header.time_stamp
        del s
        return ts


class PeerError(Exception):
    pass


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def tokens(path):
    out = []
    for part in path.split("."):
        m = re.fullmatch(r"([A-Za-z_]\w*)((?:\[\d+\])*)", part)
        if not m:
            raise PeerError("%s: malformed path" % path)
        out.append(m.group(1))
        out.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return out


def leaf(obj, key):
    return obj[key] if isinstance(key, int) else getattr(obj, key)


def split(obj, path):
    toks = tokens(path)
    for key in toks[:-1]:
        obj = leaf(obj, key)
    return obj, toks[-1]


def walk(obj, path):
    owner, last = split(obj, path)
    return leaf(owner, last)


def fmt(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, int):
        return str(v)
    raise PeerError("not a scalar")


def leaves(cls, base=0, prefix=""):
    """(offset, size, path) of every scalar or string inside type cls."""
    if issubclass(cls, ctypes.Structure):
        for name, _ in cls._fields_:
            t = getattr(cls, name)
            sub = prefix + "." + name if prefix else name
            yield from leaves(_, base + t.offset, sub)
    elif issubclass(cls, ctypes.Array) and cls._type_ is not ctypes.c_char:
        step = ctypes.sizeof(cls._type_)
        for i in range(cls._length_):
            yield from leaves(cls._type_, base + i * step,
                              "%s[%d]" % (prefix, i))
    else:
        yield base, ctypes.sizeof(cls), prefix


def create(peer, force):
    # the manager writes the whole file once, under its write lock
    with peer.lock.write_lock():
        if os.path.exists(peer.path) and not force and \
                os.path.getsize(peer.path) == ctypes.sizeof(STRUCT):
            return
        s = STRUCT()
        s.header.header_code = HEADER_CODE
        s.header.time_stamp = time.time()
        with open(peer.path, "wb") as f:
            f.write(bytes(s))


def check(peer):
    size = os.path.getsize(peer.path)
    if size != ctypes.sizeof(STRUCT):
        raise PeerError("%s: size %d, expected %d"
                        % (peer.path, size, ctypes.sizeof(STRUCT)))


def session(peer):
    for line in sys.stdin:
        words = line.split(None, 2)
        if not words:
            continue
        cmd, args = words[0], words[1:]
        try:
            if cmd in ("begin", "try"):
                if peer.begin(args[0], blocking=(cmd == "begin")):
                    say("held " + args[0])
                else:
                    say("busy")
            elif cmd == "get":
                say(peer.get(args[0]))
            elif cmd == "set":
                peer.set(args[0], args[1].rstrip("\n"))
                say("ok")
            elif cmd == "touch":
                say(repr(peer.touch()))
            elif cmd == "pid":
                say(str(os.getpid()))
            elif cmd == "poke":
                open(peer.lock.path, "a+").close()
                say("poked")
            elif cmd == "end":
                peer.end()
                say("released")
            elif cmd == "quit":
                break
            else:
                say("error: unknown command " + cmd)
        except (PeerError, ValueError, IndexError, AttributeError,
                OSError) as e:
            say("error: %s" % e)
    if peer.mode is not None:
        peer.end()


def main(argv):
    mmap_dir, lock_dir, tag = "./.mmap", "./.fasteners", ""
    while len(argv) >= 2 and argv[0] in ("-m", "-l", "-t"):
        if argv[0] == "-m":
            mmap_dir = argv[1]
        elif argv[0] == "-l":
            lock_dir = argv[1]
        else:
            tag = argv[1]
        argv = argv[2:]
    if not argv:
        sys.stderr.write(__doc__)
        return 2
    peer = Peer(mmap_dir, lock_dir, tag)
    cmd, args = argv[0], argv[1:]
    try:
        if cmd not in ("size", "layout"):
            for d in peer.dirs:  # as IPMMAP: made when missing
                os.makedirs(d, exist_ok=True)
        if cmd == "create":
            create(peer, args == ["force"])
            say(peer.path)
        elif cmd == "size":
            say(" ".join([str(ctypes.sizeof(STRUCT))] +
                         ["%s=%d" % (n, getattr(STRUCT, n).offset)
                          for n, _ in STRUCT._fields_]))
        elif cmd == "layout":
            for off, size, path in leaves(STRUCT):
                say("%d %d %s" % (off, size, path))
        elif cmd == "write":
            check(peer)
            peer.begin("write")
            try:
                for i in range(0, len(args) - 1, 2):
                    peer.set(args[i], args[i + 1])
                say(repr(peer.touch()))
            finally:
                peer.end()
        elif cmd in ("read", "header"):
            check(peer)
            if cmd == "header":
                args = ["header.header_code", "header.time_stamp"]
            peer.begin("read")
            try:
                vals = [peer.get(p) for p in args]
            finally:
                peer.end()
            if cmd == "header" and int(vals[0]) != HEADER_CODE:
                raise PeerError("%s: header code %s, expected %d"
                                % (peer.path, vals[0], HEADER_CODE))
            for v in vals:
                say(v)
        elif cmd == "bench":
            check(peer)
            n = int(args[0])
            mode = args[1] if len(args) > 1 else "read"
            t0 = time.perf_counter()
            for i in range(n):
                peer.begin(mode)
                s = peer.view()
                if mode == "write":
                    s.data_int = i
                else:
                    s.data_int
                del s
                peer.end()
            say("%.1f" % ((time.perf_counter() - t0) / n * 1e6))
        elif cmd == "session":
            session(peer)
        else:
            sys.stderr.write("peer.py: unknown command %s\n" % cmd)
            return 2
    except (PeerError, ValueError, IndexError, AttributeError, OSError) as e:
        sys.stderr.write("peer.py: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
