"""Kubernetes integration: serve the devices of the CDI registry to a cluster.

- :mod:`.deviceplugin` -- a kubelet device plugin (API ``v1beta1``), one resource per CDI kind, answering
  ``Allocate`` with CDI device names (``cdi_devices``).
- :mod:`.dra` -- a DRA kubelet plugin (``v1.DRAPlugin``) that prepares ResourceClaims by writing transient CDI
  specs, and :mod:`.slices`, which publishes the node's devices as a ``resource.k8s.io/v1`` ResourceSlice.
- :mod:`.cli` -- the ``cdi kube device-plugin`` and ``cdi kube dra-plugin`` commands.

Importing this package is cheap: grpc, protobuf and the ``kubernetes`` client are imported by the modules
that need them (install the ``kube`` extra).
"""
