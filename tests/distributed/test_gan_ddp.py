"""HealthiVert-GAN (two optimisers) under DDP: two gloo processes with half the batch each
make the same updates as one process with the whole batch.

The model runs inside ``ZooSeparateDistributedDataParallel`` (one DDP around the generator,
one around the three discriminators) and through its own ``train_step``. Why the runs can
agree: the losses are batch means with equal per-rank batches; the band masks have the same
area in every image, so the batch-level L1 area factor is the same on every rank; the
discriminators' BatchNorm is synchronised (``GlooSyncBatchNorm``); the generator has no
BatchNorm or dropout (spectral-norm power iterations depend on the weights only). What still
differs is the floating-point summation order. The test uses SGD with momentum (updates
linear in the gradients): after 3 steps the largest parameter difference measured was 3.6e-7
(tolerance atol 1e-5, rtol 1e-4), while two processes without the wrapper (no gradient
averaging, unsynchronised BatchNorm) differ by 7e-2 (checked below, so the test can fail).
With the config's Adam (lr 5e-4, betas 0.5/0.999) the same comparison gave 5e-7 on most
tensors but 1.7e-4 on one: Adam divides by the root of the squared gradient, so summation-order
noise in near-zero gradient entries becomes a step of size ~lr.
"""
from __future__ import annotations

import torch
from dist_helpers import run_on_ranks
from mmengine.optim import OptimWrapper, OptimWrapperDict

BATCH, SIZE, BAND, STEPS, LR = 4, 32, 8, 3, 1e-3
OPTIMIZER = "sgd"


def make_batch(seed: int) -> dict:
    """A batch of ``BATCH`` random inpainting inputs with an 8-row band in every image."""
    g = torch.Generator().manual_seed(seed)
    real = torch.rand(BATCH, 1, SIZE, SIZE, generator=g) * 2 - 1
    top = torch.randint(6, SIZE - BAND - 6, (BATCH,), generator=g)
    mask = torch.zeros(BATCH, 1, SIZE, SIZE)
    real_mask, neighbours = torch.zeros_like(mask), torch.zeros_like(mask)
    height = torch.randint(3, BAND - 1, (BATCH,), generator=g)
    x1 = top + 1
    x2 = x1 + height - 1
    for i in range(BATCH):
        t = int(top[i])
        mask[i, :, t:t + BAND] = 1
        real_mask[i, :, int(x1[i]):int(x2[i]) + 1, 8:24] = 1
        neighbours[i, :, t - 5:t - 1, 8:24] = 1
        neighbours[i, :, t + BAND + 1:t + BAND + 5, 8:24] = 1
    inputs = dict(masked=torch.where(mask > 0, -torch.ones_like(real), real), mask=mask,
                  attention=torch.rand(BATCH, 1, SIZE, SIZE, generator=g), real=real,
                  real_mask=real_mask, neighbours=neighbours, x1=x1, x2=x2, height=height,
                  slice_ratio=torch.rand(BATCH, generator=g))
    return dict(inputs=inputs)


def train(distributed: bool, average: bool = True) -> dict:
    """``STEPS`` GAN steps; under ``distributed`` each rank takes its half of every batch."""
    import torch.distributed as dist
    from zoo.models.medical.healthivert_gan import HealthiVertGAN

    from zoo.engine.distributed import unwrap
    from zoo.registry import MODEL_WRAPPERS

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = HealthiVertGAN(generator=dict(ngf=4, dilations=(2, 4)),
                           discriminator=dict(ndf=4, n_layers=2), max_height=BAND,
                           local_width=8)
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    if distributed and average:
        # built as the config names it (configs/medical/healthivert_phantom.py)
        model = MODEL_WRAPPERS.build(dict(type="ZooSeparateDistributedDataParallel"),
                                     default_args=dict(module=model))
    inner = unwrap(model)

    def optimizer(net):
        if OPTIMIZER == "adam":  # the config's optimiser (set test_gan_ddp.OPTIMIZER to try it)
            return OptimWrapper(torch.optim.Adam(net.parameters(), lr=5e-4, betas=(0.5, 0.999)))
        return OptimWrapper(torch.optim.SGD(net.parameters(), lr=LR, momentum=0.5))

    optim = OptimWrapperDict(generator=optimizer(inner.generator),
                             discriminator=optimizer(inner.discriminator))
    logs = []
    for step in range(STEPS):
        batch = make_batch(step)
        share = BATCH // world
        local = {k: v[rank * share:(rank + 1) * share] for k, v in batch["inputs"].items()}
        log = model.train_step(dict(inputs=local), optim)
        logs.append({k: float(v.detach()) for k, v in log.items()})
    # (keys as in one process: the wrapper keeps "generator.module." out of checkpoints)
    params = {k: v.detach().clone() for k, v in inner.state_dict().items()
              if not k.endswith("num_batches_tracked")}
    return dict(params=params, logs=logs)


def _max_diff(a: dict, b: dict) -> float:
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def test_two_processes_half_batch_match_one_process(tmp_path):
    single = train(False)["params"]
    ranks = run_on_ranks(train, True)
    for rank in ranks:  # both ranks hold the same weights, which are the one-process weights
        assert rank["params"].keys() == single.keys()
        for key, value in single.items():
            torch.testing.assert_close(rank["params"][key], value, atol=1e-5, rtol=1e-4,
                                       msg=key)
    assert _max_diff(ranks[0]["params"], ranks[1]["params"]) == 0.0
    assert all(torch.isfinite(torch.tensor(list(s.values()))).all() for s in ranks[0]["logs"])
    # without the wrapper each rank follows its own half batch: far outside the tolerance
    unsynced = run_on_ranks(train, True, False)
    assert _max_diff(unsynced[0]["params"], single) > 1e-3
