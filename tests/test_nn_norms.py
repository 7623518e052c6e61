"""Instance norm, RMS norm, local response norm, BatchNorm3d and embedding bags
(nn/_functional/norms.py, nn/modules/normalization_more.py, sparse.py) against torch: values,
gradients (input and parameters), running statistics in train / eval, unbatched inputs, bag
layouts (2-d, offsets, include_last_offset, empty bags, padding_idx, per_sample_weights) and errors."""
import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import jtensor as jt
import jtensor.nn as nn
import jtensor.nn.functional as F
from nn_oracle import close, rnd, run_both, run_modules


@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 5), (1, 2, 3, 2, 4)])
def test_instance_norm_function(shape):
    c = shape[1]
    arrays = [rnd(shape, 1), None, None, rnd((c,), 2), rnd((c,), 3)]
    run_both(lambda x, rm, rv, w, b: F.instance_norm(x, rm, rv, w, b),
             lambda x, rm, rv, w, b: TF.instance_norm(x, rm, rv, w, b), arrays, grad=(0, 3, 4))
    jm, jv, tm, tv = jt.zeros(c, dtype=jt.float64), jt.ones(c, dtype=jt.float64), torch.zeros(c, dtype=torch.float64), \
        torch.ones(c, dtype=torch.float64)
    x = rnd(shape, 4)
    close(F.instance_norm(jt.tensor(x), jm, jv, momentum=0.3), TF.instance_norm(torch.tensor(x), tm, tv, momentum=0.3))
    close(jm, tm)
    close(jv, tv)
    close(F.instance_norm(jt.tensor(x), jm, jv, use_input_stats=False),
          TF.instance_norm(torch.tensor(x), tm, tv, use_input_stats=False))


@pytest.mark.parametrize("name,shape", [("InstanceNorm1d", (2, 3, 6)), ("InstanceNorm1d", (3, 6)),
                                        ("InstanceNorm2d", (2, 3, 4, 5)), ("InstanceNorm2d", (3, 4, 5)),
                                        ("InstanceNorm3d", (2, 3, 2, 3, 4))])
@pytest.mark.parametrize("affine,track", [(False, False), (True, False), (True, True)])
def test_instance_norm_modules(name, shape, affine, track):
    jm, tm = getattr(nn, name)(3, affine=affine, track_running_stats=track), \
        getattr(tnn, name)(3, affine=affine, track_running_stats=track)
    run_modules(jm, tm, [rnd(shape, 1)])
    assert sorted(jm.state_dict()) == sorted(tm.state_dict())
    if track:   # run_modules ran two training passes: the running statistics moved alike
        close(jm.running_mean, tm.running_mean)
        close(jm.running_var, tm.running_var)
        jm.eval()
        tm.eval()
        run_both(jm, tm, [rnd(shape, 2)], grad=(0,))
    with pytest.raises(ValueError, match="expected"):
        jm(jt.ones(4))


def test_batchnorm3d():
    run_modules(nn.BatchNorm3d(3), tnn.BatchNorm3d(3), [rnd((2, 3, 2, 3, 2), 1)])
    with pytest.raises(ValueError, match="5D"):
        nn.BatchNorm3d(3)(jt.ones(2, 3, 4))


@pytest.mark.parametrize("shape,ns", [((2, 3, 4), (4,)), ((2, 3, 4), (3, 4)), ((5,), (5,))])
@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rms_norm(shape, ns, eps):
    nsz = (ns,) if isinstance(ns, int) else ns
    run_both(lambda x, w: F.rms_norm(x, ns, w, eps), lambda x, w: TF.rms_norm(x, ns, w, eps),
             [rnd(shape, 1), rnd(nsz, 2)], grad=(0, 1))
    run_both(lambda x: F.rms_norm(x, ns, eps=eps), lambda x: TF.rms_norm(x, ns, eps=eps), [rnd(shape, 1)], grad=(0,),
             dtype=np.float32)
    run_modules(nn.RMSNorm(ns, eps), tnn.RMSNorm(ns, eps), [rnd(shape, 3)])
    run_modules(nn.RMSNorm(ns, eps, elementwise_affine=False), tnn.RMSNorm(ns, eps, elementwise_affine=False),
                [rnd(shape, 3)])
    run_modules(nn.RMSNorm(shape[-1], eps), tnn.RMSNorm(shape[-1], eps), [rnd(shape, 4)])   # an int shape
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.rms_norm(jt.ones(2, 3), (4,))


@pytest.mark.parametrize("shape", [(2, 5, 4), (2, 6, 3, 4), (1, 4, 2, 3, 2)])
@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_local_response_norm(shape, size):
    run_both(lambda x: F.local_response_norm(x, size, 1e-2, 0.6, 2.0),
             lambda x: TF.local_response_norm(x, size, 1e-2, 0.6, 2.0), [rnd(shape, 1) * 3], grad=(0,))
    run_modules(nn.LocalResponseNorm(size), tnn.LocalResponseNorm(size), [rnd(shape, 2)])


BAGS = [   # input, offsets, kwargs
    (np.array([[1, 2, 4], [4, 3, 9]]), None, {}),
    (np.array([1, 2, 4, 5, 4, 3, 2, 9]), np.array([0, 4]), {}),
    (np.array([1, 2, 4, 5, 4, 3, 2, 9]), np.array([0, 2, 2, 5]), {}),                      # an empty bag
    (np.array([1, 2, 4, 5, 4, 3, 2, 9]), np.array([0, 3, 6, 8]), {"include_last_offset": True}),
    (np.array([1, 2, 4, 5, 4, 2, 2, 9]), np.array([0, 3, 5]), {"padding_idx": 2}),
    (np.array([[2, 2, 4], [4, 3, 9]]), None, {"padding_idx": 2}),                          # an all-padding bag
]


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("inp,offsets,kwargs", BAGS)
def test_embedding_bag(mode, inp, offsets, kwargs):
    w = rnd((10, 3), 1)
    run_both(lambda i, w_, o: F.embedding_bag(i, w_, o, mode=mode, **kwargs),
             lambda i, w_, o: TF.embedding_bag(i, w_, o, mode=mode, **kwargs),
             [inp, w, offsets], grad=(1,))
    if mode == "sum":
        psw = rnd(inp.shape, 2)
        run_both(lambda i, w_, o, p: F.embedding_bag(i, w_, o, mode="sum", per_sample_weights=p, **kwargs),
                 lambda i, w_, o, p: TF.embedding_bag(i, w_, o, mode="sum", per_sample_weights=p, **kwargs),
                 [inp, w, offsets, psw], grad=(1, 3))


def test_embedding_bag_module_and_errors():
    for kw in (dict(), dict(mode="max", padding_idx=2), dict(mode="sum", max_norm=1.0)):
        jm, tm = nn.EmbeddingBag(10, 3, **kw), tnn.EmbeddingBag(10, 3, **kw)
        run_modules(jm, tm, [np.array([[1, 2, 4], [4, 3, 9]])])
    jm = nn.EmbeddingBag(10, 3)
    assert np.isclose(jm.weight.numpy().std(), 1.0, atol=0.5)
    assert nn.EmbeddingBag(10, 3, padding_idx=1).weight.numpy()[1].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="offsets has to be None"):
        F.embedding_bag(jt.tensor([[1, 2]]), jt.ones(5, 2), jt.tensor([0]))
    with pytest.raises(NotImplementedError, match="per_sample_weights"):
        F.embedding_bag(jt.tensor([[1, 2]]), jt.ones(5, 2), mode="mean", per_sample_weights=jt.ones(1, 2))
    with pytest.raises(RuntimeError, match="offsets\\[0\\]"):
        F.embedding_bag(jt.tensor([1, 2]), jt.ones(5, 2), jt.tensor([1]))
    pre = nn.EmbeddingBag.from_pretrained(jt.ones(4, 2), mode="sum")
    assert not pre.weight.requires_grad
    close(pre(jt.tensor([[0, 1]])), [[2.0, 2.0]])
