"""PyTorch's conv2d as the float32 oracle of the fast convolution paths (test_conv_fold, test_conv_planes)."""
import numpy as np

# Tolerances for float32. out and dX sum at most Cin·KH·KW (≤ 108 here) unit-size products: 1e-4 is ~10x
# their rounding. dW and db sum over N·OH·OW terms (up to ~10,700 in these tests); float32 sums of n random
# unit terms err by about sqrt(n)·eps·sqrt(n) ≈ 6e-4 at that size, whatever the order, so 2e-3 is ~3x that.
RTOL, ATOL_SMALL_SUMS, ATOL_BATCH_SUMS = 1e-4, 1e-4, 2e-3


def assert_matches_torch_conv2d(torch, x, w, b, g, out, dx=None, dw=None, db=None, **geometry):
    """Our conv2d's output and gradients (None: not computed) against torch's on the same data and upstream g."""
    xt = torch.tensor(x, requires_grad=dx is not None)
    wt = torch.tensor(w, requires_grad=True)
    bt = None if b is None else torch.tensor(b, requires_grad=True)
    ref = torch.nn.functional.conv2d(xt, wt, bt, **geometry)
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=RTOL, atol=ATOL_SMALL_SUMS)
    if dx is not None:
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=RTOL, atol=ATOL_SMALL_SUMS)
    if dw is not None:
        np.testing.assert_allclose(dw, wt.grad.numpy(), rtol=RTOL, atol=ATOL_BATCH_SUMS)
    if db is not None:
        np.testing.assert_allclose(db, bt.grad.numpy(), rtol=RTOL, atol=ATOL_BATCH_SUMS)
