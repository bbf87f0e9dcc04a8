"""The GAN training loop: a generator and a discriminator, one Adam each, the discriminator trained on real data
and on detached fakes, the generator through the discriminator, both with BCEWithLogitsLoss. The latent noise
is passed in."""
from __future__ import annotations

import numpy as np
from _harness import compare, weights_for


def build(torch):
    nn = torch.nn
    G = nn.Sequential(nn.Linear(4, 16), nn.LeakyReLU(0.2), nn.Linear(16, 2))
    D = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
    return {"G": G, "D": D}


def program(torch, init):
    nets = build(torch)
    G, D = nets["G"], nets["D"]
    G.load_state_dict({k: torch.tensor(v) for k, v in init["G"].items()})
    D.load_state_dict({k: torch.tensor(v) for k, v in init["D"].items()})
    criterion = torch.nn.BCEWithLogitsLoss()
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
    real_data, noise = torch.tensor(init["real"]), torch.tensor(init["noise"])
    d_losses, g_losses = [], []
    for step in range(6):
        real = real_data[16 * step:16 * (step + 1)]
        z = noise[step]
        ones, zeros = torch.ones(real.size(0), 1), torch.zeros(real.size(0), 1)
        # (1) update D: maximize log D(x) + log(1 - D(G(z)))
        D.zero_grad()
        fake = G(z)
        loss_d = criterion(D(real), ones) + criterion(D(fake.detach()), zeros)
        loss_d.backward()
        opt_d.step()
        # (2) update G: maximize log D(G(z))
        G.zero_grad()
        loss_g = criterion(D(fake), ones)
        loss_g.backward()
        opt_g.step()
        d_losses.append(loss_d.item())
        g_losses.append(loss_g.item())
    return {"d": d_losses, "g": g_losses, "G": G.state_dict(), "D": D.state_dict()}


def test_gan_loop_with_two_optimizers_and_detach():
    rng = np.random.default_rng(3)
    init = {**weights_for(build, rng), "real": (rng.standard_normal((96, 2)) * 0.5 + 2).astype(np.float32),
            "noise": rng.standard_normal((6, 16, 4)).astype(np.float32)}
    compare(program, init, "float32")
