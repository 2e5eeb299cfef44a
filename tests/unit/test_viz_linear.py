"""The linear-vs-PCA figure: errors side by side and the principal angles, in degrees."""

import numpy as np

from aekit.analysis.pca import LinearVsPCA
from aekit.viz import pca_figure


def test_errors_side_by_side_and_angles_smallest_first():
    result = LinearVsPCA(code_size=3, autoencoder_per_image=2.2, autoencoder_mse=0.1, pca_per_image=2.0,
                         pca_mse=0.09, angles_deg=np.array([30.0, 5.0, 1.0]))
    fig = pca_figure(result)
    ax_err, ax_angles = fig.axes
    assert [t.get_text() for t in ax_err.get_xticklabels()] == ["linear autoencoder", "PCA"]
    assert [p.get_height() for p in ax_err.patches] == [2.2, 2.0]
    assert ax_err.get_title() == "k = 3: error ratio 1.100"
    assert [p.get_height() for p in ax_angles.patches] == [1.0, 5.0, 30.0]
    assert ax_angles.get_ylim() == (0, 90) and ax_angles.get_ylabel() == "angle (degrees)"
    assert "largest angle 30.0°" in ax_angles.get_title()
