"""setup.py - the C extension of the Python binding, for pyproject.toml's
setuptools build: python/src/*.c with libipmmap's sources (lib/*.c) compiled
in, linked with Debian's libinih (libinih-dev)."""
import glob

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "ipmmap._ipmmap",
    sources=sorted(glob.glob("python/src/*.c")) + sorted(glob.glob("lib/*.c")),
    depends=glob.glob("python/src/*.h") + glob.glob("lib/*.h"),
    include_dirs=["lib"],
    define_macros=[("_GNU_SOURCE", None)],
    extra_compile_args=["-std=gnu11", "-fvisibility=hidden"],
    libraries=["inih", "pthread"],
)])
