"""`smartgate demo` end to end: separate node processes over DDS on simulated time."""
import json
import os
import re
import subprocess
import time

import pytest
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory

from ..conftest import REPO, running_node_processes

pytestmark = pytest.mark.system


def test_demo_drives_the_export_route_and_stops_at_the_crane_bay(tmp_path, ros_domain):
    out, summary_file = tmp_path / 'run', tmp_path / 'summary.json'
    before = set(running_node_processes())
    started = time.monotonic()
    proc = subprocess.run(['smartgate', 'demo', '--output', str(out), '--json', str(summary_file)],
                          capture_output=True, text=True, timeout=240, cwd=REPO, env=dict(os.environ))
    wall = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads(summary_file.read_text())
    assert summary == json.loads((out / 'summary.json').read_text())
    assert summary['route_completed'] is True
    assert summary['stop_error_m'] <= 0.10
    assert [leg['stop_node_id'] for leg in summary['legs']] == ['vn_exp_cb1_stop', 'vn_exp_handover']
    assert summary['max_cross_track_m'] < 0.20
    assert summary['max_speed_kmh'] >= 29.0
    assert 0 < summary['sim_seconds'] and 0 < summary['wall_seconds'] < 180.0 and wall < 180.0
    # progress while driving: '[sim  12.3 s]  45.6/694 m ...' lines, counting up to the end of each leg
    progress = [(float(m[1]), float(m[2]), float(m[3])) for m in
                re.finditer(r'\[sim\s+([\d.]+) s\]\s+([\d.]+)/(\d+) m', proc.stdout)]
    assert len(progress) >= 10, 'no progress shown while driving'
    assert all(b[0] > a[0] for a, b in zip(progress, progress[1:])), 'progress lines out of time order'
    longest = max(length for _, _, length in progress)
    assert max(d for _, d, length in progress if length == longest) > 0.8 * longest
    # nothing left running
    assert set(running_node_processes()) <= before

    # the picture and the recording
    png = (out / 'trajectory.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 20_000
    counts, decoded = {}, {}
    with open(out / 'run.mcap', 'rb') as f:
        for schema, channel, message, ros_msg in make_reader(f, decoder_factories=[DecoderFactory()]) \
                .iter_decoded_messages():
            counts[channel.topic] = counts.get(channel.topic, 0) + 1
            decoded.setdefault(channel.topic, (schema.name, ros_msg))
    assert counts == summary['recorded_messages']
    for topic in ('/clock', '/igv_01/gnss/fix', '/igv_01/localization/odometry', '/igv_01/cmd_drive',
                  '/igv_01/route/progress', '/map/markers', '/diagnostics'):
        assert counts.get(topic, 0) > 0, f'{topic} not recorded'
    name, odom = decoded['/igv_01/localization/odometry']
    assert name == 'nav_msgs/msg/Odometry' and odom.header.frame_id == 'map'
    name, progress = decoded['/igv_01/route/progress']
    assert name == 'smartgate_interfaces/msg/RouteProgress' and progress.route_id.startswith('moc1119_export')
