"""A fully connected autoencoder (encoder to a 3-d code, decoder back, Sigmoid output), ``MSELoss`` and Adam over
mini-batches, then the codes of the data with the encoder alone under ``torch.no_grad()``."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for


def build(torch):
    nn = torch.nn

    class AutoEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3))
            self.decoder = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 16), nn.Sigmoid())

        def forward(self, x):
            encoded = self.encoder(x)
            return encoded, self.decoder(encoded)

    return AutoEncoder()


def program(torch, init):
    autoencoder = build(torch)
    autoencoder.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    optimizer = torch.optim.Adam(autoencoder.parameters(), lr=5e-3)
    loss_func = torch.nn.MSELoss()
    data = torch.tensor(init["x"])
    losses = []
    for _epoch in range(3):
        for step in range(4):
            b_x = data[10 * step:10 * step + 10].view(-1, 16)
            encoded, decoded = autoencoder(b_x)
            loss = loss_func(decoded, b_x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    with torch.no_grad():
        codes = autoencoder.encoder(data)
    return {"losses": losses, "codes": codes, "params": autoencoder.state_dict()}


def test_autoencoder_reconstruction():
    rng = np.random.default_rng(12)
    compare(program, {"model": weights_for(build, rng), "x": rng.random((40, 16)).astype(np.float32)}, "float32")
