"""Loaders: any gateway's logs in, canonical chargeback records out (see ``pipeline``)."""

from auditor.loaders.detect import get_mapping, presets
from auditor.loaders.mapping import MappingError
from auditor.loaders.pipeline import InputFile, Loaded, Reject, connect, load
from auditor.loaders.sources import InputError

__all__ = ["InputError", "InputFile", "Loaded", "MappingError", "Reject", "connect", "get_mapping", "load", "presets"]
