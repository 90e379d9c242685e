r"""Independent references used to check the matrix implementation of section 47.25.

* :mod:`sayedcnn.reference.loops`: the network by scalar loops over the book's own index
  equations: forward (47.1133), (47.1155), (47.1187), (47.1212)-(47.1216); sensitivities
  (47.1233)-(47.1249); derivatives (47.1263)-(47.1272); the risk (47.1229).
* :mod:`sayedcnn.reference.finite_diff`: central finite differences over every parameter,
  usable on any scalar function of a :class:`sayedcnn.Params`.
* :mod:`sayedcnn.reference.image`: the image-domain forms of the seed notes (correlation,
  full convolution with rotated masks, im2col).
* :mod:`sayedcnn.reference.compare`: the package's one comparison, the largest relative
  difference, which sees NaN, missing arrays and shape mismatches.

Each is imported on demand (``from sayedcnn.reference import loops``): this package's
``__init__`` imports none of them, so that the core can use :mod:`~sayedcnn.reference.compare`
without loading the references it is checked by.

The wall that makes these checks mean something: nothing in this package imports
:mod:`sayedcnn.operators`, :mod:`sayedcnn.pooling`, :mod:`sayedcnn.forward` or
:mod:`sayedcnn.training`, and nothing here uses a partition matrix ``V``, a pooling matrix
``T``, a precomputed index array, a Kronecker product or a vectorised gradient of the
package. From a :class:`sayedcnn.Network` only the architecture description is read (sizes,
connection tables, the activation objects, the geometry tuples of each sliding partition and
the pooling description); every index is derived here from that geometry.
"""

__all__ = ["compare", "finite_diff", "image", "loops"]
