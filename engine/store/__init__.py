"""The Zarr v3 store: layout names, opening/initialising, inspection."""

from engine.store import layout
from engine.store.core import (
    build_vocab,
    init_store,
    open_activations,
    open_complete,
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
    "open_activations",
    "open_complete",
    "open_store",
    "read_lock",
    "read_strings",
    "remove_group",
    "store_info",
    "store_lock",
    "write_array_1d",
]
