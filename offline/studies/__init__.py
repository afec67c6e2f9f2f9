"""The paper's analyses as studies of independent trials run on Ray.

* :mod:`.probe`: V-axis encoding strength vs BACC across a population of classifiers;
* :mod:`.topography`: where on the scalp stimulus-level DE follows the V-axis;
* :mod:`.saturation`: auxiliary V-axis losses vs the task-only baseline;
* :mod:`.residual`: class-mean vs within-class residual, and a residual-diverse ensemble.

Shared parts: :mod:`.runner` (Ray execution, per-trial results, resume, progress),
:mod:`.common` (data, networks, training; the loop itself in ``_training_loop``),
:mod:`.encoding` (the encoding measure), :mod:`.regions` (scalp regions from channel
names), :mod:`.claims` (the generated ``docs/paper-claims.md``; each study's tables in
``_tables``, the per-stimulus claim in ``_per_stimulus``). The command is
``bci-valence study NAME``.

Evaluations of the live readout on unseen clips, run as modules
(``python -m offline.studies.NAME``): :mod:`.unseen_clips`, :mod:`.unseen_variants`,
:mod:`.calibration`, and :mod:`.nested_unseen` (every choice made inside the training
subjects by an outer cross-validation; its folds and standardisations in
:mod:`.nested_folds`, its readout ensembles in :mod:`.readout_ensembles`).
"""

#: The studies, in the order the command lists them.
STUDIES = ("probe", "topography", "saturation", "residual")
