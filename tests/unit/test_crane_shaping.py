"""crane.shaping: each shaper judged by its residual-vibration curve (Singhose): zero (or the tolerance)
at the design frequency, bounded nearby, in the known order of robustness."""
import math

import numpy as np
import pytest

from smartgate_core.crane.shaping import (design, ei, peak_overlap, residual_vibration, retime_by_phase, unshaped,
                                          zv, zvd)

OMEGA = math.sqrt(9.81 / 12.0)


@pytest.mark.parametrize('zeta', [0.0, 0.05])
@pytest.mark.parametrize('make', [zv, zvd])
def test_zero_vibration_at_the_design_frequency(make, zeta):
    shaper = make(OMEGA, zeta)
    assert sum(shaper.amplitudes) == pytest.approx(1.0)
    assert residual_vibration(shaper, OMEGA, zeta) < 1e-9


def test_durations_are_half_and_one_damped_period():
    period = 2.0 * math.pi / OMEGA
    assert zv(OMEGA).duration_s == pytest.approx(period / 2)
    assert zvd(OMEGA).duration_s == pytest.approx(period)
    assert ei(OMEGA).duration_s == pytest.approx(period)


def test_residual_curves_near_the_design_frequency():
    """+-10 % frequency error (a rope length off by ~20 %): ZV leaves ~16 %, ZVD ~2.5 %, EI stays within
    its 5 % tolerance; an unshaped command leaves all of it."""
    band = OMEGA * np.array([0.9, 1.1])
    assert np.all(residual_vibration(unshaped(), band) == pytest.approx(1.0))
    v_zv, v_zvd = residual_vibration(zv(OMEGA), band), residual_vibration(zvd(OMEGA), band)
    assert np.all((v_zv > 0.10) & (v_zv < 0.20))
    assert np.all(v_zvd < 0.03)
    curve = residual_vibration(ei(OMEGA, tolerance=0.05), OMEGA * np.linspace(0.85, 1.15, 61))
    assert curve.max() <= 0.05 + 1e-3
    assert residual_vibration(ei(OMEGA, tolerance=0.05), OMEGA) == pytest.approx(0.05, abs=2e-3)


def test_zvd_is_flat_at_its_frequency():
    h = 1e-4 * OMEGA
    slope = (residual_vibration(zvd(OMEGA), OMEGA + h) - residual_vibration(zvd(OMEGA), OMEGA - h)) / (2 * h)
    assert abs(slope) < 1e-3


def test_every_shaper_is_bounded_by_the_unshaped_command():
    omegas = OMEGA * np.linspace(0.2, 3.0, 200)
    for name in ('zv', 'zvd', 'ei'):
        assert residual_vibration(design(name, OMEGA), omegas).max() <= 1.0 + 1e-9


def test_retiming_by_phase():
    """On a constant pendulum the phase retiming changes nothing; on a lengthening rope (slowing
    pendulum) the second impulse comes later, half a cycle of the pendulum as it then is."""
    t = np.arange(0.0, 20.0, 0.01)
    same = retime_by_phase(zv(OMEGA), OMEGA, 2.0, t, OMEGA * t)
    assert same.times_s == pytest.approx(zv(OMEGA).times_s, abs=1e-6)
    omega_t = OMEGA * (1.0 - 0.02 * t)
    phase = np.concatenate([[0.0], np.cumsum(0.5 * (omega_t[1:] + omega_t[:-1]) * np.diff(t))])
    slower = retime_by_phase(zv(OMEGA), OMEGA, 2.0, t, phase)
    assert slower.times_s[1] > zv(OMEGA).times_s[1]
    start = np.interp(2.0, t, phase)
    assert np.interp(2.0 + slower.times_s[1], t, phase) - start == pytest.approx(math.pi, abs=1e-3)


def test_peak_overlap():
    shaper = zv(OMEGA)
    assert peak_overlap(shaper, 0.5 * shaper.duration_s - 0.1) == pytest.approx(0.5)
    assert peak_overlap(shaper, shaper.duration_s + 0.1) == pytest.approx(1.0)
