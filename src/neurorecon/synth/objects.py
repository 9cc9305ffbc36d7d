"""Procedural 3D objects: unions of analytic solids with a signed distance function (SDF).

An object is one of eight categories (single solids and simple compositions, like ShapeNet's
categories in fMRI-Shape), in one of the scenes' colours, with its size and aspect (height over
width) varying. Its SDF is exact for each solid and a union (minimum) for compositions, so the
true surface is known to grid precision: the ground-truth mesh is its zero level set (marching
cubes on a fine grid), and the shape code the brain's shape population carries is built from the
same SDF sampled on a coarse grid. Coordinates: z up, the object centred in the cube [-0.5, 0.5]^3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurorecon.synth.scenes import COLOURS

# category -> a ShapeNet-style synset id (eight digits; 9xxxxxxx are not ShapeNet's)
CATEGORIES = {
    "box": "90000001",
    "ball": "90000002",
    "cylinder": "90000003",
    "cone": "90000004",
    "ring": "90000005",
    "table": "90000006",
    "mushroom": "90000007",
    "snowman": "90000008",
}
GRID_EXTENT = 0.5          # SDF grids span [-GRID_EXTENT, GRID_EXTENT]^3


def _box(p: np.ndarray, half: tuple[float, float, float], centre=(0.0, 0.0, 0.0)) -> np.ndarray:
    q = np.abs(p - np.asarray(centre)) - np.asarray(half)
    return np.linalg.norm(np.maximum(q, 0.0), axis=-1) + np.minimum(q.max(axis=-1), 0.0)


def _cylinder(p: np.ndarray, radius: float, half_height: float, centre=(0.0, 0.0, 0.0)) -> np.ndarray:
    q = p - np.asarray(centre)
    d = np.stack([np.linalg.norm(q[..., :2], axis=-1) - radius, np.abs(q[..., 2]) - half_height], axis=-1)
    return np.minimum(d.max(axis=-1), 0.0) + np.linalg.norm(np.maximum(d, 0.0), axis=-1)


def _ellipsoid(p: np.ndarray, radii: tuple[float, float, float], centre=(0.0, 0.0, 0.0)) -> np.ndarray:
    radii = np.asarray(radii)
    return (np.linalg.norm((p - np.asarray(centre)) / radii, axis=-1) - 1.0) * radii.min()


def _cone(p: np.ndarray, radius: float, half_height: float) -> np.ndarray:
    """A cone standing on its base (z = -half_height) with its apex at z = +half_height."""
    height = 2 * half_height
    slope = radius / height
    along = (half_height - p[..., 2]) * slope            # the cone's radius at this height
    side = (np.linalg.norm(p[..., :2], axis=-1) - along) / np.sqrt(1 + slope ** 2)
    return np.maximum(side, np.abs(p[..., 2]) - half_height)


def _torus(p: np.ndarray, major: float, minor: float) -> np.ndarray:
    ring = np.linalg.norm(p[..., :2], axis=-1) - major
    return np.sqrt(ring ** 2 + p[..., 2] ** 2) - minor


def category_sdf(category: str, p: np.ndarray) -> np.ndarray:
    """The SDF of a category's unit object (width about 0.6, height about 0.6) at points (..., 3)."""
    if category == "box":
        return _box(p, (0.28, 0.2, 0.28))
    if category == "ball":
        return _ellipsoid(p, (0.3, 0.3, 0.3))
    if category == "cylinder":
        return _cylinder(p, 0.22, 0.3)
    if category == "cone":
        return _cone(p, 0.3, 0.3)
    if category == "ring":
        return _torus(p, 0.22, 0.08)
    if category == "table":
        legs = [_cylinder(p, 0.035, 0.13, (sx * 0.22, sy * 0.14, -0.15)) for sx in (-1, 1) for sy in (-1, 1)]
        return np.minimum.reduce([_box(p, (0.3, 0.2, 0.04), (0.0, 0.0, 0.02)), *legs])
    if category == "mushroom":
        cap = np.maximum(_ellipsoid(p, (0.3, 0.3, 0.2), (0.0, 0.0, 0.05)), 0.05 - p[..., 2])
        return np.minimum(cap, _cylinder(p, 0.08, 0.17, (0.0, 0.0, -0.12)))
    if category == "snowman":
        return np.minimum(_ellipsoid(p, (0.19, 0.19, 0.19), (0.0, 0.0, -0.1)),
                          _ellipsoid(p, (0.13, 0.13, 0.13), (0.0, 0.0, 0.18)))
    raise ValueError(f"unknown object category {category!r}; expected one of {', '.join(CATEGORIES)}")


@dataclass(frozen=True)
class Object3D:
    """One synthetic object: drawing it (its SDF, mesh and views) is deterministic given these."""

    uid: str
    category: str
    colour: str
    size: float      # overall scale
    aspect: float    # height scale over width scale

    @property
    def synset(self) -> str:
        return CATEGORIES[self.category]

    @property
    def scale(self) -> np.ndarray:
        """Per-axis scale (x, y, z): the size, with the height stretched by the aspect."""
        width = self.size / np.sqrt(self.aspect)
        return np.array([width, width, self.size * np.sqrt(self.aspect)])

    @property
    def rgb(self) -> tuple[float, float, float]:
        return COLOURS[self.colour]

    @property
    def caption(self) -> str:
        build = "tall" if self.aspect > 1.15 else "flat" if self.aspect < 0.87 else "even"
        return f"a {'large' if self.size > 0.9 else 'small'} {build} {self.colour} {self.category}"

    def sdf(self, points: np.ndarray) -> np.ndarray:
        """Signed distance (negative inside) at points (..., 3); a scaled SDF's bound, exact on the surface."""
        return category_sdf(self.category, points / self.scale) * self.scale.min()

    def as_record(self) -> dict:
        return {"uid": self.uid, "synset": self.synset, "category": self.category, "colour": self.colour,
                "size": round(self.size, 4), "aspect": round(self.aspect, 4), "caption": self.caption}


def grid_points(resolution: int, extent: float = GRID_EXTENT) -> np.ndarray:
    """The centres of a resolution^3 grid over [-extent, extent]^3, (R, R, R, 3) indexed x, y, z."""
    axis = np.linspace(-extent, extent, resolution)
    return np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1)


def sdf_grid(obj: Object3D, resolution: int) -> np.ndarray:
    """The object's SDF sampled on a resolution^3 grid over the unit cube, float32."""
    return obj.sdf(grid_points(resolution)).astype(np.float32)


def sample_objects(n: int, rng: np.random.Generator, first_uid: int = 1) -> list[Object3D]:
    """``n`` objects with categories and colours balanced (shuffled), sizes in [0.75, 1.0] and
    aspects in [0.7, 1.4] (log-uniform)."""
    categories = rng.permutation(np.resize(np.arange(len(CATEGORIES)), n))
    colours = rng.permutation(np.resize(np.arange(len(COLOURS)), n))
    names, colour_names = list(CATEGORIES), list(COLOURS)
    sizes = rng.uniform(0.75, 1.0, n)
    aspects = np.exp(rng.uniform(np.log(0.7), np.log(1.4), n))
    return [Object3D(f"obj{first_uid + i:05d}", names[categories[i]], colour_names[colours[i]], float(sizes[i]),
                     float(aspects[i])) for i in range(n)]
