"""The paper's analyses as studies of independent trials run on Ray.

* :mod:`.probe`: V-axis encoding strength vs BACC across a population of classifiers;
* :mod:`.topography`: where on the scalp stimulus-level DE follows the V-axis;
* :mod:`.saturation`: auxiliary V-axis losses vs the task-only baseline;
* :mod:`.residual`: class-mean vs within-class residual, and a residual-diverse ensemble.

Shared parts: :mod:`.runner` (Ray execution, per-trial results, resume, progress),
:mod:`.common` (data, networks, training), :mod:`.encoding` (the encoding measure),
:mod:`.regions` (scalp regions from channel names), :mod:`.claims` (the generated
``docs/paper-claims.md``). The command is ``bci-valence study NAME``.
"""

#: The studies, in the order the command lists them.
STUDIES = ("probe", "topography", "saturation", "residual")
