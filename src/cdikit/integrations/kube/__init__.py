"""Kubernetes integration: serve the devices of the CDI registry to a cluster.

- :mod:`.deviceplugin` -- a kubelet device plugin (API ``v1beta1``), one resource per CDI kind, answering
  ``Allocate`` with CDI device names (``cdi_devices``).
- :mod:`.dra` -- a DRA kubelet plugin (``v1.DRAPlugin``) that prepares ResourceClaims by writing transient CDI
  specs, and :mod:`.slices`, which publishes the node's devices as a ``resource.k8s.io/v1`` ResourceSlice.

Importing this package is cheap: grpc, protobuf and the ``kubernetes`` client are imported by the modules
that need them (install the ``kube`` extra). The ``cdi kube device-plugin`` and
``cdi kube dra-plugin`` commands (``cdikit.cli._kube``) use the names below.
"""

from __future__ import annotations

from cdikit._lazy import lazy_getattr

TYPE_CHECKING = False  # not typing's: see cdikit/__init__.py
if TYPE_CHECKING:
    from cdikit.integrations.kube._inventory import DeviceWatch
    from cdikit.integrations.kube._klog import setup_logging

__all__ = ["DeviceWatch", "setup_logging"]

__getattr__ = lazy_getattr(__name__, {"DeviceWatch": "._inventory", "setup_logging": "._klog"})
