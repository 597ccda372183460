"""The appraisal domain: schemes and their indicators, periods, scores, pay,
results and their traces, the audit chain, grade quotas and calibration, appeals and
adjustments, the pay sheet, acceptance checks, rollout and the parallel run."""
