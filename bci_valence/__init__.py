"""bci-valence: real-time EEG valence decoding on a language-model valence axis.

The core library and the online pipeline. It never imports the ``offline`` or
``gui`` applications; those plug their commands into the CLI through the
``bci_valence.commands`` entry-point group.
"""

from __future__ import annotations

__version__ = "0.1.0"
