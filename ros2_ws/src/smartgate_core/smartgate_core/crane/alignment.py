"""The fine-positioning hook: before the final lowering onto a vehicle's deck (or onto a box to pick it)
the cycle stops above the target and asks an alignment provider where the target is relative to the
spreader. A provider is any callable taking an AlignmentRequest and returning an Alignment; the vision
estimator (crane/vision.py) is one. Without a provider the cycle trusts the nominal target ("blind").
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from .layout import CameraSpec, Pose2D


@dataclass(frozen=True)
class AlignmentRequest:
    t_s: float
    frame: str                    # whose fiducials mark the target: 'deck' or a container id
    target: Pose2D                # the target in that frame (the deck: where the box's bottom centre goes;
                                  # a box: its own frame's origin, under the roof's centre)
    frames: dict                  # camera name -> CameraFrame (images of the spreader cameras)
    spreader_length_m: float      # telescope setting (the cameras' mounting follows it)


@dataclass(frozen=True)
class Alignment:
    """The target relative to the spreader: its position in the spreader frame (x along the spreader,
    y to its left, origin at the twistlock plane's centre) and its heading minus the spreader's."""

    ok: bool
    dx_m: float = 0.0
    dy_m: float = 0.0
    skew_rad: float = 0.0
    reason: str = ''              # why not, when not ok (marker occluded, glare, bad frame, ...)


class AlignmentProvider(Protocol):
    def __call__(self, request: AlignmentRequest) -> Alignment: ...


class VisionAlignment:
    """The hook served by crane.vision's fiducial estimator: the bay's marker layout (physics.fiducials,
    grouped by frame) and the spreader cameras (their mounting follows the telescope) turned into its
    TargetLayout and SpreaderCamera; its refusals come back with their reason."""

    def __init__(self, fiducials, cameras: tuple[CameraSpec, ...], params=None):
        from .vision import MarkerPlacement, SpreaderVisionParams, TargetLayout
        frames = sorted({f.frame for f in fiducials})
        self.layouts = {frame: TargetLayout(frame, tuple(MarkerPlacement(f.marker_id, f.size_m, f.x_m, f.y_m, f.yaw_rad)
                                                         for f in fiducials if f.frame == frame))
                        for frame in frames}
        self.cameras, self.params = cameras, params or SpreaderVisionParams()

    def __call__(self, request: AlignmentRequest) -> Alignment:
        from .vision import SpreaderCamera, SpreaderVision
        cameras = [SpreaderCamera(c.name, c.position_in_spreader(request.spreader_length_m),
                                  fovy_deg=math.degrees(c.params.fovy_rad), width_px=c.params.width_px,
                                  height_px=c.params.height_px) for c in self.cameras]
        images = {name: frame.image for name, frame in request.frames.items()}
        pose = SpreaderVision(cameras, self.params).estimate(images, self.layouts[request.frame])
        if not pose.ok:
            return Alignment(False, reason=f'{pose.reason}: {pose.detail}')
        c, s = math.cos(pose.skew_rad), math.sin(pose.skew_rad)
        t = request.target                       # the target's point in the frame, seen from the spreader
        return Alignment(True, pose.dx_m + c * t.x_m - s * t.y_m, pose.dy_m + s * t.x_m + c * t.y_m, pose.skew_rad)
