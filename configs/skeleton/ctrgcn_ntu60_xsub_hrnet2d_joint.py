# CTR-GCN as re-implemented by PYSKL / MMAction2 (projects/ctrgcn), NTU RGB+D 60 X-Sub with
# HRNet 2-D keypoints: COCO-17 graph, 3 input channels (x, y, keypoint score), 2 persons,
# official sizes, variant='pyskl'. Model-only (the zoo has no PreNormalize2D yet); weights:
# zoo://ctrgcn_ntu60_xsub_hrnet2d_joint, converter convert_ctrgcn_pyskl.
_base_ = ["../_base_/default_runtime.py"]

model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="CTRGCN", graph_cfg=dict(layout="coco17", mode="spatial"),
                  in_channels=3, num_person=2, variant="pyskl"),
    cls_head=dict(type="GCNHead", in_channels=256, num_classes=60),
)
