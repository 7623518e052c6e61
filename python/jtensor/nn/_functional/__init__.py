"""The families of torch.nn.functional beyond the core in `jtensor.nn.functional` (activations,
losses, layers, ...), one module each; `jtensor.nn.functional` re-exports them all, so users import
only that."""
