"""Synthetic videos made from scikit-image's astronaut photo (a real person) for the pose
tests: known per-frame translations, two pasted copies, blank frames."""
from __future__ import annotations

import numpy as np
import pytest

PERSON = 192  # side of the pasted photo, pixels
CANVAS = (288, 448)  # h, w
TOP = 48


@pytest.fixture(scope="session")
def person() -> np.ndarray:
    skimage = pytest.importorskip("skimage")
    from skimage.transform import resize

    photo = skimage.data.astronaut()
    return (resize(photo, (PERSON, PERSON), anti_aliasing=True) * 255).astype(np.uint8)


def paste(person: np.ndarray, positions: list[tuple[int, int]], canvas=CANVAS) -> np.ndarray:
    """A grey frame with the photo's top-left corner at each ``(x, y)``."""
    frame = np.full((*canvas, 3), 90, np.uint8)
    for x, y in positions:
        frame[y:y + PERSON, x:x + PERSON] = person
    return frame


def moving_frames(person, steps: int, start=(40, TOP), step=(6, 2)) -> tuple[list, np.ndarray]:
    """Frames of one person translated by ``step`` per frame, and the offsets ``[T, 2]``."""
    offsets = np.array([[k * step[0], k * step[1]] for k in range(steps)])
    frames = [paste(person, [(start[0] + dx, start[1] + dy)]) for dx, dy in offsets]
    return frames, offsets


@pytest.fixture(scope="session")
def mediapipe():
    """The mediapipe package (part of the dev group; installed by `uv sync --locked`)."""
    return pytest.importorskip("mediapipe", reason="mediapipe (the zoo's pose extra) is not "
                                                   "installed for this Python")
