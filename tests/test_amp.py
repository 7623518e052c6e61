"""jt.autocast and jt.amp.GradScaler against torch's: result dtypes of every listed op inside a CPU
region, gradients reaching float32 parameters, the CUDA spellings disabling themselves, and the
scaler's skipped steps and scale updates step by step."""
import warnings

import numpy as np
import pytest
import torch

import jtensor as jt


def _dtypes_in_region(lib):
    F = lib.nn.functional
    lib.manual_seed(0)
    x, w, b = lib.randn(4, 8), lib.randn(6, 8), lib.randn(6)
    img, cw, tgt = lib.randn(2, 3, 8, 8), lib.randn(4, 3, 3, 3), lib.tensor([1, 0, 2, 3])
    out = {}
    with lib.autocast("cpu"):
        y = F.linear(x, w, b)
        out.update(linear=y, matmul=x @ w.t(), mm=lib.mm(x, w.t()), bmm=lib.bmm(x[None], w.t()[None]),
                   conv2d=F.conv2d(img, cw), conv1d=F.conv1d(img[:, :, 0], cw[:, :, 0]),
                   conv_transpose2d=F.conv_transpose2d(img, cw.transpose(0, 1)), softmax=F.softmax(y, -1),
                   layer_norm=F.layer_norm(y, (6,)), cross_entropy=F.cross_entropy(y, tgt),
                   mse_loss=F.mse_loss(y, lib.zeros(4, 6)), nll_loss=F.nll_loss(y, tgt), relu=F.relu(y),
                   mixed_add=y + lib.ones(6), sdpa=F.scaled_dot_product_attention(x[None], x[None], x[None]),
                   einsum=lib.einsum("ij,kj->ik", x, w), addmm=lib.addmm(b, x, w.t()),
                   baddbmm=lib.baddbmm(b[None, None], x[None], w.t()[None]),
                   bce_logits=F.binary_cross_entropy_with_logits(y, lib.ones(4, 6)),
                   float64_kept=F.linear(x.double(), w.double()))
        with lib.autocast("cpu", enabled=False):
            out["nested_off"] = F.linear(x, w)
        out["after_nested"] = F.linear(x, w)
        out["module"] = lib.nn.Linear(8, 3)(x)
    out["outside"] = F.linear(x, w)
    with lib.autocast("cpu", dtype=lib.float16):
        out["float16"] = F.linear(x, w)
    return {k: str(v.dtype).split(".")[-1] for k, v in out.items()}


def test_op_dtypes_in_a_cpu_region_match_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _dtypes_in_region(jt) == _dtypes_in_region(torch)


def test_gradients_reach_float32_parameters():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((5, 8)).astype(np.float32), rng.standard_normal((3, 8)).astype(np.float32)
    grads = []
    for lib in (jt, torch):
        wt = lib.tensor(w, requires_grad=True)
        with lib.autocast("cpu"):
            loss = lib.nn.functional.linear(lib.tensor(x), wt).float().pow(2).sum()
        loss.backward()
        assert wt.grad.dtype == lib.float32
        grads.append(np.asarray(wt.grad.detach().float()))
    np.testing.assert_allclose(grads[0], grads[1], rtol=2e-2, atol=2e-2)


def test_cuda_spellings_disable_themselves_with_a_warning():
    x = jt.randn(2, 3)
    with pytest.warns(UserWarning, match="Disabling autocast"):
        region = jt.autocast("cuda")
    with region:
        assert not jt.is_autocast_enabled("cuda") and (x @ x.t()).dtype == jt.float32
    with pytest.warns(FutureWarning):
        with jt.cuda.amp.autocast():
            assert (x @ x.t()).dtype == jt.float32
    with pytest.warns(UserWarning, match="Disabling"):
        scaler = jt.cuda.amp.GradScaler() if False else jt.amp.GradScaler("cuda")
    assert not scaler.is_enabled() and scaler.get_scale() == 1.0
    loss = (x * 2).sum()
    assert scaler.scale(loss) is loss and scaler.state_dict() == {}
    with pytest.raises(RuntimeError, match="Invalid device string"):
        jt.autocast("nodevice")


def test_decorator_and_custom_fwd():
    @jt.autocast("cpu")
    def f(a):
        return a @ a.t()
    assert f(jt.ones(2, 2)).dtype == jt.bfloat16 and not jt.is_autocast_enabled("cpu")

    class Square(jt.autograd.Function):
        @staticmethod
        @jt.amp.custom_fwd(device_type="cpu", cast_inputs=jt.float32)
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return (a @ a.t(), jt.is_autocast_enabled("cpu"))[0]

        @staticmethod
        @jt.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return (g + g.t()) @ a
    a = jt.ones(2, 2, dtype=jt.bfloat16, requires_grad=True)
    with jt.autocast("cpu"):
        r = Square.apply(a)
    assert r.dtype == jt.float32
    r.sum().backward()
    assert a.grad.dtype == jt.bfloat16


def _scaler_run(lib):
    """Five SGD steps with a CPU GradScaler (growth_interval 2); step 2 gets an inf gradient."""
    lib.manual_seed(0)
    w = lib.tensor([1.0, -2.0, 0.5], requires_grad=True)
    opt = lib.optim.SGD([w], lr=0.1)
    scaler = lib.amp.GradScaler("cpu", init_scale=8.0, growth_interval=2)
    record = []
    for step in range(5):
        opt.zero_grad()
        loss = (w * w).sum() * (float("inf") if step == 2 else 1.0)
        scaler.scale(loss).backward()
        scaler.unscale_(opt) if step == 3 else None
        scaler.step(opt)
        scaler.update()
        record.append((scaler.get_scale(), w.detach().tolist()))
    return record, scaler.state_dict()


def test_grad_scaler_steps_match_torch():
    (jr, js), (tr, ts) = _scaler_run(jt), _scaler_run(torch)
    for (js_, jw), (ts_, tw) in zip(jr, tr):
        assert js_ == pytest.approx(ts_)
        np.testing.assert_allclose(jw, tw, rtol=1e-6)
    assert js == {k: (v.item() if hasattr(v, "item") else v) for k, v in ts.items()}


def test_grad_scaler_refuses_what_torch_refuses():
    w = jt.ones(2, requires_grad=True)
    opt = jt.optim.SGD([w], lr=0.1)
    scaler = jt.amp.GradScaler("cpu")
    scaler.scale(w.sum()).backward()
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="after step"):
        scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="Closure"):
        scaler.step(opt, closure=lambda: 0)
    scaler.update()
    fresh = jt.amp.GradScaler("cpu")
    fresh.load_state_dict(scaler.state_dict())
    assert fresh.state_dict() == scaler.state_dict()
