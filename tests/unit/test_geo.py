"""Tests for chalicelib.domain.geo.

Reference distances are recomputed here with formulations that share no code
with the haversine implementation (3-D unit-vector chord and the spherical
law of cosines), pinned to the metre, and sanity-checked against loose bands
around commonly quoted straight-line figures.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from chalicelib.domain.geo import (
    EARTH_MEAN_RADIUS_M,
    LOCATION_OK_RADIUS_M,
    LOW_ACCURACY_THRESHOLD_M,
    LocationCheck,
    check_location,
    haversine_m,
)

R = 6_371_008.8  # IUGG mean radius, restated on purpose

# Landmark coordinates (decimal degrees, WGS 84), approximate map positions.
MONAS = (-6.175392, 106.827153)  # Monumen Nasional, Jakarta
JAKARTA_KOTA = (-6.137645, 106.814863)  # Stasiun Jakarta Kota
LOSARI = (-5.143600, 119.407800)  # Pantai Losari, Makassar
FORT_ROTTERDAM = (-5.133890, 119.405560)  # Benteng Rotterdam, Makassar
JAYAPURA = (-2.533900, 140.716600)  # Taman Imbi, Jayapura city centre
SENTANI = (-2.576940, 140.516110)  # Bandara Sentani (DJJ), Jayapura regency


# ---------------------------------------------------------------------------
# Independent reference formulations
# ---------------------------------------------------------------------------


def _unit_vector(lat: float, lon: float) -> tuple[float, float, float]:
    phi, lam = math.radians(lat), math.radians(lon)
    return (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))


def chord_distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Central angle from the straight-line chord between unit vectors."""
    chord = math.dist(_unit_vector(*a), _unit_vector(*b))
    return R * 2.0 * math.asin(min(1.0, chord / 2.0))


def law_of_cosines_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Spherical law of cosines (fine in double precision above ~1 m)."""
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dl = math.radians(b[1] - a[1])
    cos_c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return R * math.acos(max(-1.0, min(1.0, cos_c)))


def point_north_of(origin: tuple[float, float], metres: float) -> tuple[float, float]:
    """Point due north of ``origin`` at exactly ``metres`` along the meridian."""
    return (origin[0] + math.degrees(metres / R), origin[1])


# ---------------------------------------------------------------------------
# haversine_m
# ---------------------------------------------------------------------------


def test_radius_is_iugg_mean_radius() -> None:
    assert EARTH_MEAN_RADIUS_M == 6_371_008.8


@pytest.mark.parametrize(
    ("a", "b", "expected_m", "band_m"),
    [
        # Monas -> Jakarta Kota: ~4.4 km straight line.
        (MONAS, JAKARTA_KOTA, 4_412, (4_000, 4_800)),
        # Pantai Losari -> Fort Rotterdam: ~1.1 km walk along the seafront.
        (LOSARI, FORT_ROTTERDAM, 1_108, (800, 1_500)),
        # Jayapura city -> Sentani airport: ~23 km straight (~37 km by road).
        (JAYAPURA, SENTANI, 22_780, (20_000, 26_000)),
        # Jakarta (Monas) -> Makassar (Fort Rotterdam): ~1,400 km.
        (MONAS, FORT_ROTTERDAM, 1_396_614, (1_350_000, 1_450_000)),
    ],
    ids=["monas-kota", "losari-rotterdam", "jayapura-sentani", "jakarta-makassar"],
)
def test_known_indonesian_distances(
    a: tuple[float, float],
    b: tuple[float, float],
    expected_m: int,
    band_m: tuple[int, int],
) -> None:
    got = haversine_m(*a, *b)
    # Independent formulations agree to well under a millimetre ...
    assert got == pytest.approx(chord_distance_m(a, b), abs=1e-3)
    assert got == pytest.approx(law_of_cosines_m(a, b), abs=1e-3)
    # ... and to the metre with the pinned value ...
    assert round(got) == expected_m
    assert round(chord_distance_m(a, b)) == expected_m
    # ... which lies in the band around the published approximate figure.
    assert band_m[0] <= got <= band_m[1]


def test_zero_distance() -> None:
    assert haversine_m(*MONAS, *MONAS) == 0.0
    assert haversine_m(0.0, 0.0, 0.0, 0.0) == 0.0


def test_symmetry_on_known_pair() -> None:
    assert haversine_m(*MONAS, *FORT_ROTTERDAM) == pytest.approx(haversine_m(*FORT_ROTTERDAM, *MONAS), rel=1e-15)


def test_meridian_arc_is_exact() -> None:
    # Along a meridian the distance is simply R * dphi.
    assert haversine_m(*MONAS, *point_north_of(MONAS, 300.0)) == pytest.approx(300.0, abs=1e-6)
    assert haversine_m(-90.0, 0.0, 90.0, 0.0) == pytest.approx(math.pi * R, rel=1e-12)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("position", range(4))
def test_haversine_rejects_non_finite(bad: float, position: int) -> None:
    args = [*MONAS, *JAKARTA_KOTA]
    args[position] = bad
    with pytest.raises(ValueError):
        haversine_m(*args)


# ---------------------------------------------------------------------------
# Property tests
# ---------------------------------------------------------------------------

lats = st.floats(min_value=-90.0, max_value=90.0, allow_nan=False, allow_infinity=False)
lons = st.floats(min_value=-180.0, max_value=180.0, allow_nan=False, allow_infinity=False)
points = st.tuples(lats, lons)


@given(points, points)
def test_property_symmetric_and_non_negative(a: tuple[float, float], b: tuple[float, float]) -> None:
    d_ab = haversine_m(*a, *b)
    d_ba = haversine_m(*b, *a)
    assert 0.0 <= d_ab <= math.pi * R * (1 + 1e-12)
    assert math.isclose(d_ab, d_ba, rel_tol=1e-12, abs_tol=1e-9)


@given(points)
def test_property_zero_distance_to_self(a: tuple[float, float]) -> None:
    assert haversine_m(*a, *a) == 0.0


@given(points, points, points)
def test_property_triangle_inequality(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> None:
    d_ac = haversine_m(*a, *c)
    d_ab = haversine_m(*a, *b)
    d_bc = haversine_m(*b, *c)
    assert d_ac <= (d_ab + d_bc) * (1 + 1e-6) + 1e-6


@given(points, points)
def test_property_agrees_with_chord_formulation(a: tuple[float, float], b: tuple[float, float]) -> None:
    got = haversine_m(*a, *b)
    # Both formulations are ill-conditioned close to the antipode.
    assume(got < 15_000_000)
    assert got == pytest.approx(chord_distance_m(a, b), rel=1e-9, abs=1e-3)


# ---------------------------------------------------------------------------
# check_location
# ---------------------------------------------------------------------------


def test_thresholds_are_named_constants() -> None:
    assert LOCATION_OK_RADIUS_M == 300
    assert LOW_ACCURACY_THRESHOLD_M == 100


def test_enum_values_serialise_as_strings() -> None:
    assert [c.value for c in LocationCheck] == ["ok", "far", "low_accuracy", "unknown"]
    assert LocationCheck.LOW_ACCURACY == "low_accuracy"


def test_unknown_without_registered_location() -> None:
    assert check_location(None, MONAS, 10.0) == (None, LocationCheck.UNKNOWN)
    # "unknown" takes precedence over low accuracy.
    assert check_location(None, MONAS, 5_000.0) == (None, LocationCheck.UNKNOWN)


def test_same_place_is_ok_with_zero_distance() -> None:
    assert check_location(MONAS, MONAS, 5.0) == (0, LocationCheck.OK)


def test_far_reports_rounded_distance() -> None:
    distance, check = check_location(MONAS, JAKARTA_KOTA, 20.0)
    assert check is LocationCheck.FAR
    assert distance == 4_412
    assert isinstance(distance, int)


@pytest.mark.parametrize("accuracy", [0.0, 1.0, 50.0, 100.0])
def test_ok_far_boundary_is_inclusive_at_300_plus_accuracy(accuracy: float) -> None:
    at_limit = point_north_of(MONAS, LOCATION_OK_RADIUS_M + accuracy)
    assert check_location(MONAS, at_limit, accuracy) == (
        round(300 + accuracy),
        LocationCheck.OK,
    )
    beyond = point_north_of(MONAS, LOCATION_OK_RADIUS_M + accuracy + 1.0)
    assert check_location(MONAS, beyond, accuracy) == (
        round(301 + accuracy),
        LocationCheck.FAR,
    )


def test_fractional_accuracy_is_compared_with_whole_metre_distance() -> None:
    # 312.4 m is reported as 312 <= 312.5 -> ok; 312.6 m is reported as 313 -> far.
    assert check_location(MONAS, point_north_of(MONAS, 312.4), 12.5) == (312, LocationCheck.OK)
    assert check_location(MONAS, point_north_of(MONAS, 312.6), 12.5) == (313, LocationCheck.FAR)


def test_ok_far_boundary_uses_reported_whole_metres() -> None:
    reported = point_north_of(MONAS, 350.3)
    distance, _ = check_location(MONAS, reported, 0.0)
    assert distance == 350
    assert check_location(MONAS, reported, distance - 300.0)[1] is LocationCheck.OK
    assert check_location(MONAS, reported, distance - 300.0 - 0.01)[1] is LocationCheck.FAR


def test_accuracy_exactly_100_is_not_low_accuracy() -> None:
    near = point_north_of(MONAS, 50.0)
    assert check_location(MONAS, near, 100.0) == (50, LocationCheck.OK)
    assert check_location(MONAS, JAKARTA_KOTA, 100.0) == (4_412, LocationCheck.FAR)


def test_accuracy_above_100_is_low_accuracy_even_when_near_or_far() -> None:
    near = point_north_of(MONAS, 50.0)
    assert check_location(MONAS, near, 100.1) == (50, LocationCheck.LOW_ACCURACY)
    assert check_location(MONAS, MONAS, 100.1) == (0, LocationCheck.LOW_ACCURACY)
    assert check_location(MONAS, JAKARTA_KOTA, 100.1) == (4_412, LocationCheck.LOW_ACCURACY)


def test_check_location_is_symmetric_in_distance() -> None:
    assert check_location(LOSARI, FORT_ROTTERDAM, 10.0) == check_location(FORT_ROTTERDAM, LOSARI, 10.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_check_location_rejects_non_finite(bad: float) -> None:
    with pytest.raises(ValueError):
        check_location(MONAS, JAKARTA_KOTA, bad)
    with pytest.raises(ValueError):
        check_location(MONAS, (bad, 106.8), 10.0)
    with pytest.raises(ValueError):
        check_location(MONAS, (-6.1, bad), 10.0)
    with pytest.raises(ValueError):
        check_location((bad, 106.8), JAKARTA_KOTA, 10.0)
    with pytest.raises(ValueError):
        check_location((-6.1, bad), JAKARTA_KOTA, 10.0)
    # Bad input is rejected even when there is nothing to compare against.
    with pytest.raises(ValueError):
        check_location(None, (bad, 106.8), 10.0)
    with pytest.raises(ValueError):
        check_location(None, MONAS, bad)
