"""Geo-targeting: address points, areas, selections."""
