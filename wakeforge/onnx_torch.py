"""Run openWakeWord's frontend ONNX graphs with torch, so feature extraction can run on a GPU.

In: an ``onnx.ModelProto`` using only the operators of ``melspectrogram.onnx`` and
``embedding_model.onnx`` (conv STFT, mel matmul, log; 20 convolutions with max-pools).
Out: a ``torch.nn.Module`` that evaluates the graph node by node with torch operators, weights as
buffers, on any device, for any batch size (and any sequence length the graph allows).

Written here rather than taken from a library: onnx2torch requires torchvision, which pins a torch
release of its own (installing it replaced this project's torch), and onnxruntime's CUDA build is a
separate package that conflicts with the CPU one. The frontend needs only the operators below, and
the tests check the outputs against onnxruntime.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from onnx import ModelProto, helper, numpy_helper

from .errors import WakeforgeError


def _conv(x, w, b=None, *, strides=(1, 1), pads=None, dilations=(1, 1), group=1, **_):
    dims = w.dim() - 2
    pads = list(pads or [0] * 2 * dims)
    begin, end = pads[:dims], pads[dims:]
    if begin != end:  # asymmetric: pad explicitly (torch's order is last axis first)
        x = F.pad(x, [p for axis in reversed(range(dims)) for p in (begin[axis], end[axis])])
        begin = [0] * dims
    conv = F.conv1d if dims == 1 else F.conv2d
    return conv(x, w, b, stride=tuple(strides), padding=tuple(begin), dilation=tuple(dilations), groups=group)


def _maxpool(x, *, kernel_shape, strides=None, pads=None, ceil_mode=0, **_):
    if pads and any(pads):
        raise WakeforgeError("MaxPool with padding is not supported by the torch frontend")
    return F.max_pool2d(x, tuple(kernel_shape), tuple(strides or kernel_shape), ceil_mode=bool(ceil_mode))


def _reshape(x, shape, **_):
    dims = [x.shape[i] if int(d) == 0 else int(d) for i, d in enumerate(shape.tolist())]
    return x.reshape(dims)


def _unsqueeze(x, axes=None, **attrs):
    axes = attrs.get("axes") if axes is None else axes.tolist()
    for axis in sorted(int(a) if a >= 0 else int(a) + x.dim() + 1 for a in axes):
        x = x.unsqueeze(axis)
    return x


def _reducemax(x, *, axes=None, keepdims=1, **_):
    if not axes:
        out = x.amax()
        return out.reshape([1] * x.dim()) if keepdims else out
    return x.amax(dim=tuple(axes), keepdim=bool(keepdims))


def _clip(x, low=None, high=None, **_):
    return torch.clamp(x, min=low, max=high)


def _max(*xs, **_):
    out = xs[0]
    for other in xs[1:]:
        out = torch.maximum(out, other)
    return out


OPS = {
    "Add": lambda a, b, **_: a + b,
    "Sub": lambda a, b, **_: a - b,
    "Mul": lambda a, b, **_: a * b,
    "Div": lambda a, b, **_: a / b,
    "Pow": lambda a, b, **_: torch.pow(a, b),
    "MatMul": lambda a, b, **_: torch.matmul(a, b),
    "Log": lambda a, **_: torch.log(a),
    "Cast": lambda a, **_: a.float(),
    "Transpose": lambda a, *, perm, **_: a.permute(*perm),
    "LeakyRelu": lambda a, *, alpha=0.01, **_: F.leaky_relu(a, alpha),
    "Conv": _conv,
    "MaxPool": _maxpool,
    "Reshape": _reshape,
    "Unsqueeze": _unsqueeze,
    "ReduceMax": _reducemax,
    "Clip": _clip,
    "Max": _max,
}


class OnnxModule(torch.nn.Module):
    """An ONNX graph (single input, single output) evaluated with torch operators."""

    def __init__(self, model: ModelProto):
        super().__init__()
        graph = model.graph
        unsupported = sorted({n.op_type for n in graph.node if n.op_type not in OPS and n.op_type != "Constant"})
        if unsupported:
            raise WakeforgeError(f"the torch frontend does not support ONNX operators {', '.join(unsupported)}")
        self.input_name = graph.input[0].name
        self.output_name = graph.output[0].name
        self._names: dict[str, str] = {}
        for init in graph.initializer:
            self._register(init.name, torch.from_numpy(numpy_helper.to_array(init).copy()))
        self.nodes = []
        for node in graph.node:
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            if node.op_type == "Constant":
                self._register(node.output[0], torch.from_numpy(numpy_helper.to_array(attrs["value"]).copy()))
                continue
            attrs = {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in attrs.items()}
            self.nodes.append((node.op_type, list(node.input), node.output[0], attrs))

    def _register(self, name: str, value: torch.Tensor) -> None:
        key = f"c{len(self._names)}"
        self._names[name] = key
        self.register_buffer(key, value.float() if value.is_floating_point() else value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: dict[str, torch.Tensor | None] = {self.input_name: x, "": None}
        for name, key in self._names.items():
            values[name] = getattr(self, key)
        for op, inputs, output, attrs in self.nodes:
            values[output] = OPS[op](*(values[i] for i in inputs), **attrs)
        return values[self.output_name]
