"""The demo town's map: district boundaries around an invented town centre (49.68° N,
8.78° E), drawn as neighbouring polygons that share their edges, and a place for every
project that has one (the night bus runs everywhere, so it has none)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pb.geo import geojson
from pb.models import District, Proposal
from pb.services import demo_texts

# (longitude, latitude) rings, closed.
BOUNDARIES: dict[str, list[tuple[float, float]]] = {
    "Old Town": [
        (8.772, 49.676), (8.788, 49.675), (8.790, 49.684), (8.779, 49.687), (8.770, 49.683),
        (8.772, 49.676),
    ],
    "Northgate": [
        (8.758, 49.686), (8.770, 49.683), (8.779, 49.687), (8.790, 49.684), (8.802, 49.688),
        (8.796, 49.697), (8.775, 49.699), (8.760, 49.694), (8.758, 49.686),
    ],
    "Hillcrest": [
        (8.788, 49.675), (8.800, 49.668), (8.807, 49.676), (8.802, 49.688), (8.790, 49.684),
        (8.788, 49.675),
    ],
    "Riverside": [
        (8.756, 49.672), (8.765, 49.666), (8.784, 49.665), (8.800, 49.668), (8.788, 49.675),
        (8.772, 49.676), (8.770, 49.683), (8.758, 49.686), (8.756, 49.672),
    ],
}  # fmt: skip

# Project title → (latitude, longitude).
PLACES: dict[str, tuple[float, float]] = {
    "Shade trees on Market Square": (49.6790, 8.7835),
    "Safe bike lane on River Road": (49.6700, 8.7750),
    "Open-air cinema nights": (49.6690, 8.7620),
    "Playground for toddlers in Hillcrest": (49.6800, 8.8030),
    "Repair café in the old fire station": (49.6920, 8.7700),
    "Drinking fountains along the river walk": (49.6680, 8.7860),
    "Covered bike parking at the station": (49.6900, 8.7850),
    "Community garden at Northgate": (49.6940, 8.7820),
    "Street football court": (49.6740, 8.8010),
    "Benches for the walk up the hill": (49.6820, 8.7960),
    "Mural festival": (49.6785, 8.7760),
}


def load_geo_demo(session: Session, texts: dict[str, Any] | None = None) -> None:
    """Outline the demo districts and place the demo projects (after both exist). ``texts``
    are the demo's words in its language (``pb.services.demo_texts``): districts and projects
    are found by their place in the English texts, whatever language the demo speaks."""
    english = demo_texts.load("en")
    texts = texts or english
    district_names = dict(zip(texts["districts"], english["districts"], strict=True))
    titles = {
        local[0]: source[0] for local, source in zip(texts["ideas"], english["ideas"], strict=True)
    }
    for district in session.scalars(select(District)):
        ring = BOUNDARIES.get(district_names.get(district.name, district.name))
        if ring is not None:
            district.boundary = geojson.canonical([[[list(p) for p in ring]]])
    for proposal in session.scalars(select(Proposal).where(Proposal.title.in_(titles))):
        place = PLACES.get(titles[proposal.title])
        if place is not None:
            proposal.latitude, proposal.longitude = place
