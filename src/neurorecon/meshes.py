"""Meshes: surfaces from SDF grids, files, and the normalisation and sampling MinD-3D's metrics use.

Surfaces come from scikit-image's marching cubes; meshes are trimesh objects, written as PLY (with
vertex colours) or GLB. MinD-3D's evaluation (tools/get_cd.py) centres a mesh on its centre of
mass, rotates it onto its principal axes, samples surface points and scales them into a sphere of
radius 0.5 (``pc_norm``); ``normalised_points`` does the same, with the principal axes' signs fixed
by the third moment so that a shape and its copy align identically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neurorecon.artifacts import atomic_path

MESH_SUFFIXES = (".ply", ".obj", ".glb", ".off", ".stl")


class EmptyMeshError(ValueError):
    """A generator's field has no surface (no zero crossing), so there is no mesh to write."""


def mesh_from_sdf(sdf: np.ndarray, extent: float, rgb=None, name: str = "object"):
    """The zero level set of an SDF grid (R, R, R) over [-extent, extent]^3 as a trimesh mesh, with
    ``rgb`` (floats in [0, 1]) as every vertex's colour. Raises EmptyMeshError when the grid has no
    zero crossing, naming ``name``."""
    import trimesh
    from skimage.measure import marching_cubes

    if not np.isfinite(sdf).all():
        raise EmptyMeshError(f"{name}: the signed distance grid has non-finite values")
    if sdf.min() >= 0 or sdf.max() <= 0:
        inside = "inside" if sdf.max() <= 0 else "outside"
        raise EmptyMeshError(f"{name}: the generated field has no surface (every grid point is {inside} the "
                             f"object; SDF range {sdf.min():.3f}..{sdf.max():.3f})")
    step = 2 * extent / (sdf.shape[0] - 1)
    verts, faces, _, _ = marching_cubes(sdf, level=0.0, spacing=(step, step, step))
    mesh = trimesh.Trimesh(verts - extent, faces, process=True)
    if rgb is not None:
        colour = np.clip(np.round(np.asarray(rgb, dtype=float) * 255), 0, 255).astype(np.uint8)
        mesh.visual.vertex_colors = np.tile(np.append(colour, 255), (len(mesh.vertices), 1))
    return mesh


def save_mesh(mesh, path: str | Path) -> None:
    """Write a mesh atomically; the format follows the suffix (.ply or .glb)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        data = mesh.export(file_type=path.suffix.lstrip("."))
        tmp.write_bytes(data if isinstance(data, bytes) else data.encode())


def load_mesh(path: str | Path):
    """A mesh file as one trimesh mesh (a scene's parts are concatenated), with a clear error for a
    file that is not a mesh or has no faces."""
    import trimesh

    path = Path(path)
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise ValueError(f"{path}: not a mesh file; expected one of {', '.join(MESH_SUFFIXES)}")
    try:
        loaded = trimesh.load(path, process=False)
    except Exception as exc:  # trimesh raises many kinds for unreadable files
        raise ValueError(f"{path}: cannot be read as a mesh ({exc})") from exc
    mesh = loaded.to_geometry() if isinstance(loaded, trimesh.Scene) else loaded
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        raise ValueError(f"{path}: holds no triangles")
    return mesh


def truth_mesh(folder: Path, uid: str):
    """An object's ground-truth mesh, ``<folder>/<uid>.<ply|obj|glb|off|stl>``."""
    for suffix in MESH_SUFFIXES:
        path = Path(folder) / f"{uid}{suffix}"
        if path.is_file():
            return load_mesh(path)
    raise FileNotFoundError(f"{folder}: no mesh for object {uid} ({uid}.ply, .obj, .glb, .off or .stl)")


def principal_frame(points: np.ndarray) -> np.ndarray:
    """Rotation (3, 3) onto the points' principal axes (largest variance first), each axis's sign
    chosen so that the points' third moment along it is positive (the axes' signs are otherwise arbitrary)."""
    centred = points - points.mean(axis=0)
    _, vectors = np.linalg.eigh(np.cov(centred.T))
    vectors = vectors[:, ::-1]
    skew = ((centred @ vectors) ** 3).mean(axis=0)
    vectors = vectors * np.where(skew < 0, -1.0, 1.0)
    return vectors


def pc_norm(points: np.ndarray) -> np.ndarray:
    """MinD-3D's ``pc_norm``: centre on the centroid, divide by twice the largest radius (so the points
    lie in a sphere of radius 0.5)."""
    centred = points - points.mean(axis=0)
    radius = np.linalg.norm(centred, axis=1).max()
    return centred / (2 * radius) if radius > 0 else centred


def normalised_points(mesh, count: int = 2048, seed: int = 0, align: bool = True) -> np.ndarray:
    """MinD-3D's evaluation points: the mesh centred on its centre of mass and (``align``) rotated onto
    its principal axes, ``count`` surface points sampled (fixed seed), scaled into a radius-0.5 sphere."""
    import trimesh

    centred = mesh.copy()
    centred.apply_translation(-_centre_of_mass(mesh))
    points, _ = trimesh.sample.sample_surface(centred, count, seed=seed)
    if align:
        points = points @ principal_frame(points)
    return pc_norm(np.asarray(points, dtype=np.float64))


def _centre_of_mass(mesh) -> np.ndarray:
    """The volume's centre of mass for a closed mesh, else the area-weighted surface centroid."""
    if mesh.is_watertight and abs(mesh.volume) > 1e-12:
        return np.asarray(mesh.center_mass)
    return np.asarray(mesh.triangles_center.T @ mesh.area_faces / mesh.area)


def voxel_occupancy(mesh, resolution: int = 32, extent: float = 0.5) -> np.ndarray:
    """Which cells of a resolution^3 grid over [-extent, extent]^3 have their centre inside a closed
    mesh, bool (R, R, R): along each column of cell centres (a ray in z) the surface is crossed an
    odd number of times below an inside centre (ray parity; every triangle is tested only against
    the columns under its bounding box)."""
    triangles = np.asarray(mesh.triangles, dtype=np.float64)                  # (T, 3 corners, xyz)
    grid = lambda values: (values + extent) / (2 * extent) * resolution - 0.5  # noqa: E731  cell-centre units
    low = np.clip(np.ceil(grid(triangles[:, :, :2].min(axis=1))), 0, resolution).astype(int)
    high = np.clip(np.floor(grid(triangles[:, :, :2].max(axis=1))), -1, resolution - 1).astype(int)
    span = np.maximum(high - low + 1, 0)                                      # columns under each triangle, x and y
    per_triangle = span[:, 0] * span[:, 1]
    owner = np.repeat(np.arange(len(triangles)), per_triangle)
    offset = np.arange(len(owner)) - np.repeat(np.cumsum(per_triangle) - per_triangle, per_triangle)
    i = low[owner, 0] + offset // np.maximum(span[owner, 1], 1)
    j = low[owner, 1] + offset % np.maximum(span[owner, 1], 1)
    centres = (np.stack([i, j], axis=1) + 0.5) / resolution * 2 * extent - extent
    a, b, c = triangles[owner, 0], triangles[owner, 1], triangles[owner, 2]
    e1, e2, d = b[:, :2] - a[:, :2], c[:, :2] - a[:, :2], centres - a[:, :2]
    det = e1[:, 0] * e2[:, 1] - e2[:, 0] * e1[:, 1]
    valid = np.abs(det) > 1e-15
    det = np.where(valid, det, 1.0)
    u = (d[:, 0] * e2[:, 1] - e2[:, 0] * d[:, 1]) / det
    v = (e1[:, 0] * d[:, 1] - d[:, 0] * e1[:, 1]) / det
    hit = valid & (u >= 0) & (v >= 0) & (u + v < 1)
    z = a[:, 2] + u * (b[:, 2] - a[:, 2]) + v * (c[:, 2] - a[:, 2])
    first_above = np.clip(np.floor(grid(z[hit])).astype(int) + 1, 0, resolution)  # first centre above the crossing
    crossings = np.zeros((resolution, resolution, resolution + 1), dtype=np.int64)
    np.add.at(crossings, (i[hit], j[hit], first_above), 1)
    return (np.cumsum(crossings, axis=2)[:, :, :resolution] % 2) == 1


def normalised_mesh(mesh, align: bool = True):
    """The mesh moved and scaled as ``normalised_points`` moves its points (centre of mass at the
    origin, principal axes, within a radius-0.5 sphere), for voxel IoU and rendering side by side."""
    import trimesh

    moved = mesh.copy()
    moved.apply_translation(-_centre_of_mass(mesh))
    points, _ = trimesh.sample.sample_surface(moved, 2048, seed=0)
    rotation = principal_frame(points) if align else np.eye(3)
    vertices = moved.vertices @ rotation
    sampled = points @ rotation
    centre = sampled.mean(axis=0)
    radius = np.linalg.norm(sampled - centre, axis=1).max()
    return trimesh.Trimesh((vertices - centre) / (2 * radius), moved.faces, process=False)


def cell_extent(resolution: int, extent: float = 0.5) -> float:
    """Where the outermost cell centres of a resolution^3 grid over [-extent, extent]^3 lie."""
    return extent - extent / resolution


def placed_in_cube(mesh, half_extent: float = 0.45):
    """The mesh with its bounding box centred at the origin and its longest half side ``half_extent``
    (how meshes from any source are placed before their SDF grid is taken)."""
    low, high = mesh.bounds
    placed = mesh.copy()
    placed.apply_translation(-(low + high) / 2)
    placed.apply_scale(half_extent / max((high - low).max() / 2, 1e-12))
    return placed


def mesh_sdf_grid(mesh, resolution: int = 32) -> np.ndarray:
    """A signed distance grid (R, R, R) of a mesh placed in the cube: the mesh is voxelised
    (surface and filled inside) and each cell centre's distance to the nearest cell of the other
    side is measured with a Euclidean distance transform, in the cube's units (negative inside)."""
    from scipy.ndimage import distance_transform_edt

    occupied = voxel_occupancy(placed_in_cube(mesh), resolution)
    pitch = 1.0 / resolution
    outside = distance_transform_edt(~occupied) - 0.5
    inside = distance_transform_edt(occupied) - 0.5
    return (np.where(occupied, -inside, outside) * pitch).astype(np.float32)
