"""conv2d's kernel paths (julia/src/ops/nn/conv.jl, conv_shift.jl, conv_planar.jl) against torch: the
shapes that take each path (shifted views: stride 1, 8+ input channels, at most 16 output channels;
planar im2col: few input channels or 1x1 kernels; channels-first im2col otherwise), float32 and
float64, input / weight / bias gradients, channels_last and strided inputs, and finite differences.
Run with JTENSOR_NUM_THREADS=2 too: batches are then split across threads."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import jtensor as jt
import jtensor.nn.functional as F
from nn_oracle import close, rnd, run_both

# (N, C, H, W), (Cout, kH, kW), conv2d keywords
CASES = [
    ((3, 16, 8, 8), (16, 3, 3), dict(padding=1)),                          # shifted views
    ((2, 9, 7, 6), (5, 3, 2), dict(padding=(1, 0))),                       # shifted, odd sizes
    ((2, 12, 6, 7), (16, 3, 3), dict(padding="same")),                     # shifted, 'same'
    ((2, 8, 5, 5), (4, 5, 5), dict(padding=3)),                            # shifted, padding past the kernel
    ((3, 3, 9, 11), (7, 3, 3), dict(padding=1)),                           # planar: a first layer
    ((2, 3, 11, 10), (5, 3, 3), dict(stride=(3, 2), padding=(2, 1), dilation=(1, 2))),   # planar, strided
    ((3, 16, 8, 7), (32, 1, 1), dict(stride=2)),                           # planar: 1x1 downsampling
    ((2, 16, 8, 8), (32, 3, 3), dict(stride=2, padding=1)),                # channels-first
    ((2, 12, 9, 9), (16, 3, 3), dict(padding=2, dilation=2)),              # channels-first (dilated)
    ((2, 8, 6, 6), (8, 3, 3), dict(padding=1, groups=2)),                  # channels-first (groups)
]


@pytest.mark.parametrize("xs,ws,kw", CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv2d_paths(xs, ws, kw, dtype):
    g = kw.get("groups", 1)
    arrays = [rnd(xs, 1), rnd((ws[0], xs[1] // g) + ws[1:], 2, 0.3), rnd((ws[0],), 3)]
    run_both(lambda *a: F.conv2d(*a, **kw), lambda *a: TF.conv2d(*a, **kw), arrays, grad=(0, 1, 2), dtype=dtype,
             tol=1e-9 if dtype == np.float64 else 1e-4)


@pytest.mark.parametrize("xs,ws,kw", [CASES[0], CASES[4], CASES[6]])
def test_conv2d_paths_strided_inputs(xs, ws, kw):
    """channels_last memory and a sliced (non-contiguous) input give torch's values and gradients."""
    x, w = rnd(xs, 1), rnd((ws[0], xs[1]) + ws[1:], 2, 0.3)
    tx = torch.tensor(x).contiguous(memory_format=torch.channels_last).requires_grad_()
    jx = jt.tensor(np.ascontiguousarray(x.transpose(0, 2, 3, 1))).permute(0, 3, 1, 2).requires_grad_()
    tw, jw = torch.tensor(w).requires_grad_(), jt.tensor(w).requires_grad_()
    to, jo = TF.conv2d(tx, tw, **kw), F.conv2d(jx, jw, **kw)
    close(jo, to)
    go = rnd(tuple(to.shape), 4)
    tg = torch.autograd.grad(to, [tx, tw], torch.tensor(go))
    jg = jt.autograd.grad(jo, [jx, jw], jt.tensor(go))
    for a, b in zip(jg, tg):
        close(a, b)
    big = rnd((xs[0], xs[1], xs[2] * 2, xs[3] + 3), 5)   # every other row, a column window
    tb, jb = torch.tensor(big)[:, :, ::2, 1:1 + xs[3]], jt.tensor(big)[:, :, ::2, 1:1 + xs[3]]
    close(F.conv2d(jb, jt.tensor(w), **kw), TF.conv2d(tb, torch.tensor(w), **kw))


@pytest.mark.parametrize("xs,ws,kw", [((2, 8, 4, 5), (3, 3, 3), dict(padding=1)),
                                      ((2, 2, 5, 4), (3, 3, 2), dict(stride=2, padding=(1, 0))),
                                      ((2, 4, 4, 4), (2, 1, 1), dict(stride=2))])
def test_conv2d_paths_finite_differences(xs, ws, kw):
    x = jt.tensor(rnd(xs, 1)).requires_grad_()
    w = jt.tensor(rnd((ws[0], xs[1]) + ws[1:], 2, 0.3)).requires_grad_()
    b = jt.tensor(rnd((ws[0],), 3)).requires_grad_()
    assert jt.autograd.gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw), (x, w, b))


def test_resnet_block_batches_across_threads():
    """A ResNet block's convolutions at batch 32 (big enough to be split across threads when there
    are several) against torch in float32."""
    arrays = [rnd((32, 16, 16, 16), 1), rnd((16, 16, 3, 3), 2, 0.1)]
    run_both(lambda x, w: F.conv2d(x, w, padding=1), lambda x, w: TF.conv2d(x, w, padding=1), arrays,
             grad=(0, 1), dtype=np.float32, tol=1e-4)
    arrays = [rnd((32, 3, 16, 16), 1), rnd((16, 3, 3, 3), 2, 0.1)]
    run_both(lambda x, w: F.conv2d(x, w, padding=1), lambda x, w: TF.conv2d(x, w, padding=1), arrays,
             grad=(0, 1), dtype=np.float32, tol=1e-4)
