"""One quick tour per test session: the tour's own test and every claim's test read its evidence, so
each claim's quick mode runs once in CI."""

import pytest


@pytest.fixture(scope="session")
def quick_tour(tmp_path_factory):
    from aekit.tour.runner import run_tour

    return run_tour(tmp_path_factory.mktemp("quick-tour"), quick=True, threads=1, command="aekit tour --quick",
                    log=lambda message: None)
