r"""sayedcnn: section 47.25 ("Convolutional neural networks") of A. H. Sayed,
*Inference and Learning from Data*, in the book's own matrix formulation.

Every matrix of the chapter is buildable (:mod:`sayedcnn.operators`,
:mod:`sayedcnn.pooling`), the forward listing (47.1216), the training listing (47.1275) and
the stochastic-gradient listing (47.1276) run line for line (:mod:`sayedcnn.forward`,
:mod:`sayedcnn.training`), and every result is checked against independent references
(:mod:`sayedcnn.reference`).
"""

from .activations import Activation, get_activation, softmax
from .losses import Loss, get_loss
from .network import Conv, Network, Params
from .operators import (
    SlidingPartition,
    V_ddc,
    V_ddc_skeleton,
    commutation_matrix,
    convolve,
    correlate,
    edge_magnitude,
    flip_mask,
    gaussian_mask,
    partition_matrix,
    patch_indicator,
    patch_matrix,
    prewitt_masks,
    reversal_matrix,
    sliding_partition,
    sobel_masks,
    unvec,
    vec,
)
from .pooling import Pooling

__version__ = "0.1.0"

__all__ = [
    "Activation",
    "Conv",
    "Loss",
    "Network",
    "Params",
    "Pooling",
    "SlidingPartition",
    "V_ddc",
    "V_ddc_skeleton",
    "commutation_matrix",
    "convolve",
    "correlate",
    "edge_magnitude",
    "flip_mask",
    "gaussian_mask",
    "get_activation",
    "get_loss",
    "partition_matrix",
    "patch_indicator",
    "patch_matrix",
    "prewitt_masks",
    "reversal_matrix",
    "sliding_partition",
    "sobel_masks",
    "softmax",
    "unvec",
    "vec",
]
