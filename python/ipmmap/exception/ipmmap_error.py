"""ipmmap_error.py - the exceptions of ipmmap.

The first four are those of Python IPMMAP, with the same names, bases and
messages. The others are new: each also derives from the built-in exception
the same mistake raises elsewhere in Python (TypeError for a wrong type,
ValueError for a value out of range, OSError for a file that cannot be
used...), so existing `except` clauses keep working.
"""


class IpMmapError(Exception):
    """Base of every exception of ipmmap."""

    def __init__(self):
        super().__init__()

    def __str__(self):
        return "error occurred in ipmmap"


class CreateFileIpMmapError(IpMmapError):
    """The manager could not make the mmap file (reason: libipmmap's message,
    new in this binding; the error it came from is its __cause__)."""

    def __init__(self, filePath, reason=None):
        super().__init__()
        self.filePath = filePath
        self.reason = reason

    def __str__(self):
        s = "{}: Failed to create a file for memory mapping of IPMMAP.".format(self.filePath)
        return s if not self.reason else "{} ({})".format(s, self.reason)


class StructNotFoundIpMmapError(IpMmapError):
    """No BaseMmapStructure subclass has the name given."""

    def __init__(self, structName):
        super().__init__()
        self.structName = structName

    def __str__(self):
        return "No ctypes.Structure named '{}' .".format(self.structName)


class CommonHeaderNotFoundIpMmapError(IpMmapError):
    """The structure does not start with MmapStructureHeader."""

    def __init__(self, structName):
        super().__init__()
        self.structName = structName

    def __str__(self):
        return ("Cannot use '{}' that does not insert "
                "'ipmmap.base_struct.MmapStructureHeader' the top of it.".format(self.structName))


class _Said(IpMmapError):
    """An error that carries its whole message (new in this binding)."""

    def __init__(self, message):
        Exception.__init__(self, message)
        self.message = message

    def __str__(self):
        return self.message


class KeyIpMmapError(_Said, AttributeError):
    """readData/writeData: no such field, index out of range, bad key."""


class TypeIpMmapError(_Said, TypeError):
    """A value or argument of the wrong type."""


class ValueIpMmapError(_Said, ValueError):
    """A value that does not fit its field (where ctypes would truncate)."""


class ClosedIpMmapError(_Said, ValueError):
    """Access outside a with block (or _acquireMmapResource), or after close()."""


class LayoutIpMmapError(_Said, TypeError):
    """A structure the library cannot lay out: not a ctypes.Structure, a
    union, a bit field, _pack_, a pointer, non-native byte order."""


class DeadlockIpMmapError(_Said, RuntimeError):
    """This thread would wait for a lock it holds itself on another accessor."""


class MapIpMmapError(IpMmapError, OSError):
    """The mmap or lock file cannot be used (libipmmap's message, errno)."""

    def __init__(self, errno, message, filename=None):
        OSError.__init__(self, errno, message, filename)
        self.message = message

    def __str__(self):
        return self.message


class MmapFileNotFoundIpMmapError(MapIpMmapError, FileNotFoundError):
    """The mmap file does not exist (an editor or reader before any manager)."""


class PermissionIpMmapError(MapIpMmapError, PermissionError):
    """The files may not be opened as asked."""
