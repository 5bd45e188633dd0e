"""``cdi kube device-plugin`` and ``cdi kube dra-plugin``: serve the node's CDI devices to the kubelet.

Only argparse is imported here; grpc, protobuf and the ``kubernetes`` client load when a command runs.
"""

from __future__ import annotations

import argparse
import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cdikit.registry import Registry

__all__ = ["register"]

_DEVICE_PLUGIN_HELP = """\
Registers one kubelet device plugin (API v1beta1) per CDI kind at
<plugin-dir>/kubelet.sock. Device IDs are the CDI device names; Allocate answers
with the CDI names (cdi_devices), which the kubelet passes to the runtime.
Survives kubelet restarts (re-registers); stops cleanly on SIGTERM.

example:
  cdi -d /etc/cdi -d /var/run/cdi kube device-plugin --resource nvidia.com/gpu
  cdi kube device-plugin --resource vendor.com/fpga=example.com/fpga --annotations
"""

_DRA_PLUGIN_HELP = """\
Registers DRA driver NAME with the kubelet plugin watcher (service v1.DRAPlugin),
publishes the node's CDI devices as a resource.k8s.io/v1 ResourceSlice, and on
NodePrepareResources writes a transient CDI spec per claim into the
highest-priority spec dir, returning its CDI device ids.

example:
  cdi -d /etc/cdi -d /var/run/cdi kube dra-plugin --driver cdi.example.com \\
      --node-name "$NODE_NAME" --kind vendor.com/gpu
"""


def _add_common(parser: argparse.ArgumentParser) -> None:
    from cdikit.cli._common import honour_global_options

    # The cdi global options (add_command gives them), so "cdi -d X kube ..." and
    # "cdi kube ... -d X" both work; -o and -s have no use in a long-running plugin.
    honour_global_options(parser, ("spec-dirs",))
    parser.add_argument(
        "--include-all",
        action="store_true",
        help="also advertise each kind's 'all' device (default: excluded)",
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how often to check sockets and the registry (default: 1)",
    )


def _add_dir_option(parser: argparse.ArgumentParser, flag: str, default: str, what: str = "") -> None:
    # The help repeats the default path, so it is written once here.
    parser.add_argument(
        flag,
        default=default,
        metavar="DIR",
        help=f"{what} (default: {default})" if what else f"default: {default}",
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``kube`` command group to the ``cdi`` parser."""
    from cdikit.cli._common import add_command, add_command_group

    actions = add_command_group(
        subparsers,
        "kube",
        "serve CDI devices to Kubernetes (device plugin, DRA kubelet plugin)",
        "Serve the devices of the CDI spec dirs to the kubelet.",
        dest="kube_action",
        metavar="ACTION",
    )
    dp = add_command(
        actions, "device-plugin", "run a kubelet device plugin per CDI kind", _DEVICE_PLUGIN_HELP
    )
    _add_common(dp)
    dp.add_argument(
        "--resource",
        action="append",
        default=[],
        metavar="KIND[=RESOURCE]",
        help="CDI kind to serve, optionally under another extended resource name; repeat "
        "(default: every kind present at start, each under its own name)",
    )
    _add_dir_option(dp, "--plugin-dir", "/var/lib/kubelet/device-plugins", "kubelet device-plugin directory")
    dp.add_argument(
        "--annotations", action="store_true", help="also return cdi.k8s.io/ annotations (for older runtimes)"
    )
    dp.set_defaults(func=_run_device_plugin)

    dra = add_command(
        actions, "dra-plugin", "run a DRA kubelet plugin and publish a ResourceSlice", _DRA_PLUGIN_HELP
    )
    _add_common(dra)
    dra.add_argument(
        "--driver",
        default=os.environ.get("DRA_DRIVER_NAME"),
        metavar="NAME",
        help="DRA driver name, a DNS subdomain (default: $DRA_DRIVER_NAME)",
    )
    dra.add_argument(
        "--node-name",
        default=os.environ.get("NODE_NAME"),
        metavar="NODE",
        help="this node (default: $NODE_NAME)",
    )
    dra.add_argument(
        "--kind", action="append", default=[], metavar="KIND", help="CDI kind to offer; repeat (default: all)"
    )
    _add_dir_option(dra, "--plugins-dir", "/var/lib/kubelet/plugins")
    _add_dir_option(
        dra, "--registry-dir", "/var/lib/kubelet/plugins_registry", "kubelet plugin-watcher directory"
    )
    dra.add_argument(
        "--kubeconfig", metavar="FILE", help="kubeconfig (default: in-cluster, then ~/.kube/config)"
    )
    dra.add_argument("--server", metavar="URL", help="API server URL without credentials (testing)")
    dra.add_argument("--no-slices", action="store_true", help="do not publish a ResourceSlice")
    dra.set_defaults(func=_run_dra_plugin)


def _stop_on_signals() -> threading.Event:
    import signal

    stop = threading.Event()

    def handle(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop


def _registry(args: argparse.Namespace) -> Registry:
    from cdikit.errors import RegistryError
    from cdikit.registry import Registry

    registry = Registry(list(args.spec_dirs), auto_refresh=True)
    try:
        registry.refresh()
    except RegistryError:
        pass  # broken files are logged by the watch and left out; the rest is served
    return registry


def _missing_extra(err: ModuleNotFoundError) -> Exception:
    """One line with the fix, instead of a traceback, when the ``kube`` extra is not installed."""
    from cdikit.cli._common import UsageError

    name = (err.name or "grpc").partition(".")[0]
    return UsageError(
        f"{name} is not installed; the kube commands need the kube extra: pip install 'cdikit[kube]'"
    )


def _run_device_plugin(args: argparse.Namespace) -> int:
    from cdikit.cli._common import UsageError
    from cdikit.integrations.kube import setup_logging

    try:
        from cdikit.integrations.kube.deviceplugin import DevicePluginConfig, DevicePluginManager, Resource
    except ModuleNotFoundError as err:
        raise _missing_extra(err) from None

    setup_logging(args.verbose)
    try:
        resources = [Resource.parse(text) for text in args.resource]
    except ValueError as err:
        raise UsageError(f"--resource: {err}") from err
    config = DevicePluginConfig(
        resources=resources,
        plugin_dir=args.plugin_dir,
        include_all=args.include_all,
        annotations=args.annotations,
        poll_interval=args.poll_interval,
    )
    stop = _stop_on_signals()
    registry = _registry(args)
    try:
        DevicePluginManager(registry, config).run(stop)
    finally:
        registry.close()
    return 0


def _api_client(args: argparse.Namespace) -> Any:
    """The API client; :class:`UsageError` (one line, exit 2) when there is no way to reach the API."""
    from kubernetes import client
    from kubernetes import config as kube_config

    from cdikit.cli._common import UsageError

    try:
        return _load_api_client(args, client, kube_config)
    except (kube_config.ConfigException, OSError) as err:
        where = (
            f"--kubeconfig {args.kubeconfig}" if args.kubeconfig else "not in a cluster and no ~/.kube/config"
        )
        raise UsageError(
            f"cannot reach the Kubernetes API ({where}: {err}); give --kubeconfig FILE (or --server URL)"
        ) from None


def _load_api_client(args: argparse.Namespace, client: Any, kube_config: Any) -> Any:
    # The config loaders are untyped; Any keeps mypy --strict quiet about them.
    config: Any = kube_config
    configuration = client.Configuration()
    if args.server:
        configuration.host = args.server
    elif args.kubeconfig:
        config.load_kube_config(config_file=args.kubeconfig, client_configuration=configuration)
    else:
        try:
            config.load_incluster_config(client_configuration=configuration)
        except config.ConfigException:
            config.load_kube_config(client_configuration=configuration)
    return client.ApiClient(configuration)


def _run_dra_plugin(args: argparse.Namespace) -> int:
    from cdikit.cli._common import UsageError
    from cdikit.integrations.kube import DeviceWatch, setup_logging

    try:
        import kubernetes  # noqa: F401  (the API client: checked before anything starts)

        from cdikit.integrations.kube.dra import DRAPlugin, DRAPluginConfig, KubeClaimSource
        from cdikit.integrations.kube.slices import ResourceSlicePublisher
    except ModuleNotFoundError as err:
        raise _missing_extra(err) from None

    if not args.driver:
        raise UsageError("--driver (or $DRA_DRIVER_NAME) is required")
    if not args.node_name:
        raise UsageError("--node-name (or $NODE_NAME) is required")
    setup_logging(args.verbose)
    config = DRAPluginConfig(
        driver_name=args.driver,
        node_name=args.node_name,
        kinds=args.kind,
        include_all=args.include_all,
        plugins_dir=args.plugins_dir,
        registry_dir=args.registry_dir,
        poll_interval=args.poll_interval,
    )
    api_client = _api_client(args)  # first: a missing kubeconfig must fail before anything starts
    stop = _stop_on_signals()
    registry = _registry(args)
    watch = DeviceWatch(registry, config.kinds, include_all=config.include_all, interval=config.poll_interval)
    publisher = None
    try:
        watch.start()
        plugin = DRAPlugin(registry, KubeClaimSource(api_client), config, watch)
        if not args.no_slices:
            publisher = ResourceSlicePublisher(
                api_client, watch, driver=config.driver_name, node_name=config.node_name
            )
            publisher.start()
        plugin.run(stop)
    finally:
        watch.stop()
        if publisher is not None:
            publisher.stop()
        registry.close()
    return 0
