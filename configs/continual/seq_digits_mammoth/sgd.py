# Mammoth's sequential protocol (Buzzega et al., "Dark Experience for General Continual
# Learning", NeurIPS 2020; aimagelab/mammoth, seq-cifar10 at buffer 200) on the data available
# here: scikit-learn's 8x8 digits in 5 tasks x 2 classes, class-incremental. This file is
# Mammoth's `sgd` (fine-tuning, lower bound); the other files of the folder change only the
# strategy and Mammoth's per-method optimiser settings. Results, commands and the DER paper's
# seq-CIFAR-10 numbers (a different data set): benchmarks/results/continual_mammoth_protocol.md.
#
# Same as Mammoth seq-cifar10 (datasets/seq_cifar10.py, utils/best_args.py, first commit
# 7ab9db9 of 2020-10-05 = the paper's code, and today's datasets/configs/seq-cifar10/default.yaml):
#   * network: Mammoth's ResNet-18 (3x3 stride-1 stem, no max-pool, nf=64, 2-2-2-2 basic
#     blocks, widths 64-128-256-512, strides 1-2-2-2, global average pool, linear);
#   * 50 epochs per task, batch 32, buffer 200, replay minibatch 32 (the loop's default replay
#     batch = the training batch); plain SGD (momentum 0, weight decay 0), no lr schedule
#     (seq-cifar10 has none, then or now); the optimiser is rebuilt at every task, as
#     Mammoth's ContinualModel does at each task start; lr per method from best_args;
#   * classes in the natural order 0-1, 2-3, ..., 8-9 (Mammoth does not shuffle them);
#   * training transform RandomCrop(size, padding) -> Normalize, test transform Normalize,
#     and buffered samples stored un-augmented and augmented again at every replay
#     (TrainTransformBackbone, models/image/mammoth_resnet.py).
# Departures:
#   * data: 8x8 grey digits (1347 training images, ~270 per task; 450 test) instead of 32x32
#     RGB CIFAR-10 (50000 / 10000): the stem conv takes 1 channel, otherwise the network is
#     identical (on 8x8 input the last stage's map is 1x1 instead of 4x4);
#   * crop padding 1 pixel instead of 4 (the same 1/8 of the side); no horizontal flip:
#     digits are not flip-invariant (a mirrored 2, 3, 7 is not that digit);
#   * normalisation by the digits training split's mean / std (one channel: 0.3048 / 0.3758,
#     computed from Digits(split='train')) instead of CIFAR-10's per-channel values;
#   * the zoo's head grows with the seen classes and predicts over the seen classes
#     (Mammoth: a 10-output head from the start, cross-entropy and arg-max over all 10) for
#     every method but DER/DER++/X-DER, which keep the full head (full_head=True);
#   * the zoo strategies' own details (docs/continual.md), e.g. DER++ runs the batch and both
#     buffer minibatches in one forward pass (Mammoth: three).
_base_ = ["../../_base_/default_runtime.py"]

model = dict(
    type="ImageClassifier",
    backbone=dict(
        type="TrainTransformBackbone", crop_padding=1, mean=0.3048, std=0.3758,
        backbone=dict(type="MammothResNet18", in_channels=1, nf=64, num_blocks=(2, 2, 2, 2))),
    cls_head=dict(type="LinearClsHead", in_channels=512, num_classes=10),
)
train_dataloader = dict(
    batch_size=32, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=True),
    dataset=dict(type="Digits", split="train"),
)
val_dataloader = dict(
    batch_size=128, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(type="Digits", split="test"),
)
val_evaluator = dict(type="AccMetric", topk=(1,))
val_cfg = dict(type="ValLoop")
train_cfg = dict(
    type="ContinualTrainLoop",
    epochs_per_task=50,
    scenario=dict(num_tasks=5, class_order=list(range(10))),
    strategy=dict(type="FineTune"),
)
# Mammoth best_args seq-cifar10 'sgd': lr 0.1, batch 32, 50 epochs.
optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.0, weight_decay=0.0))
param_scheduler = None
test_dataloader = None
test_evaluator = None
test_cfg = None
default_hooks = dict(checkpoint=None, logger=dict(type="LoggerHook", interval=50))
