"""The tour's seeds draw the split too (``aekit.tour.bench``): each seed gives its own disjoint training,
validation and test rows, the same ones every time and the same ones its runs train on; a data set with
an official test set keeps its test rows for every seed, and seed 0 its file's own split."""

import numpy as np

from aekit.tour.bench import QUICK_LIMIT, data_overrides, split, split_is_fixed, split_of, split_protocol
from aekit.tour.claim import Setting


def _rows(x: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in x}


def test_each_seed_draws_its_own_disjoint_split_and_draws_it_again_the_same():
    first, second, again = split("mnist5k", 0), split("mnist5k", 1), split("mnist5k", 1)
    for data in (first, second):
        assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (3500, 500, 1000)
        train, val, test = _rows(data.x_train), _rows(data.x_val), _rows(data.x_test)
        assert not (train & val or train & test or val & test)
        assert np.bincount(data.y_test).tolist() == [100] * 10  # stratified
    assert np.array_equal(second.x_test, again.x_test) and np.array_equal(second.y_train, again.y_train)
    shared = len(_rows(first.x_test) & _rows(second.x_test))
    assert shared < 500  # another seed, other test images (about a fifth in common by chance)
    assert "3,500 training" in first.scale and first.split_seed == 0 and second.split_seed == 1


def test_a_runs_data_section_gives_the_rows_of_its_seed(tmp_path):
    from aekit.data.preparation import DataConfig, prepare_splits
    from aekit.training.run_config import make_config

    setting = Setting(quick=True, seeds=(3,), workdir=tmp_path)
    config = make_config(overrides=[*data_overrides(setting, 3), f"out={tmp_path}", "name=x"])
    assert (config.data.split_seed, config.data.limit) == (3, QUICK_LIMIT)
    ours = split_of(setting, 3)
    theirs = prepare_splits(DataConfig(name=config.data.name, split_seed=config.data.split_seed,
                                     limit=config.data.limit)).arrays()[2]
    assert np.array_equal(ours.x_test, theirs.reshape(len(theirs), -1))


def test_seeds_draw_the_training_rows_even_where_the_test_set_is_official(tmp_path):
    assert split_is_fixed("mnist") and not split_is_fixed("mnist5k")
    for data in ("mnist", "mnist5k"):
        setting = Setting(quick=False, seeds=(0, 3), workdir=tmp_path, data=data)
        assert [data_overrides(setting, s)[1] for s in (0, 3, 7)] == [f"data.split_seed={s}" for s in (0, 3, 7)]
    protocol = split_protocol(Setting(quick=False, seeds=(0,), workdir=tmp_path, data="mnist"))
    assert "official test set for every seed" in protocol and "seed s > 0 draws training" in protocol
