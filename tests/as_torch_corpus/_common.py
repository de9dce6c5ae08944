"""Shared by the corpus programs: the same start in any framework (NumPy-drawn weights and data)."""
import numpy as np
import torch


def init_from_numpy(model, seed):
    """Overwrite every parameter with NumPy draws at PyTorch's default scale (1/sqrt(fan_in))."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            fan_in = param[0].numel() if param.dim() > 1 else param.numel()
            bound = 1.0 / np.sqrt(fan_in)
            param.copy_(torch.from_numpy(rng.uniform(-bound, bound, tuple(param.size())).astype(np.float32)))


def random_images(seed, n, channels, size, classes):
    """Images whose class shifts the mean of one quadrant, so there is something to learn."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    images = rng.standard_normal((n, channels, size, size)).astype(np.float32)
    half = size // 2
    for k in range(classes):
        r, c = divmod(k % 4, 2)
        images[labels == k, :, r * half:(r + 1) * half, c * half:(c + 1) * half] += 0.5 + k // 4
    return images, labels
