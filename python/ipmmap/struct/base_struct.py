"""base_struct.py - the two structures user structures are built from.

BaseMmapStructure is the class user structures derive from so that an accessor
finds them by name; MmapStructureHeader is the common header every mappable
structure starts with (libipmmap's built-in header, 16 bytes).
"""
import ctypes
import weakref

# name -> weak references to the classes of that name, oldest first: the
# accessors look a structure up here by name (the first one still alive wins,
# as the first of type.__subclasses__() does).
_registry = {}


def _forget(ref, name=None):
    refs = _registry.get(name)
    if refs is not None:
        refs[:] = [r for r in refs if r is not ref and r() is not None]
        if not refs:
            del _registry[name]


def find(name):
    """The oldest live BaseMmapStructure subclass called name, or None."""
    for ref in _registry.get(name, ()):
        cls = ref()
        if cls is not None:
            return cls
    return None


class BaseMmapStructure(ctypes.Structure):
    """Base of the user's structures: a subclass (at any depth) is found by
    its class name by DataStructMmapManager, ...Editor and ...Reader."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        name = cls.__name__
        _registry.setdefault(name, []).append(
            weakref.ref(cls, lambda ref, name=name: _forget(ref, name)))


class MmapStructureHeader(ctypes.Structure):
    """The common header: header_code (0x1128 in a file made by a manager)
    and time_stamp (UNIX time of the last update, a double)."""
    _fields_ = (
        ("header_code", ctypes.c_short),
        ("time_stamp", ctypes.c_double),
    )
