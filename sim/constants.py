"""Physical constants for the simulated world, in SI units unless the name says otherwise.

Sources: MU_EARTH_M3_S2, R_EARTH_EQ_M and J2_EARTH are the EGM-96/WGS-84 values used by
Vallado, *Fundamentals of Astrodynamics and Applications* (4th ed.), Table D-1;
OMEGA_EARTH_RAD_S is the WGS-84 rotation rate; WGS84_FLATTENING is NIMA TR8350.2;
SOLAR_CONSTANT_W_M2 is the total solar irradiance at 1 AU (Kopp & Lean 2011);
SIGMA_W_M2_K4 is CODATA 2018; AU_M is IAU 2012 Resolution B2.
"""

__all__ = [
    "AU_M",
    "J2_EARTH",
    "KELVIN_OFFSET",
    "MU_EARTH_M3_S2",
    "OMEGA_EARTH_RAD_S",
    "R_EARTH_EQ_M",
    "R_SUN_M",
    "SIGMA_W_M2_K4",
    "SOLAR_CONSTANT_W_M2",
    "SPACE_TEMP_K",
    "WGS84_FLATTENING",
]

MU_EARTH_M3_S2 = 3.986004418e14  # Earth's gravitational parameter [m^3/s^2]
R_EARTH_EQ_M = 6378137.0  # Earth's equatorial radius (WGS-84 semi-major axis) [m]
J2_EARTH = 1.08262668e-3  # Earth's second zonal harmonic [-]
OMEGA_EARTH_RAD_S = 7.292115e-5  # Earth's rotation rate [rad/s]
WGS84_FLATTENING = 1.0 / 298.257223563  # WGS-84 ellipsoid flattening [-]
SOLAR_CONSTANT_W_M2 = 1361.0  # total solar irradiance at 1 AU [W/m^2]
SIGMA_W_M2_K4 = 5.670374419e-8  # Stefan-Boltzmann constant [W/(m^2 K^4)]
AU_M = 1.495978707e11  # astronomical unit [m]
R_SUN_M = 6.96e8  # solar radius [m]
KELVIN_OFFSET = 273.15  # add to a Celsius temperature to get kelvin [K]
SPACE_TEMP_K = 3.0  # effective temperature of deep space [K]
