"""The main job: a synthetic season replayed day by day through the real service layer or Prefect flows."""
