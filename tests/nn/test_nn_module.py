"""Module API: registration, iteration, modes, dtype moves, hooks, containers, state_dict round trips
(including a PyTorch model's state_dict), printing."""
import copy
import importlib
import pkgutil

import numpy as np
import pytest
import torch

import lamina as L
import lamina.nn as nn
import lamina.nn.functional as F
import lamina.nn.modules as modules


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.scale = nn.Parameter(L.ones(1))
        self.register_buffer("steps", L.zeros(1))
        self.register_buffer("cache", L.zeros(2), persistent=False)
        self.plain = 5

    def forward(self, x):
        return F.relu(self.bn(self.fc(x))) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.heads = nn.ModuleList([nn.Linear(4, 2), nn.Linear(4, 1)])
        self.extra = nn.ModuleDict({"act": nn.Tanh()})

    def forward(self, x):
        h = self.extra["act"](self.block(x))
        return [head(h) for head in self.heads]


def test_registration_and_iteration():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["block.scale", "block.fc.weight", "block.fc.bias", "block.bn.weight", "block.bn.bias",
                     "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias"]
    assert len(list(net.parameters())) == 9 and all(isinstance(p, nn.Parameter) for p in net.parameters())
    assert [n for n, _ in net.named_buffers()] == ["block.steps", "block.cache", "block.bn.running_mean",
                                                   "block.bn.running_var", "block.bn.num_batches_tracked"]
    assert [n for n, _ in net.named_children()] == ["block", "heads", "extra"]
    assert [n for n, _ in net.named_modules()] == ["", "block", "block.fc", "block.bn", "heads", "heads.0",
                                                   "heads.1", "extra", "extra.act"]
    assert len(list(net.block.parameters(recurse=False))) == 1
    assert net.block.plain == 5 and "plain" not in net.block._parameters
    assert net.get_submodule("heads.1") is net.heads[1] and net.get_parameter("block.fc.bias") is net.block.fc.bias
    del net.block.scale
    assert "scale" not in dict(net.block.named_parameters())
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = net.nope


def test_shared_parameters_are_listed_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_assignment_rules():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="parameter 'weight'"):
        m.weight = L.ones(2, 2)
    m.weight = nn.Parameter(L.ones(2, 2))
    assert m.weight.tolist() == [[1, 1], [1, 1]]
    m.bias = None
    assert m.bias is None and m(L.ones(1, 2)).tolist() == [[2, 2]]
    bare = nn.Module.__new__(nn.Module)
    with pytest.raises(AttributeError, match="before Module.__init__"):
        bare.p = nn.Parameter(L.ones(1))


def test_train_eval_zero_grad_requires_grad_apply():
    net = Net()
    assert net.training and net.block.bn.training
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    out = net(L.randn(5, 3))
    (out[0].sum() + out[1].sum()).backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and seen[0] == "Linear"


def test_to_dtype_keeps_parameter_objects():
    net = Net()
    w = net.block.fc.weight
    net.double()
    assert net.block.fc.weight is w and w.dtype == np.float64
    assert net.block.bn.running_mean.dtype == np.float64
    assert net.block.bn.num_batches_tracked.dtype == np.int64  # integer buffers keep their dtype
    assert net(L.randn(4, 3, dtype=L.float64))[0].dtype == np.float64
    net.to(L.float32)
    assert w.dtype == np.float32
    assert net.to("cpu") is net
    with pytest.raises(RuntimeError, match="CPU only"):
        net.to("cuda")


def test_forward_hooks():
    m = nn.Linear(2, 3)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append(out.shape) or out + 1)
    x = L.ones(1, 2)
    y = m(x)
    expected = F.linear(x * 2, m.weight, m.bias) + 1
    np.testing.assert_allclose(y.numpy(), expected.numpy())
    assert calls == [(1, 3)]
    h1.remove()
    h2.remove()
    np.testing.assert_allclose(m(x).numpy(), F.linear(x, m.weight, m.bias).numpy())


def test_sequential_and_lists():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    sub = seq[:2]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2 and sub[0] is seq[0]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and seq(L.randn(5, 2)).shape == (5, 1)
    del seq[1]
    assert [k for k, _ in seq.named_children()] == ["0", "1", "2"]
    from collections import OrderedDict

    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.fc is named[0]
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.Linear(1, 2))
    ml += [nn.Tanh()]
    assert len(ml) == 3 and len(list(ml.parameters())) == 4 and isinstance(ml[1:], nn.ModuleList)
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    md["b"] = nn.ReLU()
    assert list(md.keys()) == ["a", "b"] and "a" in md
    pl = nn.ParameterList([L.ones(2), L.zeros(3)])
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"]
    with pytest.raises(IndexError, match="out of range"):
        seq[7]


def test_repr_tree_with_parameter_counts():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 1), nn.Sigmoid()))
    assert repr(net) == (
        "Sequential(  # 13 parameters\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)  # 9 parameters\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(  # 4 parameters\n"
        "    (0): Linear(in_features=3, out_features=1, bias=True)  # 4 parameters\n"
        "    (1): Sigmoid()\n"
        "  )\n"
        ")")


def test_state_dict_round_trip_and_strictness():
    a, b = Net(), Net()
    sd = a.state_dict()
    assert "block.cache" not in sd and "block.steps" in sd and "block.bn.num_batches_tracked" in sd
    assert not sd["block.fc.weight"].requires_grad
    assert sd["block.fc.weight"].numpy() is a.block.fc.weight.numpy()  # shares memory, as in torch
    res = b.load_state_dict(sd)
    assert res.missing_keys == [] and res.unexpected_keys == []
    for k, v in b.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), sd[k].numpy())
    bad = dict(sd)
    bad["block.fc.weight"] = np.zeros((5, 3), np.float32)
    with pytest.raises(RuntimeError, match=r"size mismatch for block.fc.weight: .*\(5, 3\).*\(4, 3\)"):
        b.load_state_dict(bad)
    partial = {k: v for k, v in sd.items() if k != "heads.1.bias"}
    partial["junk"] = np.zeros(1)
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "heads.1.bias".*\n.*Unexpected key\(s\) '
                                           r'in state_dict: "junk"'):
        b.load_state_dict(partial)
    res = b.load_state_dict(partial, strict=False)
    assert res.missing_keys == ["heads.1.bias"] and res.unexpected_keys == ["junk"]


def test_load_state_dict_error_leaves_module_unchanged():
    m = nn.Linear(2, 2)
    before = m.weight.numpy().copy()
    with pytest.raises(RuntimeError):
        m.load_state_dict({"weight": np.ones((2, 2)), "bias": np.ones(3)})
    np.testing.assert_array_equal(m.weight.numpy(), before)


def test_torch_mlp_state_dict_gives_same_outputs():
    torch.manual_seed(0)
    tnet = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.BatchNorm1d(16), torch.nn.Tanh(),
                               torch.nn.Linear(16, 3)).float()
    tnet.train()
    tnet(torch.randn(32, 6, dtype=torch.float32))  # move the BatchNorm statistics away from their initial values
    tnet.eval()
    lnet = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.BatchNorm1d(16), nn.Tanh(), nn.Linear(16, 3)).eval()
    lnet.load_state_dict({k: v.numpy() for k, v in tnet.state_dict().items()})
    assert lnet[2].num_batches_tracked.item() == 1
    x = np.random.default_rng(0).standard_normal((10, 6)).astype(np.float32)
    np.testing.assert_allclose(lnet(L.tensor(x)).numpy(), tnet(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    lnet.load_state_dict(tnet.state_dict())  # torch tensors directly work too


def test_deepcopy_is_independent():
    m = Net()
    c = copy.deepcopy(m)
    c.block.fc.weight.data.numpy()[...] = 0
    assert m.block.fc.weight.numpy().any()
    assert [n for n, _ in c.named_parameters()] == [n for n, _ in m.named_parameters()]


def test_nn_modules_all_is_every_layer_file_all():
    """nn.modules spells its __all__ out for type checkers; it must stay the union of the files' lists."""
    files = [importlib.import_module(f"lamina.nn.modules.{m.name}") for m in pkgutil.iter_modules(modules.__path__)]
    union = [name for f in files for name in f.__all__]
    assert sorted(modules.__all__) == sorted(union) and len(set(union)) == len(union)
    assert set(union) <= set(nn.__all__) and all(hasattr(nn, name) for name in union)


def test_container_edits_renumber_and_reject_non_modules():
    seq = nn.Sequential(nn.Linear(1, 1), nn.Tanh())
    seq.insert(1, nn.ReLU())
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Tanh"] and list(seq._modules) == ["0", "1", "2"]
    with pytest.raises(TypeError, match="not a Module subclass"):
        seq.insert(0, "relu")
    assert len(seq) == 3
    ml = nn.ModuleList([nn.Tanh(), nn.ReLU()])
    ml.insert(0, nn.Sigmoid())
    del ml[1]
    assert [type(m).__name__ for m in ml] == ["Sigmoid", "ReLU"] and list(ml._modules) == ["0", "1"]
    pd = nn.ParameterDict({"a": L.ones(2)})
    pd.update([("b", L.zeros(1))])
    assert list(pd) == ["a", "b"] and "b" in pd and isinstance(pd["a"], nn.Parameter)
    assert pd.pop("a").shape == (2,) and [n for n, _ in pd.named_parameters()] == ["b"]
    pd.clear()
    assert len(pd) == 0 and not list(pd.parameters())


def test_get_parameter_and_buffer_by_dotted_path():
    net = nn.Sequential(nn.Linear(2, 2, bias=False), nn.BatchNorm1d(2))
    assert net.get_parameter("0.weight") is net[0].weight and net.get_parameter("0.bias") is None
    assert net.get_buffer("1.running_var") is net[1].running_var
    with pytest.raises(AttributeError, match="has no parameter 'nope'"):
        net.get_parameter("0.nope")
    with pytest.raises(AttributeError, match="has no buffer 'weight'"):
        net.get_buffer("1.weight")
    with pytest.raises(AttributeError, match="has no submodule '5'"):
        net.get_buffer("5.running_var")


def test_forward_hook_with_kwargs_sees_the_keyword_arguments():
    m = nn.GRU(2, 3)
    seen = []
    h = m.register_forward_hook(lambda mod, args, kwargs, out: seen.append((len(args), sorted(kwargs))),
                                with_kwargs=True)
    x, h0 = L.randn(4, 1, 2), L.zeros(1, 1, 3)
    m(x, hx=h0)
    m(x, h0)
    h.remove()
    m(x)
    assert seen == [(1, ["hx"]), (2, [])]
