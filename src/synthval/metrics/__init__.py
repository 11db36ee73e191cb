"""Quality of a synthetic set against the real training split, computed on shared features: FID, KID,
precision/recall, density/coverage, PRD and total variation (:mod:`.prd`), ARC (:mod:`.arc`) and MMD
(:mod:`.quality` computes them all). Only the metrics' directions live here, so the report reads them
without loading torch; import the metrics from their modules."""

#: Metrics where a smaller value means synthetic data closer to the real split, and where a larger one does.
LOWER_IS_BETTER = ("fid", "kid", "kid_std", "tv", "tv_std", "arc", "mmd")
HIGHER_IS_BETTER = ("precision", "recall", "density", "coverage", "prd_f8", "prd_f1_8")
