#!/usr/bin/python3
"""ipm_session.py - a peer that uses whichever `ipmmap` package PYTHONPATH
gives it (the binding in build/python, or Python IPMMAP itself), written the
way IPMMAP's users write it, driven line by line by the tests/python scripts.

    ipm_session.py -m MMAPDIR -l LOCKDIR [-t TAG]

Commands on stdin, one answer line each on stdout:
    which                 "binding" or "original"
    create                a DataStructMmapManager(create=True): "created"
    recreate              the same with force=True (the file is written anew)
    path                  the names of its mmapFilePath and fastenerFilePath, a line each
    begin read|write      a Reader/Editor `with` block is entered: "held read|write"
    try read|write        _acquireMmapResource(blocking=False): "held ..." or "busy"
    get KEY               readData(KEY), printed as repr()
    set KEY LITERAL       writeData(KEY, ast.literal_eval(LITERAL)): "ok"
    touch                 updateLastUpdate(); prints getLastUpdate() as repr()
    clear                 clearMappedBuffer() in the editor's block: "ok"
    end                   leaves the block: "released"
An exception is answered as "error ClassName: message".
"""
import ast
import ctypes
import pathlib
import sys

import ipmmap
from ipmmap import DataStructMmapEditor, DataStructMmapManager, DataStructMmapReader
from ipmmap.struct import base_struct as bs


class Point2D(ctypes.Structure):
    _fields_ = (("x", ctypes.c_double), ("y", ctypes.c_double))


class MultiPointsData(ctypes.Structure):
    _fields_ = (("multi_data_int", ctypes.c_int32), ("multi_points", Point2D * 24))


class DemoMmapStructure(bs.BaseMmapStructure):
    _fields_ = (("header", bs.MmapStructureHeader), ("data_int", ctypes.c_int32),
                ("data_string", ctypes.c_char * 256), ("data_xy", Point2D),
                ("multi_pts", MultiPointsData))


def say(*a):
    print(*a, flush=True)


def main():
    args = sys.argv[1:]
    dirs = {"mmapDir": pathlib.Path(args[args.index("-m") + 1]),
            "fastenerDir": pathlib.Path(args[args.index("-l") + 1])}
    if "-t" in args:
        dirs["tag"] = args[args.index("-t") + 1]
    cur = None
    for line in sys.stdin:
        words = line.split(None, 2)
        if not words:
            continue
        cmd = words[0]
        try:
            if cmd == "which":
                say("binding" if hasattr(ipmmap, "_ipmmap") else "original")
            elif cmd == "create":
                DataStructMmapManager("DemoMmapStructure", create=True, **dirs)
                say("created")
            elif cmd == "recreate":
                DataStructMmapManager("DemoMmapStructure", create=True, force=True, **dirs)
                say("created")
            elif cmd == "path":
                mg = DataStructMmapManager("DemoMmapStructure", **dirs)
                say(mg.mmapFilePath.name)  # one line each: a tag may hold spaces
                say(mg.fastenerFilePath.name)
            elif cmd in ("begin", "try"):
                cls = DataStructMmapEditor if words[1] == "write" else DataStructMmapReader
                cur = cls("DemoMmapStructure", **dirs)
                if cmd == "begin":
                    cur.__enter__()
                    got = True
                else:
                    got = cur._acquireMmapResource(lock=True, blocking=False)
                if got:
                    say("held", words[1])
                else:
                    cur = None
                    say("busy")
            elif cmd == "get":
                say(repr(cur.readData(words[1])))
            elif cmd == "set":
                cur.writeData(words[1], ast.literal_eval(words[2]))
                say("ok")
            elif cmd == "clear":
                cur.clearMappedBuffer()
                say("ok")
            elif cmd == "touch":
                cur.updateLastUpdate()
                say(repr(cur.getLastUpdate()))
            elif cmd == "end":
                cur.__exit__(None, None, None)
                cur = None
                say("released")
            elif cmd == "quit":
                break
            else:
                say("error unknown command")
        except Exception as e:  # the test reads it
            say("error {}: {}".format(type(e).__name__, e))


if __name__ == "__main__":
    main()
