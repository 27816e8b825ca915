"""Reading and writing videos with PyAV (FFmpeg's libraries; its wheels bundle them): a core
module, used by pose extraction, the demo and the skeleton drawings."""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from zoo.fileio import atomic_path

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


class VideoReadError(RuntimeError):
    """A video cannot be opened or decoded; the message names the file."""


def _open(path: str | os.PathLike):
    import av

    path = Path(path)
    if not path.is_file():
        raise VideoReadError(f"{path}: no such video file")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise VideoReadError(f"{path}: not a readable video ({exc})") from None
    if not container.streams.video:
        container.close()
        raise VideoReadError(f"{path}: holds no video stream")
    return container


def video_info(path: str | os.PathLike) -> dict:
    """``fps``, ``frames`` (as the container declares it, 0 if unknown) and ``size``
    ``(height, width)`` of a video."""
    container = _open(path)
    try:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        return dict(fps=float(rate) if rate else 0.0, frames=int(stream.frames or 0),
                    size=(int(stream.height), int(stream.width)))
    finally:
        container.close()


def read_frames(path: str | os.PathLike, stride: int = 1) -> Iterator[np.ndarray]:
    """Decode the video's frames as RGB ``uint8 [H, W, 3]`` (every ``stride``-th one).

    Raises :class:`VideoReadError` naming the file when it cannot be opened or decoding
    fails part way.
    """
    import av

    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        index = 0
        try:
            for frame in container.decode(stream):
                if index % stride == 0:
                    yield frame.to_ndarray(format="rgb24")
                index += 1
        except (av.error.FFmpegError, ValueError) as exc:
            raise VideoReadError(f"{path}: decoding failed after {index} frames ({exc})") \
                from None
    finally:
        container.close()


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float = 25.0,
                codec: str = "libx264", crf: int = 23) -> int:
    """Encode RGB ``uint8 [H, W, 3]`` frames into ``path`` (MP4 unless the suffix says
    otherwise), written to a temporary sibling and renamed; returns the frame count.

    Odd frame sizes are padded by one pixel (H.264 with yuv420p needs even sizes). Falls back
    to the ``mpeg4`` codec when ``codec`` is not available in the PyAV build.
    """
    from fractions import Fraction

    import av

    path = Path(path)
    count = 0
    with atomic_path(path) as tmp:
        container = av.open(str(tmp), mode="w")
        try:
            stream = None
            for frame in frames:
                frame = np.ascontiguousarray(frame, dtype=np.uint8)
                h, w = frame.shape[:2]
                if stream is None:
                    name = codec if codec in av.codecs_available else "mpeg4"
                    stream = container.add_stream(name, rate=Fraction(fps).limit_denominator(1001))
                    stream.width, stream.height = w + w % 2, h + h % 2
                    stream.pix_fmt = "yuv420p"
                    if name == "libx264":
                        stream.options = {"crf": str(crf)}
                if (h + h % 2, w + w % 2) != (stream.height, stream.width):
                    raise ValueError(f"{path}: frame {count} is {w}x{h}, the video is "
                                     f"{stream.width}x{stream.height}")
                if h % 2 or w % 2:
                    frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)))
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
                count += 1
            if stream is None:
                raise ValueError(f"{path}: no frames to write")
            for packet in stream.encode():
                container.mux(packet)
        finally:
            container.close()
    return count
