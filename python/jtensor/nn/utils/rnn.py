"""`jt.nn.utils.rnn`: batches of sequences of different lengths, as torch.nn.utils.rnn: padding
(`pad_sequence`, `unpad_sequence`) and packed sequences (PackedSequence, pack_padded_sequence,
pad_packed_sequence, pack_sequence, unpack_sequence), which the recurrent layers accept.

A PackedSequence holds the rows of a batch time step by time step, with the sequences sorted by
decreasing length: `data` is (sum(lengths), *), `batch_sizes[t]` the number of sequences still
running at step t. Packing and unpacking are one differentiable gather each (a row index per
output row, the padding value as one extra row), so gradients flow back to the padded input.
"""
from collections import namedtuple

from ... import dtypes as _D
from ...creation import full as _full
from ..._tensor import Tensor
from ..._tensor import tensor as _tensor
from ...ops import ops as _ops

__all__ = ["pad_sequence", "unpad_sequence", "PackedSequence", "pack_padded_sequence", "pad_packed_sequence",
           "pack_sequence", "unpack_sequence", "invert_permutation"]


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """(data, batch_sizes, sorted_indices, unsorted_indices), as torch's: sorted_indices[i] is the
    batch position of the i-th longest sequence, unsorted_indices its inverse (None when the batch
    came sorted)."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            raise TypeError("PackedSequence: batch_sizes is required (build one with pack_padded_sequence)")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """The same packing with `data` converted by Tensor.to (indices stay int64)."""
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else type(self)(data, self.batch_sizes, self.sorted_indices,
                                                         self.unsorted_indices)

    def float(self):
        return self.to(_D.float32)

    def double(self):
        return self.to(_D.float64)

    @property
    def is_cuda(self):
        return False

    def is_pinned(self):
        return False


def invert_permutation(permutation):
    """The inverse of an index permutation (None stays None)."""
    if permutation is None:
        return None
    order = [int(i) for i in permutation.tolist()]
    inverse = [0] * len(order)
    for position, index in enumerate(order):
        inverse[index] = position
    return _tensor(inverse, dtype=_D.int64)


def _lengths_list(lengths):
    values = lengths.tolist() if hasattr(lengths, "tolist") else list(lengths)
    return [int(v) for v in values]


def _batch_sizes(sorted_lengths):
    """How many of the (decreasingly sorted) sequences are still running at each step."""
    return [sum(1 for n in sorted_lengths if n > t) for t in range(sorted_lengths[0])]


def _sorted_order(lengths, enforce_sorted):
    """The batch positions by decreasing length (None when already sorted and enforce_sorted)."""
    if enforce_sorted:
        if any(a < b for a, b in zip(lengths, lengths[1:])):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                               "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence "
                               "to sidestep this requirement if you do not need ONNX exportability.")
        return None
    return sorted(range(len(lengths)), key=lambda i: -lengths[i])


def _pack(rows, starts, stride, lengths, order, enforce_sorted):
    """PackedSequence of `rows` ((n, *) tensor) where sequence b's step t is row starts[b] + t * stride."""
    if order is None:
        order = list(range(len(lengths)))
    sorted_lengths = [lengths[b] for b in order]
    batch_sizes = _batch_sizes(sorted_lengths)
    index = [starts[order[i]] + t * stride for t, size in enumerate(batch_sizes) for i in range(size)]
    data = rows[_tensor(index, dtype=_D.int64)]
    sorted_indices = None if enforce_sorted else _tensor(order, dtype=_D.int64)
    return PackedSequence(data, _tensor(batch_sizes, dtype=_D.int64), sorted_indices, None)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) ((B, T, *) with batch_first) of sequences of `lengths`
    (a list or an int64 tensor). With enforce_sorted the lengths must decrease; otherwise the
    batch is sorted here and the PackedSequence remembers the order."""
    lengths = _lengths_list(lengths)
    if input.ndim < 2:
        raise ValueError(f"pack_padded_sequence: input must have at least 2 dims, got {input.ndim}")
    T, B = (input.shape[1], input.shape[0]) if batch_first else (input.shape[0], input.shape[1])
    if len(lengths) != B:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {len(lengths)} (batch_size="
                           f"{B})")
    if any(n <= 0 for n in lengths):
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' that "
                           "is <= 0")
    if max(lengths) > T:
        raise RuntimeError(f"pack_padded_sequence: a length of {max(lengths)} exceeds the padded length {T}")
    order = _sorted_order(lengths, enforce_sorted)
    rows = input.reshape((T * B,) + tuple(input.shape[2:]))
    starts, stride = ([b * T for b in range(B)], 1) if batch_first else (list(range(B)), B)
    return _pack(rows, starts, stride, lengths, order, enforce_sorted)


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of (L_i, *) tensors (decreasing L_i unless enforce_sorted=False)."""
    if not sequences:
        raise RuntimeError("pack_sequence: received an empty list of sequences")
    lengths = [int(s.shape[0]) for s in sequences]
    if any(n <= 0 for n in lengths):
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' that "
                           "is <= 0")
    order = _sorted_order(lengths, enforce_sorted)
    starts = [0]
    for n in lengths[:-1]:
        starts.append(starts[-1] + n)
    return _pack(_ops.cat(list(sequences), 0), starts, 1, lengths, order, enforce_sorted)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo packing: (padded (T, B, *) or (B, T, *), lengths int64 (B,)) in the original batch order;
    T is the longest length, or total_length when given."""
    data, batch_sizes, _, unsorted_indices = sequence
    sizes = [int(b) for b in batch_sizes.tolist()]
    T = len(sizes)
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"Expected total_length to be at least the length of the longest sequence in input, but "
                             f"got total_length={total_length} and max sequence length being {T}")
        T = total_length
    B = sizes[0]
    rest = tuple(data.shape[1:])
    pad_row = data.shape[0]
    offsets = [0]
    for size in sizes:
        offsets.append(offsets[-1] + size)
    index = [offsets[t] + b if t < len(sizes) and b < sizes[t] else pad_row for t in range(T) for b in range(B)]
    rows = _ops.cat([data, _full((1,) + rest, padding_value, dtype=data.dtype, device=data.device)], 0)
    padded = rows[_tensor(index, dtype=_D.int64)].reshape((T, B) + rest)
    lengths = [sum(1 for s in sizes if s > b) for b in range(B)]
    if unsorted_indices is not None:
        padded = padded.index_select(1, unsorted_indices)
        lengths = [lengths[int(i)] for i in unsorted_indices.tolist()]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, _tensor(lengths, dtype=_D.int64)


def unpack_sequence(packed_sequences):
    """The list of (L_i, *) tensors a PackedSequence holds, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return [padded[i, :n] for i, n in enumerate(lengths.tolist())]



def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shapes (L_i, *) into (max L, B, *) (``batch_first``: (B, max L, *)),
    filling with `padding_value` after each sequence (``padding_side="left"``: before it).
    The result has the first sequence's dtype; gradients flow to the sequences."""
    from ... import cat, full, stack
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    sequences = list(sequences)
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    dtype = sequences[0].dtype
    trailing = tuple(sequences[0].shape[1:])
    max_len = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        s = s if s.dtype is dtype else s.to(dtype)
        fill = full((max_len - s.shape[0],) + trailing, padding_value, dtype=dtype)
        padded.append(cat([s, fill] if padding_side == "right" else [fill, s]))
    return stack(padded, dim=0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The inverse of `pad_sequence`: the list of sequences, each cut to its length."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:int(length)] for seq, length in zip(padded_sequences, lengths)]
