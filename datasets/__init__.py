"""Real data in, NumPy arrays out. Plain package run from the checkout; needs only NumPy and Pillow.

>>> from datasets import load_digits, load_mnist, load_image_folder
"""
from .digits import load_digits
from .idx import read_idx, write_idx
from .images import ImageDataset, decode_image, load_image_folder, load_image_splits, prefix_labels
from .mnist import (FASHION_MNIST_CLASSES, identify_mnist, load_fashion_mnist, load_idx_pair, load_mnist,
                    mnist_files)
from .preprocess import one_hot, scale01, select_classes, standardize, train_test_split
from ._download import cache_dir

__all__ = [
    "load_digits", "read_idx", "write_idx", "load_idx_pair", "load_mnist", "load_fashion_mnist",
    "identify_mnist", "mnist_files", "FASHION_MNIST_CLASSES", "ImageDataset", "decode_image", "load_image_folder", "load_image_splits",
    "prefix_labels", "scale01", "standardize", "one_hot", "train_test_split", "select_classes", "cache_dir",
]
