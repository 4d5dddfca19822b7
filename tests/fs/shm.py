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
"""
import mmap
import os
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
