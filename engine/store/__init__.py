"""The Zarr v3 store: layout names, opening/initialising, the artefact layer, inspection."""

from engine.store import layout
from engine.store.artefacts import is_complete, open_activations, open_artefact, read_artefact, write_artefact
from engine.store.core import (
    build_vocab,
    init_store,
    open_store,
    read_strings,
    remove_group,
    store_info,
    write_array_1d,
)
from engine.store.lock import read_lock, store_lock

__all__ = [
    "layout",
    "build_vocab",
    "init_store",
    "is_complete",
    "open_activations",
    "open_artefact",
    "open_store",
    "read_artefact",
    "read_lock",
    "read_strings",
    "remove_group",
    "store_info",
    "store_lock",
    "write_array_1d",
    "write_artefact",
]
