"""Command shapers for the rope pendulum (Singhose, Seering, Singer): a command convolved with a few
impulses cancels the sway it would excite at the pendulum frequency omega = sqrt(g / L).

Each shaper is a small function of the natural frequency omega [rad/s] and the damping ratio zeta,
returning impulse times and amplitudes (amplitudes sum to 1, so the shaped move ends where the unshaped
one does). `residual_vibration` is the percentage of sway left relative to an unshaped step; it is how
every shaper is judged: ZV is zero at its design frequency, ZVD is zero there with zero slope (more
robust to a wrong rope length), EI keeps it below a tolerable V over a wider band.

The rope length changes while hoisting, so the frequency changes within a move. A shaper's impulses
are therefore placed by the pendulum's phase, not by the clock: `retime_by_phase` moves impulse i to
where the accumulated phase integral of omega(t) dt reaches omega_design * t_i (a ZV's second impulse
half a sway cycle after the first, as the rope is then). What retiming cannot fix (the amplitude a pulse
excites also changes with L) is left to the sway feedback.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Shaper:
    times_s: tuple
    amplitudes: tuple

    @property
    def duration_s(self) -> float:
        return float(self.times_s[-1])

    def centroid_s(self) -> float:
        """Mean delay the shaper adds to a command [s]."""
        return float(np.dot(self.amplitudes, self.times_s))


def _damped(omega_radps: float, zeta: float) -> tuple[float, float]:
    """Damped period and K = exp(-zeta pi / sqrt(1 - zeta^2))."""
    root = math.sqrt(1.0 - zeta * zeta)
    return 2.0 * math.pi / (omega_radps * root), math.exp(-zeta * math.pi / root)


def unshaped() -> Shaper:
    """The identity: one impulse of 1 at 0 (the plain trapezoid)."""
    return Shaper((0.0,), (1.0,))


def zv(omega_radps: float, zeta: float = 0.0) -> Shaper:
    """Zero vibration: two impulses half a damped period apart; zero residual at omega, costs T/2."""
    period, k = _damped(omega_radps, zeta)
    return Shaper((0.0, 0.5 * period), (1.0 / (1.0 + k), k / (1.0 + k)))


def zvd(omega_radps: float, zeta: float = 0.0) -> Shaper:
    """Zero vibration and derivative: three impulses over a period; flat at omega, costs T."""
    period, k = _damped(omega_radps, zeta)
    norm = (1.0 + k) ** 2
    return Shaper((0.0, 0.5 * period, period), (1.0 / norm, 2.0 * k / norm, k * k / norm))


def ei(omega_radps: float, zeta: float = 0.0, tolerance: float = 0.05) -> Shaper:
    """Extra insensitive: residual exactly `tolerance` at omega, below it over a wide band; costs T.
    Amplitudes and middle time from Singhose's curve fits in (V, zeta), good for zeta <= 0.3."""
    period, _ = _damped(omega_radps, zeta)
    v, z = tolerance, zeta
    a1 = 0.24968 + 0.24961 * v + 0.80008 * z + 1.23328 * v * z + 0.49599 * z ** 2 + 3.17316 * v * z ** 2
    a3 = 0.25149 + 0.21474 * v - 0.83249 * z + 1.41498 * v * z + 0.85181 * z ** 2 - 4.90094 * v * z ** 2
    t2 = period * (0.49990 + 0.46159 * v * z + 4.26169 * v * z ** 2 + 1.75601 * v * z ** 3 + 8.57843 * v * v * z
                   - 108.644 * v * v * z ** 2 + 336.989 * v * v * z ** 3)
    return Shaper((0.0, t2, period), (a1, 1.0 - a1 - a3, a3))


SHAPERS = {'none': lambda omega, zeta, tol: unshaped(), 'zv': lambda omega, zeta, tol: zv(omega, zeta),
           'zvd': lambda omega, zeta, tol: zvd(omega, zeta), 'ei': ei}


def design(name: str, omega_radps: float, zeta: float = 0.0, ei_tolerance: float = 0.05) -> Shaper:
    """The shaper called `name` ('none', 'zv', 'zvd', 'ei') for this frequency and damping."""
    return SHAPERS[name](omega_radps, zeta, ei_tolerance)


def residual_vibration(shaper: Shaper, omega_radps, zeta: float = 0.0):
    """Sway left after the shaped impulse train, relative to one unit impulse (1 = unshaped), for a
    pendulum of natural frequency omega and damping zeta (vectorised over omega)."""
    omega = np.asarray(omega_radps, dtype=float)
    wd = omega * math.sqrt(1.0 - zeta * zeta)
    t = np.asarray(shaper.times_s)[:, None]
    a = np.asarray(shaper.amplitudes)[:, None]
    decay = np.exp(zeta * omega * (t - t[-1]))
    c = (a * decay * np.cos(wd * t)).sum(axis=0)
    s = (a * decay * np.sin(wd * t)).sum(axis=0)
    return np.hypot(c, s) if omega.ndim else float(np.hypot(c, s)[0])


def retime_by_phase(shaper: Shaper, omega_design_radps: float, t0_s: float, t_grid_s: np.ndarray,
                    phase_grid_rad: np.ndarray) -> Shaper:
    """The same impulses placed by phase on a pendulum whose phase (integral of omega dt) is tabulated
    on t_grid: impulse i goes where the phase has advanced omega_design * t_i since t0."""
    start = np.interp(t0_s, t_grid_s, phase_grid_rad)
    targets = start + omega_design_radps * np.asarray(shaper.times_s)
    times = np.interp(targets, phase_grid_rad, t_grid_s) - t0_s
    return Shaper(tuple(float(x) for x in times), shaper.amplitudes)


def peak_overlap(shaper: Shaper, pulse_s: float) -> float:
    """Largest sum of amplitudes whose copies of a pulse of this length overlap in time: the factor by
    which shaping scales the pulse's peak (ZV on a pulse shorter than T/2: 0.5)."""
    times = np.asarray(shaper.times_s)
    amps = np.asarray(shaper.amplitudes)
    return max(float(amps[(times <= t) & (t < times + pulse_s)].sum()) for t in times)
