# CoMEL (GDAT encoder + attention pooling + BPPL instance pseudo-labels) on the synthetic WSI
# cohort (single task; see models/mil/comel.py for OWLoRA's continual use):
#   uv run tools/wsi/make_demo_data.py data/wsi_synthetic
#   uv run tools/train.py configs/wsi/comel_synthetic.py
#   uv run tools/test.py configs/wsi/comel_synthetic.py work_dirs/comel_synthetic/epoch_40.pth \
#       --cfg-options test_evaluator.heatmap_dir=work_dirs/comel_synthetic/heatmaps
_base_ = ["./abmil_synthetic.py"]

# Paper sizes are embed 512, 8 heads, region 16 (256 agents); the demo bags hold ~20-60
# tiles, so a 4x4 region (16 agents) and a smaller embedding keep it proportionate.
model = dict(_delete_=True, type="CoMEL", in_dim=128, embed_dim=128, num_heads=4,
             region_size=4, num_layers=2, num_classes=2, dropout=0.1, trans_dropout=0.1,
             attn_dim=64, bppl_weight=1.0)
