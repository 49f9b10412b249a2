import math

from sim import constants

RELATIVE_TOLERANCE = 1e-12


def test_constants_have_the_values_the_brief_fixes() -> None:
    expected = {
        "MU_EARTH_M3_S2": 3.986004418e14,
        "R_EARTH_EQ_M": 6378137.0,
        "J2_EARTH": 1.08262668e-3,
        "OMEGA_EARTH_RAD_S": 7.292115e-5,
        "SOLAR_CONSTANT_W_M2": 1361.0,
        "SIGMA_W_M2_K4": 5.670374419e-8,
        "AU_M": 1.495978707e11,
        "R_SUN_M": 6.96e8,
        "KELVIN_OFFSET": 273.15,
        "SPACE_TEMP_K": 3.0,
    }
    for name, value in expected.items():
        got = getattr(constants, name)
        assert math.isclose(got, value, rel_tol=RELATIVE_TOLERANCE), f"{name} is {got}, not {value}"


def test_every_public_constant_is_listed_in_all() -> None:
    public = {n for n in dir(constants) if n.isupper() and not n.startswith("_")}
    assert public == set(constants.__all__), "constants.__all__ is out of step with the module"
