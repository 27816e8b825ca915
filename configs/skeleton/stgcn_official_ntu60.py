# ST-GCN as in the authors' yysijie/st-gcn (AAAI 2018) NTU RGB+D 60 models: 10 blocks
# (64-64-64-64-128-128-128-256-256-256), spatial partition on the NTU-25 graph, learnable
# edge importance, dropout 0.5 (config/st_gcn/ntu-*/train.yaml). Model-only: pretrained
# weights come from the hub (zoo://stgcn_ntu60_xsub_joint_official, converter
# convert_stgcn_official); the official input is [N, M=2, T=300, V=25, C=3] without resampling.
_base_ = ["../_base_/default_runtime.py"]

model = dict(
    type="SkeletonRecognizer",
    backbone=dict(type="STGCN", graph_cfg=dict(layout="ntu25", mode="stgcn_spatial"),
                  in_channels=3, dropout=0.5,
                  # the same dropout with a cheaper mask draw, activations stored channels
                  # last: the same function, faster on the CPU (docs/speed.md)
                  fast_dropout=True, channels_last=True),
    cls_head=dict(type="GCNHead", in_channels=256, num_classes=60),
)
