"""Rendering meshes to images with VTK (through PyVista), off screen, with no display needed.

Views are (azimuth, elevation) in degrees around the object, which sits at the origin with z up;
the camera looks at the origin from a fixed distance, so sizes stay comparable between objects.
``EVAL_VIEWS`` are the six views MinD-3D scores (the Zero123++ v1.2 layout: azimuth 30..330,
elevation +20/-10 alternating); ``turntable`` gives the frames of a rotating object as
fMRI-Shape's stimuli show it.
"""

from __future__ import annotations

import numpy as np

EVAL_VIEWS = tuple(zip((30, 90, 150, 210, 270, 330), (20, -10, 20, -10, 20, -10)))
CAMERA_DISTANCE = 1.7   # the cube [-0.45, 0.45]^3 fills the 30-degree view
BACKGROUND = (1.0, 1.0, 1.0)   # white, as fMRI-Shape's stimuli and MinD-3D's renders


def turntable(n_frames: int, elevation: float = 20.0) -> list[tuple[float, float]]:
    """``n_frames`` views evenly around the object at one elevation, starting at azimuth 0."""
    return [(360.0 * k / n_frames, elevation) for k in range(n_frames)]


def _load_triton_first() -> None:
    """Load triton (which torch imports lazily, e.g. on its first optimiser step) before VTK renders.
    Off screen on a CPU, VTK renders through Mesa's llvmpipe, which loads the system's LLVM; triton
    bundles another LLVM, and loading it after that one crashes the process (seen with torch 2.15,
    VTK 9.7). Loaded first, both work."""
    import importlib.util

    if importlib.util.find_spec("triton") is not None:   # installed with torch's CUDA wheels; not ours to list
        importlib.import_module("triton")


class Renderer:
    """An off-screen VTK render window reused for many meshes (creating one costs about a second)."""

    def __init__(self, size: int):
        _load_triton_first()
        import pyvista

        self.size = size
        self.plotter = pyvista.Plotter(off_screen=True, window_size=(size, size))
        self.plotter.set_background(BACKGROUND)

    def render(self, mesh, views, rgb=None) -> np.ndarray:
        """The mesh seen from each (azimuth, elevation) view: uint8 (views, size, size, 3). Its
        colour is ``rgb`` (floats in [0, 1]) or else its first vertex colour."""
        import pyvista

        faces = np.hstack([np.full((len(mesh.faces), 1), 3), mesh.faces]).ravel()
        surface = pyvista.PolyData(np.asarray(mesh.vertices, dtype=np.float64), faces)
        if rgb is None:
            colours = getattr(mesh.visual, "vertex_colors", None)
            rgb = (np.asarray(colours[0][:3]) / 255.0) if colours is not None and len(colours) else (0.7, 0.7, 0.7)
        self.plotter.clear_actors()
        self.plotter.add_mesh(surface, color=tuple(float(c) for c in rgb), smooth_shading=True)
        camera = self.plotter.camera
        images = []
        for azimuth, elevation in views:
            a, e = np.radians(azimuth), np.radians(elevation)
            camera.focal_point = (0.0, 0.0, 0.0)
            camera.position = tuple(CAMERA_DISTANCE * np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)]))
            camera.up = (0.0, 0.0, 1.0)
            camera.view_angle = 30.0
            self.plotter.reset_camera_clipping_range()
            self.plotter.render()
            images.append(self.plotter.screenshot(return_img=True)[..., :3])
        return np.stack(images).astype(np.uint8)

    def close(self) -> None:
        self.plotter.close()

    def __enter__(self) -> "Renderer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
