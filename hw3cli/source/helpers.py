"""The few names torchvision's model files import from its other files, written out.

torchvision's model files import helpers (``Conv2dNormActivation``, ``SqueezeExcitation``
and ``Permute`` from ``..ops.misc``, ``StochasticDepth`` from ``..ops``,
``_make_divisible`` from ``._utils``, the weights enums of ``._api``). hw3 does not
follow imports into other files; these are short Python equivalents of the helpers,
read by the same interpreter as the model (never run by Python). Any other imported name
stays unknown (exit 3 where the model needs it); an imported decorator is taken as the
identity, with a warning.
"""

from __future__ import annotations

import ast
from typing import Any

HELPERS = """
import torch
from torch import nn


def _log_api_usage_once(obj):
    pass


def _make_divisible(v, divisor, min_value=None):
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _ovewrite_named_param(kwargs, param, new_value):
    if param in kwargs:
        if kwargs[param] != new_value:
            raise ValueError(f"The parameter '{param}' expected value {new_value} but got "
                             f"{kwargs[param]} instead.")
    else:
        kwargs[param] = new_value


class Weights:
    def __init__(self, url, transforms, meta):
        self.url = url
        self.transforms = transforms
        self.meta = meta


class ImageClassification:
    def __init__(self, crop_size, resize_size=256, interpolation=None, antialias=True):
        self.crop_size = crop_size


_IMAGENET_CATEGORIES = ["(category)"] * 1000


class ConvNormActivation(nn.Sequential):
    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=None, groups=1,
                 norm_layer=nn.BatchNorm2d, activation_layer=nn.ReLU, dilation=1, inplace=True,
                 bias=None, conv_layer=nn.Conv2d):
        if padding is None:
            if isinstance(kernel_size, int) and isinstance(dilation, int):
                padding = (kernel_size - 1) // 2 * dilation
            else:
                sequence = (list, tuple)
                n = len(kernel_size) if isinstance(kernel_size, sequence) else len(dilation)
                if not isinstance(kernel_size, sequence):
                    kernel_size = (kernel_size,) * n
                if not isinstance(dilation, sequence):
                    dilation = (dilation,) * n
                padding = tuple((kernel_size[i] - 1) // 2 * dilation[i] for i in range(n))
        if bias is None:
            bias = norm_layer is None
        layers = [conv_layer(in_channels, out_channels, kernel_size, stride, padding,
                             dilation=dilation, groups=groups, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            params = {} if inplace is None else {"inplace": inplace}
            layers.append(activation_layer(**params))
        super().__init__(*layers)
        self.out_channels = out_channels


class SqueezeExcitation(nn.Module):
    def __init__(self, input_channels, squeeze_channels, activation=nn.ReLU,
                 scale_activation=nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def _scale(self, input):
        scale = self.avgpool(input)
        scale = self.fc1(scale)
        scale = self.activation(scale)
        scale = self.fc2(scale)
        return self.scale_activation(scale)

    def forward(self, input):
        scale = self._scale(input)
        return scale * input


class Permute(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return torch.permute(x, self.dims)


StochasticDepth = nn.StochasticDepth


class Conv2dNormActivation(ConvNormActivation):
    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=None, groups=1,
                 norm_layer=nn.BatchNorm2d, activation_layer=nn.ReLU, dilation=1, inplace=True,
                 bias=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, groups,
                         norm_layer, activation_layer, dilation, inplace, bias, nn.Conv2d)
"""

NAMES = frozenset(
    {
        "_log_api_usage_once",
        "_make_divisible",
        "_ovewrite_named_param",
        "Weights",
        "ImageClassification",
        "_IMAGENET_CATEGORIES",
        "ConvNormActivation",
        "Conv2dNormActivation",
        "SqueezeExcitation",
        "Permute",
        "StochasticDepth",
    }
)


def helper(interp: Any, name: str) -> Any:
    """The helper ``name`` (interpreted once per run), or None when hw3 has none."""
    from hw3cli.source.interpreter import Interpreter

    if name == "WeightsEnum":
        from hw3cli.source.values import Builtin

        return Builtin("WeightsEnum", lambda call: None, is_class=True)
    if name not in NAMES:
        return None
    cache = getattr(interp, "_helpers", None)
    if cache is None:
        inner = Interpreter(
            HELPERS, ast.parse(HELPERS), "hw3's torchvision helpers", interp.training
        )
        inner.run_module()
        cache = inner.globals.vars
        interp._helpers = cache
    return cache.get(name)
