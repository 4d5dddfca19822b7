#!/usr/bin/python3
"""py_bench.py - the Python binding's rows of `make bench`: a `with` block plus
one readData (or writeData) on the binding (build/python) against Python
IPMMAP itself, with the accessor made once and made per block, and the
binding against the C library doing the same operation.

    py_bench.py BINDING_DIR [ORIGINAL_DIR]     prints markdown table rows

Both packages are called `ipmmap`, so each side runs in a process of its own
(this script again, with --side), on the same files in one temporary
directory; the sides alternate, each run is the mean of a batch, and a figure
is the median of the runs. A benchmark, not a test: it never fails on speed.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

STRUCTS = '''
import ctypes
from ipmmap.struct import base_struct as bs

class Point2D(ctypes.Structure):
    _fields_ = (("x", ctypes.c_double), ("y", ctypes.c_double))

class MultiPointsData(ctypes.Structure):
    _fields_ = (("multi_data_int", ctypes.c_int32), ("multi_points", Point2D * 24))

class DemoMmapStructure(bs.BaseMmapStructure):
    _fields_ = (("header", bs.MmapStructureHeader), ("data_int", ctypes.c_int32),
                ("data_string", ctypes.c_char * 256), ("data_xy", Point2D),
                ("multi_pts", MultiPointsData))
'''

RUNS = 5


def side(mode, n, runs):
    """In the child: time `runs` batches of n operations, print ns each."""
    import pathlib
    sys.path.insert(0, os.getcwd())
    import ipmmap
    from ipmmap import DataStructMmapEditor, DataStructMmapManager, DataStructMmapReader
    DataStructMmapReader.setUserStructs(["bench_structs"])
    d = dict(mmapDir=pathlib.Path(".mmap"), fastenerDir=pathlib.Path(".fasteners"))
    if mode == "create":
        DataStructMmapManager("DemoMmapStructure", create=True, force=True, **d)
        return
    out = []
    for _ in range(runs):
        if mode == "read_once":
            r = DataStructMmapReader("DemoMmapStructure", **d)
            t = time.perf_counter_ns()
            for _ in range(n):
                with r:
                    r.readData("data_int")
        elif mode == "read_per_block":
            t = time.perf_counter_ns()
            for _ in range(n):
                with DataStructMmapReader("DemoMmapStructure", **d) as r:
                    r.readData("data_int")
        elif mode == "write_once":
            e = DataStructMmapEditor("DemoMmapStructure", **d)
            t = time.perf_counter_ns()
            for i in range(n):
                with e:
                    e.writeData("data_int", i)
        elif mode == "c_read":
            r = DataStructMmapReader("DemoMmapStructure", **d)
            r._c_loop("data_int", 1000)  # opens and warms up
            t = time.perf_counter_ns()
            r._c_loop("data_int", n)
        else:
            raise SystemExit("unknown mode " + mode)
        out.append((time.perf_counter_ns() - t) / n)
    print(" ".join("%.1f" % x for x in out))


def run(pkg, tmp, mode, n):
    env = dict(os.environ, PYTHONPATH=pkg, PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--side", mode, str(n),
                        str(RUNS)], cwd=tmp, env=env, capture_output=True, text=True,
                       timeout=600)
    if p.returncode != 0:
        raise RuntimeError("{} {}: {}".format(pkg, mode, p.stderr.strip()[-300:]))
    return [float(x) for x in p.stdout.split()]


def row(what, ours, peer, ratio, target):
    print("| {} | {} | {} | {} | {} |".format(what, ours, peer, ratio, target))


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--side":
        side(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    binding = os.path.abspath(sys.argv[1])
    orig = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None
    if orig and not os.path.isfile(os.path.join(orig, "ipmmap", "struct_mmap_manager.py")):
        orig = None
    with tempfile.TemporaryDirectory(prefix="ipmmap-pybench.") as tmp:
        with open(os.path.join(tmp, "bench_structs.py"), "w") as f:
            f.write(STRUCTS)
        run(binding, tmp, "create", 0)
        got = {}

        def take(key, pkg, mode, n):
            got.setdefault(key, []).extend(run(pkg, tmp, mode, n))

        for _ in range(2):  # the sides alternate
            take("b_once", binding, "read_once", 100000)
            take("b_per", binding, "read_per_block", 100000)
            take("b_write", binding, "write_once", 100000)
            take("c", binding, "c_read", 100000)
            if orig:
                take("o_once", orig, "read_once", 2000)
                take("o_per", orig, "read_per_block", 500)
                take("o_write", orig, "write_once", 2000)
        med = {k: statistics.median(v) for k, v in got.items()}
        for what, b, o in (("reader `with` block + readData(\"data_int\"), accessor made once",
                            "b_once", "o_once"),
                           ("reader `with` block + readData(\"data_int\"), accessor made per "
                            "block", "b_per", "o_per"),
                           ("editor `with` block + writeData(\"data_int\", i), accessor made "
                            "once", "b_write", "o_write")):
            if orig:
                r = med[o] / med[b]
                row(what + " (ns): binding vs Python IPMMAP; ratio = original / binding",
                    "%.0f" % med[b], "%.0f" % med[o], "%.1f" % r,
                    "≥ 20: " + ("met" if r >= 20 else "NOT met"))
            else:
                row(what + " (ns): binding; Python IPMMAP not found", "%.0f" % med[b], "-",
                    "-", "-")
        row("binding's reader block + readData (accessor made once) vs the C library doing "
            "the same (ipm_lock_read + ipm_get_i64 + ipm_unlock) in that process (ns)",
            "%.0f" % med["b_once"], "%.0f" % med["c"], "%.2f" % (med["b_once"] / med["c"]),
            "-")


if __name__ == "__main__":
    main()
