# CTR-GCN (PYSKL variant), NTU RGB+D 120 X-Sub with HRNet 2-D keypoints (COCO-17 graph, 2 persons).
# Model-only (the zoo has no PreNormalize2D yet): the same network serves the joint, bone, joint-
# motion and bone-motion streams (GenSkeFeat feats j/b/jm/bm of the COCO-17 keypoints; x, y and
# keypoint score as the 3 channels).
_base_ = ["../_base_/default_runtime.py"]

model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="CTRGCN", graph_cfg=dict(layout="coco17", mode="spatial"),
                  in_channels=3, num_person=2, variant="pyskl"),
    cls_head=dict(type="GCNHead", in_channels=256, num_classes=120),
)
