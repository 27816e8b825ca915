# Fracture classifier on straight phantoms (no straightening): the heat maps of the issue-25
# HealthiVert runs on healthivert_phantom_straight.py; otherwise as
# fracture_classifier_phantom.py.
_base_ = ["./fracture_classifier_phantom.py"]

_straight = dict(curved=False, straighten=False)
train_dataloader = dict(
    dataset=dict(data_root="work_dirs/spine_phantoms/cls_train", **_straight))
val_dataloader = dict(
    dataset=dict(data_root="work_dirs/spine_phantoms/cls_val", **_straight))
test_dataloader = val_dataloader
