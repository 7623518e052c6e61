"""Layer functions and modules (nn/_functional/layers.py, resampling.py; nn/modules/padding.py,
resampling.py, bilinear.py, parameter_containers.py, dropout.py, distance.py) against torch:
one_hot, pad and the padding modules, interpolate in every mode with align_corners and
scale_factor, pixel (un)shuffle, unfold / fold, channel and alpha dropout statistics, Bilinear,
ParameterList / ParameterDict, with gradients and PyTorch's errors."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import jtensor as jt
import jtensor.nn as nn
import jtensor.nn.functional as F
from nn_oracle import close, rnd, run_both, run_modules


def test_one_hot():
    idx = np.array([[0, 3], [2, 1]])
    for n in (-1, 5):
        got, exp = F.one_hot(jt.tensor(idx), n), TF.one_hot(torch.tensor(idx), n)
        assert got.dtype == jt.int64
        np.testing.assert_array_equal(got.numpy(), exp.numpy())
    for bad, n in ((np.array([0, 5]), 3), (np.array([-1, 2]), 3)):
        with pytest.raises(RuntimeError, match="Class values"):
            F.one_hot(jt.tensor(bad), n)
    with pytest.raises(RuntimeError, match="index tensor"):
        F.one_hot(jt.ones(3), 3)
    assert F.one_hot(jt.tensor(np.zeros(0, np.int64)), 4).shape == (0, 4)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("pads", [(1, 2), (2, 1, 1, 0), (1, 1, 2, 1, 0, 1)])
def test_pad_modes(mode, pads):
    x = rnd((2, 3) + (5,) * (len(pads) // 2), 1)   # PyTorch's non-constant modes pad all but (N, C)
    run_both(lambda t: F.pad(t, pads, mode), lambda t: TF.pad(t, pads, mode), [x], grad=(0,))
    if mode == "constant":
        run_both(lambda t: F.pad(t, pads, value=2.5), lambda t: TF.pad(t, pads, value=2.5), [x], grad=(0,))


PADS = [("ZeroPad1d", (2,)), ("ZeroPad2d", ((1, 0, 2, 1),)), ("ZeroPad3d", (1,)), ("ConstantPad1d", ((1, 2), 3.5)),
        ("ConstantPad2d", (1, -1.0)), ("ConstantPad3d", ((1, 0, 0, 1, 2, 0), 0.5)), ("ReflectionPad1d", (2,)),
        ("ReflectionPad2d", ((1, 2, 0, 1),)), ("ReflectionPad3d", (1,)), ("ReplicationPad1d", ((0, 3),)),
        ("ReplicationPad2d", (2,)), ("ReplicationPad3d", ((1, 0, 1, 0, 1, 0),)), ("CircularPad1d", (1,)),
        ("CircularPad2d", ((1, 2, 2, 1),)), ("CircularPad3d", (1,))]


@pytest.mark.parametrize("name,args", PADS)
def test_padding_modules(name, args):
    jm, tm = getattr(nn, name)(*args), getattr(tnn, name)(*args)
    assert jm.padding == tm.padding
    n = int(name[-2])
    run_modules(jm, tm, [rnd((2, 3) + (4,) * n, 2)])


INTERP = [   # input shape, kwargs
    ((2, 3, 5), dict(size=8)), ((2, 3, 5), dict(scale_factor=2.5)), ((2, 3, 7), dict(size=4)),
    ((1, 2, 4, 5), dict(size=(7, 3))), ((1, 2, 4, 5), dict(scale_factor=(1.5, 0.6))),
    ((1, 2, 4, 5), dict(scale_factor=2)), ((1, 1, 3, 4, 5), dict(size=(4, 2, 6))),
    ((1, 1, 3, 4, 5), dict(scale_factor=1.7)),
]
_ND_MODE = {1: "linear", 2: "bilinear", 3: "trilinear"}


@pytest.mark.parametrize("shape,kwargs", INTERP)
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "interp", "interp-corners", "bicubic",
                                  "bicubic-corners", "area"])
def test_interpolate(shape, kwargs, mode):
    nd = len(shape) - 2
    extra = {}
    if mode.startswith("interp"):
        extra = {"mode": _ND_MODE[nd], "align_corners": mode.endswith("corners")}
    elif mode.startswith("bicubic"):
        if nd != 2:
            return
        extra = {"mode": "bicubic", "align_corners": mode.endswith("corners")}
    elif mode == "area":
        if nd == 3 or "scale_factor" in kwargs:
            return
        extra = {"mode": "area"}
    else:
        extra = {"mode": mode}
    run_both(lambda t: F.interpolate(t, **kwargs, **extra), lambda t: TF.interpolate(t, **kwargs, **extra),
             [rnd(shape, 3)], grad=(0,), tol=1e-6)


def test_interpolate_recompute_scale_factor_and_errors():
    x = rnd((1, 1, 5, 5), 1)
    for rsf in (True, False):
        run_both(lambda t: F.interpolate(t, scale_factor=1.3, mode="bilinear", recompute_scale_factor=rsf),
                 lambda t: TF.interpolate(t, scale_factor=1.3, mode="bilinear", recompute_scale_factor=rsf), [x],
                 grad=(0,), tol=1e-6)
    j = jt.tensor(x)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(j, size=3, scale_factor=2)
    with pytest.raises(ValueError, match="either size or scale_factor"):
        F.interpolate(j)
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(j, size=3, align_corners=True)
    with pytest.raises(NotImplementedError):
        F.interpolate(j, size=3, mode="linear")
    with pytest.warns(UserWarning, match="deprecated"):
        close(F.upsample_bilinear(j, scale_factor=2), TF.interpolate(torch.tensor(x), scale_factor=2,
                                                                     mode="bilinear", align_corners=True))


UPSAMPLE = [("Upsample", dict(scale_factor=2)), ("Upsample", dict(size=(3, 7), mode="bilinear", align_corners=True)),
            ("Upsample", dict(scale_factor=(2, 1.5), mode="bicubic")), ("UpsamplingNearest2d", dict(size=6)),
            ("UpsamplingBilinear2d", dict(scale_factor=2))]


@pytest.mark.parametrize("name,kwargs", UPSAMPLE)
def test_upsample_modules(name, kwargs):
    run_modules(getattr(nn, name)(**kwargs), getattr(tnn, name)(**kwargs), [rnd((2, 3, 4, 5), 4)], tol=1e-6)


@pytest.mark.parametrize("shape,r", [((2, 8, 3, 4), 2), ((18, 2, 3), 3), ((2, 1, 4, 4, 2, 3), 2)])
def test_pixel_shuffle(shape, r):
    run_both(lambda t: F.pixel_shuffle(t, r), lambda t: TF.pixel_shuffle(t, r), [rnd(shape, 1)], grad=(0,))
    out = TF.pixel_shuffle(torch.tensor(rnd(shape, 1)), r).numpy()
    run_both(lambda t: F.pixel_unshuffle(t, r), lambda t: TF.pixel_unshuffle(t, r), [out], grad=(0,))
    run_modules(nn.PixelShuffle(r), tnn.PixelShuffle(r), [rnd(shape, 1)])
    run_modules(nn.PixelUnshuffle(r), tnn.PixelUnshuffle(r), [out])
    with pytest.raises(RuntimeError, match="divisible"):
        F.pixel_shuffle(jt.ones(1, 3, 2, 2), 2)
    with pytest.raises(RuntimeError, match="divisible"):
        F.pixel_unshuffle(jt.ones(1, 1, 3, 2), 2)


FOLD = [dict(kernel_size=2), dict(kernel_size=(2, 3), stride=2), dict(kernel_size=3, padding=1),
        dict(kernel_size=(3, 2), dilation=(2, 1), padding=(1, 2), stride=(1, 2))]


@pytest.mark.parametrize("kwargs", FOLD)
def test_unfold_and_fold(kwargs):
    x = rnd((2, 3, 7, 8), 1)
    jo, to = run_both(lambda t: F.unfold(t, **kwargs), lambda t: TF.unfold(t, **kwargs), [x], grad=(0,))
    run_both(lambda t: F.unfold(t, **kwargs), lambda t: TF.unfold(t, **kwargs), [x[0]], grad=(0,))
    cols = rnd(tuple(to.shape), 2)
    run_both(lambda t: F.fold(t, (7, 8), **kwargs), lambda t: TF.fold(t, (7, 8), **kwargs), [cols], grad=(0,))
    run_both(lambda t: F.fold(t, (7, 8), **kwargs), lambda t: TF.fold(t, (7, 8), **kwargs), [cols[0]], grad=(0,))
    run_modules(nn.Unfold(**kwargs), tnn.Unfold(**kwargs), [x])
    run_modules(nn.Fold((7, 8), **kwargs), tnn.Fold((7, 8), **kwargs), [cols])


def test_fold_errors():
    with pytest.raises(RuntimeError, match="sliding blocks"):
        F.fold(jt.ones(1, 4, 5), (3, 3), 2)
    with pytest.raises(RuntimeError, match="divisible"):
        F.fold(jt.ones(1, 5, 4), (3, 3), 2)


@pytest.mark.parametrize("fn,shape,channel_dims", [("dropout1d", (8, 50, 6), 2), ("dropout1d", (50, 6), 1),
                                                    ("dropout2d", (8, 50, 3, 4), 2), ("dropout2d", (50, 3, 4), 2),
                                                    ("dropout3d", (4, 50, 2, 3, 2), 2), ("dropout3d", (50, 2, 3, 2), 1)])
def test_channel_dropout(fn, shape, channel_dims):
    jt.manual_seed(1)
    x = jt.ones(*shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = getattr(F, fn)(x, 0.4).numpy()
        assert getattr(F, fn)(x, 0.4, training=False) is x
    flat = y.reshape(int(np.prod(shape[:channel_dims])), -1)
    assert all(len(set(row)) == 1 for row in flat)   # a channel is dropped or kept whole
    assert np.all(np.isclose(flat, 0) | np.isclose(flat, 1 / 0.6))
    assert 0.2 < (flat[:, 0] == 0).mean() < 0.6


def test_dropout2d_3d_input_warns_as_torch():
    with pytest.warns(UserWarning, match="3D input to dropout2d"):
        F.dropout2d(jt.ones(2, 3, 4))


@pytest.mark.parametrize("name", ["AlphaDropout", "FeatureAlphaDropout"])
def test_alpha_dropout_keeps_moments(name):
    jt.manual_seed(2)
    x = jt.randn(200, 100, 4, 4) if name == "FeatureAlphaDropout" else jt.randn(400000)
    m = getattr(nn, name)(0.3)
    y = m(x).numpy()
    assert abs(y.mean()) < 0.03 and abs(y.std() - 1) < 0.03
    m.eval()
    assert m(x) is x
    assert repr(m) == repr(getattr(tnn, name)(0.3))
    for mod in ("Dropout1d", "Dropout2d", "Dropout3d"):
        assert repr(getattr(nn, mod)(0.2, True)) == repr(getattr(tnn, mod)(0.2, True))


@pytest.mark.parametrize("bias", [True, False])
def test_bilinear(bias):
    jm, tm = nn.Bilinear(3, 4, 5, bias=bias), tnn.Bilinear(3, 4, 5, bias=bias)
    run_modules(jm, tm, [rnd((6, 3), 1), rnd((6, 4), 2)])
    run_modules(nn.Bilinear(3, 4, 5, bias=bias), tnn.Bilinear(3, 4, 5, bias=bias), [rnd((2, 6, 3), 1),
                                                                                   rnd((2, 6, 4), 2)])
    w = nn.Bilinear(30, 4, 50).weight.numpy()
    assert np.abs(w).max() <= 1 / np.sqrt(30) and w.std() > 0.1 / np.sqrt(30)


def test_parameter_list_and_dict():
    pl = nn.ParameterList([nn.Parameter(jt.ones(2, 3)), jt.zeros(3)])
    tpl = tnn.ParameterList([tnn.Parameter(torch.ones(2, 3)), torch.zeros(3)])
    assert [n for n, _ in pl.named_parameters()] == [n for n, _ in tpl.named_parameters()] == ["0", "1"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in pl)
    pl.append(jt.ones(1))
    pl += [jt.ones(4)]
    assert len(pl) == 4 and pl[-1].shape == (4,) and list(pl.state_dict()) == ["0", "1", "2", "3"]
    assert repr(pl).startswith("ParameterList(\n    (0): Parameter containing: [jtensor.float32 of size 2x3]")
    pl[0] = jt.zeros(5)
    assert pl[0].shape == (5,) and isinstance(pl[0], nn.Parameter)
    with pytest.raises(IndexError):
        pl[7]
    pd = nn.ParameterDict({"a": nn.Parameter(jt.ones(2)), "b": jt.zeros(3, dtype=jt.float64)})
    assert list(pd) == ["a", "b"] and list(pd.state_dict()) == ["a", "b"] and "a" in pd
    assert isinstance(pd["b"], nn.Parameter) and pd["b"].dtype == jt.float64
    pd.update([("c", jt.ones(1))])
    assert list(pd.keys()) == ["a", "b", "c"] and len(pd) == 3
    assert pd.pop("a").shape == (2,) and list(pd) == ["b", "c"] and [n for n, _ in pd.named_parameters()] == ["b", "c"]
    assert repr(nn.ParameterDict()) == "ParameterDict()" and repr(nn.ParameterList()) == "ParameterList()"
    model = nn.Module()
    model.ps = nn.ParameterList([jt.ones(2)])
    assert [n for n, _ in model.named_parameters()] == ["ps.0"]


def test_distance_modules():
    for jm, tm in ((nn.PairwiseDistance(), tnn.PairwiseDistance()), (nn.PairwiseDistance(1.0, 1e-3, True),
                                                                     tnn.PairwiseDistance(1.0, 1e-3, True)),
                   (nn.CosineSimilarity(), tnn.CosineSimilarity()), (nn.CosineSimilarity(0, 1e-3),
                                                                     tnn.CosineSimilarity(0, 1e-3))):
        run_modules(jm, tm, [rnd((4, 5), 1), rnd((4, 5), 2)])


@pytest.mark.parametrize("shape,groups", [((2, 6, 3), 2), ((1, 6, 2, 2), 3), ((2, 4, 1, 2, 2), 4)])
def test_channel_shuffle(shape, groups):
    run_both(lambda t: F.channel_shuffle(t, groups), lambda t: TF.channel_shuffle(t, groups), [rnd(shape, 1)],
             grad=(0,))
    run_modules(nn.ChannelShuffle(groups), tnn.ChannelShuffle(groups), [rnd(shape, 2)])
    with pytest.raises(RuntimeError, match="divisible"):
        F.channel_shuffle(jt.ones(1, 5, 2), 2)
