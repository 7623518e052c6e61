"""Recurrent layers: RNN (tanh/relu), LSTM (with proj_size), GRU and their single-step cells
RNNCell, LSTMCell, GRUCell, with PyTorch's parameter names, shapes, order and initialisation
(uniform in +-1/sqrt(hidden_size)), so state dicts interchange with torch.nn's.

How a layer runs: the input projection `x @ W_ih.T + b_ih` of every time step is one matrix
product, then one registry op (`_rnn_layer`, julia/src/ops/recurrent.jl) runs the whole time loop
of a layer in one direction, and its backward (`_rnn_layer_backward`) the whole backpropagation
through time: two calls into Julia per layer and direction, however long the sequence. The cells,
and the projected LSTM (proj_size > 0), run the step functions of `_STEPS` instead. The
multi-layer, bidirectional and packed-sequence bookkeeping works on "time-major rows with batch
sizes": a padded input is the special case where every step has the whole batch, a PackedSequence
gives the (non-increasing) batch size of each step, so both run the same code.
"""
import math

from ..._tensor import empty as _empty
from ...creation import zeros as _zeros
from ...ops import ops as _ops
from .. import functional as F
from .. import init
from ..module import Module
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .linear import _factory_kwargs

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# ---- one time step (the cells and the projected LSTM): x_proj = x @ W_ih.T + b_ih is given -------

def _rnn_tanh_step(x_proj, state, w_hh, b_hh, w_hr=None):
    h = _ops.tanh(x_proj + F.linear(state, w_hh, b_hh))
    return h, h


def _rnn_relu_step(x_proj, state, w_hh, b_hh, w_hr=None):
    h = _ops.relu(x_proj + F.linear(state, w_hh, b_hh))
    return h, h


def _lstm_step(x_proj, state, w_hh, b_hh, w_hr=None):
    """i, f, g, o gates; c' = f*c + i*g, h' = o*tanh(c') (projected by W_hr when proj_size > 0)."""
    h, c = state
    i, f, g, o = (x_proj + F.linear(h, w_hh, b_hh)).chunk(4, 1)
    c = _ops.sigmoid(f) * c + _ops.sigmoid(i) * _ops.tanh(g)
    h = _ops.sigmoid(o) * _ops.tanh(c)
    if w_hr is not None:
        h = F.linear(h, w_hr)
    return h, (h, c)


def _gru_step(x_proj, state, w_hh, b_hh, w_hr=None):
    """r, z, n gates; n = tanh(x_n + r*(h @ W_hn.T + b_hn)), h' = (1-z)*n + z*h."""
    xr, xz, xn = x_proj.chunk(3, 1)
    hr, hz, hn = F.linear(state, w_hh, b_hh).chunk(3, 1)
    r = _ops.sigmoid(xr + hr)
    z = _ops.sigmoid(xz + hz)
    n = _ops.tanh(xn + r * hn)
    h = n + z * (state - n)
    return h, h


_STEPS = {"RNN_TANH": _rnn_tanh_step, "RNN_RELU": _rnn_relu_step, "LSTM": _lstm_step, "GRU": _gru_step}


def _check_unbatched(name, input, hx, batched_dims):
    """Whether `input` is batched (batched_dims) or unbatched (one fewer), with hx of matching rank."""
    if input.ndim not in (batched_dims, batched_dims - 1):
        raise ValueError(f"{name}: Expected input to be {batched_dims - 1}D or {batched_dims}D, got {input.ndim}D "
                         f"instead")
    batched = input.ndim == batched_dims
    hs = hx if isinstance(hx, tuple) else (hx,)
    for h in hs:
        if h is not None and h.ndim != batched_dims - (0 if batched else 1):
            kind = "batched" if batched else "unbatched"
            raise RuntimeError(f"{name}: For {kind} {batched_dims - (0 if batched else 1)}-D input, hx should also "
                               f"be {batched_dims - (0 if batched else 1)}-D but got {h.ndim}-D tensor")
    return batched


# ---- the recurrent layers ----------------------------------------------------------------------------

class RNNBase(Module):
    """What RNN, LSTM and GRU share: the parameters (weight_ih_l{k}[_reverse], weight_hh_l{k},
    bias_ih_l{k}, bias_hh_l{k}, weight_hr_l{k} for a projected LSTM), their initialisation and the
    layer/direction/time loops."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        fk = _factory_kwargs(dtype, device)
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes += [("weight_hr", (proj_size, hidden_size))]
                for name, shape in shapes:
                    setattr(self, name + suffix, Parameter(_empty(shape, **fk)))
                    self._flat_weights_names.append(name + suffix)
        self.reset_parameters()

    def reset_parameters(self):
        """Every weight and bias uniform in +-1/sqrt(hidden_size), as PyTorch."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def _flat_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        per = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional else 1))
        flat = self._flat_weights
        return [flat[i:i + per] for i in range(0, len(flat), per)]

    def flatten_parameters(self):
        """A no-op (PyTorch's compacts cuDNN weights), kept so that programs calling it run."""

    def _layer_weights(self, layer, direction):
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        get = lambda n: getattr(self, n + suffix, None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), get("weight_hr")

    def _state_sizes(self):
        """(hidden size of h, hidden size of c or None)."""
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        return real_hidden, (self.hidden_size if self.mode == "LSTM" else None)

    def _check_input(self, input, batch_sizes):
        expected = 2 if batch_sizes is not None else 3
        if input.ndim != expected:
            raise ValueError(f"input must have {expected} dimensions, got {input.ndim}")
        if self.input_size != input.shape[-1]:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                               f"{input.shape[-1]}")
        if not input.dtype.is_floating_point:
            raise ValueError(f"{type(self).__name__}: input must be floating point, got {input.dtype}")

    def _check_hidden(self, hx, expected, what="Expected hidden size"):
        if tuple(hx.shape) != tuple(expected):
            raise RuntimeError(f"{what} {tuple(expected)}, got {list(hx.shape)}")

    def forward(self, input, hx=None):
        """input (L, N, H_in) ((N, L, H_in) with batch_first, (L, H_in) unbatched, or a
        PackedSequence); hx (num_layers * num_directions, N, H_out) (for LSTM a pair (h_0, c_0),
        c of hidden_size). Returns (output, h_n) (for LSTM (output, (h_n, c_n)))."""
        name = type(self).__name__
        is_lstm = self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        D = 2 if self.bidirectional else 1
        h_size, c_size = self._state_sizes()
        if packed:
            data, batch_sizes, sorted_indices, unsorted_indices = input
            batch_sizes_list = [int(b) for b in batch_sizes.tolist()]
            N = batch_sizes_list[0]
            self._check_input(data, batch_sizes)
            batched = True
        else:
            sorted_indices = unsorted_indices = None
            if is_lstm and hx is not None and not isinstance(hx, tuple):
                raise RuntimeError(f"{name}: Expected hx to be a tuple (h_0, c_0)")
            batched = _check_unbatched(name, input, hx, 3)
            if not batched:
                input = input.unsqueeze(1)
                if hx is not None:
                    hx = tuple(h.unsqueeze(1) for h in hx) if is_lstm else hx.unsqueeze(1)
            elif self.batch_first:
                input = input.transpose(0, 1)
            self._check_input(input, None)
            L, N = input.shape[0], input.shape[1]
            batch_sizes_list = [N] * L
            data = input
        dtype = data.dtype
        if hx is None:
            h0 = _zeros((self.num_layers * D, N, h_size), dtype=dtype, device=data.device)
            c0 = _zeros((self.num_layers * D, N, c_size), dtype=dtype, device=data.device) if is_lstm else None
        else:
            if is_lstm:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise RuntimeError(f"{name}: Expected hx to be a tuple (h_0, c_0)")
                h0, c0 = hx
            else:
                h0, c0 = hx, None
            if sorted_indices is not None:
                h0 = h0.index_select(1, sorted_indices)
                c0 = c0.index_select(1, sorted_indices) if c0 is not None else None
            self._check_hidden(h0, (self.num_layers * D, N, h_size))
            if is_lstm:
                self._check_hidden(c0, (self.num_layers * D, N, c_size), "Expected hidden[1] size")

        output, h_n, c_n = _run_layers(self.mode, data, h0, c0, self._layer_weights, self.num_layers, D,
                                       self.dropout if self.training else 0.0, batch_sizes_list, packed)
        if unsorted_indices is not None:
            h_n = h_n.index_select(1, unsorted_indices)
            c_n = c_n.index_select(1, unsorted_indices) if is_lstm else None
        if packed:
            output = PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices)
        elif not batched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if is_lstm else None
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, ((h_n, c_n) if is_lstm else h_n)

    def extra_repr(self):
        """PyTorch's: the sizes, then each option that differs from its default."""
        defaults = (("proj_size", 0), ("num_layers", 1), ("bias", True), ("batch_first", False), ("dropout", 0),
                    ("bidirectional", False))
        return f"{self.input_size}, {self.hidden_size}" + "".join(
            f", {name}={getattr(self, name)}" for name, default in defaults if getattr(self, name) != default)


def _run_layers(mode, data, h0, c0, layer_weights, num_layers, D, dropout, batch_sizes, packed):
    """Every layer and direction over time-major rows `data` (see _run_direction) from initial
    states h0 (and c0 for LSTM), (num_layers * D, N, H); layer_weights(layer, direction) gives
    (w_ih, w_hh, b_ih, b_hh, w_hr). Dropout `dropout` between layers (not after the last).
    Returns (output, h_n, c_n), c_n None unless LSTM. RNNBase.forward and the torch-level
    jt.lstm / gru / rnn_tanh / rnn_relu (nn_functions.py) run this."""
    is_lstm = mode == "LSTM"
    layer_input = data
    h_n, c_n = [], []
    for layer in range(num_layers):
        outputs = []
        for direction in range(D):
            k = layer * D + direction
            state = (h0[k], c0[k]) if is_lstm else h0[k]
            out, final = _run_direction(mode, layer_input, state, batch_sizes, packed, direction == 1,
                                        layer_weights(layer, direction))
            outputs.append(out)
            if is_lstm:
                h_n.append(final[0])
                c_n.append(final[1])
            else:
                h_n.append(final)
        layer_input = outputs[0] if D == 1 else _ops.cat(outputs, -1)
        if dropout > 0 and layer < num_layers - 1:
            layer_input = F.dropout(layer_input, dropout, True)
    return layer_input, _ops.stack(h_n), (_ops.stack(c_n) if is_lstm else None)


def _run_direction(mode, x, state, batch_sizes, packed, reverse, weights):
    """One layer in one direction over time-major rows: x is (L, N, H_in) (padded) or the packed
    (sum(batch_sizes), H_in); step t uses the first batch_sizes[t] sequences (sizes never increase,
    so a sequence that ended keeps its last state). Returns (output in x's layout, final state).

    Unprojected layers run as one fused registry op (`_rnn_layer`, julia/src/ops/recurrent.jl: the
    whole time loop and its backward in Julia); a projected LSTM runs the step loop in Python."""
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    rows = x if packed else x.reshape(x.shape[0] * x.shape[1], x.shape[2])
    x_proj = F.linear(rows, w_ih, b_ih)           # every step's input projection: one product
    is_lstm = mode == "LSTM"
    if w_hr is None:
        empty = _zeros((0,), dtype=x_proj.dtype, device=x_proj.device)
        h0, c0 = state if is_lstm else (state, empty)
        out, h_n, c_n, _ = _ops._rnn_layer(mode.lower(), [x_proj, h0, c0, w_hh, empty if b_hh is None else b_hh],
                                           batch_sizes, reverse)
        final = (h_n, c_n) if is_lstm else h_n
    else:
        out, final = _step_loop(_STEPS[mode], x_proj, state, batch_sizes, reverse, w_hh, b_hh, w_hr, is_lstm)
    return (out if packed else out.reshape(x.shape[0], x.shape[1], out.shape[-1])), final


def _step_loop(step, x_proj, state, batch_sizes, reverse, w_hh, b_hh, w_hr, is_lstm):
    """_run_direction's time loop in Python, one `step` per time step (the projected LSTM's)."""
    offsets = [0]
    for b in batch_sizes:
        offsets.append(offsets[-1] + b)
    outputs = [None] * len(batch_sizes)
    finished = []                               # forward: rows whose sequence has ended
    full_state = state
    if reverse:
        state = _rows(state, 0, batch_sizes[-1], is_lstm)
    for t in (range(len(batch_sizes) - 1, -1, -1) if reverse else range(len(batch_sizes))):
        b = batch_sizes[t]
        cur = _rows_of(state, is_lstm)
        if not reverse and b < cur:
            finished.append(_rows(state, b, cur, is_lstm))
            state = _rows(state, 0, b, is_lstm)
        elif reverse and b > cur:
            state = _cat_rows([state, _rows(full_state, cur, b, is_lstm)], is_lstm)
        outputs[t], state = step(x_proj[offsets[t]:offsets[t + 1]], state, w_hh, b_hh, w_hr)
    if finished:
        state = _cat_rows([state] + finished[::-1], is_lstm)
    return _ops.cat(outputs, 0), state


def _rows(state, start, stop, is_lstm):
    return (state[0][start:stop], state[1][start:stop]) if is_lstm else state[start:stop]


def _rows_of(state, is_lstm):
    return (state[0] if is_lstm else state).shape[0]


def _cat_rows(states, is_lstm):
    if is_lstm:
        return _ops.cat([s[0] for s in states], 0), _ops.cat([s[1] for s in states], 0)
    return _ops.cat(states, 0)


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu, `nonlinearity`)."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:   # RNN(input_size, hidden_size, num_layers, nonlinearity, ...)
            nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", *args, **kwargs)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory (input, forget, cell and output gates), with an optional projection
    of h to proj_size (Sak et al., 2014)."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit (reset, update and new gates), as PyTorch (Cho et al., 2014)."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# ---- the cells ---------------------------------------------------------------------------------------

class RNNCellBase(Module):
    """What the cells share: weight_ih (G*H, H_in), weight_hh (G*H, H), bias_ih, bias_hh, uniform in
    +-1/sqrt(hidden_size); input (N, H_in) or unbatched (H_in)."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        fk = _factory_kwargs(dtype, device)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(_empty((num_chunks * hidden_size, input_size), **fk))
        self.weight_hh = Parameter(_empty((num_chunks * hidden_size, hidden_size), **fk))
        if bias:
            self.bias_ih = Parameter(_empty(num_chunks * hidden_size, **fk))
            self.bias_hh = Parameter(_empty(num_chunks * hidden_size, **fk))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _run(self, mode, input, hx):
        """One step of `mode` with this cell's weights; hx zeros when None."""
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} expected "
                               f"{self.input_size}")
        batched = input.ndim == 2
        is_lstm = mode == "LSTM"
        if hx is None:
            z = _zeros((input.shape[0], self.hidden_size) if batched else (self.hidden_size,), dtype=input.dtype,
                       device=input.device)
            hx = (z, z) if is_lstm else z
        for h in (hx if is_lstm else (hx,)):
            if h.ndim != input.ndim:
                raise RuntimeError(f"{name}: Expected hidden to be {input.ndim}D, got {h.ndim}D instead")
            if h.shape[-1] != self.hidden_size:
                raise RuntimeError(f"hidden has inconsistent hidden_size: got {h.shape[-1]}, expected "
                                   f"{self.hidden_size}")
            if batched and h.shape[0] != input.shape[0]:
                raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match hidden batch size "
                                   f"{h.shape[0]}")
        if not batched:
            input = input.unsqueeze(0)
            hx = tuple(h.unsqueeze(0) for h in hx) if is_lstm else hx.unsqueeze(0)
        _, state = _STEPS[mode](F.linear(input, self.weight_ih, self.bias_ih), hx, self.weight_hh, self.bias_hh)
        if not batched:
            state = tuple(s.squeeze(0) for s in state) if is_lstm else state.squeeze(0)
        return state


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        return self._run("RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU", input, hx)


class LSTMCell(RNNCellBase):
    """One LSTM step: returns (h', c')."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise RuntimeError("LSTMCell: Expected hx to be a tuple (h_0, c_0)")
        return self._run("LSTM", input, tuple(hx) if hx is not None else None)


class GRUCell(RNNCellBase):
    """One GRU step: returns h'."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return self._run("GRU", input, hx)
