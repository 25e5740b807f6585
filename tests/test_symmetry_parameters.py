"""Tests of rgsym.symmetry.parameters: every parameter-space distance is zero on exactly symmetric
weights and positive on generic ones; the quadratic form against its closed form and the Hessian."""
import pytest
import torch

from rgsym.symmetry import parameters as S

DT = torch.float64


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def random_layers(E=4, dims=(2, 5, 1), seed=0, scale=0.7):
    g = _gen(seed)
    return [(scale * torch.randn(E, o, i, generator=g, dtype=DT), scale * torch.randn(E, o, generator=g, dtype=DT))
            for i, o in zip(dims[:-1], dims[1:])]


# --------------------------------------------------------------------------- plain (W, c) tensors
def test_check_layers_rejects_bad_shapes():
    W, c = torch.zeros(2, 3, 2), torch.zeros(2, 3)
    with pytest.raises(ValueError, match="one output"):
        S.check_layers([(W, c)])
    with pytest.raises(ValueError, match="takes 4 inputs"):
        S.check_layers([(W, c), (torch.zeros(2, 1, 4), torch.zeros(2, 1))])
    with pytest.raises(ValueError, match="empty"):
        S.check_layers([])


def test_perm_in_distance_is_the_projection_distance_and_zero_when_tied():
    layers = random_layers(dims=(3, 5, 1))
    W = layers[0][0]
    direct = (W - W.mean(dim=2, keepdim=True)).square().sum(dim=(1, 2)).sqrt()
    torch.testing.assert_close(S.perm_in_distance(layers), direct)
    assert (direct > 0.1).all()
    tied = [(W.mean(dim=2, keepdim=True).expand_as(W).clone(), layers[0][1]), layers[1]]
    assert torch.equal(S.perm_in_distance(tied), torch.zeros(4, dtype=DT))


def test_tied_hidden_distance_is_the_projection_distance_over_all_hidden_layers():
    layers = random_layers(dims=(2, 5, 4, 1))
    direct = 0.0
    for W, c in layers[:-1]:
        u = torch.cat([W, c.unsqueeze(2)], dim=2)
        direct = direct + (u - u.mean(dim=1, keepdim=True)).square().sum(dim=(1, 2))
    torch.testing.assert_close(S.tied_hidden_distance(layers), direct.sqrt())
    assert (direct > 0.1).all()
    sym = [(W.mean(dim=1, keepdim=True).expand_as(W).clone(), c.mean(dim=1, keepdim=True).expand_as(c).clone())
           for W, c in layers[:-1]] + [layers[-1]]
    assert torch.equal(S.tied_hidden_distance(sym), torch.zeros(4, dtype=DT))
    D = S.pairwise_unit_distances(sym, 1)
    assert torch.equal(D, torch.zeros_like(D))
    assert torch.equal(S.count_distinct_units(D), torch.ones(4, dtype=DT))


def test_count_distinct_units_counts_single_linkage_clusters():
    # units on a line: {0, 0.01, 0.02 (chain)} {1.0} {2.0, 2.01}; and one member with all apart
    pos = torch.tensor([[0.0, 0.01, 0.02, 1.0, 2.0, 2.01], [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]], dtype=DT)
    D = (pos.unsqueeze(2) - pos.unsqueeze(1)).abs()
    torch.testing.assert_close(S.count_distinct_units(D, tol=0.015), torch.tensor([3.0, 6.0], dtype=DT))
    torch.testing.assert_close(S.count_distinct_units(D, tol=0.6), torch.tensor([3.0, 1.0], dtype=DT))
    torch.testing.assert_close(S.count_distinct_units(D, tol=0.0), torch.tensor([6.0, 6.0], dtype=DT))
    with pytest.raises(ValueError, match="tol"):
        S.count_distinct_units(D, tol=-1.0)


def test_odd_distance_is_the_bias_norm_for_odd_activations_only():
    layers = random_layers()
    bias = (layers[0][1].square().sum(1) + layers[1][1].square().sum(1)).sqrt()
    torch.testing.assert_close(S.odd_distance(layers, (0.0, 1.0)), bias)
    assert torch.isnan(S.odd_distance(layers, (0.0, 1.0, 0.5))).all()  # quadratic: no odd subspace
    assert torch.equal(S.odd_distance(layers, (0.0, 1.0, 0.5), antisymmetrised=True), torch.zeros(4, dtype=DT))
    zero_bias = [(W, torch.zeros_like(c)) for W, c in layers]
    assert torch.equal(S.odd_distance(zero_bias, (0.0, 1.0)), torch.zeros(4, dtype=DT))


def test_quadratic_form_matches_closed_form_for_one_hidden_layer():
    alpha = 0.37
    layers = random_layers(dims=(3, 7, 1))
    (W, c), (V, _) = layers
    Q = S.taylor_quadratic_form(layers, (0.0, 1.0, alpha))
    closed = alpha * torch.einsum("eh,ehi,ehj->eij", V[:, 0], W, W)  # alpha sum_h v_h w_h w_h^T
    torch.testing.assert_close(Q, closed)
    assert torch.equal(S.taylor_quadratic_form(layers, (0.0, 1.0), False), torch.zeros(4, 3, 3, dtype=DT))
    assert S.taylor_quadratic_form(layers, torch.tanh) is None


@pytest.mark.parametrize("dims", [(2, 4, 3, 1), (3, 3, 3, 2, 1)])
def test_quadratic_form_is_half_the_hessian_at_the_origin(dims):
    poly = (0.1, 1.0, 0.6)
    layers = random_layers(E=2, dims=dims, seed=3, scale=0.5)
    Q = S.taylor_quadratic_form(layers, poly)
    for e in range(2):
        member = [(W[e:e + 1], c[e:e + 1]) for W, c in layers]

        def f(x):
            return S.mlp_apply(member, poly, x.view(1, 1, -1))[0, 0]

        H = torch.autograd.functional.hessian(f, torch.zeros(dims[0], dtype=DT))
        torch.testing.assert_close(Q[e], 0.5 * H)


def test_mlp_apply_is_the_plain_forward_pass_and_antisymmetrises():
    from rgsym.nets.forward import plain_forward

    layers = random_layers(dims=(2, 5, 4, 1))
    x = torch.randn(4, 64, 2, generator=_gen(9), dtype=DT)
    assert torch.equal(S.mlp_apply(layers, torch.tanh, x), plain_forward(layers, x, torch.tanh))
    odd = S.mlp_apply(layers, torch.tanh, x, antisymmetrised=True)
    torch.testing.assert_close(S.mlp_apply(layers, torch.tanh, -x, antisymmetrised=True), -odd)
    with pytest.raises(TypeError, match="callable or a tuple"):
        S.mlp_apply(layers, "tanh", x)


# ------------------------------------------------------------------ scale-free measures (issue 11)
def test_scale_free_distances_are_invariant_under_theta_to_c_theta():
    layers = random_layers(dims=(2, 6, 1), seed=3)
    base = S.parameter_distances(layers, activation=None)
    for c in (1e-3, 0.37, 25.0):
        scaled = S.parameter_distances([(c * W, c * b) for W, b in layers], activation=None)
        for name in ("r_sym", "r_tied", "n_distinct_rel"):
            torch.testing.assert_close(scaled[name], base[name], rtol=1e-12, atol=0)
        torch.testing.assert_close(scaled["d_sym"], c * base["d_sym"], rtol=1e-12, atol=0)
    assert ((base["r_sym"] > 0) & (base["r_sym"] <= 1)).all()
    # the absolute count is not scale free: near theta = 0 every unit looks alike
    tiny = S.parameter_distances([(1e-3 * W, 1e-3 * b) for W, b in layers], activation=None)
    assert (tiny["n_distinct"] == 1).all() and (tiny["n_distinct_rel"] == base["n_distinct_rel"]).all()


def test_hidden_perm_projection_is_the_orthogonal_group_average():
    layers = random_layers(dims=(3, 5, 4, 1), seed=4)
    P = S.project_hidden_perm(layers)
    PP = S.project_hidden_perm(P)
    for (a, b), (c, d) in zip(P, PP):
        torch.testing.assert_close(a, c); torch.testing.assert_close(b, d)
    inner = sum(((W - A) * A).sum(dim=(1, 2)) + ((b - a) * a).sum(dim=1) for (W, b), (A, a) in zip(layers, P))
    torch.testing.assert_close(inner, torch.zeros(4, dtype=DT), atol=1e-12, rtol=0)
    # brute force: the average over all permutations of the 5 first-layer units (second layer fixed)
    import itertools
    one = random_layers(dims=(2, 4, 1), seed=5)
    acc = [torch.zeros_like(W) for W, _ in one] + [torch.zeros_like(c) for _, c in one]
    perms = list(itertools.permutations(range(4)))
    for p in perms:
        p = torch.tensor(p)
        (W1, c1), (W2, c2) = one
        for i, t in enumerate((W1[:, p], W2[:, :, p], c1[:, p], c2)):
            acc[i] += t / len(perms)
    P1 = S.project_hidden_perm(one)
    for got, want in zip((P1[0][0], P1[1][0], P1[0][1], P1[1][1]), acc):
        torch.testing.assert_close(got, want)
    assert (S.hidden_perm_distance(layers) >= S.tied_hidden_distance(layers) - 1e-12).all()
    assert torch.equal(S.hidden_perm_distance(P), torch.zeros(4, dtype=DT))


def test_relative_distinct_count_merges_a_near_pair_at_every_scale():
    layers = random_layers(E=2, dims=(2, 4, 1), seed=6)
    W, c = layers[0]
    W, c = W.clone(), c.clone()
    rms = torch.cat([W, c.unsqueeze(2)], 2).square().sum(2).mean(1).sqrt()  # (E,)
    W[:, 1] = W[:, 0] + 0.02 * rms[:, None]  # unit 1 sits 0.02 (relative) from unit 0
    c[:, 1] = c[:, 0]
    near = [(W, c), layers[1]]
    counts = [S.parameter_distances([(k * a, k * b) for a, b in near])["n_distinct_rel"] for k in (1e-3, 1.0, 40.0)]
    for n in counts:
        assert torch.equal(n, torch.full((2,), 3.0, dtype=DT))
