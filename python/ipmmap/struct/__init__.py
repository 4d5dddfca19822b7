"""ipmmap.struct: the structures every mappable ctypes structure builds on."""
from .base_struct import BaseMmapStructure, MmapStructureHeader

__all__ = ["base_struct"]
