"""hw3: shapes and gradients of the building blocks of convolutional networks.

The command line is ``hw3``; the same mathematics is available as plain, typed functions:

    >>> from hw3cli import conv_layer, LayerSpec
    >>> conv_layer(LayerSpec(kernel=(3, 3)), (32, 32)).output
    (30, 30)

Names are imported on first use, so ``import hw3cli`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_API = {
    "LayerSpec": "hw3cli.core.conv",
    "LayerResult": "hw3cli.core.conv",
    "AxisResult": "hw3cli.core.conv",
    "conv_layer": "hw3cli.core.conv",
    "same_padding": "hw3cli.core.conv",
    "batchnorm": "hw3cli.core.batchnorm",
    "batchnorm_forward": "hw3cli.core.batchnorm",
    "batchnorm_backward": "hw3cli.core.batchnorm",
    "batchnorm_dx_compact": "hw3cli.core.batchnorm",
    "gradcheck_batchnorm": "hw3cli.core.batchnorm",
    "BatchNormResult": "hw3cli.core.batchnorm",
    "check_gradient": "hw3cli.core.gradcheck",
    "Targets": "hw3cli.core.softmax",
    "SoftmaxResult": "hw3cli.core.softmax",
    "cross_entropy": "hw3cli.core.softmax",
    "gradcheck_cross_entropy": "hw3cli.core.softmax",
    "log_softmax": "hw3cli.core.softmax",
    "softmax": "hw3cli.core.softmax",
    "softmax_jacobian": "hw3cli.core.softmax",
    "InputError": "hw3cli.errors",
    "CheckFailed": "hw3cli.errors",
}

__all__ = [
    "AxisResult",
    "BatchNormResult",
    "CheckFailed",
    "InputError",
    "LayerResult",
    "LayerSpec",
    "SoftmaxResult",
    "Targets",
    "__version__",
    "batchnorm",
    "batchnorm_backward",
    "batchnorm_dx_compact",
    "batchnorm_forward",
    "check_gradient",
    "conv_layer",
    "cross_entropy",
    "gradcheck_batchnorm",
    "gradcheck_cross_entropy",
    "log_softmax",
    "same_padding",
    "softmax",
    "softmax_jacobian",
]

if TYPE_CHECKING:
    from hw3cli.core.batchnorm import (
        BatchNormResult,
        batchnorm,
        batchnorm_backward,
        batchnorm_dx_compact,
        batchnorm_forward,
        gradcheck_batchnorm,
    )
    from hw3cli.core.conv import AxisResult, LayerResult, LayerSpec, conv_layer, same_padding
    from hw3cli.core.gradcheck import check_gradient
    from hw3cli.core.softmax import (
        SoftmaxResult,
        Targets,
        cross_entropy,
        gradcheck_cross_entropy,
        log_softmax,
        softmax,
        softmax_jacobian,
    )
    from hw3cli.errors import CheckFailed, InputError


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'hw3cli' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
