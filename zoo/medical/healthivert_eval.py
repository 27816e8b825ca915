"""Run a trained HealthiVert-GAN over a dataset and draw the input / synthesis / heights figure."""
from __future__ import annotations

import numpy as np
import torch


def find_checkpoint(path: str) -> str:
    """``path`` itself, or for a work dir the checkpoint that validation selected
    (``best_*.pth``, written by ``CheckpointHook(save_best=...)``)."""
    import glob
    import os

    if not os.path.isdir(path):
        return path
    best = sorted(glob.glob(os.path.join(path, "best_*.pth")))
    if len(best) != 1:
        raise FileNotFoundError(f"{path}: expected one best_*.pth (validation-selected "
                                f"checkpoint), found {[os.path.basename(b) for b in best]}")
    return best[0]


def load_healthivert(config: str, checkpoint: str, cfg_options: dict | None = None):
    """Build the model of ``config`` (with ``cfg_options`` overrides) and load generator
    weights from an mmengine checkpoint (the discriminators, needed only in training, may be
    absent from it); a work dir means its validation-selected ``best_*.pth``."""
    from zoo.apis import init_model, load_checkpoint
    from zoo.checkpoint import CheckpointMismatchError

    checkpoint = find_checkpoint(checkpoint)
    model = init_model(config, cfg_options=cfg_options)
    model.checkpoint_path = checkpoint
    _, report = load_checkpoint(model, checkpoint, strict=False)
    gen_missing = [k for k in report.serious_missing if k.startswith("generator.")]
    if gen_missing or report.unexpected:
        raise CheckpointMismatchError(
            f"{checkpoint}: generator keys missing {gen_missing[:5]}, unexpected "
            f"{report.unexpected[:5]}")
    return model.eval(), model.cfg


@torch.no_grad()
def predict_dataset(model, dataset, batch_size: int = 16, progress: bool = True) -> list[dict]:
    """Per-slice predictions (``HealthiVertGAN.predict``) for every sample of ``dataset``."""
    from torch.utils.data import DataLoader, default_collate

    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False,
                        collate_fn=default_collate)
    if progress:
        from tqdm import tqdm

        loader = tqdm(loader, desc="HealthiVert-GAN inference")
    preds = []
    for batch in loader:
        masked = batch["inputs"]["masked"]
        for p, inp in zip(model.predict(batch["inputs"], batch["data_samples"]), masked):
            p["masked"] = inp[0].numpy()
            preds.append(p)
    return preds


def plot_healthivert_demo(slice_pred: dict, real_image: np.ndarray, path: str,
                          title: str = "") -> None:
    """PNG: input (band) slice, real (fractured) slice, synthesised healthy slice, and the
    column-height profiles (mm) of the real, synthesised and true pre-fracture vertebra."""
    from zoo.medical.rhlv import column_heights
    from zoo.visualization import _figure, save_figure

    plt = _figure()
    sp = float(slice_pred["row_spacing"])
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.8))
    panels = [(slice_pred["masked"], "input: target replaced by band"),
              (real_image, "real (fractured) slice"),
              (slice_pred["syn_image"], "synthesised pseudo-healthy")]
    for ax, (img, name) in zip(axes, panels):
        ax.imshow(img, cmap="gray", vmin=-1, vmax=1)
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    axes[2].contour(slice_pred["syn_mask"], levels=[0.5], colors="lime", linewidths=0.8)
    axes[1].contour(slice_pred["real_mask"], levels=[0.5], colors="red", linewidths=0.8)
    cols = np.arange(real_image.shape[1]) * sp
    for mask, name, style in ((slice_pred["real_mask"], "real (fractured)", "r-"),
                              (slice_pred["syn_mask"], "synthesised", "g-"),
                              (np.asarray(slice_pred["healthy_mask"])[0] > 0.5,
                               "true pre-fracture", "k--")):
        h = column_heights(mask, sp)
        keep = h > 0
        axes[3].plot(cols[keep], h[keep], style, label=name)
    axes[3].set_xlabel("posterior -> anterior (mm)")
    axes[3].set_ylabel("height (mm)")
    axes[3].legend(fontsize=8)
    axes[3].set_title("height profiles", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    save_figure(fig, path)
