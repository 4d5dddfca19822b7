"""ipmmap - Python IPMMAP's API on libipmmap (a CPython extension in C).

    from ipmmap import DataStructMmapManager, DataStructMmapEditor, DataStructMmapReader

Same classes, arguments, files (<mmapDir>/<Struct>_<tag>.mmap) and locks
(<fastenerDir>/<Struct>_<tag>.lockfile) as Python IPMMAP, so programs on either
package, C programs and the ipmmapfs mount share one instance. See the README's
"From Python" section for what differs.
"""
from .struct_mmap_manager import DataStructMmapReader
from .struct_mmap_manager import DataStructMmapEditor
from .struct_mmap_manager import DataStructMmapManager
from .struct_mmap_manager import layout_fingerprint, schema_text

__version__ = "0.1.0"

__all__ = ["mmap_manager", "struct_mmap_manager"]
