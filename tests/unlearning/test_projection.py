import torch
import torch.nn.functional as F

from zoo.unlearning.projection import (
    RetainGradientProjector,
    flatten,
    orthonormal_basis,
    project_out,
)


def test_projection_is_orthogonal_and_idempotent():
    g = torch.Generator().manual_seed(0)
    retain = torch.randn(4, 50, generator=g, dtype=torch.float64)
    retain[3] = retain[0] + 2 * retain[1]  # rank 3
    basis = orthonormal_basis(retain)
    assert basis.shape == (50, 3)
    forget = torch.randn(50, generator=g, dtype=torch.float64)
    p = project_out(forget, basis)
    assert torch.allclose(retain @ p, torch.zeros(4, dtype=torch.float64), atol=1e-10)
    assert torch.allclose(project_out(p, basis), p, atol=1e-12)
    # the removed part lies in the retain span: forget - p = retain^T c for some c
    c = torch.linalg.lstsq(retain.T, forget - p).solution
    assert torch.allclose(retain.T @ c, forget - p, atol=1e-8)
    ortho = project_out(forget, basis)
    assert torch.allclose(project_out(ortho, basis), ortho)


def test_projector_on_model_gradients(model_ctx):
    model, ctx = model_ctx
    from zoo.unlearning.requests import ForgetRequest

    ctx.apply_request(ForgetRequest(classes=[3]))
    params = [p for p in model.parameters()]
    stream = ctx.cycle("retain", model, training=False)

    def retain_loss():
        x, y = next(stream)
        return F.cross_entropy(model.logits(x), y)

    proj = RetainGradientProjector(num_batches=3)
    x, y = next(ctx.loader("forget", model))
    gf = torch.autograd.grad(-F.cross_entropy(model.logits(x), y), params)
    out = flatten(proj.project(gf, params, retain_loss))
    raw = flatten(gf)
    dots = proj.retain_grads.double() @ out.double()
    assert dots.abs().max() < 1e-6 * raw.norm() * proj.retain_grads.norm(dim=1).max()
    assert (raw.double() @ proj.retain_grads.double().T).abs().max() > 1e-3  # it did something
    assert out.norm() < raw.norm()
