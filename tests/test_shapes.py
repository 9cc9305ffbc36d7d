"""The 3D branch: procedural objects, meshes and MinD-3D's metrics against known answers, the
fMRI-Shape layout written and read back (with clear errors for bad files), and the tiny generator."""

from pathlib import Path

import numpy as np
import pytest

trimesh = pytest.importorskip("trimesh")

from neurorecon.decode.shape import fit_shape_decoders  # noqa: E402
from neurorecon.evaluate.shape import (  # noqa: E402
    chamfer_distance, earth_movers_distance, f_score, semantic_rows, voxel_iou,
)
from neurorecon.io.fmri_shape import load_subject, read_object_lists  # noqa: E402
from neurorecon.io.inputs import InputDataError  # noqa: E402
from neurorecon.meshes import (  # noqa: E402
    EmptyMeshError, mesh_from_sdf, mesh_sdf_grid, normalised_points, voxel_occupancy,
)
from neurorecon.reconstruct.shape import (  # noqa: E402
    ShapeBasis, load_tiny_shape_model, meshes_from_grids, train_tiny_shape_model,
)
from neurorecon.synth.objects import GRID_EXTENT, Object3D, sdf_grid  # noqa: E402

SMALL_WORLD = dict(seed=0, n_test_objects=8, n_train_objects=48, frames=8, image_size=32, flatmap_size=16,
                   shape_dim=8, latent_dim=8, signal_pct=2.0, noise_pct=[1.0, 1.0], ar_coef=0.4, objects_per_run=8,
                   n_subjects=1)


def sphere_points(radius: float, n: int, seed: int) -> np.ndarray:
    points = np.random.default_rng(seed).normal(size=(n, 3))
    return radius * points / np.linalg.norm(points, axis=1, keepdims=True)


def test_chamfer_distance_known_answers():
    cloud = sphere_points(1.0, 4000, 0)
    assert chamfer_distance(cloud, cloud) == 0.0
    # concentric spheres of radius 1 and 0.8: every nearest neighbour is 0.2 away, so CD = 2 * 0.2^2
    assert chamfer_distance(sphere_points(1.0, 20000, 1), sphere_points(0.8, 20000, 2)) == pytest.approx(0.08, rel=0.05)


def test_emd_and_fscore_known_answers():
    cloud = sphere_points(0.5, 256, 3)
    assert earth_movers_distance(cloud, cloud) == pytest.approx(0.0, abs=1e-12)
    # a rigid shift by t moves every point by |t|: the optimal transport is the shift itself
    assert earth_movers_distance(cloud, cloud + [0.03, 0.04, 0.0]) == pytest.approx(0.05, rel=1e-6)
    assert f_score(cloud, cloud, 0.01) == 1.0
    assert f_score(cloud, cloud + 10.0, 0.5) == 0.0


def test_voxel_iou_of_nested_cubes():
    outer = voxel_occupancy(trimesh.creation.box(extents=(0.5, 0.5, 0.5)), 32)
    inner = voxel_occupancy(trimesh.creation.box(extents=(0.25, 0.25, 0.25)), 32)
    assert voxel_iou(outer, outer) == 1.0
    assert voxel_iou(outer, inner) == pytest.approx(1 / 8, rel=0.02)


def test_normalised_points_ignore_pose_and_scale():
    """MinD-3D's normalisation (centre of mass, principal axes, radius 0.5) makes a moved, turned,
    scaled and mirrored copy of an object score as the object itself."""
    cone = mesh_from_sdf(sdf_grid(Object3D("a", "cone", "red", 0.9, 1.3), 40), GRID_EXTENT)
    moved = cone.copy()
    moved.apply_transform(trimesh.transformations.rotation_matrix(0.7, [0.3, 1.0, 0.2]))
    moved.apply_scale(2.5)
    moved.apply_translation([1.0, -2.0, 0.5])
    a, b = normalised_points(cone, 2048, seed=0), normalised_points(moved, 2048, seed=1)
    assert np.linalg.norm(a - a.mean(0), axis=1).max() == pytest.approx(0.5)
    other = normalised_points(mesh_from_sdf(sdf_grid(Object3D("b", "table", "red", 0.9, 1.0), 40), GRID_EXTENT))
    assert chamfer_distance(a, b) < 0.1 * chamfer_distance(a, other)


def test_empty_field_names_the_object():
    with pytest.raises(EmptyMeshError, match="obj7: .*no surface"):
        meshes_from_grids(np.ones((1, 16, 16, 16)), np.ones((1, 3)), ["obj7"])


def test_mesh_sdf_grid_matches_the_analytic_one():
    obj = Object3D("c", "ball", "blue", 1.0, 1.0)
    mesh = mesh_from_sdf(sdf_grid(obj, 48), GRID_EXTENT)
    grid = mesh_sdf_grid(mesh, 32)
    # the ball is placed with radius 0.45: cells well inside are negative, the corners positive
    assert grid[16, 16, 16] < -0.3 and grid[0, 0, 0] > 0.2
    assert abs(float((grid < 0).mean()) - 4 / 3 * np.pi * 0.45 ** 3) < 0.03


def test_semantic_identification_protocol():
    """MinD-3D's N-way: the true view's top-1 class, so identical views score 1 and chance is 1/N."""
    probs = np.random.default_rng(0).dirichlet(np.ones(48), size=(40, 6))
    rows = {row["metric"]: row for row in semantic_rows("semantic", probs, probs, None, num_trials=50)}
    assert rows["semantic_2way_top1"]["value"] == 1.0
    assert rows["semantic_10way_top1"]["value"] == 1.0
    assert rows["semantic_2way_top1"]["chance"] == pytest.approx(0.5, abs=0.08)
    assert rows["semantic_10way_top1"]["chance"] == pytest.approx(0.1, abs=0.06)


@pytest.fixture(scope="module")
def small_world(tmp_path_factory):
    from neurorecon.synth.shapes import write_shape_world

    root = tmp_path_factory.mktemp("shapes")
    write_shape_world(SMALL_WORLD, root)
    return root


def test_world_written_in_fmri_shape_layout(small_world):
    objects = read_object_lists(small_world)
    assert (objects["split"] == "test").sum() == 8 and (objects["split"] == "train").sum() == 48
    first = objects.iloc[0]
    frames = np.load(small_world / "sub-0001" / "npy_data" / first.synset / f"{first.uid}.npy")
    rois = np.load(small_world / "derivatives" / "groundtruth" / "flatmap_rois.npy")
    assert frames.shape == (8, 16, 16) and frames.dtype == np.float32
    assert np.all(frames[:, rois == 0] == 0) and np.all(frames[:, rois > 0] != 0)
    assert sorted(p.name for p in (small_world / "views" / first.uid).iterdir()) == [f"{k}.png" for k in range(6)]
    assert (small_world / "derivatives" / "groundtruth" / "meshes" / f"{first.uid}.ply").is_file()


def test_region_analysis_finds_the_shape_region(small_world):
    """The known answer: the shape code is carried by LOC. Refitted on LOC alone the decoder keeps
    its accuracy; with LOC left out it loses most of it, more than with any other region left out."""
    from neurorecon.evaluate.regions import per_item_scorers, region_rows

    objects = read_object_lists(small_world)
    rois = np.load(small_world / "derivatives" / "groundtruth" / "flatmap_rois.npy")
    responses = load_subject(small_world, 1, objects, [2, 3, 4, 5, 6, 7], rois, {1: "EVC", 2: "LOC", 3: "HVC"})
    with np.load(small_world / "derivatives" / "groundtruth" / "sub-0001_groundtruth.npz") as truth:
        code = truth["shape_code"]
    train = (objects["split"] == "train").to_numpy()
    x_train, _ = responses.select("train")
    x_test, _ = responses.select("test")
    rows = region_rows(x_train, {"shape": code[train]}, x_test, {"shape": code[~train]}, responses.roi,
                       responses.roi_names, per_item_scorers(["shape"]), [1, 10, 100, 1000]).set_index(["region", "mode"])
    assert rows.loc[("all", "all"), "value"] > 0.7
    assert rows.loc[("LOC", "alone"), "change"] > -0.1
    left_out = rows.xs("left_out", level="mode")["change"]
    assert left_out.idxmin() == "LOC" and left_out["LOC"] < -0.2
    assert left_out["LOC"] + 3 * rows.loc[("LOC", "left_out"), "se"] < 0      # beyond its uncertainty


@pytest.mark.parametrize("problem, message", [
    ("bad_line", "line 1 is 'not a path'"),
    ("two_dims", "expected float \\(frames, H, W\\)"),
    ("few_frames", "has 3 frames"),
    ("pickled", "cannot be read as a .npy array"),
])
def test_bad_fmri_shape_files_are_named(tmp_path, problem, message):
    (tmp_path / "core_train_list.txt").write_text("90000001/a.npy\n")
    (tmp_path / "core_test_list.txt").write_text("not a path\n" if problem == "bad_line" else "90000001/b.npy\n")
    folder = tmp_path / "sub-0001" / "npy_data" / "90000001"
    folder.mkdir(parents=True)
    good = np.ones((10, 4, 4), np.float32)
    bad = {"two_dims": np.ones((4, 4), np.float32), "few_frames": np.ones((3, 4, 4), np.float32),
           "pickled": np.array([{"x": 1}], dtype=object)}.get(problem, good)
    np.save(folder / "a.npy", good)
    np.save(folder / "b.npy", bad, allow_pickle=True)
    with pytest.raises(InputDataError, match=message):
        load_subject(tmp_path, 1, read_object_lists(tmp_path), [2, 3, 4, 5, 6, 7])


def test_tiny_generator_trains_saves_and_reloads(tmp_path):
    """Trained briefly on a few objects' true grids, it reproduces them better than the mean shape,
    and a saved model reloads to identical output."""
    objects = [Object3D(f"o{i}", category, "red", 0.9, aspect) for i, (category, aspect) in
               enumerate([(c, a) for c in ("box", "ball", "cone", "table") for a in (0.8, 1.2)])]
    grids = np.stack([np.clip(sdf_grid(obj, 16), -0.1, 0.1) for obj in objects])
    embeddings = np.random.default_rng(0).normal(size=(len(objects), 4))
    cfg = dict(seed=0, shape_dim=4, channels=[16, 8], condition_noise=0.0, ema_decay=0.5, learning_rate=0.01,
               epochs=60, batch_size=8)
    model, history = train_tiny_shape_model(embeddings, grids, cfg)
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]
    generated = model.sdf(embeddings, model.basis.encode(grids))
    assert np.abs(generated - grids).mean() < np.abs(grids.mean(0) - grids).mean()
    model.save(tmp_path / "shape", cfg)
    again = load_tiny_shape_model(tmp_path / "shape")
    assert np.array_equal(again.sdf(embeddings, model.basis.encode(grids)), generated)


def test_shape_basis_round_trip():
    grids = np.random.default_rng(1).normal(size=(20, 8, 8, 8))
    basis = ShapeBasis.fit(grids, 19)
    assert np.allclose(basis.decode(basis.encode(grids)), grids, atol=1e-5)   # float32-rounded, as saved
    assert np.allclose(basis.encode(grids).std(axis=0), 1.0, atol=1e-5)


def test_object_files_are_read_in_place(small_world):
    objects = read_object_lists(small_world)
    responses = load_subject(Path(small_world), 1, objects, [2, 3])
    assert responses.values.shape[0] == len(objects)
    assert responses.values.shape[1] == int((np.load(small_world / "derivatives" / "groundtruth" /
                                                     "flatmap_rois.npy") > 0).sum())


def test_shap_e_route_loads_offline_and_reports_an_empty_mesh(tmp_path):
    """diffusers' ShapEImg2ImgPipeline assembled from tiny parts, saved, loaded back offline and run
    with output_type="mesh": its random field has no surface, which must read as a clear error
    naming the object, not diffusers' torch.cat failure."""
    from PIL import Image

    from shap_e_fixture import save_tiny_shap_e
    from neurorecon.reconstruct.shape import lift_to_meshes, load_shap_e_pipeline

    pipe = load_shap_e_pipeline(str(save_tiny_shap_e(tmp_path / "shap-e")))
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8))
    with pytest.raises(EmptyMeshError, match="obj00001: Shap-E's marching cubes found no surface"):
        lift_to_meshes(pipe, [image], ["obj00001"], steps=1, guidance=1.0, frame_size=32, seed=0)


def test_shap_e_mesh_output_becomes_a_coloured_trimesh():
    import torch
    from diffusers.pipelines.shap_e.renderer import MeshDecoderOutput

    from neurorecon.reconstruct.shape import shap_e_mesh

    box = trimesh.creation.box()
    channels = {c: torch.full((len(box.vertices),), value) for c, value in zip("RGB", (1.0, 0.5, 0.0))}
    output = MeshDecoderOutput(verts=torch.tensor(box.vertices), faces=torch.tensor(box.faces), vertex_channels=channels)
    mesh = shap_e_mesh(output, "box")
    assert mesh.is_watertight and len(mesh.faces) == 12
    assert tuple(mesh.visual.vertex_colors[0][:3]) == (255, 128, 0)
    empty = MeshDecoderOutput(verts=torch.zeros((0, 3)), faces=torch.zeros((0, 3), dtype=torch.long), vertex_channels=channels)
    with pytest.raises(EmptyMeshError, match="box: Shap-E returned an empty mesh"):
        shap_e_mesh(empty, "box")
