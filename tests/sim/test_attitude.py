"""Nadir-pointing attitude (sim/attitude.py) and body-fixed panels in the world."""

from __future__ import annotations

import copy

import numpy as np

from sim.attitude import lvlh_axes_eci, sun_dir_body
from sim.orbit import CircularOrbit
from sim.scenario import load_scenario, scenario_from_dict
from sim.world import World

ORTHONORMAL_TOL = 1e-9


def test_lvlh_axes_are_orthonormal_with_z_to_nadir_and_x_along_track():
    orbit = CircularOrbit(550.0, 53.0, 40.0)
    t = np.arange(0.0, 600.0, 1.0)
    r = orbit.position_eci_m(t)
    axes = lvlh_axes_eci(r, 1.0)
    gram = np.einsum("tij,tkj->tik", axes, axes)
    assert np.abs(gram - np.eye(3)).max() < ORTHONORMAL_TOL, "axes are not orthonormal"
    nadir = -r / np.linalg.norm(r, axis=1, keepdims=True)
    assert np.abs(axes[:, 2] - nadir).max() < ORTHONORMAL_TOL, "+z is not nadir"
    v = np.gradient(r, 1.0, axis=0)
    v_hat = v / np.linalg.norm(v, axis=1, keepdims=True)
    assert np.min(np.sum(axes[:, 0] * v_hat, axis=1)) > 0.9999, "+x is not along track"


def test_the_sun_overhead_is_minus_z_in_the_body_frame():
    orbit = CircularOrbit(550.0, 0.0, 0.0)
    r = orbit.position_eci_m(np.array([0.0, 1.0, 2.0]))
    axes = lvlh_axes_eci(r, 1.0)
    zenith = r / np.linalg.norm(r, axis=1, keepdims=True)
    s = sun_dir_body(axes, zenith)
    assert np.allclose(s, [[0.0, 0.0, -1.0]] * 3, atol=1e-9), s


def test_body_fixed_zenith_panels_give_less_energy_than_sun_tracking_ones():
    data = load_scenario("default").data
    body = copy.deepcopy(data)
    body["power"]["panel_pointing"] = "body-fixed"
    n = 6000
    tracking = World(scenario_from_dict(data), n, 0).solar_w
    fixed = World(scenario_from_dict(body), n, 0).solar_w
    assert fixed.sum() < 0.8 * tracking.sum(), "a zenith-fixed panel cannot match a sun-tracking one"
    assert fixed.max() > 0.0 and (fixed <= tracking + 1e-9).all(), "incidence never beats tracking"
