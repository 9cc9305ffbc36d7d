"""Procedurally drawn image stimuli with captions and the features a synthetic brain sees.

A scene is one shape (category) of one colour and size at one position, over a textured,
tinted background. Its caption names all of these, so a CLIP model can learn them, and its
features (low-level opponent-colour maps, semantic one-hots) drive the synthetic voxels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

SHAPES = ("circle", "square", "triangle", "star", "cross", "ring")
COLOURS = {
    "red": (0.86, 0.16, 0.16),
    "green": (0.16, 0.67, 0.24),
    "blue": (0.16, 0.31, 0.86),
    "yellow": (0.92, 0.82, 0.16),
    "purple": (0.59, 0.24, 0.75),
    "orange": (0.94, 0.55, 0.12),
}
SIZES = {"small": 0.2, "large": 0.32}  # shape radius as a fraction of the image side
BACKGROUNDS = ("stripes", "checker", "dots", "noise")
ROWS = {"top": 0.3, "middle": 0.5, "bottom": 0.7}
COLUMNS = {"left": 0.3, "centre": 0.5, "right": 0.7}
LOWLEVEL_GRID = 8  # side of the opponent-colour map that early visual voxels see
SUPERSAMPLE = 2
SCENE_ATTRIBUTES = ("shape", "colour", "size", "row", "column", "background")   # what a caption names


@dataclass(frozen=True)
class Scene:
    """The parameters of one stimulus; drawing it is deterministic given these."""

    shape: str
    colour: str
    size: str
    row: str
    column: str
    background: str
    texture_seed: int
    tint: tuple[float, float, float]

    @property
    def caption(self) -> str:
        where = "centre" if (self.row, self.column) == ("middle", "centre") else f"{self.row} {self.column}"
        return f"a {self.size} {self.colour} {self.shape} at the {where} on a {self.background} background"

    def as_record(self) -> dict:
        record = asdict(self)
        record["tint"] = ",".join(f"{c:.3f}" for c in self.tint)
        record["caption"] = self.caption
        return record


def sample_scenes(n: int, rng: np.random.Generator) -> list[Scene]:
    """Draw ``n`` scenes with shapes and colours balanced (each appears n/6 times, shuffled)."""
    shapes = rng.permutation(np.resize(np.arange(len(SHAPES)), n))
    colours = rng.permutation(np.resize(np.arange(len(COLOURS)), n))
    colour_names = list(COLOURS)
    scenes = []
    for i in range(n):
        tint = tuple(float(v) for v in 0.35 + 0.3 * rng.random(3))
        scenes.append(Scene(
            shape=SHAPES[shapes[i]],
            colour=colour_names[colours[i]],
            size=str(rng.choice(list(SIZES))),
            row=str(rng.choice(list(ROWS))),
            column=str(rng.choice(list(COLUMNS))),
            background=str(rng.choice(BACKGROUNDS)),
            texture_seed=int(rng.integers(0, 2**31 - 1)),
            tint=tint,
        ))
    return scenes


def sample_shape_variant_groups(n: int, group: int, rng: np.random.Generator) -> list[Scene]:
    """``n`` scenes in consecutive groups of ``group`` that differ only in shape (same colour, size,
    place and background texture); the last group may be cut short.

    Trained as hard negatives in one contrastive minibatch, such groups make a small CLIP model tell
    shapes apart, which it otherwise neglects: colour, place and background already separate most
    captions in a random batch.
    """
    if not 1 <= group <= len(SHAPES):
        raise ValueError(f"a shape-variant group holds 1 to {len(SHAPES)} scenes, got {group}")
    scenes = []
    for base in sample_scenes(-(-n // group), rng):
        others = [shape for shape in SHAPES if shape != base.shape]
        picks = rng.choice(len(others), group - 1, replace=False)
        scenes += [base] + [replace(base, shape=others[k]) for k in picks]
    return scenes[:n]


def _shape_mask(shape: str, dx: np.ndarray, dy: np.ndarray, radius: float) -> np.ndarray:
    r = np.hypot(dx, dy)
    if shape == "circle":
        return r < radius
    if shape == "square":
        return np.maximum(np.abs(dx), np.abs(dy)) < 0.82 * radius
    if shape == "triangle":  # upward, vertices on the circle of the given radius
        y = dy / radius
        x = dx / radius
        return (y < 0.5) & (y > -1.0 + 1.732 * np.abs(x))
    if shape == "star":
        theta = np.arctan2(dy, dx) + np.pi / 2
        edge = radius * (0.5 + 0.5 * np.abs(np.cos(2.5 * theta)) ** 2)
        return r < edge
    if shape == "cross":
        arm = radius / 3
        return ((np.abs(dx) < arm) & (np.abs(dy) < radius)) | ((np.abs(dy) < arm) & (np.abs(dx) < radius))
    if shape == "ring":
        return (r < radius) & (r > 0.55 * radius)
    raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")


def _texture(kind: str, xx: np.ndarray, yy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A zero-mean luminance pattern in [-1, 1]."""
    if kind == "stripes":
        angle = rng.uniform(0, np.pi)
        freq = rng.uniform(4, 8)
        return np.sin(2 * np.pi * freq * (xx * np.cos(angle) + yy * np.sin(angle)))
    if kind == "checker":
        freq = rng.uniform(3, 6)
        return np.sign(np.sin(2 * np.pi * freq * xx) * np.sin(2 * np.pi * freq * yy))
    if kind == "dots":
        freq = rng.uniform(5, 8)
        phase = rng.uniform(0, 1, size=2)
        fx = (xx * freq + phase[0]) % 1 - 0.5
        fy = (yy * freq + phase[1]) % 1 - 0.5
        return np.where(np.hypot(fx, fy) < 0.22, 1.0, -0.3)
    if kind == "noise":
        from scipy.ndimage import gaussian_filter

        noise = gaussian_filter(rng.standard_normal(xx.shape), sigma=xx.shape[0] / 40)
        return np.clip(noise / (3 * noise.std() + 1e-8), -1, 1)
    raise ValueError(f"unknown background {kind!r}; expected one of {BACKGROUNDS}")


def _pixel_grid(side: int) -> tuple[np.ndarray, np.ndarray]:
    coords = (np.arange(side) + 0.5) / side
    return np.meshgrid(coords, coords)


def silhouette(scene: Scene, side: int, offset: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Boolean (side, side) mask of the pixels the scene's shape covers (pixel centres)."""
    xx, yy = _pixel_grid(side)
    return _shape_mask(scene.shape, xx - COLUMNS[scene.column] - offset[0], yy - ROWS[scene.row] - offset[1],
                       SIZES[scene.size])


def draw_scene(scene: Scene, resolution: int, offset: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Render a scene as an (H, W, 3) uint8 RGB image, anti-aliased by supersampling; ``offset``
    (x, y, fractions of the side) moves the shape from its place, as the frames of a clip do."""
    side = resolution * SUPERSAMPLE
    xx, yy = _pixel_grid(side)
    rng = np.random.default_rng(scene.texture_seed)
    pattern = _texture(scene.background, xx, yy, rng)
    tint = np.asarray(scene.tint)
    image = tint[None, None, :] * (1.0 + 0.35 * pattern[..., None])
    mask = silhouette(scene, side, offset)
    image = np.where(mask[..., None], np.asarray(COLOURS[scene.colour])[None, None, :], image)
    image = image.reshape(resolution, SUPERSAMPLE, resolution, SUPERSAMPLE, 3).mean(axis=(1, 3))
    return np.clip(np.round(image * 255), 0, 255).astype(np.uint8)


def lowlevel_features(images: np.ndarray, grid: int = LOWLEVEL_GRID) -> np.ndarray:
    """Opponent-colour maps (luminance, red-green, blue-yellow) pooled to ``grid x grid``.

    Returns (n, grid, grid, 3), zero at mid-grey: what retinotopic early-visual voxels sample.
    """
    images = np.asarray(images, dtype=np.float64) / 255.0
    n, height, width, _ = images.shape
    if height % grid or width % grid:
        raise ValueError(f"image side {height}x{width} must be a multiple of the feature grid {grid}")
    r, g, b = images[..., 0], images[..., 1], images[..., 2]
    opponent = np.stack([(r + g + b) / 3 - 0.5, r - g, b - (r + g) / 2], axis=-1)
    return opponent.reshape(n, grid, height // grid, grid, width // grid, 3).mean(axis=(2, 4))


def retinotopic_weights(n_voxels: int, grid: int, rng: np.random.Generator, sigma: float = 1.2) -> np.ndarray:
    """Early-visual voxels' weights on flattened ``lowlevel_features`` (voxels x grid*grid*3): a
    Gaussian receptive field (``sigma`` cells) at a random place times random opponent-colour gains."""
    centres = rng.uniform(0, grid, (n_voxels, 2))
    cells = np.stack(np.meshgrid(np.arange(grid) + 0.5, np.arange(grid) + 0.5, indexing="ij"), -1).reshape(-1, 2)
    fields = np.exp(-((cells[None] - centres[:, None]) ** 2).sum(-1) / (2 * sigma ** 2))       # voxels x cells
    channels = rng.normal(0, 1, (n_voxels, 3))
    return (fields[:, :, None] * channels[:, None, :]).reshape(n_voxels, -1)


def semantic_features(scenes: list[Scene]) -> np.ndarray:
    """One-hot shape, colour and background, plus size and position: (n, 19)."""
    colour_names = list(COLOURS)
    rows = []
    for scene in scenes:
        shape = np.eye(len(SHAPES))[SHAPES.index(scene.shape)]
        colour = np.eye(len(COLOURS))[colour_names.index(scene.colour)]
        background = np.eye(len(BACKGROUNDS))[BACKGROUNDS.index(scene.background)]
        layout = [SIZES[scene.size] / SIZES["large"], COLUMNS[scene.column], ROWS[scene.row]]
        rows.append(np.concatenate([shape, colour, background, layout]))
    return np.asarray(rows)
