#!/usr/bin/python3
"""binding_timing.py - what a field read through the binding costs on a
compat and on a native instance (figures for the README; not a test, and
nothing here asserts on time).

    PYTHONPATH=build/python python3 tests/python/binding_timing.py [N]

Runs in a temporary directory; prints the best of 5 runs of N reads each
(default 200000), in nanoseconds per read.
"""
import ctypes
import os
import sys
import tempfile
import time

from ipmmap import DataStructMmapManager, DataStructMmapReader
from ipmmap.struct import base_struct as bs


class Point2D(ctypes.Structure):
    _fields_ = (("x", ctypes.c_double), ("y", ctypes.c_double))


class MultiPointsData(ctypes.Structure):
    _fields_ = (("multi_data_int", ctypes.c_int32), ("multi_points", Point2D * 24))


class DemoMmapStructure(bs.BaseMmapStructure):
    _fields_ = (("header", bs.MmapStructureHeader), ("data_int", ctypes.c_int32),
                ("data_string", ctypes.c_char * 256), ("data_xy", Point2D),
                ("multi_pts", MultiPointsData))


def best(fn, n):
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        fn(n)
        times.append((time.perf_counter() - t0) / n * 1e9)
    return min(times)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    os.chdir(tempfile.mkdtemp(prefix="ipm-timing-"))
    DataStructMmapManager("DemoMmapStructure", "compat", create=True)
    DataStructMmapManager("DemoMmapStructure", "native", create=True, native=True)
    rows = []
    for tag in ("compat", "native"):
        r = DataStructMmapReader("DemoMmapStructure", tag)
        rd = r.readData

        def block_each(k):
            for _ in range(k):
                with r:
                    rd("data_int")

        def in_block(k):
            with r:
                for _ in range(k):
                    rd("data_int")

        def no_block(k):
            for _ in range(k):
                rd("data_int")

        def whole(k):
            for _ in range(k):
                r.readMappedBuffer()

        def whole_block(k):
            for _ in range(k):
                with r:
                    r.readMappedBuffer()

        rows.append((tag, "with r: r.readData('data_int')", best(block_each, n)))
        rows.append((tag, "r.readData('data_int') inside one block", best(in_block, n)))
        rows.append((tag, "with r: r.readMappedBuffer()", best(whole_block, n // 4)))
        if r.native:
            rows.append((tag, "r.readData('data_int'), no block (lock-free)", best(no_block, n)))
            rows.append((tag, "r.readMappedBuffer(), no block (lock-free)", best(whole, n // 4)))
        rows.append((tag, "C alone: lock + ipm_get_i64 + unlock (_c_loop)",
                     min(r._c_loop("data_int", n) for _ in range(5))))
    print("{:<7} {:<50} {:>9}".format("mode", "one read", "ns"))
    for tag, what, ns in rows:
        print("{:<7} {:<50} {:>9.0f}".format(tag, what, ns))


if __name__ == "__main__":
    main()
