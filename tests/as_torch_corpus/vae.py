"""The VAE example's structure: reparameterisation with randn_like, BCE + KLD loss, Adam; in-place
`train_loss += loss.item()`, `x.view(-1, 784)`. Random noise differs between frameworks, so the noise is
drawn once with NumPy and replayed (the script still calls randn_like, whose result it scales by zero)."""
import numpy as np
import torch
from torch import nn, optim
from torch.nn import functional as F

from _common import init_from_numpy

rng = np.random.default_rng(30)
data = torch.from_numpy((rng.random((128, 1, 8, 8)) > 0.7).astype(np.float32))
noise = torch.from_numpy(rng.standard_normal((6, 32, 4)).astype(np.float32))


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc21 = nn.Linear(32, 4)
        self.fc22 = nn.Linear(32, 4)
        self.fc3 = nn.Linear(4, 32)
        self.fc4 = nn.Linear(32, 64)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar, eps):
        std = torch.exp(0.5 * logvar)
        eps = eps + 0 * torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x, eps):
        mu, logvar = self.encode(x.view(-1, 64))
        z = self.reparameterize(mu, logvar, eps)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 64), reduction="sum")
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


model = VAE()
init_from_numpy(model, 31)
optimizer = optim.Adam(model.parameters(), lr=1e-2)
for epoch in range(3):
    model.train()
    train_loss = 0
    for batch_idx in range(4):
        x = data[batch_idx * 32:(batch_idx + 1) * 32]
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(x, noise[(epoch * 2 + batch_idx) % 6])
        loss = loss_function(recon_batch, x, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
    print(f"====> Epoch: {epoch} Average loss: {train_loss / 128:.4f}")
print("final loss:", train_loss / 128)
