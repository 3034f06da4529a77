"""Point-in-time correct training sets from the offline store."""

from feature_platform.training.point_in_time import GroupJoinStats
from feature_platform.training.retrieval import TrainingSet, build_training_set

__all__ = ["GroupJoinStats", "TrainingSet", "build_training_set"]
