"""The output pool (julia/src/outpool.jl): large kernel outputs go back to a pool when Python drops
the last tensor over them, and the next output of that size reuses the block. These tests check
that reuse happens, and that it never touches memory a live tensor (or a view, a NumPy array or a
saved autograd value over it) still uses."""
import gc

import numpy as np
import torch

import jtensor as jt
import jtensor.nn.functional as JF

N = 256   # (N, N) float32 = 256 KB, above the pool's 64 KB threshold


def _arrays(k, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.random((N, N), dtype=np.float32) for _ in range(k)]


def _flush():
    """Let Python drop what it holds and Julia see the releases (they go at the next call)."""
    gc.collect()
    jt.ones(1) + 1


def test_a_dropped_output_is_reused():
    xs = [jt.tensor(a) for a in _arrays(2)]
    want = np.concatenate([x.numpy() for x in xs], 0)
    seen = set()
    for _ in range(8):   # each output dropped before the next: the blocks come back from the pool
        y = jt.cat(xs, 0)
        np.testing.assert_array_equal(y.numpy(), want)
        seen.add(y.data_ptr())
        del y
        _flush()
    assert len(seen) <= 2, seen   # (without the pool: a new address each time, until Julia collects)


def test_a_full_pool_still_takes_new_sizes():
    """Blocks of a size no longer in use (here 72 MB of 8 MB outputs, over the pool's 64 MB) are
    evicted for the size just released, rather than the pool turning it away."""
    big = jt.zeros(1024, 1024)
    outs = [jt.cat([big, big], 0) for _ in range(9)]
    del outs
    _flush()
    test_a_dropped_output_is_reused()


def test_live_outputs_are_never_overwritten():
    arrs = _arrays(4, seed=1)
    xs = [jt.tensor(a) for a in arrs]
    kept = [jt.cat(xs[i:i + 2], 0) for i in range(3)] + [xs[0].repeat(2, 1), jt.cumsum(xs[1], -1)]
    want = [k.numpy().copy() for k in kept]
    for _ in range(5):   # churn: outputs of the same sizes, dropped at once
        jt.cat(xs[1:3], 0)
        xs[2].repeat(2, 1)
        jt.cumsum(xs[3], -1)
        _flush()
    for k, w in zip(kept, want):
        np.testing.assert_array_equal(k.numpy(), w)


def test_views_and_numpy_arrays_keep_the_block():
    xs = [jt.tensor(a) for a in _arrays(2, seed=2)]
    y = jt.cat(xs, 0)
    row = y[3]          # a view: keeps the memory
    arr = y.numpy()     # a NumPy array over the same memory
    want_row, want_arr = row.numpy().copy(), arr.copy()
    del y
    for _ in range(3):
        jt.cat(xs, 0) * 0
        _flush()
    np.testing.assert_array_equal(row.numpy(), want_row)
    np.testing.assert_array_equal(arr, want_arr)


def test_reshaped_results_are_pooled_safely():
    """group_norm's kernel returns a reshape of its pooled array; keeping one result alive while
    others of the same size come and go must leave it intact."""
    rng = np.random.default_rng(3)
    x = rng.random((16, 16, 16, 16), dtype=np.float32)
    w, b = rng.random(16, dtype=np.float32), rng.random(16, dtype=np.float32)
    jx, jw, jb = jt.tensor(x), jt.tensor(w), jt.tensor(b)
    kept = JF.group_norm(jx, 4, jw, jb)
    want = torch.nn.functional.group_norm(torch.tensor(x), 4, torch.tensor(w), torch.tensor(b)).numpy()
    for _ in range(5):
        JF.group_norm(jx * 2, 4, jw, jb)
        _flush()
    np.testing.assert_allclose(kept.numpy(), want, rtol=1e-5, atol=1e-5)


def test_saved_for_backward_outputs_survive():
    a = jt.tensor(_arrays(1, seed=4)[0], requires_grad=True)
    b = jt.tensor(_arrays(1, seed=5)[0])
    y = jt.cat([a, b], 0)
    loss = (y * y).sum()    # y is saved for the multiply's backward
    for _ in range(3):
        jt.cat([b, b], 0)
        _flush()
    loss.backward()
    ta = torch.tensor(a.detach().numpy(), requires_grad=True)
    ty = torch.cat([ta, torch.tensor(b.numpy())], 0)
    (ty * ty).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-6)
