r"""sayedcnn: section 47.25 ("Convolutional neural networks") of A. H. Sayed,
*Inference and Learning from Data*, in the book's own matrix formulation.

Every matrix of the chapter is buildable (:mod:`sayedcnn.operators`,
:mod:`sayedcnn.pooling`), the forward listing (47.1216), the training listing (47.1275) and
the stochastic-gradient listing (47.1276) run line for line (:mod:`sayedcnn.forward`,
:mod:`sayedcnn.training`), and every result is checked against independent references
(:mod:`sayedcnn.reference`).
"""

from . import network as _network
from . import sgd as _sgd
from . import training as _training
from .activations import Activation, get_activation, softmax
from .losses import Loss, get_loss, one_hot
from .network import Conv, Network
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
from .params import Params
from .pooling import Pooling
from .teaching.show import show

__version__ = "0.1.0"

# Network's methods run the listings and the engine, which import network.py; binding them
# here keeps every import arrow pointing down (see docs/conventions.md, "Layout").
_network.ALGORITHMS.update(forward=_sgd.forward, backward=_training.backward_listing,
                           gradients=_sgd.gradients, risk=_sgd.risk, sgd_step=_sgd.sgd_step,
                           fit=_sgd.fit)

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
    "one_hot",
    "partition_matrix",
    "patch_indicator",
    "patch_matrix",
    "prewitt_masks",
    "reversal_matrix",
    "sliding_partition",
    "sobel_masks",
    "show",
    "softmax",
    "unvec",
    "vec",
]
