"""Edits of a config's data pipeline that several tools make (one place, one behaviour)."""
from __future__ import annotations

from collections.abc import MutableSequence

_CLIP_SAMPLERS = ("UniformSampleFrames", "zoo.UniformSampleFrames")


def set_test_clips(pipeline: MutableSequence[dict], num_clips: int, source: str = "config",
                   required: bool = False) -> int:
    """Make every ``UniformSampleFrames`` step of ``pipeline`` draw ``num_clips`` test clips
    (``test_mode=True``: evenly spaced, no randomness); returns how many steps it changed.

    With ``required``, a pipeline without such a step is an error naming ``source`` and the
    steps it has (an option such as ``--num-clips`` must not be ignored silently).
    """
    if not isinstance(num_clips, int) or isinstance(num_clips, bool) or num_clips < 1:
        raise ValueError(f"{source}: the number of test clips must be a positive integer, "
                         f"got {num_clips!r}")
    changed = 0
    for step in pipeline:
        if isinstance(step, dict) and step.get("type") in _CLIP_SAMPLERS:
            step["num_clips"], step["test_mode"] = num_clips, True
            changed += 1
    if required and not changed:
        types = [step.get("type") for step in pipeline if isinstance(step, dict)]
        raise ValueError(f"{source}: the test pipeline has no UniformSampleFrames step to set "
                         f"the number of clips on (its steps: {types})")
    return changed
