"""A cross-subject decoder: per-subject adapters into one shared latent space, a shared backbone,
and a head for CLIP image embeddings.

The MindEye2 (Scotti et al. 2024) / MindBridge (Wang et al. 2024) design: subjects differ in voxel
count and layout, so each has its own linear adapter (voxels standardised with its training
statistics, input dropout, a linear map) into a shared latent; one residual MLP backbone and the
head are trained on all subjects at once. A new subject is added by training only its adapter
(optionally fine-tuning the rest, MindBridge's reset-tuning) on the little data it has.

Losses: a soft InfoNCE between predicted and true CLIP embeddings (trials of the same stimulus,
from any subject, all count as positives), squared error on the embedding, and an alignment loss
that pulls subjects' latents of the same stimulus together.

Training is deterministic for a fixed seed and resumable: at the end of every epoch the model,
optimiser and schedule state go to a checkpoint folder, and each epoch reseeds its own
randomness, so a run killed and resumed ends with the same weights as one never interrupted.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from neurorecon.artifacts import atomic_dir, canonical_json, verify_artifact, write_text_atomic

ARCH_KEYS = ("latent_dim", "hidden_dim", "blocks", "dropout", "input_dropout")
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "model.json"
OPTIMISER_FILE = "optimiser.safetensors"
STATE_FILE = "state.json"


@dataclass
class SubjectData:
    """One subject's rows for training or prediction: responses and their targets."""

    responses: np.ndarray             # (rows, voxels)
    stimulus_index: np.ndarray        # (rows,) int, the stimulus of each row (shared across subjects)
    clip: np.ndarray                  # (rows, embed_dim) target embeddings

    def subset(self, rows: np.ndarray) -> "SubjectData":
        return SubjectData(self.responses[rows], self.stimulus_index[rows], self.clip[rows])


class SubjectAdapter(nn.Module):
    """Standardise a subject's voxels, drop some at random while training, map them linearly
    into the shared latent space."""

    def __init__(self, n_voxels: int, latent_dim: int, input_dropout: float):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_voxels))
        self.register_buffer("scale", torch.ones(n_voxels))
        self.dropout = nn.Dropout(input_dropout)
        self.linear = nn.Linear(n_voxels, latent_dim)

    def set_statistics(self, responses: np.ndarray) -> None:
        scale = responses.std(axis=0)
        scale[scale == 0] = 1.0
        self.mean.copy_(torch.from_numpy(responses.mean(axis=0)).float())
        self.scale.copy_(torch.from_numpy(scale).float())

    def forward(self, responses: torch.Tensor) -> torch.Tensor:
        return self.linear(self.dropout((responses - self.mean) / self.scale))


class ResidualBlock(nn.Module):
    def __init__(self, width: int, dropout: float):
        super().__init__()
        self.body = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.GELU(), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SharedDecoder(nn.Module):
    """Adapters (one per subject, into a narrow shared latent) -> shared MLP backbone (widening to
    ``hidden_dim``, then residual blocks) -> CLIP head.

    The latent is narrow on purpose: a new subject's adapter then has few outputs to learn from
    little data, while the backbone that reads them out is learnt from every subject.
    """

    def __init__(self, subject_voxels: dict[str, int], arch: dict, embed_dim: int):
        super().__init__()
        self.arch = dict(arch)
        self.embed_dim = embed_dim
        self.adapters = nn.ModuleDict()
        for subject, n_voxels in subject_voxels.items():
            self.add_subject(subject, n_voxels)
        width = arch["hidden_dim"]
        self.backbone = nn.Sequential(nn.Linear(arch["latent_dim"], width), nn.GELU(),
                                      *[ResidualBlock(width, arch["dropout"]) for _ in range(arch["blocks"])],
                                      nn.LayerNorm(width))
        self.clip_head = nn.Linear(width, embed_dim)

    @property
    def subject_voxels(self) -> dict[str, int]:
        return {key[len("sub-"):]: adapter.linear.in_features for key, adapter in self.adapters.items()}

    def add_subject(self, subject: str, n_voxels: int) -> SubjectAdapter:
        """A fresh (randomly initialised) adapter for ``subject``, replacing any it had."""
        adapter = SubjectAdapter(n_voxels, self.arch["latent_dim"], self.arch["input_dropout"])
        self.adapters[f"sub-{subject}"] = adapter
        return adapter

    def adapter(self, subject: str) -> SubjectAdapter:
        key = f"sub-{subject}"
        if key not in self.adapters:
            raise KeyError(f"the decoder has no adapter for subject {subject}; it has {sorted(self.subject_voxels)}")
        return self.adapters[key]

    def forward(self, responses: torch.Tensor, subject: str) -> dict[str, torch.Tensor]:
        """The subject's shared latents and predicted CLIP embeddings."""
        shared = self.adapter(subject)(responses)
        return {"shared": shared, "clip": self.clip_head(self.backbone(shared))}

    def description(self) -> dict:
        return {"arch": self.arch, "embed_dim": self.embed_dim, "subject_voxels": self.subject_voxels}

    def save(self, folder: Path, info: dict | None = None) -> None:
        """Weights as safetensors and the architecture as JSON, written as one folder atomically."""
        with atomic_dir(folder) as tmp:
            save_file({k: v.contiguous() for k, v in self.state_dict().items()}, str(tmp / WEIGHTS_FILE))
            (tmp / CONFIG_FILE).write_text(json.dumps({**self.description(), **(info or {})}, indent=2))

    @classmethod
    def load(cls, folder: Path) -> "SharedDecoder":
        folder = Path(folder)
        for name in (CONFIG_FILE, WEIGHTS_FILE):
            if not (folder / name).is_file():
                raise FileNotFoundError(f"{folder}: no {name}; not a shared decoder folder")
        verify_artifact(folder)
        spec = json.loads((folder / CONFIG_FILE).read_text())
        model = cls(spec["subject_voxels"], spec["arch"], spec["embed_dim"])
        model.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
        return model.eval()


def contrastive_loss(predicted: torch.Tensor, target: torch.Tensor, stimulus: torch.Tensor,
                     temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE over a batch, where every row of the same stimulus is a positive."""
    logits = nn.functional.normalize(predicted, dim=1) @ nn.functional.normalize(target, dim=1).T / temperature
    positives = (stimulus[:, None] == stimulus[None, :]).float()
    soft = positives / positives.sum(1, keepdim=True)
    return 0.5 * (-(soft * logits.log_softmax(1)).sum(1).mean() - (soft * logits.log_softmax(0)).sum(0).mean())


def alignment_loss(shared: torch.Tensor, stimulus: torch.Tensor) -> torch.Tensor:
    """The share of the shared latents' variance that lies within stimuli (rows of one stimulus
    from different subjects in the batch): 0 when every subject maps a stimulus to the same point.
    A ratio, so shrinking the latent cannot lower it."""
    same = (stimulus[:, None] == stimulus[None, :]).float()
    centre = (same @ shared) / same.sum(1, keepdim=True)
    within = ((shared - centre) ** 2).sum(1).mean()
    return within / ((shared - shared.mean(0)) ** 2).sum(1).mean().clamp_min(1e-8)


def batch_loss(model: SharedDecoder, batches: dict[str, dict[str, torch.Tensor]], cfg: dict) -> tuple[torch.Tensor, dict]:
    """The weighted training loss of one step over the subjects' minibatches, and its parts."""
    predicted, target, stimulus, shared = [], [], [], []
    for subject, batch in batches.items():
        out = model(batch["responses"], subject)
        shared.append(out["shared"])
        predicted.append(out["clip"])
        target.append(batch["clip"])
        stimulus.append(batch["stimulus"])
    predicted, target, stimulus = torch.cat(predicted), torch.cat(target), torch.cat(stimulus)
    parts = {"contrastive": contrastive_loss(predicted, target, stimulus, cfg["temperature"]),
             "mse": ((predicted - target) ** 2).sum(1).mean()}
    total = cfg["contrastive_weight"] * parts["contrastive"] + cfg["mse_weight"] * parts["mse"]
    if cfg["align_weight"] and len(batches) > 1:
        parts["align"] = alignment_loss(torch.cat(shared), stimulus)
        total = total + cfg["align_weight"] * parts["align"]
    return total, {name: float(value.detach()) for name, value in parts.items()}


def _tensors(data: SubjectData) -> dict[str, torch.Tensor]:
    return {"responses": torch.from_numpy(np.ascontiguousarray(data.responses, dtype=np.float32)),
            "stimulus": torch.from_numpy(data.stimulus_index.astype(np.int64)),
            "clip": torch.from_numpy(np.ascontiguousarray(data.clip, dtype=np.float32))}


def _rows_by_stimulus(data: dict[str, SubjectData]) -> tuple[np.ndarray, dict[str, dict[int, np.ndarray]]]:
    """Every stimulus any subject saw, and per subject the rows of each stimulus."""
    stimuli = np.unique(np.concatenate([d.stimulus_index for d in data.values()]))
    rows = {}
    for subject, d in data.items():
        order = np.argsort(d.stimulus_index, kind="stable")
        keys, starts = np.unique(d.stimulus_index[order], return_index=True)
        rows[subject] = dict(zip(keys.tolist(), np.split(order, starts[1:])))
    return stimuli, rows


def steps_per_epoch(data: dict[str, SubjectData], batch_size: int) -> int:
    """Optimiser steps in one epoch over ``data``: one per minibatch of stimuli."""
    return math.ceil(len(_rows_by_stimulus(data)[0]) / batch_size)


def _epoch_batches(stimuli: np.ndarray, rows: dict[str, dict[int, np.ndarray]], batch_size: int, seed: int,
                   epoch: int):
    """Minibatches of stimuli, in an order seeded by (seed, epoch); each step holds every
    subject's rows of those stimuli (``rows``, from :func:`_rows_by_stimulus`), so subjects who
    saw the same image meet in one batch."""
    generator = torch.Generator().manual_seed(int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0]))
    order = stimuli[torch.randperm(len(stimuli), generator=generator).numpy()]
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size].tolist()
        picked = {s: np.concatenate([rows[s][k] for k in batch if k in rows[s]] or [np.zeros(0, int)])
                  for s in rows}
        yield {s: torch.from_numpy(r.astype(np.int64)) for s, r in picked.items() if len(r)}


def _optimiser_tensors(state: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors = {f"{index}.{key}": value.contiguous() for index, entry in state["state"].items()
               for key, value in entry.items()}
    return tensors, {"param_groups": state["param_groups"]}


def _optimiser_state(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


class Checkpoint:
    """Resumable training state in a folder outside the rule's outputs: the model, the optimiser,
    the schedule, the epoch reached, the history, and a fingerprint of everything the run depends
    on, so a checkpoint of a different run is ignored rather than resumed."""

    def __init__(self, folder: Path | None, fingerprint: dict):
        self.folder = None if folder is None else Path(folder)
        self.fingerprint = json.loads(canonical_json(fingerprint))

    def load(self, model: nn.Module, optimiser, schedule) -> tuple[int, list[dict]]:
        """Restore the state if a matching checkpoint exists: returns (epochs done, history)."""
        if self.folder is None or not (self.folder / STATE_FILE).is_file():
            return 0, []
        state = json.loads((self.folder / STATE_FILE).read_text())
        if state.get("fingerprint") != self.fingerprint:
            return 0, []
        model.load_state_dict(load_file(str(self.folder / WEIGHTS_FILE)))
        optimiser.load_state_dict(_optimiser_state(load_file(str(self.folder / OPTIMISER_FILE)), state["optimiser"]))
        schedule.load_state_dict(state["schedule"])
        return state["epoch"], state["history"]

    def save(self, model: nn.Module, optimiser, schedule, epoch: int, history: list[dict]) -> None:
        if self.folder is None:
            return
        tensors, meta = _optimiser_tensors(optimiser.state_dict())
        with atomic_dir(self.folder) as tmp:
            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp / WEIGHTS_FILE))
            save_file(tensors, str(tmp / OPTIMISER_FILE))
            (tmp / STATE_FILE).write_text(json.dumps({
                "fingerprint": self.fingerprint, "epoch": epoch, "history": history,
                "optimiser": meta, "schedule": schedule.state_dict()}))

    def remove(self) -> None:
        """Delete the checkpoint (after the final model is saved), and its parent if left empty."""
        if self.folder is not None and self.folder.exists():
            for path in self.folder.iterdir():
                path.unlink()
            self.folder.rmdir()
            if not any(self.folder.parent.iterdir()):
                self.folder.parent.rmdir()


def warmup_cosine(total_steps: int) -> Callable[[int], float]:
    """Learning-rate factor per step: linear warm-up over the first 10% of steps (at least one),
    then cosine decay to zero. Unlike OneCycleLR it works for schedules of a few steps, which is
    what adapting on a few dozen trials gives."""
    warmup = max(1, round(0.1 * total_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total_steps - warmup))))
    return factor


def train(model: SharedDecoder, data: dict[str, SubjectData], cfg: dict, parameters=None,
          checkpoint: Checkpoint | None = None, progress: Callable | None = None,
          device: str = "cpu") -> list[dict]:
    """Train ``parameters`` (default: all of the model's) on every subject in ``data`` for
    ``cfg["epochs"]``; returns the per-epoch history (loss and its parts).

    Each step takes a minibatch of stimuli and every subject's trials of them; the adapters'
    standardisation must already be set.
    """
    checkpoint = checkpoint or Checkpoint(None, {})
    parameters = list(model.parameters() if parameters is None else parameters)
    optimiser = torch.optim.AdamW(parameters, lr=cfg["learning_rate"], weight_decay=cfg["weight_decay"])
    stimuli, rows_by_stimulus = _rows_by_stimulus(data)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, warmup_cosine(cfg["epochs"] * math.ceil(len(stimuli) / cfg["batch_size"])))
    model.to(device)
    start, history = checkpoint.load(model, optimiser, schedule)
    tensors = {subject: {k: v.to(device) for k, v in _tensors(d).items()} for subject, d in data.items()}
    epochs = range(start, cfg["epochs"])
    for epoch in (progress(epochs) if progress else epochs):
        torch.manual_seed(int(np.random.SeedSequence([cfg["seed"], epoch, 1]).generate_state(1)[0]))
        model.train()
        sums: dict[str, float] = {}
        n_steps = 0
        for rows in _epoch_batches(stimuli, rows_by_stimulus, cfg["batch_size"], cfg["seed"], epoch):
            batches = {s: {k: v[rows[s].to(device)] for k, v in tensors[s].items()} for s in rows}
            loss, parts = batch_loss(model, batches, cfg)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            for name, value in {"loss": float(loss.detach()), **parts}.items():
                sums[name] = sums.get(name, 0.0) + value
            n_steps += 1
        history.append({"epoch": epoch + 1, **{k: v / n_steps for k, v in sums.items()}})
        checkpoint.save(model, optimiser, schedule, epoch + 1, history)
    model.eval()
    return history


@torch.no_grad()
def predict(model: SharedDecoder, subject: str, responses: np.ndarray, device: str = "cpu") -> dict[str, np.ndarray]:
    """The model's outputs (``shared`` latents and ``clip`` embeddings) for a subject's rows."""
    expected = model.adapter(subject).linear.in_features
    if responses.ndim != 2 or responses.shape[1] != expected:
        raise ValueError(f"subject {subject}'s adapter expects (rows, {expected}) responses, got {responses.shape}")
    model.eval().to(device)
    out = model(torch.from_numpy(np.ascontiguousarray(responses, dtype=np.float32)).to(device), subject)
    return {name: value.cpu().numpy() for name, value in out.items()}


def pretrain(data: dict[str, SubjectData], cfg: dict, embed_dim: int,
             checkpoint: Checkpoint | None = None, progress=None, device: str = "cpu") -> tuple[SharedDecoder, list[dict]]:
    """Train adapters, backbone and head together on all subjects in ``data`` from a seeded init."""
    torch.manual_seed(cfg["seed"])
    arch = {key: cfg[key] for key in ARCH_KEYS}
    model = SharedDecoder({s: d.responses.shape[1] for s, d in data.items()}, arch, embed_dim)
    for subject, d in data.items():
        model.adapter(subject).set_statistics(d.responses)
    history = train(model, data, cfg, checkpoint=checkpoint, progress=progress, device=device)
    return model, history


@torch.no_grad()
def stimulus_latents(model: SharedDecoder, data: dict[str, SubjectData]) -> dict[int, np.ndarray]:
    """The shared latent of each stimulus, averaged over the subjects (in ``data``) who saw it."""
    model.eval()
    sums: dict[int, np.ndarray] = {}
    counts: dict[int, int] = {}
    for subject, d in data.items():
        latents = model.adapter(subject)(torch.from_numpy(np.ascontiguousarray(d.responses, dtype=np.float32)))
        for stimulus, latent in zip(d.stimulus_index.tolist(), latents.numpy().astype(np.float64)):
            sums[stimulus] = sums.get(stimulus, 0.0) + latent
            counts[stimulus] = counts.get(stimulus, 0) + 1
    return {stimulus: total / counts[stimulus] for stimulus, total in sums.items()}


def align_adapter(adapter: SubjectAdapter, data: SubjectData, latents: dict[int, np.ndarray],
                  alphas: list[float]) -> dict:
    """Set a new subject's adapter in closed form: ridge regression (penalty by leave-one-out)
    from its standardised responses to the shared latents the trained subjects have for the same
    stimuli. Needs stimuli in common; returns what was fitted (rows used, penalty)."""
    from neurorecon.decode.ridge import fit_ridge

    shared = np.isin(data.stimulus_index, list(latents))
    if shared.sum() < 2:
        raise ValueError(f"aligning a new subject's adapter needs stimuli that the trained subjects saw; "
                         f"{int(shared.sum())} of its {len(shared)} training rows have one "
                         "(use decode.adapt.init: random for subjects with no shared stimuli)")
    targets = np.stack([latents[s] for s in data.stimulus_index[shared]])
    ridge = fit_ridge(data.responses[shared], targets, alphas, None)
    # fit_ridge standardises with the statistics of exactly these rows, as the adapter does
    with torch.no_grad():
        adapter.mean.copy_(torch.from_numpy(ridge.mean).float())
        adapter.scale.copy_(torch.from_numpy(ridge.scale).float())
        adapter.linear.weight.copy_(torch.from_numpy(ridge.coef.T).float())
        adapter.linear.bias.copy_(torch.from_numpy(ridge.intercept).float())
    return {"aligned_rows": int(shared.sum()), "align_alpha": ridge.alpha}


def adapt(model: SharedDecoder, subject: str, data: SubjectData, cfg: dict,
          trained: dict[str, SubjectData] | None = None, checkpoint: Checkpoint | None = None,
          progress=None, device: str = "cpu") -> tuple[list[dict], dict]:
    """Add ``subject`` to a trained ``model`` from its (little) ``data``.

    A new adapter is made, then set by ``cfg["init"]``: ``align`` fits it in closed form to the
    shared latents of the trained subjects (``trained``: their training rows) for the stimuli in
    common; ``random`` leaves it randomly initialised. It is then trained for ``cfg["epochs"]``
    epochs of ``data``: the adapter alone (``cfg["train"] == "adapter"``) or the whole model
    (``all``, MindBridge's reset-tuning). Returns the history and what the alignment fitted.
    """
    torch.manual_seed(cfg["seed"])
    info: dict = {}
    latents = stimulus_latents(model, trained) if cfg["init"] == "align" else None
    adapter = model.add_subject(subject, data.responses.shape[1])
    adapter.set_statistics(data.responses)
    if latents is not None:
        info = align_adapter(adapter, data, latents, cfg["alphas"])
    trainable = list(model.parameters()) if cfg["train"] == "all" else list(adapter.parameters())
    frozen = [p for p in model.parameters() if not any(p is q for q in trainable)]
    for param in frozen:
        param.requires_grad_(False)
    try:
        history = train(model, {subject: data}, cfg, parameters=trainable, checkpoint=checkpoint,
                        progress=progress, device=device) if cfg["epochs"] else []
    finally:
        for param in frozen:
            param.requires_grad_(True)
    return history, info


def write_history(path: Path, history: list[dict]) -> None:
    """The per-epoch losses as TSV (epoch first)."""
    columns = list(history[0]) if history else ["epoch", "loss"]
    lines = ["\t".join(columns)] + ["\t".join(f"{row[c]:.6g}" if c != "epoch" else str(row[c]) for c in columns)
                                    for row in history]
    write_text_atomic(path, "\n".join(lines) + "\n")



def subject_data(responses, embeddings: dict[str, np.ndarray], split: str, rois: list[str] | None) -> SubjectData:
    """A subject's rows of one split as model data; stimuli are indexed by their row in ``embeddings``."""
    values, trials = responses.select(split, rois)
    index = {str(s): i for i, s in enumerate(embeddings["stim_ids"])}
    missing = sorted(set(trials["stim_id"].astype(str)) - set(index))
    if missing:
        raise KeyError(f"no embedding for stimuli {missing[:5]}")
    stimulus = np.asarray([index[str(s)] for s in trials["stim_id"]], dtype=np.int64)
    return SubjectData(values, stimulus, embeddings["image"][stimulus])


def training_subset(n_rows: int, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of a seeded random ``fraction`` of ``n_rows`` training rows (at least 2)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    count = min(n_rows, max(2, int(round(fraction * n_rows))))
    return np.sort(np.random.default_rng([seed, 7]).permutation(n_rows)[:count])
