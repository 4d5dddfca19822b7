"""shm.py - the other process of the mount scenarios: reads and writes the
mmap files straight, under the same lock Python IPMMAP takes (fasteners'
InterProcessReaderWriterLock), and does what a Python user of the mount does.

  get FILE d|i|s OFFSET               print a double/int32/char[256] at OFFSET
  set LOCKFILE FILE d|i|s OFFSET V    write it under the write lock
  hold LOCKFILE FILE HELD GO          write lock: data_int = 201, say HELD,
                                      wait for GO, data_xy.x = 201.0, release
  churn LOCKFILE FILE STOP            data_int = i, data_xy.x = i under the
                                      write lock until STOP exists
  create FILE SIZE                    an instance file as a manager makes it
  pywrite FILE TEXT / pyread FILE / copy SRC DST   Python file I/O on the mount
  put FILE d|i|s OFFSET V             write it with no lock (a private file)
  stamp LOCKFILE FILE d|i|s OFFSET V  write it and time_stamp under the write
                                      lock, as IPMMAP does; print the
                                      CLOCK_MONOTONIC ns after the unlock
  poll FILE MS READY [poll|select|epoll]   read FILE, say READY, wait up to MS
                                      ms for POLLPRI (select: the exceptional
                                      set); print "changed NS VALUE rearmed"
                                      (NS: CLOCK_MONOTONIC at the wake-up) or
                                      "timeout"
  pollgone FILE MS READY               read FILE, say READY, poll() up to MS ms
                                      for POLLPRI; print the events ("ERR PRI")
                                      or "timeout", then what a read at offset 0
                                      gives ("read EIO", "read ok VALUE")
  latency FILE LIBSO SCHEMA MMAP LOCKS N   wake-up latency of a poll() on FILE
                                      (DemoMmapStructure data_int) after a
                                      libipmmap writer's unlock, N times
"""
import mmap
import os
import select
import shutil
import struct
import sys
import time

FMT = {"d": "<d", "i": "<i"}


def put(mm, kind, off, v):
    if kind == "s":
        b = v.encode()
        mm[off:off + 256] = b + b"\0" * (256 - len(b))
    else:
        struct.pack_into(FMT[kind], mm, off, float(v) if kind == "d" else int(v))


def mapped(path):
    f = open(path, "r+b")
    return f, mmap.mmap(f.fileno(), 0)


def lock(path):
    import fasteners
    return fasteners.InterProcessReaderWriterLock(path)


def read0(fd):
    os.lseek(fd, 0, os.SEEK_SET)
    out = b""
    while True:
        b = os.read(fd, 65536)
        if not b:
            return out.decode()
        out += b


def waiter(fd, how):
    """wait(ms) -> True when the file reports a change."""
    if how == "select":
        def wait(ms):
            r, w, x = select.select([], [], [fd], ms / 1000.0)
            return fd in x
    elif how == "epoll":
        ep = select.epoll()
        ep.register(fd, select.EPOLLPRI | select.EPOLLERR)

        def wait(ms):
            return any(ev & select.EPOLLPRI for _, ev in ep.poll(ms / 1000.0))
    else:
        p = select.poll()
        p.register(fd, select.POLLPRI | select.POLLERR)

        def wait(ms):
            return any(ev & select.POLLPRI for _, ev in p.poll(ms))
    return wait


def poll_cmd(path, ms, ready, how):
    fd = os.open(path, os.O_RDONLY)
    wait = waiter(fd, how)
    read0(fd)
    with open(ready, "w") as r:
        r.write("ready\n")
    if not wait(int(ms)):
        print("timeout")
        return 0
    woke = time.monotonic_ns()
    v = read0(fd).rstrip("\n").replace("\n", "|")
    print("changed %d %s %s" % (woke, v, "still" if wait(0) else "rearmed"))
    return 0


def pollgone_cmd(path, ms, ready):
    fd = os.open(path, os.O_RDONLY)
    p = select.poll()
    p.register(fd, select.POLLPRI | select.POLLERR)
    read0(fd)
    with open(ready, "w") as r:
        r.write("ready\n")
    ev = p.poll(int(ms))
    if not ev:
        print("timeout")
    else:
        bits = ev[0][1]
        print(" ".join(n for n, b in (("ERR", select.POLLERR), ("PRI", select.POLLPRI),
                                      ("HUP", select.POLLHUP)) if bits & b))
    try:
        print("read ok " + read0(fd).rstrip("\n"))
    except OSError as e:
        import errno
        print("read " + errno.errorcode.get(e.errno, str(e.errno)))
    return 0


def latency_cmd(path, libso, schema, mdir, ldir, n):
    import ctypes
    lib = ctypes.CDLL(libso)
    lib.ipm_schema_new.restype = ctypes.c_void_p
    lib.ipm_map_new.restype = ctypes.c_void_p
    lib.ipm_map_new.argtypes = [ctypes.c_void_p]
    lib.ipm_schema_load_file.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.ipm_map_open.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                 ctypes.c_int, ctypes.c_void_p]
    lib.ipm_write_text.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]

    class Opts(ctypes.Structure):
        _fields_ = [("mmap_dir", ctypes.c_char_p), ("lock_dir", ctypes.c_char_p),
                    ("flags", ctypes.c_uint), ("fingerprint", ctypes.c_uint64),
                    ("mode", ctypes.c_uint), ("gid", ctypes.c_uint)]
    go_r, go_w = os.pipe()
    t_r, t_w = os.pipe()
    poller = os.getpid()
    child = os.fork()
    if child == 0:
        os.close(go_w)
        os.close(t_r)
        s = lib.ipm_schema_new()
        lib.ipm_schema_load_file(s, schema.encode())
        m = lib.ipm_map_new(s)
        o = Opts(mdir.encode(), ldir.encode(), 0, 0, 0, 0)
        if lib.ipm_map_open(m, b"DemoMmapStructure", b"", 1, ctypes.byref(o)) < 0:
            os._exit(1)
        i = 0
        while os.read(go_r, 1):
            # Write once the poller sleeps in poll(2), its FUSE_POLL
            # answered: the wake-up is then the whole path.
            for _ in range(20000):
                try:
                    with open("/proc/%d/wchan" % poller) as f:
                        if f.read().startswith("poll_schedule"):
                            break
                except OSError:
                    pass
                time.sleep(0.0001)
            i += 1
            t0 = time.monotonic_ns()  # the write call itself counts
            lib.ipm_write_text(m, b"data_int", str(1000 + i).encode())
            os.write(t_w, struct.pack("q", t0))
        os._exit(0)
    os.close(go_r)
    os.close(t_w)
    fd = os.open(path, os.O_RDONLY)
    wait = waiter(fd, "poll")
    lat = []
    for _ in range(int(n)):
        read0(fd)
        os.write(go_w, b"g")
        if not wait(5000):
            print("timeout")
            break
        woke = time.monotonic_ns()
        t0 = struct.unpack("q", os.read(t_r, 8))[0]
        lat.append((woke - t0) / 1000.0)
    os.close(go_w)
    os.waitpid(child, 0)
    lat.sort()
    if lat:
        print("n %d median_us %.0f p90_us %.0f p99_us %.0f max_us %.0f" % (
            len(lat), lat[len(lat) // 2], lat[len(lat) * 9 // 10],
            lat[min(len(lat) - 1, len(lat) * 99 // 100)], lat[-1]))
    return 0


def main(a):
    cmd = a[0]
    if cmd == "get":
        data = open(a[1], "rb").read()
        off = int(a[3])
        if a[2] == "s":
            print(data[off:off + 256].split(b"\0")[0].decode())
        else:
            print(repr(struct.unpack_from(FMT[a[2]], data, off)[0]))
    elif cmd == "set":
        with lock(a[1]).write_lock():
            f, mm = mapped(a[2])
            put(mm, a[3], int(a[4]), a[5])
            mm.close()
            f.close()
    elif cmd == "put":
        f, mm = mapped(a[1])
        put(mm, a[2], int(a[3]), a[4])
        mm.close()
        f.close()
    elif cmd == "stamp":
        with lock(a[1]).write_lock():
            f, mm = mapped(a[2])
            put(mm, a[3], int(a[4]), a[5])
            put(mm, "d", 8, time.time())
            mm.close()
            f.close()
        print(time.monotonic_ns())
    elif cmd == "poll":
        return poll_cmd(a[1], a[2], a[3], a[4] if len(a) > 4 else "poll")
    elif cmd == "pollgone":
        return pollgone_cmd(a[1], a[2], a[3])
    elif cmd == "latency":
        return latency_cmd(*a[1:7])
    elif cmd == "hold":
        with lock(a[1]).write_lock():
            f, mm = mapped(a[2])
            put(mm, "i", 16, 201)
            with open(a[3], "w") as held:
                held.write("held\n")
            with open(a[4]) as go:
                go.read()
            put(mm, "d", 280, 201.0)
            mm.close()
            f.close()
    elif cmd == "churn":
        f, mm = mapped(a[2])
        lk = lock(a[1])
        i = 0
        while not os.path.exists(a[3]):
            i += 1
            with lk.write_lock():
                put(mm, "i", 16, i)
                put(mm, "d", 280, float(i))
        mm.close()
        f.close()
    elif cmd == "create":
        b = bytearray(int(a[2]))
        struct.pack_into("<hxxxxxxd", b, 0, 0x1128, time.time())
        with open(a[1], "wb") as f:
            f.write(b)
    elif cmd == "pywrite":
        try:
            with open(a[1], "w") as f:
                f.write(a[2])
        except OSError as e:
            print(e.errno)
            return 1
    elif cmd == "pyread":
        with open(a[1]) as f:
            sys.stdout.write(f.read())
    elif cmd == "copy":
        shutil.copyfile(a[1], a[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
