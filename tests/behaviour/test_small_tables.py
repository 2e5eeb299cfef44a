"""experiments/small_tables.py chooses the tables' defaults on validation rows only: the rows it splits again are
the training and validation rows of experiments/defaults.py's split, none of its test rows; its quick version runs
the CSV line end to end and writes the table of variants."""

from collections import Counter

from _experiments import load_experiment


def test_the_selection_rows_leave_out_the_test_split_and_the_quick_run_reports(tmp_path):
    small = load_experiment("small_tables")
    defaults = load_experiment("defaults")
    from aekit.data import load_dataset, split_dataset

    path, _ = defaults.write_table("iris", tmp_path)
    test = split_dataset(load_dataset(str(path), label_column=-1), val_fraction=0.1, test_fraction=0.2,
                         seed=0).test.array()
    chosen, labelled = small.selection_table("iris", tmp_path)
    rows = load_dataset(str(chosen), label_column=-1).array()
    assert labelled and len(rows) == 150 - len(test) == 120
    full = Counter(map(tuple, load_dataset(str(path), label_column=-1).array()))
    assert Counter(map(tuple, rows)) + Counter(map(tuple, test)) == full  # iris has repeated rows: count them
    results = small.run(small.QUICK, log=lambda message: None)
    text = small.report(results, small.QUICK, 1.0, "cmd")
    assert "| variant (`--set` beside the CSV line) | iris |" in text and "Chosen by the rule" in text
