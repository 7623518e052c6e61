"""Losses (julia/src/ops/losses.jl, nn/_functional/losses.py, nn/modules/loss_more.py) and the
distance functions they use, against torch: every reduction, values and gradients with respect to
every differentiable argument (float64 tight, float32 loose), second derivatives of the fused
kernels, modules with their constructor arguments, and PyTorch's argument errors."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import jtensor as jt
import jtensor.nn as nn
import jtensor.nn.functional as F
from nn_oracle import close, rnd, run_both

REDUCTIONS = ["mean", "sum", "none"]


def prob(shape, seed):
    return np.random.default_rng(seed).uniform(0.02, 0.98, shape)


def signs(shape, seed):
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1.0, 1.0)


def both(name):
    return (lambda *a, **k: getattr(F, name)(*a, **k)), (lambda *a, **k: getattr(TF, name)(*a, **k))


def check(name, arrays, grad, dtype=np.float64, tol=None, **kwargs):
    jf, tf = both(name)
    run_both(lambda *a: jf(*a, **kwargs), lambda *a: tf(*a, **kwargs), arrays, grad=grad, dtype=dtype, tol=tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(reduction, dtype):
    x, y = prob((4, 5), 1), prob((4, 5), 2)
    check("binary_cross_entropy", [x, y], (0, 1), dtype, reduction=reduction)
    check("binary_cross_entropy", [x, y, prob((5,), 3)], (0, 1), dtype, reduction=reduction)
    edge = np.array([0.0, 1.0, 0.0, 1.0, 0.5])   # log clamped at -100
    check("binary_cross_entropy", [edge, np.array([0.0, 1.0, 1.0, 0.0, 0.3])], (), dtype, reduction=reduction)


def test_binary_cross_entropy_errors():
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(jt.tensor([1.5]), jt.tensor([1.0]))
    with pytest.raises(ValueError, match="target size"):
        F.binary_cross_entropy(jt.tensor([0.5, 0.5]), jt.tensor([1.0]))
    with pytest.raises(ValueError, match="reduction"):
        F.binary_cross_entropy(jt.tensor([0.5]), jt.tensor([1.0]), reduction="avg")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("beta", [1.0, 0.5, 0.0])
def test_smooth_l1_and_huber(reduction, beta, dtype):
    x, y = rnd((3, 7), 1, 1.5), rnd((3, 7), 2)
    check("smooth_l1_loss", [x, y], (0, 1), dtype, reduction=reduction, beta=beta)
    if beta > 0:
        check("huber_loss", [x, y], (0, 1), dtype, reduction=reduction, delta=beta)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_huber_weight(reduction):
    x, y, w = rnd((3, 7), 1, 1.5), rnd((3, 7), 2), np.abs(rnd((3, 7), 3))
    run_both(lambda a, b, c: F.huber_loss(a, b, reduction, 0.7, c), lambda a, b, c: TF.huber_loss(a, b, reduction, 0.7, c),
             [x, y, w], grad=(0, 1))


def test_huber_second_derivatives_and_errors():
    x = jt.tensor(rnd((6,), 4, 2)).requires_grad_()
    y = jt.tensor(rnd((6,), 5)).requires_grad_()
    assert jt.autograd.gradgradcheck(lambda a, b: F.smooth_l1_loss(a, b, reduction="sum", beta=0.8), (x, y))
    assert jt.autograd.gradgradcheck(lambda a, b: F.huber_loss(a, b, reduction="sum", delta=0.8), (x, y))
    with pytest.raises(RuntimeError, match="delta"):
        F.huber_loss(x, y, delta=0.0)
    with pytest.raises(RuntimeError, match="beta"):
        F.smooth_l1_loss(x, y, beta=-1.0)
    with pytest.warns(UserWarning, match="target size"):
        F.smooth_l1_loss(x, y[:1])


@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none"])
def test_kl_div(reduction, log_target):
    x = np.log(prob((4, 5), 1))
    t = np.log(prob((4, 5), 2)) if log_target else prob((4, 5), 2)
    check("kl_div", [x, t], (0, 1), reduction=reduction, log_target=log_target)
    if not log_target:   # 0 * log 0 = 0; its target gradient is 0 here (PyTorch's composite gives NaN)
        t[0, 0] = 0.0
        check("kl_div", [x, t], (0,), reduction=reduction)


def test_kl_div_mean_warns_and_second_derivatives():
    x, t = np.log(prob((3, 4), 1)), prob((3, 4), 2)
    with pytest.warns(UserWarning, match="batchmean"):
        got = F.kl_div(jt.tensor(x), jt.tensor(t))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        close(got, TF.kl_div(torch.tensor(x), torch.tensor(t)))
    for lt in (False, True):
        a = jt.tensor(x).requires_grad_()
        b = jt.tensor(np.log(t) if lt else t).requires_grad_()
        assert jt.autograd.gradgradcheck(lambda u, v: F.kl_div(u, v, reduction="sum", log_target=lt), (a, b))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input,full", [(True, False), (False, False), (True, True), (False, True)])
def test_poisson_nll_loss(reduction, log_input, full):
    x = rnd((4, 3), 1) if log_input else prob((4, 3), 1) * 3
    t = np.random.default_rng(2).poisson(2.0, (4, 3)).astype(np.float64)
    check("poisson_nll_loss", [x, t], (0,), reduction=reduction, log_input=log_input, full=full)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("var_shape", [(4, 3), (4,), (4, 1), "float"])
def test_gaussian_nll_loss(reduction, full, var_shape):
    x, t = rnd((4, 3), 1), rnd((4, 3), 2)
    if var_shape == "float":
        run_both(lambda a, b: F.gaussian_nll_loss(a, b, 0.7, full, reduction=reduction),
                 lambda a, b: TF.gaussian_nll_loss(a, b, 0.7, full, reduction=reduction), [x, t], grad=(0, 1))
        return
    v = prob(var_shape, 3)
    v.flat[0] = 1e-9   # clamped at eps
    check("gaussian_nll_loss", [x, t, v], (0, 1, 2), full=full, reduction=reduction)


def test_gaussian_nll_loss_errors():
    x = jt.ones(4, 3)
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(x, x, -jt.ones(4, 3))
    with pytest.raises(ValueError, match="incorrect size"):
        F.gaussian_nll_loss(x, x, jt.ones(2, 2))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.3])
def test_cosine_embedding_loss(reduction, margin):
    check("cosine_embedding_loss", [rnd((5, 4), 1), rnd((5, 4), 2), signs((5,), 3)], (0, 1), reduction=reduction,
          margin=margin)
    check("cosine_embedding_loss", [rnd((4,), 1), rnd((4,), 2), np.array(-1.0)], (0, 1), reduction=reduction,
          margin=margin)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_ranking_and_hinge_and_soft_margin(reduction):
    check("margin_ranking_loss", [rnd((6,), 1), rnd((6,), 2), signs((6,), 3)], (0, 1, 2), reduction=reduction,
          margin=0.2)
    check("hinge_embedding_loss", [rnd((3, 4), 1), signs((3, 4), 2)], (0,), reduction=reduction, margin=0.5)
    check("soft_margin_loss", [rnd((3, 4), 1, 5), signs((3, 4), 2)], (0,), reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_multilabel_soft_margin_loss(reduction, weighted):
    arrays = [rnd((4, 5), 1, 3), (np.random.default_rng(2).random((4, 5)) < 0.5).astype(np.float64)]
    if weighted:
        arrays.append(np.abs(rnd((5,), 3)))
    check("multilabel_soft_margin_loss", arrays, (0,), reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,margin,weighted", [(1, 1.0, False), (2, 0.5, False), (1, 2.0, True), (2, 1.0, True)])
def test_multi_margin_loss(reduction, p, margin, weighted):
    x, y = rnd((5, 4), 1), np.array([0, 3, 1, 1, 2])
    w = np.abs(rnd((4,), 3)) if weighted else None
    check("multi_margin_loss", [x, y, p, margin, w], (0,), reduction=reduction)
    check("multi_margin_loss", [rnd((4,), 2), np.array(2), p, margin, w], (0,), reduction=reduction)
    check("multi_margin_loss", [rnd((4,), 2), np.array([2]), p, margin, w], (0,), reduction=reduction)


def test_multi_margin_loss_errors():
    with pytest.raises(ValueError, match="p == 1"):
        F.multi_margin_loss(jt.ones(2, 3), jt.tensor([0, 1]), p=3)
    with pytest.raises(RuntimeError, match="target size"):
        F.multi_margin_loss(jt.ones(2, 3), jt.tensor([0, 1, 2]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,swap", [(2.0, False), (1.0, True), (3.0, False)])
def test_triplet_margin_loss(reduction, p, swap):
    a, pos, neg = rnd((5, 4), 1), rnd((5, 4), 2), rnd((5, 4), 3)
    check("triplet_margin_loss", [a, pos, neg], (0, 1, 2), reduction=reduction, p=p, swap=swap, margin=2.0)
    check("triplet_margin_loss", [a[0], pos[0], neg[0]], (0, 1, 2), reduction=reduction, p=p, swap=swap)


def test_triplet_margin_with_distance_loss():
    a, pos, neg = rnd((5, 4), 1), rnd((5, 4), 2), rnd((5, 4), 3)
    check("triplet_margin_with_distance_loss", [a, pos, neg], (0, 1, 2), swap=True)
    run_both(lambda *t: F.triplet_margin_with_distance_loss(
        *t, distance_function=lambda u, v: 1 - F.cosine_similarity(u, v), margin=0.5),
        lambda *t: TF.triplet_margin_with_distance_loss(
        *t, distance_function=lambda u, v: 1 - TF.cosine_similarity(u, v), margin=0.5), [a, pos, neg], grad=(0, 1, 2))


@pytest.mark.parametrize("shapes,dim", [(((4, 5), (4, 5)), 1), (((4, 5), (1, 5)), -1), (((2, 3, 4), (2, 3, 4)), 0)])
def test_distances(shapes, dim):
    a, b = rnd(shapes[0], 1), rnd(shapes[1], 2)
    b.flat[:shapes[1][-1]] = 0.0   # a zero vector: the eps clamp
    run_both(lambda u, v: F.cosine_similarity(u, v, dim), lambda u, v: TF.cosine_similarity(u, v, dim), [a, b],
             grad=(0, 1))
    for p in (2.0, 1.0, 3.0, float("inf")):
        for keepdim in (False, True):
            run_both(lambda u, v: F.pairwise_distance(u, v, p, keepdim=keepdim),
                     lambda u, v: TF.pairwise_distance(u, v, p, keepdim=keepdim), [a, b], grad=(0, 1))
    for p in (2.0, 1.0):
        run_both(lambda u: F.normalize(u, p, dim), lambda u: TF.normalize(u, p, dim), [b], grad=(0,))


MODULES = [   # name, constructor args, input arrays
    ("BCELoss", {}, lambda: [prob((3, 4), 1), prob((3, 4), 2)]),
    ("BCELoss", {"weight": "w4", "reduction": "sum"}, lambda: [prob((3, 4), 1), prob((3, 4), 2)]),
    ("SmoothL1Loss", {"beta": 0.5}, lambda: [rnd((3, 4), 1), rnd((3, 4), 2)]),
    ("HuberLoss", {"delta": 0.5, "reduction": "sum"}, lambda: [rnd((3, 4), 1), rnd((3, 4), 2)]),
    ("KLDivLoss", {"reduction": "batchmean", "log_target": True},
     lambda: [np.log(prob((3, 4), 1)), np.log(prob((3, 4), 2))]),
    ("PoissonNLLLoss", {"full": True}, lambda: [rnd((3, 4), 1), np.abs(rnd((3, 4), 2)) * 3]),
    ("GaussianNLLLoss", {"full": True}, lambda: [rnd((3, 4), 1), rnd((3, 4), 2), prob((3, 4), 3)]),
    ("CosineEmbeddingLoss", {"margin": 0.1}, lambda: [rnd((3, 4), 1), rnd((3, 4), 2), signs((3,), 3)]),
    ("MarginRankingLoss", {"margin": 0.1}, lambda: [rnd((3,), 1), rnd((3,), 2), signs((3,), 3)]),
    ("HingeEmbeddingLoss", {"margin": 2.0}, lambda: [rnd((3, 4), 1), signs((3, 4), 3)]),
    ("SoftMarginLoss", {}, lambda: [rnd((3, 4), 1), signs((3, 4), 3)]),
    ("MultiLabelSoftMarginLoss", {"weight": "w4"}, lambda: [rnd((3, 4), 1), prob((3, 4), 2).round()]),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5, "weight": "w4"}, lambda: [rnd((3, 4), 1), np.array([0, 3, 2])]),
    ("TripletMarginLoss", {"margin": 0.5, "p": 1.0, "swap": True}, lambda: [rnd((3, 4), 1), rnd((3, 4), 2),
                                                                             rnd((3, 4), 3)]),
    ("TripletMarginWithDistanceLoss", {"swap": True}, lambda: [rnd((3, 4), 1), rnd((3, 4), 2), rnd((3, 4), 3)]),
]


@pytest.mark.parametrize("name,kwargs,make", MODULES)
def test_loss_modules(name, kwargs, make):
    w = np.abs(rnd((4,), 5))
    jk = {k: jt.tensor(w) if v == "w4" else v for k, v in kwargs.items()}
    tk = {k: torch.tensor(w) if v == "w4" else v for k, v in kwargs.items()}
    jm, tm = getattr(nn, name)(**jk), getattr(tnn, name)(**tk)
    arrays = make()
    run_both(jm, tm, arrays, grad=tuple(i for i, a in enumerate(arrays) if a.dtype.kind == "f" and i == 0))
    assert repr(jm) == repr(tm)
    assert sorted(jm.state_dict()) == sorted(tm.state_dict())


def test_legacy_reduction_arguments():
    x, y = jt.tensor(rnd((3,), 1)), jt.tensor(rnd((3,), 2))
    with pytest.warns(UserWarning, match="deprecated"):
        m = nn.SmoothL1Loss(size_average=False)
    assert m.reduction == "sum"
    close(m(x, y), F.smooth_l1_loss(x, y, reduction="sum"))


# PyTorch's ctc_loss gradient with respect to log_probs adds exp(log_probs) * grad (it assumes a
# log_softmax before it, whose backward cancels that term); jtensor's is the exact derivative. The
# tests therefore compare gradients with respect to the logits, through log_softmax, where both agree.
def _ctc_case(seed, n=3, steps=12, c=5, s=4):
    rng = np.random.default_rng(seed)
    lp = rng.standard_normal((steps, n, c))   # logits: the tests apply log_softmax
    targets = rng.integers(1, c, (n, s))
    targets[0, 1] = targets[0, 0]                    # a repeated label needs a blank between
    t_len = np.array([steps, steps - 3, steps - 1][:n])
    s_len = np.array([s, 2, 0][:n])                  # an empty target too
    return lp, targets, t_len, s_len


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("layout", ["padded", "concatenated"])
def test_ctc_loss(reduction, layout):
    lp, targets, t_len, s_len = _ctc_case(1)
    if layout == "concatenated":
        targets = np.concatenate([targets[i, :s_len[i]] for i in range(len(s_len))])
    run_both(lambda x, y: F.ctc_loss(F.log_softmax(x, -1), y, jt.tensor(t_len), jt.tensor(s_len), reduction=reduction),
             lambda x, y: TF.ctc_loss(TF.log_softmax(x, -1), y, torch.tensor(t_len), torch.tensor(s_len),
                                      reduction=reduction),
             [lp, targets], grad=(0,), tol=1e-7)


def test_ctc_loss_impossible_unbatched_and_module():
    lp, targets, t_len, s_len = _ctc_case(2, n=1, steps=3, s=4)   # 4 labels cannot fit in 3 steps
    for zi in (False, True):
        got = F.ctc_loss(F.log_softmax(jt.tensor(lp), -1), jt.tensor(targets), jt.tensor(t_len), jt.tensor(s_len), reduction="none",
                         zero_infinity=zi)
        exp = TF.ctc_loss(TF.log_softmax(torch.tensor(lp), -1), torch.tensor(targets), torch.tensor(t_len), torch.tensor(s_len),
                          reduction="none", zero_infinity=zi)
        close(got, exp)
    lp, targets, t_len, s_len = _ctc_case(3, n=1)
    run_both(lambda x: F.ctc_loss(F.log_softmax(x, -1), jt.tensor(targets[0, :4]), [12], [4], reduction="sum"),
             lambda x: TF.ctc_loss(TF.log_softmax(x, -1), torch.tensor(targets[0, :4]), [12], [4], reduction="sum"),
             [lp[:, 0]],
             grad=(0,), tol=1e-7)
    lp, targets, t_len, s_len = _ctc_case(4)
    jm, tm = nn.CTCLoss(blank=0, zero_infinity=True), tnn.CTCLoss(blank=0, zero_infinity=True)
    run_both(lambda x: jm(F.log_softmax(x, -1), jt.tensor(targets), jt.tensor(t_len), jt.tensor(s_len)),
             lambda x: tm(TF.log_softmax(x, -1), torch.tensor(targets), torch.tensor(t_len), torch.tensor(s_len)),
             [lp], grad=(0,),
             tol=1e-7)
    assert repr(jm) == repr(tm)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_loss(reduction):
    target = np.array([[3, 0, -1, 1], [1, 1, 2, -1], [-1, 2, 0, 0]])
    check("multilabel_margin_loss", [rnd((3, 4), 1), target], (0,), reduction=reduction)
    check("multilabel_margin_loss", [rnd((4,), 2), np.array([2, 0, -1, 3])], (0,), reduction=reduction)
    run_both(nn.MultiLabelMarginLoss(reduction=reduction), tnn.MultiLabelMarginLoss(reduction=reduction),
             [rnd((3, 4), 1), target], grad=(0,))
