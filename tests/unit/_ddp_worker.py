"""Run by ``tests/unit/test_distributed.py`` under ``torchrun --nproc_per_node=2``: trains small models
with the Python ``Trainer`` (which joins the process group by itself) and leaves, from rank 0, the
weights and histories in ``OUT`` for the test to compare with one process.

    python -m torch.distributed.run --standalone --nproc_per_node=2 tests/unit/_ddp_worker.py OUT
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from aekit.models import ConvConfig, ModelConfig, build_model
from aekit.objectives import build_objectives
from aekit.training.trainer import TrainConfig, Trainer

B = 16  # per process; the single-process reference uses 2 B
N, D = 96, 12  # 96 rows: 3 global batches of 32, no padding


def cases() -> dict[str, dict]:
    """name -> how to build it; shared with the test, which trains the same with one process."""
    mlp = ModelConfig.of_kind(hidden=[10, 8], code_size=3, output="sigmoid")
    conv = ConvConfig(channels=[2], code_size=3, output="sigmoid")
    return {
        "plain": {"model": mlp, "shape": (D,), "penalties": {}, "epochs": 1},
        "contractive_layerwise": {"model": mlp, "shape": (D,), "penalties": {"contractive": 0.5}, "epochs": 1},
        "contractive_generic": {"model": conv, "shape": (1, 6, 6), "penalties": {"contractive": 0.5}, "epochs": 1},
        "l1": {"model": mlp, "shape": (D,), "penalties": {"l1": 0.01}, "epochs": 1},
        # a memory-mapped .npy streamed through a DataLoader, each process reading its shard (the
        # single-process reference holds the data in memory)
        "streamed": {"model": mlp, "shape": (D,), "penalties": {}, "epochs": 1, "memmap": True},
        # sampling noise differs per process: these are checked for finite, falling losses and ranks in step
        "variational": {"model": ModelConfig.of_kind(hidden=[10], code_size=2, output="sigmoid", variational=True),
                        "shape": (D,), "penalties": {"kl": 1.0}, "epochs": 3},
        "kl_sparsity": {"model": ModelConfig.of_kind(hidden=[10], code_size=3, output="sigmoid", code_activation="sigmoid"),
                        "shape": (D,), "penalties": {"kl_sparsity": 0.5}, "epochs": 3},
    }


def data(shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(0).random((N, *shape)).astype(np.float32)


def train(name: str, batch_size: int, memmap: bool = False) -> tuple[Trainer, list]:
    case = cases()[name]
    torch.manual_seed(0)
    model = build_model(case["model"], case["shape"])
    objectives = build_objectives("bce", case["penalties"], variational=case["model"].variational)
    config = TrainConfig(epochs=case["epochs"], batch_size=batch_size, device="cpu", restore_best=False)
    trainer = Trainer(model, objectives, config, seed=0)
    x = data(case["shape"])
    if memmap and case.get("memmap"):
        import os
        import tempfile

        from aekit.data import load_dataset

        path = Path(tempfile.mkdtemp()) / "x.npy"
        np.save(path, x)
        os.environ["AEKIT_MMAP"] = "1"
        mapped = load_dataset(str(path))
        assert mapped.is_streamed
        history = trainer.fit(mapped.take(np.arange(80)), mapped.take(np.arange(80, N)))
        return trainer, history
    history = trainer.fit(x[:80], x[80:])
    return trainer, history


def main(out: Path) -> None:
    import torch.distributed as dist

    results = {}
    for name in cases():
        trainer, history = train(name, B, memmap=True)
        flat = torch.cat([p.detach().flatten() for p in trainer.model.parameters()])
        sums = trainer.dist.gather(float(flat.double().sum()))  # every rank holds the same weights
        results[name] = {"history": history, "rank_sums": sums, "path": trainer.objectives[-1].__dict__.get("path"),
                         "world_size": trainer.dist.world_size, "global_batch": trainer.global_batch_size}
        if trainer.dist.is_main:
            save_file({k: v.contiguous() for k, v in trainer.model.state_dict().items()}, out / f"{name}.safetensors")
    if dist.get_rank() == 0:
        (out / "results.json").write_text(json.dumps(results))
    from aekit.training import distributed

    distributed.shutdown(wait=True)  # meet before leaving: gloo aborts a process whose peer tore down first


if __name__ == "__main__":
    main(Path(sys.argv[1]))
