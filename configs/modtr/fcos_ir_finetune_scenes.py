# Step 2 (baseline): the RGB detector of fcos_rgb_scenes.py fine-tuned on the IR scenes (all
# weights train, so its RGB knowledge is not kept). Needs step 1's checkpoint:
# uv run tools/train.py configs/modtr/fcos_ir_finetune_scenes.py \
#     --cfg-options load_from=work_dirs/fcos_rgb_scenes/epoch_9.pth
_base_ = ["./fcos_rgb_scenes.py"]

train_dataloader = dict(dataset=dict(modality="ir", num_samples=160))
val_dataloader = dict(dataset=dict(modality="ir"))
test_dataloader = dict(dataset=dict(modality="ir"))
load_from = "work_dirs/fcos_rgb_scenes/epoch_9.pth"

train_cfg = dict(max_epochs=8, val_interval=8)
optim_wrapper = dict(optimizer=dict(lr=5e-4))
param_scheduler = [dict(type="CosineAnnealingLR", by_epoch=True, T_max=8, eta_min=1e-5)]
