"""Applying CDI container edits to an OCI runtime spec (a ``config.json`` dict).

``inject_edits`` is the reference's ``ContainerEdits.Apply`` made transactional;
``go_canonical`` re-encodes a document the way the reference's Go types do.
"""

from __future__ import annotations

from cdikit._lazy import lazy_getattr
from cdikit.oci.edits import HOOK_NAMES, inject_edits
from cdikit.oci.hostdev import FilledNode, HostDevice, fill_device_node, lookup_host_device

TYPE_CHECKING = False  # not typing's: runtime hooks import this on every container start
if TYPE_CHECKING:
    from cdikit.oci.canonical import go_canonical

__all__ = [
    "HOOK_NAMES",
    "FilledNode",
    "HostDevice",
    "fill_device_node",
    "go_canonical",
    "inject_edits",
    "lookup_host_device",
]


# Injection never needs the canonical re-encoder: load it on first use only.
__getattr__ = lazy_getattr(__name__, {"go_canonical": "cdikit.oci.canonical"})
