"""plot: the trajectory figure of a run is written as a PNG (headless)."""
import numpy as np
import pytest

from smartgate_core.plot import trajectory_figure

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def test_trajectory_figure_writes_a_png_for_the_real_map(real_map, tmp_path):
    route = real_map.route('moc1119_export_yard_to_crane')
    truth = route.xy[::4] + np.array([0.0, 0.02])
    estimate = route.xy[::4] + np.array([0.01, 0.0])
    path = tmp_path / 'run.png'
    trajectory_figure(real_map, [{'route': route, 'stop_error_m': 0.012, 'stop_xy': tuple(truth[-1])}],
                      truth, estimate, path, 'moc1119_export_yard_to_crane, seed 1')
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 20_000          # a drawn figure, not an empty canvas


@pytest.mark.filterwarnings('ignore:No artists with labels found:UserWarning')   # nothing driven: empty legend
def test_trajectory_figure_with_two_legs_and_no_trajectory(real_map, tmp_path):
    legs = [{'route': real_map.route(rid), 'stop_error_m': 0.0}
            for rid in ('moc1119_export_yard_to_crane', 'moc1119_import_km0_to_crane')]
    path = tmp_path / 'empty.png'
    trajectory_figure(real_map, legs, np.zeros((0, 2)), np.zeros((0, 2)), path, 'nothing driven yet')
    assert path.read_bytes()[:8] == PNG_MAGIC
