# HealthiVert-GAN on straight phantoms (the pre-issue-25 phantoms, no straightening): the
# data of the issue-25 seed / ablation runs (docs/healthivert.md); everything else as
# healthivert_phantom.py. Heat maps: tools/medical/write_heatmaps.py with
# fracture_classifier_phantom_straight.py (no --straighten).
_base_ = ["./healthivert_phantom.py"]

# the model and schedule of those runs: the paper's SHRM, 300 iterations, EMA 0.01
model = dict(neighbour_height=False, fit_height=False)
train_cfg = dict(max_iters=300)
default_hooks = dict(checkpoint=dict(max_keep_ckpts=2))
custom_hooks = [dict(type="EpochSeedHook"),
                dict(type="EMAHook", ema_type="ExponentialMovingAverage", momentum=0.01,
                     update_buffers=False, begin_iter=50)]

_straight = dict(curved=False, straighten=False)
train_dataloader = dict(
    dataset=dict(data_root="work_dirs/spine_phantoms/train_healthy", **_straight))
val_dataloader = dict(
    dataset=dict(data_root="work_dirs/spine_phantoms/val_fractured", **_straight))
test_dataloader = dict(
    dataset=dict(data_root="work_dirs/spine_phantoms/test_fractured", **_straight))
