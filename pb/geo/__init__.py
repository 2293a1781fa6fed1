"""Geography without GIS libraries: GeoJSON boundaries checked by hand and an SVG projection."""
