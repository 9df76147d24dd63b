"""What a weights file must hold: a validated network spec and a state dict that fits it.

Both weights formats (:mod:`hybrid.enhance.safetensors_file`, the released one, and
:mod:`hybrid.enhance.torch_file`, the bounded legacy path) end in a :class:`WeightsFile`
checked here. The expected tensor names and shapes come from building the network on
torch's ``meta`` device (no memory), so a file is compared against its architecture before a
single tensor is loaded, and absurd sizes are refused before anything is allocated.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import torch

from hybrid.enhance.nets import ARCHITECTURES
from hybrid.errors import WeightsError

#: Largest weights file read at all (bytes); larger files are refused before reading.
MAX_FILE_BYTES = 512 * 2**20
#: Most parameters a network may have (float32: 256 MiB); the largest release has 2.9M.
MAX_PARAMETERS = 64 * 2**20


@dataclass(frozen=True)
class NetworkSpec:
    """A network architecture (a name in :data:`hybrid.enhance.nets.ARCHITECTURES`) and its
    constructor arguments.

    An architecture declares the arguments a file may give and their ranges in its
    ``KWARG_LIMITS`` (EnhanceNet, SRNet: integers such as channels 1..1024, blocks 1..128,
    scale 2..4). One registered without them (a stand-in plugged in by code) takes plain
    JSON scalars; :func:`state_shapes` still bounds its size.

    Raises:
        WeightsError: unknown architecture, unknown argument, a value of the wrong type or
            out of range.
    """

    architecture: str
    kwargs: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.architecture, str) or self.architecture not in ARCHITECTURES:
            known = ", ".join(sorted(ARCHITECTURES))
            raise WeightsError(f"unknown architecture {shown(self.architecture)} (known: {known})")
        if not isinstance(self.kwargs, Mapping):
            kind = type(self.kwargs).__name__
            raise WeightsError(f"{self.architecture} kwargs must be a mapping, got {kind}")
        limits = getattr(ARCHITECTURES[self.architecture], "KWARG_LIMITS", None)
        for name, value in self.kwargs.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise WeightsError(
                    f"{self.architecture} argument {shown(name)} is not an identifier"
                )
            if limits is None:
                if not isinstance(value, (bool, int, float, str)):
                    kind = type(value).__name__
                    raise WeightsError(f"{self.architecture} {name}: a plain value, not {kind}")
                continue
            if name not in limits:
                raise WeightsError(f"{self.architecture} has no argument {name!r}")
            allowed = limits[name]
            if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
                raise WeightsError(
                    f"{self.architecture} {name} must be an integer "
                    f"{allowed.start}..{allowed.stop - 1}, got {shown(value)}"
                )
        object.__setattr__(self, "kwargs", MappingProxyType(dict(self.kwargs)))


@dataclass(frozen=True)
class WeightsFile:
    """The contents of a weights file after its checks.

    ``state``: tensor name -> floating-point CPU tensor; when ``spec`` is set, exactly the
    names and shapes of ``spec``'s network (:func:`check_state`). ``spec`` is None only for a
    bare state dict (accepted as ``hybrid train --init`` weights, not for decoding).
    """

    state: Mapping[str, torch.Tensor]
    spec: NetworkSpec | None


def make_spec(architecture: object, kwargs: object, source: str) -> NetworkSpec:
    """:class:`NetworkSpec` of untrusted values, with ``source`` named in any error."""
    try:
        return NetworkSpec(architecture, kwargs)  # type: ignore[arg-type]
    except WeightsError as exc:
        raise WeightsError(f"{source}: {exc}") from None


def state_shapes(spec: NetworkSpec, source: str) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor in ``spec``'s state dict, from a ``meta``-device build
    (nothing allocated).

    Raises:
        WeightsError: the network would have more than :data:`MAX_PARAMETERS` parameters, or
            its constructor refuses the arguments.
    """
    try:
        with torch.device("meta"):
            net = ARCHITECTURES[spec.architecture](**spec.kwargs)
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"{source}: {spec.architecture}: {first_line(exc)}") from None
    shapes = {name: tuple(t.shape) for name, t in net.state_dict().items()}
    count = sum(math.prod(s) for s in shapes.values())
    if count > MAX_PARAMETERS:
        raise WeightsError(
            f"{source}: {spec.architecture}({dict(spec.kwargs)}) would have {count:,} parameters "
            f"(at most {MAX_PARAMETERS:,} allowed)"
        )
    return shapes


def check_names_and_shapes(
    found: Mapping[str, tuple[int, ...]], expected: Mapping[str, tuple[int, ...]], source: str
) -> None:
    """Refuse unless ``found`` has exactly ``expected``'s names, each with its shape."""
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    if missing or unexpected:
        raise WeightsError(
            f"{source}: weights do not fit the architecture: missing {_few(missing)}, "
            f"unexpected {_few(unexpected)}"
        )
    for name, shape in expected.items():
        if tuple(found[name]) != shape:
            raise WeightsError(
                f"{source}: weights do not fit the architecture: {shown(name)} has shape "
                f"{list(found[name])}, expected {list(shape)}"
            )


def check_tensors(state: object, source: str) -> dict[str, torch.Tensor]:
    """``state`` as a dict of str -> dense floating-point CPU tensors, else WeightsError."""
    if not isinstance(state, Mapping):
        raise WeightsError(f"{source}: the state dict is a {type(state).__name__}, not a dict")
    for name, value in state.items():
        if not isinstance(name, str):
            raise WeightsError(f"{source}: state dict key {shown(name)} is not a string")
        if not isinstance(value, torch.Tensor):
            kind = type(value).__name__
            raise WeightsError(f"{source}: {shown(name)} is a {kind}, not a tensor")
        if value.layout != torch.strided or value.device.type != "cpu":
            raise WeightsError(f"{source}: {shown(name)} is not a dense CPU tensor")
        if not value.dtype.is_floating_point:
            raise WeightsError(f"{source}: {shown(name)} has dtype {value.dtype}, not a float type")
    return dict(state)


def check_state(state: object, spec: NetworkSpec, source: str) -> dict[str, torch.Tensor]:
    """``state`` checked as :func:`check_tensors`, with exactly ``spec``'s names and shapes."""
    tensors = check_tensors(state, source)
    shapes = {name: tuple(t.shape) for name, t in tensors.items()}
    check_names_and_shapes(shapes, state_shapes(spec, source), source)
    return tensors


def build_network(weights: WeightsFile, source: str) -> torch.nn.Module:
    """The eval-mode network of a checked :class:`WeightsFile` (float32, channels-last, no
    gradients); float16/bfloat16 tensors are cast on loading."""
    if weights.spec is None:
        raise WeightsError(f"{source} records no architecture: export it with `hybrid export`")
    spec = weights.spec
    net = ARCHITECTURES[spec.architecture](**spec.kwargs)
    try:
        net.load_state_dict(dict(weights.state))
    except RuntimeError as exc:  # checked before, so only a dtype oddity could get here
        raise WeightsError(f"{source}: do not fit {spec.architecture}: {first_line(exc)}") from None
    net.eval()
    net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # not in the stubs
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def _few(names: list[str], limit: int = 3) -> str:
    if not names:
        return "none"
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(map(shown, names[:limit])) + more


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters: untrusted names and values in a one-line
    error message (repr escapes newlines)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message, cut to ``limit`` characters."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__
