"""The tour: every claim of the lecture re-measured under one protocol, with a verdict computed from the numbers.

    aekit tour                      # every claim, the full protocol, 5 seeds (pretraining 14), about 2 h
    aekit tour --quick              # tiny versions of the same code paths (minutes; run in CI)
    aekit tour --only linear_pca,contractive

Each claim is a registered component (``@register("claim", key)``, one module of
:mod:`aekit.tour.claims`) that trains what it needs, measures it and returns :class:`Evidence`: the
claim in one sentence, the protocol (data, split, seeds, what was selected on what), the scale it ran
at, a table of mean ± sd over seeds, figures, published numbers beside ours (never in one cell), and a
verdict decided by the tour's one statistical rule (:data:`aekit.tour.claim.RULE`: paired differences
over seeds that draw the split too, a t interval, each claim's effect size of interest and the power
to detect it), with its stability without any one seed or test image. :func:`aekit.tour.runner.run_tour` writes one self-contained HTML page,
``results.json`` and ``tables.md`` (the README's result tables).

The evidence protocol (``shared/DESIGN.md``): nothing is chosen on the test split; a labelled row used
for any choice counts toward the label budget; baselines get the same selection; a claim that fails
is reported as failing.
"""
