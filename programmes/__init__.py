"""Programme rules as season data: seasons, guards, a season's own tracks, expert review, recommendation.

Nothing registers itself on import: `programmes.wiring.assemble()` plugs the guards and the season
tracks into `states` (the composition root).
"""
