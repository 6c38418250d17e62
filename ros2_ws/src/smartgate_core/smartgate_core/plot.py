"""Pictures of a run: the driven trajectory over the lane map, with close-ups of the stops."""
from __future__ import annotations

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)
import numpy as np  # noqa: E402

STYLE = {'yard': ('#f2d98c', 0.5), 'crane_bay': ('#f08a3c', 0.5), 'customs_checkpoint': ('#7d8cff', 0.4),
         'speed_zone': ('#e8e84a', 0.12), 'gnss_outage_zone': ('#555555', 0.35), 'multipath_zone': ('#b070ff', 0.3)}


def draw_map(ax, lane_map):
    """Yards, bays, checkpoints, lanes (driverless in green) and the km 0 line."""
    for kind, (color, alpha) in STYLE.items():
        for f in lane_map.of_kind(kind):
            x, y = f.geometry.exterior.xy
            ax.fill(x, y, color=color, alpha=alpha, lw=0)
    for f in lane_map.of_kind('lane'):
        x, y = f.geometry.xy
        driverless = f.properties['driverless']
        ax.plot(x, y, color='#2aa84a' if driverless else '#9a9a9a', lw=2.0 if driverless else 0.8,
                alpha=0.9, solid_capstyle='butt')
    for f in lane_map.of_kind('border_line'):
        x, y = f.geometry.xy
        ax.plot(x, y, color='red', lw=2.5)
        ax.annotate('km 0', (x[-1], y[-1]), color='red', fontsize=8, xytext=(4, 0), textcoords='offset points')


def trajectory_figure(lane_map, legs, truth_xy, estimate_xy, path, title):
    """Save a PNG: overview of the map and the driven path, plus a close-up of each stop.

    legs: [{'route': Route, 'stop_error_m': float, 'stop_xy': (x, y)}]
    """
    n = len(legs)
    fig = plt.figure(figsize=(6 + 3.2 * n, 9), dpi=110)
    grid = fig.add_gridspec(2, 1 + n, width_ratios=[2.0] + [1.0] * n)
    ax = fig.add_subplot(grid[:, 0])
    draw_map(ax, lane_map)
    for leg in legs:
        ax.plot(leg['route'].xy[:, 0], leg['route'].xy[:, 1], color='#1f9fd8', lw=1.0, ls='--')
    if len(truth_xy):
        ax.plot(truth_xy[:, 0], truth_xy[:, 1], color='black', lw=1.2, label='driven (ground truth)')
    ax.set_aspect('equal')
    ax.set_xlabel('x east [m] (map frame)')
    ax.set_ylabel('y north [m]')
    ax.set_title('lane map: GNSS outage grey, multipath violet', fontsize=8)
    fig.suptitle(title, fontsize=11)
    ax.legend(loc='lower left', fontsize=8)
    ax.text(0.01, 0.99, 'map illustrative, not surveyed', transform=ax.transAxes, va='top', fontsize=7,
            color='#a00')
    for i, leg in enumerate(legs):
        zx = fig.add_subplot(grid[0, 1 + i])
        gx, gy = leg['route'].xy[-1]
        for xy, color, label in ((truth_xy, 'black', 'ground truth'), (estimate_xy, '#d62728', 'estimate')):
            if len(xy):
                near = np.hypot(xy[:, 0] - gx, xy[:, 1] - gy) < 0.5
                zx.plot((xy[near, 0] - gx) * 100, (xy[near, 1] - gy) * 100, '.-', color=color, ms=2,
                        lw=0.8, label=label)
        zx.plot(0, 0, marker='+', color='#f08a3c', ms=14, mew=2, label='stop point')
        if leg.get('stop_xy') is not None:
            sx, sy = leg['stop_xy']
            zx.plot((sx - gx) * 100, (sy - gy) * 100, 'o', mfc='none', mec='black', ms=8)
        zx.set_xlim(-15, 15)
        zx.set_ylim(-15, 15)
        zx.set_aspect('equal')
        zx.grid(alpha=0.3)
        zx.set_title(f"{leg['route'].stop_node_id}\nstop error {leg['stop_error_m'] * 100:.1f} cm", fontsize=9)
        zx.set_xlabel('east [cm]')
        if i == 0:
            zx.set_ylabel('north [cm]')
            zx.legend(fontsize=7, loc='lower right')
        sx_ = fig.add_subplot(grid[1, 1 + i])
        route = leg['route']
        if len(truth_xy):
            inside = leg.get('truth_slice', slice(None))
            seg = truth_xy[inside]
            lat = [route.project(x, y).lateral_m for x, y in seg[::5]]
            s = [route.project(x, y).s_m for x, y in seg[::5]]
            sx_.plot(s, np.asarray(lat) * 100, color='black', lw=0.8)
        sx_.axhline(0, color='#1f9fd8', lw=0.8)
        sx_.set_xlabel(f'distance along {route.route_id} [m]', fontsize=8)
        sx_.set_ylabel('cross-track [cm]')
        sx_.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
