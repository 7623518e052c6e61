"""Padding variable-length sequences into one tensor (torch.nn.utils.rnn's `pad_sequence` and
`unpad_sequence`). Packed sequences live with the recurrent layers."""
from ..._tensor import Tensor


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
