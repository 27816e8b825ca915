# Ensem-NN recipe on MSR Action3D cross-subject (issue 22), tuning protocol of
# ./stgcn_msr3d_xsub.py: trains on training subjects 1, 3, 5, 7 and validates on held-out
# training subject 9 (../../_base_/datasets/msr3d_xsub_val.py); the test split is only read by
# the final test.
# Model, augmentation and schedule of ../cnn1d_ensemble_msr3d_xsub.py (Xu & Wang 2018: four
# residual 1-D CNN sub-networks with their own cross-entropy, late fusion by the mean of their
# softmax scores; half the paper's widths; raw joints, stronger rotation; SGD + Nesterov, 3
# warm-up epochs, cosine over 40 epochs). The learning rate 0.025 is chosen on the validation
# subject (of 0.025 / 0.05 / 0.1: last evaluation 91.5 / 89.8 / 89.8;
# benchmarks/results/skeleton_msr3d.md).
# Final run (report the test split once):
#   --cfg-options "train_dataloader.dataset.values=[1,3,5,7,9]"
# Another data set: data_root, layout, clip_len, num_classes are top-level knobs (see
# ./ctrgcn_msr3d_xsub.py); the network reads raw joints, so there is no stream knob.
_base_ = ["../../_base_/default_runtime.py", "../../_base_/datasets/msr3d_xsub_val.py",
          "../../_base_/schedules/sgd_cosine_40e.py", "../../_base_/models/ensemnn_msr3d.py"]

layout = "kinect20"
clip_len = 32
num_classes = 20
optim_wrapper = dict(optimizer=dict(lr=0.025))
model = dict(backbone=dict(layout=layout, num_frames=clip_len),
             cls_head=dict(num_classes=num_classes))
train_pipeline = [dict(step, theta=0.3) if step.type == "RandomRot" else step
                  for step in _base_.train_pipeline if step.type != "GenSkeFeat"]
test_pipeline = [step for step in _base_.test_pipeline if step.type != "GenSkeFeat"]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
train_cfg = dict(val_interval=10)
default_hooks = dict(checkpoint=dict(type="CheckpointHook", interval=10, max_keep_ckpts=2,
                                     save_best="top1", rule="greater"))
