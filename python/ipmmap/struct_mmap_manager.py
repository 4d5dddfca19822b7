"""struct_mmap_manager.py - DataStructMmapReader, DataStructMmapEditor and
DataStructMmapManager, the accessors of Python IPMMAP, on libipmmap.

Constructing an accessor resolves its arguments once per process into an
Entry of the C extension (schema made from the ctypes class, files, a pool of
open handles); later constructions with the same arguments find it in
_entries, so an accessor made per block costs a dictionary lookup.
"""
import ctypes
import importlib
import os
import pathlib
import re
import weakref

from . import _ipmmap, _layout
from .exception import ipmmap_error as Err
from .mmap_manager import (AbstractMmapManger, DEFAULT_FASTENERS_FILE_DIR,
                           DEFAULT_MMAP_FILE_DIR)
from .struct import base_struct

HEADER_UNIQUE_BYTES = _ipmmap.HEADER_CODE

# (class, tag, dirs, role, options, cwd) -> Entry
_entries = {}
# ctypes class -> (Schema, layout fingerprint)
_schemas = weakref.WeakKeyDictionary()
# INI schema file -> (mtime, Schema, {name: generated ctypes class})
_ini = {}
# absolute lock file path -> LockRec (shared by the entries of one instance)
_locks = {}


def _schema_of(cls):
    """The libipmmap schema of a ctypes class, checked against ctypes."""
    got = _schemas.get(cls)
    if got is not None:
        return got
    text, where, names = _layout.schema_text(cls)
    if names[cls] != cls.__name__:
        raise Err.LayoutIpMmapError(
            "{}: the name cannot be used for files or by the C library".format(cls.__name__))
    try:
        schema = _ipmmap.Schema(text=text, name="<ctypes {}>".format(cls.__name__))
    except ValueError as e:
        m = re.match(r"^[^:]*:(\d+): (.*)$", str(e))
        if m and int(m.group(1)) in where:
            raise Err.LayoutIpMmapError("{}: {}".format(where[int(m.group(1))], m.group(2)))
        raise Err.LayoutIpMmapError("{}: {}".format(cls.__name__, e))
    _layout.compare(cls, names, schema)
    got = (schema, schema.describe(cls.__name__)[5])
    _schemas[cls] = got
    return got


def _ini_class(path, name):
    """The Schema of an INI file and a ctypes class generated for name."""
    path = os.path.abspath(os.fspath(path))
    mtime = os.stat(path).st_mtime_ns
    got = _ini.get(path)
    if got is None or got[0] != mtime:
        got = (mtime, _ipmmap.Schema(path=path), {})
        _ini[path] = got
    _, schema, classes = got
    if name not in classes:
        classes[name] = _layout.ctypes_from_schema(schema, name)
    return schema, classes[name]


def _find(structName, schema):
    if schema is not None:
        if not isinstance(structName, str):
            raise Err.TypeIpMmapError("structName must be a str with schema=, not {}".format(
                type(structName).__name__))
        try:
            return _ini_class(schema, structName)
        except KeyError:
            raise Err.StructNotFoundIpMmapError(structName) from None
    if isinstance(structName, str):
        cls = base_struct.find(structName)
        if cls is None:
            raise Err.StructNotFoundIpMmapError(structName)
        return None, cls
    if isinstance(structName, type):
        _layout.check_class(structName)
        return None, structName
    raise Err.TypeIpMmapError("structName must be a str or a ctypes.Structure class, not {}"
                              .format(type(structName).__name__))


def _dir(d, default):
    if d is None:
        d = default
    try:
        d = os.fspath(d)
    except TypeError:
        raise Err.TypeIpMmapError("a directory must be a str or a path, not {}".format(
            type(d).__name__)) from None
    if isinstance(d, bytes):
        d = os.fsdecode(d)
    return os.path.abspath(d)


def _make_entry(key, structName, tag, mmapDir, fastenerDir, write, fingerprint, mode, schema):
    ini, cls = _find(structName, schema)
    if not isinstance(tag, str):
        raise Err.TypeIpMmapError("tag must be a str, not {}".format(type(tag).__name__))
    if ini is None:
        ini, _ = _schema_of(cls)
    size, align, fields, base, mappable, fp = ini.describe(cls.__name__)[:6]
    if not mappable:
        raise Err.CommonHeaderNotFoundIpMmapError(cls.__name__)
    if fingerprint is not None and (not isinstance(fingerprint, int)
                                    or not 0 < fingerprint < 1 << 64):
        raise Err.ValueIpMmapError("fingerprint must be an int in 1..2**64-1, not {!r}"
                                   .format(fingerprint))
    if mode is not None and (not isinstance(mode, int) or not 0 < mode <= 0o777):
        raise Err.ValueIpMmapError("mode must be an int in 0o1..0o777, not {!r}".format(mode))
    mdir = _dir(mmapDir, DEFAULT_MMAP_FILE_DIR)
    ldir = _dir(fastenerDir, DEFAULT_FASTENERS_FILE_DIR)
    stem = "{}_{}".format(cls.__name__, tag)
    mpath = pathlib.Path(mdir, stem + ".mmap").resolve()
    lpath = pathlib.Path(ldir, stem + ".lockfile").resolve()
    rec = _locks.setdefault(str(lpath), _ipmmap.LockRec())
    e = _ipmmap.Entry(schema=ini, name=cls.__name__, cls=cls, tag=tag, mmap_dir=mdir,
                      lock_dir=ldir, write=write, mode=mode or 0, fingerprint=fingerprint or 0,
                      mmap_path=mpath, lock_path=lpath, rec=rec)
    _entries[key] = e
    return e


class BaseStructMmapManager(AbstractMmapManger):
    """Base class for DataStructMmapReader, ...Editor and ...Manager."""

    _write = False

    @staticmethod
    def setUserStructs(moduleNameList):
        """Imports the modules that define the BaseMmapStructure subclasses."""
        for name in moduleNameList:
            importlib.import_module(name)

    def __init__(self, structName, tag="", mmapDir=None, fastenerDir=None, *,
                 fingerprint=None, mode=None, schema=None):
        self._bind(self._entry(structName, tag, mmapDir, fastenerDir, fingerprint, mode,
                               schema))

    def _entry(self, structName, tag, mmapDir, fastenerDir, fingerprint, mode, schema):
        key = (structName if schema is not None else base_struct.find(structName)
               if isinstance(structName, str) else structName,
               tag, mmapDir, fastenerDir, self._write, fingerprint, mode, schema,
               os.getcwd())
        try:
            e = _entries.get(key)
        except TypeError:  # unhashable arguments: checked (and refused) below
            e, key = None, None
        if e is None:
            e = _make_entry(key, structName, tag, mmapDir, fastenerDir, self._write,
                            fingerprint, mode, schema)
            if key is None:
                _entries.pop(None, None)
        return e


class DataStructMmapReader(BaseStructMmapManager):
    """Reads an existing instance; a with block holds the read lock."""


class DataStructMmapEditor(DataStructMmapReader):
    """Reads and writes an existing instance; a with block holds the write lock."""

    editable = True
    _write = True
    writeData = _ipmmap.write_methods["writeData"]
    referMappedBuffer = _ipmmap.write_methods["referMappedBuffer"]
    clearMappedBuffer = _ipmmap.write_methods["clearMappedBuffer"]
    updateLastUpdate = _ipmmap.write_methods["updateLastUpdate"]


class DataStructMmapManager(DataStructMmapEditor):
    """Makes the instance's mmap file (create=True; force=True: anew even if
    it exists), then reads and writes it as an editor.

    native=True (with create=True) records that every writer of the instance
    uses libipmmap (C programs, the mount, ipmmap, this binding; no Python
    IPMMAP writer): reads that hold no lock then take none. native=False
    records compat (every read locks, for Python IPMMAP writers); None, the
    default, keeps the instance's mode (compat for a new one)."""

    def __init__(self, structName, tag="", mmapDir=None, fastenerDir=None, create=False,
                 force=False, *, fingerprint=None, mode=None, schema=None, native=None):
        if native is not None and not isinstance(native, bool):
            raise Err.TypeIpMmapError("native must be True, False or None, not {!r}"
                                      .format(native))
        if native is not None and not create:
            raise Err.ValueIpMmapError("native= is recorded by a manager that creates: "
                                       "give create=True")
        e = self._entry(structName, tag, mmapDir, fastenerDir, fingerprint, mode, schema)
        if create and (force or native is not None or not e.mmap_path.exists()):
            try:
                e.create(bool(force), native)
            except Err.MapIpMmapError as err:
                raise Err.CreateFileIpMmapError(e.mmap_path, str(err)) from err
        self._bind(e)

    def openMemory(self):
        """Opens and maps the instance now (it then stays mapped for the
        process's life; blocks still take the lock)."""
        self._acquireMmapResource(lock=False)
        self._releaseMmapResource(lock=False)

    def closeMemory(self):
        """Kept for compatibility: the mapping is cached per process."""


def layout_fingerprint(cls):
    """libipmmap's 64-bit layout fingerprint of a ctypes structure class (the
    value `ipmmap header` puts in generated C headers)."""
    _layout.check_class(cls)
    return _schema_of(cls)[1]


def schema_text(cls):
    """The INI schema of a ctypes structure class, for C programs and the
    mount (ipmmapfs) to share the instance with this program."""
    _layout.check_class(cls)
    _schema_of(cls)
    return _layout.schema_text(cls)[0]
