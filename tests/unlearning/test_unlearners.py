"""Each unlearner forgets class 3 of the briefly trained digits CNN and keeps the rest."""
import pytest

from zoo.unlearning.api import run_unlearner
from zoo.unlearning.report import evaluate
from zoo.unlearning.requests import ForgetRequest


@pytest.mark.parametrize("cfg", [
    dict(type="NegGradPlus", epochs=2),
    dict(type="NegGradPlus", epochs=2, projection=dict(num_batches=3)),
    dict(type="RandomLabel", epochs=1),
    dict(type="SCRUB", epochs=3, max_steps=2),
], ids=["neggrad", "neggrad_gu", "random_label", "scrub"])
def test_unlearner_forgets_class(trained, cfg):
    model, ctx, _ = trained
    ctx.reset()
    ctx.apply_request(ForgetRequest(classes=[3]))
    before = evaluate(model, ctx)
    assert before["forget_acc"] > 90
    metrics, _ = run_unlearner(model, ctx, cfg, [ForgetRequest(classes=[3])])
    assert metrics["forget_acc"] < 20, metrics
    assert metrics["test_forget_acc"] < 20, metrics
    assert metrics["retain_acc"] > before["retain_acc"] - 10, metrics
    assert metrics["mia"] < before["mia"]


def test_finetune_keeps_retain_and_rejects_projection(trained):
    model, ctx, _ = trained
    metrics, _ = run_unlearner(model, ctx, dict(type="FineTune", epochs=1),
                               [ForgetRequest(classes=[3])])
    assert metrics["retain_acc"] > 85
    with pytest.raises(ValueError, match="no forget update to project"):
        run_unlearner(model, ctx, dict(type="FineTune", epochs=1, projection=True),
                      [ForgetRequest(classes=[3])])


def test_retrain_never_sees_the_forget_class(trained):
    model, ctx, _ = trained
    metrics, edited = run_unlearner(model, ctx, dict(type="Retrain", max_epochs=3),
                                    [ForgetRequest(classes=[3])])
    assert metrics["forget_acc"] == 0.0
    assert metrics["retain_acc"] > 50


def test_sequence_of_requests_with_gs_lora(trained):
    model, ctx, _ = trained
    seq = [ForgetRequest(classes=[3]), ForgetRequest(classes=[5])]
    metrics, _ = run_unlearner(model, ctx, dict(type="GSLoRA", epochs=2), seq)
    assert len(metrics["_timing"]["requests"]) == 2
    assert metrics["forget_acc"] < 20 and metrics["test_retain_acc"] > 80



def test_rows_do_not_depend_on_what_ran_before(trained):
    """run_unlearner seeds the global RNGs (used by data augmentation and by unlearners): the
    same unlearner gives the same weights whatever random numbers were drawn before it."""
    import torch

    from zoo.registry import UNLEARNERS

    @UNLEARNERS.register_module(name="TestGlobalNoiseUnlearner", force=True)
    class GlobalNoise:  # draws from the global torch RNG, as augmentation does
        def unlearn(self, model, ctx):
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(torch.randn_like(p))
            return model

        def config(self):
            return {}

    model, ctx, _ = trained
    cfg, request = dict(type="TestGlobalNoiseUnlearner"), [ForgetRequest(classes=[3])]
    _, first = run_unlearner(model, ctx, cfg, request)
    torch.rand(1000)  # consume random numbers, as an earlier row of a table would
    _, second = run_unlearner(model, ctx, cfg, request)
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values()):
        assert torch.equal(a, b), name
    _, unseeded = run_unlearner(model, ctx, cfg, request, seed=None)
    assert not torch.equal(next(first.parameters()), next(unseeded.parameters()))
