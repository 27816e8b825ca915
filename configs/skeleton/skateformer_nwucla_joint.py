# SkateFormer (Do & Kim, ECCV 2024) as in the authors' KAIST-VICLab/SkateFormer
# config/test/nw_ucla/SkateFormer_j.yaml: NW-UCLA joint stream, Kinect-20 joints in Skate
# order, 1 person, 64 frames with index_t, Skate-Type sizes (8, 4) / (8, 5) / (8, 4) / (8, 5),
# mlp_ratio 1, attn_drop 0.5, drop_path 0.2, 10 classes. Model-only; weights:
# zoo://skateformer_nwucla_joint, converter convert_skateformer_official.
_base_ = ["../_base_/default_runtime.py"]

model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="SkateFormer", layout="kinect20", num_persons=1, mlp_ratio=1.0,
                  attn_drop=0.5, drop_path=0.2, num_frames=64),
    cls_head=dict(type="GCNHead", in_channels=192, num_classes=10),
)
