"""scaled_dot_product_attention through the op checker (values, gradients, second order, forward mode vs
PyTorch and finite differences) and MultiheadAttention against torch.nn.MultiheadAttention with the same
weights: outputs, attention weights and every gradient, with boolean / float / causal / key-padding masks."""
import numpy as np
import pytest
import torch
from module_twins import compare_modules, load_into_torch
from opcheck import check_op
from torch.nn.attention import SDPBackend, sdpa_kernel

import lamina
import lamina.nn as nn
import lamina.nn.functional as F

tF = torch.nn.functional


# ---------------------------------------------------------------------------- scaled_dot_product_attention
def _sdpa(**kw):
    def reference(q, k, v, *m):
        with sdpa_kernel(SDPBackend.MATH):      # torch's fused CPU kernel has no second derivative
            return tF.scaled_dot_product_attention(q, k, v, *m, **kw)
    return lambda q, k, v, *m: F.scaled_dot_product_attention(q, k, v, *m, **kw), reference


@pytest.mark.parametrize("kw", [{}, {"scale": 0.3}, {"is_causal": True}], ids=["plain", "scale", "causal"])
@pytest.mark.parametrize("shapes", [((4, 3), (5, 3), (5, 2)), ((2, 4, 3), (2, 5, 3), (2, 5, 2)),
                                    ((2, 3, 4, 3), (2, 3, 4, 3), (2, 3, 4, 2)), ((2, 3, 4, 3), (3, 5, 3), (3, 5, 2))],
                         ids=["2d", "3d", "4d", "broadcast-batch"])
def test_sdpa_without_mask_against_torch(kw, shapes):
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(s) for s in shapes)
    check_op(*_sdpa(**kw), q, k, v)


def test_sdpa_boolean_mask_true_takes_part():
    rng = np.random.default_rng(1)
    q, k, v = rng.standard_normal((2, 2, 4, 3)), rng.standard_normal((2, 2, 5, 3)), rng.standard_normal((2, 2, 5, 3))
    mask = rng.random((4, 5)) < 0.6
    mask[:, 0] = True                              # every query keeps a key
    check_op(*_sdpa(), q, k, v, mask)
    per_batch = rng.random((2, 1, 4, 5)) < 0.7
    per_batch[..., 1] = True
    check_op(*_sdpa(), q, k, v, per_batch)


def test_sdpa_float_mask_is_added_and_gets_its_gradient():
    rng = np.random.default_rng(2)
    q, k, v = rng.standard_normal((3, 4, 2)), rng.standard_normal((3, 6, 2)), rng.standard_normal((3, 6, 2))
    check_op(*_sdpa(), q, k, v, rng.standard_normal((4, 6)))      # differentiable in the mask too
    minus_inf = np.where(rng.random((3, 4, 6)) < 0.3, -np.inf, 0.0)
    minus_inf[..., 2] = 0.0
    check_op(*_sdpa(), q, k, v, minus_inf, diff=[0, 1, 2], fd=False)


def test_sdpa_row_with_every_key_masked_gives_zeros_like_torch():
    rng = np.random.default_rng(3)
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 4))
    mask = rng.random((3, 5)) < 0.7
    mask[1] = False
    mask[[0, 2], 0] = True
    check_op(*_sdpa(), q, k, v, mask)
    out = F.scaled_dot_product_attention(*(lamina.tensor(a) for a in (q, k, v)), lamina.tensor(mask))
    assert np.all(out.numpy()[:, 1] == 0)


def test_sdpa_grouped_query_attention():
    rng = np.random.default_rng(4)
    q, k, v = rng.standard_normal((2, 4, 3, 2)), rng.standard_normal((2, 2, 5, 2)), rng.standard_normal((2, 2, 5, 2))
    check_op(*_sdpa(enable_gqa=True), q, k, v)
    with pytest.raises(ValueError, match="multiple of the key/value heads"):
        F.scaled_dot_product_attention(lamina.tensor(q), lamina.tensor(k[:, :1].repeat(3, 1)),
                                       lamina.tensor(v[:, :1].repeat(3, 1)), enable_gqa=True)


def test_sdpa_float32_and_dropout():
    rng = np.random.default_rng(5)
    q, k, v = (rng.standard_normal((2, 3, 4, 8)).astype(np.float32) for _ in range(3))
    mask = np.tril(np.ones((4, 4), bool))
    ours = F.scaled_dot_product_attention(*(lamina.tensor(a) for a in (q, k, v)), lamina.tensor(mask))
    ref = tF.scaled_dot_product_attention(*(torch.tensor(a) for a in (q, k, v)), torch.tensor(mask))
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)
    half = np.where(mask, 0.0, -1.5).astype(np.float32)    # a float32 mask on float64 inputs is cast, as in torch
    ours = F.scaled_dot_product_attention(*(lamina.tensor(a.astype(np.float64)) for a in (q, k, v)),
                                          lamina.tensor(half))
    ref = tF.scaled_dot_product_attention(*(torch.tensor(a.astype(np.float64)) for a in (q, k, v)),
                                          torch.tensor(half))
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-10, atol=1e-10)
    lq, lk, lv = (lamina.tensor(a) for a in (q, k, v))
    dropped = F.scaled_dot_product_attention(lq, lk, lv, dropout_p=1.0)
    assert np.all(dropped.numpy() == 0)
    lamina.manual_seed(0)
    a = F.scaled_dot_product_attention(lq, lk, lv, dropout_p=0.5)
    lamina.manual_seed(0)
    b = F.scaled_dot_product_attention(lq, lk, lv, dropout_p=0.5)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.allclose(a.numpy(), F.scaled_dot_product_attention(lq, lk, lv).numpy())


@pytest.mark.parametrize("args,kw,match", [
    (((4, 3), (5, 2), (5, 2)), {}, "same last dim E"),
    (((4, 3), (5, 3), (6, 2)), {}, "same sequence length S"),
    (((3,), (5, 3), (5, 2)), {}, r"expected query \(\.\.\., L, E\)"),
    (((4, 3), (5, 3), (5, 2)), {"attn_mask": np.ones((3, 5), bool)}, "does not broadcast"),
    (((4, 3), (5, 3), (5, 2)), {"attn_mask": np.ones((4, 5), bool), "is_causal": True}, "not both"),
])
def test_sdpa_bad_input_errors(args, kw, match):
    q, k, v = (lamina.zeros(*s, dtype=lamina.float64) for s in args)
    kw = {n: lamina.tensor(a) if isinstance(a, np.ndarray) else a for n, a in kw.items()}
    with pytest.raises(ValueError, match=match):
        F.scaled_dot_product_attention(q, k, v, **kw)
    with pytest.raises(TypeError, match=r"attn_mask must be bool \(True takes part\) or floating"):
        F.scaled_dot_product_attention(lamina.zeros(2, 2), lamina.zeros(2, 2), lamina.zeros(2, 2),
                                       attn_mask=lamina.zeros(2, 2, dtype=lamina.int64))


# ---------------------------------------------------------------------------- multi_head_attention_forward
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("static", [False, True])
def test_multi_head_attention_forward_through_the_op_checker(need_weights, static):
    """Values, gradients, finite differences, second order and forward mode of the whole functional form."""
    rng = np.random.default_rng(6)
    e, h, n, length = 4, 2, 2, 3
    arrays = [rng.standard_normal((length, n, e)) for _ in range(3)]
    arrays += [rng.standard_normal((3 * e, e)) * 0.5, rng.standard_normal(3 * e), rng.standard_normal((e, e)) * 0.5,
               rng.standard_normal(e), rng.standard_normal((length, length))]
    if static:
        arrays += [rng.standard_normal((n * h, length, e // h)) for _ in range(2)]

    def call(fn, q, k, v, wi, bi, wo, bo, mask, *kv):
        res = fn(q, k, v, e, h, wi, bi, None, None, False, 0.0, wo, bo, attn_mask=mask, need_weights=need_weights,
                 static_k=kv[0] if kv else None, static_v=kv[1] if kv else None)
        return [r for r in res if r is not None]

    def reference(*xs):
        with sdpa_kernel(SDPBackend.MATH):
            return call(tF.multi_head_attention_forward, *xs)
    check_op(lambda *xs: call(F.multi_head_attention_forward, *xs), reference, *arrays)


# ---------------------------------------------------------------------------- MultiheadAttention
def _pair(dtype, *args, **kw):
    lamina.manual_seed(0)
    lam = nn.MultiheadAttention(*args, dtype=getattr(lamina, dtype), **kw)
    tor = torch.nn.MultiheadAttention(*args, dtype=getattr(torch, dtype), **kw)
    load_into_torch(lam, tor)
    return lam, tor


L_, S, N, E, H = 4, 5, 3, 8, 2


def _masks(rng, kind):
    """(attn_mask, key_padding_mask) numpy arrays for a mask ``kind`` (torch's MHA convention: True = masked)."""
    if kind == "none":
        return None, None
    if kind == "bool":
        m = rng.random((L_, S)) < 0.4
        m[:, 0] = False
        return m, None
    if kind == "float":
        return rng.standard_normal((L_, S)), None
    if kind == "3d":
        return rng.standard_normal((N * H, L_, S)), None
    if kind == "padding-bool":
        kpm = np.zeros((N, S), bool)
        kpm[1, 3:] = kpm[2, 4] = True
        return None, kpm
    if kind == "padding-float":
        return rng.standard_normal((L_, S)), np.where(rng.random((N, S)) < 0.3, -1e9, rng.standard_normal((N, S)))
    raise AssertionError(kind)


def _mha_call(has_mask, has_kpm, batch_first, **kw):
    def call(m, q, k, v, *masks):
        masks = list(masks)
        mask = masks.pop(0) if has_mask else None
        kpm = masks.pop(0) if has_kpm else None
        return m(q, k, v, key_padding_mask=kpm, attn_mask=mask, **kw)
    return call


def _inputs(rng, batch_first, kdim=E, vdim=E, batched=True):
    def shape(n, d):
        if not batched:
            return (n, d)
        return (N, n, d) if batch_first else (n, N, d)
    return rng.standard_normal(shape(L_, E)), rng.standard_normal(shape(S, kdim)), rng.standard_normal(shape(S, vdim))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kind", ["none", "bool", "float", "3d", "padding-bool", "padding-float"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_matches_torch(dtype, kind, batch_first, need_weights):
    rng = np.random.default_rng(10)
    lam, tor = _pair(dtype, E, H, batch_first=batch_first)
    mask, kpm = _masks(rng, kind)
    arrays = list(_inputs(rng, batch_first)) + [a for a in (mask, kpm) if a is not None]
    call = _mha_call(mask is not None, kpm is not None, batch_first, need_weights=need_weights)
    lo, to = compare_modules(lam, tor, arrays, call, dtype)
    assert len(lo) == (2 if need_weights else 1)


@pytest.mark.parametrize("kw", [{"kdim": 6, "vdim": 5}, {"bias": False}, {"add_bias_kv": True},
                                {"add_zero_attn": True}, {"add_bias_kv": True, "add_zero_attn": True, "kdim": 6}],
                         ids=["kdim-vdim", "no-bias", "bias-kv", "zero-attn", "all"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_options_match_torch(kw, need_weights):
    rng = np.random.default_rng(11)
    lam, tor = _pair("float64", E, H, **kw)
    mask, kpm = _masks(rng, "padding-float")
    arrays = list(_inputs(rng, False, kw.get("kdim", E), kw.get("vdim", E))) + [mask, kpm]
    compare_modules(lam, tor, arrays, _mha_call(True, True, False, need_weights=need_weights))


def test_mha_parameter_names_and_init_follow_torch():
    lamina.manual_seed(0)
    m = nn.MultiheadAttention(E, H)
    t = torch.nn.MultiheadAttention(E, H)
    assert list(m.state_dict()) == list(t.state_dict()) == ["in_proj_weight", "in_proj_bias", "out_proj.weight",
                                                           "out_proj.bias"]
    assert type(m.out_proj).__name__ == type(t.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    assert np.all(m.in_proj_bias.numpy() == 0) and np.all(m.out_proj.bias.numpy() == 0)
    bound = np.sqrt(6 / (E + 3 * E))                       # xavier_uniform_ of (3E, E)
    assert np.abs(m.in_proj_weight.numpy()).max() <= bound
    assert m.in_proj_weight.numpy().std() > 0.8 * bound / np.sqrt(3)
    assert m.in_proj_weight.dtype == np.float32 and m.head_dim == E // H
    sep = nn.MultiheadAttention(E, H, kdim=6, vdim=5, bias=False, add_bias_kv=True)
    tsep = torch.nn.MultiheadAttention(E, H, kdim=6, vdim=5, bias=False, add_bias_kv=True)
    assert list(sep.state_dict()) == list(tsep.state_dict())
    assert {k: tuple(v.shape) for k, v in sep.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in tsep.state_dict().items()}
    assert sep.in_proj_weight is None and sep.in_proj_bias is None and sep.bias_k.shape == (1, 1, E)


@pytest.mark.parametrize("average", [True, False])
def test_mha_unbatched_and_per_head_weights(average):
    rng = np.random.default_rng(12)
    lam, tor = _pair("float64", E, H, batch_first=True)
    mask = rng.random((L_, S)) < 0.3
    kpm = np.zeros(S, bool)
    kpm[-1] = True
    arrays = list(_inputs(rng, True, batched=False)) + [mask, kpm]
    lo, _ = compare_modules(lam, tor, arrays, _mha_call(True, True, True, average_attn_weights=average))
    assert lo[0].shape == (L_, E) and lo[1].shape == ((L_, S) if average else (H, L_, S))
    arrays = list(_inputs(rng, False, batched=False)) + [rng.standard_normal((H, L_, S))]
    compare_modules(lam, tor, arrays, _mha_call(True, False, True, average_attn_weights=average))


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_self_attention_with_causal_hint(need_weights):
    rng = np.random.default_rng(13)
    lam, tor = _pair("float64", E, H, batch_first=True)
    x = rng.standard_normal((N, L_, E))
    causal = np.triu(np.ones((L_, L_), bool), 1)

    def call(m, x, mask):
        return m(x, x, x, attn_mask=mask, need_weights=need_weights, is_causal=True)
    compare_modules(lam, tor, [x, causal], call)
    with pytest.raises(ValueError, match="pass attn_mask too"):
        lam(lamina.tensor(x), lamina.tensor(x), lamina.tensor(x), is_causal=True)


def test_mha_dropout_is_off_in_eval_and_drops_weights_in_training():
    rng = np.random.default_rng(14)
    lam, tor = _pair("float64", E, H, dropout=0.5)
    lam.eval(), tor.eval()
    compare_modules(lam, tor, list(_inputs(rng, False)))
    lam.train()
    q, k, v = (lamina.tensor(a) for a in _inputs(rng, False))
    out, w = lam(q, k, v)
    kept = w.numpy()                          # averaged over heads of weights scaled by 1/(1 - p) or zeroed
    assert not np.allclose(kept.sum(-1), 1.0)
    full = nn.MultiheadAttention(E, H, dropout=1.0, dtype=lamina.float64)
    out, _ = full(q, k, v, need_weights=False)
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(full.out_proj.bias.numpy(), out.shape))


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_mha_fully_masked_row_follows_torch_in_both_paths():
    rng = np.random.default_rng(15)
    lam, tor = _pair("float64", E, H)
    q, k, v = _inputs(rng, False)
    mask = np.zeros((L_, S), bool)
    mask[2] = True
    for need in (True, False):
        lo, lw = lam(*(lamina.tensor(a) for a in (q, k, v)), attn_mask=lamina.tensor(mask), need_weights=need)
        to, tw = tor(*(torch.tensor(a) for a in (q, k, v)), attn_mask=torch.tensor(mask), need_weights=need)
        np.testing.assert_allclose(lo.detach().numpy(), to.detach().numpy(), rtol=1e-10, atol=1e-10)
        assert (lw is None) == (tw is None) == (not need)


@pytest.mark.parametrize("call,match", [
    (lambda m, x: m(x[0], x, x), "all batched 3-D"),
    (lambda m, x: m(x[..., :4], x[..., :4], x[..., :4]), "embedding dimension of 8"),
    (lambda m, x: m(x, x, x, attn_mask=lamina.zeros(3, 3, dtype=lamina.bool)), r"should be of size \(5, 5\)"),
    (lambda m, x: m(x, x, x, attn_mask=lamina.zeros(5, 5, 5, dtype=lamina.bool)), r"size \(4, 5, 5\)"),
    (lambda m, x: m(x, x, x, key_padding_mask=lamina.zeros(2, 4, dtype=lamina.bool)), r"shape \(2, 5\)"),
    (lambda m, x: m(x, x, x, key_padding_mask=lamina.zeros(2, dtype=lamina.bool)), "must be 2-D"),
    (lambda m, x: m(x, x[:3], x), "must match"),
])
def test_mha_bad_shapes_raise_clear_errors(call, match):
    m = nn.MultiheadAttention(E, H)
    with pytest.raises(ValueError, match=match):
        call(m, lamina.randn(5, 2, E))


def test_mha_rejects_embed_dim_not_divisible_and_bad_mask_dtype():
    with pytest.raises(ValueError, match="embed_dim must be divisible by num_heads, got embed_dim=10 and num_heads=3"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="must be positive"):
        nn.MultiheadAttention(8, 0)
    x = lamina.randn(3, 2, E)
    with pytest.raises(TypeError, match="only bool and floating types of attn_mask"):
        nn.MultiheadAttention(E, H)(x, x, x, attn_mask=lamina.zeros(3, 3, dtype=lamina.int64))


def test_sdpa_kernel_context_is_accepted_and_changes_nothing():
    from lamina.nn.attention import SDPBackend as LBackend
    from lamina.nn.attention import sdpa_kernel as l_kernel
    assert {k: int(v) for k, v in LBackend.__members__.items()} == \
        {k: int(v.value) for k, v in SDPBackend.__members__.items()}
    q = lamina.randn(2, 3, 4)
    plain = F.scaled_dot_product_attention(q, q, q, is_causal=True)
    with l_kernel([LBackend.FLASH_ATTENTION, LBackend.MATH]), lamina.nn.attention.sdpa_kernel(LBackend.MATH):
        np.testing.assert_array_equal(F.scaled_dot_product_attention(q, q, q, is_causal=True).numpy(), plain.numpy())
    with pytest.raises(TypeError, match="SDPBackend members"), l_kernel(["math"]):
        pass
