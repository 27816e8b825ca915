# STGCN++, NTU RGB+D 120 X-Sub with HRNet 2-D keypoints (COCO-17 graph, 2 persons):
# stgcnpp_ntu60_xsub_hrnet2d.py with 120 classes. Model-only (the zoo has no PreNormalize2D yet):
# the same network serves the joint, bone, joint-motion and bone-motion streams (GenSkeFeat feats
# j/b/jm/bm of the COCO-17 keypoints; x, y and keypoint score as the 3 channels).
_base_ = ["stgcnpp_ntu60_xsub_hrnet2d.py"]

model = dict(cls_head=dict(num_classes=120))
