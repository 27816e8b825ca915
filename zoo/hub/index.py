"""The pretrained-model index: one :class:`ModelEntry` per upstream checkpoint.

Every URL, hash and metric below was read from the upstream project's own model-zoo page or
code (named in ``notes``); nothing is guessed. Where the source publishes no hash the entry
has ``sha256=None`` and a download needs either a hash from the user or an explicit
trust-on-first-use (the digest of the first download is then recorded in the cache manifest
and enforced from then on; see :mod:`zoo.hub.download`).

Hashes are either a full sha256 (64 hex digits) or the prefix that OpenMMLab / torchvision
embed in their file names (``name-<first 8 hex of sha256>.pth``, torch.hub's convention).

This module imports nothing heavy so that ``zoo list`` stays fast.
"""
from __future__ import annotations

import dataclasses
import difflib
import fnmatch
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlparse

SKELETON = "skeleton-action-recognition"
IMAGE = "image-classification"
POSE = "pose-estimation"


@dataclass(frozen=True)
class ModelEntry:
    """One pretrained checkpoint.

    Args:
        name: index key (also the ``zoo://NAME`` address).
        task / dataset: what it was trained for and on.
        urls: download addresses, tried in order (the first is the primary one).
        sha256: full sha256 or the published prefix; ``None`` when the source publishes none.
        source: upstream repository (or model-zoo page) the checkpoint comes from.
        licence: licence of the weights as the source states it.
        metric: reported accuracy, e.g. ``{"top1": 89.0}`` (percent); ``None`` if not published
            for this single checkpoint.
        config: mmengine config (path relative to the repository root) that builds the zoo
            model the converted weights fit; ``None`` for ``arch`` entries.
        arch: ``"timm/<model>"`` for entries built by timm instead of a config.
        converter: name of a function in :mod:`zoo.converters` mapping the upstream layout to
            the zoo's key names; ``None`` when the file already uses the model's names.
        num_classes: classifier width of the checkpoint.
        head: key prefix of the classifier (re-initialised when fine-tuning to other classes).
        safetensors_url / safetensors_sha256: optional safetensors copy of the same weights.
        manual: the URL is a web page (e.g. a Google Drive folder), not a direct download; the
            user downloads the file and places it in the cache.
        filename: cache file name; default ``<name><suffix of the URL>``.
        notes: where each fact comes from and what could not be confirmed.
        stream: input modality of a skeleton checkpoint, ``'j'``, ``'b'``, ``'jm'`` or ``'bm'``
            (joint, bone, joint motion, bone motion: ``GenSkeFeat`` feats); ``None`` = joint.
    """

    name: str
    task: str
    dataset: str
    urls: tuple[str, ...]
    sha256: str | None
    source: str
    licence: str
    metric: dict[str, float] | None
    config: str | None = None
    arch: str | None = None
    converter: str | None = None
    num_classes: int | None = None
    head: str = "cls_head"
    safetensors_url: str | None = None
    safetensors_sha256: str | None = None
    manual: bool = False
    filename: str | None = None
    notes: str = ""
    stream: str | None = None

    def __post_init__(self):
        if not self.urls:
            raise ValueError(f"index entry {self.name!r} has no URL")
        if self.config is not None and self.arch is not None:
            raise ValueError(f"index entry {self.name!r} sets both config and arch")

    @property
    def cache_filename(self) -> str:
        """File name of the primary checkpoint inside the cache's ``checkpoints/`` folder."""
        if self.filename:
            return self.filename
        suffix = PurePosixPath(urlparse(self.urls[0]).path).suffix
        return self.name + (suffix if suffix in (".pth", ".pt", ".bin", ".safetensors")
                            else ".pth")

    @property
    def safetensors_filename(self) -> str:
        return self.name + ".safetensors"

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["urls"] = list(self.urls)
        data["cache_filename"] = self.cache_filename
        return data


_OPENMMLAB_S3 = "https://open-mmlab.s3.ap-northeast-2.amazonaws.com/mmskeleton/models/st-gcn"
_MMACTION_V1 = "https://download.openmmlab.com/mmaction/v1.0"
_PYSKL_CKPT = "http://download.openmmlab.com/mmaction/pyskl/ckpt"
_HF_SKATEFORMER = "https://huggingface.co/JeonghyeokDo/SkateFormer/resolve/main"

_MMSKELETON_NOTE = (
    "URL, hash prefix (file name) and accuracy from mmskeleton doc/START_RECOGNITION.md "
    "(model zoo of the AAAI'18 ST-GCN, the authors' weights re-hosted by OpenMMLab). Key layout "
    "(st_gcn_networks / data_bn / edge_importance / A / fcn) read from mmskeleton "
    "st_gcn_aaai18.py, identical to yysijie/st-gcn. The 2019 S3 bucket may no longer serve."
)
_MMACTION_STGCN_NOTE = (
    "URL, hash prefix and top-1 from mmaction2 configs/skeleton/stgcn/metafile.yml. The "
    "checkpoint is MMAction2 1.x's ST-GCN (mmaction/models/backbones/stgcn.py: unit_gcn with "
    "'importance' PA and a per-block graph buffer A, unit_tcn, 'VC' data BN; head "
    "cls_head.fc), built in the zoo as PysklSTGCN and converted by convert_stgcn_pyskl "
    "(checked against the official module code on random weights, "
    "tests/skeleton/test_stgcn_pyskl.py; not against the real file, which was not downloaded)."
)
_PYSKL_NOTE_STGCN = (
    "URL and top-1 from PYSKL configs/stgcn/README.md (config "
    "stgcn_pyskl_ntu60_xsub_3dkp/j.py: STGCN defaults, graph 'nturgb+d' stgcn_spatial); "
    "PYSKL publishes no hash. Zoo model PysklSTGCN (same design as MMAction2 1.x), head "
    "cls_head.fc_cls, converter convert_stgcn_pyskl (checked against PYSKL's module code on "
    "random weights, not against the real file)."
)
_MMACTION_CTRGCN_NOTE = (
    "URL, hash prefix and top-1 from mmaction2 projects/ctrgcn/README.md. The backbone "
    "(projects/ctrgcn/models/ctrgcn.py) has the same module names as PYSKL's CTRGCN, hence "
    "the PYSKL converter; the head is mmaction2's GCNHead (cls_head.fc) — the converter must "
    "accept it (not checked against a real file here)."
)
_PYSKL_NOTE_CTRGCN = (
    "URL and top-1 from PYSKL configs/ctrgcn/README.md; PYSKL publishes no hash."
)
_SKATEFORMER_NOTE = (
    "File from the authors' Hugging Face repository JeonghyeokDo/SkateFormer (README of "
    "KAIST-VICLab/SkateFormer: one sub-folder per dataset/protocol/modality holding "
    "config.json + model.safetensors, module names unchanged from model/SkateFormer.py). The "
    "authors also publish all checkpoints as one Google Drive zip "
    "(https://drive.google.com/file/d/16dBg4nq91dUYqVqB4W0d8r4TzOMe0U2u/view). No hash is "
    "published. The paper reports ensemble accuracy only; the single-stream top-1 recorded "
    "here (NTU-60 X-Sub joint 92.6, NTU-120 X-Sub joint 87.7) is from the authors' Hugging "
    "Face model card; no single-stream NW-UCLA number is recorded. Licence: README says "
    "research/education only (commercial use needs permission); the Hub card metadata says MIT."
)
_TV_NOTE = (
    "URL, hash prefix (torch.hub file-name convention) and accuracy from the installed "
    "torchvision weights enum; the Hugging Face copy is timm's pretrained config "
    "hf_hub_id (timm/{tag}); timm's ResNet uses torchvision's key names (checked). The "
    "safetensors file's hash is not published."
)

_ENTRIES: tuple[ModelEntry, ...] = (
    # --- ST-GCN, official AAAI'18 weights (mmskeleton model zoo) -------------------------
    ModelEntry(
        name="stgcn_ntu60_xsub_joint_official", task=SKELETON,
        dataset="NTU RGB+D 60 X-Sub, 3-D joints",
        urls=(f"{_OPENMMLAB_S3}/st_gcn.ntu-xsub-300b57d4.pth",), sha256="300b57d4",
        source="https://github.com/open-mmlab/mmskeleton", licence="Apache-2.0 (mmskeleton)",
        metric={"top1": 81.57, "top5": 96.85}, config="configs/skeleton/stgcn_official_ntu60.py",
        converter="convert_stgcn_official", num_classes=60, notes=_MMSKELETON_NOTE,
    ),
    ModelEntry(
        name="stgcn_ntu60_xview_joint_official", task=SKELETON,
        dataset="NTU RGB+D 60 X-View, 3-D joints",
        urls=(f"{_OPENMMLAB_S3}/st_gcn.ntu-xview-9ba67746.pth",), sha256="9ba67746",
        source="https://github.com/open-mmlab/mmskeleton", licence="Apache-2.0 (mmskeleton)",
        metric={"top1": 88.76, "top5": 98.83}, config="configs/skeleton/stgcn_official_ntu60.py",
        converter="convert_stgcn_official", num_classes=60, notes=_MMSKELETON_NOTE,
    ),
    ModelEntry(
        name="stgcn_kinetics_joint_official", task=SKELETON,
        dataset="Kinetics-Skeleton (OpenPose-18, 400 classes)",
        urls=(f"{_OPENMMLAB_S3}/st_gcn.kinetics-6fa43f73.pth",), sha256="6fa43f73",
        source="https://github.com/open-mmlab/mmskeleton", licence="Apache-2.0 (mmskeleton)",
        metric={"top1": 31.60, "top5": 53.68},
        config="configs/skeleton/stgcn_official_kinetics.py",
        converter="convert_stgcn_official", num_classes=400, notes=_MMSKELETON_NOTE,
    ),
    # --- ST-GCN, MMAction2 1.x / PYSKL (PysklSTGCN) -----------------------------------------
    ModelEntry(
        name="stgcn_ntu60_xsub_joint_mmaction2", task=SKELETON,
        dataset="NTU RGB+D 60 X-Sub, 3-D joints",
        urls=((f"{_MMACTION_V1}/skeleton/stgcn/stgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d/"
              "stgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d_20221129-850308e1.pth"),),
        sha256="850308e1", source="https://github.com/open-mmlab/mmaction2",
        licence="Apache-2.0", metric={"top1": 88.11},
        config="configs/skeleton/stgcn_pyskl_ntu60_xsub_joint.py", converter="convert_stgcn_pyskl",
        num_classes=60, notes=_MMACTION_STGCN_NOTE,
    ),
    ModelEntry(
        name="stgcn_ntu60_xsub_hrnet2d_joint_mmaction2", task=SKELETON,
        dataset="NTU RGB+D 60 X-Sub, HRNet 2-D keypoints (COCO-17)",
        urls=((f"{_MMACTION_V1}/skeleton/stgcn/stgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-2d/"
              "stgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-2d_20221129-484a394a.pth"),),
        sha256="484a394a", source="https://github.com/open-mmlab/mmaction2",
        licence="Apache-2.0", metric={"top1": 88.95},
        config="configs/skeleton/stgcn_pyskl_ntu60_xsub_hrnet2d_joint.py",
        converter="convert_stgcn_pyskl", num_classes=60, notes=_MMACTION_STGCN_NOTE,
    ),
    ModelEntry(
        name="stgcn_ntu60_xsub_joint_pyskl", task=SKELETON,
        dataset="NTU RGB+D 60 X-Sub, 3-D joints",
        urls=(f"{_PYSKL_CKPT}/stgcn/stgcn_pyskl_ntu60_xsub_3dkp/j.pth",), sha256=None,
        source="https://github.com/kennymckormick/pyskl", licence="Apache-2.0",
        metric={"top1": 87.8}, config="configs/skeleton/stgcn_pyskl_ntu60_xsub_joint.py",
        converter="convert_stgcn_pyskl", num_classes=60, notes=_PYSKL_NOTE_STGCN,
    ),
    # --- CTR-GCN --------------------------------------------------------------------------
    ModelEntry(
        name="ctrgcn_ntu60_xsub_joint", task=SKELETON, dataset="NTU RGB+D 60 X-Sub, 3-D joints",
        urls=((f"{_MMACTION_V1}/projects/ctrgcn/ctrgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d/"
              "ctrgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-3d_20230308-950dca0a.pth"),),
        sha256="950dca0a", source="https://github.com/open-mmlab/mmaction2 (projects/ctrgcn)",
        licence="Apache-2.0", metric={"top1": 89.0},
        config="configs/skeleton/ctrgcn_ntu60_xsub_joint.py", converter="convert_ctrgcn_pyskl",
        num_classes=60, notes=_MMACTION_CTRGCN_NOTE,
    ),
    ModelEntry(
        name="ctrgcn_ntu60_xsub_hrnet2d_joint", task=SKELETON,
        dataset="NTU RGB+D 60 X-Sub, HRNet 2-D keypoints (COCO-17)",
        urls=((f"{_MMACTION_V1}/projects/ctrgcn/ctrgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-2d/"
              "ctrgcn_8xb16-joint-u100-80e_ntu60-xsub-keypoint-2d_20230308-7aba454e.pth"),),
        sha256="7aba454e", source="https://github.com/open-mmlab/mmaction2 (projects/ctrgcn)",
        licence="Apache-2.0", metric={"top1": 89.6},
        config="configs/skeleton/ctrgcn_ntu60_xsub_hrnet2d_joint.py",
        converter="convert_ctrgcn_pyskl", num_classes=60, notes=_MMACTION_CTRGCN_NOTE,
    ),
    ModelEntry(
        name="ctrgcn_ntu60_xsub_joint_pyskl", task=SKELETON,
        dataset="NTU RGB+D 60 X-Sub, 3-D joints",
        urls=(f"{_PYSKL_CKPT}/ctrgcn/ctrgcn_pyskl_ntu60_xsub_3dkp/j.pth",), sha256=None,
        source="https://github.com/kennymckormick/pyskl", licence="Apache-2.0",
        metric={"top1": 89.6}, config="configs/skeleton/ctrgcn_ntu60_xsub_joint.py",
        converter="convert_ctrgcn_pyskl", num_classes=60,
        notes=_PYSKL_NOTE_CTRGCN,
    ),
    ModelEntry(
        name="ctrgcn_ntu120_xsub_joint_official", task=SKELETON,
        dataset="NTU RGB+D 120 X-Sub, 3-D joints",
        urls=("https://drive.google.com/drive/folders/1C9XUAgnwrGelvl4mGGVZQW6akiapgdnd",),
        sha256=None, source="https://github.com/Uason-Chen/CTR-GCN",
        licence="not stated (no licence file in the authors' repository)", metric=None,
        config="configs/skeleton/ctrgcn_official_ntu120_xsub_joint.py",
        converter="convert_ctrgcn_official", num_classes=120, manual=True,
        filename="ctrgcn_ntu120_xsub_joint_official.pt",
        notes=("The authors publish the weights behind their NTU-120 X-Sub results as a Google "
               "Drive folder (README 'Pretrained Models'); no direct file link, no hash and no "
               "per-stream accuracy. Download the joint-stream .pt by hand and place it at the "
               "cache path shown by `zoo info`."),
    ),
    # --- SkateFormer (authors' Hugging Face copy, safetensors) -----------------------------
    ModelEntry(
        name="skateformer_ntu60_xsub_joint", task=SKELETON,
        dataset="NTU RGB+D 60 X-Sub, 3-D joints",
        urls=(f"{_HF_SKATEFORMER}/ntu60-xsub-joint/model.safetensors",), sha256=None,
        source="https://github.com/KAIST-VICLab/SkateFormer",
        licence="research and education only (README); Hub card: MIT", metric={"top1": 92.6},
        config="configs/skeleton/skateformer_ntu60_xsub_joint.py",
        converter="convert_skateformer_official", num_classes=60,
        notes=_SKATEFORMER_NOTE,
    ),
    ModelEntry(
        name="skateformer_ntu120_xsub_joint", task=SKELETON,
        dataset="NTU RGB+D 120 X-Sub, 3-D joints",
        urls=(f"{_HF_SKATEFORMER}/ntu120-xsub-joint/model.safetensors",), sha256=None,
        source="https://github.com/KAIST-VICLab/SkateFormer",
        licence="research and education only (README); Hub card: MIT", metric={"top1": 87.7},
        config="configs/skeleton/skateformer_ntu120_xsub_joint.py",
        converter="convert_skateformer_official", num_classes=120, notes=_SKATEFORMER_NOTE,
    ),
    ModelEntry(
        name="skateformer_nwucla_joint", task=SKELETON, dataset="NW-UCLA, 3-D joints",
        urls=(f"{_HF_SKATEFORMER}/nwucla-joint/model.safetensors",), sha256=None,
        source="https://github.com/KAIST-VICLab/SkateFormer",
        licence="research and education only (README); Hub card: MIT", metric=None,
        config="configs/skeleton/skateformer_nwucla_joint.py",
        converter="convert_skateformer_official", num_classes=10, notes=_SKATEFORMER_NOTE,
    ),
    # --- Image backbones (torchvision weights, timm architecture names) --------------------
    ModelEntry(
        name="resnet50_tv_in1k", task=IMAGE, dataset="ImageNet-1k",
        urls=("https://download.pytorch.org/models/resnet50-0676ba61.pth",), sha256="0676ba61",
        source="https://github.com/pytorch/vision (timm tag resnet50.tv_in1k)",
        licence="BSD-3-Clause", metric={"top1": 76.13, "top5": 92.862}, arch="timm/resnet50",
        num_classes=1000, head="fc",
        safetensors_url="https://huggingface.co/timm/resnet50.tv_in1k/resolve/main/"
                        "model.safetensors",
        notes=_TV_NOTE.format(tag="resnet50.tv_in1k"),
    ),
    ModelEntry(
        name="resnet50_tv2_in1k", task=IMAGE, dataset="ImageNet-1k",
        urls=("https://download.pytorch.org/models/resnet50-11ad3fa6.pth",), sha256="11ad3fa6",
        source="https://github.com/pytorch/vision (timm tag resnet50.tv2_in1k)",
        licence="BSD-3-Clause", metric={"top1": 80.858, "top5": 95.434}, arch="timm/resnet50",
        num_classes=1000, head="fc",
        safetensors_url="https://huggingface.co/timm/resnet50.tv2_in1k/resolve/main/"
                        "model.safetensors",
        notes=_TV_NOTE.format(tag="resnet50.tv2_in1k"),
    ),
    ModelEntry(
        name="resnet18_tv_in1k", task=IMAGE, dataset="ImageNet-1k",
        urls=("https://download.pytorch.org/models/resnet18-f37072fd.pth",), sha256="f37072fd",
        source="https://github.com/pytorch/vision (timm tag resnet18.tv_in1k)",
        licence="BSD-3-Clause", metric={"top1": 69.758, "top5": 89.078}, arch="timm/resnet18",
        num_classes=1000, head="fc",
        safetensors_url="https://huggingface.co/timm/resnet18.tv_in1k/resolve/main/"
                        "model.safetensors",
        notes=_TV_NOTE.format(tag="resnet18.tv_in1k"),
    ),
    # --- Pose estimation (tools/data/extract_pose.py --estimator keypoint_rcnn) ------------
    ModelEntry(
        name="keypointrcnn_resnet50_fpn_coco", task=POSE,
        dataset="COCO 2017 person keypoints (COCO-17)",
        urls=("https://download.pytorch.org/models/keypointrcnn_resnet50_fpn_coco-fc266e95.pth",),
        sha256="fc266e95", source="https://github.com/pytorch/vision",
        licence="BSD-3-Clause", metric={"box_map": 54.6, "kp_map": 65.0}, num_classes=2,
        head="roi_heads.box_predictor",
        notes=("URL, hash prefix (torch.hub file-name convention) and COCO val2017 box/keypoint "
               "mAP from the installed torchvision's KeypointRCNN_ResNet50_FPN_Weights.COCO_V1. "
               "Plain torchvision key names (no converter). Not a zoo config model: it is the "
               "`keypoint_rcnn` entry of the POSE_ESTIMATORS registry (zoo.pose), which builds "
               "torchvision's architecture and loads these weights."),
    ),
)

# --- Four-stream GCN checkpoints (j / b / jm / bm) of MMAction2 1.x and PYSKL -----------------
# (stream word in entry names, GenSkeFeat feats, MMAction2 file-name token, PYSKL file name)
_STREAMS = {"joint": ("j", "joint"), "bone": ("b", "bone"), "jm": ("jm", "joint-motion"),
            "bm": ("bm", "bone-motion")}
_MMACTION_STREAM_NOTE = (
    "URL, hash prefix (file name) and top-1 (10 clips) from mmaction2 "
    "configs/skeleton/{arch}/metafile.yml (model {model}). Same network as the joint stream; the "
    "stream only changes the input (GenSkeFeat feats={feats!r}). Converter convert_stgcn_pyskl "
    "(checked on random weights against the official module code, tests/skeleton/fixtures; not "
    "against the real file, which was not downloaded).")
_PYSKL_STREAM_NOTE = (
    "URL and top-1 from PYSKL configs/{readme}/README.md (config {config}); PYSKL publishes no "
    "hash, so a download needs sha256=... or trust on first use. Same network as the joint "
    "stream; the stream only changes the input (GenSkeFeat feats={feats!r}). Converter "
    "{converter} (checked on random weights, not against the real file).")
_STGCNPP_NOTE = (" STGCN++ is PysklSTGCN with gcn_adaptive='init', gcn_with_res=True, "
                 "tcn_type='mstcn' (mmaction2 configs/skeleton/stgcnpp, PYSKL configs/stgcn++).")


def _mmaction2_stream(arch: str, classes: int, dim: str, stream: str, stamp: str, top1: float,
                      config: str) -> ModelEntry:
    feats, token = _STREAMS[stream]
    ds = f"ntu{classes}"
    model = f"{arch}_8xb16-{token}-u100-80e_{ds}-xsub-keypoint-{dim}"
    date, digest = stamp.split("-")
    zoo_arch = "stgcn" if arch == "stgcn" else "stgcnpp"
    kind = "3-D joints" if dim == "3d" else "HRNet 2-D keypoints (COCO-17)"
    note = _MMACTION_STREAM_NOTE.format(arch=arch, model=model, feats=[feats])
    return ModelEntry(
        name=f"{zoo_arch}_{ds}_xsub{'' if dim == '3d' else '_hrnet2d'}_{stream}_mmaction2",
        task=SKELETON, dataset=f"NTU RGB+D {classes} X-Sub, {kind}, {stream} stream",
        urls=(f"{_MMACTION_V1}/skeleton/{arch}/{model}/{model}_{date}-{digest}.pth",),
        sha256=digest, source="https://github.com/open-mmlab/mmaction2", licence="Apache-2.0",
        metric={"top1": top1}, config=config, converter="convert_stgcn_pyskl",
        num_classes=classes, stream=feats,
        notes=note + (_STGCNPP_NOTE if arch == "stgcnpp" else ""))


def _pyskl_stream(arch: str, classes: int, dim: str, stream: str, top1: float,
                  config: str) -> ModelEntry:
    feats, _ = _STREAMS[stream]
    ds = f"ntu{classes}"
    folder = {"stgcnpp": "stgcn++", "ctrgcn": "ctrgcn"}[arch]
    run = (f"stgcn++_{ds}_xsub_{'3dkp' if dim == '3d' else 'hrnet'}" if arch == "stgcnpp"
           else f"ctrgcn_pyskl_{ds}_xsub_{'3dkp' if dim == '3d' else 'hrnet'}")
    converter = "convert_stgcn_pyskl" if arch == "stgcnpp" else "convert_ctrgcn_pyskl"
    kind = "3-D joints" if dim == "3d" else "HRNet 2-D keypoints (COCO-17)"
    note = _PYSKL_STREAM_NOTE.format(readme=folder, config=f"{run}/{feats}.py", feats=[feats],
                                     converter=converter)
    return ModelEntry(
        name=f"{arch}_{ds}_xsub{'' if dim == '3d' else '_hrnet2d'}_{stream}_pyskl",
        task=SKELETON, dataset=f"NTU RGB+D {classes} X-Sub, {kind}, {stream} stream",
        urls=(f"{_PYSKL_CKPT}/{folder}/{run}/{feats}.pth",), sha256=None,
        source="https://github.com/kennymckormick/pyskl", licence="Apache-2.0",
        metric={"top1": top1}, config=config, converter=converter, num_classes=classes,
        stream=feats, notes=note + (_STGCNPP_NOTE if arch == "stgcnpp" else ""))


def _stream_config(prefix: str, dim: str, stream: str, model_only_2d: str) -> str:
    if dim == "2d":
        return f"configs/skeleton/{model_only_2d}"
    return f"configs/skeleton/{prefix}_{stream}.py"


# (arch, classes, dim) -> {stream: (date-hash, top1)}: mmaction2 metafile.yml tables
_MMACTION2_TABLE = {
    ("stgcn", 60, "2d"): {"bone": ("20221129-c4b44488", 91.69),
                          "jm": ("20221129-f18eb408", 86.90),
                          "bm": ("20221129-99c60e2d", 87.86)},
    ("stgcn", 60, "3d"): {"bone": ("20221129-9c8d2970", 88.76),
                          "jm": ("20221129-927648ea", 86.06),
                          "bm": ("20221129-593162ca", 85.49)},
    ("stgcn", 120, "2d"): {"joint": ("20221129-612416c6", 83.19),
                           "bone": ("20221129-131e63c3", 83.36),
                           "jm": ("20221129-7cb38ec2", 78.87),
                           "bm": ("20221129-f5b19892", 79.55)},
    ("stgcn", 120, "3d"): {"joint": ("20221129-0484f579", 82.15),
                           "bone": ("20221129-bc007510", 84.28),
                           "jm": ("20221129-5d54f525", 78.93),
                           "bm": ("20221129-3cb0e4e1", 80.02)},
    ("stgcnpp", 60, "2d"): {"joint": ("20221228-86e1e77a", 89.29),
                            "bone": ("20221228-cd11a691", 92.30),
                            "jm": ("20221228-19a34aba", 87.30),
                            "bm": ("20221228-c02a0749", 88.76)},
    ("stgcnpp", 60, "3d"): {"joint": ("20221230-4e455ce3", 89.14),
                            "bone": ("20221230-7f356072", 90.21),
                            "jm": ("20221230-650de5cc", 86.67),
                            "bm": ("20221230-b00440d2", 87.45)},
}
# (arch, classes, dim) -> {stream: top1}: PYSKL README tables (X-Sub rows)
_PYSKL_TABLE = {
    ("stgcnpp", 120, "3d"): {"joint": 83.2, "bone": 85.6, "jm": 80.4, "bm": 81.5},
    ("stgcnpp", 120, "2d"): {"joint": 84.4, "bone": 84.8, "jm": 76.4, "bm": 81.1},
    ("ctrgcn", 60, "3d"): {"bone": 90.0, "jm": 88.0, "bm": 87.5},
    ("ctrgcn", 60, "2d"): {"joint": 90.6, "bone": 92.7, "jm": 89.4, "bm": 90.3},
    ("ctrgcn", 120, "3d"): {"joint": 84.0, "bone": 85.9, "jm": 81.1, "bm": 82.2},
    ("ctrgcn", 120, "2d"): {"joint": 82.2, "bone": 84.6, "jm": 82.3, "bm": 82.1},
}
_CONFIG_PREFIX = {"stgcn": "stgcn_pyskl", "stgcnpp": "stgcnpp", "ctrgcn": "ctrgcn"}
_MODEL_ONLY_2D = {
    ("stgcn", 60): "stgcn_pyskl_ntu60_xsub_hrnet2d_joint.py",
    ("stgcn", 120): "stgcn_pyskl_ntu120_xsub_hrnet2d.py",
    ("stgcnpp", 60): "stgcnpp_ntu60_xsub_hrnet2d.py",
    ("stgcnpp", 120): "stgcnpp_ntu120_xsub_hrnet2d.py",
    ("ctrgcn", 60): "ctrgcn_ntu60_xsub_hrnet2d_joint.py",
    ("ctrgcn", 120): "ctrgcn_ntu120_xsub_hrnet2d.py",
}


def _stream_entries() -> tuple[ModelEntry, ...]:
    out = []
    for (arch, classes, dim), rows in _MMACTION2_TABLE.items():
        for stream, (stamp, top1) in rows.items():
            config = _stream_config(f"{_CONFIG_PREFIX[arch]}_ntu{classes}_xsub", dim, stream,
                                    _MODEL_ONLY_2D[arch, classes])
            out.append(_mmaction2_stream(arch, classes, dim, stream, stamp, top1, config))
    for (arch, classes, dim), rows in _PYSKL_TABLE.items():
        for stream, top1 in rows.items():
            config = _stream_config(f"{_CONFIG_PREFIX[arch]}_ntu{classes}_xsub", dim, stream,
                                    _MODEL_ONLY_2D[arch, classes])
            out.append(_pyskl_stream(arch, classes, dim, stream, top1, config))
    return tuple(out)


_ENTRIES = _ENTRIES + _stream_entries()

MODEL_INDEX: dict[str, ModelEntry] = {entry.name: entry for entry in _ENTRIES}


def register_entry(entry: ModelEntry, overwrite: bool = False) -> None:
    """Add a checkpoint to the index (e.g. a private one); refuses to replace silently."""
    if entry.name in MODEL_INDEX and not overwrite:
        raise KeyError(f"index entry {entry.name!r} exists; pass overwrite=True to replace it")
    MODEL_INDEX[entry.name] = entry


def get_entry(name: str) -> ModelEntry:
    """The entry called ``name``; a ``KeyError`` suggests close names."""
    try:
        return MODEL_INDEX[name]
    except KeyError:
        close = difflib.get_close_matches(name, MODEL_INDEX, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `zoo list`"
        raise KeyError(f"no pretrained model called {name!r} in the zoo index{hint}") from None


def list_entries(pattern: str | None = None) -> list[ModelEntry]:
    """Entries whose name matches ``pattern`` (shell wildcards, or a plain substring)."""
    entries = sorted(MODEL_INDEX.values(), key=lambda e: e.name)
    if not pattern:
        return entries
    if not any(ch in pattern for ch in "*?["):
        return [e for e in entries if pattern in e.name]
    return [e for e in entries if fnmatch.fnmatchcase(e.name, pattern)]
