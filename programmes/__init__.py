"""Programme rules as season data: seasons, guards, the provincial and district tracks, recommendation.

Importing the package registers the guards (`programmes.rules`) and the Tianjin and Qingpu transition
tables (`programmes.tracks`) with `states`; the one door should `import programmes` at start-up.
"""

from programmes import reviews, rules, tracks  # noqa: F401  (registration side effects)
