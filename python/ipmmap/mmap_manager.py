"""mmap_manager.py - the defaults and the abstract base of the accessors, where
Python IPMMAP has them. The work is done by the C extension (ipmmap._ipmmap)
on libipmmap: see struct_mmap_manager.py.
"""
import logging

from . import _ipmmap

DEFAULT_MMAP_FILE_DIR = "./.mmap"
DEFAULT_FASTENERS_FILE_DIR = "./.fasteners"

DEFAULT_LOGGER = logging.getLogger(__name__)


class AbstractMmapManger(_ipmmap.Accessor):
    """Base of the accessors (the spelling is Python IPMMAP's).

    A with block takes the lock (read lock for a reader, write lock for an
    editor or manager) and releases it at the end; the mapping itself is
    made once per process and kept, so a block costs the two lock calls.
    """
    editable = False
    logger = DEFAULT_LOGGER
