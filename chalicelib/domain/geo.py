"""Great-circle distances and the home-visit location check.

Pure Python, no I/O.  Coordinates are WGS 84 decimal degrees (latitude
first); range checks are left to the request models (pydantic), but every
function here rejects NaN and infinities with ``ValueError`` so that a bad
float can never turn into a silent ``ok``.

Distances are computed on a sphere of radius :data:`EARTH_MEAN_RADIUS_M`
(6,371,008.8 m, the IUGG mean Earth radius R1 = (2a + b) / 3 of the
GRS 80 / WGS 84 ellipsoid).  Against the ellipsoid the spherical model is off
by up to about 0.5 %, i.e. under 2 m at the 300 m visit radius,
which is far below phone GPS accuracy.
"""

from __future__ import annotations

import math
from enum import Enum

__all__ = [
    "EARTH_MEAN_RADIUS_M",
    "LOCATION_OK_RADIUS_M",
    "LOW_ACCURACY_THRESHOLD_M",
    "LocationCheck",
    "check_location",
    "haversine_m",
    "require_finite",
]

#: IUGG mean Earth radius R1 in metres (sphere used by :func:`haversine_m`).
EARTH_MEAN_RADIUS_M = 6_371_008.8

#: A visit is ``ok`` when it is within this many metres of the client's
#: registered location, plus the GPS accuracy the device reported.
LOCATION_OK_RADIUS_M = 300.0

#: A fix whose reported accuracy (metres) is worse than this is
#: ``low_accuracy``; exactly this value is still acceptable.
LOW_ACCURACY_THRESHOLD_M = 100.0


class LocationCheck(str, Enum):
    """Outcome of :func:`check_location` (serialised as its value)."""

    OK = "ok"
    FAR = "far"
    LOW_ACCURACY = "low_accuracy"
    UNKNOWN = "unknown"


def require_finite(name: str, value: float) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` for NaN/inf."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return value


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two points given in degrees.

    Uses the haversine formula on a sphere of radius
    :data:`EARTH_MEAN_RADIUS_M` (IUGG mean radius, 6,371,008.8 m).

    :raises ValueError: if any argument is NaN or infinite.
    """
    phi1 = math.radians(require_finite("lat1", lat1))
    lam1 = math.radians(require_finite("lon1", lon1))
    phi2 = math.radians(require_finite("lat2", lat2))
    lam2 = math.radians(require_finite("lon2", lon2))

    sin_dphi = math.sin((phi2 - phi1) / 2.0)
    sin_dlam = math.sin((lam2 - lam1) / 2.0)
    h = sin_dphi * sin_dphi + math.cos(phi1) * math.cos(phi2) * sin_dlam * sin_dlam
    # Rounding can push h a hair outside [0, 1] for (near-)antipodal points.
    h = min(1.0, max(0.0, h))
    return 2.0 * EARTH_MEAN_RADIUS_M * math.asin(math.sqrt(h))


def check_location(
    registered: tuple[float, float] | None,
    reported: tuple[float, float],
    accuracy_m: float,
) -> tuple[int | None, LocationCheck]:
    """Compare a visit's reported GPS fix with the client's registered location.

    Returns ``(distance_m, location_check)``:

    * ``distance_m`` -- distance from the registered location rounded to the
      nearest whole metre, or ``None`` when the client has no registered
      location.  It is returned for every check except ``unknown``.
    * ``location_check``, decided in this order:

      1. ``unknown`` -- no registered location;
      2. ``low_accuracy`` -- ``accuracy_m > LOW_ACCURACY_THRESHOLD_M`` (100 m);
      3. ``ok`` -- ``distance_m <= LOCATION_OK_RADIUS_M (300 m) + accuracy_m``;
      4. ``far`` -- otherwise.

    The ok/far comparison uses the same whole-metre ``distance_m`` that is
    returned, so a stored record is always self-consistent (a stored 350 m
    with 50 m accuracy is ``ok``, 351 m is ``far``).

    :raises ValueError: if any coordinate or ``accuracy_m`` is NaN/infinite
        (checked even when ``registered`` is ``None``).
    """
    rep_lat, rep_lon = reported
    rep_lat = require_finite("reported latitude", rep_lat)
    rep_lon = require_finite("reported longitude", rep_lon)
    accuracy_m = require_finite("accuracy_m", accuracy_m)

    if registered is None:
        return None, LocationCheck.UNKNOWN

    reg_lat, reg_lon = registered
    distance_m = round(haversine_m(reg_lat, reg_lon, rep_lat, rep_lon))

    if accuracy_m > LOW_ACCURACY_THRESHOLD_M:
        return distance_m, LocationCheck.LOW_ACCURACY
    if distance_m <= LOCATION_OK_RADIUS_M + accuracy_m:
        return distance_m, LocationCheck.OK
    return distance_m, LocationCheck.FAR
