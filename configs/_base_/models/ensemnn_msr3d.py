# Ensem-NN (Xu & Wang 2018) for MSR Action3D (Kinect-20, 20 actions, raw joints): four
# residual 1-D CNN sub-networks (two-stream, body-part, attention, frame-difference) with their
# own cross-entropy (EnsembleCNN1DRecognizer), late fusion by the mean of their softmax scores.
# base_channels=32 halves the paper's widths (64/128/256) to fit this CPU budget. The model of
# configs/skeleton/cnn1d_ensemble_msr3d_xsub.py and of its recipe's validation protocol.
base_channels = 32
model = dict(
    type="EnsembleCNN1DRecognizer",
    backbone=dict(type="EnsembleCNN1D", in_channels=3, layout="kinect20", num_person=1,
                  num_frames=32, base_channels=base_channels, dropout=0.0,
                  diff_dropout=0.3),
    cls_head=dict(type="EnsembleCNN1DHead", in_channels=4 * base_channels, num_classes=20,
                  dropout=0.3),
)
