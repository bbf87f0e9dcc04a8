"""The VAE example: an encoder to (μ, log σ²), the reparameterization z = μ + ε·exp(½ log σ²) with ε passed in,
a decoder with a sigmoid output, and the loss BCE(sum) + KL = −½ Σ (1 + log σ² − μ² − σ²)."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for


def build(torch):
    nn = torch.nn
    F = nn.functional

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(20, 12)
            self.fc21 = nn.Linear(12, 3)
            self.fc22 = nn.Linear(12, 3)
            self.fc3 = nn.Linear(3, 12)
            self.fc4 = nn.Linear(12, 20)

        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparameterize(self, mu, logvar, eps):
            std = torch.exp(0.5 * logvar)
            return mu + eps * std

        def decode(self, z):
            return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

        def forward(self, x, eps):
            mu, logvar = self.encode(x.view(-1, 20))
            return self.decode(self.reparameterize(mu, logvar, eps)), mu, logvar

    return VAE()


def program(torch, init):
    F = torch.nn.functional
    model = build(torch)
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    data, eps = torch.tensor(init["x"]), torch.tensor(init["eps"])

    def loss_function(recon_x, x, mu, logvar):
        bce = F.binary_cross_entropy(recon_x, x.view(-1, 20), reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return bce + kld, kld

    losses, klds = [], []
    model.train()
    for step in range(8):
        x = data[8 * (step % 3):8 * (step % 3) + 8]
        optimizer.zero_grad()
        recon, mu, logvar = model(x, eps[step])
        loss, kld = loss_function(recon, x, mu, logvar)
        loss.backward()
        optimizer.step()
        losses.append(loss.item() / len(x))
        klds.append(kld.item())
    model.eval()
    with torch.no_grad():
        sample = model.decode(eps[0])
    return {"losses": losses, "kld": klds, "sample": sample, "params": model.state_dict()}


def test_vae_with_reparameterization_and_kl_term():
    rng = np.random.default_rng(4)
    init = {"model": weights_for(build, rng), "x": rng.random((24, 20)).astype(np.float32),
            "eps": rng.standard_normal((8, 8, 3)).astype(np.float32)}
    compare(program, init, "float32")
