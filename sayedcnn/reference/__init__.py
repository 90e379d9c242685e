r"""Independent references used to check the matrix implementation of section 47.25.

* :mod:`sayedcnn.reference.loops`: the network by scalar loops over the book's own index
  equations: forward (47.1133), (47.1155), (47.1187), (47.1212)-(47.1216); sensitivities
  (47.1233)-(47.1249); derivatives (47.1263)-(47.1272); the risk (47.1229).
* :mod:`sayedcnn.reference.finite_diff`: central finite differences over every parameter,
  usable on any scalar function of a :class:`sayedcnn.Params`.
* :mod:`sayedcnn.reference.image`: the image-domain forms of the seed notes (correlation,
  full convolution with rotated masks, im2col); imported on demand.

The wall that makes these checks mean something: nothing in this package imports
:mod:`sayedcnn.operators`, :mod:`sayedcnn.pooling`, :mod:`sayedcnn.forward` or
:mod:`sayedcnn.training`, and nothing here uses a partition matrix ``V``, a pooling matrix
``T``, a precomputed index array, a Kronecker product or a vectorised gradient of the
package. From a :class:`sayedcnn.Network` only the architecture description is read (sizes,
connection tables, the activation objects, the geometry tuples of each sliding partition and
the pooling description); every index is derived here from that geometry.
"""

from . import finite_diff, loops

__all__ = ["finite_diff", "loops"]
