"""A PyTorch transformer program in the style of the language-model tutorial (token embedding, sinusoidal
positional encoding, TransformerEncoder, Linear head, SGD / Adam with a scheduler and gradient clipping),
written once as ``program(torch, ...)`` and run with real torch and with ``lamina`` as torch. Both start
from the same numpy-generated weights (loaded with load_state_dict), dropout 0: every loss, learning
rate and the final eval loss agree in float64."""
from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
import torch

import lamina

NTOKENS, PAD, SEQ, BATCH = 11, 0, 8, 4


def program(torch, batches, init, steps, batch_first=False, adam=False):
    """Train a tiny causal TransformerEncoder language model for ``steps`` steps on ``batches`` of token ids
    (SEQ + 1, BATCH); returns (training losses, learning rates, eval loss)."""
    nn = torch.nn
    old_dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        class PositionalEncoding(nn.Module):
            def __init__(self, d_model, dropout=0.0, max_len=64):
                super().__init__()
                self.dropout = nn.Dropout(p=dropout)
                position = torch.arange(max_len).unsqueeze(1)
                div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
                pe = torch.zeros(max_len, 1, d_model)
                pe[:, 0, 0::2] = torch.sin(position * div_term)
                pe[:, 0, 1::2] = torch.cos(position * div_term)
                self.register_buffer("pe", pe)

            def forward(self, x):
                pe = self.pe[:x.size(1)].transpose(0, 1) if batch_first else self.pe[:x.size(0)]
                return self.dropout(x + pe)

        class TransformerModel(nn.Module):
            def __init__(self, ntoken, d_model, nhead, d_hid, nlayers, dropout=0.0):
                super().__init__()
                self.model_type = "Transformer"
                self.pos_encoder = PositionalEncoding(d_model, dropout)
                encoder_layers = nn.TransformerEncoderLayer(d_model, nhead, d_hid, dropout, batch_first=batch_first,
                                                            norm_first=adam, activation="gelu" if adam else "relu")
                self.transformer_encoder = nn.TransformerEncoder(encoder_layers, nlayers, enable_nested_tensor=False)
                self.embedding = nn.Embedding(ntoken, d_model)
                self.d_model = d_model
                self.linear = nn.Linear(d_model, ntoken)

            def forward(self, src, src_mask=None, padding_mask=None):
                src = self.embedding(src) * math.sqrt(self.d_model)
                src = self.pos_encoder(src)
                output = self.transformer_encoder(src, src_mask, src_key_padding_mask=padding_mask)
                return self.linear(output)

        model = TransformerModel(NTOKENS, 16, 2, 32, 2, dropout=0.0)
        weights = {k: torch.tensor(init(k, tuple(v.shape))) for k, v in model.state_dict().items()
                   if k != "pos_encoder.pe"}
        missing, unexpected = model.load_state_dict(weights, strict=False)
        assert list(missing) == ["pos_encoder.pe"] and not list(unexpected)
        criterion = nn.CrossEntropyLoss(ignore_index=PAD)
        if adam:
            optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, betas=(0.9, 0.98), eps=1e-9)
            scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min((s + 1) / 3, 1.0))
        else:
            optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
            scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.9)

        def batch_loss(batch):
            batch = torch.tensor(batch)
            data, targets = batch[:-1], batch[1:]
            padding = (data == PAD).t() if batch_first else None
            if batch_first:
                data, targets = data.t(), targets.t()
            if batch_first:     # a boolean causal mask, True above the diagonal, like the padding mask
                src_mask = torch.triu(torch.ones(SEQ, SEQ, dtype=torch.bool), diagonal=1)
            else:
                src_mask = nn.Transformer.generate_square_subsequent_mask(SEQ)
            output = model(data, src_mask, padding)
            return criterion(output.reshape(-1, NTOKENS), targets.reshape(-1))

        losses, lrs = [], []
        model.train()
        for step in range(steps):
            loss = batch_loss(batches[step % len(batches)])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
            lrs.append(scheduler.get_last_lr()[0])
        model.eval()
        with torch.no_grad():
            eval_loss = batch_loss(batches[-1]).item()
        return losses, lrs, eval_loss
    finally:
        torch.set_default_dtype(old_dtype)


def init(name, shape):
    """The starting weights: N(0, 1/fan_in) matrices, LayerNorm gains near 1, small embeddings."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    if ".norm" in name and name.endswith("weight"):
        return 1.0 + 0.1 * rng.standard_normal(shape)
    return rng.standard_normal(shape) * (0.3 if "embedding" in name else 1 / np.sqrt(shape[-1]))


def _batches(padded):
    """Counting sequences (next token = token + 1, wrapping at NTOKENS within 1 … NTOKENS − 1); with
    ``padded`` the tails of some sequences are PAD."""
    rng = np.random.default_rng(0)
    out = []
    for _ in range(3):
        start = rng.integers(1, NTOKENS, size=(1, BATCH))
        b = (start - 1 + np.arange(SEQ + 1)[:, None]) % (NTOKENS - 1) + 1
        if padded:
            b[-2:, 1] = PAD
            b[-3:, 3] = PAD
        out.append(b.astype(np.int64))
    return out


@pytest.mark.parametrize("batch_first,adam", [(False, False), (True, True)],
                         ids=["seq-first-sgd-steplr", "batch-first-padding-adam-warmup"])
def test_transformer_language_model_trains_identically(batch_first, adam):
    batches = _batches(padded=batch_first)
    ref = program(torch, batches, init, 6, batch_first, adam)
    ours = program(lamina, batches, init, 6, batch_first, adam)
    np.testing.assert_allclose(ours[0], ref[0], rtol=1e-5, atol=1e-5)     # every training loss
    np.testing.assert_allclose(ours[1], ref[1], rtol=1e-12)               # the scheduler's learning rates
    np.testing.assert_allclose(ours[2], ref[2], rtol=1e-5, atol=1e-5)     # eval loss after training
    assert ref[0][-1] < ref[0][0] and ours[2] < ours[0][0]                # it learns the counting task
