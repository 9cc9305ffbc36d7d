"""3D generation: a tiny conditional shape generator, and diffusers' Shap-E image-to-3D as the real path.

Tiny generator: a 3D transposed-convolution decoder from a condition (the object's CLIP embedding
and its shape code) to a truncated signed-distance grid (32^3), whose zero level set marching
cubes turns into a mesh. A voxel decoder, not an implicit network queried per point or a point
diffusion model: one forward pass gives the whole grid, so training on a CPU takes about a minute
and a mesh about 10 ms (benchmarks/shape_generator.py compares it with the linear decoder).
The shape code is the grid's first principal components (the ``basis`` saved with the model), so
a decoded code and the generator share one space. It is trained on fresh procedural objects of
the synthetic world, with their true conditions plus noise, so that it takes decoded ones.

Real path (``reconstruct.shape.model: shap-e``): ``ShapEImg2ImgPipeline`` lifts an image of the
object to a mesh (``output_type="mesh"``), the "image, then 3D" route; the image is drawn by the
configured image generator from the decoded embedding and blurry view.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from neurorecon.artifacts import atomic_path, write_json_atomic
from neurorecon.meshes import EmptyMeshError, cell_extent, mesh_from_sdf, mesh_sdf_grid
from neurorecon.training import WeightAverage, one_cycle_adamw, shuffled_batches, training_step

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
TRUNCATION = 0.1      # the SDF is learned clipped to +-TRUNCATION (cube units): the surface is what matters


class ShapeDecoderNet(nn.Module):
    """condition (n, dims) -> truncated SDF grid (n, R, R, R), R = 4 * 2^len(channels)."""

    def __init__(self, condition_dim: int, channels: list[int]):
        super().__init__()
        self.channels = channels
        self.project = nn.Linear(condition_dim, channels[0] * 4 ** 3)
        layers = []
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            layers += [nn.ConvTranspose3d(c_in, c_out, 4, stride=2, padding=1), nn.GroupNorm(4, c_out), nn.SiLU()]
        # the last layer upsamples straight to one channel: a convolution at full resolution costs 5x more to train
        layers += [nn.ConvTranspose3d(channels[-1], 1, 4, stride=2, padding=1)]
        self.body = nn.Sequential(*layers)

    def forward(self, condition: torch.Tensor) -> torch.Tensor:
        x = self.project(condition).view(len(condition), self.channels[0], 4, 4, 4)
        return TRUNCATION * torch.tanh(self.body(torch.nn.functional.silu(x))[:, 0])


@dataclass
class ShapeBasis:
    """The shape code's space: principal components of training SDF grids, standardised."""

    mean: np.ndarray        # (R^3,)
    components: np.ndarray  # (K, R^3), orthonormal rows
    scale: np.ndarray       # (K,) each component's sd over the training grids

    @classmethod
    def fit(cls, grids: np.ndarray, n_components: int) -> "ShapeBasis":
        flat = grids.reshape(len(grids), -1).astype(np.float64)
        mean = flat.mean(axis=0)
        _, s, vt = np.linalg.svd(flat - mean, full_matrices=False)
        # rounded to the float32 it is saved in, so a reloaded basis gives the same codes
        return cls(*(np.float64(np.float32(a)) for a in (mean, vt[:n_components], s[:n_components] / np.sqrt(len(grids)))))

    def encode(self, grids: np.ndarray) -> np.ndarray:
        """Shape codes (n, K) of SDF grids (n, R, R, R)."""
        return ((grids.reshape(len(grids), -1) - self.mean) @ self.components.T) / self.scale

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """SDF grids back from codes: the linear decoder (the baseline the generator is compared with)."""
        side = round(len(self.mean) ** (1 / 3))
        return ((codes * self.scale) @ self.components + self.mean).reshape(len(codes), side, side, side)


@dataclass
class TinyShapeModel:
    """The generator with its basis and the conditions' standardisation."""

    net: ShapeDecoderNet
    basis: ShapeBasis
    condition_mean: np.ndarray
    condition_scale: np.ndarray
    embedding_dim: int
    resolution: int

    def condition(self, embedding: np.ndarray, code: np.ndarray) -> torch.Tensor:
        raw = np.concatenate([embedding, code], axis=1)
        return torch.as_tensor((raw - self.condition_mean) / self.condition_scale, dtype=torch.float32)

    @torch.no_grad()
    def sdf(self, embedding: np.ndarray, code: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """SDF grids (n, R, R, R) for decoded embeddings (n, E) and shape codes (n, K)."""
        self.net.eval()
        device = next(self.net.parameters()).device
        condition = self.condition(embedding, code)
        return np.concatenate([self.net(condition[i:i + batch_size].to(device)).cpu().numpy()
                               for i in range(0, len(condition), batch_size)])

    def save(self, folder: Path, settings: dict) -> None:
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        tensors = {f"net.{k}": v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()}
        for name in ("mean", "components", "scale"):
            tensors[f"basis.{name}"] = torch.as_tensor(np.asarray(getattr(self.basis, name), dtype=np.float32))
        tensors["condition.mean"] = torch.as_tensor(self.condition_mean, dtype=torch.float32)
        tensors["condition.scale"] = torch.as_tensor(self.condition_scale, dtype=torch.float32)
        with atomic_path(folder / WEIGHTS) as tmp:
            save_file(tensors, str(tmp))
        write_json_atomic(folder / CONFIG, {"embedding_dim": self.embedding_dim, "resolution": self.resolution,
                                            "channels": self.net.channels, "shape_dim": len(self.basis.scale),
                                            "truncation": TRUNCATION, "settings": settings})


def load_tiny_shape_model(folder: Path, device: str = "cpu") -> TinyShapeModel:
    """A saved tiny shape generator (safetensors; no pickles), with a clear error for a missing file."""
    from safetensors.torch import load_file

    folder = Path(folder)
    for name in (CONFIG, WEIGHTS):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name}: missing; the tiny shape generator is saved as {CONFIG} + {WEIGHTS}")
    config = json.loads((folder / CONFIG).read_text())
    tensors = load_file(str(folder / WEIGHTS))
    net = ShapeDecoderNet(config["embedding_dim"] + config["shape_dim"], config["channels"])
    net.load_state_dict({k[len("net."):]: v for k, v in tensors.items() if k.startswith("net.")})
    basis = ShapeBasis(*(tensors[f"basis.{name}"].double().numpy() for name in ("mean", "components", "scale")))
    return TinyShapeModel(net.to(device).eval(), basis, tensors["condition.mean"].double().numpy(),
                          tensors["condition.scale"].double().numpy(), config["embedding_dim"], config["resolution"])


def shape_training_data(clip_bundle, cfg: dict, image_size: int, progress=lambda x, _: x):
    """Fresh procedural objects for training: their view embeddings (n, E) and SDF grids (n, R, R, R)."""
    from neurorecon.render import EVAL_VIEWS, Renderer
    from neurorecon.stimuli.clip import embed_images
    from neurorecon.synth.objects import GRID_EXTENT, sample_objects, sdf_grid
    from neurorecon.synth.shapes import MESH_RESOLUTION
    from PIL import Image

    objects = sample_objects(cfg["n_objects"], np.random.default_rng([cfg["seed"], 7]))
    embeddings, grids = [], []
    with Renderer(image_size) as renderer:
        for obj in progress(objects, "render training objects"):
            mesh = mesh_from_sdf(sdf_grid(obj, MESH_RESOLUTION), GRID_EXTENT, obj.rgb, obj.uid)
            views = renderer.render(mesh, EVAL_VIEWS)
            embeddings.append(embed_images(clip_bundle, [Image.fromarray(v) for v in views]).mean(axis=0))
            grids.append(mesh_sdf_grid(mesh, cfg["resolution"]))
    return np.stack(embeddings), np.stack(grids)


def train_tiny_shape_model(embeddings: np.ndarray, grids: np.ndarray, cfg: dict, progress=range,
                           device: str = "cpu") -> tuple[TinyShapeModel, list[dict]]:
    """Fit the basis and train the decoder (L1 on the truncated SDF) on true conditions with
    Gaussian noise of ``condition_noise`` sd (in standardised units) added, as decoded ones will carry."""
    torch.manual_seed(cfg["seed"])
    basis = ShapeBasis.fit(grids, cfg["shape_dim"])
    raw = np.concatenate([embeddings, basis.encode(grids)], axis=1)
    mean, scale = (np.float64(np.float32(a)) for a in (raw.mean(axis=0), raw.std(axis=0) + 1e-8))
    net = ShapeDecoderNet(raw.shape[1], cfg["channels"]).to(device)
    model = TinyShapeModel(net, basis, mean, scale, embeddings.shape[1], grids.shape[1])
    conditions = model.condition(embeddings, basis.encode(grids))
    targets = torch.as_tensor(np.clip(grids, -TRUNCATION, TRUNCATION), dtype=torch.float32)
    optimiser, schedule = one_cycle_adamw(net.parameters(), cfg, len(grids), weight_decay=1e-4)
    average = WeightAverage(net, cfg["ema_decay"])
    generator = torch.Generator().manual_seed(cfg["seed"])
    history = []
    for epoch in progress(cfg["epochs"]):
        net.train()
        losses = []
        for batch in shuffled_batches(len(grids), cfg["batch_size"], generator):
            noisy = conditions[batch] + cfg["condition_noise"] * torch.randn(len(batch), conditions.shape[1],
                                                                             generator=generator)
            loss = (net(noisy.to(device)) - targets[batch].to(device)).abs().mean()
            losses.append(training_step(loss, optimiser, schedule, average))
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses))})
    average.copy_to_module()
    return model, history


def meshes_from_grids(grids: np.ndarray, colours: np.ndarray, names: list[str]):
    """Marching cubes on each SDF grid (cells over the unit cube), coloured; EmptyMeshError names the object.
    (A Gaussian blur of the grid first would smooth the voxel ripple but thins legs and rings: Chamfer
    distance 0.0024 -> 0.0026 at 0.75 cells, so the grids are used as generated.)"""
    extent = cell_extent(grids.shape[1])
    return [mesh_from_sdf(grid, extent, np.clip(rgb, 0, 1), name) for grid, rgb, name in zip(grids, colours, names)]


def load_shap_e_pipeline(location: str, device: str = "cpu"):
    """diffusers' ShapEImg2ImgPipeline from a folder (read offline) or a hub id, in float32 (its
    fp16 weights cannot run on a CPU)."""
    from diffusers import ShapEImg2ImgPipeline

    local = Path(location).is_dir()
    pipe = ShapEImg2ImgPipeline.from_pretrained(location, torch_dtype=torch.float32, local_files_only=local)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def lift_to_meshes(pipe, images, names: list[str], steps: int, guidance: float, frame_size: int, seed: int):
    """One mesh per image (PIL) through Shap-E (``output_type="mesh"``), one image per call (a list
    input keeps only the first image). An object whose field has no surface gets EmptyMeshError."""
    meshes = []
    for image, name in zip(images, names):
        generator = torch.Generator("cpu").manual_seed(seed)
        try:
            output = pipe(image, num_inference_steps=steps, guidance_scale=guidance, frame_size=frame_size,
                          output_type="mesh", generator=generator).images[0]
        except (ZeroDivisionError, IndexError, RuntimeError, ValueError) as exc:   # diffusers fails on no vertices
            raise EmptyMeshError(f"{name}: Shap-E's marching cubes found no surface ({type(exc).__name__}: {exc}); "
                                 "its latent decodes to a field with no zero crossing") from exc
        meshes.append(shap_e_mesh(output, name))
    return meshes


def shap_e_mesh(output, name: str):
    """A trimesh mesh from Shap-E's ``MeshDecoderOutput`` (verts, faces, vertex_channels R, G, B in [0, 1])."""
    import trimesh

    verts = output.verts.detach().cpu().numpy()
    faces = output.faces.detach().cpu().numpy()
    if len(verts) == 0 or len(faces) == 0:
        raise EmptyMeshError(f"{name}: Shap-E returned an empty mesh (no vertices)")
    colours = np.stack([output.vertex_channels[c].detach().cpu().numpy() for c in "RGB"], axis=1)
    return trimesh.Trimesh(verts, faces, vertex_colors=np.clip(np.round(colours * 255), 0, 255).astype(np.uint8),
                           process=False)



def generate_meshes(shape_cfg: dict, decoded: dict[str, np.ndarray], names: list[str], *, model_dir: str | Path,
                    image_generator: dict | None = None, vae=None, device: str = "cpu"):
    """Meshes for decoded targets (``decoded``: embedding, colour, and shape or view as the model
    needs), and a record of how (generator name, seconds per mesh, notes).

    ``tiny``: the tiny generator in ``model_dir`` from the embedding and shape code, coloured by the
    decoded colour. ``shap-e``: the image generator (``image_generator``: its section, folder and
    sampling) draws each object from its decoded blurry view and embedding, and Shap-E lifts it."""
    import time

    began = time.perf_counter()
    notes = []
    if shape_cfg["model"] == "tiny":
        model = load_tiny_shape_model(Path(model_dir), device=device)
        if decoded["embedding"].shape[1] != model.embedding_dim:
            raise ValueError(f"the decoded embeddings have {decoded['embedding'].shape[1]} dimensions, but the tiny "
                             f"shape generator in {model_dir} takes {model.embedding_dim} (the tiny CLIP's)")
        code = decoded.get("shape")
        if code is None:   # no ground-truth meshes to decode codes from: the training objects' mean code
            code = np.tile(model.condition_mean[model.embedding_dim:], (len(names), 1))
            notes.append("no shape code was decoded (no ground-truth meshes): the tiny generator used the training "
                         "objects' mean code, so its meshes follow the decoded embedding alone")
        meshes = meshes_from_grids(model.sdf(decoded["embedding"], code), decoded["colour"], names)
        name = "tiny"
    elif shape_cfg["model"] == "shap-e":
        from PIL import Image

        from neurorecon.decode.shape import blurry_images
        from neurorecon.reconstruct.diffusion import draw_images

        spec = shape_cfg["shap_e"]
        if not spec["model"]:
            raise ValueError("reconstruct.shape.model is shap-e but reconstruct.shape.shap_e.model is not set "
                             "(a ShapEImg2ImgPipeline folder or hub id, e.g. openai/shap-e-img2img)")
        images = draw_images(image_generator, blurry_images(decoded["view"]), decoded["embedding"], vae=vae,
                             device=device)
        pipe = load_shap_e_pipeline(spec["model"], device=device)
        meshes = lift_to_meshes(pipe, [Image.fromarray(image) for image in images], names, spec["steps"],
                                spec["guidance"], spec["frame_size"], spec["seed"])
        name = f"shap-e:{spec['model']}"
    else:
        raise ValueError(f"reconstruct.shape.model {shape_cfg['model']!r} makes no meshes")
    seconds = time.perf_counter() - began
    return meshes, {"generator": name, "seconds_per_mesh": seconds / max(len(meshes), 1), "notes": notes}
