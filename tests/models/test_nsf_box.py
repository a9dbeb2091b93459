"""NSF with a "box" support: bounded splines, a uniform base on the data's box and a thin Gaussian share off it."""
import math

import pytest
import torch

import genlab
from genlab.data.base import DataSpec
from genlab.models import create_model
from genlab.models.nsf import OUTSIDE_SHARE, RationalQuadraticSpline

BOX = {"support": "box", "num_layers": 2, "hidden_units": 16, "hidden_layers": 1, "num_bins": 6, "tail_bound": 4.0}
LOC, HALF_WIDTH = torch.tensor([0.5, -0.25]), 3.0  # the box [-2.5, 3.5] × [-3.25, 2.75]
STEP = 0.05  # a grid whose cell edges fall on the box's edges, so no cell straddles one


def box_flow(scale: float = 0.1, seed: int = 0):
    """A tiny box-support flow on a box set by hand, every learned parameter moved off its identity start.

    Much larger moves make the density too sharp for the grids below to sum (0.3: peaks near 25)."""
    torch.manual_seed(seed)
    model = create_model("nsf", DataSpec((2,), "continuous"), **BOX)
    with torch.no_grad():
        model.steps[0].loc.copy_(LOC)
        model.steps[0].log_scale.fill_(math.log(HALF_WIDTH / BOX["tail_bound"]))
        for p in model.parameters():
            if p.requires_grad:
                p.add_(scale * torch.randn_like(p))
    return model.eval()


def midpoint_grid(low: float, high: float) -> tuple[torch.Tensor, float]:
    """Cell centres of a square grid over [low, high]² with cells of side STEP, and a cell's area."""
    cells = round((high - low) / STEP)
    centres = low + STEP * (torch.arange(cells, dtype=torch.float64) + 0.5)
    xx, yy = torch.meshgrid(centres, centres, indexing="xy")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], 1), STEP**2


def in_box(points: torch.Tensor) -> torch.Tensor:
    return ((points - LOC.double()).abs() <= HALF_WIDTH).all(1)


def test_bounded_spline_maps_the_interval_onto_itself_with_its_derivative_and_inverse():
    spline = RationalQuadraticSpline(num_bins=5, tail_bound=2.0, bounded=True)
    assert spline.num_params == 16  # widths, heights, and all six knot derivatives, the ends included
    gen = torch.Generator().manual_seed(0)
    params = 2 * torch.randn(300, spline.num_params, 3, generator=gen, dtype=torch.float64)
    x = (4 * torch.rand(300, 3, generator=gen, dtype=torch.float64) - 2).requires_grad_()
    y, log_derivative = spline.forward(x, params)
    (slope,) = torch.autograd.grad(y.sum(), x)  # elementwise, so the Jacobian is diagonal
    assert torch.allclose(log_derivative, slope.log(), atol=1e-9)
    assert torch.allclose(spline.inverse(y.detach(), params), x.detach(), atol=1e-9)
    ends = torch.tensor([[-2.0] * 3, [2.0] * 3], dtype=torch.float64)
    assert torch.allclose(spline.forward(ends, params[:2])[0], ends)
    # end derivatives are free: not all 1, as the unbounded spline's are
    assert not torch.allclose(spline.forward(ends, params[:2])[1], torch.zeros_like(ends), atol=1e-2)


def test_log_det_in_the_box_matches_the_autograd_jacobian():
    model = box_flow(scale=0.3).double()
    x = LOC.double() + HALF_WIDTH * (2 * torch.rand(6, 2, generator=torch.Generator().manual_seed(1),
                                                    dtype=torch.float64) - 1)
    _, log_det = model.forward_flow(x)
    for i in range(len(x)):
        jac = torch.autograd.functional.jacobian(lambda v: model.forward_flow(v[None])[0][0], x[i])
        sign, expected = torch.linalg.slogdet(jac)
        assert sign > 0 and float(log_det[i].detach()) == pytest.approx(float(expected), abs=1e-6)


def test_density_sums_to_one_and_keeps_the_gaussian_share_off_the_box():
    model = box_flow().double()
    points, area = midpoint_grid(-20.0, 20.0)  # 6.5 standard deviations of the broad Gaussian each way
    with torch.no_grad():
        p = model.log_prob(points).exp()
    assert float(p.sum() * area) == pytest.approx(1.0, abs=1e-3)
    outside = float(p[~in_box(points)].sum() * area)
    # the Gaussian has std = half the box's width, so 1 - erf(1/√2)² of its mass lies off the box
    expected = OUTSIDE_SHARE * (1 - math.erf(1 / math.sqrt(2)) ** 2)
    assert outside == pytest.approx(expected, rel=0.02)


def test_samples_follow_the_density():
    model = box_flow()
    n = 40000
    samples = model.sample(n, generator=torch.Generator().manual_seed(3)).double()
    assert in_box(samples).float().mean() > 0.999
    points, area = midpoint_grid(-3.5, 4.5)
    with torch.no_grad():
        p = model.double().log_prob(points).exp() * area
    # 8 x 8 bins of one unit over the box's bounding square: counts against the density's mass
    def binned(x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        cell = ((x[:, 0] + 3.5).floor().clamp(0, 7) * 8 + (x[:, 1] + 3.5).floor().clamp(0, 7)).long()
        return torch.zeros(64, dtype=torch.float64).index_add_(0, cell, weights)
    expected = n * binned(points, p)
    counts = binned(samples, torch.ones(n, dtype=torch.float64))
    assert ((counts - expected).abs() <= 5 * expected.clamp_min(1).sqrt() + 2).all()
    assert counts.sum() == n and expected.sum() == pytest.approx(n, rel=1e-3)


def test_the_box_spans_the_training_data_and_points_off_it_stay_finite():
    ds = genlab.load_dataset("toy:checkerboard")
    model = create_model("nsf", ds, **BOX)
    model.initialize(ds.train, ds.test, torch.Generator().manual_seed(0))
    with torch.no_grad():
        boxed, _ = model.steps[0](ds.train[:20000])
    bound = BOX["tail_bound"]
    assert boxed.abs().max() < bound  # every training point inside, by one expected gap at each end
    assert boxed.abs().max() > bound * (1 - 1e-3)
    assert not any(p.requires_grad for p in model.steps[0].parameters())  # the box is not learned
    far = torch.tensor([[4.5, 0.0], [0.0, -6.0], [1e3, 1e3], [-1e4, 3.0]])
    with torch.no_grad():
        log_p = model.log_prob(far)
    assert torch.isfinite(log_p).all() and (log_p < math.log(OUTSIDE_SHARE)).all()


def test_a_box_flow_trains_and_samples_inside_the_board():
    ds = genlab.load_dataset("toy:checkerboard")
    model = create_model("nsf", ds, **BOX)
    result = genlab.train(model, ds, seconds=20, max_steps=150, seed=0, report_every=0.0)
    first, last = result.metrics[0]["valid_nll_nats"], result.metrics[-1]["valid_nll_nats"]
    assert result.status == "finished" and last < first - 0.2
    samples = model.sample(2000, generator=torch.Generator().manual_seed(0))
    assert (samples.abs() <= 4.01).all(1).float().mean() > 0.999
