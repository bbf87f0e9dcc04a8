"""TransformerEncoderLayer / TransformerEncoder (and the decoder side, nn.Transformer) against PyTorch's
with the same weights: outputs and every gradient, post- and pre-norm, relu / gelu / callable activations,
boolean / float / causal masks and key padding, batch_first both ways, train (dropout 0) and eval."""
import numpy as np
import pytest
import torch
from module_twins import compare_modules, load_into_torch

import lamina
import lamina.nn as nn
import lamina.nn.functional as F

D, HEADS, FF, S, T, N = 8, 2, 12, 5, 4, 3


def _lib_dtype(lib, dtype):
    return getattr(lib, dtype)


def _encoders(dtype, num_layers=2, final_norm=True, **kw):
    lamina.manual_seed(0)
    lam = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, HEADS, FF, dtype=_lib_dtype(lamina, dtype), **kw),
                                num_layers, nn.LayerNorm(D, dtype=_lib_dtype(lamina, dtype)) if final_norm else None)
    tkw = dict(kw, activation=torch.nn.functional.gelu) if kw.get("activation") is F.gelu else kw
    tor = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(D, HEADS, FF, dtype=_lib_dtype(torch, dtype), **tkw), num_layers,
        torch.nn.LayerNorm(D, dtype=_lib_dtype(torch, dtype)) if final_norm else None, enable_nested_tensor=False)
    load_into_torch(lam, tor)
    return lam, tor


def _src(rng, batch_first, n=S):
    return rng.standard_normal((N, n, D) if batch_first else (n, N, D))


def _padding(n=S):
    kpm = np.zeros((N, n), bool)
    kpm[1, -2:] = kpm[2, -1] = True
    return kpm


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_matches_torch_with_padding_and_causal_mask(dtype, batch_first, norm_first, activation):
    rng = np.random.default_rng(0)
    lam, tor = _encoders(dtype, dropout=0.0, batch_first=batch_first, norm_first=norm_first, activation=activation)
    causal = np.triu(np.ones((S, S), bool), 1)

    def call(m, src, mask, kpm):
        return m(src, mask=mask, src_key_padding_mask=kpm)
    compare_modules(lam, tor, [_src(rng, batch_first), causal, _padding()], call, dtype)


@pytest.mark.parametrize("mask_kind", ["none", "float", "square-subsequent", "bool-is-causal"])
def test_encoder_masks_match_torch(mask_kind):
    rng = np.random.default_rng(1)
    lam, tor = _encoders("float64", dropout=0.0, bias=mask_kind != "float")
    causal_float = np.triu(np.full((S, S), -np.inf), 1)
    masks = {"none": None, "float": rng.standard_normal((S, S)), "square-subsequent": causal_float,
             "bool-is-causal": np.triu(np.ones((S, S), bool), 1)}
    mask = masks[mask_kind]
    if mask is None:
        compare_modules(lam, tor, [_src(rng, False)])
        return

    def call(m, src, mask):
        return m(src, mask=mask, is_causal=True if mask_kind == "bool-is-causal" else None)
    compare_modules(lam, tor, [_src(rng, False), mask], call)


def test_encoder_in_eval_mode_with_dropout_and_callable_activation():
    rng = np.random.default_rng(2)
    lam, tor = _encoders("float64", num_layers=3, final_norm=False, dropout=0.3, activation=F.gelu)
    lam.eval(), tor.eval()
    compare_modules(lam, tor, [_src(rng, False), _padding()], lambda m, x, kpm: m(x, src_key_padding_mask=kpm))


def test_encoder_layer_alone_and_unbatched():
    rng = np.random.default_rng(3)
    lamina.manual_seed(0)
    lam = nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0, dtype=lamina.float64, batch_first=True)
    tor = torch.nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0, dtype=torch.float64, batch_first=True)
    load_into_torch(lam, tor)
    causal = np.triu(np.ones((S, S), bool), 1)
    compare_modules(lam, tor, [_src(rng, True), causal, _padding()],
                    lambda m, x, mask, kpm: m(x, src_mask=mask, src_key_padding_mask=kpm, is_causal=True))
    compare_modules(lam, tor, [rng.standard_normal((S, D))])
    assert list(lam.state_dict()) == [
        "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
        "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight", "norm1.bias",
        "norm2.weight", "norm2.bias"]


def test_encoder_deep_copies_its_layer():
    layer = nn.TransformerEncoderLayer(D, HEADS, FF)
    enc = nn.TransformerEncoder(layer, 2)
    a, b = enc.layers
    assert a is not layer and b is not a and a.linear1.weight is not b.linear1.weight
    np.testing.assert_array_equal(a.linear1.weight.numpy(), layer.linear1.weight.numpy())
    np.testing.assert_array_equal(b.self_attn.in_proj_weight.numpy(), layer.self_attn.in_proj_weight.numpy())
    assert enc.num_layers == 2 and enc.norm is None and len(list(enc.parameters())) == 24


def test_decoder_and_full_transformer_match_torch():
    rng = np.random.default_rng(4)
    lamina.manual_seed(0)
    kw = dict(d_model=D, nhead=HEADS, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=FF, dropout=0.0,
              batch_first=True)
    lam = nn.Transformer(**kw, dtype=lamina.float64)
    tor = torch.nn.Transformer(**kw, dtype=torch.float64)
    load_into_torch(lam, tor)
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(T, dtype=lamina.float64).numpy()

    def call(m, src, tgt, tgt_mask, src_kpm):
        return m(src, tgt, tgt_mask=tgt_mask, src_key_padding_mask=src_kpm, memory_key_padding_mask=src_kpm)
    compare_modules(lam, tor, [_src(rng, True), _src(rng, True, T), tgt_mask, _padding()], call)
    w = lam.encoder.layers[0].linear1.weight.numpy()       # every matrix re-initialised xavier_uniform_
    assert np.abs(w).max() <= np.sqrt(6 / (D + FF))


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(norm_first):
    rng = np.random.default_rng(5)
    lamina.manual_seed(0)
    lam = nn.TransformerDecoderLayer(D, HEADS, FF, dropout=0.0, norm_first=norm_first, activation="gelu",
                                     dtype=lamina.float64)
    tor = torch.nn.TransformerDecoderLayer(D, HEADS, FF, dropout=0.0, norm_first=norm_first, activation="gelu",
                                           dtype=torch.float64)
    load_into_torch(lam, tor)
    causal = np.triu(np.ones((T, T), bool), 1)
    compare_modules(lam, tor, [_src(rng, False, T), _src(rng, False), causal],
                    lambda m, tgt, mem, mask: m(tgt, mem, tgt_mask=mask, tgt_is_causal=True))


def test_square_subsequent_mask_and_errors():
    for n in (1, 4):
        np.testing.assert_array_equal(nn.Transformer.generate_square_subsequent_mask(n).numpy(),
                                      torch.nn.Transformer.generate_square_subsequent_mask(n).numpy())
    assert nn.Transformer.generate_square_subsequent_mask(3).dtype == np.float32
    with pytest.raises(ValueError, match="activation should be 'relu', 'gelu' or a callable, not 'tanh'"):
        nn.TransformerEncoderLayer(D, HEADS, activation="tanh")
    with pytest.raises(ValueError, match="embed_dim must be divisible by num_heads"):
        nn.TransformerEncoderLayer(10, 4)
    model = nn.Transformer(D, HEADS, 1, 1, FF)
    with pytest.raises(ValueError, match="must be d_model=8"):
        model(lamina.randn(S, N, D), lamina.randn(T, N, 6))
    with pytest.raises(ValueError, match="batch size"):
        model(lamina.randn(S, N, D), lamina.randn(T, N + 1, D))
