#!/usr/bin/python3
"""peer.py - the Python IPMMAP side of `make bench`, written from the facts in
PYTHON-IPMMAP.md (no code of the original library is used).

One "block" is what one IPMMAP `with` block does: open the lock file and take
the fasteners lock (read lock for a reader, write lock for an editor), open the
mmap file and map it, reach data_int through a ctypes structure, then unmap,
close and release.

    peer.py blocks MMAPDIR LOCKDIR N RUNS
        prints "READ_NS WRITE_NS": the median over RUNS of the mean time of
        one reader block and of one editor block (N blocks a run)
    peer.py handover MMAPDIR LOCKDIR
        for each "go" line on stdin: take the read lock the fasteners way
        (try, sleep 0.01 s, 0.02 s, ... up to 0.1 s, try again), print the
        CLOCK_MONOTONIC nanoseconds at which it got it, release; "quit" ends
    peer.py pollstamp MMAPDIR LOCKDIR N
        the seed's demo reader: every 0.1 s one reader block reads the header's
        time_stamp; prints "ready" after the first look, then the
        CLOCK_MONOTONIC nanoseconds of each look that found it changed, N times
"""
import ctypes
import mmap
import os
import statistics
import sys
import time

import fasteners


class MmapStructureHeader(ctypes.Structure):
    _fields_ = [("header_code", ctypes.c_short), ("time_stamp", ctypes.c_double)]


class Point2D(ctypes.Structure):
    _fields_ = [("x", ctypes.c_double), ("y", ctypes.c_double)]


class MultiPointsData(ctypes.Structure):
    _fields_ = [("multi_data_int", ctypes.c_int32), ("multi_points", Point2D * 24)]


class DemoMmapStructure(ctypes.Structure):
    _fields_ = [("header", MmapStructureHeader),
                ("data_int", ctypes.c_int32),
                ("data_string", ctypes.c_char * 256),
                ("data_xy", Point2D),
                ("multi_pts", MultiPointsData)]


NAME = "DemoMmapStructure_"


def paths(mmap_dir, lock_dir):
    return (os.path.join(mmap_dir, NAME + ".mmap"),
            os.path.join(lock_dir, NAME + ".lockfile"))


def read_block(lock, path):
    """DataStructMmapReader: read lock, file opened 'r', ACCESS_READ map."""
    with lock.read_lock():
        with open(path, "rb") as f:
            mm = mmap.mmap(f.fileno(), ctypes.sizeof(DemoMmapStructure),
                           access=mmap.ACCESS_READ)
            value = DemoMmapStructure.from_buffer_copy(mm).data_int
            mm.close()
    return value


def write_block(lock, path, value):
    """DataStructMmapEditor: write lock, read-write map, edit in place."""
    with lock.write_lock():
        with open(path, "r+b") as f:
            mm = mmap.mmap(f.fileno(), ctypes.sizeof(DemoMmapStructure))
            s = DemoMmapStructure.from_buffer(mm)
            s.data_int = value
            del s  # the export must go before the map can close
            mm.close()


def blocks(mmap_dir, lock_dir, n, runs):
    path, lpath = paths(mmap_dir, lock_dir)
    lock = fasteners.InterProcessReaderWriterLock(lpath)
    rd, wr = [], []
    for _ in range(runs):
        t = time.perf_counter_ns()
        for _ in range(n):
            read_block(lock, path)
        rd.append((time.perf_counter_ns() - t) / n)
        t = time.perf_counter_ns()
        for i in range(n):
            write_block(lock, path, i)
        wr.append((time.perf_counter_ns() - t) / n)
    print("%.0f %.0f" % (statistics.median(rd), statistics.median(wr)))


def handover(mmap_dir, lock_dir):
    _, lpath = paths(mmap_dir, lock_dir)
    lock = fasteners.InterProcessReaderWriterLock(lpath)
    for line in sys.stdin:
        if line.strip() != "go":
            break
        lock.acquire_read_lock()
        t = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        lock.release_read_lock()
        sys.stdout.write("%d\n" % t)
        sys.stdout.flush()


def read_stamp(lock, path):
    """One reader block that reads header.time_stamp."""
    with lock.read_lock():
        with open(path, "rb") as f:
            mm = mmap.mmap(f.fileno(), ctypes.sizeof(DemoMmapStructure),
                           access=mmap.ACCESS_READ)
            stamp = DemoMmapStructure.from_buffer_copy(mm).header.time_stamp
            mm.close()
    return stamp


def pollstamp(mmap_dir, lock_dir, n):
    path, lpath = paths(mmap_dir, lock_dir)
    lock = fasteners.InterProcessReaderWriterLock(lpath)
    last = read_stamp(lock, path)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while n > 0:
        time.sleep(0.1)
        stamp = read_stamp(lock, path)
        if stamp != last:
            t = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            last = stamp
            sys.stdout.write("%d\n" % t)
            sys.stdout.flush()
            n -= 1


def main(argv):
    if len(argv) == 6 and argv[1] == "blocks":
        blocks(argv[2], argv[3], int(argv[4]), int(argv[5]))
    elif len(argv) == 5 and argv[1] == "pollstamp":
        pollstamp(argv[2], argv[3], int(argv[4]))
    elif len(argv) == 4 and argv[1] == "handover":
        handover(argv[2], argv[3])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
