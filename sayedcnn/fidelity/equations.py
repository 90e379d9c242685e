r"""The equation index: every numbered equation of section 47.25, (47.1124)-(47.1276).

:data:`INDEX` maps each number (``"47.1216"``; lettered parts share their number) to an
:class:`Entry`:

* ``kind="implemented"``: carried by the functions named ``"module:qualname"`` (whose
  docstrings cite the number) and checked by the tests named ``"tests/file.py::test_name"``;
* ``kind="checked"``: a worked example, an identity or a step of a derivation that no single
  function carries; the tests named check it;
* ``kind="definition/prose"``: notation or prose with nothing to compute; ``reason`` says why.

``errata`` lists the ids of :mod:`sayedcnn.fidelity.errata` that concern the equation, and
``departures`` the places (``D-...``) where the package departs from what it prints.
``python -m sayedcnn errata --write-equations EQUATIONS.md`` renders the index.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field, replace

__all__ = ["Entry", "INDEX", "DEPARTURES", "FIRST", "LAST", "KINDS", "render", "resolve",
           "cited_numbers"]

FIRST, LAST = 1124, 1276
KINDS = ("implemented", "checked", "definition/prose")


@dataclass(frozen=True)
class Entry:
    """One numbered equation of the chapter and where the package carries and checks it.

    Examples
    --------
    >>> from sayedcnn.fidelity.equations import INDEX
    >>> e = INDEX["47.1257"]
    >>> e.kind, "sayedcnn.operators:V_ddc" in e.functions
    ('implemented', True)
    """

    title: str
    kind: str
    functions: tuple = ()
    tests: tuple = ()
    reason: str = ""
    errata: tuple = field(default_factory=tuple)
    departures: tuple = field(default_factory=tuple)


_T = "tests/test_chapter_equations.py::"
_S = "tests/test_symbolic.py::"
_E = "tests/test_errata.py::"


def _impl(title, functions, tests, errata=()):
    return Entry(title, "implemented", tuple(functions), tuple(tests), errata=tuple(errata))


def _chk(title, tests, errata=()):
    return Entry(title, "checked", (), tuple(tests), errata=tuple(errata))


def _prose(title, reason):
    return Entry(title, "definition/prose", reason=reason)


_OPS = "sayedcnn.operators:"
_POOL = "sayedcnn.pooling:"
_NET = "sayedcnn.network:"
_FWD = "sayedcnn.forward:"
_TRN = "sayedcnn.training:"
_FUS = "sayedcnn.fused:"
_SGD = "sayedcnn.sgd:"

INDEX = {
    "47.1124": _prose("patch H and mask W (schematic)",
                      "a picture of a 3x3 patch and mask with the centre boxed; the centre offset "
                      "is checked with (47.1125)"),
    "47.1125": _chk("mask offsets k, l = -K..K",
                    [_T + "test_eq_47_1125_1127_vec_and_mask_offsets"]),
    "47.1126": _chk("corr(H, W) = vec(H)^T vec(W) = h^T w",
                    [_T + "test_eq_47_1126_correlation_is_inner_product"]),
    "47.1127": _impl("h = vec(H), w = vec(W)", [_OPS + "vec", _OPS + "unvec"],
                     [_T + "test_eq_47_1125_1127_vec_and_mask_offsets"]),
    "47.1128": _prose("image -> filtered image", "notation for filtering by a mask; the filtering "
                      "itself is (47.1133)"),
    "47.1129": _impl("F(1,1) with zero extension", [_OPS + "sliding_partition"],
                     [_T + "test_eq_47_1129_1132_first_patches"]),
    "47.1130": _chk("patch vector h_{1,1}", [_T + "test_eq_47_1129_1132_first_patches"]),
    "47.1131": _chk("F(1,2) = h_{1,2}^T w", [_T + "test_eq_47_1129_1132_first_patches"]),
    "47.1132": _chk("patch vector h_{1,2}", [_T + "test_eq_47_1129_1132_first_patches"]),
    "47.1133": _impl("F(r,c) = sum I(r+k, c+l) W(k,l) = h_{r,c}^T w", [_OPS + "correlate"],
                     [_T + "test_eq_47_1133_1134_correlation_entrywise"]),
    "47.1134": _chk("patch vector h_{r,c}", [_T + "test_eq_47_1133_1134_correlation_entrywise"]),
    "47.1135": _impl("Gaussian mask", [_OPS + "gaussian_mask"],
                     [_T + "test_eq_47_1135_gaussian_mask_printed_form",
                      _E + "test_demonstration_shows_its_point"], ["E-1135"]),
    "47.1136": _impl("flipped mask W#(k,l) = W(-k,-l)", [_OPS + "flip_mask"],
                     [_T + "test_eq_47_1136_1138_flip_mask"]),
    "47.1137": _impl("reversal matrix I~", [_OPS + "reversal_matrix"],
                     [_T + "test_eq_47_1136_1138_flip_mask"]),
    "47.1138": _impl("W# = I~ W I~, w# = I~ w", [_OPS + "flip_mask"],
                     [_T + "test_eq_47_1136_1138_flip_mask"]),
    "47.1139": _impl("correlation as convolution with W#", [_OPS + "convolve"],
                     [_T + "test_eq_47_1139_convolution_with_flipped_mask"]),
    "47.1140": _impl("Sobel and Prewitt masks", [_OPS + "sobel_masks", _OPS + "prewitt_masks"],
                     [_T + "test_eq_47_1140_1142_edge_detection"]),
    "47.1141": _impl("F_x, F_y by correlation", [_OPS + "edge_magnitude"],
                     [_T + "test_eq_47_1140_1142_edge_detection"]),
    "47.1142": _impl("gradient magnitude", [_OPS + "edge_magnitude"],
                     [_T + "test_eq_47_1140_1142_edge_detection"]),
    "47.1143": _impl("h = vec(I), L^2 entries", [_FWD + "images_to_maps"],
                     [_T + "test_eq_47_1143_1147_sizes"]),
    "47.1144": _chk("y = vec(F), L^2 entries", [_T + "test_eq_47_1133_1134_correlation_entrywise"]),
    "47.1145": _prose("I -> F by W", "the filtering (47.1133) written as an arrow"),
    "47.1146": _prose("h -> y by w", "(47.1145) in vector form; notation"),
    "47.1147": _chk("S = (2K+1)^2, P = L^2, M = L^2", [_T + "test_eq_47_1143_1147_sizes"]),
    "47.1148": _impl("partition(h, P)", [_OPS + "sliding_partition", _OPS + "SlidingPartition"],
                     [_T + "test_eq_47_1148_1152_partition_generic"]),
    "47.1149": _impl("partition matrix V of Fig. 47.87", [_OPS + "partition_matrix"],
                     [_T + "test_eq_47_1149_1153_partition_example",
                      "tests/test_reproduce.py::test_chapter_examples_reproduce"], ["E-1149"]),
    "47.1150": _impl("I_P (x) 1_S^T", [_OPS + "patch_indicator"],
                     [_T + "test_eq_47_1151_patch_indicator_example"]),
    "47.1151": _impl("(I_P (x) 1_S^T) V", [_OPS + "patch_indicator"],
                     [_T + "test_eq_47_1151_patch_indicator_example"]),
    "47.1152": _impl("col{h_p} = V h", [_OPS + "partition_matrix", _OPS + "patch_matrix"],
                     [_T + "test_eq_47_1148_1152_partition_generic"]),
    "47.1153": _impl("V = col{e_k^T}", [_OPS + "partition_matrix"],
                     [_T + "test_eq_47_1149_1153_partition_example"]),
    "47.1154": _impl("relu and tanh", ["sayedcnn.activations:get_activation",
                                       "sayedcnn.activations:Activation"],
                     [_T + "test_eq_47_1154_activations"]),
    "47.1155": _chk("y(p) = f(h_p^T w - theta)", [_T + "test_eq_47_1155_1158_single_feature_map"]),
    "47.1156": _chk("feature map y, P x 1", [_T + "test_eq_47_1155_1158_single_feature_map"]),
    "47.1157": _impl("H = [h_1 ... h_P], S x P", [_OPS + "patch_matrix"],
                     [_T + "test_eq_47_1155_1158_single_feature_map"]),
    "47.1158": _chk("y = f(H^T w - theta 1)", [_T + "test_eq_47_1155_1158_single_feature_map"]),
    "47.1159": _prose("masks and biases {w^(d), theta^(d)}", "names the parameters of D maps; "
                      "they are the columns of W_1 and Theta_1 (47.1224)"),
    "47.1160": _chk("feature map y^(d)", [_T + "test_eq_47_1159_1162_multiple_maps"]),
    "47.1161": _chk("y^(d) = f(H^T w^(d) - theta^(d) 1)",
                    [_T + "test_eq_47_1159_1162_multiple_maps"]),
    "47.1162": _chk("F(r,c) = f(h_{r,c}^T w - theta)", [_T + "test_eq_47_1159_1162_multiple_maps"]),
    "47.1163": _chk("RGB: F(r,c) = f(sum_j ...)", [_T + "test_eq_47_1163_1164_rgb"]),
    "47.1164": _chk("RGB: y(p) = f(sum_j ...)", [_T + "test_eq_47_1163_1164_rgb"]),
    "47.1165": _chk("M = 64^2 = 4096", [_T + "test_eq_47_1165_1167_parameter_savings"]),
    "47.1166": _chk("30 x (9 + 1) = 300 coefficients",
                    [_T + "test_eq_47_1165_1167_parameter_savings",
                     _E + "test_demonstration_shows_its_point"], ["E-1166"]),
    "47.1167": _chk("P = L^2 = 4096", [_T + "test_eq_47_1165_1167_parameter_savings"]),
    "47.1168": _chk("pooling y (P) -> t (P')", [_T + "test_eq_47_1168_1176_pooling_functions"]),
    "47.1169": _chk("mean pooling", [_T + "test_eq_47_1168_1176_pooling_functions"]),
    "47.1170": _chk("M_mean = 1 1^T / 9", [_T + "test_eq_47_1174_1178_masks"]),
    "47.1171": _chk("M_mean = 1 1^T / (2B+1)^2", [_T + "test_eq_47_1168_1176_pooling_functions"]),
    "47.1172": _chk("max pooling", [_T + "test_eq_47_1168_1176_pooling_functions"]),
    "47.1173": _chk("argmax (k^o, l^o)", [_T + "test_eq_47_1185_gradient_matrices"]),
    "47.1174": _chk("M_max = e_1 e_2^T", [_T + "test_eq_47_1174_1178_masks"]),
    "47.1175": _chk("M_max = e_{k^o} e_{l^o}^T", [_T + "test_eq_47_1185_gradient_matrices"]),
    "47.1176": _chk("l2 pooling", [_T + "test_eq_47_1168_1176_pooling_functions"]),
    "47.1177": _chk("subsampling by 3 (schematic)", [_T + "test_eq_47_1177_subsampling_schematic"]),
    "47.1178": _chk("M_sub = e_1 e_1^T", [_T + "test_eq_47_1174_1178_masks"]),
    "47.1179": _impl("M_sub = e_{k^o} e_{l^o}^T", [_POOL + "Pooling"],
                     [_T + "test_eq_47_1179_1180_subsample_and_correlation_pooling"]),
    "47.1180": _impl("correlation pooling", [_POOL + "Pooling"],
                     [_T + "test_eq_47_1179_1180_subsample_and_correlation_pooling",
                      _E + "test_demonstration_shows_its_point"], ["E-1180"]),
    "47.1181": _prose("patch entries x_1 .. x_9", "names the entries of a patch"),
    "47.1182": _prose("t(r,c) = pool(x_1, x_2, ...)", "notation for (47.1169)-(47.1180)"),
    "47.1183": _chk("dt/dx_k", [_T + "test_eq_47_1185_gradient_matrices"]),
    "47.1184": _chk("gradient matrix dt/dH", [_T + "test_eq_47_1185_gradient_matrices"]),
    "47.1185": _chk("gradient matrices of Table 47.12", [_T + "test_eq_47_1185_gradient_matrices"]),
    "47.1186": _chk("up(alpha) = alpha G", [_T + "test_eq_47_1185_gradient_matrices"]),
    "47.1187": _impl("t(p') = pool over Omega_p'", [_POOL + "Pooling.pool"],
                     [_T + "test_eq_47_1187_1188_general_pooling"]),
    "47.1188": _impl("t = pool(y)", [_POOL + "Pooling.pool"],
                     [_T + "test_eq_47_1187_1188_general_pooling"]),
    "47.1189": _chk("y^(d)(p) over three input layers", [_T + "test_eq_47_1163_1164_rgb"],
                    ["E-1189"]),
    "47.1190": _chk("H^(1), H^(2), H^(3)", [_T + "test_eq_47_1163_1164_rgb"]),
    "47.1191": _chk("y^(d) = f(sum_j ...), t^(d) = pool(y^(d))", [_T + "test_eq_47_1163_1164_rgb"]),
    "47.1192": _prose("region entries x_1, x_2, ...", "names the entries of y(Omega_p')"),
    "47.1193": _prose("t(p') = pool(x_1, ...)", "(47.1187) restated for the region's entries"),
    "47.1194": _chk("dt(p')/dx_k", [_T + "test_eq_47_1195_1196_gradient_vectors_fd"]),
    "47.1195": _impl("gradient vector dt(p')/dy(Omega_p')", [_POOL + "Pooling.gradient_vectors"],
                     [_T + "test_eq_47_1195_1196_gradient_vectors_fd"]),
    "47.1196": _impl("gradient vectors of Table 47.14", [_POOL + "Pooling.gradient_vectors"],
                     [_T + "test_eq_47_1195_1196_gradient_vectors_fd"]),
    "47.1197": _impl("up(alpha) = alpha g", [_POOL + "Pooling.upv"],
                     [_T + "test_eq_47_1197_1200_upsampling"]),
    "47.1198": _impl("vector upsampling", [_POOL + "Pooling.upv"],
                     [_T + "test_eq_47_1197_1200_upsampling"]),
    "47.1199": _impl("upsampling by g_{n,p'}", [_POOL + "Pooling.upv"],
                     [_T + "test_eq_47_1197_1200_upsampling"]),
    "47.1200": _impl("upv(v) = col{v(p') g_p'}", [_POOL + "Pooling.upv"],
                     [_T + "test_eq_47_1197_1200_upsampling"]),
    "47.1201": _impl("permutation matrix T of Fig. 47.95", [_POOL + "Pooling.T"],
                     [_T + "test_eq_47_1201_1203_permutation_example",
                      "tests/test_reproduce.py::test_chapter_examples_reproduce"], ["E-1201"]),
    "47.1202": _impl("y_o = permute(y) = T y", [_POOL + "Pooling.permute"],
                     [_T + "test_eq_47_1201_1203_permutation_example"]),
    "47.1203": _impl("T = col{e_k^T}", [_POOL + "Pooling.T"],
                     [_T + "test_eq_47_1201_1203_permutation_example"]),
    "47.1204": _impl("y = permute#(y_o) = T^T y_o", [_POOL + "Pooling.permute_sharp"],
                     [_T + "test_eq_47_1204_permute_sharp"]),
    "47.1205": _prose("maps y^(d,1) of the first layer", "renames the maps with the layer index; "
                      "they are the keys [d, c] of ForwardResult (47.1226)"),
    "47.1206": _impl("maps y^(d,c), P_c x 1", [_NET + "Network.sizes"],
                     [_T + "test_eq_47_1206_1211_layer_sizes"]),
    "47.1207": _impl("pooled maps t^(d,c), P'_c x 1", [_NET + "Network.sizes"],
                     [_T + "test_eq_47_1206_1211_layer_sizes"]),
    "47.1208": _impl("t^(d,c) = pool(y^(d,c))", [_FWD + "pooled_map"],
                     [_T + "test_eq_47_1206_1211_layer_sizes"]),
    "47.1209": _impl("partition(t^(d,c), P_{c+1})", [_FWD + "next_patches"],
                     [_T + "test_eq_47_1206_1211_layer_sizes"]),
    "47.1210": _impl("h^(d,c)_p has S_{c+1} entries", [_FWD + "next_patches"],
                     [_T + "test_eq_47_1206_1211_layer_sizes"]),
    "47.1211": _impl("H^(d,c), S_{c+1} x P_{c+1}", [_FWD + "next_patches", _OPS + "patch_matrix"],
                     [_T + "test_eq_47_1206_1211_layer_sizes"]),
    "47.1212": _impl("maps of layer c+1", [_FWD + "correlation_z"],
                     [_T + "test_eq_47_1212_next_layer_maps"]),
    "47.1213": _impl("connection tables", [_FWD + "correlation_z", _NET + "Conv"],
                     [_T + "test_eq_47_1213_connection_table",
                      _E + "test_demonstration_shows_its_point"], ["E-1213"]),
    "47.1214": _impl("last pooled maps t^(d,C)", [_NET + "Network.sizes"],
                     [_T + "test_eq_47_1214_1217_feedforward_input"]),
    "47.1215": _impl("h' = col{t^(d,C)}", [_FWD + "feedforward_input"],
                     [_T + "test_eq_47_1214_1217_feedforward_input"]),
    "47.1216": _impl("forward listing", [_FWD + "forward_listing", _FUS + "forward_fused"],
                     [_T + "test_eq_47_1216_forward_listing_independent",
                      _E + "test_demonstration_shows_its_point"], ["E-1216a"]),
    "47.1217": _impl("i = (d-1) P'_C + p'", [_FWD + "feedforward_input"],
                     [_T + "test_eq_47_1214_1217_feedforward_input"]),
    "47.1218": _chk("columns of W_1", [_T + "test_eq_47_1218_1220_W1_blocks"]),
    "47.1219": _chk("w_i^(1) leaves node i of y_1", [_T + "test_eq_47_1218_1220_W1_blocks"]),
    "47.1220": _impl("W_1^(d)", [_TRN + "boundary_sensitivity"],
                     [_T + "test_eq_47_1218_1220_W1_blocks"]),
    "47.1221": _impl("feedforward notation, W_l and theta_l", ["sayedcnn.params:Params"],
                     [_T + "test_eq_47_1221_1224_parameter_shapes",
                      _E + "test_demonstration_shows_its_point"], ["E-1221g"]),
    "47.1222": _prose("names of w, theta, z, y, t, H in layer c", "a glossary; the quantities are "
                      "the fields of ForwardResult (47.1226)"),
    "47.1223": _impl("W^(d,c), theta^(d,c)", [_FWD + "correlation_z"],
                     [_T + "test_eq_47_1221_1224_parameter_shapes",
                      _E + "test_demonstration_shows_its_point"], ["E-1223a"]),
    "47.1224": _impl("W_c, Theta_c", ["sayedcnn.params:Params"],
                     [_T + "test_eq_47_1221_1224_parameter_shapes"]),
    "47.1225": _impl("H_{n,c}", [_FWD + "stacked_features"],
                     [_T + "test_eq_47_1225_1226_stacked_features"]),
    "47.1226": _impl("entries of z, y, t", [_FWD + "ForwardResult"],
                     [_T + "test_eq_47_1225_1226_stacked_features"]),
    "47.1227": _impl("empirical risk, all terms over N", [_SGD + "risk"],
                     [_T + "test_eq_47_1227_1229_risk_scalings"]),
    "47.1228": _chk("empirical risk, 1/N on the data term",
                    [_T + "test_eq_47_1227_1229_risk_scalings"]),
    "47.1229": _impl("J_emp", [_SGD + "risk", "sayedcnn.losses:Loss.value"],
                     [_T + "test_eq_47_1227_1229_risk_scalings"]),
    "47.1230": _chk("the derivatives to find", [_T + "test_eq_47_1230_gradients_fd"]),
    "47.1231": _prose("entries of y_n, z_n", "names the entries of the output vectors"),
    "47.1232": _chk("delta_{l,n}(j) definition",
                    [_T + "test_eq_47_1232_1234_feedforward_sensitivities"]),
    "47.1233": _impl("delta_L = 2(y - gamma) (.) f'(z_L)",
                     [_TRN + "output_sensitivity", "sayedcnn.losses:Loss.delta"],
                     [_T + "test_eq_47_1232_1234_feedforward_sensitivities"]),
    "47.1234": _impl("delta_l = f'(z_l) (.) W_l^T delta_{l+1}", [_TRN + "feedforward_sensitivity"],
                     [_T + "test_eq_47_1232_1234_feedforward_sensitivities"]),
    "47.1235": _chk("delta^(d,c)(j) definition",
                    [_T + "test_eq_47_1235_1245_boundary_sensitivity_fd"]),
    "47.1236": _chk("chain rule at c = C", [_T + "test_eq_47_1235_1245_boundary_sensitivity_fd"]),
    "47.1237": _impl("dz_2(k)/dz^(d,C)(j)", [_POOL + "Pooling.jacobian"],
                     [_T + "test_eq_47_1237_1238_pooling_jacobian"]),
    "47.1238": _chk("one p'' per j", [_T + "test_eq_47_1237_1238_pooling_jacobian"]),
    "47.1239": _chk("delta^(d,C)(j) entry by entry",
                    [_T + "test_eq_47_1235_1245_boundary_sensitivity_fd"]),
    "47.1240": _chk("the 12-entry example of delta^(d,C)",
                    [_T + "test_eq_47_1240_index_pattern", _S + "test_eq_47_1240_symbolic"]),
    "47.1241": _chk("v = (W_1^(d))^T delta_2", [_T + "test_eq_47_1218_1220_W1_blocks"]),
    "47.1242": _chk("upv((W_1^(d))^T delta_2)",
                    [_T + "test_eq_47_1235_1245_boundary_sensitivity_fd"]),
    "47.1243": _chk("upv(v) = col{alpha_j g_j}", [_T + "test_eq_47_1197_1200_upsampling"]),
    "47.1244": _impl("x = permute#(upv(...))", [_POOL + "Pooling.backprop"],
                     [_T + "test_eq_47_1235_1245_boundary_sensitivity_fd"]),
    "47.1245": _impl("delta^(d,C)", [_TRN + "boundary_sensitivity"],
                     [_T + "test_eq_47_1235_1245_boundary_sensitivity_fd"]),
    "47.1246": _chk("chain rule for c < C", [_T + "test_eq_47_1246_1262_conv_sensitivity_fd"]),
    "47.1247": _chk("dz^(d',c+1)(i)/dy^(d,c)(j)",
                    [_T + "test_eq_47_1246_1262_conv_sensitivity_fd"]),
    "47.1248": _chk("one p'' per j", [_T + "test_eq_47_1246_1262_conv_sensitivity_fd"]),
    "47.1249": _chk("delta^(d,c)(j) with the inner sum",
                    [_T + "test_eq_47_1246_1262_conv_sensitivity_fd"]),
    "47.1250": _chk("b^(d,d',c)(p'')", [_T + "test_eq_47_1250_1258_b_vector"]),
    "47.1251": _chk("the 6 x 4 example", [_T + "test_eq_47_1251_1256_example",
                                          _S + "test_eq_47_1251_symbolic"]),
    "47.1252": _chk("V_c of Fig. 47.99", [_T + "test_eq_47_1252_1255_Vc_example",
                                          _E + "test_demonstration_shows_its_point"],
                    ["E-1252"]),
    "47.1253": _chk("V_c (1..6)", [_T + "test_eq_47_1252_1255_Vc_example"]),
    "47.1254": _chk("(I_4 (x) 1_2)^T V_c", [_T + "test_eq_47_1252_1255_Vc_example"]),
    "47.1255": _impl("skeleton V_c^T (I_4 (x) 1_2)", [_OPS + "V_ddc_skeleton"],
                     [_T + "test_eq_47_1252_1255_Vc_example"]),
    "47.1256": _impl("V_c^T (.) (1 1^T (x) w^T) times (I (x) 1)", [_OPS + "V_ddc"],
                     [_T + "test_eq_47_1251_1256_example", _S + "test_eq_47_1256_symbolic"]),
    "47.1257": _impl("V^(d,d',c+1)", [_OPS + "V_ddc", "sayedcnn.fidelity.symbolic:V_ddc_symbolic"],
                     [_T + "test_eq_47_1257_V_ddc_general",
                      _S + "test_eq_47_1257_symbolic_matches_numeric_with_unequal_S",
                      _E + "test_demonstration_shows_its_point"], ["E-1257"]),
    "47.1258": _impl("b = V^(d,d',c+1) delta^(d',c+1)",
                     [_OPS + "V_ddc", _TRN + "conv_sensitivity"],
                     [_T + "test_eq_47_1250_1258_b_vector"]),
    "47.1259": _chk("the 12-entry example of delta^(d,c)",
                    [_T + "test_eq_47_1259_1261_permute_sharp_upv",
                     _S + "test_eq_47_1259_symbolic"], ["E-1259"]),
    "47.1260": _impl("x = permute#(upv(b))", [_POOL + "Pooling.backprop"],
                     [_T + "test_eq_47_1259_1261_permute_sharp_upv"]),
    "47.1261": _chk("upv(v) = col{alpha_j g_j}", [_T + "test_eq_47_1259_1261_permute_sharp_upv"]),
    "47.1262": _impl("delta^(d,c)", [_TRN + "conv_sensitivity"],
                     [_T + "test_eq_47_1246_1262_conv_sensitivity_fd"]),
    "47.1263": _impl("d/dW_l = delta_{l+1} y_l^T", [_TRN + "dQ_dW_ff", _TRN + "gradients_listing"],
                     [_T + "test_eq_47_1263_1264_feedforward_derivatives"]),
    "47.1264": _impl("d/dtheta_l = -delta_{l+1}",
                     [_TRN + "dQ_dtheta_ff", _TRN + "gradients_listing"],
                     [_T + "test_eq_47_1263_1264_feedforward_derivatives"]),
    "47.1265": _chk("d/dw_j^(d,c)(s) by the chain rule",
                    [_T + "test_eq_47_1265_1269_mask_derivative"]),
    "47.1266": _chk("z^(d,c) of (47.1216)", [_T + "test_eq_47_1212_next_layer_maps"]),
    "47.1267": _chk("dz(p)/dw_j(s) = [H^(j,c-1)]_{s,p}",
                    [_T + "test_eq_47_1265_1269_mask_derivative"]),
    "47.1268": _chk("[H^(j,c-1)]_{s,:} delta^(d,c)", [_T + "test_eq_47_1265_1269_mask_derivative"]),
    "47.1269": _chk("d/dW^(d,c) = H_{n,c-1} delta^(d,c)",
                    [_T + "test_eq_47_1265_1269_mask_derivative"]),
    "47.1270": _impl("Delta_{n,c}", [_TRN + "Delta_matrix"],
                     [_T + "test_eq_47_1270_1271_Delta_and_W_gradient"]),
    "47.1271": _impl("d/dW_c = (1^T (x) H_{n,c-1}) Delta_{n,c}",
                     [_TRN + "dQ_dW_conv", _TRN + "gradients_listing", _FUS + "gradients_fused"],
                     [_T + "test_eq_47_1270_1271_Delta_and_W_gradient"]),
    "47.1272": _chk("d/dtheta^(d,c)(j) = -1^T delta^(d,c)",
                    [_T + "test_eq_47_1272_1274_bias_derivatives"]),
    "47.1273": _chk("d/dtheta^(d,c) = -1 1^T delta^(d,c)",
                    [_T + "test_eq_47_1272_1274_bias_derivatives"]),
    "47.1274": _impl("d/dTheta_c", [_TRN + "dQ_dTheta_conv", _TRN + "gradients_listing"],
                     [_T + "test_eq_47_1272_1274_bias_derivatives"]),
    "47.1275": _impl("training listing", [_TRN + "gradients_listing", _SGD + "gradients",
                                          _TRN + "backward_listing"],
                     [_T + "test_eq_47_1275_listing_matches_fd_with_regularisers",
                      _T + "test_eq_47_1230_gradients_fd",
                      _E + "test_demonstration_shows_its_point"],
                     ["E-1257", "E-1275a", "E-1275b", "E-1275c", "E-1275d"]),
    "47.1276": _impl("stochastic-gradient listing",
                     [_TRN + "sgd_step_listing", _SGD + "sgd_step"],
                     [_T + "test_eq_47_1276_sgd_step", _E + "test_demonstration_shows_its_point"],
                     ["E-1257", "E-1275c", "E-1275d", "E-1276a", "E-1276b"]),
}

#: The departures of :data:`sayedcnn.fidelity.errata.DEPARTURES`, by the equations they concern.
DEPARTURES = {
    "47.1185": ("D-1185",), "47.1196": ("D-1185",), "47.1213": ("D-1213",),
    "47.1216": ("D-1216",), "47.1262": ("D-1271",), "47.1271": ("D-1271",),
    "47.1274": ("D-1271",), "47.1275": ("D-1271", "D-1275"), "47.1276": ("D-1271",),
}
INDEX = {num: replace(e, departures=DEPARTURES.get(num, ())) for num, e in INDEX.items()}


_RANGE = re.compile(r"47\.(\d{4})[a-z]?\)?\s*[-\u2013]\s*\(?(?:47\.)?(\d{4})")
_ONE = re.compile(r"47\.(\d{4})")


def cited_numbers(doc):
    """The set of equation numbers (ints, e.g. 1216) a docstring cites, ranges expanded:
    ``(47.1149)-(47.1153)`` cites 1149..1153.

    Examples
    --------
    >>> from sayedcnn.fidelity.equations import cited_numbers
    >>> sorted(cited_numbers("Implements (47.1149)-(47.1151) and (47.1257)."))
    [1149, 1150, 1151, 1257]
    """
    doc = doc or ""
    out = {int(a) for a in _ONE.findall(doc)}
    for a, b in _RANGE.findall(doc):
        lo, hi = int(a), int(b)
        if lo <= hi <= lo + 80:
            out.update(range(lo, hi + 1))
    return out


def resolve(name):
    """The object named ``"module:qualname"``.

    Examples
    --------
    >>> import sayedcnn as sc
    >>> from sayedcnn.fidelity.equations import resolve
    >>> resolve("sayedcnn.operators:V_ddc") is sc.V_ddc
    True
    """
    module, _, qual = name.partition(":")
    obj = importlib.import_module(module)
    for part in qual.split("."):
        obj = getattr(obj, part)
    return obj


def _md(s):
    return s.replace("|", r"\|")


def render():
    """The index as markdown (EQUATIONS.md).

    Examples
    --------
    >>> from sayedcnn.fidelity.equations import render
    >>> render().splitlines()[0]
    '# Equation index'
    """
    counts = {k: sum(e.kind == k for e in INDEX.values()) for k in KINDS}
    out = ["# Equation index", "",
           "Generated by `python -m sayedcnn errata --write-equations EQUATIONS.md` from "
           "`sayedcnn/fidelity/equations.py`; do not edit by hand.", "",
           f"Every numbered equation of section 47.25, (47.{FIRST})-(47.{LAST}): "
           f"{len(INDEX)} numbers, {counts['implemented']} implemented, {counts['checked']} "
           f"checked by tests only (examples, identities, steps of derivations), "
           f"{counts['definition/prose']} definitions or prose. Functions are "
           "`module:qualname` and cite the number in their docstrings; tests are pytest ids "
           "(`tests/test_equation_links.py` runs them and checks, by tracing their calls, "
           "that for every implemented equation one of them calls every function named); "
           "errata (`E-...`) and departures of the package from the print (`D-...`) are in "
           "ERRATA.md. The numbers and the forms in the column 'what' were read from an OCR "
           "transcription of the chapter, not from the printed page; ERRATA.md marks each "
           "slip that may be the transcription's.", "",
           "| eq. | what | kind | functions | tests | errata |",
           "| --- | --- | --- | --- | --- | --- |"]
    for num in sorted(INDEX):
        e = INDEX[num]
        funcs = "<br>".join(f"`{f.replace('sayedcnn.', '')}`" for f in e.functions)
        tests = "<br>".join(f"`{t.split('::')[0].replace('tests/', '')}::{t.split('::')[1]}`"
                            for t in e.tests)
        if e.kind == "definition/prose":
            tests = f"*{_md(e.reason)}*"
        ids = ", ".join(e.errata + e.departures)
        out.append(f"| ({num}) | {_md(e.title)} | {e.kind} | {funcs} | {tests} | {ids} |")
    out.append("")
    return "\n".join(out)
