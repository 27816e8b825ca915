# SkateFormer (Do & Kim, ECCV 2024) as in the authors' KAIST-VICLab/SkateFormer
# config/test/ntu_cs/SkateFormer_j.yaml: NTU RGB+D 60 X-Sub, joint stream,
# NTU-25 joints in Skate order (24 used), 2 persons, 64 frames with index_t, Skate-Type
# sizes (8, 8) / (8, 12) / (8, 8) / (8, 12), mlp_ratio 4, attn_drop 0.5, drop_path 0.2,
# 60 classes. Model-only; weights:
# zoo://skateformer_ntu60_xsub_joint (authors' Hugging Face safetensors), converter
# convert_skateformer_official. Input [N, 2, 64, 25, 3] in the zoo's ntu25 order.
_base_ = ["../_base_/default_runtime.py"]

model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="SkateFormer", layout="ntu25", num_persons=2, mlp_ratio=4.0,
                  attn_drop=0.5, drop_path=0.2, num_frames=64),
    cls_head=dict(type="GCNHead", in_channels=192, num_classes=60),
)
